"""Call lifecycle, scheduling and follow-up events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime

from .base import Contract, Event


class CallOutcome(StrEnum):
    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    VOICEMAIL = "VOICEMAIL"
    FAILED = "FAILED"
    CALLBACK_REQUESTED = "CALLBACK_REQUESTED"
    NOT_INTERESTED = "NOT_INTERESTED"
    DO_NOT_CALL = "DO_NOT_CALL"


CallMode = Literal["simulated", "phone"]

TelephonyStatus = Literal[
    "queued",
    "initiated",
    "ringing",
    "answered",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "failed",
    "canceled",
]


class TranscriptLine(Contract):
    speaker: Literal["bot", "prospect", "system"]
    text: str
    at: datetime


class CallRequested(Event):
    """Command from the scheduler: place this call now."""

    subject = "call.requested"
    task_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    mode: CallMode = "phone"
    attempt: int = 1


class CallStarted(Event):
    subject = "call.started"
    call_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    task_id: UUID | None = None
    mode: CallMode
    direction: Literal["outbound", "inbound"] = "outbound"


class CallStatusChanged(Event):
    subject = "call.status"
    call_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    task_id: UUID | None = None
    status: TelephonyStatus
    answered_by: str | None = None


class CallEnded(Event):
    subject = "call.ended"
    call_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    task_id: UUID | None = None
    mode: CallMode
    outcome: CallOutcome
    duration_seconds: float = 0
    transcript: list[TranscriptLine] = []
    summary: str | None = None
    email_permission: bool = False


class FollowupRequested(Event):
    subject = "followup.requested"
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    call_id: UUID | None = None
    at: AwareDatetime
    reason: str | None = None


class TaskReminder(Event):
    subject = "task.reminder"
    task_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    due_at: AwareDatetime


class TaskScheduled(Event):
    """A call task was planned, or moved to another time (`rescheduled`)."""

    subject = "task.scheduled"
    task_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    kind: Literal["AUTO", "MANUAL", "CALLBACK", "RETRY"]
    scheduled_for: AwareDatetime
    mode: CallMode = "phone"
    attempt: int = 1
    rescheduled: bool = False
    reason: str | None = None


class TaskCompleted(Event):
    subject = "task.completed"
    task_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    outcome: CallOutcome
    next_attempt_at: AwareDatetime | None = None
    # Why the task closed this way, e.g. "no call report within 120 s" or "max attempts reached".
    reason: str | None = None


class TaskCanceled(Event):
    """A pending call task will not be dialed (do-not-call, lead deleted, superseded, canceled by a user)."""

    subject = "task.canceled"
    task_id: UUID
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    kind: Literal["AUTO", "MANUAL", "CALLBACK", "RETRY"]
    reason: str


class DialingChanged(Event):
    """The dialer stopped (or resumed) planning automatic calls for a lead, and why.

    `stopped` is the scheduler's reason (e.g. TIMEZONE_NEEDED, MAX_ATTEMPTS), null when it resumed.
    """

    subject = "task.dialing_changed"
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    stopped: str | None = None
    detail: str | None = None
