"""Console notifications: built from bus events once per event (and rebuilt by replay), each user sees
and marks only their own, and the live stream (SSE) over a real HTTP server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from gateway.adapters.tables import inbox, notifications
from gateway.main import build_app
from gateway.settings import GatewaySettings
from parley_contracts import (
    Event,
    LeadCreated,
    LeadDeleted,
    LeadEmailCaptured,
    LeadSnapshot,
    ProspectusFailed,
    TaskReminder,
)
from servicekit.auth import ACCESS_COOKIE, Role
from servicekit.bus import wait_for
from servicekit.testing.keys import mint_token
from servicekit.testing.plugin import serving
from servicekit.testing.service import AGENT2_ID, AGENT_ID, ServiceUnderTest

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def start_gateway(make_database, nats_url, bus_namespace, jwt_keys, encryption_key):
    """The gateway served by uvicorn (the in-process transport cannot stream) with a client to it."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[ServiceUnderTest]:
        settings = GatewaySettings(
            **{
                "database_url": await make_database("gateway"),
                "nats_url": nats_url,
                "bus_namespace": bus_namespace,
                "jwt_private_key": jwt_keys.private_pem,
                "settings_encryption_key": encryption_key,
                "service_urls": {},
                "auto_migrate": True,
                "outbox_poll_seconds": 0.05,
                "bus_backoff_seconds": [0.05],
                "notification_heartbeat_seconds": 0.5,
                **overrides,
            }
        )
        app = build_app(settings)
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            yield ServiceUnderTest(client, app.state.runtime, jwt_keys)

    return start


def reminder(agent_id: uuid.UUID | None, lead_id: uuid.UUID | None = None) -> TaskReminder:
    return TaskReminder(
        task_id=uuid.uuid4(),
        lead_id=lead_id or uuid.uuid4(),
        assigned_agent_id=agent_id,
        due_at=datetime(2026, 12, 9, 10, 0, tzinfo=ZoneInfo("Europe/Paris")),
    )


def lead(owner: uuid.UUID) -> LeadSnapshot:
    now = datetime.now(UTC)
    return LeadSnapshot(
        id=uuid.uuid4(), name="Maria Lopez", phone="+14155550123", assigned_agent_id=owner, created_at=now
    )


async def settled(gw: ServiceUnderTest, consumer: str, event: Event) -> bool:
    """Every message published so far on the consumer's subject has been handled and acknowledged."""
    bus = gw.runtime.bus
    info = await bus.js.consumer_info(bus.stream_name(event.subject), consumer)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def wait_settled(gw: ServiceUnderTest, consumer: str, event: Event) -> None:
    async def done() -> bool:
        return await settled(gw, consumer, event)

    assert await wait_for(done, timeout=10)


async def listed(gw: ServiceUnderTest, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await gw.client.get("/api/notifications", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_listed(gw: ServiceUnderTest, headers: dict[str, str], total: int) -> dict[str, Any]:
    async def arrived() -> bool:
        return (await listed(gw, headers))["total"] == total

    assert await wait_for(arrived, timeout=10), await listed(gw, headers)
    return await listed(gw, headers)


async def stored_rows(gw: ServiceUnderTest) -> int:
    async with gw.runtime.db.session() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(notifications)) or 0)


async def next_event(lines: AsyncIterator[str], timeout: float = 10) -> tuple[str, Any]:
    """The stream's next event as (name, parsed data), past comments and the `retry` field."""
    name, data = "message", []
    async with asyncio.timeout(timeout):
        async for line in lines:
            if not line:
                if data:
                    return name, json.loads("\n".join(data))
            elif not line.startswith((":", "retry:")):
                field, _, value = line.partition(": ")
                if field == "event":
                    name = value
                elif field == "data":
                    data.append(value)
    raise AssertionError("the stream ended")


