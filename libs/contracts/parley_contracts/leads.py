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


class TimezoneSource(StrEnum):
    """How a lead's timezone was set, shown to agents beside it."""

    GIVEN = "given"  # typed by a person (API, form, CSV column)
    FROM_PHONE = "from_phone"  # the phone number's area maps to it
    FROM_LOCATION = "from_location"  # the lead's location names a place there
    CONFIRMED_ON_CALL = "confirmed_on_call"  # the lead said so on a call
    FALLBACK = "fallback"  # nothing maps: the importer's default_timezone
    UNKNOWN = "unknown"  # nothing maps and no fallback: the lead is not dialled until someone sets it


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
    # The zone shown and used for the lead's windows; when the phone number leaves several zones
    # possible, `timezone_candidates` lists them all and a call must be legal in every one.
    timezone: str = "UTC"
    timezone_source: TimezoneSource | None = Field(
        default=None, description="how `timezone` was set; null on leads from before it was recorded"
    )
    timezone_candidates: list[str] = Field(
        default_factory=list, description="every zone the lead may be in; empty means just `timezone`"
    )
    country: str | None = Field(
        default=None, description="ISO 3166 region of the phone number: whose calling rules apply"
    )
    consent_flags: ConsentFlags = ConsentFlags()
    assigned_agent_id: UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def calling_zones(self) -> tuple[str, ...]:
        """The zones a call must be legal in: none while the timezone is unknown."""
        if self.timezone_source is TimezoneSource.UNKNOWN:
            return ()
        return tuple(self.timezone_candidates) or (self.timezone,)


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


class LeadTimezoneConfirmed(Event):
    """Command: the lead said on a call which timezone they are in; leads records it as settled."""

    subject = "lead.timezone_confirmed"
    lead_id: UUID
    timezone: str
    call_id: UUID | None = None
    # The prospect's words, kept as the evidence shown in the timeline.
    said: str | None = None


class LeadSnapshotRequest(Contract):
    """Request of `RPC_LEADS_SNAPSHOT`: the current snapshot of one lead, from its owner."""

    lead_id: UUID


class LeadSnapshotReply(Contract):
    """Reply of `RPC_LEADS_SNAPSHOT`; `lead` is None for a lead that does not exist (or was deleted)."""

    lead: LeadSnapshot | None = None
