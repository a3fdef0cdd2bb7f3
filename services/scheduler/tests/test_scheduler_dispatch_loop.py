"""The dispatch loop on real NATS and the test database: exactly-once with two replicas, the
concurrency limits, the circuit breaker, reminders."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from parley_contracts import CallEnded, CallRequested, CallStatusChanged, LeadCreated, TaskReminder
from scheduler.dispatcher import PassReport
from scheduler.domain import BreakerState
from servicekit.bus import wait_for
from servicekit.testing.service import AGENT2_ID, AGENT_ID

from .conftest import NO_LIMITS, START, lead_snapshot, scheduler_instance, window

pytestmark = pytest.mark.integration

# Monday 13:00 UTC is 09:00 in New York: every default test lead's first slot.
FIRST_SLOT = START + timedelta(hours=3)


async def due_leads(app, count: int, **fields) -> list[uuid.UUID]:
    """`count` leads whose first task falls at FIRST_SLOT (planned while the clock is earlier)."""
    leads = [lead_snapshot(phone=f"+1415555{i:04d}", **fields) for i in range(count)]
    events = [LeadCreated(lead=lead) for lead in leads]
    await app.publish(*events)
    await app.handled(*events)
    return [lead.id for lead in leads]


async def test_two_replicas_dispatch_every_task_exactly_once(
    make_database, nats_url, bus_namespace, jwt_keys, clock
):
    database = await make_database("scheduler")
    async with (
        scheduler_instance(database, nats_url, bus_namespace, jwt_keys, clock, **NO_LIMITS) as one,
        scheduler_instance(database, nats_url, bus_namespace, jwt_keys, clock, **NO_LIMITS) as two,
    ):
        lead_ids = await due_leads(one, 40)
        assert len(await one.tasks(status="PENDING")) == 40
        # Both claim the same due tasks at once, round after round (the lease is bypassed on purpose).
        clock.set(FIRST_SLOT)
        reports = [PassReport(), PassReport()]
        for _ in range(5):
            await asyncio.gather(
                one.dispatcher.dispatch_due(clock.now(), reports[0]),
                two.dispatcher.dispatch_due(clock.now(), reports[1]),
            )
        # ...and the loops keep running on both replicas for whatever is left.
        await one.wait_tasks(lambda ts: all(t["status"] == "DISPATCHED" for t in ts) and len(ts) == 40)
        requested = [e for e in await one.events(CallRequested)]
        per_task = Counter(e.task_id for e in requested)
        assert len(per_task) == 40 and set(per_task.values()) == {1}
        assert {e.lead_id for e in requested} == set(lead_ids)
        leaders = [one.dispatcher.leader, two.dispatcher.leader]
        assert sorted(leaders) == [False, True]
        assert sum(r.dispatched for r in reports) <= 40


async def test_the_standby_takes_over_when_the_leader_stops(
    make_database, nats_url, bus_namespace, jwt_keys, clock
):
    database = await make_database("scheduler")
    async with scheduler_instance(database, nats_url, bus_namespace, jwt_keys, clock) as standby:
        async with scheduler_instance(database, nats_url, bus_namespace, jwt_keys, clock) as first:
            await due_leads(first, 3)
            assert await wait_for(lambda: _leader(first, standby), timeout=5)
        # The stopped leader handed the lease back: the standby dials without waiting it out.
        assert await wait_for(lambda: _is_leader(standby), timeout=5)
        clock.set(FIRST_SLOT)
        await standby.wait_tasks(lambda ts: [t["status"] for t in ts] == ["DISPATCHED"] * 3)


async def _leader(*apps) -> bool:
    return any(app.dispatcher.leader for app in apps)


async def _is_leader(app) -> bool:
    return app.dispatcher.leader


async def test_global_and_per_agent_concurrency_limits_hold(
    make_database, nats_url, bus_namespace, jwt_keys, clock
):
    async with scheduler_instance(
        await make_database("scheduler"),
        nats_url,
        bus_namespace,
        jwt_keys,
        clock,
        max_concurrent_calls=4,
        max_concurrent_calls_per_agent=2,
    ) as app:
        third_agent = uuid.uuid4()
        await due_leads(app, 4, assigned_agent_id=AGENT_ID)
        await due_leads(app, 1, assigned_agent_id=AGENT2_ID)
        await due_leads(app, 3, assigned_agent_id=third_agent)
        agents = (AGENT_ID, AGENT2_ID, third_agent)
        clock.set(FIRST_SLOT)

        def on_the_line(tasks, freed=()):
            counts = Counter(
                t["agent_id"] for t in tasks if t["status"] == "DISPATCHED" and t["id"] not in freed
            )
            return [counts[str(agent)] for agent in agents]

        # Five could go (2 + 1 + 2 within the per-agent limit), but there are four lines.
        await app.wait_tasks(lambda ts: sum(on_the_line(ts)) == 4)
        for _ in range(3):
            await app.dispatcher.run_once()
        tasks = await app.tasks()
        # Agents 1 and 3 have more due leads than lines: without the per-agent limit one could take all four.
        assert sum(on_the_line(tasks)) == 4 and max(on_the_line(tasks)) == 2

        # One of agent 1's calls hangs up: its line goes to the next due task, never over a limit.
        call = next(t for t in tasks if t["status"] == "DISPATCHED" and t["agent_id"] == str(AGENT_ID))
        await app.publish(
            CallStatusChanged(
                call_id=uuid.uuid4(),
                lead_id=uuid.UUID(call["lead_id"]),
                task_id=uuid.UUID(call["id"]),
                status="completed",
            )
        )
        await app.wait_tasks(lambda ts: sum(t["status"] == "DISPATCHED" for t in ts) == 5)
        for _ in range(3):
            await app.dispatcher.run_once()
        tasks = await app.tasks()
        line = on_the_line(tasks, freed={call["id"]})
        assert sum(line) == 4 and max(line) == 2
        assert len(await app.events(CallRequested)) == 5


async def test_the_circuit_breaker_pauses_dialing_after_failures(
    make_database, nats_url, bus_namespace, jwt_keys, clock
):
    async with scheduler_instance(
        await make_database("scheduler"),
        nats_url,
        bus_namespace,
        jwt_keys,
        clock,
        breaker_min_calls=2,
        breaker_failure_ratio=0.5,
        breaker_cooldown_seconds=600,
        max_concurrent_calls_per_agent=10,
    ) as app:
        await due_leads(app, 2)
        clock.set(FIRST_SLOT)
        tasks = await app.wait_tasks(lambda ts: [t["status"] for t in ts] == ["DISPATCHED"] * 2)
        # Later leads, due in five minutes, while both calls fail on the carrier's side.
        await due_leads(app, 3, preferred_time_windows=[window(["MON"], "09:05", "12:00")])
        failures = [
            CallEnded(
                call_id=uuid.uuid4(),
                lead_id=uuid.UUID(t["lead_id"]),
                task_id=uuid.UUID(t["id"]),
                mode="phone",
                outcome="FAILED",
            )
            for t in tasks
        ]
        await app.publish(*failures)
        await app.handled(*failures)
        report = await app.dispatcher.run_once()
        assert report.breaker is BreakerState.OPEN
        clock.advance(minutes=5)
        for _ in range(3):
            assert (await app.dispatcher.run_once()).dispatched == 0
        assert len(await app.events(CallRequested)) == 2
        # After the cooldown one probe call goes out, and only one until it reports back.
        clock.advance(minutes=6)
        await app.wait_tasks(lambda ts: sum(t["status"] == "DISPATCHED" for t in ts) == 1)
        for _ in range(3):
            await app.dispatcher.run_once()
        assert len(await app.events(CallRequested)) == 3


async def test_reminders_go_once_before_manual_tasks(scheduler_app):
    lead = await scheduler_app.create_lead()
    booked = await scheduler_app.client.post(
        "/api/scheduler/tasks",
        json={
            "lead_id": str(lead.id),
            "scheduled_for": "2025-06-02T11:00:00-04:00",
            "note": "quote follow-up",
        },
        headers=scheduler_app.agent,
    )
    assert booked.status_code == 201, booked.text
    scheduler_app.clock.set(START + timedelta(hours=4, minutes=44))  # 16 minutes before: not yet
    await scheduler_app.dispatcher.run_once()
    assert await scheduler_app.events(TaskReminder) == []
    scheduler_app.clock.advance(minutes=2)
    for _ in range(3):
        await scheduler_app.dispatcher.run_once()
    [reminder] = await scheduler_app.events(TaskReminder)
    assert str(reminder.task_id) == booked.json()["id"] and reminder.assigned_agent_id == AGENT_ID
    assert reminder.due_at.isoformat() == "2025-06-02T15:00:00+00:00"