async def test_a_reminder_notifies_the_assigned_agent_once_and_replay_rebuilds_it(start_gateway):
    async with start_gateway() as gw:
        event = reminder(AGENT_ID)
        await gw.publish(event, reminder(None))
        # The same event again past JetStream's duplicate window (another message id): a redelivery.
        await gw.runtime.bus.publish_raw(event.subject, event.to_json(), {"Nats-Msg-Id": uuid.uuid4().hex})
        await wait_settled(gw, "gateway-notify-reminder", event)

        page = await listed(gw, gw.agent)
        item = dict(page["items"][0])
        assert len(page["items"]) == 1
        assert page | {"items": None} == {"items": None, "total": 1, "page": 1, "page_size": 20, "unread": 1}
        assert datetime.fromisoformat(item.pop("created_at")) == event.occurred_at
        assert uuid.UUID(item.pop("id"))
        assert item == {
            "user_id": str(AGENT_ID),
            "kind": "reminder_due",
            # 10:00 in Paris, said in UTC.
            "title": "Call reminder: a call is due at 2026-12-09T09:00+00:00",
            "lead_id": str(event.lead_id),
            "link": f"/agent/leads/{event.lead_id}",
            "read_at": None,
            "source_event_id": str(event.event_id),
        }
        # The unassigned task reminded no one; other users see nothing of the agent's.
        assert await stored_rows(gw) == 1
        for other in (gw.agent2, gw.admin):
            assert await listed(gw, other) == {
                "items": [],
                "total": 0,
                "page": 1,
                "page_size": 20,
                "unread": 0,
            }

        handler = gw.runtime.handlers["gateway-notify-reminder"]

        async def forget(*tables: sa.Table) -> None:
            async with gw.runtime.db.transaction() as session:
                for table in tables:
                    where = inbox.c.consumer == handler.name if table is inbox else sa.true()
                    await session.execute(sa.delete(table).where(where))

        # Replayed with the inbox gone but the notification kept: still one.
        await forget(inbox)
        report = await gw.runtime.bus.replay(handler)
        assert report.seen == 3 and report.failed == 0
        assert await stored_rows(gw) == 1
        # Rebuilt from nothing: the same notification, id included.
        await forget(inbox, notifications)
        await gw.runtime.bus.replay(handler)
        assert (await listed(gw, gw.agent))["items"] == page["items"]


async def test_read_and_read_all_touch_only_ones_own(start_gateway):
    async with start_gateway() as gw:
        await gw.publish(reminder(AGENT_ID), reminder(AGENT_ID), reminder(AGENT2_ID))
        newer, older = (await wait_listed(gw, gw.agent, 2))["items"]
        (theirs,) = (await wait_listed(gw, gw.agent2, 1))["items"]

        response = await gw.client.post(f"/api/notifications/{older['id']}/read", headers=gw.agent)
        assert response.status_code == 200, response.text
        first_read = response.json()
        assert first_read | {"read_at": None} == older and first_read["read_at"] is not None
        # Reading it again keeps when it was first read.
        again = await gw.client.post(f"/api/notifications/{older['id']}/read", headers=gw.agent)
        assert again.json() == first_read
        unread = await listed(gw, gw.agent, unread_only="true")
        assert unread["items"] == [newer] and unread["total"] == 1 and unread["unread"] == 1
        assert (await listed(gw, gw.agent))["total"] == 2

        for someone_elses in (theirs["id"], str(uuid.uuid4())):
            response = await gw.client.post(f"/api/notifications/{someone_elses}/read", headers=gw.agent)
            assert response.status_code == 404
            assert response.headers["content-type"] == PROBLEM_JSON and response.json()["status"] == 404

        response = await gw.client.post("/api/notifications/read-all", headers=gw.agent)
        assert response.status_code == 200 and response.json() == {"marked_read": 1}
        assert (await listed(gw, gw.agent))["unread"] == 0
        assert (await listed(gw, gw.agent2))["items"] == [theirs]
        assert (await gw.client.post("/api/notifications/read-all")).status_code == 401


