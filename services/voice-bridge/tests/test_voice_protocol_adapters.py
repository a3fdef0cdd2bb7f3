"""The two wire protocols: Twilio Media Streams messages and the Realtime session via the real SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from voice_bridge.adapters.realtime import (
    RealtimeConnector,
    RealtimeLinkClosed,
    RealtimeSessionConfig,
    RealtimeUnavailable,
    ServerVad,
)
from voice_bridge.adapters.twilio_media import TwilioOutbound, TwilioProtocolError, read_stream_start
from voice_bridge.testing import FakeRealtimeServer, b64, mulaw_frame


class ScriptedSocket:
    """A Twilio side that replays messages; enough for `read_stream_start`."""

    def __init__(self, *messages: dict[str, object]) -> None:
        self._messages = [json.dumps(m) for m in messages]

    async def receive_text(self) -> str:
        return self._messages.pop(0)

    async def send_text(self, data: str) -> None:
        raise AssertionError("not expected")

    async def close(self, code: int = 1000) -> None:
        pass


def start_message(encoding: str = "audio/x-mulaw", rate: int = 8000) -> dict[str, object]:
    return {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": "MZ1",
        "start": {
            "streamSid": "MZ1",
            "accountSid": "AC1",
            "callSid": "CA1",
            "tracks": ["inbound"],
            "customParameters": {"token": "t0k"},
            "mediaFormat": {"encoding": encoding, "sampleRate": rate, "channels": 1},
        },
    }


async def test_stream_start_is_read_after_connected() -> None:
    socket = ScriptedSocket({"event": "connected", "protocol": "Call", "version": "1.0.0"}, start_message())

    start = await read_stream_start(socket)

    assert (start.stream_sid, start.call_sid, start.custom_parameters) == ("MZ1", "CA1", {"token": "t0k"})


@pytest.mark.parametrize(
    "messages",
    [
        [{"event": "media", "media": {"payload": ""}}],
        [start_message(encoding="audio/l16", rate=16000)],
        [{"event": "start", "start": {"streamSid": "MZ1"}}],
    ],
    ids=["no-start", "not-mulaw", "malformed-start"],
)
async def test_a_stream_that_does_not_open_like_twilio_is_refused(messages: list[dict[str, object]]) -> None:
    with pytest.raises(TwilioProtocolError):
        await read_stream_start(ScriptedSocket(*messages))


def test_outbound_messages_are_what_twilio_expects() -> None:
    outbound = TwilioOutbound("MZ1")
    payload = b64(mulaw_frame(7))

    assert json.loads(outbound.media(payload)) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": payload},
    }
    assert json.loads(outbound.mark("m1")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "m1"}}
    assert json.loads(outbound.clear) == {"event": "clear", "streamSid": "MZ1"}


@pytest.fixture
async def realtime_server() -> AsyncIterator[FakeRealtimeServer]:
    async with FakeRealtimeServer() as server:
        yield server


CONFIG = RealtimeSessionConfig(
    model="gpt-realtime",
    instructions="Be kind.",
    voice="cedar",
    transcription_model="gpt-4o-transcribe",
    transcription_language="en",
    turn_detection=ServerVad(threshold=0.6, silence_duration_ms=400),
)


async def test_open_configures_a_ga_session_for_mulaw_both_ways(realtime_server: FakeRealtimeServer) -> None:
    link = await RealtimeConnector(realtime_server.openai_client(), CONFIG).open()
    session = await realtime_server.session(0)

    [update] = session.events_of("session.update")
    config = update["session"]
    assert session.model == "gpt-realtime"
    assert config["type"] == "realtime" and config["output_modalities"] == ["audio"]
    assert config["instructions"] == "Be kind."
    assert config["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert config["audio"]["output"] == {"format": {"type": "audio/pcmu"}, "voice": "cedar"}
    assert config["audio"]["input"]["transcription"] == {"model": "gpt-4o-transcribe", "language": "en"}
    vad = config["audio"]["input"]["turn_detection"]
    assert vad["type"] == "server_vad" and vad["threshold"] == 0.6 and vad["silence_duration_ms"] == 400
    assert vad["interrupt_response"] is True and vad["create_response"] is True
    assert {tool["name"] for tool in config["tools"]} == {
        "lookupProducts",
        "saveEmail",
        "scheduleFollowUp",
        "endCall",
        "markDoNotCall",
        "confirmTimezone",
    }
    assert link.session["audio"]["output"]["voice"] == "cedar"  # what the server confirmed
    await link.close()


async def test_audio_is_appended_as_the_same_base64_payload(realtime_server: FakeRealtimeServer) -> None:
    link = await RealtimeConnector(realtime_server.openai_client(), CONFIG).open()
    session = await realtime_server.session(0)
    payload = b64(mulaw_frame(42))

    await link.send_audio(payload)

    append = await session.wait_for("input_audio_buffer.append")
    assert append == {"type": "input_audio_buffer.append", "audio": payload}
    await link.close()


async def test_a_dropped_connection_surfaces_as_link_closed(realtime_server: FakeRealtimeServer) -> None:
    link = await RealtimeConnector(realtime_server.openai_client(), CONFIG).open()
    session = await realtime_server.session(0)

    await session.drop()

    with pytest.raises(RealtimeLinkClosed):
        async with asyncio.timeout(5):
            await link.receive()
    with pytest.raises(RealtimeLinkClosed):
        await link.send_audio(b64(mulaw_frame()))


async def test_a_wrong_api_key_makes_the_service_unavailable(realtime_server: FakeRealtimeServer) -> None:
    client = realtime_server.openai_client().with_options(api_key="sk-wrong")

    with pytest.raises(RealtimeUnavailable):
        await RealtimeConnector(client, CONFIG).open()
    assert realtime_server.rejected_handshakes == 1 and realtime_server.sessions == []


async def test_a_rejected_session_update_makes_the_service_unavailable(
    realtime_server: FakeRealtimeServer,
) -> None:
    realtime_server.reject_session_updates = True

    with pytest.raises(RealtimeUnavailable, match="rejected"):
        await RealtimeConnector(realtime_server.openai_client(), CONFIG).open()
    session = await realtime_server.session(0)
    async with asyncio.timeout(5):
        await session.closed.wait()  # the half-configured session is not left open
