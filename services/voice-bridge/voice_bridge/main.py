"""The voice-bridge service: simulated (text) calls with the offline dialogue policy and the bot's tools
over NATS, the lead projection, and the scheduler's call requests."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from .adapters.tables import inbox, metadata, outbox
from .api.routes import router
from .context import VOICE_CALLS
from .handlers.events import handlers
from .service_layer import VoiceCalls
from .settings import VoiceBridgeSettings


async def install(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, VoiceBridgeSettings)
    runtime.extras[VOICE_CALLS] = VoiceCalls(runtime, settings)


definition = ServiceDefinition(
    name="voice-bridge",
    description="The AI sales call: simulated (text) calls, the bot's tools over NATS, transcripts; "
    "consumes call.requested, emits call.started, call.status, call.ended.",
    settings_cls=VoiceBridgeSettings,
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    handlers=handlers,
    on_startup=[install],
)


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory voice_bridge.main:app`."""
    return create_app(definition)
