"""The scheduler service: call tasks from preferred windows, the call queue, outcomes, retries,
reminders, and the dispatch loop that emits `call.requested`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from .adapters.tables import inbox, metadata, outbox
from .api.routes import router
from .clock import SchedulerClock, SystemSchedulerClock
from .context import SCHEDULING, Scheduling
from .dispatcher import Dispatcher
from .handlers.events import handlers
from .settings import SchedulerSettings

DISPATCHER = "dispatcher"


def make_definition(clock: SchedulerClock | None = None) -> ServiceDefinition:
    """The service, on the system clock unless a test brings its own."""

    async def install(runtime: ServiceRuntime) -> None:
        settings = runtime.settings
        assert isinstance(settings, SchedulerSettings)
        ctx = Scheduling.create(settings, clock or SystemSchedulerClock())
        runtime.extras[SCHEDULING] = ctx
        dispatcher = Dispatcher(runtime, ctx)
        runtime.extras[DISPATCHER] = dispatcher
        dispatcher.start()

    async def stop_dispatcher(runtime: ServiceRuntime) -> None:
        dispatcher: Dispatcher | None = runtime.extras.get(DISPATCHER)
        if dispatcher is not None:
            await dispatcher.stop()

    return ServiceDefinition(
        name="scheduler",
        description="Call tasks from preferred windows and timezones, call queue, outcomes, retries, "
        "reminders; emits call.requested.",
        settings_cls=SchedulerSettings,
        metadata=metadata,
        outbox=outbox,
        inbox=inbox,
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        handlers=handlers,
        on_startup=[install],
        on_shutdown=[stop_dispatcher],
    )


definition = make_definition()


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory scheduler.main:app`."""
    return create_app(definition)
