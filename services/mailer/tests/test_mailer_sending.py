"""The automatic path on a real SMTP listener: prospectus.generated -> an email with the PDF and
opt-out headers, once; SMTP outages retried; opted-out leads never emailed; every failure reported."""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy

import pytest
from mailer.adapters import repository as repo
from mailer.adapters.dev_mailbox import DevSmtpServer, MailboxHandler
from mailer.testing.smtp import RecipientRejectingHandler
from parley_contracts import ConsentFlags, EmailFailed, EmailSent, LeadUpdated, ProspectusGenerated
from prospectus.testing.events import drained, stored_events
from servicekit.bus import wait_for

pytestmark = pytest.mark.integration


def received(inbox):
    return [message_from_bytes(inbox.read_raw(m.id), policy=policy.default) for m in inbox.list_messages()]


async def test_a_generated_prospectus_is_emailed_with_the_pdf_and_unsubscribe_headers(
    mailer_app, smtp_listener, inbox
):
    app = mailer_app
    lead = await app.known_lead(name="Dr. Priya Raman")
    generated = app.prospectus.generated(lead)
    await app.publish(generated, app.prospectus.generated(lead, send_email=False, version=2))
    (logged,) = await app.wait_for_statuses(lead.id, ["SENT"])

    (message,) = received(inbox)
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Dr. Priya Raman", "priya@example.com")
    assert message["Reply-To"] == "Sam Okafor <sam@parley.example.com>"
    assert message["Subject"] == "Your insurance options from Parley Insurance"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "parley-insurance-prospectus-v1.pdf"
    assert attachment.get_payload(decode=True) == app.prospectus.versions[generated.prospectus_id][1].pdf
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://127.0.0.1:8080/api/email/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hi Priya," in message.get_body(("plain",)).get_content()

    assert logged["to_email"] == "priya@example.com" and logged["subject"] == message["Subject"]
    assert logged["attempts"] == 1 and logged["prospectus_id"] == str(generated.prospectus_id)
    assert logged["provider_message_id"] == message["Message-ID"] == f"<{logged['id']}@parley.localhost>"

    async def announced() -> bool:
        return len(await stored_events(app.runtime.bus, EmailSent)) == 1

    assert await wait_for(announced, timeout=10)
    (sent,) = await stored_events(app.runtime.bus, EmailSent)
    assert (sent.lead_id, sent.email_id, sent.prospectus_id) == (
        lead.id,
        uuid.UUID(logged["id"]),
        generated.prospectus_id,
    )
    assert sent.assigned_agent_id == app.agent_id and sent.provider_message_id == message["Message-ID"]


async def test_a_redelivered_or_repeated_event_sends_one_email(mailer_app, smtp_listener, inbox):
    app = mailer_app
    lead = await app.known_lead()
    generated = app.prospectus.generated(lead)
    bus = app.runtime.bus
    # The same event redelivered past the duplicate window, and the same version announced again.
    for _ in range(2):
        await bus.publish_raw(generated.subject, generated.to_json(), {"Nats-Msg-Id": uuid.uuid4().hex})
    await app.publish(generated.model_copy(update={"event_id": uuid.uuid4()}))
    assert await wait_for(
        lambda: drained(bus, "mailer-prospectus-generated", ProspectusGenerated), timeout=10
    )
    await app.wait_for_statuses(lead.id, ["SENT"])
    assert len(inbox.list_messages()) == 1


async def test_smtp_down_then_back_sends_the_email_once_later(mailer_app, inbox, smtp_port):
    app = mailer_app
    lead = await app.known_lead()
    await app.publish(app.prospectus.generated(lead))

    async def retried() -> bool:
        emails = await app.emails(lead.id)
        return bool(emails) and emails[0]["attempts"] >= 2 and emails[0]["status"] == "QUEUED"

    assert await wait_for(retried, timeout=15)
    (waiting,) = await app.emails(lead.id)
    assert "SMTP server unreachable" in waiting["last_error"] and waiting["next_attempt_at"]

    with DevSmtpServer(MailboxHandler(inbox), port=smtp_port):
        (sent,) = await app.wait_for_statuses(lead.id, ["SENT"])
    assert len(inbox.list_messages()) == 1
    assert sent["attempts"] >= 3 and sent["last_error"] is None
    assert await stored_events(app.runtime.bus, EmailFailed) == []


