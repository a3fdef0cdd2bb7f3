from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from parley_contracts import (
    Event,
    LeadCreated,
    LeadSnapshot,
    ProductSnapshot,
    ProductUpserted,
)
from rag.adapters.tables import products as products_table
from rag.domain.embedding import Embedder
from rag.main import build_definition
from rag.service_layer import RagEngine
from rag.settings import RagSettings
from rag.testing.embedders import shared_minilm_embedder
from servicekit.app import create_app
from servicekit.auth import Role
from servicekit.bus import wait_for
from servicekit.runtime import ServiceRuntime
from servicekit.testing.keys import KeyPair, mint_token
from servicekit.testing.plugin import running
from sqlalchemy import func, select

ADMIN_ID = uuid.uuid4()
AGENT_ID = uuid.uuid4()
AGENT2_ID = uuid.uuid4()
LIFE_CATEGORY = uuid.uuid4()
HEALTH_CATEGORY = uuid.uuid4()


def snapshot(name: str, category: str, **fields: Any) -> ProductSnapshot:
    category_id = LIFE_CATEGORY if "Life" in category else HEALTH_CATEGORY
    body: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": name,
        "category_id": category_id,
        "category_name": category,
        "insurer": "Harborline Life",
        "plan_type": "term",
        "eligibility": {"min_age": 18, "max_age": 60},
        "coverage_highlights": ["Level death benefit", "Fixed premium"],
        "premium_range": {"min": 25, "max": 120, "period": "MONTHLY", "currency": "USD"},
        "tags": ["term", "life", "family protection"],
        "description": "Affordable pure term life cover for young families.",
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    body.update(fields)
    return ProductSnapshot.model_validate(body)


def tiny_catalog() -> dict[str, ProductSnapshot]:
    return {
        "term": snapshot("Secure Term 30", "Term Life"),
        "senior_life": snapshot(
            "Golden Years Life",
            "Term Life",
            eligibility={"min_age": 60, "max_age": 85},
            premium_range={"min": 90, "max": 250, "period": "MONTHLY", "currency": "USD"},
            tags=["seniors", "final expenses"],
            description="Life cover for people over sixty.",
        ),
        "health": snapshot(
            "Family Health Shield",
            "Health Insurance",
            plan_type="family floater",
            eligibility={"min_age": 18, "max_age": 65},
            coverage_highlights=["Hospitalisation cover", "Cashless network hospitals"],
            premium_range={"min": 40, "max": 160, "period": "MONTHLY", "currency": "USD"},
            tags=["health", "family", "hospital"],
            description="Health insurance covering hospital stays for the whole family.",
        ),
    }


@dataclass
class RagApp:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    keys: KeyPair

    def auth(self, user_id: uuid.UUID, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.keys, user_id=user_id, role=role)}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(ADMIN_ID, Role.ADMIN)

    @property
    def agent(self) -> dict[str, str]:
        return self.auth(AGENT_ID, Role.AGENT)

    @property
    def agent2(self) -> dict[str, str]:
        return self.auth(AGENT2_ID, Role.AGENT)

    @property
    def engine(self) -> RagEngine:
        engine: RagEngine = self.runtime.extras["rag"]
        return engine

    async def publish(self, *events: Event) -> None:
        for event in events:
            await self.runtime.bus.publish_now(event)

    async def eventually(self, predicate: Callable[[], Any], timeout: float = 15.0) -> None:
        async def check() -> bool:
            return bool(await predicate())

        assert await wait_for(check, timeout=timeout)

    async def index_products(self, *products: ProductSnapshot) -> None:
        await self.publish(*(ProductUpserted(product=p) for p in products))
        wanted = {p.id for p in products}

        async def indexed() -> bool:
            async with self.runtime.db.session() as session:
                known = await session.scalar(
                    select(func.count())
                    .select_from(products_table)
                    .where(products_table.c.id.in_([str(i) for i in wanted]))
                )
            return known == len(wanted)

        await self.eventually(indexed)

    async def lead(self, agent_id: uuid.UUID | None = AGENT_ID) -> uuid.UUID:
        lead_id = uuid.uuid4()
        await self.publish(
            LeadCreated(
                lead=LeadSnapshot(id=lead_id, name="Ana", phone="+15550100", assigned_agent_id=agent_id)
            )
        )

        async def known() -> bool:
            from rag.adapters import repository as repo

            async with self.runtime.db.session() as session:
                return await repo.lead_owner(session, lead_id) is not None

        await self.eventually(known)
        return lead_id

    async def published(self) -> None:
        async def outbox_empty() -> bool:
            return await self.runtime.relay.pending_count() == 0

        assert await wait_for(outbox_empty)


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    return shared_minilm_embedder()


def rag_settings(
    database_url: str, nats_url: str, namespace: str, keys: KeyPair, data_dir: Path, **overrides: Any
) -> RagSettings:
    return RagSettings(
        database_url=database_url,
        nats_url=nats_url,
        bus_namespace=namespace,
        jwt_public_key=keys.public_pem,
        auto_migrate=True,
        outbox_poll_seconds=0.05,
        bus_backoff_seconds=[0.05],
        log_json=True,
        data_dir=data_dir,
        gateway_timeout_seconds=0.2,
        **overrides,
    )


@asynccontextmanager
async def serve_rag(settings: RagSettings, keys: KeyPair, embedder: Embedder | None) -> AsyncIterator[RagApp]:
    """The service; `embedder=None` lets it choose (OpenAI when a key is set), else the shared model."""
    definition = build_definition() if embedder is None else build_definition(lambda _settings: embedder)
    app = create_app(definition, settings)
    async with running(app) as client:
        yield RagApp(client, app.state.runtime, keys)


@pytest.fixture
def make_rag(make_database, nats_url, bus_namespace, jwt_keys, tmp_path):
    @asynccontextmanager
    async def make(
        embedder: Embedder | None, *, database_url: str | None = None, **overrides: Any
    ) -> AsyncIterator[RagApp]:
        """`database_url`: a given database instead of a fresh one from `make_database`."""
        database_url = database_url or await make_database("rag")
        settings = rag_settings(
            database_url, nats_url, bus_namespace, jwt_keys, tmp_path / "data", **overrides
        )
        async with serve_rag(settings, jwt_keys, embedder) as app:
            yield app

    return make


@pytest.fixture
async def rag_app(make_rag, minilm) -> AsyncIterator[RagApp]:
    async with make_rag(minilm) as app:
        yield app
