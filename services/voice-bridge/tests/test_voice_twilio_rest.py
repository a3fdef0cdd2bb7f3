"""The Twilio REST adapter, driven through the official client against the local Twilio fake, and the
webhooks the fake sends back checked by the signature verifier and folded into the call state."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from aiohttp import web
from voice_bridge.adapters.twilio_rest import TwilioRestTelephony
from voice_bridge.domain.call_slots import CallSlots
from voice_bridge.domain.call_state import AmdAction, CallProgress
from voice_bridge.domain.persona import Persona
from voice_bridge.domain.telephony import CallNotInProgress, OutboundCall, TelephonyError
from voice_bridge.domain.twiml import connect_stream_twiml, say_and_hang_up_twiml
from voice_bridge.domain.voicemail import voicemail_message
from voice_bridge.domain.webhooks import (
    AMD_CALLBACK_PATH,
    CALL_ID_PARAM,
    STATUS_CALLBACK_PATH,
    PublicUrls,
    TwilioSignatureVerifier,
)
from voice_bridge.testing.twilio_rest_fake import FakeTwilioRest

LEAD_NUMBER = "+15551234567"
OUR_NUMBER = "+15557654321"


class ControlPlane:
    """What the service's Twilio webhook routes will do, reduced to the domain calls they make."""

    def __init__(self, telephony: TwilioRestTelephony, auth_token: str, slots: CallSlots) -> None:
        self.telephony = telephony
        self.slots = slots
        self.calls: dict[UUID, CallProgress] = {}
        self.call_sids: dict[UUID, str] = {}
        self.rejected = 0
        self.amd_actions: list[AmdAction] = []
        self._auth_token = auth_token
        self._runner: web.AppRunner | None = None
        self.urls: PublicUrls | None = None
        self.verifier: TwilioSignatureVerifier | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(STATUS_CALLBACK_PATH, self._status)
        app.router.add_post(AMD_CALLBACK_PATH, self._amd)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.urls = PublicUrls(f"http://127.0.0.1:{port}")
        self.verifier = TwilioSignatureVerifier([self._auth_token], self.urls)

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def place(self, call_id: UUID) -> str:
        assert self.urls is not None
        assert self.slots.try_acquire(call_id)
        self.calls[call_id] = CallProgress()
        placed = await self.telephony.place_call(
            OutboundCall(
                to=LEAD_NUMBER,
                from_=OUR_NUMBER,
                twiml=connect_stream_twiml("wss://voice.parley.example/twilio/media", "tok"),
                status_callback_url=self.urls.status_callback(call_id),
                amd_callback_url=self.urls.amd_callback(call_id),
            )
        )
        self.call_sids[call_id] = placed.call_sid
        return placed.call_sid

    async def _verified(self, request: web.Request) -> tuple[UUID, dict[str, str]] | None:
        assert self.verifier is not None
        posted = await request.post()
        form = [(key, str(value)) for key, value in posted.items()]
        signature = request.headers.get("X-Twilio-Signature")
        if not self.verifier.verify(
            path=request.path, query=request.query_string, form=form, signature=signature
        ):
            self.rejected += 1
            return None
        call_id = UUID(request.query[CALL_ID_PARAM])
        if call_id not in self.calls:
            self.rejected += 1
            return None
        return call_id, dict(form)

    async def _status(self, request: web.Request) -> web.Response:
        verified = await self._verified(request)
        if verified is None:
            return web.Response(status=403)
        call_id, form = verified
        if self.calls[call_id].apply_status(form["CallStatus"]).release_slot:
            self.slots.release(call_id)
        return web.Response(status=204)

    async def _amd(self, request: web.Request) -> web.Response:
        verified = await self._verified(request)
        if verified is None:
            return web.Response(status=403)
        call_id, form = verified
        decision = self.calls[call_id].apply_amd(form["AnsweredBy"])
        self.amd_actions.append(decision.action)
        if decision.action is AmdAction.LEAVE_VOICEMAIL:
            message = voicemail_message(
                Persona(),
                first_name="Ann",
                callback_number=OUR_NUMBER,
                callback_short_url="https://parley.example/cb/K7F39QXT",
            )
            await self.telephony.play_voicemail(
                form["CallSid"], say_and_hang_up_twiml(message, language="en-US")
            )
        elif decision.action is AmdAction.HANG_UP:
            await self.telephony.hang_up(form["CallSid"])
        return web.Response(status=204)


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilioRest]:
    async with FakeTwilioRest(api_key_sid="SK" + "1" * 32, api_key_secret="key-secret") as fake:
        yield fake