async def test_lead_events_reach_the_owner_and_a_deleted_leads_notifications_go(start_gateway):
    async with start_gateway() as gw:
        known = lead(AGENT_ID)
        await gw.publish(LeadCreated(lead=known))
        await wait_settled(gw, "gateway-lead-created", LeadCreated(lead=known))
        # A lead the gateway has not seen yet: the notification waits for the lead's owner.
        unseen = lead(AGENT2_ID)
        early = LeadEmailCaptured(lead_id=unseen.id, email="early@example.com", call_id=uuid.uuid4())
        failed = ProspectusFailed(
            lead_id=known.id,
            assigned_agent_id=AGENT_ID,
            prospectus_id=uuid.uuid4(),
            reason="renderer crashed",
        )
        await gw.publish(
            LeadEmailCaptured(lead_id=known.id, email="maria@example.com", call_id=uuid.uuid4()),
            early,
            failed,
        )

        page = await wait_listed(gw, gw.agent, 2)
        assert {(n["kind"], n["title"], n["link"]) for n in page["items"]} == {
            ("email_captured", "Email captured: the lead gave an email address", f"/agent/leads/{known.id}"),
            (
                "prospectus_failed",
                "Prospectus failed: the lead's prospectus could not be generated",
                f"/agent/leads/{known.id}/prospectus",
            ),
        }
        assert "@example.com" not in json.dumps(page)
        await wait_settled(gw, "gateway-notify-email-captured", early)
        assert (await listed(gw, gw.agent2))["total"] == 0

        await gw.publish(LeadCreated(lead=unseen))
        (waited,) = (await wait_listed(gw, gw.agent2, 1))["items"]
        assert waited["source_event_id"] == str(early.event_id) and waited["lead_id"] == str(unseen.id)

        await gw.publish(LeadDeleted(lead_id=known.id, assigned_agent_id=AGENT_ID))
        await wait_listed(gw, gw.agent, 0)
        late = reminder(AGENT_ID, lead_id=known.id)
        await gw.publish(late)
        await wait_settled(gw, "gateway-notify-reminder", late)
        assert (await listed(gw, gw.agent))["total"] == 0


async def test_the_stream_starts_with_the_unread_count_then_sends_each_new_notification(start_gateway):
    async with start_gateway() as gw:
        await gw.publish(reminder(AGENT_ID))
        await wait_listed(gw, gw.agent, 1)

        async with gw.client.stream("GET", "/api/notifications/stream", headers=gw.agent) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert await next_event(lines) == ("unread", {"unread": 1})

            # Stored before the agent's own, so it would come first if it leaked into this stream.
            await gw.publish(reminder(AGENT2_ID))
            await wait_listed(gw, gw.agent2, 1)
            mine = reminder(AGENT_ID)
            await gw.publish(mine)
            name, data = await next_event(lines)
            newest = (await listed(gw, gw.agent))["items"][0]
            assert name == "notification" and data == newest
            assert data["source_event_id"] == str(mine.event_id)

        # The stream let go of its listener when the client went.
        hub = gw.runtime.extras["notification_hub"]

        async def released() -> bool:
            return not hub._listeners

        assert await wait_for(released, timeout=5)

        # The console's httpOnly cookie authenticates it as well; nothing does not.
        cookie = {"Cookie": f"{ACCESS_COOKIE}={mint_token(gw.keys, user_id=AGENT2_ID, role=Role.AGENT)}"}
        async with gw.client.stream("GET", "/api/notifications/stream", headers=cookie) as response:
            assert await next_event(response.aiter_lines()) == ("unread", {"unread": 1})
        response = await gw.client.get("/api/notifications/stream")
        assert response.status_code == 401 and response.headers["content-type"] == PROBLEM_JSON


async def test_the_stream_beats_while_idle_and_ends_after_its_lifetime(start_gateway):
    async with start_gateway(notification_heartbeat_seconds=0.2, notification_stream_max_seconds=1.0) as gw:
        clock = asyncio.get_running_loop()
        started = clock.time()
        async with gw.client.stream("GET", "/api/notifications/stream", headers=gw.agent) as response:
            async with asyncio.timeout(10):
                lines = [line async for line in response.aiter_lines()]
        assert 1.0 <= clock.time() - started < 5
        assert lines[:3] == ["retry: 3000", "event: unread", 'data: {"unread": 0}']
        assert lines.count(": heartbeat") >= 3


async def test_bad_parameters_are_422_problem_json(start_gateway):
    async with start_gateway() as gw:
        for params in (
            {"page": 0},
            {"page_size": 0},
            {"page_size": 201},
            {"page": "x"},
            {"unread_only": "maybe"},
        ):
            response = await gw.client.get("/api/notifications", params=params, headers=gw.agent)
            assert response.status_code == 422, params
            assert response.headers["content-type"] == PROBLEM_JSON
            assert response.json()["errors"][0]["loc"] == ["query", next(iter(params))]
        response = await gw.client.post("/api/notifications/not-an-id/read", headers=gw.agent)
        assert response.status_code == 422 and response.json()["errors"][0]["loc"] == [
            "path",
            "notification_id",
        ]
