"""The MySQL/MariaDB profile: migrations and lead CRUD on a real MariaDB."""

from __future__ import annotations

import pytest
from servicekit.testing.plugin import running
from servicekit.testing.service import AGENT_ID

from .conftest import LeadsApp, start_leads

pytestmark = pytest.mark.integration


async def test_migrations_and_crud_on_mariadb(
    make_mysql_database, nats_url, bus_namespace, jwt_keys, lead_body
):
    app = await start_leads(await make_mysql_database("leads"), nats_url, bus_namespace, jwt_keys)
    async with running(app) as client:
        ctx = LeadsApp(client, app.state.runtime, jwt_keys)
        created = await client.post("/api/leads", json=lead_body(notes="ünïcödé ✓"), headers=ctx.agent)
        assert created.status_code == 201, created.text
        lead_id = created.json()["id"]
        got = (await client.get(f"/api/leads/{lead_id}", headers=ctx.agent)).json()
        assert got["notes"] == "ünïcödé ✓" and got["assigned_agent_id"] == str(AGENT_ID)
        patched = await client.patch(f"/api/leads/{lead_id}", json={"status": "QUALIFIED"}, headers=ctx.agent)
        assert patched.json()["status"] == "QUALIFIED"
        assert (await client.get("/api/leads", params={"q": "ada"}, headers=ctx.agent)).json()["total"] == 1
        assert (await client.delete(f"/api/leads/{lead_id}", headers=ctx.admin)).status_code == 204
