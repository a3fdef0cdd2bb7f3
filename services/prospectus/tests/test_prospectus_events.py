"""The automatic path: recommendations.ready -> a version -> prospectus.generated, once per event,
across restarts; the email decision; the agent and branding from the gateway; the mailer's PDF."""

from __future__ import annotations

import io
import json
import re
import uuid

import nats
import pytest
from parley_contracts import (
    RPC_GATEWAY_SETTINGS,
    RPC_GATEWAY_USER,
    RPC_PROSPECTUS_PDF,
    CallEnded,
    CallOutcome,
    ConsentFlags,
    LeadCreated,
    LeadDeleted,
    LeadEmailCaptured,
    LeadUpdated,
    ProductUpserted,
    ProspectusGenerated,
    ProspectusPdfReply,
    ProspectusPdfRequest,
    RecommendationsReady,
)
from prospectus.adapters import repository as repo
from prospectus.testing.events import (
    catalog_events,
    drained,
    lead_snapshot,
    recommendation_for,
    stored_events,
)
from pypdf import PdfReader
from servicekit.bus import wait_for

pytestmark = pytest.mark.integration


def pdf_text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


async def generated_for(app, lead_id) -> list[ProspectusGenerated]:
    return [e for e in await stored_events(app.runtime.bus, ProspectusGenerated) if e.lead_id == lead_id]


async def test_a_recommendation_makes_the_next_version_once_and_announces_it(prospectus_app, make_known_lead):
    app = prospectus_app
    lead = await make_known_lead()
    await app.publish(
        CallEnded(
            call_id=uuid.uuid4(),
            lead_id=lead.id,
            mode="simulated",
            outcome=CallOutcome.ANSWERED,
            email_permission=True,
        )
    )
    event = recommendation_for(lead.id, lead.assigned_agent_id)
    # Delivered twice (a producer retry past the duplicate window): one version.
    for _ in range(2):
        await app.runtime.bus.publish_raw(event.subject, event.to_json(), {"Nats-Msg-Id": uuid.uuid4().hex})
    (version,) = await app.wait_for_statuses(lead.id, ["READY"])
    assert version["automatic"] is True and version["call_id"] == str(event.call_id)

    (generated,) = await generated_for(app, lead.id)
    assert generated.prospectus_id == uuid.UUID(version["id"]) and generated.version == 1
    assert generated.assigned_agent_id == app.agent_id and generated.call_id == event.call_id
    assert generated.product_ids == [item.product_id for item in event.recommendation.items]
    assert generated.send_email is True

    # On demand, the same lead: for the agent to review, not emailed by itself.
    response = await app.client.post(f"/api/prospectus/{lead.id}", headers=app.agent)
    assert response.status_code == 202
    await app.wait_for_statuses(lead.id, ["READY", "READY"])

    async def announced_twice() -> bool:
        return len(await generated_for(app, lead.id)) == 2

    assert await wait_for(announced_twice, timeout=10)
    assert [e.send_email for e in await generated_for(app, lead.id)] == [True, False]


@pytest.mark.parametrize(
    ("permission_event", "lead_fields", "emailed"),
    [
        # The address and the permission both given on the call.
        ("email_captured", {"email": None}, True),
        # Permission given, but the lead has opted out (the other combinations: test_prospectus_versions).
        ("call_ended", {"consent_flags": {"email_opt_out": True}}, False),
    ],
)
async def test_automatic_email_needs_an_address_permission_and_no_opt_out(
    prospectus_app, make_known_lead, permission_event, lead_fields, emailed
):
    app = prospectus_app
    lead = await make_known_lead(**lead_fields)
    if permission_event == "call_ended":
        await app.publish(
            CallEnded(
                call_id=uuid.uuid4(),
                lead_id=lead.id,
                mode="phone",
                outcome=CallOutcome.ANSWERED,
                email_permission=True,
            )
        )
    if permission_event == "email_captured":
        # The address is given on the call: leads records it and announces the lead's new state.
        await app.publish(
            LeadEmailCaptured(lead_id=lead.id, email="given@example.com", email_permission=True),
            LeadUpdated(
                lead=lead.model_copy(update={"email": "given@example.com", "updated_at": lead.created_at}),
                changed=["email"],
            ),
        )

    async def facts_arrived() -> bool:
        async with app.runtime.db.session() as session:
            record = await repo.get_lead(session, lead.id)
        return record is not None and record.email_facts.email_permission and bool(record.email_facts.email)

    assert await wait_for(facts_arrived, timeout=10)
    await app.publish(recommendation_for(lead.id, lead.assigned_agent_id))
    await app.wait_for_statuses(lead.id, ["READY"])

    async def announced() -> bool:
        return len(await generated_for(app, lead.id)) == 1

    assert await wait_for(announced, timeout=10)
    assert (await generated_for(app, lead.id))[0].send_email is emailed


