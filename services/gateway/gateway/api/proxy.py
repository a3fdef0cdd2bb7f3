"""Reverse proxy of `/api/<area>/…` to the owning service, streaming both ways; websockets too."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import httpx
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from servicekit.auth import bearer_token, same_origin
from servicekit.errors import NotFound, ServiceUnavailable, problem_response
from servicekit.tracing import inject_headers
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.frames import EXTERNAL_CLOSE_CODES
from websockets.typing import Origin, Subprotocol

from ..domain.rate_limit import Rule
from ..settings import GatewaySettings
from .deps import Settings, client_ip, enforce

router = APIRouter(include_in_schema=False)
access_log = logging.getLogger("servicekit.access")

# First path segment after /api -> owning service.
AREAS: dict[str, str] = {
    "leads": "leads",
    "products": "catalog",
    "rag": "rag",
    "scheduler": "scheduler",
    "voice": "voice-bridge",
    "prospectus": "prospectus",
    "email": "mailer",
    "dev": "mailer",
}
# Expensive or abusable calls, limited per caller.
CRITICAL = {
    ("POST", "leads/import"),
    ("POST", "voice/sessions"),
    ("POST", "email/send"),
    ("POST", "products/reindex"),
    ("POST", "rag/recommendations"),
}
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def _caller_key(request: Request) -> str:
    token = bearer_token(request)
    return f"token:{token[-24:]}" if token else f"ip:{client_ip(request)}"


@router.api_route("/api/{area}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@router.api_route("/api/{area}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def proxy(area: str, request: Request, settings: Settings, path: str = "") -> Response:
    service = AREAS.get(area)
    if service is None:
        raise NotFound(f"No API area {area!r}.")
    base = settings.service_urls.get(service)
    if not base:
        raise ServiceUnavailable(f"The {service} service is not configured.")
    if (request.method, f"{area}/{path}".rstrip("/")) in CRITICAL:
        enforce(
            request,
            Rule(f"critical:{area}/{path}", settings.critical_rate_per_minute, 60),
            _caller_key(request),
        )

    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    headers["x-forwarded-for"] = client_ip(request)
    headers["x-forwarded-proto"] = request.url.scheme
    headers["x-forwarded-host"] = request.headers.get("host", "")
    inject_headers(headers)
    client: httpx.AsyncClient = request.app.state.runtime.extras["http"]
    upstream = client.build_request(
        request.method,
        base.rstrip("/") + request.url.path,
        params=request.query_params,
        headers=headers,
        content=request.stream(),
    )
    try:
        response = await client.send(upstream, stream=True)
    except httpx.TimeoutException:
        return problem_response(
            504,
            "Upstream timeout",
            f"The {service} service did not answer in time.",
            type_slug="upstream-timeout",
            instance=request.url.path,
        )
    except httpx.TransportError:
        return problem_response(
            503,
            "Service unavailable",
            f"The {service} service is not reachable.",
            type_slug="unavailable",
            instance=request.url.path,
        )
    out_headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
    return StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        headers=out_headers,
        background=BackgroundTask(response.aclose),
    )


# -- websockets ---------------------------------------------------------------------------------

# What a refused upstream handshake becomes for the client (a browser sees close codes, not statuses).
HANDSHAKE_STATUS_CLOSE = {401: 4401, 403: 4403, 404: 4404}
UPSTREAM_OPEN_TIMEOUT_S = 10.0


def _sendable(code: int | None, *, otherwise: int) -> int:
    """A close code that may go in a close frame (1005/1006 only describe what happened)."""
    if code is not None and (code in EXTERNAL_CLOSE_CODES or 3000 <= code < 5000):
        return code
    return otherwise


async def _refuse(websocket: WebSocket, code: int, reason: str) -> int:
    await websocket.accept()
    await websocket.close(code, reason)
    return code


async def _client_to_upstream(websocket: WebSocket, upstream: ClientConnection) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            code = message.get("code")
            code = _sendable(code, otherwise=1000 if code == 1005 else 1001)
            await upstream.close(code, (message.get("reason") or "")[:120])
            return
        if message.get("text") is not None:
            await upstream.send(message["text"])
        elif message.get("bytes") is not None:
            await upstream.send(message["bytes"])


async def _upstream_to_client(websocket: WebSocket, upstream: ClientConnection) -> None:
    with suppress(ConnectionClosed):
        async for data in upstream:
            if isinstance(data, str):
                await websocket.send_text(data)
            else:
                await websocket.send_bytes(data)


@router.websocket("/api/{area}/{path:path}")
async def proxy_websocket(websocket: WebSocket, area: str) -> None:
    """Relays a websocket to the owning service (e.g. `/api/voice/sessions/{id}/live`): messages both
    ways, and either side closing closes the other with the same code. The service authenticates, as
    for HTTP; the bearer header and the access cookie go with the handshake. A handshake from a page of
    another site is refused here (4403): browsers attach cookies to cross-site websockets."""
    settings: GatewaySettings = websocket.app.state.settings
    started = asyncio.get_running_loop().time()
    code = await _proxy_websocket(websocket, settings, area)
    access_log.info(
        "WS %s %s",
        websocket.url.path,
        code,
        extra={"status": code, "duration_ms": round((asyncio.get_running_loop().time() - started) * 1000, 1)},
    )


async def _proxy_websocket(websocket: WebSocket, settings: GatewaySettings, area: str) -> int:
    if not same_origin(websocket):
        return await _refuse(websocket, 4403, "origin not allowed")
    service = AREAS.get(area)
    if service is None:
        return await _refuse(websocket, 4404, f"no API area {area!r}")
    base = settings.service_urls.get(service)
    if not base:
        return await _refuse(websocket, 1013, f"the {service} service is not configured")

    skip = HOP_BY_HOP | {"origin", "user-agent"}
    headers = {
        k: v for k, v in websocket.headers.items() if k not in skip and not k.startswith("sec-websocket-")
    }
    headers["x-forwarded-for"] = websocket.client.host if websocket.client else "unknown"
    headers["x-forwarded-proto"] = "https" if websocket.url.scheme == "wss" else "http"
    # The site `same_origin` judged by, so the service's own check agrees with this one.
    headers["x-forwarded-host"] = websocket.headers.get("x-forwarded-host") or websocket.headers.get(
        "host", ""
    )
    inject_headers(headers)
    target = base.rstrip("/").replace("http", "ws", 1) + websocket.url.path
    if websocket.url.query:
        target += "?" + websocket.url.query
    origin = websocket.headers.get("origin")
    try:
        upstream = await connect(
            target,
            additional_headers=headers,
            origin=Origin(origin) if origin else None,
            subprotocols=[Subprotocol(p) for p in websocket.scope.get("subprotocols", [])] or None,
            user_agent_header=websocket.headers.get("user-agent"),
            proxy=None,  # straight to the service, whatever the environment says
            open_timeout=UPSTREAM_OPEN_TIMEOUT_S,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        return await _refuse(websocket, HANDSHAKE_STATUS_CLOSE.get(status, 1014), f"{service}: {status}")
    except (OSError, TimeoutError, WebSocketException):
        return await _refuse(websocket, 1013, f"the {service} service is not reachable")

    try:
        await websocket.accept(subprotocol=upstream.subprotocol)
        relays = [
            asyncio.create_task(_client_to_upstream(websocket, upstream)),
            asyncio.create_task(_upstream_to_client(websocket, upstream)),
        ]
        await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)
    except (WebSocketDisconnect, OSError):
        pass  # the client left while the upstream was being opened
    finally:
        await upstream.close()
    # Whichever side closed first, the other one closes too, with the same code. A service that
    # vanished without a close frame (1006) is a bad gateway for the client.
    code = _sendable(upstream.close_code, otherwise=1000 if upstream.close_code == 1005 else 1014)
    with suppress(WebSocketDisconnect, RuntimeError, OSError):  # the client may be gone already
        await websocket.close(code, (upstream.close_reason or "")[:120])
    return upstream.close_code or 1000
