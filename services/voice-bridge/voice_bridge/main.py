"""The voice-bridge service: phone calls (Twilio <-> OpenAI Realtime) when a phone line is configured
(its public URL and signing secrets here, credentials here or in the admin settings),
simulated (text) calls always, the bot's tools over NATS, the lead projection, and the scheduler's call
requests."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from .adapters.tables import inbox, metadata, outbox
from .api.persona_routes import router as persona_router
from .api.routes import router
from .api.twilio_routes import router as twilio_router
from .context import VOICE_CALLS
from .handlers.events import handlers
from .phone_calls import PhoneCalls
from .service_layer import VoiceCalls
from .settings import VoiceBridgeSettings


async def install(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, VoiceBridgeSettings)
    calls = VoiceCalls(runtime, settings)
    runtime.extras[VOICE_CALLS] = calls
    if not settings.phone_infrastructure_missing():
        # Twilio for the line, OpenAI Realtime for the voice (credentials from the environment or the
        # admin settings, per call: see `phone_line`), the same bus-backed tools as rehearsals.
        calls.phone = PhoneCalls(
            runtime,
            settings,
            lines=calls.phone_lines,
            tools=calls.backend,
            hub=calls.hub,
            persona_for=calls.persona_for,
        )
        await calls.phone.recover_interrupted()


async def hang_up_live_calls(runtime: ServiceRuntime) -> None:
    calls = runtime.extras.get(VOICE_CALLS)
    if isinstance(calls, VoiceCalls) and calls.phone is not None:
        await calls.phone.aclose()


definition = ServiceDefinition(
    name="voice-bridge",
    description="The AI sales call: phone calls over Twilio and OpenAI Realtime, simulated (text) calls, "
    "the bot's tools over NATS, transcripts; "
    "consumes call.requested, emits call.started, call.status, call.ended.",
    settings_cls=VoiceBridgeSettings,
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, persona_router, twilio_router],
    handlers=handlers,
    on_startup=[install],
    on_shutdown=[hang_up_live_calls],
)


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory voice_bridge.main:app`."""
    return create_app(definition)
