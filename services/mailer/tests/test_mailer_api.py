"""`/api/email` over HTTP: sending on request, the scoped log, unsubscribe links, the dev mailbox,
and problem+json for every bad input."""

from __future__ import annotations

import uuid
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import pytest
from mailer.adapters import repository as repo
from mailer.domain.unsubscribe import UnsubscribeTokens
from parley_contracts import ProspectusGenerated, SetLeadConsent
from prospectus.testing.events import drained, stored_events
from servicekit.bus import wait_for

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def token_in(inbox) -> str:
    (summary,) = inbox.list_messages()
    message = message_from_bytes(inbox.read_raw(summary.id), policy=policy.default)
    url = message["List-Unsubscribe"].split(",")[0].strip("<>")
    return parse_qs(urlsplit(url).query)["token"][0]


async def lead_with_prospectus(app, **fields):
    lead = await app.known_lead(**fields)
    generated = app.prospectus.generated(lead, send_email=False)
    await app.publish(generated)
    assert await wait_for(
        lambda: drained(app.runtime.bus, "mailer-prospectus-generated", ProspectusGenerated), timeout=10
    )
    return lead, generated


async def test_an_agent_sends_the_latest_prospectus_to_another_address(mailer_app, smtp_listener, inbox):
    app = mailer_app
    lead, generated = await lead_with_prospectus(app)
    response = await app.client.post(
        "/api/email/send", json={"lead_id": str(lead.id), "to_email": " work@example.org "}, headers=app.agent
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "QUEUED" and queued["to_email"] == "work@example.org"
    assert queued["prospectus_id"] == str(generated.prospectus_id) and queued["requested_by"] == str(
        app.agent_id
    )
    (sent,) = await app.wait_for_statuses(lead.id, ["SENT"])
    assert sent["id"] == queued["id"]
    (summary,) = inbox.list_messages()
    assert summary.recipients == ("Priya Raman <work@example.org>",)


async def test_agents_reach_only_their_own_leads_emails(mailer_app, smtp_listener):
    app = mailer_app
    lead, _ = await lead_with_prospectus(app)
    theirs = await app.client.post("/api/email/send", json={"lead_id": str(lead.id)}, headers=app.agent2)
    assert theirs.status_code == 404 and theirs.headers["content-type"] == PROBLEM
    mine = await app.client.post("/api/email/send", json={"lead_id": str(lead.id)}, headers=app.agent)
    assert mine.status_code == 202
    await app.wait_for_statuses(lead.id, ["SENT"])

    other_logs = await app.client.get("/api/email/logs", headers=app.agent2)
    assert other_logs.json()["total"] == 0
    assert (
        await app.client.get("/api/email/logs", params={"lead_id": str(lead.id)}, headers=app.agent2)
    ).status_code == 404
    own = (
        await app.client.get("/api/email/logs", params={"status": "SENT", "page_size": 1}, headers=app.agent)
    ).json()
    assert own["total"] == 1 and own["page_size"] == 1 and own["items"][0]["lead_id"] == str(lead.id)
    assert (await app.client.get("/api/email/logs", params={"status": "FAILED"}, headers=app.agent)).json()[
        "total"
    ] == 0
    assert (await app.client.get("/api/email/logs", headers=app.admin)).json()["total"] == 1
    assert (await app.client.get("/api/email/logs")).status_code == 401


async def test_bad_requests_are_problems(mailer_app):
    app = mailer_app
    lead, _ = await lead_with_prospectus(app)
    without_email = await app.known_lead(email=None, phone="+14155550199")
    no_prospectus = await app.known_lead(phone="+14155550198", email="other@example.com")
    lead_id = str(lead.id)
    cases = [
        ({"content": b"{oops", "headers": {"content-type": "application/json"}}, 400),
        ({"json": {}}, 422),
        ({"json": {"lead_id": "nope"}}, 422),
        ({"json": {"lead_id": lead_id, "to_email": "not an address"}}, 422),
        ({"json": {"lead_id": lead_id, "to_email": "a@example.com\r\nBcc: b@example.com"}}, 422),
        ({"json": {"lead_id": lead_id, "extra": True}}, 422),
        ({"json": {"lead_id": str(uuid.uuid4())}}, 404),
        ({"json": {"lead_id": lead_id, "prospectus_id": str(uuid.uuid4())}}, 404),
        ({"json": {"lead_id": str(no_prospectus.id)}}, 409),
        ({"json": {"lead_id": str(without_email.id)}}, 422),
    ]
    for request, expected in cases:
        headers = {**app.agent, **request.pop("headers", {})}
        response = await app.client.post("/api/email/send", headers=headers, **request)
        assert response.status_code == expected, (request, response.text)
        assert response.headers["content-type"] == PROBLEM
    for params in ({"status": "LOST"}, {"page_size": 1000}, {"lead_id": "x"}, {"page": 0}):
        response = await app.client.get("/api/email/logs", params=params, headers=app.agent)
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert await app.emails(lead.id) == []


async def test_the_unsubscribe_link_opts_the_lead_out_through_leads(mailer_app, smtp_listener, inbox):
    app = mailer_app
    lead, _ = await lead_with_prospectus(app)
    assert (
        await app.client.post("/api/email/send", json={"lead_id": str(lead.id)}, headers=app.agent)
    ).status_code == 202
    await app.wait_for_statuses(lead.id, ["SENT"])
    token = token_in(inbox)

    page = await app.client.get(
        "/api/email/unsubscribe", params={"token": token}, headers={"accept": "text/html"}
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "You are unsubscribed" in page.text and "p•••@example.com" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # The mail client's one-click POST, after the click: the lead is asked for once.
    one_click = await app.client.post(
        "/api/email/unsubscribe",
        params={"token": token},
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200

    async def asked() -> bool:
        return len(await stored_events(app.runtime.bus, SetLeadConsent)) >= 1

    assert await wait_for(asked, timeout=10)
    (command,) = await stored_events(app.runtime.bus, SetLeadConsent)
    assert (command.lead_id, command.email_opt_out, command.source) == (lead.id, True, "mailer")
    assert command.dnd is None and command.call_recording is None
    # Opted out here at once, before leads confirms.
    refused = await app.client.post("/api/email/send", json={"lead_id": str(lead.id)}, headers=app.agent)
    assert refused.status_code == 409 and "opted out" in refused.json()["detail"]
    async with app.runtime.db.session() as session:
        assert (await repo.get_lead(session, lead.id)).email_opt_out


async def test_bad_unsubscribe_links_are_clear_client_errors(mailer_app):
    app = mailer_app
    lead = uuid.uuid4()
    tokens = UnsubscribeTokens(app.runtime.settings.unsubscribe_secret_value(), max_age=timedelta(days=365))
    valid = tokens.issue(lead, "priya@example.com", issued_at=repo.now())
    expired = tokens.issue(lead, "priya@example.com", issued_at=repo.now() - timedelta(days=400))
    forged = UnsubscribeTokens("another-secret-that-is-long-enough-0123456789").issue(
        lead, "priya@example.com", issued_at=repo.now()
    )
    tampered = valid[:-3] + ("AAA" if not valid.endswith("AAA") else "BBB")
    for token, expected, words in [
        (tampered, 400, "not valid"),
        (forged, 400, "not valid"),
        ("abc", 400, "incomplete"),
        (expired, 410, "expired"),
    ]:
        for method in ("GET", "POST"):
            response = await app.client.request(method, "/api/email/unsubscribe", params={"token": token})
            assert response.status_code == expected, (token, method, response.text)
            assert response.headers["content-type"] == PROBLEM and words in response.json()["detail"]
        page = await app.client.get(
            "/api/email/unsubscribe", params={"token": token}, headers={"accept": "text/html"}
        )
        assert page.status_code == expected and "cannot be used" in page.text
    missing = await app.client.get("/api/email/unsubscribe")
    assert missing.status_code == 422 and missing.headers["content-type"] == PROBLEM
    assert await stored_events(app.runtime.bus, SetLeadConsent) == []


async def test_the_dev_mailbox_receives_and_shows_what_was_sent(start_mailer):
    async with start_mailer(smtp_host=None, dev_smtp_port=0) as app:
        server = app.runtime.extras["dev_smtp_server"]
        assert server.port != 0
        lead, _ = await lead_with_prospectus(app)
        assert (
            await app.client.post("/api/email/send", json={"lead_id": str(lead.id)}, headers=app.agent)
        ).status_code == 202
        await app.wait_for_statuses(lead.id, ["SENT"])

        listing = await app.client.get("/api/dev/mailbox", headers=app.agent)
        assert listing.status_code == 200
        (summary,) = listing.json()["items"]
        assert summary["has_attachments"] and summary["recipients"] == ["Priya Raman <priya@example.com>"]
        opened = (await app.client.get(f"/api/dev/mailbox/{summary['id']}", headers=app.admin)).json()
        headers = dict(opened["headers"])
        assert headers["Subject"] == summary["subject"] and "List-Unsubscribe" in headers
        assert "Hi Priya," in opened["text"] and "Unsubscribe</a>" in opened["html"]
        assert [a["filename"] for a in opened["attachments"]] == ["parley-insurance-prospectus-v1.pdf"]
        for bad in ("not-a-message-id", "20250101T000000000000Z-000000000000"):
            missing = await app.client.get(f"/api/dev/mailbox/{bad}", headers=app.agent)
            assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
        assert (await app.client.get("/api/dev/mailbox")).status_code == 401


async def test_the_dev_mailbox_does_not_exist_when_smtp_is_configured(mailer_app):
    response = await mailer_app.client.get("/api/dev/mailbox", headers=mailer_app.admin)
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
