"""The leads service: leads, assignment, consent, timeline and CSV import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from parley_contracts import RPC_LEADS_SNAPSHOT, LeadSnapshotReply, LeadSnapshotRequest
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from .adapters import repository as repo
from .adapters.tables import inbox, metadata, outbox
from .api.routes import router
from .handlers.events import handlers
from .seed import seed
from .settings import LeadsSettings


async def answer_snapshots(runtime: ServiceRuntime) -> None:
    """Other services ask for a lead their projection has not received yet (read-your-writes)."""

    async def snapshot(request: LeadSnapshotRequest) -> LeadSnapshotReply:
        async with runtime.db.session() as session:
            return LeadSnapshotReply(lead=await repo.get_lead(session, request.lead_id))

    runtime.bus.respond(RPC_LEADS_SNAPSHOT, LeadSnapshotRequest, snapshot)


definition = ServiceDefinition(
    name="leads",
    description="Leads, assignment, consent, timeline and CSV import.",
    settings_cls=LeadsSettings,
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    handlers=handlers,
    on_startup=[answer_snapshots],
    seed=seed,
)


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory leads.main:app`."""
    return create_app(definition)
