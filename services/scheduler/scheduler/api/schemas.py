"""HTTP request/response models for call tasks (validation lives here, at the edge)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal
from uuid import UUID

from parley_contracts import CallMode, CallOutcome
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from servicekit.pagination import Page

from ..domain import DialingStop, TaskKind, TaskStatus
from ..domain.outcomes import StopReason


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+05:00 has no UTC representation
        raise ValueError("date out of range") from exc


# An instant with an explicit offset, normalised to UTC (naive times are refused: 422).
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ManualTaskIn(_Strict):
    lead_id: UUID
    scheduled_for: UtcDatetime = Field(description="ISO-8601 with offset; in the lead's calling hours")
    mode: CallMode = "phone"
    note: str | None = Field(default=None, max_length=1000)
    force: bool = Field(
        default=False,
        description="admins only: book outside the lead's preferred windows or over the agent's other "
        "bookings. Legal calling hours always apply.",
    )


class CompleteTaskIn(_Strict):
    outcome: CallOutcome
    notes: str | None = Field(default=None, max_length=1000)
    callback_at: UtcDatetime | None = Field(
        default=None, description="with CALLBACK_REQUESTED: when the lead asked to be called back"
    )


class TaskOut(BaseModel):
    id: UUID
    lead_id: UUID
    lead_name: str
    agent_id: UUID | None
    kind: TaskKind
    status: TaskStatus
    scheduled_for: datetime
    window_end: datetime | None
    attempt: int
    priority: int
    mode: CallMode
    outcome: CallOutcome | None
    reason: str | None
    note: str | None
    dispatched_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CompletionOut(BaseModel):
    task: TaskOut
    decision: Literal["COMPLETED", "STOP", "RETRY", "CALLBACK"] | None = Field(
        description="what follows for the lead; null when the lead is gone"
    )
    stop_reason: StopReason | None = None
    next_task: TaskOut | None = None


class QueueItem(TaskOut):
    due: bool = Field(description="due now or overdue")
    local_time: datetime = Field(description="scheduled_for in the lead's timezone")
    answered_at_this_hour: int = Field(description="earlier pickups at this local hour")
    missed_at_this_hour: int = Field(description="earlier unanswered calls at this local hour")


class QueuePage(Page[QueueItem]):
    day: date
    timezone: str


class LeadPlanOut(BaseModel):
    """How the dialer sees one lead: where it may be, which rule applies, whether it is being dialled."""

    lead_id: UUID
    timezone: str
    timezone_candidates: list[str] = Field(description="a call must be legal in every one of them")
    timezone_needed: bool = Field(
        description="no single zone is known and automatic calls are held until someone settles it"
    )
    country: str | None
    legal_hours: str = Field(description="the calling rule of the lead's country, in local time")
    dialing_stopped: DialingStop | None
    plan_error: str | None
    callable_now: bool = Field(description="a call could start now under the legal hours")
    next_legal_time: datetime | None = Field(description="the first legal moment from now, in 14 days")
    next_task: TaskOut | None
