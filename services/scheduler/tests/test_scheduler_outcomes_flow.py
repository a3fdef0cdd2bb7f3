"""Call outcomes over the bus: retries in the next window, callbacks, do-not-call, missed calls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from parley_contracts import (
    CallEnded,
    CallOutcome,
    CallRequested,
    CallStarted,
    CallStatusChanged,
    FollowupRequested,
    SetLeadConsent,
    TaskCompleted,
)

from .conftest import window

pytestmark = pytest.mark.integration


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def dial_first_task(app, **lead_fields):
    """A lead whose first task is due: wait for the dispatcher's call.requested."""
    lead = await app.create_lead(**lead_fields)
    [task] = await app.tasks(lead_id=str(lead.id))
    app.clock.set(at(task["scheduled_for"]))
    await app.wait_tasks(lambda ts: ts[0]["status"] == "DISPATCHED", lead_id=str(lead.id))
    requested = [e for e in await app.events(CallRequested) if e.lead_id == lead.id]
    assert [(str(e.task_id), e.attempt, e.mode) for e in requested] == [(task["id"], 1, "phone")]
    return lead, task


async def test_no_answer_retries_in_the_next_window_with_backoff(scheduler_app):
    # NY window 09:00-10:00 on weekdays; the first call is Monday 13:00 UTC.
    lead, task = await dial_first_task(
        scheduler_app, preferred_time_windows=[window(["MON", "TUE", "WED", "THU", "FRI"], "09:00", "10:00")]
    )
    call_id = uuid.uuid4()
    await scheduler_app.publish(
        CallEnded(
            call_id=call_id, lead_id=lead.id, task_id=uuid.UUID(task["id"]), mode="phone", outcome="NO_ANSWER"
        )
    )
    tasks = await scheduler_app.wait_tasks(lambda ts: len(ts) == 2, lead_id=str(lead.id))
    done, retry = tasks
    assert (done["status"], done["outcome"]) == ("DONE", "NO_ANSWER")
    # NO_ANSWER waits 2 h: today's window has closed by then, so Tuesday 09:00 New York.
    assert (retry["kind"], retry["status"], retry["attempt"]) == ("RETRY", "PENDING", 2)
    assert retry["scheduled_for"] == "2025-06-03T13:00:00Z"
    [completed] = await scheduler_app.events(TaskCompleted)
    assert completed.outcome is CallOutcome.NO_ANSWER and completed.next_attempt_at == at("2025-06-03T13:00Z")

    # The same call reported twice (status, then end) counts once.
    await scheduler_app.publish(
        CallStatusChanged(call_id=call_id, lead_id=lead.id, task_id=uuid.UUID(task["id"]), status="no-answer")
    )
    await scheduler_app.flushed()
    second = CallEnded(
        call_id=call_id, lead_id=lead.id, task_id=uuid.UUID(task["id"]), mode="phone", outcome="NO_ANSWER"
    )
    await scheduler_app.publish(second)
    await scheduler_app.handled(second)
    assert len(await scheduler_app.tasks(lead_id=str(lead.id))) == 2


async def test_callback_requested_then_the_bots_followup_time(scheduler_app):
    lead, task = await dial_first_task(scheduler_app)
    call_id = uuid.uuid4()
    ended = CallEnded(
        call_id=call_id,
        lead_id=lead.id,
        task_id=uuid.UUID(task["id"]),
        mode="phone",
        outcome="CALLBACK_REQUESTED",
    )
    # The bot agreed Wednesday 19:30 New York (23:30 UTC); the outcome alone names no time.
    followup = FollowupRequested(
        lead_id=lead.id, call_id=call_id, at=at("2025-06-04T19:30:00-04:00"), reason="after dinner"
    )
    await scheduler_app.publish(ended, followup)
    await scheduler_app.handled(ended, followup)
    tasks = await scheduler_app.tasks(lead_id=str(lead.id))
    callbacks = [t for t in tasks if t["kind"] == "CALLBACK" and t["status"] == "PENDING"]
    assert [(c["scheduled_for"], c["note"]) for c in callbacks] == [("2025-06-04T23:30:00Z", "after dinner")]
    assert [t for t in tasks if t["kind"] in ("AUTO", "RETRY") and t["status"] == "PENDING"] == []

    # A time outside calling hours (22:30 New York) goes to the nearest legal start (20:55).
    late = FollowupRequested(lead_id=lead.id, at=at("2025-06-05T22:30:00-04:00"))
    await scheduler_app.publish(late)
    await scheduler_app.handled(late)
    # (If call.ended was handled before the follow-up, its own next-best-time callback was replaced too.)
    callbacks = {
        t["scheduled_for"]: t["status"]
        for t in await scheduler_app.tasks(lead_id=str(lead.id))
        if t["kind"] == "CALLBACK"
    }
    assert callbacks.pop("2025-06-06T00:55:00Z") == "PENDING"
    assert callbacks.pop("2025-06-04T23:30:00Z") == "CANCELED"
    assert set(callbacks.values()) <= {"CANCELED"}


