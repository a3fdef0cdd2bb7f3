"""`/api/scheduler`: agent scoping, manual tasks, completing and canceling, the queue, bad input."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from parley_contracts import CallOutcome, LeadCreated, TaskCompleted
from servicekit.testing.leads import answer_lead_snapshots
from servicekit.testing.service import AGENT2_ID

from .conftest import START, lead_snapshot, window

pytestmark = pytest.mark.integration

TASKS = "/api/scheduler/tasks"
PROBLEM = "application/problem+json"


def book(app, lead, when="2025-06-03T10:30:00-04:00", headers=None, **extra):
    body = {"lead_id": str(lead.id), "scheduled_for": when, **extra}
    return app.client.post(TASKS, json=body, headers=headers or app.agent)


async def test_agents_see_only_their_leads_tasks(scheduler_app):
    mine = await scheduler_app.create_lead()
    theirs = await scheduler_app.create_lead(assigned_agent_id=AGENT2_ID)
    [my_task] = await scheduler_app.tasks(lead_id=str(mine.id))
    [their_task] = await scheduler_app.tasks(lead_id=str(theirs.id))
    listed = (await scheduler_app.client.get(TASKS, headers=scheduler_app.agent)).json()
    assert [t["id"] for t in listed["items"]] == [my_task["id"]] and listed["total"] == 1
    assert (
        await scheduler_app.client.get(
            TASKS, params={"agent_id": str(AGENT2_ID)}, headers=scheduler_app.agent
        )
    ).json()["total"] == 0
    admin_view = (
        await scheduler_app.client.get(
            TASKS, params={"agent_id": str(AGENT2_ID)}, headers=scheduler_app.admin
        )
    ).json()
    assert [t["id"] for t in admin_view["items"]] == [their_task["id"]]

    client, agent = scheduler_app.client, scheduler_app.agent
    for response in (
        await client.get(f"{TASKS}/{their_task['id']}", headers=agent),
        await client.post(
            f"{TASKS}/{their_task['id']}/complete", json={"outcome": "ANSWERED"}, headers=agent
        ),
        await client.delete(f"{TASKS}/{their_task['id']}", headers=agent),
        await book(scheduler_app, theirs),
    ):
        assert response.status_code == 404 and response.headers["content-type"] == PROBLEM, response.text
    assert (await client.get(f"{TASKS}/{my_task['id']}", headers=agent)).json()["lead_name"] == "Ada Lovelace"
    assert (await client.get(f"{TASKS}/{their_task['id']}", headers=scheduler_app.admin)).status_code == 200
    assert (await client.get(TASKS)).status_code == 401


async def test_a_lead_created_a_moment_ago_can_be_booked_and_planned_at_once(scheduler_app):
    """Its lead.created has not arrived: the scheduler asks leads, projects and plans the lead as the
    event would, and the owner rule still holds."""
    app = scheduler_app
    fresh, planned = lead_snapshot(name="Fresh Fern"), lead_snapshot()
    theirs = lead_snapshot(assigned_agent_id=AGENT2_ID)
    asked = await answer_lead_snapshots(app.runtime, fresh, planned, theirs)

    booked = await book(app, fresh)
    assert booked.status_code == 201, booked.text
    assert booked.json()["lead_name"] == "Fresh Fern" and asked == [fresh.id]
    # Projected now, its first call planned too: the next request does not ask again.
    plan = await app.client.get(f"/api/scheduler/leads/{fresh.id}", headers=app.agent)
    assert plan.status_code == 200 and asked == [fresh.id]
    assert sorted(t["kind"] for t in await app.tasks(lead_id=str(fresh.id))) == ["AUTO", "MANUAL"]
    # The event arriving later is the same version: nothing is planned twice.
    late = LeadCreated(lead=fresh)
    await app.publish(late)
    await app.handled(late)
    assert sorted(t["kind"] for t in await app.tasks(lead_id=str(fresh.id))) == ["AUTO", "MANUAL"]

    plan = await app.client.get(f"/api/scheduler/leads/{planned.id}", headers=app.agent)
    assert plan.status_code == 200 and plan.json()["next_task"]["kind"] == "AUTO"
    assert asked == [fresh.id, planned.id]

    # Another agent's lead is fetched once but stays a 404; an unknown one is a 404 too.
    for response in (
        await book(app, theirs),
        await app.client.get(f"/api/scheduler/leads/{theirs.id}", headers=app.agent),
        await book(app, lead_snapshot()),
        await app.client.get(f"/api/scheduler/leads/{uuid.uuid4()}", headers=app.agent),
    ):
        assert response.status_code == 404 and response.headers["content-type"] == PROBLEM, response.text
    assert asked.count(theirs.id) == 1


async def test_listing_filters_by_day_in_a_timezone_and_status(scheduler_app):
    lead = await scheduler_app.create_lead()  # first task Monday 13:00 UTC
    assert (await book(scheduler_app, lead)).status_code == 201  # Tuesday 14:30 UTC
    get = scheduler_app.client.get
    monday = await get(
        TASKS, params={"day": "2025-06-02", "tz": "America/New_York"}, headers=scheduler_app.agent
    )
    assert [t["kind"] for t in monday.json()["items"]] == ["AUTO"]
    # Tokyo's Tuesday (UTC+9) runs from Monday 15:00 UTC to Tuesday 15:00 UTC.
    tokyo = await get(TASKS, params={"day": "2025-06-03", "tz": "Asia/Tokyo"}, headers=scheduler_app.agent)
    assert [t["kind"] for t in tokyo.json()["items"]] == ["MANUAL"]
    ranged = await get(
        TASKS,
        params={
            "from": "2025-06-02T00:00:00Z",
            "to": "2025-06-05T00:00:00Z",
            "kind": "MANUAL",
            "status": "PENDING",
        },
        headers=scheduler_app.agent,
    )
    assert ranged.json()["total"] == 1
    paged = await get(TASKS, params={"page": 2, "page_size": 1}, headers=scheduler_app.agent)
    assert paged.json()["total"] == 2 and [t["kind"] for t in paged.json()["items"]] == ["MANUAL"]


async def test_bad_listing_queries_are_problems(scheduler_app):
    for params in (
        {"day": "2025-06-02", "from": "2025-06-02T00:00:00Z"},
        {"day": "2025-06-02", "tz": "Mars/Olympus"},
        {"from": "2025-06-02T00:00:00"},  # no offset
        {"from": "2025-06-03T00:00:00Z", "to": "2025-06-02T00:00:00Z"},
        {"status": "SLEEPING"},
        {"page_size": 0},
        {"lead_id": "not-a-uuid"},
        {"from": "0001-01-01T00:00:00+05:00"},  # no UTC equivalent
        {"day": "9999-12-31", "tz": "Pacific/Kiritimati"},
    ):
        response = await scheduler_app.client.get(TASKS, params=params, headers=scheduler_app.agent)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == PROBLEM


async def test_manual_task_rules(scheduler_app):
    lead = await scheduler_app.create_lead()  # windows MON/TUE 09:00-12:00 New York
    created = await book(scheduler_app, lead, note="call about the quote", mode="simulated")
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["kind"], task["status"], task["mode"], task["note"]) == (
        "MANUAL",
        "PENDING",
        "simulated",
        "call about the quote",
    )
    assert task["scheduled_for"] == "2025-06-03T14:30:00Z" and task["agent_id"] == str(lead.assigned_agent_id)

    # The agent's calendar holds that slot now.
    clash = await book(scheduler_app, lead, when="2025-06-03T10:40:00-04:00")
    assert clash.status_code == 409 and clash.headers["content-type"] == PROBLEM

    cases = [
        ("2025-06-03T10:30:00", 422, {}),  # naive
        ("2025-06-02T05:00:00-04:00", 422, {}),  # past
        ("2025-06-03T22:00:00-04:00", 422, {"nearest_allowed": "2025-06-04T00:55:00+00:00"}),  # after hours
        ("2025-06-04T10:30:00-04:00", 422, {}),  # Wednesday: outside the lead's windows
        ("2026-01-05T10:30:00-05:00", 422, {}),  # beyond 90 days
        ("0001-01-01T00:00:00+05:00", 422, {}),  # no UTC equivalent
        ("9999-12-31T23:59:00-05:00", 422, {}),
    ]
    for when, status, extra in cases:
        response = await book(scheduler_app, lead, when=when)
        assert response.status_code == status and response.headers["content-type"] == PROBLEM, (
            when,
            response.text,
        )
        for key, value in extra.items():
            assert response.json()[key] == value
    assert (await book(scheduler_app, lead, when="2025-06-04T10:30:00-04:00", force=True)).status_code == 403
    forced = await book(
        scheduler_app, lead, when="2025-06-04T10:30:00-04:00", force=True, headers=scheduler_app.admin
    )
    assert forced.status_code == 201, forced.text
    assert (
        await book(
            scheduler_app, lead, when="2025-06-04T22:30:00-04:00", force=True, headers=scheduler_app.admin
        )
    ).status_code == 422
    unknown = await scheduler_app.client.post(
        TASKS,
        json={"lead_id": str(uuid.uuid4()), "scheduled_for": "2025-06-03T10:30:00-04:00"},
        headers=scheduler_app.agent,
    )
    assert unknown.status_code == 404
    malformed = await scheduler_app.client.post(
        TASKS, content=b"{nope", headers={**scheduler_app.agent, "content-type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.headers["content-type"] == PROBLEM
    extra_field = await book(scheduler_app, lead, priority=99)
    assert extra_field.status_code == 422


async def test_completing_and_canceling_tasks(scheduler_app):
    lead = await scheduler_app.create_lead(
        preferred_time_windows=[window(["MON", "TUE", "WED"], "09:00", "12:00")]
    )
    task = (await book(scheduler_app, lead)).json()
    client, agent = scheduler_app.client, scheduler_app.agent
    bad = await client.post(
        f"{TASKS}/{task['id']}/complete",
        json={"outcome": "ANSWERED", "callback_at": "2025-06-04T10:00:00-04:00"},
        headers=agent,
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert (
        await client.post(f"{TASKS}/{task['id']}/complete", json={"outcome": "MAYBE"}, headers=agent)
    ).status_code == 422
    too_far = await client.post(
        f"{TASKS}/{task['id']}/complete",
        json={"outcome": "CALLBACK_REQUESTED", "callback_at": "3025-06-04T10:00:00-04:00"},
        headers=agent,
    )
    assert too_far.status_code == 422 and too_far.headers["content-type"] == PROBLEM

    done = await client.post(
        f"{TASKS}/{task['id']}/complete",
        json={
            "outcome": "CALLBACK_REQUESTED",
            "callback_at": "2025-06-04T10:00:00-04:00",
            "notes": "wants the family plan",
        },
        headers=agent,
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["task"]["status"], body["task"]["outcome"], body["decision"]) == (
        "DONE",
        "CALLBACK_REQUESTED",
        "CALLBACK",
    )
    assert (
        body["next_task"]["kind"] == "CALLBACK"
        and body["next_task"]["scheduled_for"] == "2025-06-04T14:00:00Z"
    )
    # The callback replaced the automatic attempt; completing twice is a conflict.
    kinds = {t["kind"]: t["status"] for t in await scheduler_app.tasks(lead_id=str(lead.id))}
    assert kinds == {"AUTO": "CANCELED", "MANUAL": "DONE", "CALLBACK": "PENDING"}
    again = await client.post(f"{TASKS}/{task['id']}/complete", json={"outcome": "ANSWERED"}, headers=agent)
    assert again.status_code == 409 and again.json()["task_status"] == "DONE"
    completed = [e for e in await scheduler_app.events(TaskCompleted) if str(e.task_id) == task["id"]]
    assert [e.outcome for e in completed] == [CallOutcome.CALLBACK_REQUESTED]

    callback_id = body["next_task"]["id"]
    assert (await client.delete(f"{TASKS}/{callback_id}", headers=agent)).status_code == 204
    assert (await client.delete(f"{TASKS}/{callback_id}", headers=agent)).status_code == 409

    # NOT_INTERESTED on an agent's own call stops automatic dialing for good.
    other = await scheduler_app.create_lead()
    [auto] = await scheduler_app.tasks(lead_id=str(other.id))
    stop = await client.post(
        f"{TASKS}/{auto['id']}/complete", json={"outcome": "NOT_INTERESTED"}, headers=agent
    )
    assert stop.json()["decision"] == "STOP" and stop.json()["stop_reason"] == "NOT_INTERESTED"
    assert stop.json()["next_task"] is None


async def test_todays_queue_puts_due_tasks_first(scheduler_app):
    late_lead = await scheduler_app.create_lead(preferred_time_windows=[window(["MON"], "14:00", "16:00")])
    early_lead = await scheduler_app.create_lead()
    other_agent = await scheduler_app.create_lead(assigned_agent_id=AGENT2_ID)
    booked = (
        await book(
            scheduler_app,
            late_lead,
            when="2025-06-02T11:30:00-04:00",
            force=True,
            headers=scheduler_app.admin,
        )
    ).json()
    scheduler_app.clock.set(START + timedelta(hours=3, minutes=1))  # 09:01 New York: the early lead is due
    await scheduler_app.dispatcher.run_once()
    queue = await scheduler_app.client.get(
        "/api/scheduler/queue", params={"tz": "America/New_York"}, headers=scheduler_app.agent
    )
    assert queue.status_code == 200, queue.text
    body = queue.json()
    assert body["day"] == "2025-06-02" and body["timezone"] == "America/New_York"
    order = [(item["lead_id"], item["kind"], item["due"]) for item in body["items"]]
    assert order == [
        (str(early_lead.id), "AUTO", True),
        (str(late_lead.id), "MANUAL", False),
        (str(late_lead.id), "AUTO", False),
    ]
    assert body["items"][1]["id"] == booked["id"] and body["items"][0]["local_time"].endswith("-04:00")
    assert str(other_agent.id) not in {item["lead_id"] for item in body["items"]}
    forbidden = await scheduler_app.client.get(
        "/api/scheduler/queue", params={"agent_id": str(AGENT2_ID)}, headers=scheduler_app.agent
    )
    assert forbidden.status_code == 403
    theirs = await scheduler_app.client.get(
        "/api/scheduler/queue", params={"agent_id": str(AGENT2_ID)}, headers=scheduler_app.admin
    )
    assert [item["lead_id"] for item in theirs.json()["items"]] == [str(other_agent.id)]
    bad_zone = await scheduler_app.client.get(
        "/api/scheduler/queue", params={"tz": "Nowhere/Land"}, headers=scheduler_app.agent
    )
    assert bad_zone.status_code == 422 and bad_zone.headers["content-type"] == PROBLEM
