"""TwiML documents the bridge hands to Twilio.

Built with the SDK's `VoiceResponse`, which XML-escapes attribute values and text. Text that reaches
`<Say>` can still hold a lead's name from a CSV import, so it is also stripped of characters XML 1.0
cannot carry (ElementTree would emit them and Twilio would reject the document) and capped to the
length Twilio speaks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from twilio.twiml.voice_response import VoiceResponse

STREAM_TOKEN_PARAMETER = "token"  # noqa: S105 - the parameter's name, not a credential
DIRECTION_PARAMETER = "direction"

_MAX_SAY_CHARS = 4096
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WHITESPACE = re.compile(r"\s+")


def speakable(text: str) -> str:
    return _WHITESPACE.sub(" ", _XML_INVALID.sub("", text)).strip()[:_MAX_SAY_CHARS]


def connect_stream_twiml(stream_url: str, token: str, parameters: Mapping[str, str] | None = None) -> str:
    """`<Connect><Stream>` to our media websocket, the per-call token as a custom parameter.

    Twilio ignores query strings on the stream URL, so anything call-specific travels as
    `<Parameter>` and arrives in the stream's `start` message.
    """
    parts = urlsplit(stream_url)
    if parts.scheme not in {"wss", "ws"} or not parts.netloc:
        raise ValueError("stream_url must be an absolute wss:// URL")
    if parts.query or parts.fragment:
        raise ValueError("Twilio does not pass query strings to the stream; use parameters")
    response = VoiceResponse()
    stream = response.connect().stream(url=stream_url)
    stream.parameter(name=STREAM_TOKEN_PARAMETER, value=token)
    for name, value in (parameters or {}).items():
        if name == STREAM_TOKEN_PARAMETER:
            raise ValueError(f"parameter name {name!r} is reserved")
        stream.parameter(name=name, value=speakable(value))
    return str(response)


def inbound_answer_twiml(stream_url: str, token: str) -> str:
    """Answer an inbound call (a lead calling back) by connecting it to the bot."""
    return connect_stream_twiml(stream_url, token, {DIRECTION_PARAMETER: "inbound"})


def say_and_hang_up_twiml(message: str, *, language: str, voice: str | None = None) -> str:
    """Speak `message` and hang up: the voicemail drop, or a polite refusal of an inbound call."""
    text = speakable(message)
    if not text:
        raise ValueError("message is empty")
    response = VoiceResponse()
    if voice:
        response.say(text, voice=voice, language=language)
    else:
        response.say(text, language=language)
    response.hangup()
    return str(response)
