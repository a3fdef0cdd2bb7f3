"""The loop end to end on real NATS, each service's own database and a real SMTP listener: a call's
facts -> needs -> recommendations -> a prospectus PDF -> the email in the listener -> every step on
the lead's timeline in leads; then the email's unsubscribe link opts the lead out in leads."""

from __future__ import annotations

import io
import re
import uuid
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from leads.main import definition as leads_definition
from leads.settings import LeadsSettings
from parley_contracts import (
    CallEnded,
    CallOutcome,
    CallStarted,
    NeedsExtracted,
    NeedsProfile,
    RecommendationsReady,
)
from prospectus.main import definition as prospectus_definition
from prospectus.settings import ProspectusSettings
from prospectus.testing.events import catalog_events
from prospectus.testing.factories import sample_products, sample_recommendation
from pypdf import PdfReader
from servicekit.app import create_app
from servicekit.bus import wait_for
from servicekit.testing.plugin import running

pytestmark = pytest.mark.integration


def pdf_text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


async def test_from_a_call_to_the_email_and_the_timeline(
    start_mailer, make_database, nats_url, bus_namespace, jwt_keys, tmp_path, smtp_listener, inbox
):
    common = {
        "nats_url": nats_url,
        "bus_namespace": bus_namespace,
        "jwt_public_key": jwt_keys.public_pem,
        "auto_migrate": True,
        "outbox_poll_seconds": 0.05,
        "bus_backoff_seconds": [0.05],
    }
    leads_app = create_app(
        leads_definition, LeadsSettings(database_url=await make_database("leads"), **common)
    )
    prospectus_app = create_app(
        prospectus_definition,
        ProspectusSettings(
            database_url=await make_database("prospectus"),
            files_dir=tmp_path / "prospectus",
            worker_poll_seconds=0.05,
            gateway_timeout_seconds=0.3,
            **common,
        ),
    )
    async with (
        running(leads_app) as leads,
        running(prospectus_app),
        start_mailer(fake_prospectus=False) as mailer,
    ):
        bus = mailer.runtime.bus
        created = await leads.post(
            "/api/leads",
            headers=mailer.agent,
            json={
                "name": "Ada Lovelace",
                "phone": "+14155550123",
                "email": "ada@example.com",
                "timezone": "Europe/London",
            },
        )
        assert created.status_code == 201, created.text
        lead_id = uuid.UUID(created.json()["id"])
        call_id = uuid.uuid4()
        recommendation = sample_recommendation(sample_products())
        needs = NeedsProfile(coverage_type=["term life", "health insurance"])
        # What the catalog, voice-bridge and rag announce (those services are not started here).
        for event in [
            *catalog_events(),
            CallStarted(
                call_id=call_id, lead_id=lead_id, assigned_agent_id=mailer.agent_id, mode="simulated"
            ),
            CallEnded(
                call_id=call_id,
                lead_id=lead_id,
                assigned_agent_id=mailer.agent_id,
                mode="simulated",
                outcome=CallOutcome.ANSWERED,
                duration_seconds=240,
                email_permission=True,
            ),
            NeedsExtracted(lead_id=lead_id, call_id=call_id, assigned_agent_id=mailer.agent_id, needs=needs),
            RecommendationsReady(
                lead_id=lead_id,
                call_id=call_id,
                assigned_agent_id=mailer.agent_id,
                needs=needs,
                recommendation=recommendation,
            ),
        ]:
            await bus.publish_now(event)

        async def emailed() -> bool:
            return len(inbox.list_messages()) == 1

        assert await wait_for(emailed, timeout=30)
        (summary,) = inbox.list_messages()
        message = message_from_bytes(inbox.read_raw(summary.id), policy=policy.default)
        assert message["To"].addresses[0].addr_spec == "ada@example.com"
        (attachment,) = list(message.iter_attachments())
        text = pdf_text(attachment.get_payload(decode=True))
        assert "Dear Ada Lovelace," in text
        for product in sample_products():
            assert product.name in text

        async def timeline() -> list[dict]:
            response = await leads.get(
                f"/api/leads/{lead_id}/activities",
                headers=mailer.agent,
                params={"order": "asc", "page_size": 100},
            )
            return response.json()["items"]

        async def every_step_shown() -> bool:
            kinds = {entry["type"] for entry in await timeline()}
            return {"CALL", "NEEDS", "RECOMMENDATION", "PROSPECTUS", "EMAIL"} <= kinds

        assert await wait_for(every_step_shown, timeout=15)
        summaries = [entry["summary"] for entry in await timeline()]
        assert "Prospectus v1 generated" in summaries and "Prospectus emailed" in summaries
        lead = (await leads.get(f"/api/leads/{lead_id}", headers=mailer.agent)).json()
        assert lead["status"] == "PROPOSAL_SENT"
        (logged,) = await mailer.emails(lead_id)
        assert logged["status"] == "SENT" and logged["version"] == 1

        # The lead clicks the unsubscribe link: leads records the opt-out (and its timeline shows it).
        link = message["List-Unsubscribe"].split(",")[0].strip("<>")
        parts = urlsplit(link)
        clicked = await mailer.client.get(f"{parts.path}?{parts.query}", headers={"accept": "text/html"})
        assert clicked.status_code == 200

        async def opted_out() -> bool:
            current = (await leads.get(f"/api/leads/{lead_id}", headers=mailer.agent)).json()
            return current["consent_flags"]["email_opt_out"]

        assert await wait_for(opted_out, timeout=15)
        assert any(entry["type"] == "CONSENT" for entry in await timeline())
