"""HTTP request/response models for leads (validation lives here, at the edge)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from parley_contracts import ConsentFlags, LeadStatus, TimeWindow, TimezoneSource
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from ..domain.rules import normalize_phone, validate_timezone
from ..domain.timeline import ActivityType

Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(normalize_phone)
]
Timezone = Annotated[str, AfterValidator(validate_timezone)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


PREVIEW_ROWS = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeadIn(_Strict):
    name: Name
    phone: Phone = Field(description="E.164, e.g. +14155550123")
    email: EmailStr | None = None
    location: str | None = Field(default=None, max_length=200)
    age: int | None = Field(default=None, ge=1, le=120)
    income_band: str | None = Field(default=None, max_length=50)
    notes: str | None = Field(default=None, max_length=4000)
    source: str | None = Field(default=None, max_length=100)
    status: LeadStatus = LeadStatus.NEW
    preferred_time_windows: list[TimeWindow] = Field(default_factory=list, max_length=21)
    timezone: Timezone | None = Field(
        default=None,
        description="IANA zone; when omitted it is derived from the phone number, then the location",
    )
    consent_flags: ConsentFlags = Field(default_factory=ConsentFlags)
    assigned_agent_id: UUID | None = Field(
        default=None, description="admins only; agents own what they create"
    )


class ConsentPatch(_Strict):
    dnd: bool | None = None
    email_opt_out: bool | None = None
    call_recording: bool | None = None


class LeadPatch(_Strict):
    name: Name | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    location: str | None = Field(default=None, max_length=200)
    age: int | None = Field(default=None, ge=1, le=120)
    income_band: str | None = Field(default=None, max_length=50)
    notes: str | None = Field(default=None, max_length=4000)
    source: str | None = Field(default=None, max_length=100)
    status: LeadStatus | None = None
    preferred_time_windows: list[TimeWindow] | None = Field(default=None, max_length=21)
    timezone: Timezone | None = None
    consent_flags: ConsentPatch | None = None
    assigned_agent_id: UUID | None = None


class LeadOut(BaseModel):
    id: UUID
    name: str
    phone: str
    email: str | None
    location: str | None
    age: int | None
    income_band: str | None
    notes: str | None
    source: str | None
    status: LeadStatus
    preferred_time_windows: list[TimeWindow]
    timezone: str
    timezone_source: TimezoneSource | None
    timezone_candidates: list[str] = Field(
        description="every zone the lead may be in; calls must be legal in all of them"
    )
    country: str | None
    consent_flags: ConsentFlags
    assigned_agent_id: UUID | None
    created_at: datetime
    updated_at: datetime


class ActivityIn(_Strict):
    type: Literal[ActivityType.NOTE, ActivityType.CALL] = ActivityType.NOTE
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class ActivityOut(BaseModel):
    id: UUID
    lead_id: UUID
    type: ActivityType
    summary: str
    payload: dict[str, Any]
    actor_id: UUID | None
    occurred_at: datetime


class ImportRowError(BaseModel):
    line: int
    column: str | None
    message: str


class ImportRowPreview(BaseModel):
    model_config = ConfigDict(extra="ignore")

    """One valid row as it would be (or was) stored, with where its timezone came from."""

    line: int
    name: str
    phone: str
    email: str | None = None
    timezone: str
    timezone_source: TimezoneSource
    timezone_candidates: list[str]


class ImportReport(BaseModel):
    dry_run: bool = False
    imported: int
    total_rows: int
    duplicates: list[ImportRowError]
    errors: list[ImportRowError]
    header_mapping: dict[str, str]
    mode: Literal["strict", "skip_invalid"]
    rows: list[ImportRowPreview] = Field(
        default_factory=list, description=f"the first {PREVIEW_ROWS} valid rows, as they are stored"
    )


class StatusCount(BaseModel):
    status: LeadStatus
    count: int


class PipelineOut(BaseModel):
    counts: list[StatusCount] = Field(description="every status, in pipeline order, zero included")
    total: int
