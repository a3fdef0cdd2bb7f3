"""The simulated call's bot when a text model is configured: OpenAI chat completions with function calling,
given the phone bot's own system prompt (`domain.prompt`) and tools (`domain.tools`, converted from the
very definitions a Realtime session gets), its tool calls run through the call's `ToolRunner`.

Which model: `OPENAI_API_KEY` for this service, or else the key an admin set in the gateway's settings
(asked over NATS request/reply and cached briefly, as rag does). The choice is made on the prospect's first
message; without a key the call is the offline `DialoguePolicy` from start to end. Both bots open with the
same words (the policy's opening, which is what the prompt tells the model to say), so the hand-over is
invisible.

Model output is untrusted. Tool arguments are validated by the runner (a bad one goes back to the model
as an `invalid_arguments` result); a turn takes at most `MAX_TOOL_ROUNDS` rounds of tool calls before the
model must answer in words; an API error, a timeout or a malformed answer gives a polite apology and the
call goes on. If the model fails on the very first message, before it has said or done anything, the
session switches to the offline policy instead, which is exactly where the conversation stands then.
Later, the policy cannot take over: it knows nothing of what was said, and would start its questions
again; the next message simply asks the model again (the SDK already retried this one).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCallUnionParam,
)
from parley_contracts import LeadSnapshot, NeedsProfile, utcnow
from pydantic import ValidationError
from servicekit.admin_settings import TextModelConfig, TextModelSource
from servicekit.bus import Bus

from ..domain.call import EndCallReason
from ..domain.dialogue import BotTurn, DialogueEnded, DialoguePolicy, PerformedTurn, PolicyBot, needs_summary
from ..domain.persona import DEFAULT_PERSONA, Persona, first_name_of
from ..domain.prompt import build_instructions
from ..domain.tools import (
    DoNotCallMarked,
    EmailSaved,
    EndCallArgs,
    EndCallRequested,
    FollowUpScheduled,
    LookupProductsArgs,
    ToolName,
    ToolResult,
    ToolRunner,
    realtime_function_tools,
)
from ..settings import VoiceBridgeSettings

log = logging.getLogger(__name__)

# Rounds of tool calls in one turn; the request after the last round forbids tools (`tool_choice: none`).
MAX_TOOL_ROUNDS = 4
# A rehearsal that goes round in circles still ends (the policy has the same bound).
MAX_PROSPECT_TURNS = 40
MAX_REPLY_CHARS = 2000
MAX_COMPLETION_TOKENS = 2048

APOLOGY = "I'm sorry, I'm having a little trouble on my end. Could you say that again?"
DO_NOT_CALL_GOODBYE = (
    "Of course. I've noted that, and we won't call you again. I'm sorry for the bother. "
    "Have a lovely day. Goodbye!"
)
_NOT_RUN = json.dumps(
    {"ok": False, "error": "not_run", "note": "Too many tool calls in one turn: answer the caller first."}
)


@functools.cache
def chat_function_tools() -> tuple[ChatCompletionFunctionToolParam, ...]:
    """The Realtime session's function tools in chat-completions form: one source for both bots."""
    return tuple(
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool["description"],
                "parameters": cast(dict[str, object], tool["parameters"]),
            },
        }
        for tool in realtime_function_tools()
    )


# -- which model ----------------------------------------------------------------------------------


