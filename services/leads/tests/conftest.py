from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from leads.main import definition
from leads.settings import LeadsSettings
from servicekit.app import create_app
from servicekit.testing.keys import KeyPair
from servicekit.testing.plugin import running
from servicekit.testing.service import ServiceUnderTest


@dataclass
class LeadsApp(ServiceUnderTest):
    pass


async def start_leads(database_url: str, nats_url: str, namespace: str, keys: KeyPair):
    settings = LeadsSettings(
        database_url=database_url,
        nats_url=nats_url,
        bus_namespace=namespace,
        jwt_public_key=keys.public_pem,
        auto_migrate=True,
        outbox_poll_seconds=0.05,
        bus_backoff_seconds=[0.05],
        log_json=True,
    )
    return create_app(definition, settings)


@pytest.fixture
async def leads_app(make_database, nats_url, bus_namespace, jwt_keys) -> AsyncIterator[LeadsApp]:
    app = await start_leads(await make_database("leads"), nats_url, bus_namespace, jwt_keys)
    async with running(app) as client:
        yield LeadsApp(client, app.state.runtime, jwt_keys)


def _lead_body(**overrides):
    body = {
        "name": "Ada Lovelace",
        "phone": "+14155550123",
        "email": "ada@example.com",
        "timezone": "America/New_York",
        "preferred_time_windows": [{"days": ["MON", "TUE"], "start": "09:00", "end": "12:00"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def lead_body():
    return _lead_body
