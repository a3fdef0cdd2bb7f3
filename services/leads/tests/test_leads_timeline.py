"""Other services' events land on the timeline (once), move the status forward, and commands apply."""

from __future__ import annotations

import uuid

import pytest
from parley_contracts import (
    CallEnded,
    CallOutcome,
    EmailSent,
    LeadEmailCaptured,
    NeedsProfile,
    Recommendation,
    RecommendationsReady,
    RecommendedProduct,
    SetLeadConsent,
)
from servicekit.bus import wait_for

pytestmark = pytest.mark.integration


async def timeline(app, lead_id):
    r = await app.client.get(
        f"/api/leads/{lead_id}/activities", params={"order": "asc", "page_size": 100}, headers=app.admin
    )
    return r.json()["items"]


async def lead_status(app, lead_id):
    return (await app.client.get(f"/api/leads/{lead_id}", headers=app.admin)).json()


async def test_events_fold_into_the_timeline_once_and_advance_status(leads_app, lead_body):
    lead = (await leads_app.client.post("/api/leads", json=lead_body(), headers=leads_app.agent)).json()
    lead_id = uuid.UUID(lead["id"])
    bus = leads_app.runtime.bus
    call = CallEnded(
        call_id=uuid.uuid4(),
        lead_id=lead_id,
        mode="simulated",
        outcome=CallOutcome.ANSWERED,
        duration_seconds=95,
    )
    rec = RecommendationsReady(
        lead_id=lead_id,
        needs=NeedsProfile(coverage_type=["term life"]),
        recommendation=Recommendation(
            items=[
                RecommendedProduct(
                    product_id=uuid.uuid4(),
                    name="SecureLife Term 20",
                    category_name="Term Life",
                    insurer="Acme",
                    score=0.9,
                    rationale="fits",
                )
            ]
        ),
    )
    email = EmailSent(lead_id=lead_id, email_id=uuid.uuid4(), prospectus_id=uuid.uuid4())
    for event in (call, call, rec, email):  # the call event twice: one entry
        await bus.publish_raw(event.subject, event.to_json(), {"Nats-Msg-Id": uuid.uuid4().hex})

    async def folded() -> bool:
        return (
            len(
                [
                    a
                    for a in await timeline(leads_app, lead_id)
                    if a["type"] in ("CALL", "RECOMMENDATION", "EMAIL")
                ]
            )
            >= 3
        )

    assert await wait_for(folded, timeout=15)
    entries = await timeline(leads_app, lead_id)
    kinds = [a["type"] for a in entries]
    assert kinds.count("CALL") == 1 and "RECOMMENDATION" in kinds and "EMAIL" in kinds
    assert (await lead_status(leads_app, lead_id))["status"] == "PROPOSAL_SENT"
    statuses = [a["payload"]["to"] for a in entries if a["type"] == "STATUS_CHANGE"]
    # Consumers run independently, so a later fact may land first; status only ever moves forward.
    order = ["NEW", "CONTACTED", "QUALIFIED", "PROPOSAL_SENT"]
    assert statuses[-1] == "PROPOSAL_SENT"
    assert [order.index(s) for s in statuses] == sorted({order.index(s) for s in statuses})


async def test_consent_and_email_commands_from_other_services(leads_app, lead_body):
    lead = (
        await leads_app.client.post("/api/leads", json=lead_body(email=None), headers=leads_app.agent)
    ).json()
    lead_id = uuid.UUID(lead["id"])
    bus = leads_app.runtime.bus
    await bus.publish_now(
        SetLeadConsent(lead_id=lead_id, dnd=True, reason="asked not to be called", source="voice")
    )
    await bus.publish_now(
        LeadEmailCaptured(lead_id=lead_id, email="Ada.L@example.com", email_permission=True)
    )
    await bus.publish_now(
        SetLeadConsent(lead_id=uuid.uuid4(), dnd=True, reason="unknown lead", source="voice")
    )

    async def applied() -> bool:
        current = await lead_status(leads_app, lead_id)
        return current["consent_flags"]["dnd"] and current["email"] == "ada.l@example.com"

    assert await wait_for(applied, timeout=15)
    consent_entries = [a for a in await timeline(leads_app, lead_id) if a["type"] == "CONSENT"]
    assert (
        len(consent_entries) == 1
        and "voice: asked not to be called" in consent_entries[0]["payload"]["reason"]
    )


async def test_scheduler_and_prospectus_facts_reach_the_timeline(leads_app, lead_body):
    from datetime import UTC, datetime, timedelta

    from parley_contracts import ProspectusFailed, TaskCanceled, TaskScheduled

    lead = (await leads_app.client.post("/api/leads", json=lead_body(), headers=leads_app.agent)).json()
    lead_id = uuid.UUID(lead["id"])
    task_id = uuid.uuid4()
    at = datetime.now(UTC) + timedelta(days=1)
    for event in (
        TaskScheduled(task_id=task_id, lead_id=lead_id, kind="AUTO", scheduled_for=at),
        TaskCanceled(task_id=task_id, lead_id=lead_id, kind="AUTO", reason="do not call"),
        ProspectusFailed(lead_id=lead_id, prospectus_id=uuid.uuid4(), reason="product missing"),
    ):
        await leads_app.runtime.bus.publish_now(event)

    async def folded() -> bool:
        return (
            len([a for a in await timeline(leads_app, lead_id) if a["type"] in ("TASK", "PROSPECTUS")]) >= 3
        )

    assert await wait_for(folded, timeout=15)
    summaries = [a["summary"] for a in await timeline(leads_app, lead_id)]
    assert any(s.startswith("Auto call scheduled for") for s in summaries)
    assert "Auto call canceled: do not call" in summaries
    assert "Prospectus could not be generated: product missing" in summaries
