"""The phone line from the admin settings: no Twilio or OpenAI credentials in the service's environment,
only its infrastructure (public URL, signing secrets, the Twilio fake's API host); the credentials are
what an admin entered, served by a stand-in for the gateway's `RPC_GATEWAY_SETTINGS` responder.

What is shown: a call placed through the Twilio fake and answered by the Realtime fake on the admin's
credentials; an admin changing the line mid-call (another account, caller id and OpenAI key) leaves the
live call on its own line while the next call uses the new one; a rotated auth token verifies the live
call's webhooks whichever token signs them; and without settings, a phone call is a 503 naming what is
missing (a scheduled one ends FAILED saying so), until an admin completes them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from nats.aio.msg import Msg
from parley_contracts import (
    RPC_GATEWAY_SETTINGS,
    CallEnded,
    CallOutcome,
    CallRequested,
    GatewaySettingsReply,
    GatewaySettingsRequest,
)
from servicekit.bus import wait_for
from servicekit.testing.keys import KeyPair
from twilio.request_validator import RequestValidator
from voice_bridge.phone_line import PHONE_LINE_KEYS
from voice_bridge.settings import VoiceBridgeSettings
from voice_bridge.testing.fake_realtime import AudioReply, FakeRealtimeServer
from voice_bridge.testing.twilio_rest_fake import FakeTwilioRest

from .conftest import VoiceApp, VoiceSettingsFactory
from .test_voice_phone_calls import GREETING, OUR_NUMBER, PhoneRig, serve_phone, soon

pytestmark = pytest.mark.integration

OTHER_NUMBER = "+15550100999"
OTHER_OPENAI_KEY = "sk-admin-other-openai-key"


class AdminSettings:
    """The gateway's settings responder, answering with `values` (what an admin entered)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.asked: list[list[str] | None] = []

    async def answer(self, msg: Msg) -> None:
        request = GatewaySettingsRequest.model_validate_json(msg.data)
        self.asked.append(request.keys)
        keys = request.keys or list(self.values)
        reply = GatewaySettingsReply(values={key: self.values.get(key) for key in keys})
        await msg.respond(reply.model_dump_json().encode())


async def serve_admin_settings(app: VoiceApp, values: dict[str, Any]) -> AdminSettings:
    admin = AdminSettings(values)
    bus = app.runtime.bus
    await bus.nc.subscribe(bus.subject(RPC_GATEWAY_SETTINGS), cb=admin.answer)
    await bus.nc.flush()
    return admin


def line_settings(twilio: FakeTwilioRest, realtime: FakeRealtimeServer) -> dict[str, Any]:
    """An admin's phone line: the Twilio fake's first account, our number, the Realtime fake's key."""
    return {
        "twilio_account_sid": twilio.account_sid,
        "twilio_auth_token": twilio.auth_token,
        "twilio_from_number": OUR_NUMBER,
        "openai_api_key": realtime.api_key,
        "openai_base_url": realtime.http_base_url,
        "openai_realtime_model": "gpt-realtime-mini",
    }


@dataclass
class AdminPhone:
    rig: PhoneRig
    admin: AdminSettings
    other_realtime: FakeRealtimeServer  # another OpenAI account, for an admin to switch to


@pytest.fixture
async def admin_phone(voice_settings: VoiceSettingsFactory, jwt_keys: KeyPair) -> AsyncIterator[AdminPhone]:
    async with (
        FakeTwilioRest() as twilio,
        FakeRealtimeServer(replies=[AudioReply(GREETING)]) as realtime,
        FakeRealtimeServer(api_key=OTHER_OPENAI_KEY, replies=[AudioReply(GREETING)]) as other_realtime,
        # Admin settings are read afresh for every call (the cache is tested in servicekit).
        serve_phone(voice_settings, jwt_keys, twilio, realtime, ai_settings_cache_seconds=0) as rig,
    ):
        admin = await serve_admin_settings(rig.app, line_settings(twilio, realtime))
        yield AdminPhone(rig, admin, other_realtime)


def credentials_of(twilio: FakeTwilioRest, call_sid: str | None = None) -> set[tuple[str, str] | None]:
    """The credentials the API requests about one call (or placing calls, without a sid) came with."""
    if call_sid is None:
        return {r.credential for r in twilio.requests if r.path.endswith("/Calls.json")}
    return {r.credential for r in twilio.requests_to(call_sid)}


