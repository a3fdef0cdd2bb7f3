"""Phone calls through the running service: the Twilio REST fake places the call and sends signed
webhooks, the Media Streams fake connects with the token from the TwiML, the Realtime fake is the bot;
real NATS and database underneath.

What is shown: a call placed with status and AMD callbacks; audio both ways; a tool call reaching the
leads service's event; hang-up cleanup and `call.ended`; no-answer releasing the line; voicemail with a
callback link that books a follow-up; an inbound callback answered with the lead's history; forged
signatures, unknown calls and replayed media tokens refused; consent and calling hours enforced.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from parley_calltime import CallingRules
from parley_contracts import (
    CallEnded,
    CallOutcome,
    CallRequested,
    CallStarted,
    CallStatusChanged,
    ConsentFlags,
    FollowupRequested,
    LeadEmailCaptured,
    NeedsExtracted,
    NeedsProfile,
    utcnow,
)
from pydantic import SecretStr
from servicekit.app import create_app
from servicekit.bus import wait_for
from servicekit.nats_server import free_port
from servicekit.testing.keys import KeyPair
from servicekit.testing.plugin import serving
from twilio.request_validator import RequestValidator
from voice_bridge.adapters import repository as repo
from voice_bridge.main import definition
from voice_bridge.testing.fake_realtime import AudioReply, FakeRealtimeServer, FunctionCallReply
from voice_bridge.testing.fake_twilio import FakeTwilioMediaClient
from voice_bridge.testing.twilio_rest_fake import FakeCall, FakeTwilioRest

from .conftest import VoiceApp, VoiceSettingsFactory

pytestmark = pytest.mark.integration

OUR_NUMBER = "+15550100000"
GREETING = "Hi John, this is Maya from Parley Insurance."


@dataclass
class PhoneRig:
    app: VoiceApp
    base_url: str
    twilio: FakeTwilioRest
    realtime: FakeRealtimeServer

    @property
    def media_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/twilio/media"

    async def dial(self, lead_id: uuid.UUID, **overrides: Any) -> tuple[dict[str, Any], FakeCall]:
        response = await self.app.client.post(
            "/api/voice/sessions", json={"lead_id": str(lead_id), "mode": "phone"}, headers=self.app.agent
        )
        assert response.status_code == 201, response.text
        session = response.json()["session"]
        placed = [
            call
            for call in self.twilio.calls.values()
            if call.status_callback and session["id"] in call.status_callback
        ]
        assert len(placed) == 1
        return session, placed[0]

    async def answer(self, call: FakeCall) -> FakeTwilioMediaClient:
        """The lead picks up: Twilio reports progress and opens the stream the call's TwiML names."""
        for status in ("initiated", "ringing", "in-progress"):
            delivered = await self.twilio.send_status(call.sid, status)
            assert delivered is not None and delivered.response_status == 204, delivered
        return await self.stream(call.twiml or "", call.sid)

    async def stream(self, twiml: str, call_sid: str) -> FakeTwilioMediaClient:
        media = FakeTwilioMediaClient(self.media_url, custom_parameters={"token": stream_token(twiml)})
        media.call_sid = call_sid
        await media.connect()
        return media

    def close_calling_hours(self) -> None:
        """Legal hours only from two hours from now, in New York: a call placed now is outside them."""
        from voice_bridge.context import voice_calls_of

        calls = voice_calls_of(self.app.runtime)
        assert calls.phone is not None
        later = (utcnow().astimezone(ZoneInfo("America/New_York")).hour + 2) % 24
        calls.phone.calling_rules = CallingRules.uniform(f"{later:02d}:00", f"{later:02d}:30")

    async def ended(self, call_id: str) -> CallEnded:
        async def announced() -> bool:
            return any(str(e.call_id) == call_id for e in await self.app.events(CallEnded))

        assert await wait_for(announced, timeout=20)
        return next(e for e in await self.app.events(CallEnded) if str(e.call_id) == call_id)


