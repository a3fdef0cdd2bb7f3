from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from parley_contracts import (
    Event,
    LeadCreated,
    LeadSnapshot,
    LeadUpdated,
    TimeWindow,
)
from scheduler.dispatcher import Dispatcher
from scheduler.main import DISPATCHER, make_definition
from scheduler.settings import SchedulerSettings
from servicekit.app import create_app
from servicekit.bus import wait_for
from servicekit.runtime import ServiceRuntime
from servicekit.testing.keys import KeyPair
from servicekit.testing.plugin import running
from servicekit.testing.service import AGENT_ID, ServiceUnderTest

# Monday 2 June 2025, 10:00 UTC: 06:00 in New York (EDT), 15:30 in Kolkata, 12:00 in Paris.
START = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)

E = TypeVar("E", bound=Event)

# Settings under which only correctness limits who dials: for the exactly-once tests.
NO_LIMITS: dict[str, Any] = {"max_concurrent_calls": 1000, "max_concurrent_calls_per_agent": 1000}


class FakeClock:
    """Wall and monotonic time that only move when a test says so."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._monotonic = 1_000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, **delta: float) -> None:
        step = timedelta(**delta)
        self._now += step
        self._monotonic += step.total_seconds()

    def set(self, at: datetime) -> None:
        self.advance(seconds=(at - self._now).total_seconds())


def window(days: list[str], start: str, end: str) -> TimeWindow:
    return TimeWindow.model_validate({"days": days, "start": start, "end": end})


def lead_snapshot(**overrides: Any) -> LeadSnapshot:
    stamp = datetime.now(UTC)
    data: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": "Ada Lovelace",
        "phone": "+14155550123",
        "timezone": "America/New_York",
        "preferred_time_windows": [window(["MON", "TUE"], "09:00", "12:00")],
        "assigned_agent_id": AGENT_ID,
        "created_at": stamp,
        "updated_at": stamp,
    }
    data.update(overrides)
    return LeadSnapshot.model_validate(data)


def updated(lead: LeadSnapshot, **changes: Any) -> LeadSnapshot:
    """The next version of a lead, as leads would publish it."""
    return LeadSnapshot.model_validate(
        {**lead.model_dump(), **changes, "updated_at": datetime.now(UTC) + timedelta(microseconds=1)}
    )


@dataclass
class SchedulerApp(ServiceUnderTest):
    clock: FakeClock

    @property
    def dispatcher(self) -> Dispatcher:
        dispatcher: Dispatcher = self.runtime.extras[DISPATCHER]
        return dispatcher

    async def tasks(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/api/scheduler/tasks", params={"page_size": 200, **params}, headers=self.admin
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def wait_tasks(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 15, **params: Any
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []

        async def check() -> bool:
            nonlocal found
            found = await self.tasks(**params)
            return predicate(found)

        assert await wait_for(check, timeout=timeout), f"tasks never matched: {found}"
        return found

    async def create_lead(self, **overrides: Any) -> LeadSnapshot:
        """Publish lead.created and wait until the scheduler has projected (and planned) it."""
        lead = lead_snapshot(**overrides)
        await self.publish(LeadCreated(lead=lead))
        assert await wait_for(lambda: self.projected(lead), timeout=15)
        return lead

    async def update_lead(self, lead: LeadSnapshot, **changes: Any) -> LeadSnapshot:
        newer = updated(lead, **changes)
        await self.publish(LeadUpdated(lead=newer, changed=sorted(changes)))
        assert await wait_for(lambda: self.projected(newer), timeout=15)
        return newer

    async def handled(self, *events: Event) -> None:
        """Wait until the scheduler's consumers have processed these events (their inbox rows)."""
        from scheduler.adapters.tables import inbox

        ids = {str(event.event_id) for event in events}

        async def done() -> bool:
            async with self.runtime.db.session() as session:
                seen = await session.scalars(sa.select(inbox.c.event_id).where(inbox.c.event_id.in_(ids)))
                return set(seen) == ids

        assert await wait_for(done, timeout=15)

    async def projected(self, lead: LeadSnapshot) -> bool:
        from scheduler.adapters import repository as repo

        async with self.runtime.db.session() as session:
            record = await repo.get_lead(session, lead.id)
        return record is not None and record.updated_at == lead.updated_at

    async def events(self, event_type: type[E]) -> list[E]:
        """Every event of this type in the namespace's stream, oldest first (outbox flushed first)."""
        await self.flushed()
        return await stream_events(self.runtime, event_type)

    async def flushed(self) -> None:
        async def empty() -> bool:
            return await self.runtime.relay.pending_count() == 0

        assert await wait_for(empty, timeout=15)


async def stream_events(runtime: ServiceRuntime, event_type: type[E]) -> list[E]:
    bus = runtime.bus
    stream = bus.stream_name(event_type.subject)
    subject = bus.subject(event_type.subject)
    info = await bus.js.stream_info(stream)
    found: list[E] = []
    if not info.state.messages:
        return found
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await bus.js.get_msg(stream, seq)
        if message.subject == subject and message.data is not None:
            found.append(event_type.model_validate_json(message.data))
    return found


def scheduler_settings(database_url: str, nats_url: str, namespace: str, keys: KeyPair, **overrides: Any):
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "bus_namespace": namespace,
        "jwt_public_key": keys.public_pem,
        "auto_migrate": True,
        "outbox_poll_seconds": 0.05,
        "bus_backoff_seconds": [0.05],
        "log_json": True,
        "dispatch_interval_seconds": 0.05,
        "dials_per_second": 1000,
        "demo_simulated_calls": False,
    }
    values.update(overrides)
    return SchedulerSettings(**values)


@asynccontextmanager
async def scheduler_instance(
    database_url: str, nats_url: str, namespace: str, keys: KeyPair, clock: FakeClock, **overrides: Any
) -> AsyncIterator[SchedulerApp]:
    settings = scheduler_settings(database_url, nats_url, namespace, keys, **overrides)
    app = create_app(make_definition(clock), settings)
    async with running(app) as client:
        yield SchedulerApp(client, app.state.runtime, keys, clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def scheduler_app(
    make_database, nats_url, bus_namespace, jwt_keys, clock
) -> AsyncIterator[SchedulerApp]:
    async with scheduler_instance(
        await make_database("scheduler"), nats_url, bus_namespace, jwt_keys, clock
    ) as app:
        yield app
