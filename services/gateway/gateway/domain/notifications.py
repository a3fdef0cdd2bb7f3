"""What a console notification says and where it points; the stored shape the API and the stream send."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel

# Ids derive from the event that caused the notification, so a rebuild by replay gives them back unchanged.
_ID_NAMESPACE = uuid.UUID("5b0f9a8e-3c1d-4e8a-9a57-0d6c2f1e7b44")


class NotificationKind(StrEnum):
    REMINDER_DUE = "reminder_due"
    EMAIL_CAPTURED = "email_captured"
    PROSPECTUS_FAILED = "prospectus_failed"


@dataclass(frozen=True)
class Draft:
    kind: NotificationKind
    title: str
    lead_id: uuid.UUID
    link: str


class Notification(BaseModel):
    """A notification as stored: the API's items and the stream's `notification` events."""

    id: uuid.UUID
    user_id: uuid.UUID
    kind: NotificationKind
    title: str
    lead_id: uuid.UUID
    link: str
    created_at: datetime
    read_at: datetime | None
    source_event_id: uuid.UUID


def notification_id(source_event_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_ID_NAMESPACE, str(source_event_id))


def lead_link(lead_id: uuid.UUID) -> str:
    return f"/agent/leads/{lead_id}"


def reminder_due(lead_id: uuid.UUID, due_at: datetime) -> Draft:
    # The lead's name lives in the leads service; the title states only what the event says.
    due = due_at.astimezone(UTC).isoformat(timespec="minutes")
    return Draft(
        NotificationKind.REMINDER_DUE, f"Call reminder: a call is due at {due}", lead_id, lead_link(lead_id)
    )


def email_captured(lead_id: uuid.UUID) -> Draft:
    # The address itself stays out of the title: it is personal data, shown on the lead's page.
    return Draft(
        NotificationKind.EMAIL_CAPTURED,
        "Email captured: the lead gave an email address",
        lead_id,
        lead_link(lead_id),
    )


def prospectus_failed(lead_id: uuid.UUID) -> Draft:
    return Draft(
        NotificationKind.PROSPECTUS_FAILED,
        "Prospectus failed: the lead's prospectus could not be generated",
        lead_id,
        f"{lead_link(lead_id)}/prospectus",
    )
