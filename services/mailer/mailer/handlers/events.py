"""Consumers: the lead projection (address, consent, owner), and the automatic email of a prospectus."""

from __future__ import annotations

from typing import Any

from parley_contracts import ProspectusGenerated
from servicekit.lead_projection import lead_projection_handlers
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from .. import service_layer as svc


def handlers(runtime: ServiceRuntime) -> list[Handler[Any]]:
    async def prospectus_generated(event: ProspectusGenerated, uow: UnitOfWork) -> None:
        queued = await svc.accept_prospectus(uow, event)
        # The worker runs in `serve`, not in `replay`; there the email waits for the next start.
        worker = runtime.extras.get("worker")
        if queued is not None and worker is not None:
            worker.kick_after_commit(uow.session)

    return [
        *lead_projection_handlers("mailer", changed=svc.apply_lead, deleted=svc.forget_lead),
        Handler("mailer-prospectus-generated", ProspectusGenerated, prospectus_generated),
    ]
