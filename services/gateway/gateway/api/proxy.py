"""Reverse proxy of `/api/<area>/…` to the owning service, streaming both ways."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from servicekit.auth import bearer_token
from servicekit.errors import NotFound, ServiceUnavailable, problem_response
from servicekit.tracing import inject_headers
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from ..domain.rate_limit import Rule
from .deps import Settings, client_ip, enforce

router = APIRouter(include_in_schema=False)

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
