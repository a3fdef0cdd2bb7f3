"""The live transcript websocket `/api/voice/sessions/{id}/live` on a real uvicorn server, with a real
NATS server and database: lines in order as they are stored, `ended`, late joiners, scoping, auth,
slow clients; and the transcript hub on its own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from parley_contracts import TranscriptLine
from servicekit.app import create_app
from servicekit.auth import ACCESS_COOKIE, Role
from servicekit.testing.keys import KeyPair, mint_token
from servicekit.testing.plugin import serving
from voice_bridge.adapters import repository as repo
from voice_bridge.adapters.repository import StoredLine
from voice_bridge.context import transcript_hub_of
from voice_bridge.main import definition
from voice_bridge.transcript_hub import CallFinished, FollowerTooSlow, TranscriptHub
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .conftest import ADMIN_ID, AGENT_ID, VoiceApp, VoiceSettingsFactory

pytestmark = pytest.mark.integration


@pytest.fixture
async def live_app(
    voice_settings: VoiceSettingsFactory, jwt_keys: KeyPair
) -> AsyncIterator[tuple[VoiceApp, str]]:
    """The voice-bridge served by uvicorn (websockets need a real server); yields the app and ws:// base."""
    app = create_app(definition, await voice_settings())
    async with serving(app) as base, httpx.AsyncClient(base_url=base, trust_env=False) as client:
        yield VoiceApp(client, app.state.runtime, jwt_keys), base.replace("http://", "ws://", 1)