async def test_the_permission_travels_with_the_recommendation_when_call_ended_is_not_here_yet(
    prospectus_app, make_known_lead
):
    app = prospectus_app
    lead = await make_known_lead()
    # rag's recommendation for the call arrives first; this service's own call.ended consumer lags.
    event = recommendation_for(lead.id, lead.assigned_agent_id).model_copy(update={"email_permission": True})
    await app.publish(event)
    await app.wait_for_statuses(lead.id, ["READY"])

    async def announced() -> bool:
        return len(await generated_for(app, lead.id)) == 1

    assert await wait_for(announced, timeout=10)
    assert (await generated_for(app, lead.id))[0].send_email is True


async def test_events_that_arrive_while_the_service_is_down_are_processed_once_after_restart(
    start_prospectus,
):
    async with start_prospectus() as app:
        agent_id, bus = app.agent_id, app.runtime.bus
        interrupted = lead_snapshot(agent_id, name="Interrupted Lead")
        await app.publish(
            LeadCreated(lead=interrupted), *catalog_events(), recommendation_for(interrupted.id, agent_id)
        )

        async def rendering() -> bool:
            versions = await app.versions(interrupted.id)
            return bool(versions) and versions[0]["status"] == "RENDERING"

        # Stopped in the middle of a render: the version is handed back, not left to its lease.
        assert await wait_for(rendering, timeout=15, interval=0.01)

    leads = [lead_snapshot(agent_id, name=f"Lead {n}") for n in range(3)]
    recommendations = [recommendation_for(lead.id, agent_id) for lead in leads]
    nc = await nats.connect(bus.url)
    try:
        js = nc.jetstream()
        for event in [*(LeadCreated(lead=lead) for lead in leads), *recommendations, recommendations[0]]:
            # The last one is a redelivery by its producer, past the stream's duplicate window.
            await js.publish(
                bus.subject(event.subject), event.to_json(), headers={"Nats-Msg-Id": uuid.uuid4().hex}
            )
    finally:
        await nc.close()

    async with start_prospectus() as app:
        for lead in [interrupted, *leads]:
            (version,) = await app.wait_for_statuses(lead.id, ["READY"])
            assert version["version"] == 1

        async def all_announced() -> bool:
            return len(await stored_events(app.runtime.bus, ProspectusGenerated)) >= 4

        assert await wait_for(all_announced, timeout=15)
        generated = await stored_events(app.runtime.bus, ProspectusGenerated)
        assert sorted(e.lead_id for e in generated) == sorted(lead.id for lead in [interrupted, *leads])


async def test_two_replicas_render_each_version_once(start_prospectus):
    async with start_prospectus() as first, start_prospectus() as second:
        leads = [lead_snapshot(first.agent_id, name=f"Lead {n}") for n in range(4)]
        await first.publish(*(LeadCreated(lead=lead) for lead in leads), *catalog_events())
        bus = first.runtime.bus
        # Inputs first, so every render succeeds at its first attempt unless claimed twice.
        assert await wait_for(lambda: drained(bus, "prospectus-lead-created", LeadCreated), timeout=10)
        assert await wait_for(
            lambda: drained(bus, "prospectus-product-upserted", ProductUpserted), timeout=10
        )
        await second.publish(*(recommendation_for(lead.id, first.agent_id) for lead in leads))
        for lead in leads:
            (version,) = await first.wait_for_statuses(lead.id, ["READY"])
            # One claim each: a version taken by both replicas would show two attempts.
            assert version["attempts"] == 1

        async def all_announced() -> bool:
            return len(await stored_events(first.runtime.bus, ProspectusGenerated)) >= len(leads)

        assert await wait_for(all_announced, timeout=15)
        generated = await stored_events(first.runtime.bus, ProspectusGenerated)
        assert sorted(e.lead_id for e in generated) == sorted(lead.id for lead in leads)


