from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from catalog.main import definition
from catalog.settings import CatalogSettings
from parley_contracts import Event
from servicekit.app import create_app
from servicekit.bus import wait_for
from servicekit.testing.keys import KeyPair
from servicekit.testing.plugin import running
from servicekit.testing.service import ServiceUnderTest

# Small enough that the size-limit tests stay fast; every other test file is far below it.
TEST_MAX_UPLOAD_BYTES = 256 * 1024


@dataclass
class CatalogApp(ServiceUnderTest):
    documents_dir: Path

    def stored_files(self) -> list[Path]:
        return sorted(p for p in self.documents_dir.rglob("*") if p.is_file())

    async def category(self, name: str = "Term Life", **fields: Any) -> dict[str, Any]:
        r = await self.client.post(
            "/api/products/categories", json={"name": name, **fields}, headers=self.admin
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def product(self, category_id: str, **overrides: Any) -> dict[str, Any]:
        r = await self.client.post(
            "/api/products", json=product_body(category_id, **overrides), headers=self.admin
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def upload(
        self,
        product_id: str,
        filename: str,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/products/{product_id}/documents",
            files={"file": (filename, data, content_type)},
            headers=self.admin if headers is None else headers,
        )

    async def published(self) -> None:
        async def outbox_empty() -> bool:
            return await self.runtime.relay.pending_count() == 0

        assert await wait_for(outbox_empty)

    async def last_event(self, event_type: type[Event]) -> Any:
        await self.published()
        bus = self.runtime.bus
        message = await bus.js.get_last_msg(
            bus.stream_name(event_type.subject), bus.subject(event_type.subject)
        )
        return event_type.model_validate_json(message.data)

    async def event_counts(self) -> dict[str, int]:
        """Messages per bare subject in the catalog stream."""
        await self.published()
        bus = self.runtime.bus
        info = await bus.js.stream_info(
            bus.stream_name("catalog.product.upserted"), subjects_filter=bus.subject("catalog.>")
        )
        return {bus.bare_subject(subject): count for subject, count in (info.state.subjects or {}).items()}


def product_body(category_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Secure Term 30",
        "category_id": category_id,
        "insurer": "Harborline Life",
        "plan_type": "term",
        "eligibility": {"min_age": 18, "max_age": 60},
        "coverage_highlights": ["Level death benefit", "Fixed premium"],
        "premium_range": {"min": 25, "max": 120, "period": "MONTHLY", "currency": "USD"},
        "cover_amount": "$250,000 to $2,000,000",
        "exclusions": ["Suicide within 12 months"],
        "riders": ["Accidental Death Benefit"],
        "claim_process": ["Notify within 90 days"],
        "tags": ["Term", "life", "family protection"],
        "features": {"policy_terms_years": [10, 20, 30]},
        "description": "Affordable pure term life cover.",
    }
    body.update(overrides)
    return body


async def start_catalog(
    database_url: str, nats_url: str, namespace: str, keys: KeyPair, documents_dir: Path, **overrides: Any
):
    settings = CatalogSettings(
        database_url=database_url,
        nats_url=nats_url,
        bus_namespace=namespace,
        jwt_public_key=keys.public_pem,
        auto_migrate=True,
        outbox_poll_seconds=0.05,
        bus_backoff_seconds=[0.05],
        log_json=True,
        documents_dir=documents_dir,
        max_upload_bytes=TEST_MAX_UPLOAD_BYTES,
        **overrides,
    )
    return create_app(definition, settings)


@asynccontextmanager
async def serve_catalog(
    database_url: str, nats_url: str, namespace: str, keys: KeyPair, documents_dir: Path
) -> AsyncIterator[CatalogApp]:
    app = await start_catalog(database_url, nats_url, namespace, keys, documents_dir)
    async with running(app) as client:
        yield CatalogApp(client, app.state.runtime, keys, documents_dir)


@pytest.fixture
async def catalog_app(
    make_database, nats_url, bus_namespace, jwt_keys, tmp_path
) -> AsyncIterator[CatalogApp]:
    async with serve_catalog(
        await make_database("catalog"), nats_url, bus_namespace, jwt_keys, tmp_path / "documents"
    ) as app:
        yield app
