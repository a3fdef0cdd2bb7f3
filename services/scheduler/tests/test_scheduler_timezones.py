"""Calls are planned in the callee's real timezone(s): every candidate zone, the country's legal hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from parley_calltime import derive_timezone
from parley_contracts import DialingChanged, TimezoneSource

from .conftest import START, window

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")


def derived(phone: str, location: str | None = None) -> dict[str, object]:
    """The lead fields the leads service sets for a lead created without a timezone."""
    decision = derive_timezone(phone=phone, location=location)
    return {
        "phone": phone,
        "timezone": decision.timezone,
        "timezone_source": decision.source,
        "timezone_candidates": list(decision.candidates),
        "country": decision.country,
    }


def local(task: dict[str, object], zone: str) -> datetime:
    return datetime.fromisoformat(str(task["scheduled_for"])).astimezone(ZoneInfo(zone))


async def test_a_new_york_number_is_first_called_at_eight_new_york_time(scheduler_app):
    # START is Monday 10:00 UTC: 06:00 in New York, when a UTC default would already have dialled.
    lead = await scheduler_app.create_lead(**derived("+12125550171"), preferred_time_windows=[])
    (task,) = await scheduler_app.wait_tasks(lambda t: len(t) == 1, lead_id=str(lead.id))
    at = local(task, "America/New_York")
    assert (at.date(), at.hour, at.minute) == (START.astimezone(NEW_YORK).date(), 8, 0)


async def test_an_ambiguous_lead_is_planned_only_where_every_zone_is_in_its_window(scheduler_app):
    lead = await scheduler_app.create_lead(
        phone="+18005550172",
        timezone="America/New_York",
        timezone_source=TimezoneSource.FROM_PHONE,
        timezone_candidates=["America/New_York", "America/Los_Angeles"],
        country="US",
        preferred_time_windows=[window(["MON", "TUE", "WED", "THU", "FRI"], "09:00", "13:00")],
    )
    (task,) = await scheduler_app.wait_tasks(lambda t: len(t) == 1, lead_id=str(lead.id))
    # 09:00 in Los Angeles is noon in New York: the first minute inside 09:00-13:00 in both.
    assert local(task, "America/Los_Angeles").hour == 9 and local(task, "America/New_York").hour == 12
    plan = (
        await scheduler_app.client.get(f"/api/scheduler/leads/{lead.id}", headers=scheduler_app.agent)
    ).json()
    assert plan["timezone_candidates"] == ["America/New_York", "America/Los_Angeles"]
    assert plan["timezone_needed"] is False and plan["next_task"]["id"] == task["id"]
    assert plan["legal_hours"] == "Mon-Sun 08:00-21:00"


async def test_no_common_hour_flags_timezone_needed_until_the_lead_settles_it(scheduler_app):
    office = [window(["MON", "TUE", "WED", "THU", "FRI"], "09:00", "11:00")]
    lead = await scheduler_app.create_lead(
        phone="+18005550173",
        timezone="America/St_Johns",
        timezone_source=TimezoneSource.FROM_PHONE,
        timezone_candidates=["America/St_Johns", "Pacific/Guam"],
        country="US",
        preferred_time_windows=office,
    )
    plan_url = f"/api/scheduler/leads/{lead.id}"
    plan = (await scheduler_app.client.get(plan_url, headers=scheduler_app.agent)).json()
    assert plan["dialing_stopped"] == "TIMEZONE_NEEDED" and plan["timezone_needed"] is True
    assert plan["next_task"] is None and await scheduler_app.tasks(lead_id=str(lead.id)) == []
    (stopped,) = [e for e in await scheduler_app.events(DialingChanged) if e.lead_id == lead.id]
    assert stopped.stopped == "TIMEZONE_NEEDED"
    assert "Pacific/Guam" in (stopped.detail or "") and "confirm" in (stopped.detail or "")

    # The lead said on a call they are in Guam: one zone, and dialing resumes.
    await scheduler_app.update_lead(
        lead,
        timezone="Pacific/Guam",
        timezone_source=TimezoneSource.CONFIRMED_ON_CALL,
        timezone_candidates=["Pacific/Guam"],
    )
    (task,) = await scheduler_app.wait_tasks(lambda t: len(t) == 1, lead_id=str(lead.id))
    assert 9 <= local(task, "Pacific/Guam").hour < 11
    changes = [e for e in await scheduler_app.events(DialingChanged) if e.lead_id == lead.id]
    assert [e.stopped for e in changes] == ["TIMEZONE_NEEDED", None]


async def test_a_lead_with_no_zone_is_never_planned(scheduler_app):
    lead = await scheduler_app.create_lead(
        phone="+80012345674",
        timezone="UTC",
        timezone_source=TimezoneSource.UNKNOWN,
        timezone_candidates=[],
        country=None,
    )
    plan = (
        await scheduler_app.client.get(f"/api/scheduler/leads/{lead.id}", headers=scheduler_app.agent)
    ).json()
    assert plan["timezone_needed"] and plan["dialing_stopped"] == "TIMEZONE_NEEDED"
    assert plan["callable_now"] is False and plan["next_legal_time"] is None
    booked = await scheduler_app.client.post(
        "/api/scheduler/tasks",
        json={"lead_id": str(lead.id), "scheduled_for": (START + timedelta(hours=3)).isoformat()},
        headers=scheduler_app.agent,
    )
    assert booked.status_code == 422 and "timezone needed" in booked.json()["detail"]


async def test_a_manual_booking_must_be_legal_in_every_candidate_zone(scheduler_app):
    lead = await scheduler_app.create_lead(
        phone="+18005550175",
        timezone="America/New_York",
        timezone_source=TimezoneSource.FROM_PHONE,
        timezone_candidates=["America/New_York", "America/Los_Angeles"],
        country="US",
        preferred_time_windows=[],
    )
    # Monday 13:30 UTC: 09:30 in New York, 06:30 in Los Angeles.
    early = await scheduler_app.client.post(
        "/api/scheduler/tasks",
        json={"lead_id": str(lead.id), "scheduled_for": "2025-06-02T13:30:00+00:00", "force": True},
        headers=scheduler_app.admin,
    )
    assert early.status_code == 422, early.text
    body = early.json()
    assert "America/Los_Angeles" in body["detail"] and body["nearest_allowed"] == "2025-06-02T15:00:00+00:00"
    ok = await scheduler_app.client.post(
        "/api/scheduler/tasks",
        json={"lead_id": str(lead.id), "scheduled_for": "2025-06-02T15:00:00+00:00", "force": True},
        headers=scheduler_app.admin,
    )
    assert ok.status_code == 201, ok.text


async def test_a_french_lead_is_not_called_at_lunch_on_weekends_or_on_holidays(scheduler_app, clock):
    # Friday 11 July 2025, 09:00 in Paris: calls open at 10:00.
    clock.set(datetime(2025, 7, 11, 7, 0, tzinfo=UTC))
    lead = await scheduler_app.create_lead(**derived("+33612345676"), preferred_time_windows=[])
    (task,) = await scheduler_app.wait_tasks(lambda t: len(t) == 1, lead_id=str(lead.id))
    at = local(task, "Europe/Paris")
    assert (at.year, at.month, at.day, at.hour) == (2025, 7, 11, 10)  # Friday 11th: 10:00 opens
    # Friday 20:00 in Paris, closed: the next legal day skips the weekend and Monday 14 July.
    clock.set(datetime(2025, 7, 11, 18, 0, tzinfo=UTC))
    later = await scheduler_app.create_lead(**derived("+33612345677"), preferred_time_windows=[])
    (task,) = await scheduler_app.wait_tasks(lambda t: len(t) == 1, lead_id=str(later.id))
    at = local(task, "Europe/Paris")
    assert (at.month, at.day, at.hour, at.minute) == (7, 15, 10, 0)


async def test_a_lead_defaulted_to_utc_is_replanned_when_its_real_zone_arrives(scheduler_app, clock):
    clock.set(datetime(2025, 6, 2, 5, 0, tzinfo=UTC))
    # As projected before timezones were derived: "UTC", no source, no candidates.
    old = await scheduler_app.create_lead(phone="+12125550178", timezone="UTC", preferred_time_windows=[])
    (task,) = await scheduler_app.wait_tasks(lambda t: len(t) == 1, lead_id=str(old.id))
    # 08:00 UTC: 04:00 where the phone rings.
    assert datetime.fromisoformat(task["scheduled_for"]) == datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    # The leads migration re-announces the lead with the zone its number says.
    await scheduler_app.update_lead(old, **derived("+12125550178"))
    (moved,) = await scheduler_app.wait_tasks(
        lambda t: len(t) == 1 and t[0]["scheduled_for"] != task["scheduled_for"], lead_id=str(old.id)
    )
    assert moved["id"] == task["id"] and local(moved, "America/New_York").hour == 8
