"""Lead CRUD, ownership and validation through the real app, DB and NATS."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from parley_contracts import LeadConsentChanged, LeadCreated
from servicekit.auth import Role
from servicekit.bus import wait_for
from servicekit.testing.keys import generate_key_pair, mint_token
from servicekit.testing.service import AGENT2_ID, AGENT_ID

pytestmark = pytest.mark.integration


async def test_agents_see_only_their_own_leads_admin_sees_all(leads_app, lead_body):
    c = leads_app.client
    mine = (await c.post("/api/leads", json=lead_body(), headers=leads_app.agent)).json()
    theirs = (
        await c.post(
            "/api/leads",
            json=lead_body(phone="+14155550199", email="b@example.com"),
            headers=leads_app.agent2,
        )
    ).json()
    assert mine["assigned_agent_id"] == str(AGENT_ID)

    listed = (await c.get("/api/leads", headers=leads_app.agent)).json()
    assert [i["id"] for i in listed["items"]] == [mine["id"]] and listed["total"] == 1

    response = await c.get(f"/api/leads/{theirs['id']}", headers=leads_app.agent)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert (
        await c.patch(f"/api/leads/{theirs['id']}", json={"notes": "x"}, headers=leads_app.agent)
    ).status_code == 404
    assert (await c.get(f"/api/leads/{theirs['id']}/activities", headers=leads_app.agent)).status_code == 404
    assert (await c.get("/api/leads", params={"agent_id": str(AGENT2_ID)}, headers=leads_app.agent)).json()[
        "total"
    ] == 0

    everyone = (await c.get("/api/leads", headers=leads_app.admin)).json()
    assert {i["id"] for i in everyone["items"]} == {mine["id"], theirs["id"]}


async def test_only_admins_assign_and_delete(leads_app, lead_body):
    c = leads_app.client
    lead = (await c.post("/api/leads", json=lead_body(), headers=leads_app.agent)).json()
    r = await c.patch(
        f"/api/leads/{lead['id']}", json={"assigned_agent_id": str(AGENT2_ID)}, headers=leads_app.agent
    )
    assert r.status_code == 403
    r = await c.post(
        "/api/leads",
        json=lead_body(phone="+14155550111", email=None, assigned_agent_id=str(AGENT2_ID)),
        headers=leads_app.agent,
    )
    assert r.status_code == 403
    r = await c.patch(
        f"/api/leads/{lead['id']}", json={"assigned_agent_id": str(AGENT2_ID)}, headers=leads_app.admin
    )
    assert r.status_code == 200 and r.json()["assigned_agent_id"] == str(AGENT2_ID)
    assert (await c.get(f"/api/leads/{lead['id']}", headers=leads_app.agent)).status_code == 404
    assert (await c.delete(f"/api/leads/{lead['id']}", headers=leads_app.agent2)).status_code == 403
    assert (await c.delete(f"/api/leads/{lead['id']}", headers=leads_app.admin)).status_code == 204
    assert (await c.get(f"/api/leads/{lead['id']}", headers=leads_app.admin)).status_code == 404


async def test_filters_search_sort_and_pagination(leads_app, lead_body):
    c = leads_app.client
    for i, (name, status) in enumerate(
        [("Zed", "NEW"), ("Amy", "QUALIFIED"), ("Bob", "NEW"), ("Cara", "LOST")]
    ):
        r = await c.post(
            "/api/leads",
            json=lead_body(name=name, phone=f"+1415555020{i}", email=None, status=status),
            headers=leads_app.agent,
        )
        assert r.status_code == 201, r.text
    page = (
        await c.get("/api/leads", params={"sort": "name", "page_size": 2}, headers=leads_app.agent)
    ).json()
    assert [i["name"] for i in page["items"]] == ["Amy", "Bob"] and page["total"] == 4
    page2 = (
        await c.get("/api/leads", params={"sort": "name", "page_size": 2, "page": 2}, headers=leads_app.agent)
    ).json()
    assert [i["name"] for i in page2["items"]] == ["Cara", "Zed"]
    new = (
        await c.get("/api/leads", params={"status": "NEW", "sort": "-name"}, headers=leads_app.agent)
    ).json()
    assert [i["name"] for i in new["items"]] == ["Zed", "Bob"]
    found = (await c.get("/api/leads", params={"q": "car"}, headers=leads_app.agent)).json()
    assert [i["name"] for i in found["items"]] == ["Cara"]
    assert (await c.get("/api/leads", params={"q": "%"}, headers=leads_app.agent)).json()["total"] == 0
    assert (
        await c.get("/api/leads", params={"sort": "phone; drop"}, headers=leads_app.agent)
    ).status_code == 422
    assert (await c.get("/api/leads", params={"page_size": 1000}, headers=leads_app.agent)).status_code == 422


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"phone": "555-0100"}, 422, "phone"),
        ({"phone": "+1415"}, 422, "phone"),
        ({"timezone": "Mars/Olympus"}, 422, "timezone"),
        ({"age": "forty"}, 422, "age"),
        ({"email": "not-an-email"}, 422, "email"),
        (
            {"preferred_time_windows": [{"days": ["MON"], "start": "9am", "end": "12:00"}]},
            422,
            "preferred_time_windows",
        ),
        ({"status": "WON"}, 422, "status"),
        ({"unexpected": 1}, 422, "unexpected"),
    ],
)
async def test_bad_lead_input_is_a_clear_problem(leads_app, lead_body, body, status, field):
    r = await leads_app.client.post("/api/leads", json=lead_body(**body), headers=leads_app.agent)
    assert r.status_code == status
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["status"] == status and problem["title"]
    assert any(field in err["loc"] for err in problem["errors"])


async def test_malformed_json_and_tokens(leads_app):
    c = leads_app.client
    r = await c.post(
        "/api/leads",
        content=b'{"name": "x",',
        headers={**leads_app.agent, "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["type"].endswith("/malformed-json")
    assert (await c.get("/api/leads")).status_code == 401
    expired = mint_token(leads_app.keys, user_id=AGENT_ID, role=Role.AGENT, expires_in=timedelta(seconds=-5))
    r = await c.get("/api/leads", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    forged = mint_token(generate_key_pair(), user_id=AGENT_ID, role=Role.ADMIN)
    r = await c.get("/api/leads", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    refresh = mint_token(leads_app.keys, user_id=AGENT_ID, role=Role.AGENT, token_type="refresh")
    assert (await c.get("/api/leads", headers={"Authorization": f"Bearer {refresh}"})).status_code == 401
    assert (await c.get("/api/leads", headers={"Authorization": "Bearer garbage"})).status_code == 401
    assert (await c.get(f"/api/leads/{uuid.uuid4()}", headers=leads_app.agent)).status_code == 404
    assert (await c.get("/api/leads/not-a-uuid", headers=leads_app.agent)).status_code == 422


async def test_duplicate_contacts_conflict(leads_app, lead_body):
    c = leads_app.client
    assert (await c.post("/api/leads", json=lead_body(), headers=leads_app.agent)).status_code == 201
    r = await c.post("/api/leads", json=lead_body(email="other@example.com"), headers=leads_app.agent2)
    assert r.status_code == 409 and r.json()["field"] == "phone"
    r = await c.post(
        "/api/leads", json=lead_body(phone="+14155550188", email="ADA@example.com"), headers=leads_app.agent
    )
    assert r.status_code == 409 and r.json()["field"] == "email"


async def test_changes_emit_events_through_the_outbox(leads_app, lead_body):
    c, bus = leads_app.client, leads_app.runtime.bus
    lead = (await c.post("/api/leads", json=lead_body(), headers=leads_app.agent)).json()
    r = await c.patch(
        f"/api/leads/{lead['id']}",
        json={"consent_flags": {"dnd": True}, "status": "CONTACTED"},
        headers=leads_app.agent,
    )
    assert r.status_code == 200 and r.json()["consent_flags"]["dnd"] is True

    async def published() -> bool:
        return await leads_app.runtime.relay.pending_count() == 0

    assert await wait_for(published)
    stream = bus.stream_name("lead.created")
    created = LeadCreated.model_validate_json(
        (await bus.js.get_last_msg(stream, bus.subject("lead.created"))).data
    )
    assert str(created.lead.id) == lead["id"] and created.lead.phone == "+14155550123"
    consent = LeadConsentChanged.model_validate_json(
        (await bus.js.get_last_msg(stream, bus.subject("lead.consent_changed"))).data
    )
    assert consent.consent_flags.dnd and consent.previous is not None and not consent.previous.dnd
    audit = await bus.js.get_last_msg(bus.stream_name("audit.recorded"), bus.subject("audit.recorded"))
    assert b'"action":"lead.updated"' in audit.data and b'"dnd":true' in audit.data

    timeline = (
        await c.get(f"/api/leads/{lead['id']}/activities", params={"order": "asc"}, headers=leads_app.agent)
    ).json()
    assert [a["type"] for a in timeline["items"]] == ["LEAD", "STATUS_CHANGE", "CONSENT"]


async def test_manual_notes(leads_app, lead_body):
    c = leads_app.client
    lead = (await c.post("/api/leads", json=lead_body(), headers=leads_app.agent)).json()
    r = await c.post(
        f"/api/leads/{lead['id']}/activities", json={"text": "Prefers WhatsApp"}, headers=leads_app.agent
    )
    assert r.status_code == 201 and r.json()["type"] == "NOTE"
    r = await c.post(
        f"/api/leads/{lead['id']}/activities", json={"type": "EMAIL", "text": "x"}, headers=leads_app.agent
    )
    assert r.status_code == 422
    r = await c.post(f"/api/leads/{lead['id']}/activities", json={"text": "hi"}, headers=leads_app.agent2)
    assert r.status_code == 404


async def test_filters_narrow_the_list_and_the_pipeline_counts_the_visible_leads(leads_app):
    c = leads_app.client
    rows = [
        {"name": "Filter A", "phone": "+12125550201", "email": "fa@example.com", "age": 30, "source": "web"},
        {"name": "Filter B", "phone": "+12125550202", "age": 55, "source": "Referral"},
        {"name": "Filter C", "phone": "+12125550203", "consent_flags": {"dnd": True}, "status": "QUALIFIED"},
    ]
    for row in rows:
        assert (await c.post("/api/leads", json=row, headers=leads_app.agent)).status_code == 201
    await c.post("/api/leads", json={"name": "Other", "phone": "+12125550204"}, headers=leads_app.agent2)

    async def names(**params):
        response = await c.get("/api/leads", params={"q": "Filter", **params}, headers=leads_app.agent)
        assert response.status_code == 200, response.text
        return sorted(item["name"] for item in response.json()["items"])

    assert await names(has_email=True) == ["Filter A"]
    assert await names(has_email=False) == ["Filter B", "Filter C"]
    assert await names(source="referral") == ["Filter B"]
    assert await names(age_min=40) == ["Filter B"]
    assert await names(age_max=40) == ["Filter A"]
    assert await names(dnd=True) == ["Filter C"]
    assert await names(dnd=False) == ["Filter A", "Filter B"]
    bad = await c.get("/api/leads", params={"age_min": "old"}, headers=leads_app.agent)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"

    mine = (await c.get("/api/leads/pipeline", headers=leads_app.agent)).json()
    counts = {item["status"]: item["count"] for item in mine["counts"]}
    assert [item["status"] for item in mine["counts"]] == [
        "NEW",
        "CONTACTED",
        "QUALIFIED",
        "PROPOSAL_SENT",
        "CONVERTED",
        "LOST",
    ]
    assert counts["NEW"] == 2 and counts["QUALIFIED"] == 1 and mine["total"] == 3
    everyone = (await c.get("/api/leads/pipeline", headers=leads_app.admin)).json()
    assert everyone["total"] == 4


async def test_other_services_can_ask_for_a_lead_they_have_not_projected_yet(leads_app, lead_body):
    from parley_contracts import RPC_LEADS_SNAPSHOT, LeadSnapshotReply, LeadSnapshotRequest

    created = (await leads_app.client.post("/api/leads", json=lead_body(), headers=leads_app.agent)).json()
    bus = leads_app.runtime.bus
    raw = await bus.request(RPC_LEADS_SNAPSHOT, LeadSnapshotRequest(lead_id=created["id"]), timeout=5)
    reply = LeadSnapshotReply.model_validate_json(raw)
    assert reply.lead is not None and str(reply.lead.id) == created["id"]
    assert reply.lead.timezone == created["timezone"]
    raw = await bus.request(RPC_LEADS_SNAPSHOT, LeadSnapshotRequest(lead_id=uuid.uuid4()), timeout=5)
    assert LeadSnapshotReply.model_validate_json(raw).lead is None