async def test_agent_and_branding_come_from_the_gateway(prospectus_app, make_known_lead):
    app = prospectus_app
    lead = await make_known_lead()
    nc = await nats.connect(app.runtime.bus.url)
    asked: list[dict] = []

    async def user(msg):
        asked.append(json.loads(msg.data))
        await msg.respond(
            json.dumps(
                {
                    "found": True,
                    "id": str(app.agent_id),
                    "name": "Sam Okafor",
                    "email": "sam@parley.example.com",
                    "role": "AGENT",
                    "active": True,
                }
            ).encode()
        )

    async def settings(msg):
        await msg.respond(
            json.dumps(
                {
                    "values": {
                        "company_name": "Acme Cover Ltd",
                        "brand_primary_color": "#aa3300",
                        "openai_api_key": "sk-not-for-us",
                    }
                }
            ).encode()
        )

    await nc.subscribe(app.runtime.bus.subject(RPC_GATEWAY_USER), cb=user)
    await nc.subscribe(app.runtime.bus.subject(RPC_GATEWAY_SETTINGS), cb=settings)
    await nc.flush()
    try:
        await app.publish(recommendation_for(lead.id, lead.assigned_agent_id))
        await app.wait_for_statuses(lead.id, ["READY"])
    finally:
        await nc.close()
    assert asked == [{"user_id": str(app.agent_id)}]
    text = pdf_text((await app.client.get(f"/api/prospectus/{lead.id}/1/pdf", headers=app.agent)).content)
    assert "Sam Okafor" in text and "sam@parley.example.com" in text and "Insurance agent" in text
    assert "Acme Cover Ltd" in text
    html = (await app.client.get(f"/api/prospectus/{lead.id}/1/html", headers=app.agent)).text
    assert "--primary: #aa3300;" in html


async def test_a_silent_gateway_costs_a_timeout_not_the_document(prospectus_app, make_known_lead):
    app = prospectus_app
    lead = await make_known_lead()
    nc = await nats.connect(app.runtime.bus.url)

    # Subscribed but never answering: the worker waits `gateway_timeout_seconds`, then uses the defaults.
    async def ignore(msg) -> None:
        pass

    await nc.subscribe(app.runtime.bus.subject(RPC_GATEWAY_USER), cb=ignore)
    await nc.flush()
    try:
        await app.publish(recommendation_for(lead.id, lead.assigned_agent_id))
        await app.wait_for_statuses(lead.id, ["READY"])
    finally:
        await nc.close()
    text = pdf_text((await app.client.get(f"/api/prospectus/{lead.id}/1/pdf", headers=app.agent)).content)
    assert "Customer care team" in text and "Parley Insurance" in text


async def test_the_mailer_gets_the_pdf_of_a_version_of_its_lead_only(prospectus_app, make_known_lead):
    app = prospectus_app
    lead = await make_known_lead()
    await app.publish(recommendation_for(lead.id, lead.assigned_agent_id))
    (version,) = await app.wait_for_statuses(lead.id, ["READY"])
    bus = app.runtime.bus

    async def ask(lead_id, prospectus_id) -> ProspectusPdfReply:
        raw = await bus.request(
            RPC_PROSPECTUS_PDF, ProspectusPdfRequest(lead_id=lead_id, prospectus_id=prospectus_id)
        )
        return ProspectusPdfReply.model_validate_json(raw)

    reply = await ask(lead.id, uuid.UUID(version["id"]))
    downloaded = await app.client.get(f"/api/prospectus/{lead.id}/1/pdf", headers=app.agent)
    assert reply.found and reply.status == "READY" and reply.version == 1
    assert reply.pdf == downloaded.content
    assert [i.product_id for i in reply.recommendation.items] == [
        uuid.UUID(p) for p in version["product_ids"]
    ]
    assert reply.agent is not None and reply.agent.email == "care@parley.example.com"
    assert (await ask(uuid.uuid4(), uuid.UUID(version["id"]))).found is False


async def test_a_deleted_lead_takes_its_versions_and_files_with_it(prospectus_app, make_known_lead):
    app = prospectus_app
    lead = await make_known_lead()
    await app.publish(recommendation_for(lead.id, lead.assigned_agent_id))
    await app.wait_for_statuses(lead.id, ["READY"])
    files = app.runtime.extras["store"]
    assert await files.versions(lead.id) == [1]

    await app.publish(LeadDeleted(lead_id=lead.id))

    async def gone() -> bool:
        response = await app.client.get(f"/api/prospectus/{lead.id}", headers=app.admin)
        return response.status_code == 404

    assert await wait_for(gone, timeout=10)
    assert await files.versions(lead.id) == []
    # A late update of the deleted lead does not bring it back, nor does a late recommendation.
    await app.publish(
        LeadUpdated(lead=lead.model_copy(update={"consent_flags": ConsentFlags(dnd=True)})),
        recommendation_for(lead.id, lead.assigned_agent_id),
    )
    bus = app.runtime.bus
    assert await wait_for(lambda: drained(bus, "prospectus-lead-updated", LeadUpdated), timeout=10)
    assert await wait_for(
        lambda: drained(bus, "prospectus-recommendations-ready", RecommendationsReady), timeout=10
    )
    assert (await app.client.get(f"/api/prospectus/{lead.id}", headers=app.admin)).status_code == 404
    async with app.runtime.db.session() as session:
        assert await repo.next_version_number(session, lead.id) == 1
