from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from parley_contracts import LeadCreated, LeadSnapshot
from prospectus.adapters import repository as repo
from prospectus.main import definition
from prospectus.settings import ProspectusSettings
from prospectus.testing.events import catalog_events, lead_snapshot
from prospectus.testing.factories import sample_products
from servicekit.app import create_app
from servicekit.bus import wait_for
from servicekit.testing.keys import KeyPair
from servicekit.testing.plugin import running
from servicekit.testing.service import AGENT2_ID, AGENT_ID, ServiceUnderTest


@dataclass
class ProspectusApp(ServiceUnderTest):
    agent_id: uuid.UUID = AGENT_ID
    agent2_id: uuid.UUID = AGENT2_ID

    async def versions(self, lead_id: uuid.UUID) -> list[dict[str, Any]]:
        """The lead's versions, newest first; none while the lead itself has not arrived (404)."""
        response = await self.client.get(f"/api/prospectus/{lead_id}", headers=self.admin)
        if response.status_code == 404:
            return []
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def wait_for_statuses(
        self, lead_id: uuid.UUID, expected: list[str], timeout: float = 20
    ) -> list[dict]:
        """Wait until the lead's versions (newest first) have exactly these statuses."""

        async def settled() -> bool:
            return [v["status"] for v in await self.versions(lead_id)] == expected

        assert await wait_for(settled, timeout=timeout), await self.versions(lead_id)
        return await self.versions(lead_id)


def prospectus_settings(
    database_url: str, nats_url: str, namespace: str, keys: KeyPair, files_dir: Path, **overrides: Any
) -> ProspectusSettings:
    return ProspectusSettings(
        **{
            "database_url": database_url,
            "nats_url": nats_url,
            "bus_namespace": namespace,
            "jwt_public_key": keys.public_pem,
            "auto_migrate": True,
            "outbox_poll_seconds": 0.05,
            "bus_backoff_seconds": [0.05],
            "files_dir": files_dir,
            "worker_poll_seconds": 0.05,
            "render_retry_seconds": 0.05,
            # No gateway runs in these tests: an unanswered request falls back at once or after this.
            "gateway_timeout_seconds": 0.3,
            **overrides,
        }
    )


@pytest.fixture
def start_prospectus(make_database, nats_url, bus_namespace, jwt_keys, tmp_path):
    """Start the service; calling it again with the same database and files restarts it (or starts
    a second replica). The first call may name the database (`database_url`)."""
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def start(*, database_url: str | None = None, **overrides: Any) -> AsyncIterator[ProspectusApp]:
        if "database_url" not in state:
            state["database_url"] = database_url or await make_database("prospectus")
        settings = prospectus_settings(
            state["database_url"],
            nats_url,
            bus_namespace,
            jwt_keys,
            tmp_path / "prospectus-files",
            **overrides,
        )
        app = create_app(definition, settings)
        async with running(app) as client:
            yield ProspectusApp(client, app.state.runtime, jwt_keys)

    return start


@pytest.fixture
async def prospectus_app(start_prospectus) -> AsyncIterator[ProspectusApp]:
    async with start_prospectus() as app:
        yield app


async def known_lead(app: ProspectusApp, lead: LeadSnapshot) -> None:
    """Publish the lead and the catalog, and wait until the service has both."""
    await app.publish(LeadCreated(lead=lead), *catalog_events())

    async def arrived() -> bool:
        async with app.runtime.db.session() as session:
            products = await repo.get_products(session, [p.id for p in sample_products()])
            return await repo.get_lead(session, lead.id) is not None and len(products) == 3

    assert await wait_for(arrived, timeout=15)


@pytest.fixture
def make_known_lead(prospectus_app):
    """A lead of AGENT_ID that the service knows, with the sample catalog."""

    async def make(**fields: Any) -> LeadSnapshot:
        lead = lead_snapshot(AGENT_ID, **fields)
        await known_lead(prospectus_app, lead)
        return lead

    return make
