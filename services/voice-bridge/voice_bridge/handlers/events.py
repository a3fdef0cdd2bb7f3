"""Consumers: the lead projection (ownership, consent, timezone, name, phone, latest needs) and the
scheduler's call requests."""

from __future__ import annotations

from typing import Any

from parley_contracts import CallRequested, LeadCreated, LeadDeleted, LeadUpdated, NeedsExtracted
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from .. import service_layer as svc
from ..adapters import repository as repo
from ..context import voice_calls_of


def handlers(runtime: ServiceRuntime) -> list[Handler[Any]]:
    async def lead_created(event: LeadCreated, uow: UnitOfWork) -> None:
        await svc.project_lead(uow, event.lead)

    async def lead_updated(event: LeadUpdated, uow: UnitOfWork) -> None:
        await svc.project_lead(uow, event.lead)

    async def lead_deleted(event: LeadDeleted, uow: UnitOfWork) -> None:
        await svc.forget_lead(uow, event.lead_id)

    async def needs_extracted(event: NeedsExtracted, uow: UnitOfWork) -> None:
        # Kept for the bot answering the lead's callback; newer extractions replace older ones.
        await repo.save_needs(uow.session, event.lead_id, event.needs)

    async def call_requested(event: CallRequested, uow: UnitOfWork) -> None:
        await voice_calls_of(runtime).on_call_requested(uow, event)

    return [
        Handler("voice-bridge-lead-created", LeadCreated, lead_created),
        Handler("voice-bridge-lead-updated", LeadUpdated, lead_updated),
        Handler("voice-bridge-lead-deleted", LeadDeleted, lead_deleted),
        Handler("voice-bridge-needs-extracted", NeedsExtracted, needs_extracted),
        Handler("voice-bridge-call-requested", CallRequested, call_requested),
    ]
