"""Do-not-call across the running platform: a lead with calls booked says "please don't call me again"
in a simulated call through the API; the call ends, leads sets DND on the lead, and the scheduler
cancels every pending task for it and plans no retry or callback in their place."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from servicekit.demo import DEMO_ADMIN, DEMO_AGENT

from .conftest import PLATFORM_TEST_TIMEOUT, RunningPlatform, login, poll

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(PLATFORM_TEST_TIMEOUT)]

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
OPEN = {"PENDING", "DISPATCHED"}
# Why the scheduler cancels a DND lead's tasks: the call's DO_NOT_CALL outcome, or the consent change.
DND_REASONS = {"the lead asked not to be called", "lead has do-not-call (DND) set"}
SCRIPT = ["Who is this?", "Please don't call me again."]


def lead_tasks(client: httpx.Client, headers: dict[str, str], lead_id: str) -> list[dict]:
    r = client.get("/api/scheduler/tasks", params={"lead_id": lead_id, "page_size": 100}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def book(client: httpx.Client, headers: dict[str, str], lead_id: str, day: datetime) -> dict:
    """A manual call task in the lead's window (11:00-11:45 UTC, whichever the agent has free)."""
    for minute in (0, 15, 30, 45):
        at = day.replace(hour=11, minute=minute)
        r = client.post(
            "/api/scheduler/tasks",
            json={"lead_id": lead_id, "scheduled_for": at.isoformat(), "note": "talk it through"},
            headers=headers,
        )
        if r.status_code != 409:
            assert r.status_code == 201, r.text
            return r.json()
    raise AssertionError(f"the agent has no free slot tomorrow 11:00-12:00 UTC: {r.text}")


def test_please_dont_call_me_again_sets_dnd_and_cancels_every_future_task(
    running_platform: RunningPlatform,
):
    # Tomorrow 10:00-12:00 UTC is the lead's only window: its calls are booked, none of them due yet.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    window = {"days": [WEEKDAYS[tomorrow.weekday()]], "start": "10:00", "end": "12:00"}
    with running_platform.client() as client:
        agent = login(client, DEMO_AGENT.email, DEMO_AGENT.password)
        admin = login(client, DEMO_ADMIN.email, DEMO_ADMIN.password)
        created = client.post(
            "/api/leads",
            headers=agent,
            json={
                "name": "Dana Whitfield",
                "phone": "+14155550188",
                "email": "dana.whitfield@example.com",
                "timezone": "UTC",
                "preferred_time_windows": [window],
                "consent_flags": {"call_recording": True},
            },
        )
        assert created.status_code == 201, created.text
        lead = created.json()
        assert lead["assigned_agent_id"] == str(DEMO_AGENT.id) and lead["consent_flags"]["dnd"] is False
        lead_id = lead["id"]

        # Before the call: the scheduler planned the first call and the agent booked one of their own.
        [auto] = poll(
            lambda: lead_tasks(client, agent, lead_id),
            lambda tasks: [t["status"] for t in tasks] == ["PENDING"],
        )
        assert auto["kind"] == "AUTO", auto
        manual = book(client, agent, lead_id, tomorrow)
        before = {t["id"]: t for t in lead_tasks(client, agent, lead_id)}
        assert set(before) == {auto["id"], manual["id"]}
        now = datetime.now(UTC)
        for task in before.values():
            assert task["status"] == "PENDING", task
            assert datetime.fromisoformat(task["scheduled_for"]) > now, task

        # The call: the voice bridge knows the lead once its lead.created arrived.
        poll(
            lambda: client.get("/api/voice/sessions", params={"lead_id": lead_id}, headers=agent).status_code,
            lambda code: code == 200,
        )
        started = client.post(
            "/api/voice/sessions", headers=agent, json={"lead_id": lead_id, "mode": "simulated"}
        )
        assert started.status_code == 201, started.text
        session_id = started.json()["session"]["id"]
        turns = []
        for text in SCRIPT:
            r = client.post(f"/api/voice/sessions/{session_id}/messages", json={"text": text}, headers=agent)
            assert r.status_code == 200, r.text
            turns.append(r.json())
            if r.json()["ended"]:
                break
        assert [turn["ended"] for turn in turns] == [False, True], turns
        assert "won't call you again" in turns[-1]["reply"], turns[-1]
        session = turns[-1]["session"]
        assert (session["status"], session["outcome"], session["do_not_call"]) == (
            "ENDED",
            "DO_NOT_CALL",
            True,
        ), session
        assert session["follow_up_at"] is None, session

        # Leads: DND is set on the lead, and its timeline shows why.
        lead = poll(
            lambda: client.get(f"/api/leads/{lead_id}", headers=agent).json(),
            # The call moves the lead on (CONTACTED, then QUALIFIED once rag has read its needs).
            lambda lead: lead["consent_flags"]["dnd"] is True and lead["status"] != "NEW",
        )
        activities = poll(
            lambda: client.get(
                f"/api/leads/{lead_id}/activities", params={"order": "asc", "page_size": 100}, headers=agent
            ).json()["items"],
            lambda items: (
                {"CALL", "CONSENT"} <= {a["type"] for a in items}
                and any(a["payload"].get("outcome") == "DO_NOT_CALL" for a in items)
            ),
        )
        consent = [a for a in activities if a["type"] == "CONSENT"]
        assert consent and "do not call" in consent[-1]["summary"], consent

        # Scheduler: every task booked before the call is canceled for do-not-call, nothing is open.
        def settled() -> list[dict]:
            return poll(
                lambda: lead_tasks(client, agent, lead_id),
                lambda tasks: (
                    not any(t["status"] in OPEN for t in tasks)
                    and all(t["status"] == "CANCELED" for t in tasks if t["id"] in before)
                ),
                timeout=60,
            )

        tasks = settled()
        # Events keep arriving for a moment (lead.updated for the status, the consent, the scheduler's
        # own SetLeadConsent): whatever they do, the lead must end up with nothing open.
        time.sleep(3)
        tasks = settled()
        after = {t["id"]: t for t in tasks}
        for task_id in before:
            assert after[task_id]["status"] == "CANCELED", after[task_id]
            assert after[task_id]["reason"] in DND_REASONS, after[task_id]
            assert after[task_id]["completed_at"] is not None, after[task_id]
        assert not [t for t in tasks if t["kind"] in ("RETRY", "CALLBACK")], tasks
        assert not [t for t in tasks if t["status"] in OPEN], tasks

        # The same, as an admin sees it and as the agent's pending list and queue show it.
        assert not [t for t in lead_tasks(client, admin, lead_id) if t["status"] in OPEN]
        pending = client.get(
            "/api/scheduler/tasks",
            params={"lead_id": lead_id, "status": ["PENDING", "DISPATCHED"]},
            headers=agent,
        ).json()
        assert pending["total"] == 0 and pending["items"] == [], pending
        future = client.get(
            "/api/scheduler/tasks",
            params={"agent_id": str(DEMO_AGENT.id), "from": datetime.now(UTC).isoformat(), "page_size": 100},
            headers=admin,
        ).json()["items"]
        assert not [t for t in future if t["lead_id"] == lead_id and t["status"] in OPEN], future

        # And no new call can be started or booked for the lead.
        again = client.post(
            "/api/voice/sessions", headers=agent, json={"lead_id": lead_id, "mode": "simulated"}
        )
        assert again.status_code == 409, again.text
        rebook = client.post(
            "/api/scheduler/tasks",
            json={"lead_id": lead_id, "scheduled_for": tomorrow.replace(hour=11, minute=0).isoformat()},
            headers=agent,
        )
        assert rebook.status_code == 409, rebook.text
