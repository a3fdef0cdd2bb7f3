"""The MySQL/MariaDB profile: migrations, the demo seed, filters and long document text on a real MariaDB."""

from __future__ import annotations

import pytest
from catalog.seed import seed

from .conftest import serve_catalog

pytestmark = pytest.mark.integration


async def test_catalog_on_mariadb(make_mysql_database, nats_url, bus_namespace, jwt_keys, tmp_path):
    database_url = await make_mysql_database("catalog")
    async with serve_catalog(database_url, nats_url, bus_namespace, jwt_keys, tmp_path / "documents") as app:
        await seed(app.runtime)
        c = app.client
        products = (
            await c.get(
                "/api/products",
                params={"age": 70, "max_monthly_premium": 200, "sort": "-premium"},
                headers=app.agent,
            )
        ).json()
        assert products["total"] >= 1
        assert all(
            p["eligibility"]["min_age"] <= 70 <= p["eligibility"]["max_age"] for p in products["items"]
        )
        tagged = (await c.get("/api/products", params={"tag": "term"}, headers=app.agent)).json()
        assert tagged["total"] >= 1 and all("term" in p["tags"] for p in tagged["items"])

        category = await app.category("Ünïcödé ✓")
        product = await app.product(category["id"], name="Long Wording Plan")
        # Longer than MySQL's 64 KB TEXT: the extracted text column must be LONGTEXT.
        text = ("Clause ✓ — cover applies in full. " * 3000).encode()
        r = await app.upload(product["id"], "long.txt", text, "text/plain")
        assert r.status_code == 201, r.text
        assert r.json()["text_chars"] == len(text.decode())
        download = await c.get(r.json()["download_url"], headers=app.agent)
        assert download.content == text
        assert (await c.delete(f"/api/products/{product['id']}", headers=app.admin)).status_code == 204
        assert (
            await c.delete(f"/api/products/categories/{category['id']}", headers=app.admin)
        ).status_code == 204
