"""Prospectus and email events."""

from __future__ import annotations

from uuid import UUID

from .base import Event


class ProspectusGenerated(Event):
    subject = "prospectus.generated"
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    prospectus_id: UUID
    version: int
    call_id: UUID | None = None
    product_ids: list[UUID] = []
    send_email: bool = False


class ProspectusFailed(Event):
    subject = "prospectus.failed"
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    prospectus_id: UUID
    reason: str


class EmailSent(Event):
    subject = "email.sent"
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    email_id: UUID
    prospectus_id: UUID | None = None
    provider_message_id: str | None = None


class EmailFailed(Event):
    subject = "email.failed"
    lead_id: UUID
    assigned_agent_id: UUID | None = None
    email_id: UUID
    prospectus_id: UUID | None = None
    reason: str
    permanent: bool