@asynccontextmanager
async def live(
    base: str, session_id: str, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientConnection]:
    url = f"{base}/api/voice/sessions/{session_id}/live"
    async with connect(url, additional_headers=headers or {}, proxy=None, open_timeout=10) as ws:
        yield ws


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def closed(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Waits for the server's close (failing on any further message); the close code and reason."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(10):
            extra = await ws.recv()
            pytest.fail(f"unexpected message before the close: {extra!r}")
    return ws.close_code, ws.close_reason


async def start(app: VoiceApp, lead_id: uuid.UUID) -> dict[str, Any]:
    r = await app.client.post(
        "/api/voice/sessions", json={"lead_id": str(lead_id), "mode": "simulated"}, headers=app.agent
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def say(app: VoiceApp, session_id: str, text: str) -> dict[str, Any]:
    r = await app.client.post(
        f"/api/voice/sessions/{session_id}/messages", json={"text": text}, headers=app.agent
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def as_live(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "line", **line} for line in lines]


async def test_lines_stream_in_order_as_they_are_stored_then_ended(live_app) -> None:
    app, base = live_app
    lead = await app.create_lead()
    started = await start(app, lead.id)
    session_id = started["session"]["id"]

    async with live(base, session_id, app.agent) as ws:
        # The opening was stored before the socket opened: it comes as history.
        assert await receive(ws) == as_live(started["lines"])[0]
        first = await say(app, session_id, "yes")
        assert [line["speaker"] for line in first["lines"]] == ["prospect", "bot"]
        assert [await receive(ws) for _ in first["lines"]] == as_live(first["lines"])
        second = await say(app, session_id, "health cover")
        assert [await receive(ws) for _ in second["lines"]] == as_live(second["lines"])
        last = await say(app, session_id, "Actually, please don't call me again")
        assert last["ended"]
        assert [await receive(ws) for _ in last["lines"]] == as_live(last["lines"])
        ended = await receive(ws)
        assert ended == {
            "type": "ended",
            "outcome": "DO_NOT_CALL",
            "reason": last["session"]["end_reason"],
        }
        assert await closed(ws) == (1000, "ended")

    assert [
        line["seq"] for line in [*started["lines"], *first["lines"], *second["lines"], *last["lines"]]
    ] == list(range(1, 8))
    assert transcript_hub_of(app.runtime).followers(uuid.UUID(session_id)) == 0


async def test_stop_sends_ended_to_every_follower(live_app) -> None:
    app, base = live_app
    lead = await app.create_lead()
    session_id = (await start(app, lead.id))["session"]["id"]
    async with live(base, session_id, app.agent) as ws1, live(base, session_id, app.admin) as ws2:
        for ws in (ws1, ws2):
            assert (await receive(ws))["seq"] == 1
        stopped = await app.client.post(f"/api/voice/sessions/{session_id}/stop", headers=app.agent)
        assert stopped.status_code == 200
        for ws in (ws1, ws2):
            assert await receive(ws) == {
                "type": "ended",
                "outcome": "ANSWERED",
                "reason": "stopped by the agent",
            }
            assert (await closed(ws))[0] == 1000


async def test_late_joiner_gets_the_history_then_live_lines_without_gaps_or_duplicates(live_app) -> None:
    app, base = live_app
    lead = await app.create_lead()
    started = await start(app, lead.id)
    session_id = started["session"]["id"]
    turns = [started["lines"], (await say(app, session_id, "yes"))["lines"]]

    async with live(base, session_id, app.agent) as ws:
        history = [await receive(ws) for _ in range(3)]
        assert history == as_live([*turns[0], *turns[1]])
        more = (await say(app, session_id, "health cover"))["lines"]
        assert [await receive(ws) for _ in more] == as_live(more)
        # The same lines published again (a retry) are not sent twice; lines stored but never published
        # are fetched when a later line shows the hole.
        hub = transcript_hub_of(app.runtime)
        sid = uuid.UUID(session_id)
        hub.publish_lines(sid, [StoredLine(m["seq"], TranscriptLine.model_validate(m)) for m in more])
        async with app.runtime.db.transaction() as session:
            now = datetime.now(UTC)
            unpublished = await repo.append_lines(
                session,
                sid,
                [
                    TranscriptLine(speaker="system", text="note one", at=now),
                    TranscriptLine(speaker="system", text="note two", at=now),
                    TranscriptLine(speaker="bot", text="published", at=now),
                ],
            )
        hub.publish_lines(sid, unpublished[-1:])
        got = [await receive(ws) for _ in unpublished]
        assert [(m["seq"], m["text"]) for m in got] == [(6, "note one"), (7, "note two"), (8, "published")]

        stopped = await app.client.post(f"/api/voice/sessions/{session_id}/stop", headers=app.agent)
        assert stopped.status_code == 200
        assert (await receive(ws))["type"] == "ended"
        assert (await closed(ws))[0] == 1000

    # Joining an ended call: the whole transcript, `ended`, and a normal close.
    async with live(base, session_id, app.agent) as ws:
        lines = [await receive(ws) for _ in range(8)]
        assert [m["seq"] for m in lines] == list(range(1, 9))
        assert await receive(ws) == {"type": "ended", "outcome": "ANSWERED", "reason": "stopped by the agent"}
        assert await closed(ws) == (1000, "ended")


async def test_scheduled_call_started_by_its_agent_streams_its_opening(live_app) -> None:
    """A session waiting for its agent has no lines yet; the opening arrives when the agent begins."""
    from parley_contracts import CallRequested

    app, base = live_app
    lead = await app.create_lead()
    request = CallRequested(
        task_id=uuid.uuid4(), lead_id=lead.id, assigned_agent_id=AGENT_ID, mode="simulated", attempt=1
    )
    await app.runtime.bus.publish_now(request)
    await app.handled(request)
    listed = (
        await app.client.get("/api/voice/sessions", params={"lead_id": str(lead.id)}, headers=app.agent)
    ).json()
    [waiting] = listed["items"]
    assert waiting["status"] == "WAITING_FOR_AGENT"
    async with live(base, waiting["id"], app.agent) as ws:
        turn = await say(app, waiting["id"], "hello")
        assert [line["speaker"] for line in turn["lines"]] == ["bot", "prospect", "bot"]
        assert [await receive(ws) for _ in turn["lines"]] == as_live(turn["lines"])


async def test_other_agents_unknown_sessions_and_the_unauthenticated_are_refused(live_app) -> None:
    app, base = live_app
    lead = await app.create_lead()
    session_id = (await start(app, lead.id))["session"]["id"]

    for sid in (session_id, str(uuid.uuid4()), "not-a-session"):
        async with live(base, sid, app.agent2) as ws:
            # Someone else's session and one that does not exist look the same.
            assert await closed(ws) == (4403, "voice session not found")
    token = mint_token(app.keys, user_id=AGENT_ID, role=Role.AGENT)
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {
            "Authorization": f"Bearer {mint_token(app.keys, user_id=AGENT_ID, role=Role.AGENT, expires_in=timedelta(minutes=-1))}"
        },
        {"Cookie": f"{ACCESS_COOKIE}=garbage"},
    ):
        async with live(base, session_id, headers) as ws:
            assert await closed(ws) == (4401, "authentication required")
    # A page on another site would send the browser's cookie: refused by its Origin.
    cookie = {"Cookie": f"{ACCESS_COOKIE}={token}"}
    async with live(base, session_id, {**cookie, "Origin": "http://evil.example"}) as ws:
        assert await closed(ws) == (4403, "origin not allowed")
    # The console's cookie alone is enough (browsers cannot set headers on websockets); admins see all.
    host = base.removeprefix("ws://")
    for headers in (cookie, {**cookie, "Origin": f"http://{host}"}, app.auth(ADMIN_ID, Role.ADMIN)):
        async with live(base, session_id, headers) as ws:
            assert (await receive(ws))["seq"] == 1


async def test_a_client_that_falls_behind_is_closed_and_resumes_from_the_stored_lines(live_app) -> None:
    app, base = live_app
    lead = await app.create_lead()
    session_id = (await start(app, lead.id))["session"]["id"]
    sid = uuid.UUID(session_id)
    hub = transcript_hub_of(app.runtime)
    hub.capacity = 2
    async with live(base, session_id, app.agent) as ws:
        assert (await receive(ws))["seq"] == 1
        # Published faster than the socket is served (nothing yields in between): the third overflows.
        now = datetime.now(UTC)
        hub.publish_lines(
            sid, [StoredLine(n, TranscriptLine(speaker="bot", text=f"x{n}", at=now)) for n in (2, 3, 4)]
        )
        assert hub.followers(sid) == 0
        assert await closed(ws) == (1013, "too slow; reconnect to resume")
    turn = await say(app, session_id, "yes")
    async with live(base, session_id, app.agent) as ws:
        assert [(await receive(ws))["seq"] for _ in range(3)] == [1, *(line["seq"] for line in turn["lines"])]


async def test_a_client_going_away_unsubscribes(live_app) -> None:
    app, base = live_app
    lead = await app.create_lead()
    session_id = (await start(app, lead.id))["session"]["id"]
    hub = transcript_hub_of(app.runtime)
    async with live(base, session_id, app.agent) as ws:
        await receive(ws)
        assert hub.followers(uuid.UUID(session_id)) == 1
    for _ in range(100):
        if hub.followers(uuid.UUID(session_id)) == 0:
            break
        await asyncio.sleep(0.02)
    assert hub.followers(uuid.UUID(session_id)) == 0
    # The call goes on regardless.
    await say(app, session_id, "yes")


async def test_the_hub_never_blocks_and_drops_only_the_slow_follower() -> None:
    hub = TranscriptHub(capacity=2)
    sid, other = uuid.uuid4(), uuid.uuid4()
    slow, fast, elsewhere = hub.subscribe(sid), hub.subscribe(sid), hub.subscribe(other)
    now = datetime.now(UTC)
    lines = [StoredLine(n, TranscriptLine(speaker="bot", text=str(n), at=now)) for n in (1, 2, 3)]
    hub.publish_lines(sid, lines[:2])
    assert (await fast.next()).seq == 1  # type: ignore[union-attr]
    hub.publish_lines(sid, lines[2:])  # slow has 2 queued: dropped; fast had room
    assert hub.followers(sid) == 1
    with pytest.raises(FollowerTooSlow):
        await slow.next()
    assert [await fast.next() for _ in range(2)] == [lines[1], lines[2]]
    hub.publish_ended(sid, outcome=None, reason="stopped")
    assert await fast.next() == CallFinished(None, "stopped")
    assert elsewhere.offer(lines[0]) and hub.followers(other) == 1
    hub.unsubscribe(fast)
    hub.unsubscribe(elsewhere)
    assert hub.followers(sid) == hub.followers(other) == 0