async def soon(event: asyncio.Event, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        await event.wait()


def stream_token(twiml: str) -> str:
    found = re.search(r'<Parameter name="token" value="([^"]+)"', twiml)
    assert found, twiml
    return unescape(found.group(1))


@asynccontextmanager
async def serve_phone(
    voice_settings: VoiceSettingsFactory,
    jwt_keys: KeyPair,
    twilio: FakeTwilioRest,
    realtime: FakeRealtimeServer,
    **overrides: Any,
) -> AsyncIterator[PhoneRig]:
    """The service on a loopback port with the phone's infrastructure: its public URL, signing secrets
    and the Twilio fake's API host. Credentials are the caller's to give (`overrides`: the environment)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    infrastructure: dict[str, Any] = {
        "twilio_api_base_url": twilio.base_url,
        "twilio_webhook_base_url": base_url,
        "voice_signing_secrets": [SecretStr("phone-test-signing-secret-0123456789")],
        # Calls at any hour, whatever the lead's country (the tests run at any time of day); the
        # country rows are tested in test_voice_calling_hours.py.
        "calling_hours_start": "00:00",
        "calling_hours_end": "24:00",
        "calling_rules_builtin": False,
        "final_status_wait_seconds": 2,
    }
    app = create_app(definition, await voice_settings(**(infrastructure | overrides)))
    async with serving(app, port=port) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
        yield PhoneRig(VoiceApp(client, app.state.runtime, jwt_keys), url, twilio, realtime)


@pytest.fixture
async def phone(voice_settings: VoiceSettingsFactory, jwt_keys: KeyPair) -> AsyncIterator[PhoneRig]:
    """A phone line configured in the environment (Twilio and OpenAI credentials included)."""
    async with (
        FakeTwilioRest() as twilio,
        FakeRealtimeServer(replies=[AudioReply(GREETING)]) as realtime,
        serve_phone(
            voice_settings,
            jwt_keys,
            twilio,
            realtime,
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=SecretStr(twilio.auth_token),
            twilio_from_number=OUR_NUMBER,
            openai_api_key=SecretStr(realtime.api_key),
            openai_base_url=realtime.http_base_url,
            openai_websocket_base_url=realtime.websocket_base_url,
            realtime_token_prices={
                "text_input": 4,
                "cached_text_input": 0.4,
                "audio_input": 32,
                "cached_audio_input": 0.4,
                "text_output": 16,
                "audio_output": 64,
            },
        ) as rig,
    ):
        yield rig


async def test_answered_call_relays_audio_runs_tools_and_ends_with_the_transcript(phone: PhoneRig) -> None:
    lead = await phone.app.create_lead()
    phone.realtime.replies.extend(
        [
            FunctionCallReply("saveEmail", {"email": "john.smith@example.com"}),
            AudioReply("Thanks, I have sent the details to your inbox. Goodbye!"),
        ]
    )
    session, call = await phone.dial(lead.id)
    assert session["status"] == "DIALING" and session["mode"] == "phone"
    # Placed the way the issue asks: to the lead, from our number, status events, async AMD, our stream.
    assert (call.to, call.from_) == (lead.phone, OUR_NUMBER)
    assert set(call.status_callback_events) >= {"initiated", "ringing", "answered", "completed"}
    assert call.async_amd and call.machine_detection == "DetectMessageEnd"
    assert f'<Stream url="{phone.media_url}">' in (call.twiml or "")

    media = await phone.answer(call)
    # The bot speaks first: the pre-warmed session's greeting reaches the caller as mu-law media.
    await media.wait_for("media")
    await media.stream([b"\xff" * 160] * 10, paced=False)  # 200 ms of the caller, 20 ms frames
    realtime = await phone.realtime.session(0)

    async def caller_audio_reached_the_bot() -> bool:
        return sum(1 for e in realtime.received if e.get("type") == "input_audio_buffer.append") >= 10

    assert await wait_for(caller_audio_reached_the_bot, timeout=10)
    await realtime.response_finished()  # the greeting
    await realtime.user_says("It's john.smith@example.com")  # the fake answers with saveEmail

    async def email_captured() -> bool:
        return any(e.lead_id == lead.id for e in await phone.app.events(LeadEmailCaptured))

    assert await wait_for(email_captured, timeout=10)
    assert any(
        e.get("type") == "conversation.item.create" and e["item"].get("type") == "function_call_output"
        for e in realtime.received
    )

    await media.stop()  # the caller hangs up
    ended = await phone.ended(session["id"])
    assert ended.outcome is CallOutcome.ANSWERED and ended.mode == "phone" and ended.email_permission
    assert [line.speaker for line in ended.transcript][:1] == ["bot"]
    assert GREETING in ended.transcript[0].text
    # Cleanup: the line was hung up through the REST API, the Realtime socket closed, the slot free.
    assert phone.twilio.calls[call.sid].status == "completed"
    await soon(realtime.closed)
    statuses = [
        e.status for e in await phone.app.events(CallStatusChanged) if str(e.call_id) == session["id"]
    ]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    assert [e.call_id for e in await phone.app.events(CallStarted)] == [uuid.UUID(session["id"])]

    stored = await phone.app.client.get(f"/api/voice/sessions/{session['id']}", headers=phone.app.agent)
    assert stored.json()["status"] == "ENDED" and stored.json()["outcome"] == "ANSWERED"
    # Usage summed from every `response.done`, priced with the configured table.
    assert stored.json()["usage"]["responses"] >= 3 and stored.json()["usage"]["output_audio_tokens"] > 0
    assert stored.json()["estimated_cost_usd"] > 0
    transcript = await phone.app.client.get(
        f"/api/voice/sessions/{session['id']}/transcript", headers=phone.app.agent
    )
    assert GREETING in transcript.json()["lines"][0]["text"]


async def test_no_answer_ends_the_call_and_frees_the_line(phone: PhoneRig) -> None:
    lead = await phone.app.create_lead()
    session, call = await phone.dial(lead.id)
    realtime = await phone.realtime.session(0)  # opened while it rang
    await phone.twilio.send_status(call.sid, "ringing")
    await phone.twilio.send_status(call.sid, "no-answer")
    ended = await phone.ended(session["id"])
    assert ended.outcome is CallOutcome.NO_ANSWER and ended.transcript == []
    await soon(realtime.closed)
    from voice_bridge.context import voice_calls_of

    calls = voice_calls_of(phone.app.runtime)
    assert calls.phone is not None and calls.phone.lines_in_use == 0


async def test_voicemail_is_left_with_a_callback_link_that_books_a_follow_up(phone: PhoneRig) -> None:
    lead = await phone.app.create_lead()
    session, call = await phone.dial(lead.id)
    media = await phone.answer(call)
    await media.wait_for("media")
    delivered = await phone.twilio.send_amd(call.sid, "machine_end_beep")
    assert delivered.response_status == 204
    # The stream is replaced by a spoken voicemail: our number read digit by digit and a short link.
    voicemail = phone.twilio.calls[call.sid].twiml_updates
    assert len(voicemail) == 1 and "<Say" in voicemail[0] and "<Hangup" in voicemail[0]
    assert "5 5 5, 0 1 0, 0 0 0 0" in voicemail[0]
    code = re.search(r"callback slash ((?:[0-9A-Z] ){7}[0-9A-Z])", voicemail[0])
    assert code, voicemail[0]
    # Twilio ends the stream to play it, then reports the end of the call.
    await media.stop()
    await phone.twilio.send_status(call.sid, "completed")
    ended = await phone.ended(session["id"])
    assert ended.outcome is CallOutcome.VOICEMAIL

    link = "/callback/" + code.group(1).replace(" ", "")
    page = await phone.app.client.get(link)
    assert page.status_code == 200 and "John" in page.text
    booked = await phone.app.client.post(link, data={"at": "2099-01-05T10:30"})
    assert booked.status_code == 400  # more than six months ahead
    when = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT10:30")
    booked = await phone.app.client.post(link, data={"at": when})
    assert booked.status_code == 200, booked.text
    followups = [e for e in await phone.app.events(FollowupRequested) if e.lead_id == lead.id]
    assert len(followups) == 1 and followups[0].at.strftime("%H:%M") == "10:30"
    assert (await phone.app.client.get("/callback/ZZZZZZZZ")).status_code == 404


async def test_inbound_call_from_a_known_lead_gets_the_bot_with_their_history(phone: PhoneRig) -> None:
    lead = await phone.app.create_lead(phone="+14155550199")
    needs = NeedsExtracted(lead_id=lead.id, needs=NeedsProfile.model_validate({"coverage_type": ["life"]}))
    await phone.app.runtime.bus.publish_now(needs)
    await phone.app.handled(needs)

    params = {
        "CallSid": "CA" + uuid.uuid4().hex,
        "From": lead.phone or "",
        "To": OUR_NUMBER,
        "AccountSid": phone.twilio.account_sid,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    url = phone.base_url + "/twilio/voice"
    signature = RequestValidator(phone.twilio.auth_token).compute_signature(url, params)
    response = await phone.app.client.post(url, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    assert '<Parameter name="direction" value="inbound"' in response.text
    media = await phone.stream(response.text, params["CallSid"])
    await media.wait_for("media")
    realtime = phone.realtime.sessions[-1]
    update = next(e for e in realtime.received if e.get("type") == "session.update")
    instructions = update["session"]["instructions"]
    assert "calling us back" in instructions and '"life"' in instructions

    unknown = dict(params, CallSid="CA" + uuid.uuid4().hex, From="+14155550000")
    refused = await phone.twilio.send_webhook(url, unknown)
    assert refused.response_status == 200  # a polite message, no bot: the number is not a lead's
    await media.stop()


async def test_forged_or_unknown_webhooks_and_replayed_media_tokens_are_refused(phone: PhoneRig) -> None:
    lead = await phone.app.create_lead()
    session, call = await phone.dial(lead.id)
    status_url = call.status_callback or ""
    forged = await phone.twilio.send_webhook(
        status_url, {"CallSid": call.sid, "CallStatus": "completed"}, signature="bm90LWEtc2lnbmF0dXJl"
    )
    assert forged.response_status == 403
    unsigned = await phone.app.client.post(status_url, data={"CallSid": call.sid, "CallStatus": "completed"})
    assert unsigned.status_code == 403 and unsigned.headers["content-type"] == "application/problem+json"
    other_call = status_url.replace(session["id"], str(uuid.uuid4()))
    unknown = await phone.twilio.send_webhook(other_call, {"CallSid": call.sid, "CallStatus": "completed"})
    assert unknown.response_status == 403
    oversized = await phone.app.client.post(status_url, data={"CallSid": call.sid, "Junk": "x" * 70_000})
    assert oversized.status_code == 413
    bad_status = await phone.twilio.send_webhook(status_url, {"CallSid": call.sid, "CallStatus": "exploded"})
    assert bad_status.response_status == 400
    # None of that touched the call.
    assert phone.twilio.calls[call.sid].status == "queued"

    media = await phone.answer(call)
    await media.wait_for("media")
    # A captured `start` replayed on a second socket does not attach another listener.
    replay = await phone.stream(call.twiml or "", call.sid)
    await soon(replay.closed)
    forged_token = FakeTwilioMediaClient(phone.media_url, custom_parameters={"token": "forged"})
    await forged_token.connect()
    await soon(forged_token.closed)
    await media.stop()
    assert (await phone.ended(session["id"])).outcome is CallOutcome.ANSWERED


async def test_consent_and_calling_hours_are_enforced_before_dialing(phone: PhoneRig) -> None:
    dnd = await phone.app.create_lead(consent_flags=ConsentFlags(dnd=True))
    refused = await phone.app.client.post(
        "/api/voice/sessions", json={"lead_id": str(dnd.id), "mode": "phone"}, headers=phone.app.agent
    )
    assert refused.status_code == 409 and refused.json()["code"] == "lead_dnd"
    phone.close_calling_hours()
    lead = await phone.app.create_lead(timezone="America/New_York")
    late = await phone.app.client.post(
        "/api/voice/sessions", json={"lead_id": str(lead.id), "mode": "phone"}, headers=phone.app.agent
    )
    assert late.status_code == 409 and late.json()["code"] == "outside_calling_hours"
    assert phone.twilio.calls == {}
    async with phone.app.runtime.db.session() as db:
        assert await repo.get_session(db, uuid.uuid4()) is None


async def test_the_schedulers_call_request_rings_the_lead_once_and_reports_back(phone: PhoneRig) -> None:
    lead = await phone.app.create_lead()
    request = CallRequested(task_id=uuid.uuid4(), lead_id=lead.id, assigned_agent_id=lead.assigned_agent_id)
    await phone.app.runtime.bus.publish_now(request)
    await phone.app.handled(request)

    async def placed() -> bool:
        return len(phone.twilio.calls) == 1

    assert await wait_for(placed, timeout=10)
    [call] = phone.twilio.calls.values()
    assert call.to == lead.phone
    # A redelivered request (same event id) does not ring the lead again.
    await phone.app.runtime.bus.publish_now(request)
    await phone.twilio.send_status(call.sid, "busy")

    async def reported() -> bool:
        return any(e.task_id == request.task_id for e in await phone.app.events(CallEnded))

    assert await wait_for(reported, timeout=10)
    ended = next(e for e in await phone.app.events(CallEnded) if e.task_id == request.task_id)
    assert ended.outcome is CallOutcome.BUSY and ended.lead_id == lead.id
    assert len(phone.twilio.calls) == 1