async def test_an_opt_out_after_queueing_stops_the_email(mailer_app, inbox, smtp_port):
    app = mailer_app
    lead = await app.known_lead()
    # SMTP is down, so the email waits in the queue when the lead opts out.
    await app.publish(app.prospectus.generated(lead))

    async def queued_and_tried() -> bool:
        emails = await app.emails(lead.id)
        return bool(emails) and emails[0]["attempts"] >= 1

    assert await wait_for(queued_and_tried, timeout=10)
    opted_out = lead.model_copy(
        update={"consent_flags": ConsentFlags(email_opt_out=True), "updated_at": lead.created_at}
    )
    await app.publish(LeadUpdated(lead=opted_out, changed=["consent_flags"]))

    async def opt_out_known() -> bool:
        async with app.runtime.db.session() as session:
            return (await repo.get_lead(session, lead.id)).email_opt_out

    assert await wait_for(opt_out_known, timeout=10)
    with DevSmtpServer(MailboxHandler(inbox), port=smtp_port):
        (failed,) = await app.wait_for_statuses(lead.id, ["FAILED"])
    assert inbox.list_messages() == []
    assert "opted out" in failed["last_error"]

    async def reported() -> bool:
        return len(await stored_events(app.runtime.bus, EmailFailed)) == 1

    assert await wait_for(reported, timeout=10)
    (event,) = await stored_events(app.runtime.bus, EmailFailed)
    assert event.permanent is True and event.lead_id == lead.id and "opted out" in event.reason


@pytest.mark.parametrize("consent", [ConsentFlags(email_opt_out=True), ConsentFlags(dnd=True)])
async def test_a_lead_opted_out_before_is_never_emailed(mailer_app, smtp_listener, inbox, consent):
    app = mailer_app
    lead = await app.known_lead(consent_flags=consent)
    generated = app.prospectus.generated(lead)
    await app.publish(generated)
    (failed,) = await app.wait_for_statuses(lead.id, ["FAILED"])
    assert "not sent" in failed["last_error"] and failed["attempts"] == 1
    requested = await app.client.post("/api/email/send", json={"lead_id": str(lead.id)}, headers=app.agent)
    assert requested.status_code == 409 and requested.headers["content-type"] == "application/problem+json"
    assert inbox.list_messages() == []


async def test_a_refused_recipient_fails_permanently_and_is_reported(start_mailer, smtp_port):
    rejecting = RecipientRejectingHandler("550 5.1.1 Mailbox unavailable")
    with DevSmtpServer(rejecting, port=smtp_port):
        async with start_mailer() as app:
            lead = await app.known_lead()
            await app.publish(app.prospectus.generated(lead))
            (failed,) = await app.wait_for_statuses(lead.id, ["FAILED"])

            async def reported() -> bool:
                return len(await stored_events(app.runtime.bus, EmailFailed)) == 1

            assert await wait_for(reported, timeout=10)
            (event,) = await stored_events(app.runtime.bus, EmailFailed)
    assert failed["attempts"] == 1 and "550" in failed["last_error"]
    assert event.permanent is True and rejecting.rejected == ["priya@example.com"]


async def test_an_outage_past_the_last_attempt_ends_failed_and_reported(start_mailer):
    async with start_mailer(retry_max_attempts=2) as app:
        lead = await app.known_lead()
        await app.publish(app.prospectus.generated(lead))
        (failed,) = await app.wait_for_statuses(lead.id, ["FAILED"])

        async def reported() -> bool:
            return len(await stored_events(app.runtime.bus, EmailFailed)) == 1

        assert await wait_for(reported, timeout=10)
        (event,) = await stored_events(app.runtime.bus, EmailFailed)
    assert failed["attempts"] == 2 and event.permanent is False and "unreachable" in event.reason


async def test_the_email_waits_for_the_prospectus_service(mailer_app, smtp_listener, inbox):
    app = mailer_app
    lead = await app.known_lead()
    generated = app.prospectus.generated(lead)
    _, reply = app.prospectus.versions[generated.prospectus_id]
    # Not READY yet (a re-render of the version, say): the email waits rather than failing.
    app.prospectus.versions[generated.prospectus_id] = (
        lead.id,
        reply.model_copy(update={"status": "RENDERING"}),
    )
    await app.publish(generated)

    async def waiting() -> bool:
        emails = await app.emails(lead.id)
        return bool(emails) and emails[0]["attempts"] >= 1 and emails[0]["status"] == "QUEUED"

    assert await wait_for(waiting, timeout=10)
    assert "still RENDERING" in (await app.emails(lead.id))[0]["last_error"]
    app.prospectus.versions[generated.prospectus_id] = (lead.id, reply)
    await app.wait_for_statuses(lead.id, ["SENT"])
    assert len(inbox.list_messages()) == 1


async def test_two_replicas_send_each_email_once(start_mailer, make_database, smtp_listener, inbox):
    shared = await make_database("mailer-shared")
    async with (
        start_mailer(database_url=shared) as first,
        start_mailer(database_url=shared, fake_prospectus=False) as second,
    ):
        leads = [
            await first.known_lead(phone=f"+1415555012{n}", email=f"lead{n}@example.com") for n in range(5)
        ]
        await second.publish(*(first.prospectus.generated(lead) for lead in leads))
        for lead in leads:
            (sent,) = await first.wait_for_statuses(lead.id, ["SENT"])
            assert sent["attempts"] == 1
    assert sorted(m.recipients[0] for m in inbox.list_messages()) == sorted(
        f"Priya Raman <{lead.email}>" for lead in leads
    )
