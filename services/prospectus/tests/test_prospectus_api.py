"""On-demand versions over HTTP: 202 then polling to READY, the files, scoping, and bad input."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from parley_contracts import LeadCreated, ProspectusFailed
from prospectus.testing.events import catalog_events, lead_snapshot, recommendation_for, stored_events
from prospectus.testing.factories import sample_products
from pypdf import PdfReader
from servicekit.bus import wait_for
from servicekit.testing.leads import answer_lead_snapshots

pytestmark = pytest.mark.integration


def pdf_text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


async def test_on_demand_version_is_accepted_then_rendered_and_downloadable(prospectus_app, make_known_lead):
    app = prospectus_app
    lead = await make_known_lead(name="Ada Lovelace")
    await app.publish(recommendation_for(lead.id, lead.assigned_agent_id))
    await app.wait_for_statuses(lead.id, ["READY"])

    response = await app.client.post(f"/api/prospectus/{lead.id}", headers=app.agent)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["version"] == 2 and accepted["status"] in ("QUEUED", "RENDERING")
    assert accepted["automatic"] is False and accepted["links"]["pdf"] is None
    assert response.headers["location"] == f"/api/prospectus/{lead.id}/2"

    async def ready() -> bool:
        polled = await app.client.get(response.headers["location"], headers=app.agent)
        return polled.json()["status"] == "READY"

    assert await wait_for(ready, timeout=20)
    record = (await app.client.get(f"/api/prospectus/{lead.id}/2", headers=app.agent)).json()
    assert record["page_count"] >= 2 and len(record["pdf_sha256"]) == 64
    assert record["product_ids"] == [str(p.id) for p in sample_products()]

    pdf = await app.client.get(record["links"]["pdf"], headers=app.agent)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert 'filename="prospectus-v2.pdf"' in pdf.headers["content-disposition"]
    text = pdf_text(pdf.content)
    assert "Dear Ada Lovelace," in text
    for product in sample_products():
        assert product.name in text
    # No gateway answers here: the company contact stands in for the agent.
    assert "care@parley.example.com" in text

    html = await app.client.get(record["links"]["html"], headers=app.agent)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    csp = html.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert "Ada Lovelace" in html.text

    listed = await app.versions(lead.id)
    assert [v["version"] for v in listed] == [2, 1]


async def test_a_lead_without_a_recommendation_is_a_conflict(prospectus_app, make_known_lead):
    lead = await make_known_lead()
    response = await prospectus_app.client.post(f"/api/prospectus/{lead.id}", headers=prospectus_app.agent)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "no recommendation yet" in response.json()["detail"]

    other_call = await prospectus_app.client.post(
        f"/api/prospectus/{lead.id}", json={"call_id": str(uuid.uuid4())}, headers=prospectus_app.agent
    )
    assert other_call.status_code == 409 and "from call" in other_call.json()["detail"]


async def test_agents_only_reach_their_own_leads(prospectus_app, make_known_lead):
    app = prospectus_app
    lead = await make_known_lead()
    await app.publish(recommendation_for(lead.id, lead.assigned_agent_id))
    await app.wait_for_statuses(lead.id, ["READY"])
    base = f"/api/prospectus/{lead.id}"
    for method, path in [
        ("POST", base),
        ("GET", base),
        ("GET", f"{base}/1"),
        ("GET", f"{base}/1/pdf"),
        ("GET", f"{base}/1/html"),
    ]:
        response = await app.client.request(method, path, headers=app.agent2)
        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == "application/problem+json"
        allowed = await app.client.get(path, headers=app.admin)
        assert allowed.status_code == 200, (path, allowed.text)
    assert (await app.client.get(base)).status_code == 401


async def test_a_lead_created_a_moment_ago_is_found_at_once(prospectus_app):
    """Its lead.created has not arrived: prospectus asks leads, and the owner rule still holds."""
    app = prospectus_app
    fresh, later = lead_snapshot(app.agent_id), lead_snapshot(app.agent_id)
    theirs = lead_snapshot(app.agent2_id)
    asked = await answer_lead_snapshots(app.runtime, fresh, later, theirs)

    listed = await app.client.get(f"/api/prospectus/{fresh.id}", headers=app.agent)
    assert listed.status_code == 200 and listed.json()["items"] == [] and asked == [fresh.id]
    # Projected now: the next request does not ask again.
    assert (await app.client.get(f"/api/prospectus/{fresh.id}", headers=app.agent)).status_code == 200
    assert asked == [fresh.id]
    # A version request finds the lead at once: what it lacks is a recommendation, not the lead.
    requested = await app.client.post(f"/api/prospectus/{later.id}", headers=app.agent)
    assert requested.status_code == 409 and "no recommendation yet" in requested.json()["detail"]
    assert asked == [fresh.id, later.id]

    # Another agent's lead is fetched once but stays a 404; an unknown one is a 404 too.
    for lead_id in (theirs.id, uuid.uuid4()):
        for method in ("POST", "GET"):
            response = await app.client.request(method, f"/api/prospectus/{lead_id}", headers=app.agent)
            assert response.status_code == 404, (method, lead_id, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"] == "Lead not found."
    assert asked.count(theirs.id) == 1


async def test_bad_requests_are_problems_not_errors(prospectus_app, make_known_lead):
    app = prospectus_app
    lead = await make_known_lead()
    base = f"/api/prospectus/{lead.id}"
    cases = [
        ("POST", "/api/prospectus/not-a-uuid", {}, 422),
        ("POST", base, {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ("POST", base, {"json": {"call_id": "nope"}}, 422),
        ("POST", base, {"json": {"unexpected": 1}}, 422),
        ("GET", f"{base}/0", {}, 422),
        ("GET", f"{base}/abc/pdf", {}, 422),
        ("GET", f"{base}/7", {}, 404),
        ("GET", f"/api/prospectus/{uuid.uuid4()}", {}, 404),
    ]
    for method, path, extra, expected in cases:
        headers = {**app.agent, **extra.pop("headers", {})}
        response = await app.client.request(method, path, headers=headers, **extra)
        assert response.status_code == expected, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_version_waits_for_late_inputs_and_fails_visibly_when_they_never_come(start_prospectus):
    async with start_prospectus(render_max_attempts=3, render_retry_seconds=0.3) as app:
        lead = lead_snapshot(app.agent_id)
        # The recommendation arrives before the catalog products it names.
        await app.publish(LeadCreated(lead=lead), recommendation_for(lead.id, app.agent_id))

        async def waiting() -> bool:
            versions = await app.versions(lead.id)
            return bool(versions) and versions[0]["status"] == "QUEUED" and bool(versions[0]["error"])

        assert await wait_for(waiting, timeout=15)
        early = await app.client.get(f"/api/prospectus/{lead.id}/1/pdf", headers=app.agent)
        assert early.status_code == 409 and "QUEUED" in early.json()["detail"]

        await app.publish(*catalog_events())
        await app.wait_for_statuses(lead.id, ["READY"])

        # A product the catalog never announces: the version fails, visibly, with an event.
        stranger = recommendation_for(lead.id, app.agent_id)
        missing = stranger.recommendation.items[0].model_copy(update={"product_id": uuid.uuid4()})
        stranger.recommendation.items[0] = missing
        await app.publish(stranger)
        versions = await app.wait_for_statuses(lead.id, ["FAILED", "READY"])
        assert (
            "gave up after 3 attempts" in versions[0]["error"]
            and str(missing.product_id) in versions[0]["error"]
        )
        failed_pdf = await app.client.get(f"/api/prospectus/{lead.id}/2/pdf", headers=app.agent)
        assert failed_pdf.status_code == 409 and "failed to render" in failed_pdf.json()["detail"]
        failures = await stored_events(app.runtime.bus, ProspectusFailed)
        assert [(f.prospectus_id, f.assigned_agent_id) for f in failures] == [
            (uuid.UUID(versions[0]["id"]), app.agent_id)
        ]