@pytest.fixture
async def telephony(twilio: FakeTwilioRest) -> AsyncIterator[TwilioRestTelephony]:
    adapter = TwilioRestTelephony(
        account_sid=twilio.account_sid, auth_token=twilio.auth_token, api_base_url=twilio.base_url
    )
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def plane(telephony: TwilioRestTelephony, twilio: FakeTwilioRest) -> AsyncIterator[ControlPlane]:
    control = ControlPlane(telephony, twilio.auth_token, CallSlots(4))
    await control.start()
    yield control
    await control.stop()


async def test_place_call_sends_stream_twiml_status_events_and_async_amd(
    plane: ControlPlane, twilio: FakeTwilioRest
) -> None:
    call_id = uuid4()
    call_sid = await plane.place(call_id)
    assert call_sid.startswith("CA") and len(call_sid) == 34
    assert plane.urls is not None
    request = twilio.requests[-1]
    assert request.authorized
    assert request.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Calls.json"
    form = request.form
    assert form["To"] == [LEAD_NUMBER] and form["From"] == [OUR_NUMBER]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert form["StatusCallback"] == [plane.urls.status_callback(call_id)]
    assert form["StatusCallbackMethod"] == ["POST"]
    assert form["MachineDetection"] == ["DetectMessageEnd"]
    assert form["AsyncAmd"] == ["true"]
    assert form["AsyncAmdStatusCallback"] == [plane.urls.amd_callback(call_id)]
    assert form["Timeout"] == ["30"] and form["TimeLimit"] == ["1800"]
    stream = ET.fromstring(form["Twiml"][0]).find("./Connect/Stream")
    assert stream is not None and stream.get("url") == "wss://voice.parley.example/twilio/media"


async def test_call_progress_callbacks_are_signed_verified_and_release_the_slot(
    plane: ControlPlane, twilio: FakeTwilioRest
) -> None:
    call_id = uuid4()
    call_sid = await plane.place(call_id)
    for status in ["initiated", "ringing", "in-progress"]:
        delivered = await twilio.send_status(call_sid, status)
        assert delivered is not None and delivered.response_status == 204
    assert plane.slots.in_use == 1
    await twilio.send_status(call_sid, "ringing")  # late duplicate
    await twilio.send_status(call_sid, "completed")
    assert plane.calls[call_id].outcome is not None and plane.calls[call_id].outcome.value == "ANSWERED"
    assert plane.slots.in_use == 0
    assert plane.rejected == 0


async def test_busy_call_releases_its_slot(plane: ControlPlane, twilio: FakeTwilioRest) -> None:
    call_id = uuid4()
    call_sid = await plane.place(call_id)
    await twilio.send_status(call_sid, "initiated")
    await twilio.send_status(call_sid, "busy")
    assert plane.slots.in_use == 0
    assert plane.calls[call_id].outcome is not None and plane.calls[call_id].outcome.value == "BUSY"


async def test_lost_terminal_webhook_is_reconciled_by_fetching_the_status(
    plane: ControlPlane, twilio: FakeTwilioRest, telephony: TwilioRestTelephony
) -> None:
    call_id = uuid4()
    call_sid = await plane.place(call_id)
    await twilio.send_status(call_sid, "in-progress")
    await twilio.send_status(call_sid, "completed", lost=True)
    assert plane.slots.in_use == 1  # the webhook never came
    status = await telephony.fetch_status(call_sid)
    assert status == "completed"
    assert plane.calls[call_id].apply_status(status).release_slot
    plane.slots.release(call_id)
    assert plane.slots.in_use == 0
    assert twilio.requests[-1].method == "GET" and twilio.requests[-1].authorized


