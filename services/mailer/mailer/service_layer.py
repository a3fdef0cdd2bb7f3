"""Mailer use cases: projections kept from other services' events, emails queued (automatically
after a prospectus, or on request), and unsubscribing."""

from __future__ import annotations

import uuid
from typing import Any

from parley_contracts import LeadSnapshot, ProspectusGenerated, SetLeadConsent
from servicekit.auth import Principal
from servicekit.errors import Conflict, NotFound, Unprocessable
from servicekit.messaging import UnitOfWork

from .adapters import repository as repo
from .domain.unsubscribe import UnsubscribeClaim

SERVICE = "mailer"


def automatic_key(prospectus_id: uuid.UUID) -> str:
    return f"prospectus:{prospectus_id}"


# -- projections -----------------------------------------------------------------------------


async def apply_lead(uow: UnitOfWork, snapshot: LeadSnapshot) -> None:
    await repo.upsert_lead_snapshot(uow.session, snapshot)


async def forget_lead(uow: UnitOfWork, lead_id: uuid.UUID) -> None:
    await repo.forget_lead(uow.session, lead_id)


async def accept_prospectus(uow: UnitOfWork, event: ProspectusGenerated) -> dict[str, Any] | None:
    """Remember the version; when it is to be emailed, queue its email once (returned when new).

    The idempotency key is written before anything is sent: a redelivered event, or the same
    version announced again, finds the row and queues nothing more.
    """
    if await repo.is_lead_deleted(uow.session, event.lead_id):
        return None
    await repo.add_prospectus(
        uow.session, event.prospectus_id, event.lead_id, event.version, event.occurred_at
    )
    if not event.send_email or await repo.find_by_key(uow.session, automatic_key(event.prospectus_id)):
        return None
    return await repo.queue_email(
        uow.session,
        email_id=uuid.uuid4(),
        lead_id=event.lead_id,
        prospectus_id=event.prospectus_id,
        version=event.version,
        to_email=None,
        idempotency_key=automatic_key(event.prospectus_id),
        requested_by=None,
    )


# -- on request ------------------------------------------------------------------------------


async def request_email(
    uow: UnitOfWork,
    principal: Principal,
    lead_id: uuid.UUID,
    prospectus_id: uuid.UUID | None,
    to_email: str | None,
) -> dict[str, Any]:
    lead = await repo.get_lead(uow.session, lead_id, principal)
    if lead is None:
        raise NotFound("Lead not found.")
    # Checked now for a clear answer, and again by the worker right before sending.
    if lead.email_opt_out:
        raise Conflict("The lead opted out of email; nothing was sent.")
    if lead.dnd:
        raise Conflict("The lead asked not to be contacted (DND); nothing was sent.")
    if not (to_email or lead.email):
        raise Unprocessable(
            "The lead has no email address; give one in to_email.",
            errors=[
                {"loc": ["body", "to_email"], "msg": "required: the lead has no email", "type": "missing"}
            ],
        )
    prospectus = await repo.find_prospectus(uow.session, lead_id, prospectus_id)
    if prospectus is None and prospectus_id is not None:
        raise NotFound(f"The lead has no generated prospectus {prospectus_id}.")
    if prospectus is None:
        raise Conflict("The lead has no generated prospectus yet; generate one first.")
    email_id = uuid.uuid4()
    return await repo.queue_email(
        uow.session,
        email_id=email_id,
        lead_id=lead_id,
        prospectus_id=prospectus.id,
        version=prospectus.version,
        to_email=to_email,
        idempotency_key=f"request:{email_id}",
        requested_by=principal.user_id,
    )


# -- unsubscribing ---------------------------------------------------------------------------


async def unsubscribe(uow: UnitOfWork, claim: UnsubscribeClaim) -> None:
    """Stop email to the lead here at once, and ask leads (the owner of consent) to record it.

    Repeated clicks ask once: the local flag is already set. A lead unknown here is asked anyway.
    """
    newly = await repo.record_unsubscribe(uow.session, claim.lead_id)
    known = await repo.get_lead(uow.session, claim.lead_id) is not None
    if newly or not known:
        await uow.emit(
            SetLeadConsent(
                lead_id=claim.lead_id,
                email_opt_out=True,
                reason="unsubscribe link in an email",
                source=SERVICE,
            )
        )
