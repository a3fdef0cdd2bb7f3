"""The demo catalog seeds through the same paths as the API, completely and idempotently."""

from __future__ import annotations

import pytest
from catalog.demo import load_demo_catalog
from catalog.seed import seed
from parley_contracts import RPC_CATALOG_DOCUMENT_TEXT, DocumentTextReply, DocumentTextRequest

pytestmark = pytest.mark.integration


async def test_seed_loads_the_demo_catalog_once(catalog_app):
    c, app = catalog_app.client, catalog_app
    demo = load_demo_catalog()
    await seed(app.runtime)

    categories = (
        await c.get("/api/products/categories", params={"page_size": 100}, headers=app.agent)
    ).json()
    products = (await c.get("/api/products", params={"page_size": 100}, headers=app.agent)).json()
    assert categories["total"] >= 6 and products["total"] >= 15
    assert categories["total"] == len(demo.categories) and products["total"] == len(demo.products)
    assert {p["id"] for p in products["items"]} == {str(p.id) for p in demo.products}
    stored = {p["id"]: p for p in products["items"]}
    for product in demo.products:
        assert {
            k: v
            for k, v in stored[str(product.id)].items()
            if k not in ("active", "created_at", "updated_at")
        } == {k: v for k, v in product.model_dump(mode="json").items() if k != "updated_at"}

    documents = []
    for category in categories["items"]:
        page = (
            await c.get(
                f"/api/products/categories/{category['id']}/documents",
                params={"page_size": 100},
                headers=app.agent,
            )
        ).json()
        documents.extend(page["items"])
    assert {d["id"] for d in documents} == {str(d.id) for d in demo.documents}
    assert len(app.stored_files()) == len(demo.documents)
    # The stored extracted text is the text the recommendation evaluation indexes.
    for document in demo.documents:
        reply = DocumentTextReply.model_validate_json(
            await app.runtime.bus.request(
                RPC_CATALOG_DOCUMENT_TEXT, DocumentTextRequest(document_id=document.id, limit=200_000)
            )
        )
        assert reply.text == document.text, document.filename

    counts = await app.event_counts()
    assert counts["catalog.product.upserted"] == len(demo.products)
    assert counts["catalog.document.uploaded"] == len(demo.documents)
    await seed(app.runtime)
    assert await app.event_counts() == counts
    assert (await c.get("/api/products", headers=app.agent)).json()["total"] == len(demo.products)
