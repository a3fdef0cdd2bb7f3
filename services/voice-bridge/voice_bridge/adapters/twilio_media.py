"""Twilio Media Streams (bidirectional `<Connect><Stream>`) messages, both directions.

Twilio sends `connected`, `start`, then `media` (20 ms of base64 mu-law 8 kHz per frame), `mark` echoes,
`dtmf`, and `stop`. We send `media`, `mark` and `clear`. Outgoing messages are assembled as strings:
audio payloads are already base64 and pass through untouched, which keeps the per-frame cost of the
relay to one small string join.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain.ports import TwilioMediaSocket

MULAW_ENCODING = "audio/x-mulaw"
MULAW_SAMPLE_RATE = 8000


class TwilioProtocolError(Exception):
    """The stream did not open the way Twilio opens it, or its audio is not mu-law 8 kHz mono."""


class TwilioMediaFormat(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    encoding: str
    sample_rate: int = Field(alias="sampleRate")
    channels: int


class TwilioStreamStart(BaseModel):
    """The `start` message's metadata."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    stream_sid: str = Field(alias="streamSid")
    call_sid: str = Field(alias="callSid")
    account_sid: str = Field(alias="accountSid")
    tracks: list[str] = Field(default_factory=list)
    custom_parameters: dict[str, str] = Field(default_factory=dict, alias="customParameters")
    media_format: TwilioMediaFormat = Field(alias="mediaFormat")


async def read_stream_start(socket: TwilioMediaSocket) -> TwilioStreamStart:
    """Read the opening of a Media Stream up to `start`, which carries the per-call token.

    The service layer calls this on a freshly accepted socket, checks
    `start.custom_parameters["token"]`, then hands the socket and `start` to the call's bridge.
    """
    message = _parse(await socket.receive_text())
    if message.get("event") == "connected":
        message = _parse(await socket.receive_text())
    if message.get("event") != "start":
        raise TwilioProtocolError(f"expected 'start', got {message.get('event')!r}")
    try:
        start = TwilioStreamStart.model_validate(message.get("start"))
    except ValidationError as exc:
        raise TwilioProtocolError("malformed 'start' message") from exc
    media = start.media_format
    if (media.encoding, media.sample_rate, media.channels) != (MULAW_ENCODING, MULAW_SAMPLE_RATE, 1):
        raise TwilioProtocolError(f"unsupported media format {media.model_dump()}")
    return start


def _parse(raw: str) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except ValueError as exc:
        raise TwilioProtocolError("message is not JSON") from exc
    if not isinstance(message, dict):
        raise TwilioProtocolError("message is not a JSON object")
    return message


class TwilioOutbound:
    """Builds the messages we send on one stream."""

    def __init__(self, stream_sid: str) -> None:
        sid = json.dumps(stream_sid)
        self._media_prefix = f'{{"event":"media","streamSid":{sid},"media":{{"payload":'
        self._mark_prefix = f'{{"event":"mark","streamSid":{sid},"mark":{{"name":'
        self.clear = f'{{"event":"clear","streamSid":{sid}}}'

    def media(self, payload: str) -> str:
        # json.dumps guards the framing if a payload is ever not plain base64; for base64 it is a copy.
        return f"{self._media_prefix}{json.dumps(payload)}}}}}"

    def mark(self, name: str) -> str:
        return f"{self._mark_prefix}{json.dumps(name)}}}}}"