async def test_a_call_on_the_line_an_admin_configured(admin_phone: AdminPhone) -> None:
    rig, admin = admin_phone.rig, admin_phone.admin
    settings = rig.app.runtime.settings
    assert isinstance(settings, VoiceBridgeSettings)
    assert settings.twilio_account_sid is None and settings.openai_api_key is None  # nothing in the env
    lead = await rig.app.create_lead()
    session, call = await rig.dial(lead.id)
    assert admin.asked and set(admin.asked[0] or []) == set(PHONE_LINE_KEYS)
    assert (call.to, call.from_, call.account_sid) == (lead.phone, OUR_NUMBER, rig.twilio.account_sid)
    assert credentials_of(rig.twilio) == {(rig.twilio.account_sid, rig.twilio.auth_token)}

    media = await rig.answer(call)  # status callbacks signed with the admin's auth token: accepted
    await media.wait_for("media")  # the bot's greeting, from the Realtime session on the admin's key
    realtime = await rig.realtime.session(0)
    assert realtime.model == "gpt-realtime-mini"  # the admin's Realtime model
    await realtime.response_finished()
    await media.stop()
    ended = await rig.ended(session["id"])
    assert ended.outcome is CallOutcome.ANSWERED and GREETING in ended.transcript[0].text
    assert rig.twilio.calls[call.sid].status == "completed"  # hung up with the admin's credentials


async def test_changing_the_admin_settings_mid_call_keeps_the_live_call_on_its_line(
    admin_phone: AdminPhone,
) -> None:
    rig, admin, other = admin_phone.rig, admin_phone.admin, admin_phone.other_realtime
    first_account = (rig.twilio.account_sid, rig.twilio.auth_token)
    lead = await rig.app.create_lead()
    first, first_call = await rig.dial(lead.id)
    media = await rig.answer(first_call)
    await media.wait_for("media")
    first_realtime = await rig.realtime.session(0)
    await first_realtime.response_finished()

    # An admin moves the line to another Twilio account, caller id and OpenAI key.
    other_sid, other_token = rig.twilio.add_account()
    admin.values.update(
        twilio_account_sid=other_sid,
        twilio_auth_token=other_token,
        twilio_from_number=OTHER_NUMBER,
        openai_api_key=other.api_key,
        openai_base_url=other.http_base_url,
    )

    # The next call goes out on the new line: the other account, its number, the other OpenAI key.
    other_lead = await rig.app.create_lead(phone="+14155550177")
    second, second_call = await rig.dial(other_lead.id)
    assert (second_call.account_sid, second_call.from_) == (other_sid, OTHER_NUMBER)
    second_media = await rig.answer(second_call)
    await second_media.wait_for("media")
    await (await other.session(0)).response_finished()
    assert len(rig.realtime.sessions) == 1  # nothing more on the first OpenAI account

    # The live call carries on with its own: the caller's audio reaches its Realtime session...
    await media.stream([b"\xff" * 160] * 10, paced=False)

    async def caller_audio_reached_the_first_session() -> bool:
        appended = [e for e in first_realtime.received if e.get("type") == "input_audio_buffer.append"]
        return len(appended) >= 10

    assert await wait_for(caller_audio_reached_the_first_session, timeout=10)
    # ...its webhooks, signed with the first account's token, still verify...
    assert (await rig.twilio.send_amd(first_call.sid, "human")).response_status == 204
    # ...and it is hung up through the first account when the caller hangs up.
    await media.stop()
    ended = await rig.ended(first["id"])
    assert ended.outcome is CallOutcome.ANSWERED and ended.transcript
    assert rig.twilio.calls[first_call.sid].status == "completed"
    assert credentials_of(rig.twilio, first_call.sid) == {first_account}

    await second_media.stop()
    assert (await rig.ended(second["id"])).outcome is CallOutcome.ANSWERED
    assert credentials_of(rig.twilio, second_call.sid) == {(other_sid, other_token)}
    await soon(first_realtime.closed)


