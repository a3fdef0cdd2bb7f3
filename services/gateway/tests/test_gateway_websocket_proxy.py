"""The gateway's websocket proxy on real uvicorn servers: relaying both ways to a recording upstream,
close codes either way, refusals; and end to end, the console's live call transcript from the
voice-bridge through the gateway with the login cookie."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from gateway.main import build_app
from gateway.settings import GatewaySettings
from parley_contracts import LeadCreated, LeadSnapshot
from servicekit.app import create_app
from servicekit.auth import ACCESS_COOKIE
from servicekit.bus import wait_for
from servicekit.demo import DEMO_AGENT, DEMO_AGENT2
from servicekit.testing.plugin import serving
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway_at(make_database, nats_url, bus_namespace, jwt_keys, encryption_key):
    """Serve a gateway (uvicorn: websockets need a real server) in front of the given service URLs."""

    @asynccontextmanager
    async def make(service_urls: dict[str, str]) -> AsyncIterator[str]:
        settings = GatewaySettings(
            database_url=await make_database("gateway"),
            jwt_private_key=jwt_keys.private_pem,
            settings_encryption_key=encryption_key,
            service_urls=service_urls,
            nats_url=nats_url,
            bus_namespace=bus_namespace,
            auto_migrate=True,
            outbox_poll_seconds=0.05,
            bus_backoff_seconds=[0.05],
        )
        app = build_app(settings)
        async with serving(app) as url:
            runtime = app.state.runtime
            await runtime.definition.seed(runtime)
            yield url

    return make


def recording_upstream() -> tuple[FastAPI, list[dict[str, Any]]]:
    """A service whose websocket reports its handshake, echoes, and closes when told to."""
    app = FastAPI()
    seen: list[dict[str, Any]] = []

    @app.websocket("/api/voice/echo")
    async def echo(websocket: WebSocket) -> None:
        offered = websocket.scope.get("subprotocols", [])
        await websocket.accept(subprotocol=offered[0] if offered else None)
        headers = dict(websocket.headers)
        record: dict[str, Any] = {"headers": headers, "query": websocket.url.query}
        seen.append(record)
        await websocket.send_json({"handshake": record})
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    record["client_closed"] = message.get("code")
                    return
                if message.get("text", "").startswith("close "):
                    _, code, reason = message["text"].split(" ", 2)
                    await websocket.close(int(code), reason)
                    return
                if message.get("text") is not None:
                    await websocket.send_text(f"echo: {message['text']}")
                else:
                    await websocket.send_bytes(b"echo: " + message["bytes"])
        except WebSocketDisconnect as gone:
            record["client_closed"] = gone.code

    @app.websocket("/api/voice/refuse")
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(1008)  # before accepting: the handshake fails with 403

    return app, seen


@asynccontextmanager
async def ws(
    url: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> AsyncIterator[ClientConnection]:
    async with connect(url, additional_headers=headers or {}, proxy=None, open_timeout=10, **kwargs) as conn:
        yield conn


async def receive(conn: ClientConnection) -> Any:
    async with asyncio.timeout(10):
        return await conn.recv()


async def closed(conn: ClientConnection) -> tuple[int | None, str | None]:
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(10):
            extra = await conn.recv()
            pytest.fail(f"unexpected message before the close: {extra!r}")
    return conn.close_code, conn.close_reason


async def test_websocket_relayed_both_ways_with_credentials_and_close_codes(gateway_at) -> None:
    upstream_app, seen = recording_upstream()
    async with serving(upstream_app) as upstream, gateway_at({"voice-bridge": upstream}) as gateway:
        base = gateway.replace("http://", "ws://")
        host = gateway.removeprefix("http://")
        credentials = {
            "Authorization": "Bearer the-token",
            "Cookie": f"{ACCESS_COOKIE}=the-cookie",
            "Origin": f"http://{host}",
            "X-Request-Id": "req-1",
        }
        async with ws(
            f"{base}/api/voice/echo?x=1", credentials, subprotocols=[Subprotocol("parley.v1")]
        ) as conn:
            assert conn.subprotocol == "parley.v1"
            handshake = json.loads(await receive(conn))["handshake"]
            headers = handshake["headers"]
            assert headers["authorization"] == "Bearer the-token"
            assert headers["cookie"] == f"{ACCESS_COOKIE}=the-cookie"
            assert headers["origin"] == f"http://{host}" and headers["x-forwarded-host"] == host
            assert headers["x-forwarded-for"] == "127.0.0.1" and headers["x-request-id"] == "req-1"
            assert handshake["query"] == "x=1"
            await conn.send("hello")
            assert await receive(conn) == "echo: hello"
            await conn.send(b"\x00\x01")
            assert await receive(conn) == b"echo: \x00\x01"
            # The service closing closes the client with the same code and reason.
            await conn.send("close 4321 bye now")
            assert await closed(conn) == (4321, "bye now")

        # The client closing closes the service's side with the same code.
        async with ws(f"{base}/api/voice/echo") as conn:
            await receive(conn)
            await conn.close(4000, "leaving")

        async def upstream_saw_close() -> bool:
            return seen[-1].get("client_closed") == 4000

        assert await wait_for(upstream_saw_close, timeout=10)


async def test_websocket_refusals(gateway_at) -> None:
    upstream_app, seen = recording_upstream()
    async with (
        serving(upstream_app) as upstream,
        gateway_at({"voice-bridge": upstream, "catalog": "http://127.0.0.1:9"}) as gateway,
    ):
        base = gateway.replace("http://", "ws://")
        cases = [
            # A page of another site would carry the browser's cookie: refused before the service.
            ("/api/voice/echo", {"Origin": "http://evil.example"}, 4403, "origin not allowed"),
            ("/api/nowhere/x", {}, 4404, "no API area 'nowhere'"),
            ("/api/products/live", {}, 1013, "the catalog service is not reachable"),
            ("/api/voice/refuse", {}, 4403, "voice-bridge: 403"),
        ]
        for path, headers, code, reason in cases:
            async with ws(base + path, headers) as conn:
                assert await closed(conn) == (code, reason), path
        assert seen == []


def voice_lead(agent_id: uuid.UUID) -> LeadSnapshot:
    stamp = datetime.now(UTC)
    return LeadSnapshot.model_validate(
        {
            "id": uuid.uuid4(),
            "name": "John Smith",
            "phone": "+14155550123",
            "timezone": "America/New_York",
            "assigned_agent_id": agent_id,
            "created_at": stamp,
            "updated_at": stamp,
        }
    )


async def test_live_call_transcript_through_the_gateway_with_the_login_cookie(
    gateway_at, make_database, nats_url, bus_namespace, jwt_keys
) -> None:
    from voice_bridge.adapters import repository as voice_repo
    from voice_bridge.main import definition as voice_definition
    from voice_bridge.settings import VoiceBridgeSettings

    voice_app = create_app(
        voice_definition,
        VoiceBridgeSettings(
            database_url=await make_database("voice"),
            nats_url=nats_url,
            bus_namespace=bus_namespace,
            jwt_public_key=jwt_keys.public_pem,
            auto_migrate=True,
            outbox_poll_seconds=0.05,
            bus_backoff_seconds=[0.05],
            lookup_timeout_seconds=2,
            tool_timeout_seconds=4,
        ),
    )
    async with (
        serving(voice_app) as voice_url,
        gateway_at({"voice-bridge": voice_url}) as gateway,
        httpx.AsyncClient(base_url=gateway, trust_env=False) as client,
    ):
        voice = voice_app.state.runtime
        lead = voice_lead(DEMO_AGENT.id)
        await voice.bus.publish_now(LeadCreated(lead=lead))

        async def projected() -> bool:
            async with voice.db.session() as session:
                return await voice_repo.get_lead(session, lead.id) is not None

        assert await wait_for(projected, timeout=15)

        async def login(email: str, password: str) -> str:
            r = await client.post("/api/auth/login", json={"email": email, "password": password})
            assert r.status_code == 200, r.text
            cookie: str = r.cookies[ACCESS_COOKIE]
            return cookie

        agent_cookie = await login(DEMO_AGENT.email, DEMO_AGENT.password)
        agent2_cookie = await login(DEMO_AGENT2.email, DEMO_AGENT2.password)
        bearer = {"Authorization": f"Bearer {agent_cookie}"}
        started = await client.post(
            "/api/voice/sessions", json={"lead_id": str(lead.id), "mode": "simulated"}, headers=bearer
        )
        assert started.status_code == 201, started.text
        session_id = started.json()["session"]["id"]
        url = f"{gateway.replace('http://', 'ws://')}/api/voice/sessions/{session_id}/live"
        # What a browser on the console sends: its Origin and the httpOnly cookie, no header of its own.
        browser = {"Origin": gateway, "Cookie": f"{ACCESS_COOKIE}={agent_cookie}"}

        async with ws(url, browser) as conn:
            opening = json.loads(await receive(conn))
            assert opening == {"type": "line", **started.json()["lines"][0]}
            turn = await client.post(
                f"/api/voice/sessions/{session_id}/messages", json={"text": "yes"}, headers=bearer
            )
            assert turn.status_code == 200, turn.text
            for line in turn.json()["lines"]:
                assert json.loads(await receive(conn)) == {"type": "line", **line}
            stopped = await client.post(f"/api/voice/sessions/{session_id}/stop", headers=bearer)
            assert stopped.status_code == 200
            assert json.loads(await receive(conn)) == {
                "type": "ended",
                "outcome": "ANSWERED",
                "reason": "stopped by the agent",
            }
            assert await closed(conn) == (1000, "ended")

        async with ws(url, {"Origin": gateway, "Cookie": f"{ACCESS_COOKIE}={agent2_cookie}"}) as conn:
            assert await closed(conn) == (4403, "voice session not found")
        async with ws(url, {"Origin": gateway}) as conn:
            assert await closed(conn) == (4401, "authentication required")