class TextModels:
    """The configured text model (env first, then the gateway's admin settings) and a client for it."""

    def __init__(
        self, settings: VoiceBridgeSettings, bus: Bus | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._source = TextModelSource.from_settings(
            settings, bus, fallback="offline simulated calls", clock=clock
        )
        self._client: tuple[TextModelConfig, AsyncOpenAI] | None = None

    async def config(self) -> TextModelConfig | None:
        return await self._source.config()

    async def client(self) -> tuple[AsyncOpenAI, str] | None:
        """A client and the model name, or None for offline mode. Never raises."""
        config = await self.config()
        if config is None:
            return None
        if self._client is None or self._client[0] != config:
            # Clients are shared by the calls that started with them; a replaced one is left to finish.
            client = AsyncOpenAI(
                api_key=config.api_key.get_secret_value(),
                base_url=config.base_url,
                timeout=self._settings.openai_timeout_seconds,
                max_retries=self._settings.openai_max_retries,
            )
            self._client = (config, client)
        return self._client[1], config.model


# -- the bot --------------------------------------------------------------------------------------


class _ModelFailed(Exception):
    """The model could not be asked, or answered with something unusable."""


@dataclass(frozen=True, slots=True)
class _Call:
    """One tool call from the model, with an id that is safe to send back."""

    id: str
    name: str
    arguments: str


class ChatBot:
    """A simulated call's bot (see `SimulatedBot`): the text model when one is configured, else the
    offline policy. Call `opening()` once, then `respond()` per prospect message."""

    def __init__(
        self,
        models: TextModels,
        lead: LeadSnapshot,
        runner: ToolRunner,
        *,
        call_id: uuid.UUID,
        persona: Persona = DEFAULT_PERSONA,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._models = models
        self._lead = lead
        self._runner = runner
        self._call_id = call_id
        self._persona = persona
        self._clock = clock
        self._offline = PolicyBot(DialoguePolicy(lead, persona=persona, clock=clock), runner)
        self._mode: Literal["undecided", "model", "policy"] = "undecided"
        self._model: tuple[AsyncOpenAI, str] | None = None
        self._messages: list[ChatCompletionMessageParam] = []
        self._model_turns = 0
        self._prospect_turns = 0
        self._ids = 0
        # What the tools established, for `ended` and the summary.
        self._needs: NeedsProfile | None = None
        self._email_saved = False
        self._follow_up_at: datetime | None = None
        self._do_not_call = False
        self._end_reason: EndCallReason | None = None

    @property
    def mode(self) -> Literal["undecided", "model", "policy"]:
        return self._mode

    @property
    def ended(self) -> bool:
        return self._offline.ended if self._mode == "policy" else self._end_reason is not None

    def opening(self) -> BotTurn:
        turn = self._offline.opening()
        instructions = build_instructions(self._persona, self._lead, now=self._clock())
        self._messages = [
            {"role": "system", "content": instructions},
            {"role": "assistant", "content": turn.text},
        ]
        return turn

    async def respond(self, said: str) -> PerformedTurn:
        if self._mode == "policy":
            return await self._offline.respond(said)
        if self.ended:
            raise DialogueEnded("the call has ended")
        if not self._messages:
            raise RuntimeError("call opening() first")
        if self._model is None:
            self._model = await self._models.client()
            if self._model is None:
                self._mode = "policy"
                return await self._offline.respond(said)
            self._mode = "model"
        return await self._model_turn(self._model, said)

    def summary(self) -> str:
        """Facts only: the needs the model looked products up with, and what its tools recorded."""
        if self._mode == "policy":
            return self._offline.summary()
        parts: list[str] = []
        if self._needs is not None:
            parts.append(needs_summary(self._needs, dependents_known=False))
        if self._email_saved:
            parts.append("Agreed to receive the details by e-mail.")
        if self._follow_up_at is not None:
            local = self._follow_up_at.astimezone(_zone(self._lead.timezone))
            parts.append(f"Asked to be called back on {local.strftime('%A %d %B at %H:%M')}.")
        if self._do_not_call:
            parts.append("Asked not to be called again.")
        return " ".join(part for part in parts if part)

    # -- one turn ----------------------------------------------------------------------------------

    async def _model_turn(self, model: tuple[AsyncOpenAI, str], said: str) -> PerformedTurn:
        texts: list[str] = []
        results: list[ToolResult] = []
        self._prospect_turns += 1
        before = len(self._messages)
        self._messages.append({"role": "user", "content": said})
        if self._prospect_turns > MAX_PROSPECT_TURNS:
            texts.append("I've taken up plenty of your time, so I'll let you go.")
            await self._run_end_call(EndCallReason.COMPLETED, results)
            return self._finish_turn(texts, results, failed=False)
        failed = False
        try:
            for round_number in range(MAX_TOOL_ROUNDS + 1):
                tools_allowed = round_number < MAX_TOOL_ROUNDS
                content, calls = await self._complete(model, tools_allowed=tools_allowed)
                if not content and not calls:
                    break  # an empty answer stays out of the history (the API refuses empty messages)
                self._messages.append(_assistant(content, calls))
                if content:
                    texts.append(content)
                if not calls:
                    break
                for call in calls:
                    if not tools_allowed:
                        self._messages.append({"role": "tool", "tool_call_id": call.id, "content": _NOT_RUN})
                        continue
                    result = await self._runner.run(call.name, call.arguments)
                    results.append(result)
                    self._apply(result, call.arguments)
                    self._messages.append({"role": "tool", "tool_call_id": call.id, "content": result.output})
                if self._end_reason is not None:
                    break  # like a phone call: after `endCall` the model is not asked for more
        except _ModelFailed as failure:
            log.warning(
                "simulated call: text model failed (%s)", failure, extra={"call_id": str(self._call_id)}
            )
            if self._model_turns == 0 and not texts and not results:
                # Nothing said or done by the model yet: the offline policy, which opened the call with the
                # same words, takes over from exactly here.
                del self._messages[before:]
                self._mode = "policy"
                return await self._offline.respond(said)
            failed = True
        self._model_turns += 1
        # Do-not-call goes with the end of the call, as on the policy path: a model that records the wish
        # has the call ended in this turn, and one that ends the call for it has the wish recorded.
        if self._do_not_call and self._end_reason is None:
            await self._run_end_call(EndCallReason.DO_NOT_CALL, results)
        elif self._end_reason is EndCallReason.DO_NOT_CALL and not self._do_not_call:
            result = await self._runner.run(ToolName.MARK_DO_NOT_CALL.value, "{}")
            results.append(result)
            self._apply(result, "{}")
        return self._finish_turn(texts, results, failed=failed)

    def _finish_turn(self, texts: list[str], results: list[ToolResult], *, failed: bool) -> PerformedTurn:
        if self._end_reason is not None:
            if not texts or failed:
                first_name = first_name_of(self._lead.name)
                texts.append(
                    DO_NOT_CALL_GOODBYE
                    if self._do_not_call or self._end_reason is EndCallReason.DO_NOT_CALL
                    else f"Thank you for your time, {first_name}. Have a lovely day. Goodbye!"
                )
        elif failed or not texts:
            texts.append(APOLOGY)
            self._messages.append({"role": "assistant", "content": APOLOGY})
        return PerformedTurn(tuple(texts), tuple(results))

    async def _complete(
        self, model: tuple[AsyncOpenAI, str], *, tools_allowed: bool
    ) -> tuple[str, list[_Call]]:
        """Ask the model; its words (trimmed, bounded) and tool calls. Raises `_ModelFailed`."""
        client, name = model
        try:
            completion = await client.chat.completions.create(
                model=name,
                messages=self._messages,
                tools=list(chat_function_tools()),
                tool_choice="auto" if tools_allowed else "none",
                max_completion_tokens=MAX_COMPLETION_TOKENS,
            )
            # The SDK builds response objects leniently: a malformed answer fails here, not later.
            message = completion.choices[0].message
            if not isinstance(message, ChatCompletionMessage):
                raise TypeError("no message in the answer")
            content = message.content
            if content is not None and not isinstance(content, str):
                raise TypeError("content is not text")
            calls = self._calls(message)
        except Exception as error:  # API errors, timeouts, and malformed answers alike
            raise _ModelFailed(type(error).__name__) from error
        if message.refusal and not content and not calls:
            raise _ModelFailed("refusal")
        return (content or "").strip()[:MAX_REPLY_CHARS], calls

    def _calls(self, message: ChatCompletionMessage) -> list[_Call]:
        """The message's tool calls, each with a unique id (a missing or repeated one is replaced, since
        the ids are sent back with the results). A call of anything but a function stays in the history
        as a call of an unknown tool, so the runner answers it as one."""
        calls: list[_Call] = []
        seen: set[str] = set()
        tool_calls = message.tool_calls or []
        if not isinstance(tool_calls, list):
            raise TypeError("tool_calls is not a list")
        for call in tool_calls:
            call_id = (
                call.id if isinstance(call.id, str) and call.id and call.id not in seen else self._new_id()
            )
            seen.add(call_id)
            if isinstance(call, ChatCompletionMessageFunctionToolCall):
                name, arguments = call.function.name, call.function.arguments
                if not isinstance(name, str) or not isinstance(arguments, str):
                    raise TypeError("a function call without a name or arguments")
            else:
                name, arguments = "unsupported", "{}"
            calls.append(_Call(call_id, name, arguments))
        return calls

    def _new_id(self) -> str:
        self._ids += 1
        return f"call_parley_{self._ids}"

    def _apply(self, result: ToolResult, arguments: str) -> None:
        if result.name == ToolName.LOOKUP_PRODUCTS and result.status == "ok":
            with contextlib.suppress(ValidationError):
                self._needs = LookupProductsArgs.model_validate_json(arguments).needs
        match result.effect:
            case EmailSaved():
                self._email_saved = True
            case FollowUpScheduled(at=at):
                self._follow_up_at = at
            case DoNotCallMarked():
                self._do_not_call = True
            case EndCallRequested(reason=reason):
                self._end_reason = reason

    async def _run_end_call(self, reason: EndCallReason, results: list[ToolResult]) -> None:
        """End the call through the same tool the model would call, so the call records the reason."""
        arguments = EndCallArgs(reason=reason).model_dump_json()
        result = await self._runner.run(ToolName.END_CALL.value, arguments)
        results.append(result)
        self._apply(result, arguments)
        if self._end_reason is None:  # cannot happen with valid arguments; the call must end regardless
            self._end_reason = reason


def _assistant(content: str, calls: list[_Call]) -> ChatCompletionAssistantMessageParam:
    message: ChatCompletionAssistantMessageParam = {"role": "assistant", "content": content or None}
    if calls:
        tool_calls: list[ChatCompletionMessageToolCallUnionParam] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in calls
        ]
        message["tool_calls"] = tool_calls
    return message


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class SimulatedBots:
    """Makes each simulated call's bot; one per service process, sharing the text model's client."""

    def __init__(self, settings: VoiceBridgeSettings, bus: Bus | None) -> None:
        self.models = TextModels(settings, bus)

    def make(
        self,
        lead: LeadSnapshot,
        runner: ToolRunner,
        *,
        call_id: uuid.UUID,
        persona: Persona = DEFAULT_PERSONA,
    ) -> ChatBot:
        return ChatBot(self.models, lead, runner, call_id=call_id, persona=persona)
