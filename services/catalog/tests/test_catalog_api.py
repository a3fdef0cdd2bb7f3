"""Categories and products through the real app, DB and NATS: CRUD, RBAC, validation, filters, events."""

from __future__ import annotations

import uuid

import pytest
from parley_contracts import AuditRecorded, DocumentUploaded, ProductDeleted, ProductUpserted
from servicekit.testing.service import ADMIN_ID

from .conftest import product_body
from .samples import text_pdf

pytestmark = pytest.mark.integration


async def test_categories_crud_rbac_and_conflicts(catalog_app):
    c, app = catalog_app.client, catalog_app
    r = await c.post("/api/products/categories", json={"name": "Health"}, headers=app.agent)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    health = await app.category("Health", description="Hospital cover")
    await app.category("Travel")
    r = await c.post("/api/products/categories", json={"name": "  health "}, headers=app.admin)
    assert r.status_code == 409 and r.json()["field"] == "name"

    listed = (await c.get("/api/products/categories", headers=app.agent)).json()
    assert [x["name"] for x in listed["items"]] == ["Health", "Travel"] and listed["total"] == 2

    r = await c.patch(f"/api/products/categories/{health['id']}", json={"name": "Travel"}, headers=app.admin)
    assert r.status_code == 409
    r = await c.patch(f"/api/products/categories/{health['id']}", json={"name": "Medical"}, headers=app.agent)
    assert r.status_code == 403
    r = await c.patch(f"/api/products/categories/{health['id']}", json={"name": "Medical"}, headers=app.admin)
    assert r.status_code == 200 and r.json()["name"] == "Medical"
    assert r.json()["description"] == "Hospital cover"

    await app.product(health["id"])
    r = await c.delete(f"/api/products/categories/{health['id']}", headers=app.admin)
    assert r.status_code == 409 and r.json()["product_count"] == 1
    r = await c.get(f"/api/products/categories/{health['id']}", headers=app.agent)
    assert r.json()["product_count"] == 1
    assert (await c.delete(f"/api/products/categories/{uuid.uuid4()}", headers=app.admin)).status_code == 404


