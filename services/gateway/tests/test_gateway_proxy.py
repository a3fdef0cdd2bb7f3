"""The proxy to the leads service, the audit trail of lead changes, docs, health, and log hygiene."""

from __future__ import annotations

import pytest
from servicekit.bus import wait_for
from servicekit.demo import DEMO_ADMIN, DEMO_AGENT, DEMO_AGENT2

pytestmark = pytest.mark.integration


async def test_agents_see_only_their_leads_through_the_gateway(stack):
    agent = await stack.login(DEMO_AGENT.email, DEMO_AGENT.password)
    agent2 = await stack.login(DEMO_AGENT2.email, DEMO_AGENT2.password)
    admin = await stack.login(DEMO_ADMIN.email, DEMO_ADMIN.password)
    mine = await stack.client.post(
        "/api/leads", json={"name": "Mine", "phone": "+14155550101"}, headers=agent
    )
    assert mine.status_code == 201, mine.text
    other = await stack.client.post(
        "/api/leads", json={"name": "Other", "phone": "+14155550102"}, headers=agent2
    )
    listed = (await stack.client.get("/api/leads", headers=agent)).json()
    assert [i["name"] for i in listed["items"]] == ["Mine"]
    r = await stack.client.get(f"/api/leads/{other.json()['id']}", headers=agent)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert (await stack.client.get("/api/leads", headers=admin)).json()["total"] == 2
    r = await stack.client.post(
        "/api/leads", content=b"{oops", headers={**agent, "content-type": "application/json"}
    )
    assert r.status_code == 400


async def test_lead_changes_reach_the_audit_log(stack):
    agent = await stack.login(DEMO_AGENT.email, DEMO_AGENT.password)
    admin = await stack.login(DEMO_ADMIN.email, DEMO_ADMIN.password)
    lead = (
        await stack.client.post(
            "/api/leads", json={"name": "Audited", "phone": "+14155550103"}, headers=agent
        )
    ).json()
    await stack.client.patch(f"/api/leads/{lead['id']}", json={"status": "QUALIFIED"}, headers=agent)

    async def audited() -> bool:
        r = await stack.client.get(
            "/api/admin/audit", params={"entity": "lead", "entity_id": lead["id"]}, headers=admin
        )
        return r.json()["total"] >= 2

    assert await wait_for(audited, timeout=15)
    items = (
        await stack.client.get("/api/admin/audit", params={"entity_id": lead["id"]}, headers=admin)
    ).json()
    update = next(i for i in items["items"] if i["action"] == "lead.updated")
    assert update["before"] == {"status": "NEW"} and update["after"] == {"status": "QUALIFIED"}
    assert update["actor_id"] == str(DEMO_AGENT.id) and update["service"] == "leads"
    agent_view = await stack.client.get("/api/admin/audit", headers=agent)
    assert agent_view.status_code == 403


async def test_unknown_and_unavailable_areas(stack):
    agent = await stack.login(DEMO_AGENT.email, DEMO_AGENT.password)
    r = await stack.client.get("/api/nowhere/x", headers=agent)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await stack.client.get("/api/products", headers=agent)  # catalog points at a closed port
    assert r.status_code == 503 and "catalog" in r.json()["detail"]


async def test_merged_openapi_docs_and_readiness(stack):
    spec = (await stack.client.get("/api/openapi.json")).json()
    assert {
        "/api/auth/login",
        "/api/admin/settings",
        "/api/leads",
        "/api/leads/{lead_id}",
        "/api/leads/import",
    } <= set(spec["paths"])
    assert "LeadOut" in spec["components"]["schemas"]
    html = (await stack.client.get("/api/docs")).text
    assert "/docs-static/swagger-ui-bundle.js" in html
    assert (await stack.client.get("/docs-static/swagger-ui-bundle.js")).status_code == 200
    ready = (await stack.client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["dependencies"]["leads"] == "ok"
    assert ready["dependencies"]["catalog"].startswith("unreachable")
    assert "parley_http_requests_total" in (await stack.client.get("/metrics")).text


async def test_no_secret_reaches_the_logs(stack, capfd):
    api_key = "sk-live-VERYSECRETVALUE-0000000000wxyz"
    capfd.readouterr()
    login = await stack.client.post(
        "/api/auth/login", json={"email": DEMO_ADMIN.email, "password": DEMO_ADMIN.password}
    )
    token = login.json()["access_token"]
    refresh = login.json()["refresh_token"]
    admin = {"Authorization": f"Bearer {token}"}
    await stack.client.put("/api/admin/settings", json={"values": {"openai_api_key": api_key}}, headers=admin)
    await stack.client.post(
        "/api/auth/login", json={"email": DEMO_ADMIN.email, "password": "wrong-password-x"}
    )
    await stack.client.get("/api/leads?token=" + token, headers=admin)
    await stack.client.post("/api/auth/refresh", json={"refresh_token": refresh})
    out, err = capfd.readouterr()
    logs = out + err
    assert "/api/admin/settings" in logs  # the requests were logged...
    for secret in (api_key, DEMO_ADMIN.password, "wrong-password-x", token, refresh):
        assert secret not in logs  # ...without any secret in them
