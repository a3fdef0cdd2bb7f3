"""Outbox and inbox.

The outbox makes "change state + announce it" atomic: events are rows written in the same DB
transaction as the change; a relay publishes them afterwards with `Nats-Msg-Id = event_id`, so a
re-publish after a crash is dropped by JetStream's duplicate window.

The inbox makes consumers idempotent: (consumer, event_id) is written in the same transaction as the
handler's effects, so a redelivered or replayed event has no second effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from parley_contracts import Event
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database, is_sqlite
from .metrics import EVENTS_PUBLISHED, OUTBOX_PENDING
from .tracing import inject_headers

if TYPE_CHECKING:
    from .bus import Bus

log = logging.getLogger("servicekit.outbox")

E = TypeVar("E", bound=Event)


class UnitOfWork:
    """One DB transaction plus the events it will announce once committed."""

    def __init__(self, session: AsyncSession, outbox: sa.Table) -> None:
        self.session = session
        self._outbox = outbox
        self.emitted: list[Event] = []

    async def emit(self, event: Event) -> None:
        await self.emit_many([event])

    async def emit_many(self, events: Sequence[Event]) -> None:
        """Queue events in the outbox with one statement (bulk imports emit thousands)."""
        if not events:
            return
        trace_headers: dict[str, str] = {}
        inject_headers(trace_headers)
        stamp = datetime.now(UTC)
        rows = [
            {
                "event_id": str(event.event_id),
                "subject": event.subject,
                "payload": event.to_json(),
                "headers": {
                    "Nats-Msg-Id": str(event.event_id),
                    "Parley-Subject": event.subject,
                    **trace_headers,
                },
                "created_at": stamp,
                "attempts": 0,
            }
            for event in events
        ]
        await self.session.execute(sa.insert(self._outbox), rows)
        self.emitted.extend(events)


# What a two-step handler writes, in the transaction that claims the event.
WriteStep = Callable[[UnitOfWork], Awaitable[None]]


@dataclass(frozen=True)
class Handler(Generic[E]):
    """A durable consumer: `name` is both the JetStream consumer name and the inbox key.

    `fn` runs inside the transaction that claims the inbox row, so it should be quick: that
    transaction holds a pooled connection and, on SQLite, the database's only write lock. A handler
    with slow work (a language model, embeddings, a remote call) is made with `Handler.two_step`:
    its `prepare` runs first, outside any transaction, and returns the write step that then runs in
    the short transaction with the inbox claim. `prepare` may run more than once for one event (a
    redelivery before the first commit, a concurrent duplicate); only one write step commits.
    """

    name: str
    event_type: type[E]
    fn: Callable[[E, UnitOfWork], Awaitable[None]]
    prepare: Callable[[E], Awaitable[WriteStep]] | None = None

    @classmethod
    def two_step(
        cls, name: str, event_type: type[E], prepare: Callable[[E], Awaitable[WriteStep]]
    ) -> Handler[E]:
        """A handler that computes before the transaction and only writes inside it."""

        async def fn(event: E, uow: UnitOfWork) -> None:
            # Both steps in the caller's transaction (direct calls); the bus runs `prepare` outside.
            write = await prepare(event)
            await write(uow)

        return cls(name, event_type, fn, prepare)


class Inbox:
    def __init__(self, table: sa.Table) -> None:
        self.table = table

    async def seen(self, session: AsyncSession, consumer: str, event: Event) -> bool:
        """Whether `consumer` already handled the event (a read: it claims nothing)."""
        found = await session.scalar(
            sa.select(sa.literal(1)).where(
                self.table.c.consumer == consumer, self.table.c.event_id == str(event.event_id)
            )
        )
        return found is not None

    async def claim(self, session: AsyncSession, consumer: str, event: Event) -> bool:
        """Record the event as handled by `consumer`; False if it already was."""
        if await self.seen(session, consumer, event):
            return False
        # A concurrent duplicate fails here (primary key) and its transaction rolls back.
        await session.execute(
            sa.insert(self.table).values(
                consumer=consumer,
                event_id=str(event.event_id),
                subject=event.subject,
                processed_at=datetime.now(UTC),
            )
        )
        return True


class OutboxRelay:
    """Publishes committed outbox rows in order; wakes on `kick()` or every `poll_seconds`."""

    def __init__(
        self, db: Database, outbox: sa.Table, bus: Bus, service: str, poll_seconds: float = 0.5
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.bus = bus
        self.service = service
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                published = await self.publish_pending()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                published = 0
            if published == 0:
                self._wake.clear()
                # Not `asyncio.wait_for`: on Python 3.11 it swallows a cancel that lands as the wake-up
                # fires, and `stop()` would then wait for ever on a task that keeps polling.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_seconds):
                        await self._wake.wait()

    async def publish_pending(self, limit: int = 1000, window: int = 200) -> int:
        """Publish up to `limit` rows, oldest first.

        Publishes are pipelined `window` at a time (sent in order on one connection, acks awaited
        together). A row that fails stays queued and is retried on the next pass; consumers are
        idempotent and carry snapshots, so a retried event arriving after a later one is harmless.
        """
        t = self.outbox
        query = sa.select(t.c.id, t.c.subject, t.c.payload, t.c.headers).where(t.c.published_at.is_(None))
        query = query.order_by(t.c.id).limit(limit)
        if not is_sqlite(self.db.url):
            # Several replicas may relay; each row is taken by one of them.
            query = query.with_for_update(skip_locked=True)
        published_ids: list[int] = []
        async with self.db.transaction() as session:
            rows = (await session.execute(query)).all()
            for start in range(0, len(rows), window):
                chunk = rows[start : start + window]
                results = await asyncio.gather(
                    *(self.bus.publish_raw(r.subject, r.payload, dict(r.headers)) for r in chunk),
                    return_exceptions=True,
                )
                failed = [
                    (r, exc) for r, exc in zip(chunk, results, strict=True) if isinstance(exc, BaseException)
                ]
                published_ids.extend(
                    r.id for r, res in zip(chunk, results, strict=True) if not isinstance(res, BaseException)
                )
                for row, exc in failed:
                    log.warning("outbox publish failed for %s: %s", row.subject, exc)
                    await session.execute(
                        sa.update(t)
                        .where(t.c.id == row.id)
                        .values(attempts=t.c.attempts + 1, last_error=str(exc)[:500])
                    )
                if failed:
                    break
            for start in range(0, len(published_ids), 500):
                await session.execute(
                    sa.update(t)
                    .where(t.c.id.in_(published_ids[start : start + 500]))
                    .values(published_at=datetime.now(UTC))
                )
        if published_ids:
            EVENTS_PUBLISHED.labels(self.service).inc(len(published_ids))
        return len(published_ids)

    async def pending_count(self) -> int:
        async with self.db.session() as session:
            count = await session.scalar(
                sa.select(sa.func.count())
                .select_from(self.outbox)
                .where(self.outbox.c.published_at.is_(None))
            )
        OUTBOX_PENDING.labels(self.service).set(count or 0)
        return int(count or 0)


def event_summary(event: Event) -> dict[str, Any]:
    return {"subject": event.subject, "event_id": str(event.event_id)}