async def test_forged_webhook_is_refused_and_changes_nothing(
    plane: ControlPlane, twilio: FakeTwilioRest
) -> None:
    call_id = uuid4()
    call_sid = await plane.place(call_id)
    assert plane.urls is not None
    params = {"AccountSid": twilio.account_sid, "CallSid": call_sid, "CallStatus": "completed"}
    delivered = await twilio.send_webhook(plane.urls.status_callback(call_id), params, signature="Zm9yZ2Vk")
    assert delivered.response_status == 403
    assert plane.rejected == 1 and plane.slots.in_use == 1 and not plane.calls[call_id].terminal


async def test_webhook_for_an_unknown_call_is_refused(plane: ControlPlane, twilio: FakeTwilioRest) -> None:
    assert plane.urls is not None
    delivered = await twilio.send_webhook(
        plane.urls.status_callback(uuid4()), {"CallSid": "CA0", "CallStatus": "completed"}
    )
    assert delivered.response_status == 403


async def test_machine_answer_gets_the_voicemail_then_reports_voicemail(
    plane: ControlPlane, twilio: FakeTwilioRest
) -> None:
    call_id = uuid4()
    call_sid = await plane.place(call_id)
    await twilio.send_status(call_sid, "in-progress")
    delivered = await twilio.send_amd(call_sid, "machine_end_beep")
    assert delivered.response_status == 204
    assert plane.amd_actions == [AmdAction.LEAVE_VOICEMAIL]
    [voicemail] = twilio.calls[call_sid].twiml_updates
    root = ET.fromstring(voicemail)
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "5 5 5, 7 6 5, 4 3 2 1" in (root.findtext("Say") or "")
    await twilio.send_status(call_sid, "completed")
    assert plane.calls[call_id].outcome is not None and plane.calls[call_id].outcome.value == "VOICEMAIL"
    assert plane.slots.in_use == 0


async def test_fax_is_hung_up(plane: ControlPlane, twilio: FakeTwilioRest) -> None:
    call_id = uuid4()
    call_sid = await plane.place(call_id)
    await twilio.send_status(call_sid, "in-progress")
    await twilio.send_amd(call_sid, "fax")
    assert twilio.calls[call_sid].status == "completed"
    assert plane.calls[call_id].outcome is not None and plane.calls[call_id].outcome.value == "FAILED"
    assert plane.slots.in_use == 0


async def test_hang_up_completes_an_answered_call_and_cancels_a_ringing_one(
    plane: ControlPlane, twilio: FakeTwilioRest, telephony: TwilioRestTelephony
) -> None:
    answered_id, ringing_id = uuid4(), uuid4()
    answered_sid = await plane.place(answered_id)
    ringing_sid = await plane.place(ringing_id)
    await twilio.send_status(answered_sid, "in-progress")
    await twilio.send_status(ringing_sid, "ringing")
    await telephony.hang_up(answered_sid)
    await telephony.hang_up(ringing_sid)
    assert twilio.requests_to(answered_sid)[-1].form["Status"] == ["completed"]
    assert (twilio.calls[answered_sid].status, twilio.calls[ringing_sid].status) == ("completed", "canceled")
    assert plane.slots.in_use == 0


async def test_hang_up_is_idempotent(
    plane: ControlPlane, twilio: FakeTwilioRest, telephony: TwilioRestTelephony
) -> None:
    call_sid = await plane.place(uuid4())
    await twilio.send_status(call_sid, "completed")
    await telephony.hang_up(call_sid)  # Twilio answers 21220: already over, which is what we wanted
    await telephony.hang_up("CA" + "0" * 32)  # unknown call: nothing to hang up


async def test_hang_up_retries_through_a_transient_twilio_error(
    plane: ControlPlane, twilio: FakeTwilioRest, telephony: TwilioRestTelephony
) -> None:
    call_sid = await plane.place(uuid4())
    await twilio.send_status(call_sid, "in-progress")
    twilio.fail_next_request(status=503, code=20503, message="Service unavailable")
    await telephony.hang_up(call_sid)
    assert len(twilio.requests_to(call_sid)) == 2
    assert twilio.calls[call_sid].status == "completed"


