"""Consumers: the lead projection (address, consent, owner), and the automatic email of a prospectus."""

from __future__ import annotations

from typing import Any

from parley_contracts import LeadCreated, LeadDeleted, LeadUpdated, ProspectusGenerated
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from .. import service_layer as svc


def handlers(runtime: ServiceRuntime) -> list[Handler[Any]]:
    async def lead_changed(event: LeadCreated | LeadUpdated, uow: UnitOfWork) -> None:
        await svc.apply_lead(uow, event.lead)

    async def lead_deleted(event: LeadDeleted, uow: UnitOfWork) -> None:
        await svc.forget_lead(uow, event.lead_id)

    async def prospectus_generated(event: ProspectusGenerated, uow: UnitOfWork) -> None:
        queued = await svc.accept_prospectus(uow, event)
        # The worker runs in `serve`, not in `replay`; there the email waits for the next start.
        worker = runtime.extras.get("worker")
        if queued is not None and worker is not None:
            worker.kick_after_commit(uow.session)

    return [
        Handler("mailer-lead-created", LeadCreated, lead_changed),
        Handler("mailer-lead-updated", LeadUpdated, lead_changed),
        Handler("mailer-lead-deleted", LeadDeleted, lead_deleted),
        Handler("mailer-prospectus-generated", ProspectusGenerated, prospectus_generated),
    ]
