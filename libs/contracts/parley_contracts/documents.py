"""Prospectus and email events, and the request/reply that hands a prospectus to the mailer."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BeforeValidator, PlainSerializer

from .ai import Recommendation
from .base import Contract, Event


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


ProspectusStatus = Literal["QUEUED", "RENDERING", "READY", "FAILED"]


def _from_base64(value: Any) -> Any:
    return base64.b64decode(value, validate=True) if isinstance(value, str) else value


# Raw bytes in Python, base64 text in JSON (pydantic's Base64Bytes would also decode raw bytes given in Python).
Base64Payload = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    PlainSerializer(lambda raw: base64.b64encode(raw).decode("ascii"), return_type=str, when_used="json"),
]


class ProspectusPdfRequest(Contract):
    """Request on `RPC_PROSPECTUS_PDF`: one version's PDF, asked for by the lead it belongs to."""

    lead_id: UUID
    prospectus_id: UUID


class ProspectusAgentContact(Contract):
    """The agent named in the document, so the email is signed by the same person."""

    name: str
    email: str
    phone: str | None = None
    title: str | None = None


class ProspectusPdfReply(Contract):
    """`found` is false when no such version belongs to the lead; `pdf` is set only when READY."""

    found: bool
    status: ProspectusStatus | None = None
    version: int | None = None
    pdf: Base64Payload | None = None
    recommendation: Recommendation | None = None
    agent: ProspectusAgentContact | None = None
    error: str | None = None