async def test_products_crud_and_rbac(catalog_app):
    c, app = catalog_app.client, catalog_app
    category = await app.category()
    r = await c.post("/api/products", json=product_body(category["id"]), headers=app.agent)
    assert r.status_code == 403
    product = await app.product(category["id"])
    assert product["category_name"] == "Term Life" and product["active"] is True
    assert product["tags"] == ["term", "life", "family protection"]

    r = await c.get(f"/api/products/{product['id']}", headers=app.agent)
    assert r.status_code == 200 and r.json()["premium_range"] == {
        "min": 25.0,
        "max": 120.0,
        "period": "MONTHLY",
        "currency": "USD",
    }
    r = await c.patch(f"/api/products/{product['id']}", json={"description": "Changed"}, headers=app.agent)
    assert r.status_code == 403
    r = await c.patch(
        f"/api/products/{product['id']}",
        json={"eligibility": {"min_age": 21, "max_age": 55}, "premium_range": None},
        headers=app.admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["eligibility"]["min_age"] == 21 and r.json()["premium_range"] is None
    assert r.json()["name"] == "Secure Term 30"

    r = await c.post(
        "/api/products", json=product_body(category["id"], name="secure term 30"), headers=app.admin
    )
    assert r.status_code == 409
    r = await c.post("/api/products", json=product_body(str(uuid.uuid4())), headers=app.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "category_id"]

    assert (await c.delete(f"/api/products/{product['id']}", headers=app.agent)).status_code == 403
    assert (await c.delete(f"/api/products/{product['id']}", headers=app.admin)).status_code == 204
    assert (await c.get(f"/api/products/{product['id']}", headers=app.admin)).status_code == 404
    assert (await c.get("/api/products/not-a-uuid", headers=app.agent)).status_code == 422
    assert (await c.get("/api/products")).status_code == 401


async def test_inactive_products_are_hidden_from_agents(catalog_app):
    c, app = catalog_app.client, catalog_app
    category = await app.category()
    hidden = await app.product(category["id"], active=False)
    shown = await app.product(category["id"], name="Visible Plan")
    agent_list = (await c.get("/api/products", headers=app.agent)).json()
    assert [p["id"] for p in agent_list["items"]] == [shown["id"]]
    assert (await c.get(f"/api/products/{hidden['id']}", headers=app.agent)).status_code == 404
    assert (await c.get(f"/api/products/{hidden['id']}/documents", headers=app.agent)).status_code == 404
    admin_list = (await c.get("/api/products", params={"active": "false"}, headers=app.admin)).json()
    assert [p["id"] for p in admin_list["items"]] == [hidden["id"]]
    assert (await c.get("/api/products/categories", headers=app.agent)).json()["items"][0][
        "product_count"
    ] == 1
    assert (await c.get("/api/products/categories", headers=app.admin)).json()["items"][0][
        "product_count"
    ] == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"eligibility": {"min_age": 65, "max_age": 18}}, "eligibility"),
        ({"eligibility": {"min_age": -1}}, "min_age"),
        ({"premium_range": {"min": 200, "max": 100, "period": "MONTHLY"}}, "premium_range"),
        ({"premium_range": {"min": 10, "max": 20, "period": "WEEKLY"}}, "period"),
        ({"premium_range": {"min": 10, "max": 20, "currency": "usd"}}, "currency"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"tags": ["t" * 51]}, "tags"),
        ({"features": {"": 1}}, "features"),
        ({"features": {"blob": "x" * 30_000}}, "features"),
        ({"coverage_highlights": "not a list"}, "coverage_highlights"),
        ({"unexpected": True}, "unexpected"),
    ],
)
async def test_bad_product_input_is_a_clear_problem(catalog_app, overrides, field):
    category = await catalog_app.category()
    r = await catalog_app.client.post(
        "/api/products", json=product_body(category["id"], **overrides), headers=catalog_app.admin
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert any(field in err["loc"] for err in r.json()["errors"]), r.json()


async def test_bad_patches_are_refused_and_change_nothing(catalog_app):
    c, app = catalog_app.client, catalog_app
    product = await app.product((await app.category())["id"])
    url = f"/api/products/{product['id']}"
    for patch in (
        {"name": None},
        {"eligibility": {"min_age": 70, "max_age": 20}},
        {"colour": "red"},
        {"premium_range": {"min": 5, "max": 1}},
    ):
        r = await c.patch(url, json=patch, headers=app.admin)
        assert r.status_code == 422, (patch, r.text)
    r = await c.patch(url, content=b'{"name": ', headers={**app.admin, "content-type": "application/json"})
    assert r.status_code == 400
    assert (await c.get(url, headers=app.admin)).json() == product


async def test_filters_search_sort_and_pagination(catalog_app):
    c, app = catalog_app.client, catalog_app
    term = await app.category("Term Life")
    health = await app.category("Health")
    await app.product(
        term["id"],
        name="Young Term",
        insurer="Harborline Life",
        eligibility={"min_age": 18, "max_age": 45},
        premium_range={"min": 20, "max": 60, "period": "MONTHLY"},
        tags=["term", "budget"],
    )
    await app.product(
        term["id"],
        name="Senior Term",
        insurer="Meridian",
        eligibility={"min_age": 50, "max_age": 75},
        premium_range={"min": 1200, "max": 3000, "period": "YEARLY"},
        tags=["term", "senior"],
        description="Cover for people approaching retirement",
    )
    await app.product(
        health["id"],
        name="Family Floater",
        insurer="Lumen Health",
        plan_type="health",
        eligibility={"min_age": 0, "max_age": 65},
        premium_range=None,
        tags=["family"],
        coverage_highlights=["Covers 100% of room rent"],
    )

    async def names(**params):
        r = await c.get("/api/products", params=params, headers=app.agent)
        assert r.status_code == 200, r.text
        return [p["name"] for p in r.json()["items"]]

    assert await names() == ["Family Floater", "Senior Term", "Young Term"]
    assert await names(category_id=term["id"]) == ["Senior Term", "Young Term"]
    assert await names(insurer="meridian") == ["Senior Term"]
    assert await names(plan_type="HEALTH") == ["Family Floater"]
    assert await names(tag="Term") == ["Senior Term", "Young Term"]
    assert await names(q="retire") == ["Senior Term"]
    assert await names(q="room rent") == ["Family Floater"]
    # LIKE wildcards are matched literally: only the product with a "%" in its text.
    assert await names(q="%") == ["Family Floater"]
    assert await names(q="_") == []
    assert await names(age=55) == ["Family Floater", "Senior Term"]
    assert await names(age=70) == ["Senior Term"]
    # 1200/year is 100/month; a product without a premium range never claims to fit a budget.
    assert await names(max_monthly_premium=100) == ["Senior Term", "Young Term"]
    assert await names(max_monthly_premium=99.99) == ["Young Term"]
    assert await names(sort="premium") == ["Young Term", "Senior Term", "Family Floater"]
    assert await names(sort="-premium") == ["Senior Term", "Young Term", "Family Floater"]
    assert await names(sort="-name", page_size=2, page=2) == ["Family Floater"]
    page = (await c.get("/api/products", params={"page_size": 2}, headers=app.agent)).json()
    assert page["total"] == 3 and page["page_size"] == 2 and len(page["items"]) == 2
    for bad in (
        {"sort": "name; drop table"},
        {"age": 200},
        {"max_monthly_premium": "inf"},
        {"page_size": 1000},
        {"category_id": "x"},
    ):
        assert (await c.get("/api/products", params=bad, headers=app.agent)).status_code == 422, bad


async def test_changes_emit_events_through_the_outbox(catalog_app):
    c, app = catalog_app.client, catalog_app
    category = await app.category()
    product = await app.product(category["id"])
    upserted = await app.last_event(ProductUpserted)
    assert str(upserted.product.id) == product["id"] and upserted.product.category_name == "Term Life"
    assert upserted.product.tags == ["term", "life", "family protection"] and upserted.actor_id == ADMIN_ID
    assert upserted.product.premium_range.monthly() == (25.0, 120.0)

    await c.patch(f"/api/products/categories/{category['id']}", json={"name": "Life"}, headers=app.admin)
    assert (await app.last_event(ProductUpserted)).product.category_name == "Life"
    audit = await app.last_event(AuditRecorded)
    assert (
        audit.action == "category.updated"
        and audit.before == {"name": "Term Life"}
        and audit.after == {"name": "Life"}
    )

    r = await c.patch(
        f"/api/products/{product['id']}", json={"riders": ["Waiver of Premium"]}, headers=app.admin
    )
    assert r.status_code == 200
    assert (await app.last_event(ProductUpserted)).product.riders == ["Waiver of Premium"]
    audit = await app.last_event(AuditRecorded)
    assert audit.service == "catalog" and audit.entity == "product" and audit.action == "product.updated"
    assert audit.before == {"riders": ["Accidental Death Benefit"]} and audit.after == {
        "riders": ["Waiver of Premium"]
    }

    # Deactivating withdraws the product from the index; reactivating announces it and its documents again.
    assert (
        await app.upload(product["id"], "wording.pdf", text_pdf("Policy wording"), "application/pdf")
    ).status_code == 201
    await c.patch(f"/api/products/{product['id']}", json={"active": False}, headers=app.admin)
    assert str((await app.last_event(ProductDeleted)).product_id) == product["id"]
    before = await app.event_counts()
    await c.patch(f"/api/products/{product['id']}", json={"active": True}, headers=app.admin)
    after = await app.event_counts()
    assert after["catalog.product.upserted"] == before["catalog.product.upserted"] + 1
    assert after["catalog.document.uploaded"] == before["catalog.document.uploaded"] + 1

    unchanged = await c.patch(
        f"/api/products/{product['id']}", json={"riders": ["Waiver of Premium"]}, headers=app.admin
    )
    assert unchanged.status_code == 200 and await app.event_counts() == after

    await c.delete(f"/api/products/{product['id']}", headers=app.admin)
    assert str((await app.last_event(ProductDeleted)).product_id) == product["id"]
    assert (await app.last_event(AuditRecorded)).action == "product.deleted"


async def test_reindex_re_emits_active_products_and_their_documents(catalog_app):
    c, app = catalog_app.client, catalog_app
    category = await app.category()
    first = await app.product(category["id"], name="First")
    await app.product(category["id"], name="Second")
    inactive = await app.product(category["id"], name="Retired", active=False)
    for product, text in ((first, "First wording"), (inactive, "Retired wording")):
        r = await app.upload(product["id"], "wording.txt", text.encode(), "text/plain")
        assert r.status_code == 201
    assert (await c.post("/api/products/reindex", headers=app.agent)).status_code == 403
    before = await app.event_counts()
    r = await c.post("/api/products/reindex", headers=app.admin)
    assert r.status_code == 202 and r.json() == {"products": 2, "documents": 1}
    after = await app.event_counts()
    assert after["catalog.product.upserted"] - before["catalog.product.upserted"] == 2
    assert after["catalog.document.uploaded"] - before["catalog.document.uploaded"] == 1
    document = await app.last_event(DocumentUploaded)
    assert str(document.product_id) == first["id"] and document.text_chars == len("First wording")
    assert (await app.last_event(AuditRecorded)).action == "catalog.reindex_requested"
