"""Lead events plan call tasks at the right UTC times; windows, timezone and consent changes re-plan."""

from __future__ import annotations

import uuid

import pytest
from parley_contracts import (
    LeadConsentChanged,
    LeadCreated,
    LeadDeleted,
    TaskCanceled,
    TaskScheduled,
)
from servicekit.testing.service import AGENT2_ID

from .conftest import updated, window

pytestmark = pytest.mark.integration


def pending(tasks):
    return [t for t in tasks if t["status"] == "PENDING"]


async def test_a_new_lead_gets_a_task_at_its_next_window_in_utc(scheduler_app):
    # Monday 10:00 UTC. New York is on EDT (UTC-4): MON 09:00 local is 13:00 UTC today.
    new_york = await scheduler_app.create_lead()
    # Kolkata is UTC+05:30 with no DST: SAT 10:00 local is Saturday 04:30 UTC.
    kolkata = await scheduler_app.create_lead(
        timezone="Asia/Kolkata", preferred_time_windows=[window(["SAT"], "10:00", "13:00")]
    )
    # Paris in summer is UTC+2: a window ending past calling hours is clipped (20:00-21:00 local).
    paris = await scheduler_app.create_lead(
        timezone="Europe/Paris", preferred_time_windows=[window(["WED"], "20:00", "23:30")]
    )
    ny_tasks = await scheduler_app.tasks(lead_id=str(new_york.id))
    assert [
        (t["kind"], t["status"], t["scheduled_for"], t["window_end"], t["attempt"]) for t in ny_tasks
    ] == [("AUTO", "PENDING", "2025-06-02T13:00:00Z", "2025-06-02T13:15:00Z", 1)]
    assert ny_tasks[0]["agent_id"] == str(new_york.assigned_agent_id) and ny_tasks[0]["mode"] == "phone"
    assert [t["scheduled_for"] for t in await scheduler_app.tasks(lead_id=str(kolkata.id))] == [
        "2025-06-07T04:30:00Z"
    ]
    assert [t["scheduled_for"] for t in await scheduler_app.tasks(lead_id=str(paris.id))] == [
        "2025-06-04T18:00:00Z"
    ]
    scheduled = await scheduler_app.events(TaskScheduled)
    assert {e.lead_id for e in scheduled} == {new_york.id, kolkata.id, paris.id}


async def test_no_task_for_dnd_leads_or_windows_outside_calling_hours(scheduler_app):
    dnd = await scheduler_app.create_lead(consent_flags={"dnd": True})
    night_owl = await scheduler_app.create_lead(preferred_time_windows=[window(["MON"], "22:00", "23:00")])
    assert await scheduler_app.tasks(lead_id=str(dnd.id)) == []
    assert await scheduler_app.tasks(lead_id=str(night_owl.id)) == []
    # Consent given again: the lead is planned after all.
    await scheduler_app.update_lead(dnd, consent_flags={"dnd": False})
    assert len(pending(await scheduler_app.tasks(lead_id=str(dnd.id)))) == 1


async def test_dnd_cancels_pending_tasks_and_clearing_it_resumes(scheduler_app):
    lead = await scheduler_app.create_lead()
    [task] = await scheduler_app.tasks(lead_id=str(lead.id))
    lead = await scheduler_app.update_lead(lead, consent_flags={"dnd": True})
    [canceled] = await scheduler_app.tasks(lead_id=str(lead.id))
    assert canceled["id"] == task["id"] and canceled["status"] == "CANCELED"
    assert "do-not-call" in canceled["reason"]
    assert [e.task_id for e in await scheduler_app.events(TaskCanceled)] == [uuid.UUID(task["id"])]

    await scheduler_app.update_lead(lead, consent_flags={"dnd": False})
    tasks = await scheduler_app.tasks(lead_id=str(lead.id))
    assert len(pending(tasks)) == 1 and pending(tasks)[0]["id"] != task["id"]


async def test_consent_changed_event_cancels_at_once(scheduler_app):
    lead = await scheduler_app.create_lead()
    await scheduler_app.publish(
        LeadConsentChanged(lead_id=lead.id, consent_flags={"dnd": True}, previous={"dnd": False})
    )
    await scheduler_app.wait_tasks(lambda ts: [t["status"] for t in ts] == ["CANCELED"], lead_id=str(lead.id))


async def test_window_and_timezone_changes_move_the_pending_task(scheduler_app):
    lead = await scheduler_app.create_lead()
    [first] = await scheduler_app.tasks(lead_id=str(lead.id))
    lead = await scheduler_app.update_lead(lead, preferred_time_windows=[window(["TUE"], "14:00", "16:00")])
    [moved] = await scheduler_app.tasks(lead_id=str(lead.id))
    assert moved["id"] == first["id"] and moved["scheduled_for"] == "2025-06-03T18:00:00Z"
    lead = await scheduler_app.update_lead(lead, timezone="Europe/Paris")
    [moved] = await scheduler_app.tasks(lead_id=str(lead.id))
    assert moved["scheduled_for"] == "2025-06-03T12:00:00Z"
    rescheduled = [e for e in await scheduler_app.events(TaskScheduled) if e.rescheduled]
    assert [e.scheduled_for.isoformat() for e in rescheduled] == [
        "2025-06-03T18:00:00+00:00",
        "2025-06-03T12:00:00+00:00",
    ]
    # Reassignment follows the lead; an older snapshot arriving late changes nothing.
    stale = LeadCreated(lead=lead.model_copy(update={"timezone": "Asia/Tokyo"}))
    lead = await scheduler_app.update_lead(lead, assigned_agent_id=AGENT2_ID)
    await scheduler_app.publish(stale)
    await scheduler_app.handled(stale)
    [task] = await scheduler_app.tasks(lead_id=str(lead.id))
    assert task["agent_id"] == str(AGENT2_ID) and task["scheduled_for"] == "2025-06-03T12:00:00Z"


async def test_deleted_lead_tasks_are_canceled_and_stay_so(scheduler_app):
    lead = await scheduler_app.create_lead()
    await scheduler_app.publish(LeadDeleted(lead_id=lead.id, assigned_agent_id=lead.assigned_agent_id))
    await scheduler_app.wait_tasks(lambda ts: [t["status"] for t in ts] == ["CANCELED"], lead_id=str(lead.id))
    late = LeadCreated(lead=updated(lead, name="Ada L."))
    await scheduler_app.publish(late)
    await scheduler_app.handled(late)
    assert [t["status"] for t in await scheduler_app.tasks(lead_id=str(lead.id))] == ["CANCELED"]


async def test_a_lead_the_planner_refuses_is_kept_but_never_planned(scheduler_app):
    # The contract allows start == end; the planner refuses it as ambiguous. No retry storm, no 500.
    odd = await scheduler_app.create_lead(preferred_time_windows=[window(["MON"], "09:00", "09:00")])
    assert await scheduler_app.tasks(lead_id=str(odd.id)) == []
    booked = await scheduler_app.client.post(
        "/api/scheduler/tasks",
        json={"lead_id": str(odd.id), "scheduled_for": "2025-06-03T10:30:00-04:00"},
        headers=scheduler_app.agent,
    )
    assert booked.status_code == 422 and "cannot be planned" in booked.json()["detail"]
    # Fixed windows: planned after all.
    await scheduler_app.update_lead(odd, preferred_time_windows=[window(["MON"], "09:00", "10:00")])
    assert [t["scheduled_for"] for t in await scheduler_app.tasks(lead_id=str(odd.id))] == [
        "2025-06-02T13:00:00Z"
    ]
