"""Who a call is for, why it ended, and what the service layer gets back when it does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from parley_contracts import CallEnded, CallMode, CallOutcome, TranscriptLine

from .usage import UsageTotals


@dataclass(frozen=True, slots=True)
class CallContext:
    """The call's identity, fixed by the service when it creates the bridge.

    Tools act on this lead only: nothing the model says can point a tool at another lead.
    """

    call_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    task_id: UUID | None = None
    lead_timezone: str = "UTC"
    mode: CallMode = "phone"


class EndReason(StrEnum):
    TWILIO_STOP = "twilio_stop"
    TWILIO_DISCONNECTED = "twilio_disconnected"
    HANGUP_REQUESTED = "hangup_requested"
    BOT_ENDED = "bot_ended"
    REALTIME_UNAVAILABLE = "realtime_unavailable"
    BRIDGE_ERROR = "bridge_error"


class EndCallReason(StrEnum):
    """Why the bot ended the call (the `endCall` tool's argument)."""

    COMPLETED = "completed"
    NOT_INTERESTED = "not_interested"
    CALLBACK_REQUESTED = "callback_requested"
    DO_NOT_CALL = "do_not_call"
    WRONG_PERSON = "wrong_person"


ToolStatus = Literal["ok", "invalid_arguments", "unknown_tool", "failed", "timed_out"]


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    name: str
    status: ToolStatus
    at: datetime


@dataclass(slots=True)
class CallFacts:
    """What the tools established during the call; drives the outcome."""

    email_saved: str | None = None
    follow_up_at: datetime | None = None
    do_not_call: bool = False
    end_call_reason: EndCallReason | None = None


def decide_outcome(end_reason: EndReason, facts: CallFacts, *, connected: bool) -> CallOutcome:
    """The call's outcome for the scheduler: explicit wishes first, then how the call went.

    A call the bot could not speak on is FAILED so the scheduler retries it. AMD-detected voicemail is the
    Twilio side's verdict and overrides this in the service layer.
    """
    if facts.do_not_call or facts.end_call_reason is EndCallReason.DO_NOT_CALL:
        return CallOutcome.DO_NOT_CALL
    if facts.end_call_reason is EndCallReason.NOT_INTERESTED:
        return CallOutcome.NOT_INTERESTED
    if facts.follow_up_at is not None or facts.end_call_reason is EndCallReason.CALLBACK_REQUESTED:
        return CallOutcome.CALLBACK_REQUESTED
    if not connected or end_reason in (EndReason.REALTIME_UNAVAILABLE, EndReason.BRIDGE_ERROR):
        return CallOutcome.FAILED
    return CallOutcome.ANSWERED


@dataclass(slots=True)
class BridgeCounters:
    caller_frames_in: int = 0
    caller_frames_dropped: int = 0
    bot_chunks_out: int = 0
    bot_chunks_suppressed: int = 0
    barge_ins: int = 0
    realtime_reconnects: int = 0
    journal_entries_dropped: int = 0


@dataclass(frozen=True)
class CallSummary:
    call: CallContext
    outcome: CallOutcome
    ended_reason: EndReason
    ended_at: datetime
    started_at: datetime | None
    twilio_call_sid: str | None
    transcript: list[TranscriptLine]
    usage: UsageTotals
    facts: CallFacts
    tool_calls: list[ToolCallRecord]
    counters: BridgeCounters
    estimated_cost_usd: float | None = None
    event_counts: dict[str, int] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> float:
        return 0.0 if self.started_at is None else (self.ended_at - self.started_at).total_seconds()

    def call_ended_event(self) -> CallEnded:
        return CallEnded(
            call_id=self.call.call_id,
            lead_id=self.call.lead_id,
            assigned_agent_id=self.call.assigned_agent_id,
            task_id=self.call.task_id,
            mode=self.call.mode,
            outcome=self.outcome,
            duration_seconds=self.duration_seconds,
            transcript=self.transcript,
            email_permission=self.facts.email_saved is not None,
        )
