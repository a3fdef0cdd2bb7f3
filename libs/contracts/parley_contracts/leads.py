"""Lead events and the lead snapshot they carry."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from .base import Contract, Event


class LeadStatus(StrEnum):
    NEW = "NEW"
    CONTACTED = "CONTACTED"
    QUALIFIED = "QUALIFIED"
    PROPOSAL_SENT = "PROPOSAL_SENT"
    CONVERTED = "CONVERTED"
    LOST = "LOST"


Weekday = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


class TimeWindow(Contract):
    """A weekly window in the lead's local time. `end` before `start` means it crosses midnight."""

    days: list[Weekday]
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class ConsentFlags(Contract):
    dnd: bool = False
    email_opt_out: bool = False
    call_recording: bool = False


class LeadSnapshot(Contract):
    id: UUID
    name: str
    phone: str
    email: str | None = None
    location: str | None = None
    age: int | None = None
    income_band: str | None = None
    notes: str | None = None
    source: str | None = None
    status: LeadStatus = LeadStatus.NEW
    preferred_time_windows: list[TimeWindow] = []
    timezone: str = "UTC"
    consent_flags: ConsentFlags = ConsentFlags()
    assigned_agent_id: UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class LeadCreated(Event):
    subject = "lead.created"
    lead: LeadSnapshot
    actor_id: UUID | None = None


class LeadUpdated(Event):
    subject = "lead.updated"
    lead: LeadSnapshot
    changed: list[str] = []
    before: dict[str, Any] = {}
    actor_id: UUID | None = None


class LeadDeleted(Event):
    subject = "lead.deleted"
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    actor_id: UUID | None = None


class LeadConsentChanged(Event):
    subject = "lead.consent_changed"
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    consent_flags: ConsentFlags
    previous: ConsentFlags | None = None
    reason: str | None = None
    actor_id: UUID | None = None


class SetLeadConsent(Event):
    """Command: another service asks leads to change consent (e.g. unsubscribe link, 'do not call')."""

    subject = "lead.set_consent"
    lead_id: UUID
    dnd: bool | None = None
    email_opt_out: bool | None = None
    call_recording: bool | None = None
    reason: str
    source: str


class LeadEmailCaptured(Event):
    subject = "lead.email_captured"
    lead_id: UUID
    email: str
    source: str = "call"
    call_id: UUID | None = None
    email_permission: bool = False
