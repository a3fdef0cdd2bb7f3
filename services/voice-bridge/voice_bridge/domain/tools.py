"""The bot's tools: argument models, the schemas the model sees, and running one call safely.

Arguments are validated with the same pydantic models the schemas are generated from, so what the
model is told and what is accepted cannot drift apart. Whatever happens (bad arguments, a backend
error, a timeout) the result is a `function_call_output` the model can speak from: the call never dies
on a tool.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from openai.types.realtime.realtime_function_tool_param import RealtimeFunctionToolParam
from parley_calltime import canonical_zone
from parley_contracts import NeedsProfile, Recommendation, utcnow
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from .call import CallContext, EndCallReason, ToolStatus
from .ports import ToolBackend

log = logging.getLogger(__name__)

FOLLOW_UP_EARLIEST = timedelta(minutes=5)
FOLLOW_UP_LATEST = timedelta(days=180)
PRODUCTS_SPOKEN = 3


class ToolName(StrEnum):
    LOOKUP_PRODUCTS = "lookupProducts"
    SAVE_EMAIL = "saveEmail"
    SCHEDULE_FOLLOW_UP = "scheduleFollowUp"
    END_CALL = "endCall"
    MARK_DO_NOT_CALL = "markDoNotCall"
    CONFIRM_TIMEZONE = "confirmTimezone"


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LookupProductsArgs(_Arguments):
    needs: NeedsProfile = Field(
        description="What the prospect has told you so far; leave unknown fields out."
    )


class SaveEmailArgs(_Arguments):
    email: EmailStr = Field(
        description="The address exactly as the prospect confirmed it, e.g. jane.doe@example.com."
    )


class ScheduleFollowUpArgs(_Arguments):
    at: datetime = Field(
        alias="datetime",
        description="ISO 8601 date and time of the callback. Without an offset it is read in the prospect's local time.",
    )
    note: str | None = Field(default=None, max_length=300, description="What the callback is about, if said.")


class EndCallArgs(_Arguments):
    reason: EndCallReason


class MarkDoNotCallArgs(_Arguments):
    pass


class ConfirmTimezoneArgs(_Arguments):
    timezone: str = Field(
        max_length=64,
        description="The IANA timezone name of where the prospect is, e.g. America/Denver; one of the "
        "candidates you were given when it fits.",
    )
    said: str | None = Field(
        default=None, max_length=300, description="The prospect's words that told you, as they said them."
    )


@dataclass(frozen=True, slots=True)
class EmailSaved:
    email: str


@dataclass(frozen=True, slots=True)
class FollowUpScheduled:
    at: datetime


@dataclass(frozen=True, slots=True)
class DoNotCallMarked:
    pass


@dataclass(frozen=True, slots=True)
class EndCallRequested:
    reason: EndCallReason


CallEffect = EmailSaved | FollowUpScheduled | DoNotCallMarked | EndCallRequested


@dataclass(frozen=True, slots=True)
class ToolResult:
    name: str
    status: ToolStatus
    output: str  # JSON text for the `function_call_output` item
    effect: CallEffect | None = None


class ToolArgumentsRejected(ValueError):
    """Arguments that are well-formed but unacceptable (e.g. a callback time in the past)."""


_A = TypeVar("_A", bound=_Arguments)
_Handler = Callable[[_A], Awaitable[tuple[dict[str, Any], CallEffect | None]]]


@dataclass(frozen=True)
class _Tool(Generic[_A]):
    name: ToolName
    description: str
    arguments: type[_A]


TOOLS: tuple[_Tool[Any], ...] = (
    _Tool(
        ToolName.LOOKUP_PRODUCTS,
        "Find catalog products that fit the prospect's needs. Only describe products this returns, and only "
        "with the details it gives.",
        LookupProductsArgs,
    ),
    _Tool(
        ToolName.SAVE_EMAIL,
        "Save the prospect's e-mail address after they agreed to receive details by e-mail and confirmed "
        "the spelling.",
        SaveEmailArgs,
    ),
    _Tool(
        ToolName.SCHEDULE_FOLLOW_UP,
        "Book a callback at the time the prospect asked for.",
        ScheduleFollowUpArgs,
    ),
    _Tool(
        ToolName.END_CALL,
        "End the call. Say goodbye first; the line closes once your goodbye has played.",
        EndCallArgs,
    ),
    _Tool(
        ToolName.MARK_DO_NOT_CALL,
        "The prospect asked never to be called again: record it immediately.",
        MarkDoNotCallArgs,
    ),
    _Tool(
        ToolName.CONFIRM_TIMEZONE,
        "Record the timezone the prospect told you they are in, after you asked because it was unsure.",
        ConfirmTimezoneArgs,
    ),
)


_TOOLS_BY_NAME: dict[str, _Tool[Any]] = {tool.name.value: tool for tool in TOOLS}


@functools.cache
def realtime_function_tools() -> tuple[RealtimeFunctionToolParam, ...]:
    """The tools as the `tools` list of a Realtime `session.update`.

    Built once: generating the JSON schemas costs milliseconds of CPU, which a burst of calls starting
    together would otherwise pay per call while other calls' audio waits.
    """
    return tuple(
        {
            "type": "function",
            "name": tool.name.value,
            "description": tool.description,
            "parameters": _inline_schema(tool.arguments.model_json_schema(by_alias=True)),
        }
        for tool in TOOLS
    )


def _inline_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve `$ref`s into the schema and drop titles: function parameters are read by a model, not a
    JSON-schema toolchain, and a flat schema is both smaller and unambiguous."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = definitions[node["$ref"].rsplit("/", 1)[-1]]
                return resolve({**target, **{k: v for k, v in node.items() if k != "$ref"}})
            return {k: resolve(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _output(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


_UNAVAILABLE = {
    "ok": False,
    "error": "temporarily_unavailable",
    "note": "Apologise briefly, say a colleague will follow up on this, and carry on with the conversation.",
}


class ToolRunner:
    """Runs the bot's function calls for one call, always scoped to that call's lead."""

    def __init__(
        self,
        backend: ToolBackend,
        call: CallContext,
        *,
        timeout_s: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._backend = backend
        self._call = call
        self._timeout_s = timeout_s
        self._clock = clock
        self._handlers: dict[ToolName, _Handler[Any]] = {
            ToolName.LOOKUP_PRODUCTS: self._lookup_products,
            ToolName.SAVE_EMAIL: self._save_email,
            ToolName.SCHEDULE_FOLLOW_UP: self._schedule_follow_up,
            ToolName.END_CALL: self._end_call,
            ToolName.MARK_DO_NOT_CALL: self._mark_do_not_call,
            ToolName.CONFIRM_TIMEZONE: self._confirm_timezone,
        }

    async def run(self, name: str, arguments: str) -> ToolResult:
        if (tool := _TOOLS_BY_NAME.get(name)) is None:
            return ToolResult(name, "unknown_tool", _output({"ok": False, "error": "unknown_tool"}))
        try:
            args = tool.arguments.model_validate_json(arguments or "{}")
        except ValidationError as exc:
            problems = [
                f"{'.'.join(map(str, err['loc'])) or 'arguments'}: {err['msg']}" for err in exc.errors()
            ]
            return ToolResult(name, "invalid_arguments", _invalid(problems))
        try:
            async with asyncio.timeout(self._timeout_s):
                payload, effect = await self._handlers[tool.name](args)
        except ToolArgumentsRejected as exc:
            return ToolResult(name, "invalid_arguments", _invalid([str(exc)]))
        except TimeoutError:
            log.warning("tool timed out", extra={"tool": name, "call_id": str(self._call.call_id)})
            return ToolResult(name, "timed_out", _output(_UNAVAILABLE))
        except Exception:
            log.exception("tool failed", extra={"tool": name, "call_id": str(self._call.call_id)})
            return ToolResult(name, "failed", _output(_UNAVAILABLE))
        return ToolResult(name, "ok", _output({"ok": True, **payload}), effect)

    async def _lookup_products(self, args: LookupProductsArgs) -> tuple[dict[str, Any], CallEffect | None]:
        recommendation: Recommendation = await self._backend.lookup_products(self._call, args.needs)
        products = [
            {
                "name": item.name,
                "insurer": item.insurer,
                "category": item.category_name,
                "key_benefits": item.key_benefits,
                "why": item.rationale,
            }
            for item in recommendation.items[:PRODUCTS_SPOKEN]
        ]
        payload: dict[str, Any] = {
            "products": products,
            "note": "Mention only these products and only the details given here.",
        }
        if recommendation.nothing_fits or not products:
            payload["nothing_fits"] = (
                recommendation.nothing_fits_reason or "No product in the catalog fits yet."
            )
        return payload, None

    async def _save_email(self, args: SaveEmailArgs) -> tuple[dict[str, Any], CallEffect | None]:
        email = str(args.email)
        await self._backend.save_email(self._call, email)
        return {"saved_email": email}, EmailSaved(email)

    async def _schedule_follow_up(
        self, args: ScheduleFollowUpArgs
    ) -> tuple[dict[str, Any], CallEffect | None]:
        zone = ZoneInfo(self._call.lead_timezone)
        at = args.at if args.at.tzinfo is not None else args.at.replace(tzinfo=zone)
        now = self._clock()
        if at < now + FOLLOW_UP_EARLIEST:
            raise ToolArgumentsRejected("datetime: the callback time must be in the future")
        if at > now + FOLLOW_UP_LATEST:
            raise ToolArgumentsRejected("datetime: the callback must be within the next six months")
        await self._backend.schedule_follow_up(self._call, at, args.note)
        return {"scheduled_for": at.astimezone(zone).isoformat()}, FollowUpScheduled(at)

    async def _end_call(self, args: EndCallArgs) -> tuple[dict[str, Any], CallEffect | None]:
        return {
            "note": "Say a brief, warm goodbye if you have not yet; the line closes after it."
        }, EndCallRequested(args.reason)

    async def _mark_do_not_call(self, args: MarkDoNotCallArgs) -> tuple[dict[str, Any], CallEffect | None]:
        await self._backend.mark_do_not_call(self._call)
        return {
            "note": "Recorded. Confirm politely that they will not be called again, then end the call."
        }, (DoNotCallMarked())

    async def _confirm_timezone(self, args: ConfirmTimezoneArgs) -> tuple[dict[str, Any], CallEffect | None]:
        # The tz database's current name, so the lead's record matches what leads derives elsewhere.
        zone = canonical_zone(args.timezone.strip())
        if zone is None:
            raise ToolArgumentsRejected(
                f"timezone: {args.timezone!r} is not an IANA timezone name; give one like America/Denver"
                " (the zone of the city the prospect named)"
            )
        await self._backend.confirm_timezone(self._call, zone, args.said)
        return {"confirmed_timezone": zone}, None


def _invalid(problems: list[str]) -> str:
    return _output(
        {
            "ok": False,
            "error": "invalid_arguments",
            "problems": problems,
            "note": "Ask the prospect to confirm the detail, then try again.",
        }
    )