async def test_voicemail_on_a_call_that_already_ended_says_so(
    plane: ControlPlane, twilio: FakeTwilioRest, telephony: TwilioRestTelephony
) -> None:
    call_sid = await plane.place(uuid4())
    await twilio.send_status(call_sid, "completed")
    with pytest.raises(CallNotInProgress):
        await telephony.play_voicemail(call_sid, say_and_hang_up_twiml("Hi", language="en-US"))


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [(500, 20500, True), (429, 20429, True), (400, 21211, False), (403, 20003, False)],
)
async def test_errors_say_whether_a_retry_can_help(
    telephony: TwilioRestTelephony, twilio: FakeTwilioRest, status: int, code: int, retryable: bool
) -> None:
    twilio.fail_next_request(status=status, code=code)
    with pytest.raises(TelephonyError) as excinfo:
        await telephony.place_call(_outbound())
    assert excinfo.value.retryable is retryable
    assert (excinfo.value.status, excinfo.value.code) == (status, code)


async def test_a_create_that_timed_out_is_not_retried_but_a_hang_up_is(twilio: FakeTwilioRest) -> None:
    adapter = TwilioRestTelephony(
        account_sid=twilio.account_sid,
        auth_token=twilio.auth_token,
        api_base_url=twilio.base_url,
        request_timeout_seconds=0.3,
    )
    try:
        twilio.stall_next_request(0.6)
        with pytest.raises(TelephonyError) as excinfo:
            await adapter.place_call(_outbound())
        # The call may exist now: placing it again could ring the prospect twice.
        assert not excinfo.value.retryable
        placed = await adapter.place_call(_outbound())
        await twilio.send_status(placed.call_sid, "in-progress")
        twilio.stall_next_request(0.6)
        await adapter.hang_up(placed.call_sid)
    finally:
        await adapter.aclose()
    assert twilio.calls[placed.call_sid].status == "completed"


async def test_bad_credentials_are_not_retryable(twilio: FakeTwilioRest) -> None:
    adapter = TwilioRestTelephony(
        account_sid=twilio.account_sid, auth_token="wrong", api_base_url=twilio.base_url
    )
    try:
        with pytest.raises(TelephonyError) as excinfo:
            await adapter.place_call(_outbound())
    finally:
        await adapter.aclose()
    assert not excinfo.value.retryable and excinfo.value.status == 401
    assert not twilio.requests[-1].authorized


async def test_api_key_credentials_work(twilio: FakeTwilioRest) -> None:
    adapter = TwilioRestTelephony(
        account_sid=twilio.account_sid,
        api_key_sid="SK" + "1" * 32,
        auth_token="key-secret",
        api_base_url=twilio.base_url,
    )
    try:
        placed = await adapter.place_call(_outbound())
    finally:
        await adapter.aclose()
    assert placed.call_sid in twilio.calls and placed.status == "queued"
    # The account in the URL is the account, not the key.
    assert twilio.requests[-1].path.startswith(f"/2010-04-01/Accounts/{twilio.account_sid}/")


async def test_unreachable_twilio_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    adapter = TwilioRestTelephony(
        account_sid="AC" + "0" * 32,
        auth_token="token",
        api_base_url=f"http://127.0.0.1:{closed_port}",
        request_timeout_seconds=2,
    )
    try:
        with pytest.raises(TelephonyError) as excinfo:
            await adapter.place_call(_outbound())
    finally:
        await adapter.aclose()
    assert excinfo.value.retryable


@pytest.mark.parametrize("number", ["5551234567", "+0123", "+1 555 123 4567"])
def test_outbound_call_requires_e164_numbers(number: str) -> None:
    with pytest.raises(ValueError):
        _outbound(to=number)


def _outbound(to: str = LEAD_NUMBER) -> OutboundCall:
    return OutboundCall(
        to=to,
        from_=OUR_NUMBER,
        twiml=connect_stream_twiml("wss://voice.parley.example/twilio/media", "tok"),
        status_callback_url="https://voice.parley.example/twilio/status",
        amd_callback_url="https://voice.parley.example/twilio/amd",
    )
