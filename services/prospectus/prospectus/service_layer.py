"""Prospectus use cases: projections kept from other services' events, versions requested on demand
or by a recommendation, and the PDF handed to the mailer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from parley_contracts import (
    LeadSnapshot,
    ProductSnapshot,
    ProspectusAgentContact,
    ProspectusPdfReply,
    ProspectusPdfRequest,
    RecommendationsReady,
)
from servicekit.auth import Principal
from servicekit.db import Database
from servicekit.errors import Conflict, NotFound
from servicekit.messaging import UnitOfWork
from servicekit.runtime import ServiceRuntime

from .adapters import repository as repo
from .adapters.tables import lead_projection
from .domain.ports import ProspectusNotFoundError, ProspectusStore
from .domain.versions import VersionStatus

# -- projections -----------------------------------------------------------------------------


async def apply_lead(uow: UnitOfWork, snapshot: LeadSnapshot) -> None:
    await repo.upsert_lead_snapshot(uow.session, snapshot)


async def project_missing_lead(runtime: ServiceRuntime, lead_id: uuid.UUID) -> None:
    """Read-your-writes for the API: a lead created a moment ago whose lead.created has not arrived
    yet is asked of leads and projected now, as the event would."""
    await lead_projection.fill_missing(runtime, lead_id, apply_lead)


async def apply_email_permission(uow: UnitOfWork, lead_id: uuid.UUID, permission: bool) -> None:
    # Permission given on any call stands until the lead opts out (a later call that did not ask
    # again does not withdraw it); opting out is a consent change that arrives with lead.updated.
    if permission:
        await repo.record_email_permission(uow.session, lead_id)


async def forget_lead(uow: UnitOfWork, lead_id: uuid.UUID, store: ProspectusStore) -> None:
    await repo.forget_lead(uow.session, lead_id)
    # The files go last: if the transaction fails after this, the redelivered event deletes again.
    await store.delete_lead(lead_id)


async def apply_product(uow: UnitOfWork, product: ProductSnapshot, changed_at: datetime) -> None:
    await repo.upsert_product(uow.session, product, changed_at)


async def remove_product(uow: UnitOfWork, product_id: uuid.UUID, changed_at: datetime) -> None:
    await repo.delete_product(uow.session, product_id, changed_at)


async def accept_recommendation(uow: UnitOfWork, event: RecommendationsReady) -> dict[str, Any] | None:
    """Keep the recommendation and queue the lead's next version from it (once per event)."""
    if await repo.is_lead_deleted(uow.session, event.lead_id):
        return None
    await apply_email_permission(uow, event.lead_id, event.email_permission)
    await repo.add_recommendation(
        uow.session,
        event_id=event.event_id,
        lead_id=event.lead_id,
        call_id=event.call_id,
        needs=event.needs,
        recommendation=event.recommendation,
        occurred_at=event.occurred_at,
    )
    if await repo.has_automatic_version(uow.session, event.event_id):
        return None
    recommendation = await repo.get_recommendation(uow.session, event.event_id)
    assert recommendation is not None
    return await repo.insert_version(
        uow.session, lead_id=event.lead_id, recommendation=recommendation, automatic=True, requested_by=None
    )


# -- on demand -------------------------------------------------------------------------------


async def request_version(
    uow: UnitOfWork, principal: Principal, lead_id: uuid.UUID, call_id: uuid.UUID | None
) -> dict[str, Any]:
    if await repo.get_lead(uow.session, lead_id, principal) is None:
        raise NotFound("Lead not found.")
    recommendation = await repo.latest_recommendation(uow.session, lead_id, call_id)
    if recommendation is None:
        detail = (
            f"There is no recommendation from call {call_id} for this lead."
            if call_id
            else "This lead has no recommendation yet: a prospectus is made from the recommendation "
            "that follows a call."
        )
        raise Conflict(detail)
    return await repo.insert_version(
        uow.session,
        lead_id=lead_id,
        recommendation=recommendation,
        automatic=False,
        requested_by=principal.user_id,
    )


async def visible_version(
    db: Database, principal: Principal, lead_id: uuid.UUID, version: int
) -> dict[str, Any]:
    async with db.session() as session:
        if await repo.get_lead(session, lead_id, principal) is None:
            raise NotFound("Lead not found.")
        record = await repo.get_version(session, lead_id, version)
    if record is None:
        raise NotFound(f"This lead has no prospectus version {version}.")
    return record


def require_ready(record: dict[str, Any]) -> None:
    if record["status"] == VersionStatus.FAILED:
        raise Conflict(
            f"Version {record['version']} failed to render: {record['error']}",
            version_status=record["status"],
        )
    if record["status"] != VersionStatus.READY:
        raise Conflict(
            f"Version {record['version']} is {record['status']}; its files are available once it is READY.",
            version_status=record["status"],
        )


# -- the mailer's request --------------------------------------------------------------------


async def pdf_for_mailer(
    db: Database, store: ProspectusStore, request: ProspectusPdfRequest, max_bytes: int
) -> ProspectusPdfReply:
    async with db.session() as session:
        record = await repo.get_version_by_id(session, request.lead_id, request.prospectus_id)
        recommendation = (
            await repo.get_recommendation(session, uuid.UUID(record["recommendation_id"])) if record else None
        )
    if record is None or recommendation is None:
        return ProspectusPdfReply(found=False)
    reply = ProspectusPdfReply(
        found=True,
        status=record["status"],
        version=record["version"],
        recommendation=recommendation.recommendation,
        agent=ProspectusAgentContact.model_validate(record["agent_contact"])
        if record["agent_contact"]
        else None,
        error=record["error"],
    )
    if record["status"] != VersionStatus.READY:
        return reply
    try:
        pdf = await store.read_pdf(request.lead_id, record["version"])
    except ProspectusNotFoundError:
        return reply.model_copy(update={"error": "the stored PDF is missing"})
    # Base64 grows the bytes by a third; the reply must fit in one NATS message.
    if len(pdf) * 4 // 3 + 64 * 1024 > max_bytes:
        return reply.model_copy(update={"error": f"the PDF ({len(pdf)} bytes) is too large to hand over"})
    return reply.model_copy(update={"pdf": pdf})
