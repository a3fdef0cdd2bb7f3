"""A minimal real service used by the kit's own tests: it consumes `lead.created` and records one
"effect" row per event, failing on purpose for leads whose name starts with "poison"."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import sqlalchemy as sa
from parley_contracts import LeadCreated

from ..db import make_messaging_tables, new_metadata
from ..messaging import Handler, UnitOfWork
from ..runtime import ServiceDefinition, ServiceRuntime
from ..settings import ServiceSettings

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)
effects = sa.Table(
    "effects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("lead_name", sa.String(200), nullable=False),
)


class SampleSettings(ServiceSettings):
    service_name: str = "sample"
    handler_delay_seconds: float = 0.0
    # Read through a second pooled connection while the handler's transaction is open.
    handler_nested_read: bool = False
    # Tests flip this to model "the bug was fixed" before a replay.
    poison_fixed: bool = False


async def record_effect(event: LeadCreated, uow: UnitOfWork, settings: SampleSettings) -> None:
    if event.lead.name.startswith("poison") and not settings.poison_fixed:
        raise ValueError(f"cannot handle {event.lead.name}")
    if settings.handler_delay_seconds:
        await asyncio.sleep(settings.handler_delay_seconds)
    await uow.session.execute(
        sa.insert(effects).values(event_id=str(event.event_id), lead_name=event.lead.name)
    )


def handlers(runtime: ServiceRuntime) -> list[Handler[LeadCreated]]:
    settings = runtime.settings
    assert isinstance(settings, SampleSettings)

    async def fn(event: LeadCreated, uow: UnitOfWork) -> None:
        if settings.handler_nested_read:
            async with runtime.db.session() as session:
                await session.scalar(sa.select(sa.func.count()).select_from(effects))
        await record_effect(event, uow, settings)

    return [Handler("sample-effects", LeadCreated, fn)]


definition = ServiceDefinition(
    name="sample",
    settings_cls=SampleSettings,
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "no-migrations",
    handlers=handlers,
)


async def create_tables(database_url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


async def _consume_forever() -> None:
    runtime = ServiceRuntime(definition, SampleSettings())
    await runtime.start()
    print("consuming", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    # Used by the crash test: run as a separate process that gets SIGKILLed mid-batch.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    asyncio.run(_consume_forever())
