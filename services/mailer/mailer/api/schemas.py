"""HTTP request/response models for the mailer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from ..domain.delivery import EmailStatus
from ..domain.headers import CompositionError, mailbox


def _header_safe(value: str) -> str:
    # EmailStr checks the syntax; the message builder must also accept it as a To header.
    try:
        return mailbox("", value, "to_email").addr_spec
    except CompositionError as exc:
        raise ValueError(str(exc)) from exc


Address = Annotated[EmailStr, AfterValidator(_header_safe)]


class SendEmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_id: UUID
    prospectus_id: UUID | None = Field(default=None, description="default: the lead's latest prospectus")
    to_email: Address | None = Field(default=None, description="default: the lead's address")


class EmailOut(BaseModel):
    id: UUID
    lead_id: UUID
    prospectus_id: UUID | None = None
    version: int | None = None
    to_email: str | None = Field(
        default=None, description="unset until sent when it is the lead's own address"
    )
    subject: str | None = None
    status: EmailStatus
    provider_message_id: str | None = None
    attempts: int
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    requested_by: UUID | None = Field(default=None, description="unset for automatic emails")
    created_at: datetime
    sent_at: datetime | None = None


class MailboxSummaryOut(BaseModel):
    id: str
    sender: str
    recipients: list[str]
    subject: str
    date: datetime | None
    has_attachments: bool
    size: int


class MailboxAttachmentOut(BaseModel):
    filename: str | None
    content_type: str
    size: int


class MailboxMessageOut(BaseModel):
    id: str
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    attachments: list[MailboxAttachmentOut]
