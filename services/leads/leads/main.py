"""The leads service: leads, assignment, consent, timeline and CSV import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition

from .adapters.tables import inbox, metadata, outbox
from .api.routes import router
from .handlers.events import handlers
from .seed import seed
from .settings import LeadsSettings

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
    seed=seed,
)


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory leads.main:app`."""
    return create_app(definition)
