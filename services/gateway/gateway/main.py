"""The gateway: login and tokens, users, RBAC, rate limits, admin settings, audit log, the console's
notifications, the API proxy and the console."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from parley_contracts import (
    RPC_GATEWAY_SETTINGS,
    RPC_GATEWAY_USER,
    GatewaySettingsReply,
    GatewaySettingsRequest,
    GatewayUserReply,
    GatewayUserRequest,
)
from pydantic import SecretStr
from servicekit.app import create_app
from servicekit.demo import DEMO_USERS
from servicekit.messaging import Handler
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from . import service_layer as svc
from .adapters.crypto import SecretBox, TokenIssuer
from .adapters.notification_hub import NotificationHub
from .adapters.tables import inbox, metadata, outbox, users
from .api import admin, auth, docs, notifications, proxy
from .api.home import mount_console
from .domain.rate_limit import RateLimiter
from .handlers import audit
from .handlers import notifications as notification_handlers
from .settings import GatewaySettings


def handlers(runtime: ServiceRuntime) -> list[Handler[Any]]:
    return [*audit.handlers(runtime), *notification_handlers.handlers(runtime)]


async def wire(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    runtime.extras["issuer"] = TokenIssuer(
        settings.private_key_pem(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_days),
    )
    box = SecretBox(settings.encryption_key())
    runtime.extras["secret_box"] = box
    runtime.extras["rate_limiter"] = RateLimiter()
    runtime.extras["notification_hub"] = NotificationHub()
    runtime.extras["http"] = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.proxy_timeout_seconds, connect=3.0)
    )

    async def resolve(request: GatewaySettingsRequest) -> GatewaySettingsReply:
        async with runtime.db.session() as session:
            values = await svc.resolved_settings(session, box)
        return GatewaySettingsReply(
            values={k: v for k, v in values.items() if not request.keys or k in request.keys}
        )

    async def user_profile(request: GatewayUserRequest) -> GatewayUserReply:
        async with runtime.db.session() as session:
            row = (
                (await session.execute(sa.select(users).where(users.c.id == str(request.user_id))))
                .mappings()
                .first()
            )
        if row is None:
            return GatewayUserReply(found=False)
        return GatewayUserReply(
            found=True,
            id=row["id"],
            name=row["name"],
            email=row["email"],
            role=row["role"],
            active=row["active"],
        )

    runtime.bus.respond(RPC_GATEWAY_SETTINGS, GatewaySettingsRequest, resolve)
    runtime.bus.respond(RPC_GATEWAY_USER, GatewayUserRequest, user_profile)


async def close(runtime: ServiceRuntime) -> None:
    await runtime.extras["http"].aclose()


async def downstream_readiness(runtime: ServiceRuntime) -> dict[str, str]:
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    client: httpx.AsyncClient = runtime.extras["http"]

    async def check(url: str) -> str:
        try:
            response = await client.get(url.rstrip("/") + "/readyz", timeout=2)
            return "ok" if response.status_code == 200 else f"not ready ({response.status_code})"
        except httpx.HTTPError as exc:
            return f"unreachable ({type(exc).__name__})"

    names = list(settings.service_urls)
    results = await asyncio.gather(*(check(settings.service_urls[n]) for n in names))
    return dict(zip(names, results, strict=True))


async def seed(runtime: ServiceRuntime) -> None:
    async with runtime.db.transaction() as session:
        for user in DEMO_USERS:
            if not await session.scalar(sa.select(users.c.id).where(users.c.email == user.email)):
                await svc.create_user(
                    session,
                    None,
                    email=user.email,
                    name=user.name,
                    role=user.role.value,
                    password=user.password,
                    user_id=user.id,
                )


definition = ServiceDefinition(
    name="gateway",
    description="Login, users, RBAC, rate limits, admin settings, audit log, notifications and the API proxy.",
    settings_cls=GatewaySettings,
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    # The proxy's catch-all comes last so the gateway's own routes win.
    routers=[auth.router, admin.router, notifications.router, docs.router, proxy.router],
    handlers=handlers,
    on_startup=[wire],
    on_shutdown=[close],
    seed=seed,
    readiness_details=downstream_readiness,
)


def build_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    if settings.jwt_public_key is None and settings.jwt_public_key_file is None:
        # The gateway verifies with the public half of its own signing key.
        from cryptography.hazmat.primitives import serialization

        private = serialization.load_pem_private_key(settings.private_key_pem().encode(), password=None)
        public_pem = (
            private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        settings = settings.model_copy(update={"jwt_public_key": SecretStr(public_pem)})
    app = create_app(definition, settings)
    docs.mount_docs_assets(app)
    mount_console(app, settings.web_dist_dir)
    return app


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory gateway.main:app`."""
    return build_app()