async def test_a_rotated_auth_token_verifies_the_live_calls_webhooks_either_way(
    admin_phone: AdminPhone,
) -> None:
    rig, admin = admin_phone.rig, admin_phone.admin
    old_token = rig.twilio.auth_token
    lead = await rig.app.create_lead()
    session, call = await rig.dial(lead.id)
    media = await rig.answer(call)
    await media.wait_for("media")
    assert call.status_callback is not None
    params = {"AccountSid": rig.twilio.account_sid, "CallSid": call.sid, "CallStatus": "in-progress"}
    forged = RequestValidator("not-our-token").compute_signature(call.status_callback, params)
    refused = await rig.twilio.send_webhook(call.status_callback, params, signature=forged)
    assert refused.response_status == 403

    # The admin rotates the auth token: Twilio signs with the new one from now on.
    new_token = rig.twilio.rotate_auth_token()
    admin.values["twilio_auth_token"] = new_token
    assert (await rig.twilio.send_amd(call.sid, "human")).response_status == 204
    # A callback signed before the switch, delivered late, still verifies with the call's own token.
    late = RequestValidator(old_token).compute_signature(call.status_callback, params)
    assert (
        await rig.twilio.send_webhook(call.status_callback, params, signature=late)
    ).response_status == 204
    refused = await rig.twilio.send_webhook(call.status_callback, params, signature=forged)
    assert refused.response_status == 403

    # The next call authenticates with the new token.
    other_lead = await rig.app.create_lead(phone="+14155550177")
    second, second_call = await rig.dial(other_lead.id)
    placing = [r.credential for r in rig.twilio.requests if r.path.endswith("/Calls.json")]
    assert placing[-1] == (rig.twilio.account_sid, new_token)
    await rig.twilio.send_status(second_call.sid, "no-answer")
    assert (await rig.ended(second["id"])).outcome is CallOutcome.NO_ANSWER

    await media.stop()
    assert (await rig.ended(session["id"])).outcome is CallOutcome.ANSWERED


async def test_without_any_settings_a_phone_call_is_a_503_naming_what_is_missing(voice_app: VoiceApp) -> None:
    lead = await voice_app.create_lead()  # no phone settings at all, and no gateway answering
    response = await voice_app.client.post(
        "/api/voice/sessions", json={"lead_id": str(lead.id), "mode": "phone"}, headers=voice_app.agent
    )
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["code"] == "phone_unavailable"
    credentials = ["twilio_account_sid", "twilio_auth_token", "twilio_from_number", "openai_api_key"]
    assert problem["missing"] == ["TWILIO_WEBHOOK_BASE_URL", "VOICE_SIGNING_SECRETS", *credentials]
    assert all(name in problem["detail"] for name in problem["missing"])
    assert "could not be read from the gateway" in problem["detail"]
    assert "TWILIO_ACCOUNT_SID" in problem["detail"]  # the environment may give credentials instead


async def test_incomplete_admin_settings_say_what_is_missing_until_completed(
    voice_settings: VoiceSettingsFactory, jwt_keys: KeyPair
) -> None:
    async with (
        FakeTwilioRest() as twilio,
        FakeRealtimeServer(replies=[AudioReply(GREETING)]) as realtime,
        serve_phone(voice_settings, jwt_keys, twilio, realtime, ai_settings_cache_seconds=0) as rig,
    ):
        complete = line_settings(twilio, realtime)
        admin = await serve_admin_settings(
            rig.app, {"twilio_account_sid": twilio.account_sid, "twilio_from_number": "555-0100"}
        )
        lead = await rig.app.create_lead()
        body = {"lead_id": str(lead.id), "mode": "phone"}
        response = await rig.app.client.post("/api/voice/sessions", json=body, headers=rig.app.agent)
        assert response.status_code == 503
        problem = response.json()
        assert problem["missing"] == ["twilio_auth_token", "openai_api_key", "twilio_from_number"]
        assert "E.164" in problem["detail"] and "could not be read" not in problem["detail"]
        assert twilio.calls == {}

        # A scheduled call ends FAILED, saying the same.
        request = CallRequested(task_id=uuid.uuid4(), lead_id=lead.id, mode="phone")
        await rig.app.runtime.bus.publish_now(request)
        await rig.app.handled(request)
        [ended] = [e for e in await rig.app.events(CallEnded) if e.task_id == request.task_id]
        assert ended.outcome is CallOutcome.FAILED and ended.summary and "twilio_auth_token" in ended.summary

        # Once an admin completes them, calls go out: no restart needed.
        admin.values = complete
        session, call = await rig.dial(lead.id)
        assert session["status"] == "DIALING" and call.from_ == OUR_NUMBER
        await twilio.send_status(call.sid, "busy")
        assert (await rig.ended(session["id"])).outcome is CallOutcome.BUSY
