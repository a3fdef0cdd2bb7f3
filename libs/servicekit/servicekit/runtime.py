"""A running service: its settings, database, bus, outbox relay and event handlers, with one
lifecycle shared by the HTTP app, the CLI (migrate, seed, replay) and tests."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter

from .bus import Bus
from .db import Database
from .messaging import Handler, Inbox, OutboxRelay, UnitOfWork
from .migrations import upgrade_to_head_async
from .settings import ServiceSettings

log = logging.getLogger("servicekit.runtime")

Hook = Callable[["ServiceRuntime"], Awaitable[None]]


@dataclass
class ServiceDefinition:
    """Everything the kit needs to run a service; each service builds one in its `main.py`."""

    name: str
    settings_cls: type[ServiceSettings]
    metadata: sa.MetaData
    outbox: sa.Table
    inbox: sa.Table
    migrations: Path
    routers: Sequence[APIRouter] = ()
    handlers: Callable[[ServiceRuntime], Sequence[Handler[Any]]] = lambda _runtime: ()
    # Extra wiring: request/reply responders, background loops; run before the bus starts.
    on_startup: Sequence[Hook] = ()
    on_shutdown: Sequence[Hook] = ()
    seed: Hook | None = None
    # Extra readiness details (e.g. the gateway's view of downstream services); informational only,
    # so one service being down never makes another unready.
    readiness_details: Callable[[ServiceRuntime], Awaitable[dict[str, str]]] | None = None
    description: str = ""


@dataclass
class ServiceRuntime:
    definition: ServiceDefinition
    settings: ServiceSettings
    db: Database = field(init=False)
    bus: Bus = field(init=False)
    relay: OutboxRelay = field(init=False)
    handlers: dict[str, Handler[Any]] = field(init=False, default_factory=dict)
    # Service-specific objects (adapters, loops) that hooks attach for routes and handlers to use.
    extras: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        self.db = Database(s.database_url, echo=s.database_echo)
        self.bus = Bus(
            s.nats_url,
            service=self.definition.name,
            namespace=s.bus_namespace,
            max_deliver=s.bus_max_deliver,
            backoff_seconds=s.bus_backoff_seconds,
            ack_wait_seconds=s.bus_ack_wait_seconds,
            handler_concurrency=s.resolved_bus_handler_concurrency(),
        )
        self.relay = OutboxRelay(
            self.db, self.definition.outbox, self.bus, self.definition.name, s.outbox_poll_seconds
        )
        self.bus.bind_storage(self.db, Inbox(self.definition.inbox), self.relay)

    async def migrate(self) -> None:
        await upgrade_to_head_async(self.definition.migrations, self.settings.database_url)

    async def start(self, *, consume: bool = True) -> None:
        if self.settings.auto_migrate:
            await self.migrate()
        if consume:
            for handler in self.definition.handlers(self):
                self.handlers[handler.name] = handler
                self.bus.consume(handler)
        for hook in self.definition.on_startup:
            await hook(self)
        if consume:
            await self.bus.start()
        else:
            await self.bus.connect()
        self.relay.start()
        log.info("%s started (consumers: %s)", self.definition.name, ", ".join(self.handlers) or "none")

    async def stop(self) -> None:
        for hook in self.definition.on_shutdown:
            try:
                await hook(self)
            except Exception:
                log.exception("shutdown hook failed")
        await self.relay.stop()
        # One last pass so events committed just before shutdown are not left waiting for the next start.
        try:
            if self.bus.connected:
                await self.relay.publish_pending()
        except Exception:
            log.warning("final outbox flush failed; rows stay queued for the next start")
        await self.bus.close()
        await self.db.dispose()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A transaction whose emitted events are published after it commits."""
        async with self.db.transaction() as session:
            uow = UnitOfWork(session, self.definition.outbox)
            yield uow
        if uow.emitted:
            self.relay.kick()
