"""One phone call: Twilio Media Streams on one side, an OpenAI Realtime session on the other.

The bridge relays mu-law audio both ways untouched, keeps track of what the caller has actually heard
(Twilio `mark`s) so a barge-in truncates the model's memory at the right millisecond, runs the bot's
tools for this call's lead, keeps the transcript, usage and a redacted event log, and survives the
Realtime socket dropping by opening a new session seeded with the conversation so far while the
caller stays on the line.

Lifecycle, as the service layer drives it:

    bridge = CallBridge(call, connector, tools, journal)
    await bridge.prewarm()                    # while the phone rings; optional
    start = await read_stream_start(websocket)  # then verify start.custom_parameters["token"]
    summary = await bridge.run(websocket, start)  # returns when the call is over
    # or, from elsewhere: bridge.request_hangup(); and `await bridge.close()` for a call never answered

Everything runs on the event loop's thread; state is only touched between awaits, so no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from openai.types.realtime import (
    ConversationItemInputAudioTranscriptionCompletedEvent,
    RealtimeConversationItemFunctionCall,
    ResponseAudioTranscriptDoneEvent,
    ResponseFunctionCallArgumentsDoneEvent,
)
from openai.types.realtime.realtime_client_event_param import RealtimeClientEventParam
from openai.types.realtime.realtime_response_usage import RealtimeResponseUsage
from parley_contracts import utcnow
from pydantic import BaseModel, ValidationError

from .adapters.realtime import RealtimeConnector, RealtimeLink, RealtimeLinkClosed, RealtimeUnavailable
from .adapters.twilio_media import TwilioOutbound, TwilioStreamStart
from .domain.call import (
    BridgeCounters,
    CallContext,
    CallFacts,
    CallSummary,
    EndCallReason,
    EndReason,
    ToolCallRecord,
    decide_outcome,
)
from .domain.conversation import ConversationHistory
from .domain.playback import PlaybackTracker, mulaw_base64_duration_ms
from .domain.ports import (
    CallJournal,
    EventDirection,
    EventLogEntry,
    EventSource,
    ToolBackend,
    TwilioMediaSocket,
)
from .domain.redaction import redact_event
from .domain.tools import (
    CallEffect,
    DoNotCallMarked,
    EmailSaved,
    EndCallRequested,
    FollowUpScheduled,
    ToolRunner,
)
from .domain.usage import TokenPrices, UsageTotals
from .journal_writer import JournalWriter

log = logging.getLogger(__name__)

_Event = TypeVar("_Event", bound=BaseModel)

TWILIO_FRAME_MS = 20

# High-rate events: counted, not logged one by one (one entry per 20 ms frame would swamp the store).
_COUNTED_ONLY = frozenset(
    {
        "response.output_audio_transcript.delta",
        "response.function_call_arguments.delta",
        "response.output_text.delta",
        "conversation.item.input_audio_transcription.delta",
    }
)


@dataclass(frozen=True)
class BridgeSettings:
    tool_timeout_s: float = 8.0
    # Longest wait for the goodbye to finish playing after `endCall` before the line is closed anyway.
    goodbye_playback_timeout_s: float = 15.0
    realtime_open_attempts: int = 3
    realtime_retry_backoff_s: float = 0.25
    # A session that keeps dying is not worth chasing for the whole call.
    realtime_max_reconnects: int = 5
    # Caller audio kept while no Realtime session is ready (pre-warm not done, reconnecting).
    held_caller_audio_ms: int = 5000
    journal_capacity: int = 2000
    journal_close_timeout_s: float = 5.0
    prices: TokenPrices | None = None


@dataclass(slots=True)
class _EndRequest:
    """The bot called `endCall`; the line closes once the response it is waiting on has played."""

    reason: EndCallReason
    response_id: str | None  # None: the next response to be created (the goodbye we asked for)
    goodbye_requested: bool = False


class CallBridge:
    def __init__(
        self,
        call: CallContext,
        connector: RealtimeConnector,
        tools: ToolBackend,
        journal: CallJournal,
        settings: BridgeSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.call = call
        self._connector = connector
        self._settings = settings = settings or BridgeSettings()
        self._now = wallclock
        self._runner = ToolRunner(tools, call, timeout_s=settings.tool_timeout_s, clock=wallclock)
        self._journal = JournalWriter(journal, call, capacity=settings.journal_capacity)

        self._history = ConversationHistory()
        self._playback = PlaybackTracker(clock)
        self._playback_drained = asyncio.Event()
        self._playback_drained.set()
        self._bot_lines_awaiting_playback: set[str] = set()
        self._usage = UsageTotals()
        self._facts = CallFacts()
        self._tool_calls: list[ToolCallRecord] = []
        self._counters = BridgeCounters()
        self._event_counts: Counter[str] = Counter()

        self._link: RealtimeLink | None = None
        self._link_ready = asyncio.Event()
        self._realtime_task: asyncio.Task[None] | None = None
        self._realtime_failure: RealtimeUnavailable | None = None
        self._held_audio: deque[str] = deque(maxlen=max(settings.held_caller_audio_ms // TWILIO_FRAME_MS, 1))
        self._session_items: set[str] = set()

        self._twilio: TwilioMediaSocket | None = None
        self._outbound: TwilioOutbound | None = None
        self._start: TwilioStreamStart | None = None
        self._started_at: datetime | None = None

        self._active_response_id: str | None = None
        self._response_requested = False
        self._response_owed = False
        self._response_create_event_id: str | None = None
        self._responses_requested = 0
        self._responses_with_audio: set[str] = set()
        self._suppressed_responses: set[str] = set()
        self._end_request: _EndRequest | None = None
        self._hanging_up = False

        self._tasks: set[asyncio.Task[Any]] = set()
        self._end_reason: EndReason | None = None
        self._ended = asyncio.Event()
        self._closing: asyncio.Task[CallSummary] | None = None

    # ----------------------------------------------------------------- public API

    async def prewarm(self) -> None:
        """Open and configure the Realtime session now (while the phone rings) so the greeting is instant.

        Raises `RealtimeUnavailable` when no session could be opened; the call can still be attempted,
        `run` tries again.
        """
        self._journal.start()
        self._ensure_realtime()
        assert self._realtime_task is not None
        ready = asyncio.ensure_future(self._link_ready.wait())
        try:
            await asyncio.wait({ready, self._realtime_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not self._link_ready.is_set():
            raise self._realtime_failure or RealtimeUnavailable("realtime session ended before it was ready")

    async def run(self, twilio: TwilioMediaSocket, start: TwilioStreamStart) -> CallSummary:
        """Serve the call on an accepted Media Streams socket whose `start` has been read; returns at the end."""
        if self._twilio is not None:
            raise RuntimeError("this bridge already serves a media stream")
        self._twilio, self._start = twilio, start
        self._outbound = TwilioOutbound(start.stream_sid)
        self._started_at = self._now()
        self._journal.start()
        self._record("twilio", "in", {"event": "start", **start.model_dump(by_alias=True)})
        if self._realtime_task is not None and self._realtime_task.done():
            self._realtime_task = None  # pre-warm failed: try again now that someone is on the line
        self._ensure_realtime()
        self._spawn(self._read_twilio(twilio), "twilio-reader")
        self._response_owed = True  # the bot speaks first
        await self._request_response_if_owed()
        try:
            await self._ended.wait()
        finally:
            summary = await self.close()
        return summary

    def request_hangup(self) -> None:
        """End the call from outside (agent pressed stop, Twilio reported completed). `run` then returns."""
        self._finish(EndReason.HANGUP_REQUESTED)

    async def close(self) -> CallSummary:
        """Tear everything down (idempotent, safe from any task) and return the call summary."""
        if self._closing is None:
            self._finish(EndReason.HANGUP_REQUESTED)
            self._closing = asyncio.create_task(self._teardown(), name=f"call-{self.call.call_id}-teardown")
        return await asyncio.shield(self._closing)

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    # ----------------------------------------------------------------- Twilio side

    async def _read_twilio(self, twilio: TwilioMediaSocket) -> None:
        while True:
            try:
                raw = await twilio.receive_text()
            except Exception:  # Starlette: WebSocketDisconnect; websockets: ConnectionClosed
                self._finish(EndReason.TWILIO_DISCONNECTED)
                return
            try:
                message = json.loads(raw)
                kind = message["event"]
                payload = message["media"]["payload"] if kind == "media" else None
            except (ValueError, KeyError, TypeError):
                self._event_counts["twilio.in.malformed"] += 1
                continue
            if payload is not None:
                self._counters.caller_frames_in += 1
                await self._forward_caller_audio(payload)
            elif kind == "mark":
                self._event_counts["twilio.in.mark"] += 1
                self._on_mark(message.get("mark", {}).get("name", ""))
            elif kind == "stop":
                self._record("twilio", "in", message)
                self._finish(EndReason.TWILIO_STOP)
                return
            else:
                self._record("twilio", "in", message)

    async def _forward_caller_audio(self, payload: str) -> None:
        link = self._link
        if link is None:
            self._hold(payload)
            return
        try:
            await link.send_audio(payload)
        except RealtimeLinkClosed:
            # The Realtime reader notices the drop and reconnects; keep the frame for the next session.
            if self._link is not None and self._link is not link:
                await self._forward_caller_audio(payload)
            else:
                self._hold(payload)

    def _hold(self, payload: str) -> None:
        if len(self._held_audio) == self._held_audio.maxlen:
            self._counters.caller_frames_dropped += 1
        self._held_audio.append(payload)

    def _on_mark(self, name: str) -> None:
        for item_id in self._playback.acknowledged(name):
            self._bot_turn_heard(item_id)
        if not self._playback.is_playing:
            self._playback_drained.set()

    async def _send_twilio(self, text: str) -> None:
        twilio = self._twilio
        if twilio is None:
            return
        try:
            await twilio.send_text(text)
        except Exception:  # the socket is gone; the reader ends the call with the right reason
            self._finish(EndReason.TWILIO_DISCONNECTED)

    # ----------------------------------------------------------------- Realtime side

    def _ensure_realtime(self) -> None:
        if self._realtime_task is None:
            self._realtime_task = self._spawn(self._serve_realtime(), "realtime")

    async def _serve_realtime(self) -> None:
        """Keeps a configured Realtime session attached for as long as the call lasts."""
        reconnect = False
        while not self._ended.is_set():
            if reconnect and self._counters.realtime_reconnects >= self._settings.realtime_max_reconnects:
                self._finish(EndReason.REALTIME_UNAVAILABLE)
                return
            link = await self._open_link()
            if link is None:
                if self._start is not None:  # a failed pre-warm is retried when the stream starts
                    self._finish(EndReason.REALTIME_UNAVAILABLE)
                return
            if reconnect:
                self._counters.realtime_reconnects += 1
            try:
                await self._attach(link, reseed=reconnect)
                await self._pump_realtime(link)
            except RealtimeLinkClosed as exc:
                log.warning(
                    "realtime session lost", extra={"call_id": str(self.call.call_id), "error": str(exc)}
                )
                self._record("bridge", "internal", {"type": "realtime.lost", "reason": str(exc)})
            finally:
                await self._detach()
                await link.close()
            reconnect = True

    async def _open_link(self) -> RealtimeLink | None:
        delay = self._settings.realtime_retry_backoff_s
        for attempt in range(1, self._settings.realtime_open_attempts + 1):
            try:
                return await self._connector.open()
            except RealtimeUnavailable as exc:
                self._realtime_failure = exc
                log.warning(
                    "realtime open failed", extra={"call_id": str(self.call.call_id), "attempt": attempt}
                )
                if attempt < self._settings.realtime_open_attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
        return None

    async def _attach(self, link: RealtimeLink, *, reseed: bool) -> None:
        """Make `link` the live session: history first (on a reconnect), then audio held meanwhile."""
        self._record("realtime", "in", {"type": "session.updated", "session": link.session})
        seeded = 0
        if reseed:
            for item in self._history.seed_items():
                await self._send_on(link, {"type": "conversation.item.create", "item": item})
                seeded += 1
        while self._held_audio:
            await link.send_audio(self._held_audio.popleft())
        # No await between the last emptiness check and this assignment: from here the Twilio reader
        # sends straight to the link, after every frame it held.
        self._link = link
        self._link_ready.set()
        self._record("bridge", "internal", {"type": "realtime.ready", "reseeded_items": seeded})
        await self._request_response_if_owed()

    async def _detach(self) -> None:
        self._link = None
        self._link_ready.clear()
        self._session_items.clear()
        if self._active_response_id is not None or self._response_requested:
            # The answer being spoken died with the session: stop its tail and have the new session
            # answer again, instead of the caller hearing half an answer and then a fresh one.
            self._response_owed = True
            if self._active_response_id is not None:
                self._suppressed_responses.add(self._active_response_id)
            await self._stop_playback()
        self._active_response_id = None
        self._response_requested = False

    async def _pump_realtime(self, link: RealtimeLink) -> None:
        while True:
            event = await link.receive()
            kind = event.get("type")
            if kind == "response.output_audio.delta":
                await self._play_bot_audio(event)
                continue
            if kind in _COUNTED_ONLY:
                self._event_counts[f"realtime.in.{kind}"] += 1
                continue
            self._record("realtime", "in", event)
            handler = self._realtime_handlers.get(kind or "")
            if handler is not None:
                await handler(self, event)

    async def _play_bot_audio(self, event: dict[str, Any]) -> None:
        response_id = event.get("response_id", "")
        if response_id in self._suppressed_responses or self._outbound is None:
            self._counters.bot_chunks_suppressed += 1
            return
        item_id: str = event["item_id"]
        payload: str = event["delta"]
        if item_id not in self._session_items:
            self._session_items.add(item_id)
            self._responses_with_audio.add(response_id)
            self._history.turn_started("bot", item_id, self._now())
        mark = self._playback.sent(item_id, mulaw_base64_duration_ms(payload))
        self._playback_drained.clear()
        self._counters.bot_chunks_out += 1
        await self._send_twilio(self._outbound.media(payload))
        await self._send_twilio(self._outbound.mark(mark))

    async def _on_speech_started(self, event: dict[str, Any]) -> None:
        if item_id := event.get("item_id"):
            self._history.turn_started("prospect", item_id, self._now())
        if self._active_response_id is not None:
            # Server VAD cancels the response; deltas already in flight must not reach the caller.
            self._suppressed_responses.add(self._active_response_id)
        if await self._stop_playback():
            self._counters.barge_ins += 1

    async def _stop_playback(self) -> bool:
        """Cut Twilio's buffer and truncate each unfinished item where the caller stopped hearing it.

        Returns False (and sends nothing) when no bot audio was playing.
        """
        truncations = self._playback.interrupt()
        self._playback_drained.set()
        if not truncations:
            return False
        if self._outbound is not None:
            await self._send_twilio(self._outbound.clear)
            self._record("twilio", "out", {"event": "clear"})
        for cut in truncations:
            self._history.turn_interrupted(cut.item_id, cut.audio_end_ms, self._playback.sent_ms(cut.item_id))
            self._bot_turn_heard(cut.item_id)
            if cut.item_id in self._session_items and self._link is not None:
                await self._send_realtime(
                    {
                        "type": "conversation.item.truncate",
                        "item_id": cut.item_id,
                        "content_index": 0,
                        "audio_end_ms": cut.audio_end_ms,
                    }
                )
        return True

    async def _on_input_transcription(self, event: dict[str, Any]) -> None:
        done = _parse(ConversationItemInputAudioTranscriptionCompletedEvent, event)
        if done is None:
            return
        self._usage.add_transcription(done.usage)
        self._history.turn_text("prospect", done.item_id, done.transcript, self._now())
        self._write_line(done.item_id)

    async def _on_bot_transcript(self, event: dict[str, Any]) -> None:
        done = _parse(ResponseAudioTranscriptDoneEvent, event)
        if done is None:
            return
        self._history.turn_text("bot", done.item_id, done.transcript, self._now())
        # A bot line is final once the caller has heard it (or cut it off); until then it waits.
        if done.item_id in self._playback.playing_items():
            self._bot_lines_awaiting_playback.add(done.item_id)
        else:
            self._write_line(done.item_id)

    def _bot_turn_heard(self, item_id: str) -> None:
        if item_id in self._bot_lines_awaiting_playback:
            self._bot_lines_awaiting_playback.discard(item_id)
            self._write_line(item_id)

    def _write_line(self, item_id: str) -> None:
        if (line := self._history.transcript_line(item_id)) is not None:
            self._journal.write(line)

    async def _on_response_created(self, event: dict[str, Any]) -> None:
        response_id = (event.get("response") or {}).get("id")
        self._active_response_id = response_id
        self._response_requested = False
        if self._end_request is not None and self._end_request.response_id is None:
            self._end_request.response_id = response_id

    async def _on_function_arguments_done(self, event: dict[str, Any]) -> None:
        done = _parse(ResponseFunctionCallArgumentsDoneEvent, event)
        if done is not None:
            self._start_tool(done.call_id, done.name, done.arguments, done.response_id)

    async def _on_response_done(self, event: dict[str, Any]) -> None:
        # Only the parts used are validated: the whole `response` (every output item, a union of nine
        # item types) costs more to validate than everything else the bridge does per turn.
        response = event.get("response") or {}
        response_id = response.get("id")
        usage = response.get("usage")
        self._usage.add_response(_parse(RealtimeResponseUsage, usage) if usage else None)
        # Function calls also arrive in the finished response; any not announced separately run now.
        for output in response.get("output") or []:
            if output.get("type") != "function_call":
                continue
            call = _parse(RealtimeConversationItemFunctionCall, output)
            if call is not None and call.call_id:
                self._start_tool(call.call_id, call.name, call.arguments, response_id or "")
        if response_id is not None and response_id == self._active_response_id:
            self._active_response_id = None
        self._advance_end_request()
        await self._request_response_if_owed()

    async def _on_error(self, event: dict[str, Any]) -> None:
        error = event.get("error") or {}
        if (
            self._response_create_event_id is not None
            and error.get("event_id") == self._response_create_event_id
        ):
            # Our response.create was refused. The usual cause is a response the server started on its own
            # (the caller spoke) in the same instant: that one is the bot's turn, so asking again would
            # make the bot answer twice. Whatever we wanted said is in the conversation it answers from.
            self._response_requested = False
        if error.get("code") == "session_expired":
            raise RealtimeLinkClosed("realtime session expired")
        log.warning(
            "realtime error",
            extra={"call_id": str(self.call.call_id), "code": error.get("code"), "type": error.get("type")},
        )

    _realtime_handlers: ClassVar[
        dict[str, Callable[[CallBridge, dict[str, Any]], Coroutine[Any, Any, None]]]
    ] = {
        "input_audio_buffer.speech_started": _on_speech_started,
        "conversation.item.input_audio_transcription.completed": _on_input_transcription,
        "response.output_audio_transcript.done": _on_bot_transcript,
        "response.created": _on_response_created,
        "response.function_call_arguments.done": _on_function_arguments_done,
        "response.done": _on_response_done,
        "error": _on_error,
    }

    async def _request_response_if_owed(self) -> None:
        """Ask for a response when one is owed (greeting, tool result, lost answer) and none is under way."""
        if (
            not self._response_owed
            or self._link is None
            or self._outbound is None  # nobody on the line yet: the greeting waits for `start`
            or self._active_response_id is not None
            or self._response_requested
        ):
            return
        self._response_owed = False
        self._response_requested = True
        self._responses_requested += 1
        self._response_create_event_id = f"bridge_response_{self._responses_requested}"
        await self._send_realtime({"type": "response.create", "event_id": self._response_create_event_id})

    async def _send_realtime(self, event: RealtimeClientEventParam) -> None:
        if (link := self._link) is not None:
            await self._send_on(link, event)

    async def _send_on(self, link: RealtimeLink, event: RealtimeClientEventParam) -> None:
        self._record("realtime", "out", dict(event))
        # On a dropped socket the Realtime reader sees the drop too and reconnects with the history.
        with contextlib.suppress(RealtimeLinkClosed):
            await link.send(event)

    # ----------------------------------------------------------------- tools

    def _start_tool(self, call_id: str, name: str, arguments: str, response_id: str) -> None:
        if self._history.tool_called(call_id, name, arguments, self._now()):
            self._spawn(self._run_tool(call_id, name, arguments, response_id), f"tool-{name}")

    async def _run_tool(self, call_id: str, name: str, arguments: str, response_id: str) -> None:
        result = await self._runner.run(name, arguments)
        self._tool_calls.append(ToolCallRecord(name, result.status, self._now()))
        self._record("bridge", "internal", {"type": "tool.result", "name": name, "status": result.status})
        self._apply(result.effect, response_id)
        # Deliver only to a live session: during a reconnect the output would otherwise be both re-seeded
        # and sent. Recording it in the history and sending it happen with no await in between.
        await self._link_ready.wait()
        self._history.tool_answered(call_id, result.output)
        await self._send_realtime(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": call_id, "output": result.output},
            }
        )
        if not isinstance(result.effect, EndCallRequested):
            self._response_owed = True  # the bot speaks about the result
        self._advance_end_request()
        await self._request_response_if_owed()

    def _apply(self, effect: CallEffect | None, response_id: str) -> None:
        match effect:
            case EmailSaved(email=email):
                self._facts.email_saved = email
            case FollowUpScheduled(at=at):
                self._facts.follow_up_at = at
            case DoNotCallMarked():
                self._facts.do_not_call = True
            case EndCallRequested(reason=reason):
                self._facts.end_call_reason = reason
                self._end_request = _EndRequest(reason, response_id)

    def _advance_end_request(self) -> None:
        """After `endCall`: once its response has finished, hang up after the goodbye plays. If that
        response said nothing aloud, ask for a goodbye first (once)."""
        request = self._end_request
        if request is None or self._hanging_up:
            return
        if request.response_id is None or request.response_id == self._active_response_id:
            return
        if request.response_id in self._responses_with_audio or request.goodbye_requested:
            self._hanging_up = True
            self._spawn(self._hang_up_after_playback(), "hang-up")
        else:
            request.goodbye_requested = True
            request.response_id = None
            self._response_owed = True

    async def _hang_up_after_playback(self) -> None:
        try:
            async with asyncio.timeout(self._settings.goodbye_playback_timeout_s):
                await self._playback_drained.wait()
        except TimeoutError:
            log.warning(
                "goodbye playback not confirmed; closing anyway", extra={"call_id": str(self.call.call_id)}
            )
        self._finish(EndReason.BOT_ENDED)

    # ----------------------------------------------------------------- bookkeeping

    def _record(self, source: EventSource, direction: EventDirection, event: dict[str, Any]) -> None:
        kind = str(event.get("type") or event.get("event") or "unknown")
        self._event_counts[f"{source}.{direction}.{kind}"] += 1
        # Built from our own values: pydantic's validation would only cost time on every event.
        entry = EventLogEntry.model_construct(
            at=self._now(), source=source, direction=direction, type=kind, data=redact_event(event)
        )
        self._journal.write(entry)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"call-{self.call.call_id}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("call bridge task crashed", exc_info=exc, extra={"call_id": str(self.call.call_id)})
            self._finish(EndReason.BRIDGE_ERROR)

    def _finish(self, reason: EndReason) -> None:
        if self._end_reason is None:
            self._end_reason = reason
            self._ended.set()

    async def _teardown(self) -> CallSummary:
        ended_at = self._now()
        # What was still playing counts as heard up to now.
        for cut in self._playback.interrupt():
            self._history.turn_interrupted(cut.item_id, cut.audio_end_ms, self._playback.sent_ms(cut.item_id))
        for item_id in list(self._bot_lines_awaiting_playback):
            self._bot_turn_heard(item_id)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if (link := self._link) is not None:
            self._link = None
            await link.close()
        if self._twilio is not None:
            try:
                await self._twilio.close()
            except Exception as exc:  # already closed by Twilio after `stop`
                log.debug("twilio close failed", extra={"error": repr(exc)})
        reason = self._end_reason or EndReason.HANGUP_REQUESTED
        self._record("bridge", "internal", {"type": "call.ended", "reason": reason.value})
        await self._journal.close(self._settings.journal_close_timeout_s)
        self._counters.journal_entries_dropped = self._journal.dropped
        counts = Counter(self._event_counts)
        counts["twilio.in.media"] = self._counters.caller_frames_in
        counts["twilio.out.media"] = self._counters.bot_chunks_out
        prices = self._settings.prices
        return CallSummary(
            call=self.call,
            outcome=decide_outcome(reason, self._facts, connected=self._start is not None),
            ended_reason=reason,
            ended_at=ended_at,
            started_at=self._started_at,
            twilio_call_sid=self._start.call_sid if self._start else None,
            transcript=self._history.transcript(),
            usage=dataclasses.replace(self._usage),
            facts=dataclasses.replace(self._facts),
            tool_calls=list(self._tool_calls),
            counters=dataclasses.replace(self._counters),
            estimated_cost_usd=self._usage.estimated_cost_usd(prices) if prices else None,
            event_counts=dict(counts),
        )


def _parse(model: type[_Event], event: dict[str, Any]) -> _Event | None:
    try:
        return model.model_validate(event)
    except ValidationError:
        log.warning("unexpected realtime event shape", extra={"type": event.get("type")})
        return None
