"""Users admin, settings (encrypted, masked), audit log, and the settings RPC."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from gateway.adapters.tables import settings as settings_table
from parley_contracts import RPC_GATEWAY_SETTINGS, RPC_GATEWAY_USER
from servicekit.demo import DEMO_ADMIN, DEMO_AGENT

pytestmark = pytest.mark.integration

API_KEY = "sk-test-THIS-IS-A-SECRET-KEY-1234567890abcd"


async def test_only_admins_manage_users(stack):
    agent = await stack.login(DEMO_AGENT.email, DEMO_AGENT.password)
    admin = await stack.login(DEMO_ADMIN.email, DEMO_ADMIN.password)
    assert (await stack.client.get("/api/admin/users", headers=agent)).status_code == 403
    new = {"email": "new.agent@example.com", "name": "New Agent", "password": "a-long-password"}
    r = await stack.client.post("/api/admin/users", json=new, headers=admin)
    assert r.status_code == 201 and r.json()["role"] == "AGENT" and "password_hash" not in r.json()
    assert (await stack.client.post("/api/admin/users", json=new, headers=admin)).status_code == 409
    r = await stack.client.post(
        "/api/admin/users", json={**new, "email": "x@example.com", "password": "short"}, headers=admin
    )
    assert r.status_code == 422
    users = (await stack.client.get("/api/admin/users", headers=admin)).json()
    assert users["total"] == 4
    user_id = r.json().get("id") or next(u["id"] for u in users["items"] if u["email"] == new["email"])
    r = await stack.client.patch(f"/api/admin/users/{user_id}", json={"role": "ADMIN"}, headers=admin)
    assert r.status_code == 200 and r.json()["role"] == "ADMIN"
    r = await stack.client.patch(f"/api/admin/users/{DEMO_ADMIN.id}", json={"active": False}, headers=admin)
    assert r.status_code == 422
    await stack.login(new["email"], new["password"])


async def test_settings_are_encrypted_masked_and_audited(stack):
    admin = await stack.login(DEMO_ADMIN.email, DEMO_ADMIN.password)
    r = await stack.client.put(
        "/api/admin/settings",
        headers=admin,
        json={"values": {"openai_api_key": API_KEY, "openai_text_model": "gpt-4.1", "smtp_port": 2525}},
    )
    assert r.status_code == 200, r.text
    by_key = {s["key"]: s for s in r.json()}
    assert by_key["openai_api_key"]["value"] == "••••abcd" and by_key["openai_api_key"]["is_set"]
    assert by_key["openai_text_model"]["value"] == "gpt-4.1" and by_key["smtp_port"]["value"] == 2525
    assert API_KEY not in r.text
    assert API_KEY not in (await stack.client.get("/api/admin/settings", headers=admin)).text

    async with stack.gateway.db.session() as session:
        stored = (
            await session.execute(
                sa.select(settings_table.c.value).where(settings_table.c.key == "openai_api_key")
            )
        ).scalar_one()
    assert API_KEY not in stored and stored.startswith("gAAAA")  # Fernet ciphertext

    audit = (await stack.client.get("/api/admin/audit", params={"entity": "setting"}, headers=admin)).json()
    entry = next(a for a in audit["items"] if a["entity_id"] == "openai_api_key")
    assert entry["after"] == {"value": "••••abcd"} and entry["actor_id"] == str(DEMO_ADMIN.id)
    assert API_KEY not in json.dumps(audit)

    reply = await stack.gateway.bus.nc.request(
        stack.gateway.bus.subject(RPC_GATEWAY_SETTINGS), b'{"keys": ["openai_api_key"]}', timeout=5
    )
    assert json.loads(reply.data)["values"] == {"openai_api_key": API_KEY}
    reply = await stack.gateway.bus.nc.request(
        stack.gateway.bus.subject(RPC_GATEWAY_USER),
        json.dumps({"user_id": str(DEMO_AGENT.id)}).encode(),
        timeout=5,
    )
    assert json.loads(reply.data) | {"id": None} == {
        "found": True,
        "id": None,
        "name": "Sam Agent",
        "email": "agent@example.com",
        "role": "AGENT",
        "active": True,
    }


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"openai_text_model": "gpt-0"}, "openai_text_model"),
        ({"nope": 1}, "nope"),
        ({"smtp_port": "many"}, "smtp_port"),
        ({"brand_primary_color": "red"}, "brand_primary_color"),
        ({"email_from": "a@b.c\r\nBcc: x@y.z"}, "email_from"),
    ],
)
async def test_bad_settings_are_rejected_whole(stack, values, key):
    admin = await stack.login(DEMO_ADMIN.email, DEMO_ADMIN.password)
    r = await stack.client.put(
        "/api/admin/settings", headers=admin, json={"values": {"company_name": "Changed", **values}}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == key
    current = {
        s["key"]: s["value"] for s in (await stack.client.get("/api/admin/settings", headers=admin)).json()
    }
    assert current["company_name"] == "Parley Insurance"
