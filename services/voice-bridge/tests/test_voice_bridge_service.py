"""The voice-bridge service end to end: simulated calls through the API with the bot's tools over a real
NATS server and database, the lead projection, scoping, and the scheduler's call requests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from nats.aio.msg import Msg
from parley_contracts import (
    RPC_LOOKUP_PRODUCTS,
    CallEnded,
    CallOutcome,
    CallRequested,
    CallStarted,
    CallStatusChanged,
    ConsentFlags,
    LeadEmailCaptured,
    LookupProductsRequest,
    SetLeadConsent,
)
from voice_bridge.testing.recording_ports import sample_recommendation

from .conftest import AGENT2_ID, VoiceApp

pytestmark = pytest.mark.integration


async def fake_rag(app: VoiceApp) -> list[LookupProductsRequest]:
    """Answer RPC_LOOKUP_PRODUCTS the way rag does; returns the requests it received."""
    received: list[LookupProductsRequest] = []

    async def answer(msg: Msg) -> None:
        received.append(LookupProductsRequest.model_validate_json(msg.data))
        await msg.respond(sample_recommendation().model_dump_json().encode())

    await app.runtime.bus.nc.subscribe(app.runtime.bus.subject(RPC_LOOKUP_PRODUCTS), cb=answer)
    return received


async def say(app: VoiceApp, session_id: str, text: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await app.client.post(
        f"/api/voice/sessions/{session_id}/messages", json={"text": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def start(app: VoiceApp, lead_id: uuid.UUID, headers: dict[str, str]) -> dict[str, Any]:
    response = await app.client.post(
        "/api/voice/sessions", json={"lead_id": str(lead_id), "mode": "simulated"}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_simulated_call_with_needs_and_email_stores_transcript_and_publishes(
    voice_app: VoiceApp,
) -> None:
    app = voice_app
    lookups = await fake_rag(app)
    lead = await app.create_lead(consent_flags=ConsentFlags(call_recording=True))

    started = await start(app, lead.id, app.agent)
    session_id = started["session"]["id"]
    assert started["session"]["status"] == "ACTIVE"
    assert "recorded" in started["reply"] and [line["speaker"] for line in started["lines"]] == ["bot"]

    script = [
        "Yes, sure",
        "Life insurance I think",
        "My wife and two kids",
        "I'm forty two",
        "Maybe 50 dollars a month",
        "Yes, that's fine",
        "No, I'm pretty healthy",
        "Nothing through work",
        "Protecting my family if something happens to me",
    ]
    for text in script:
        assert not (await say(app, session_id, text, app.agent))["ended"]
    presented = await say(app, session_id, "Fairly soon", app.agent)
    assert "SecureLife Term 20" in presented["reply"]  # what rag answered, by name
    [lookup] = lookups
    assert lookup.lead_id == lead.id and lookup.call_id == uuid.UUID(session_id)
    assert lookup.needs.coverage_type == ["life"] and lookup.needs.age == 42

    await say(app, session_id, "Yes please", app.agent)
    await say(app, session_id, "It's j o h n dot smith at example dot com", app.agent)
    await say(app, session_id, "Yes, that's right", app.agent)
    last = await say(app, session_id, "No, that's all, thanks", app.agent)
    assert last["ended"] and last["session"]["status"] == "ENDED"
    assert last["session"]["outcome"] == "ANSWERED"
    assert last["session"]["email_saved"] == "john.smith@example.com"

    transcript = (
        await app.client.get(f"/api/voice/sessions/{session_id}/transcript", headers=app.agent)
    ).json()
    lines = transcript["lines"]
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert len(lines) == 1 + 2 * (len(script) + 5)
    assert lines[1] == {**lines[1], "speaker": "prospect", "text": "Yes, sure"}

    [captured] = await app.events(LeadEmailCaptured)
    assert captured.lead_id == lead.id and captured.email == "john.smith@example.com"
    assert captured.call_id == uuid.UUID(session_id) and captured.email_permission
    [call_started] = await app.events(CallStarted)
    assert call_started.call_id == uuid.UUID(session_id) and call_started.mode == "simulated"
    [ended] = await app.events(CallEnded)
    assert ended.call_id == uuid.UUID(session_id) and ended.outcome is CallOutcome.ANSWERED
    assert ended.email_permission and ended.assigned_agent_id == lead.assigned_agent_id
    assert [line.text for line in ended.transcript] == [line["text"] for line in lines]
    assert ended.summary and "life" in ended.summary

    # An ended call takes no more messages; stopping it again changes nothing.
    again = await app.client.post(
        f"/api/voice/sessions/{session_id}/messages", json={"text": "hello?"}, headers=app.agent
    )
    assert again.status_code == 409
    stopped = await app.client.post(f"/api/voice/sessions/{session_id}/stop", headers=app.agent)
    assert stopped.status_code == 200 and stopped.json()["outcome"] == "ANSWERED"
    assert len(await app.events(CallEnded)) == 1


async def test_dont_call_me_again_publishes_dnd_and_ends_do_not_call(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead()
    session_id = (await start(app, lead.id, app.agent))["session"]["id"]
    await say(app, session_id, "yes", app.agent)
    await say(app, session_id, "health cover", app.agent)
    reply = await say(app, session_id, "Actually, please don't call me again", app.agent)
    assert reply["ended"] and "won't call you again" in reply["reply"]
    assert reply["session"]["outcome"] == "DO_NOT_CALL" and reply["session"]["do_not_call"]

    [consent] = await app.events(SetLeadConsent)
    assert consent.lead_id == lead.id and consent.dnd is True and consent.source == "voice-bridge"
    [ended] = await app.events(CallEnded)
    assert ended.outcome is CallOutcome.DO_NOT_CALL

    # The bridge refuses the next call at once, before leads' lead.updated arrives.
    refused = await app.client.post(
        "/api/voice/sessions", json={"lead_id": str(lead.id), "mode": "simulated"}, headers=app.agent
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_dnd_lead_is_refused(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead(consent_flags=ConsentFlags(dnd=True))
    response = await app.client.post(
        "/api/voice/sessions", json={"lead_id": str(lead.id), "mode": "simulated"}, headers=app.agent
    )
    assert response.status_code == 409, response.text
    assert response.json()["status"] == 409


async def test_lookup_without_rag_is_a_polite_fallback(voice_app: VoiceApp) -> None:
    app = voice_app  # nobody answers RPC_LOOKUP_PRODUCTS
    lead = await app.create_lead()
    session_id = (await start(app, lead.id, app.agent))["session"]["id"]
    for text in ["Yes", "Life insurance", "No dependents", "I'm 30", "20 dollars a month", "No"]:
        await say(app, session_id, text, app.agent)
    replies = []
    for text in ["No", "Peace of mind", "Not urgent"]:
        reply = await say(app, session_id, text, app.agent)
        replies.append(reply["reply"])
        assert not reply["ended"]
    assert any("sorry" in text.lower() or "colleague" in text.lower() for text in replies), replies


async def test_agents_only_see_their_own_leads_sessions(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead()
    other = await app.create_lead(assigned_agent_id=AGENT2_ID)
    session_id = (await start(app, lead.id, app.agent))["session"]["id"]

    for method, path, body in [
        ("GET", f"/api/voice/sessions/{session_id}", None),
        ("GET", f"/api/voice/sessions/{session_id}/transcript", None),
        ("POST", f"/api/voice/sessions/{session_id}/messages", {"text": "hi"}),
        ("POST", f"/api/voice/sessions/{session_id}/stop", None),
        ("GET", f"/api/voice/sessions?lead_id={lead.id}", None),
    ]:
        response = await app.client.request(method, path, json=body, headers=app.agent2)
        assert response.status_code == 404, (path, response.text)
    foreign = await app.client.post(
        "/api/voice/sessions", json={"lead_id": str(other.id), "mode": "simulated"}, headers=app.agent
    )
    assert foreign.status_code == 404

    mine = (await app.client.get("/api/voice/sessions", headers=app.agent)).json()
    assert [item["id"] for item in mine["items"]] == [session_id] and mine["total"] == 1
    assert (await app.client.get("/api/voice/sessions", headers=app.agent2)).json()["total"] == 0
    by_lead = await app.client.get("/api/voice/sessions", params={"lead_id": str(lead.id)}, headers=app.admin)
    assert by_lead.json()["total"] == 1
    assert (await app.client.get(f"/api/voice/sessions/{session_id}", headers=app.admin)).status_code == 200

    stopped = await app.client.post(f"/api/voice/sessions/{session_id}/stop", headers=app.agent)
    assert stopped.json()["status"] == "ENDED"


async def test_bad_input_is_a_4xx_problem(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead()
    cases = [
        ({"lead_id": "not-a-uuid", "mode": "simulated"}, 422),
        ({"lead_id": str(lead.id), "mode": "carrier-pigeon"}, 422),
        ({"lead_id": str(lead.id), "extra": 1}, 422),
        ({"lead_id": str(uuid.uuid4()), "mode": "simulated"}, 404),
        ({"lead_id": str(lead.id), "mode": "phone"}, 503),
    ]
    for body, expected in cases:
        response = await app.client.post("/api/voice/sessions", json=body, headers=app.agent)
        assert response.status_code == expected, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    unauthenticated = await app.client.post("/api/voice/sessions", json={"lead_id": str(lead.id)})
    assert unauthenticated.status_code == 401

    session_id = (await start(app, lead.id, app.agent))["session"]["id"]
    for body in [{"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {}, {"text": 5}]:
        response = await app.client.post(
            f"/api/voice/sessions/{session_id}/messages", json=body, headers=app.agent
        )
        assert response.status_code == 422, (body, response.text)
    missing = await app.client.get(f"/api/voice/sessions/{uuid.uuid4()}", headers=app.agent)
    assert missing.status_code == 404
    assert (await app.client.get("/api/voice/sessions/nope", headers=app.agent)).status_code == 422


async def test_call_requested_simulated_waits_for_the_agent_then_rehearses(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead()
    request = CallRequested(
        task_id=uuid.uuid4(), lead_id=lead.id, assigned_agent_id=lead.assigned_agent_id, mode="simulated"
    )
    await app.runtime.bus.publish_now(request)
    await app.handled(request)

    [status] = await app.events(CallStatusChanged)
    assert status.status == "queued" and status.task_id == request.task_id
    [waiting] = (await app.client.get("/api/voice/sessions", headers=app.agent)).json()["items"]
    assert waiting["status"] == "WAITING_FOR_AGENT" and waiting["task_id"] == str(request.task_id)
    assert waiting["id"] == str(status.call_id)

    first = await say(app, waiting["id"], "Yes, go ahead", app.agent)
    assert [line["speaker"] for line in first["lines"]] == ["bot", "prospect", "bot"]
    assert first["session"]["status"] == "ACTIVE"
    [call_started] = await app.events(CallStarted)
    assert call_started.task_id == request.task_id

    stopped = (await app.client.post(f"/api/voice/sessions/{waiting['id']}/stop", headers=app.agent)).json()
    assert stopped["status"] == "ENDED"
    [ended] = await app.events(CallEnded)
    assert ended.task_id == request.task_id and ended.outcome is CallOutcome.ANSWERED


async def test_call_requested_phone_without_twilio_ends_failed(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead()
    request = CallRequested(task_id=uuid.uuid4(), lead_id=lead.id, mode="phone")
    await app.runtime.bus.publish_now(request)
    await app.handled(request)
    [ended] = await app.events(CallEnded)
    assert ended.outcome is CallOutcome.FAILED and ended.task_id == request.task_id
    assert ended.summary and "Twilio" in ended.summary
    [session] = (await app.client.get("/api/voice/sessions", headers=app.admin)).json()["items"]
    assert session["status"] == "ENDED" and session["outcome"] == "FAILED"


async def test_a_lead_created_a_moment_ago_can_be_called_at_once(voice_app: VoiceApp) -> None:
    """Its lead.created has not arrived: the bridge asks leads, and the owner rule still holds."""
    from servicekit.testing.leads import answer_lead_snapshots

    from .conftest import lead_snapshot

    app = voice_app
    fresh_lead, their_lead = lead_snapshot(name="Fresh Fern"), lead_snapshot(assigned_agent_id=AGENT2_ID)
    asked = await answer_lead_snapshots(app.runtime, fresh_lead, their_lead)
    fresh, theirs = fresh_lead.id, their_lead.id
    body = await start(app, fresh, app.agent)
    assert body["session"]["lead_id"] == str(fresh) and asked == [fresh]
    # Projected now: the next call does not ask again.
    await start(app, fresh, app.agent)
    assert asked == [fresh]
    # Another agent's lead is fetched but still a 404; an unknown one is a 404 too.
    refused = await app.client.post(
        "/api/voice/sessions", json={"lead_id": str(theirs), "mode": "simulated"}, headers=app.agent
    )
    assert refused.status_code == 404
    missing = await app.client.post(
        "/api/voice/sessions", json={"lead_id": str(uuid.uuid4()), "mode": "simulated"}, headers=app.agent
    )
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
