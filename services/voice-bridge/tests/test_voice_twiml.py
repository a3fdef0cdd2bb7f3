"""TwiML builders and the voicemail script."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from voice_bridge.domain.persona import Persona
from voice_bridge.domain.twiml import (
    connect_stream_twiml,
    inbound_answer_twiml,
    say_and_hang_up_twiml,
    speakable,
)
from voice_bridge.domain.voicemail import spoken_link, spoken_phone_number, voicemail_message

STREAM = "wss://voice.parley.example/twilio/media"


def _parse(twiml: str) -> ET.Element:
    return ET.fromstring(twiml.encode())


def test_connect_stream_carries_the_token_as_a_parameter() -> None:
    root = _parse(connect_stream_twiml(STREAM, "tok-123"))
    stream = root.find("./Connect/Stream")
    assert stream is not None and stream.get("url") == STREAM
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert parameters == {"token": "tok-123"}


def test_inbound_answer_connects_with_token_and_direction() -> None:
    root = _parse(inbound_answer_twiml(STREAM, "tok"))
    stream = root.find("./Connect/Stream")
    assert stream is not None
    assert {p.get("name"): p.get("value") for p in stream.findall("Parameter")} == {
        "token": "tok",
        "direction": "inbound",
    }


@pytest.mark.parametrize(
    "url", ["https://voice.example/media", "wss://voice.example/media?token=x", "/relative", "wss://"]
)
def test_stream_url_must_be_an_absolute_websocket_url_without_query(url: str) -> None:
    with pytest.raises(ValueError):
        connect_stream_twiml(url, "tok")


def test_token_parameter_name_cannot_be_overridden() -> None:
    with pytest.raises(ValueError):
        connect_stream_twiml(STREAM, "tok", {"token": "evil"})


def test_untrusted_text_cannot_inject_twiml() -> None:
    hostile = 'Bob</Say><Dial>+19005550100</Dial><Say>"&'
    twiml = say_and_hang_up_twiml(f"Hi {hostile}", language="en-US")
    root = _parse(twiml)
    assert [child.tag for child in root] == ["Say", "Hangup"]
    say = root.find("Say")
    assert say is not None and say.text == f"Hi {hostile}"
    assert root.find(".//Dial") is None


def test_text_loses_characters_xml_cannot_carry() -> None:
    twiml = say_and_hang_up_twiml("Hi\x00 there\x1b,\n\n  Ann", language="en-GB", voice="Polly.Amy")
    say = _parse(twiml).find("Say")
    assert say is not None
    assert say.text == "Hi there, Ann"
    assert say.get("language") == "en-GB" and say.get("voice") == "Polly.Amy"


def test_say_text_is_capped_and_empty_text_refused() -> None:
    assert len(speakable("a" * 10_000)) == 4096
    with pytest.raises(ValueError):
        say_and_hang_up_twiml("\x00  \x01", language="en-US")


def test_spoken_phone_numbers() -> None:
    assert spoken_phone_number("+15551234567") == "5 5 5, 1 2 3, 4 5 6 7"
    assert spoken_phone_number("+442079460958") == "plus 4 4 2, 0 7 9, 4 6, 0 9 5 8"
    with pytest.raises(ValueError):
        spoken_phone_number("call us")


def test_spoken_link_spells_the_code() -> None:
    assert (
        spoken_link("https://www.parley.example/cb/K7F39QXT")
        == "parley dot example slash cb slash K 7 F 3 9 Q X T"
    )


def test_voicemail_message_names_the_number_twice_and_the_short_link() -> None:
    persona = Persona(name="Maya", company="Acme Cover")
    message = voicemail_message(
        persona,
        first_name="Ann",
        callback_number="+15551234567",
        callback_short_url="https://parley.example/cb/K7F39QXT",
    )
    assert message.startswith("Hi Ann, this is Maya from Acme Cover.")
    assert message.count("5 5 5, 1 2 3, 4 5 6 7") == 2
    assert "parley dot example slash cb slash K 7 F 3 9 Q X T" in message
    # Short enough for a voicemail box (roughly 150 spoken words per minute, well under 40 s).
    assert len(message.split()) < 100


def test_voicemail_without_link_still_gives_the_number() -> None:
    message = voicemail_message(
        Persona(), first_name="Ann", callback_number="+15551234567", callback_short_url=None
    )
    assert "slash" not in message and "5 5 5" in message
