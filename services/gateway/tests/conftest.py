from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography.fernet import Fernet
from gateway.main import build_app
from gateway.settings import GatewaySettings
from leads.main import definition as leads_definition
from leads.settings import LeadsSettings
from servicekit.app import create_app
from servicekit.runtime import ServiceRuntime
from servicekit.testing.plugin import running, serving


@dataclass
class Stack:
    client: httpx.AsyncClient
    gateway: ServiceRuntime
    leads_url: str

    async def login(self, email: str, password: str) -> dict[str, str]:
        r = await self.client.post("/api/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def encryption_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
async def stack(make_database, nats_url, bus_namespace, jwt_keys, encryption_key) -> AsyncIterator[Stack]:
    common = {
        "nats_url": nats_url,
        "bus_namespace": bus_namespace,
        "auto_migrate": True,
        "outbox_poll_seconds": 0.05,
        "bus_backoff_seconds": [0.05],
    }
    leads_app = create_app(
        leads_definition,
        LeadsSettings(
            database_url=await make_database("leads"), jwt_public_key=jwt_keys.public_pem, **common
        ),
    )
    async with serving(leads_app) as leads_url:
        settings = GatewaySettings(
            database_url=await make_database("gateway"),
            jwt_private_key=jwt_keys.private_pem,
            settings_encryption_key=encryption_key,
            service_urls={"leads": leads_url, "catalog": "http://127.0.0.1:9"},
            login_rate_per_minute=5,
            **common,
        )
        app = build_app(settings)
        async with running(app) as client:
            runtime = app.state.runtime
            await runtime.definition.seed(runtime)
            yield Stack(client, runtime, leads_url)
