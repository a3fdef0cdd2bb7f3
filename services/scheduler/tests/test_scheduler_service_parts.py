"""The database calendar (CalendarPort), settings validation, and never dialing late."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from parley_contracts import CallRequested, LeadCreated
from pydantic import ValidationError
from scheduler.adapters import DatabaseCalendar
from scheduler.adapters.tables import metadata
from scheduler.dispatcher import PassReport
from scheduler.domain import CalendarConflictError, CalendarEvent, CalendarPort, Interval, event_id_for_task
from scheduler.settings import SchedulerSettings
from servicekit.db import Database

from .conftest import NO_LIMITS, START, lead_snapshot, scheduler_instance

pytestmark = pytest.mark.integration


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, 2, hour, minute, tzinfo=UTC)


async def test_database_calendar_books_checks_and_cancels(make_database):
    db = Database(await make_database("calendar"))
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        event = CalendarEvent(
            event_id_for_task(uuid4()), "agent-1", Interval(at(9), at(9, 15)), "Call Ada", lead_id=uuid4()
        )
        async with db.transaction() as session:
            calendar: CalendarPort = DatabaseCalendar(session)
            assert await calendar.create_event(event) == event
            assert await calendar.create_event(event) == event  # idempotent
            with pytest.raises(CalendarConflictError):
                await calendar.create_event(
                    CalendarEvent(event.event_id, "agent-1", Interval(at(10), at(10, 15)), "Other")
                )
        async with db.transaction() as session:
            calendar = DatabaseCalendar(session)
            assert await calendar.free_busy("agent-1", Interval(at(9, 10), at(12))) == [
                Interval(at(9, 10), at(9, 15))
            ]
            assert await calendar.free_busy("agent-2", Interval(at(9), at(12))) == []
            assert await calendar.cancel_event("agent-1", event.event_id) is True
            assert await calendar.cancel_event("agent-1", event.event_id) is False
            assert await calendar.free_busy("agent-1", Interval(at(9), at(12))) == []
    finally:
        await db.dispose()


def test_settings_refuse_bad_calling_hours_and_demo_calls_in_prod():
    with pytest.raises(ValidationError, match="calling hours"):
        SchedulerSettings(calling_hours_start="21:00", calling_hours_end="08:00")
    with pytest.raises(ValidationError, match="DEMO_SIMULATED_CALLS"):
        SchedulerSettings(
            PARLEY_PROFILE="prod", database_url="postgresql+psycopg://db/scheduler", demo_simulated_calls=True
        )
    assert SchedulerSettings(PARLEY_PROFILE="dev").simulated_automatic_calls is True
    assert SchedulerSettings(PARLEY_PROFILE="test").simulated_automatic_calls is False
    assert (
        SchedulerSettings(PARLEY_PROFILE="dev", demo_simulated_calls=False).simulated_automatic_calls is False
    )


async def test_a_task_whose_slot_passed_is_replanned_not_dialed_late(scheduler_app):
    lead = await scheduler_app.create_lead()  # Monday 13:00 UTC slot
    # The dispatcher was down all morning: 13:00 New York, the 09:00-12:00 window is over.
    scheduler_app.clock.set(START + timedelta(hours=7))
    report = await scheduler_app.dispatcher.run_once()
    assert report.dispatched == 0
    [task] = await scheduler_app.wait_tasks(
        lambda ts: ts[0]["scheduled_for"] == "2025-06-03T13:00:00Z", lead_id=str(lead.id)
    )
    assert task["status"] == "PENDING" and "slot passed" in task["reason"]
    assert await scheduler_app.events(CallRequested) == []


async def test_claims_on_mariadb_are_exactly_once(
    make_mysql_database, nats_url, bus_namespace, jwt_keys, clock
):
    """The MySQL/MariaDB profile: migrations, and FOR UPDATE SKIP LOCKED claims from two replicas."""
    database = await make_mysql_database("scheduler")
    async with (
        scheduler_instance(database, nats_url, bus_namespace, jwt_keys, clock, **NO_LIMITS) as one,
        scheduler_instance(database, nats_url, bus_namespace, jwt_keys, clock, **NO_LIMITS) as two,
    ):
        events = [LeadCreated(lead=lead_snapshot(phone=f"+1415556{i:04d}")) for i in range(20)]
        await one.publish(*events)
        await one.handled(*events)
        clock.set(START + timedelta(hours=3))
        for _ in range(4):
            await asyncio.gather(
                one.dispatcher.dispatch_due(clock.now(), PassReport()),
                two.dispatcher.dispatch_due(clock.now(), PassReport()),
            )
        await one.wait_tasks(lambda ts: len(ts) == 20 and all(t["status"] == "DISPATCHED" for t in ts))
        per_task = Counter(e.task_id for e in await one.events(CallRequested))
        assert len(per_task) == 20 and set(per_task.values()) == {1}
