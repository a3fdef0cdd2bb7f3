"""The FastAPI app every service gets: problem+json errors, request ids, access logs, metrics,
traces, /healthz, /readyz, /metrics, and the runtime lifecycle."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import TokenVerifier
from .errors import install_problem_handlers
from .logging import configure_logging, request_id_var
from .metrics import HTTP_LATENCY, HTTP_REQUESTS
from .runtime import ServiceDefinition, ServiceRuntime
from .settings import ServiceSettings
from .tracing import configure_tracing, extract_context, tracer

access_log = logging.getLogger("servicekit.access")


def create_app(
    definition: ServiceDefinition,
    settings: ServiceSettings | None = None,
    *,
    consume: bool = True,
) -> FastAPI:
    settings = settings or definition.settings_cls()
    configure_logging(definition.name, settings.log_level, settings.log_json)
    configure_tracing(definition.name, settings.otel_exporter)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(definition, settings)
        app.state.runtime = runtime
        await runtime.start(consume=consume)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"Parley {definition.name}",
        description=definition.description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    try:
        app.state.token_verifier = TokenVerifier(
            settings.public_key_pem(), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    except RuntimeError:
        app.state.token_verifier = None
    install_problem_handlers(app)
    install_observability(app, definition.name)
    install_health(app)
    for router in definition.routers:
        app.include_router(router)
    return app


def install_observability(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def observe(request: Request, call_next: Any) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        with tracer().start_as_current_span(
            f"{request.method} {request.url.path}",
            context=extract_context(request.headers),
            kind=trace.SpanKind.SERVER,
        ):
            try:
                response: Response = await call_next(request)
                status = response.status_code
                response.headers["x-request-id"] = request_id
                return response
            finally:
                route = request.scope.get("route")
                route_path = getattr(route, "path", "unmatched")
                elapsed = time.perf_counter() - started
                HTTP_REQUESTS.labels(service, request.method, route_path, str(status)).inc()
                HTTP_LATENCY.labels(service, request.method, route_path).observe(elapsed)
                if request.url.path not in ("/healthz", "/metrics"):
                    access_log.info(
                        "%s %s %s",
                        request.method,
                        request.url.path,
                        status,
                        extra={"status": status, "duration_ms": round(elapsed * 1000, 1)},
                    )
                request_id_var.reset(token)


def install_health(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        runtime: ServiceRuntime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            await runtime.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        checks["nats"] = "ok" if runtime.bus.connected else "error: disconnected"
        ready = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {
            "status": "ready" if ready else "not-ready",
            "service": runtime.definition.name,
            "checks": checks,
        }
        if runtime.definition.readiness_details is not None:
            body["dependencies"] = await runtime.definition.readiness_details(runtime)
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]


async def db_session(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    async with runtime.db.session() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(db_session)]