async def test_do_not_call_sets_dnd_and_cancels_everything(scheduler_app):
    lead, task = await dial_first_task(scheduler_app)
    booked = await scheduler_app.client.post(
        "/api/scheduler/tasks",
        json={"lead_id": str(lead.id), "scheduled_for": "2025-06-03T10:30:00-04:00"},
        headers=scheduler_app.agent,
    )
    assert booked.status_code == 201, booked.text
    ended = CallEnded(
        call_id=uuid.uuid4(),
        lead_id=lead.id,
        task_id=uuid.UUID(task["id"]),
        mode="phone",
        outcome="DO_NOT_CALL",
    )
    await scheduler_app.publish(ended)
    await scheduler_app.handled(ended)
    statuses = {t["kind"]: t["status"] for t in await scheduler_app.tasks(lead_id=str(lead.id))}
    assert statuses == {"AUTO": "DONE", "MANUAL": "CANCELED"}
    [command] = await scheduler_app.events(SetLeadConsent)
    assert command.lead_id == lead.id and command.dnd is True and command.source == "scheduler"
    # Until leads answers with DND, nothing new can be booked or planned.
    again = await scheduler_app.client.post(
        "/api/scheduler/tasks",
        json={"lead_id": str(lead.id), "scheduled_for": "2025-06-03T10:30:00-04:00"},
        headers=scheduler_app.agent,
    )
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"


async def test_silent_call_is_missed_and_retried_and_progress_extends_it(scheduler_app):
    lead, task = await dial_first_task(scheduler_app)
    # call.started keeps a call alive past the start timeout (120 s in the defaults).
    started = CallStarted(call_id=uuid.uuid4(), lead_id=lead.id, task_id=uuid.UUID(task["id"]), mode="phone")
    await scheduler_app.publish(started)
    await scheduler_app.handled(started)
    scheduler_app.clock.advance(seconds=300)
    report = await scheduler_app.dispatcher.run_once()
    assert report.missed == 0
    # An hour later nothing reported the end: MISSED, and retried like a failed dial (10 min later).
    scheduler_app.clock.advance(seconds=3600)
    tasks = await scheduler_app.wait_tasks(lambda ts: len(ts) == 2, lead_id=str(lead.id))
    missed, retry = tasks
    assert (missed["status"], missed["outcome"]) == ("MISSED", "FAILED")
    assert "no call report" in missed["reason"]
    assert (retry["kind"], retry["attempt"]) == ("RETRY", 2)

    # The call did happen after all and reports late: the lead was reached, so the retry goes.
    late = CallEnded(
        call_id=started.call_id,
        lead_id=lead.id,
        task_id=uuid.UUID(task["id"]),
        mode="phone",
        outcome="ANSWERED",
    )
    await scheduler_app.publish(late)
    await scheduler_app.handled(late)
    statuses = {t["id"]: t["status"] for t in await scheduler_app.tasks(lead_id=str(lead.id))}
    assert statuses == {task["id"]: "MISSED", retry["id"]: "CANCELED"}
    outcomes = [e.outcome for e in await scheduler_app.events(TaskCompleted) if str(e.task_id) == task["id"]]
    assert outcomes == [CallOutcome.FAILED, CallOutcome.ANSWERED]
