"""The event log keeps no audio, secrets or contact details; usage and cost add up per call."""

from __future__ import annotations

import pytest
from openai.types.realtime import ConversationItemInputAudioTranscriptionCompletedEvent
from openai.types.realtime.realtime_response_usage import RealtimeResponseUsage
from voice_bridge.domain.redaction import mask_contact_details, redact_event
from voice_bridge.domain.usage import TokenPrices, UsageTotals


def test_audio_payloads_are_dropped_and_ids_kept() -> None:
    event = {
        "type": "conversation.item.added",
        "item": {
            "id": "item_123",
            "type": "message",
            "content": [{"type": "input_audio", "audio": "//////8=", "transcript": "hi"}],
        },
    }
    twilio_media = {
        "event": "media",
        "streamSid": "MZ1234567890",
        "media": {"payload": "//////8=", "chunk": "3"},
    }

    assert redact_event(event) == {
        "type": "conversation.item.added",
        "item": {
            "id": "item_123",
            "type": "message",
            "content": [{"type": "input_audio", "transcript": "hi"}],
        },
    }
    assert redact_event(twilio_media) == {
        "event": "media",
        "streamSid": "MZ1234567890",
        "media": {"chunk": "3"},
    }


def test_contact_details_in_text_are_masked_but_dates_and_ids_are_not() -> None:
    event = {
        "type": "response.function_call_arguments.done",
        "call_id": "call_5551234567",
        "arguments": '{"email": "jane.doe@example.com", "datetime": "2025-03-05T17:30:00"}',
        "transcript": "call me on +1 (415) 555-0123 or 020 7946 0958, not before 2025-03-05",
    }

    redacted = redact_event(event)

    assert redacted["call_id"] == "call_5551234567"
    assert redacted["arguments"] == '{"email": "[email]", "datetime": "2025-03-05T17:30:00"}'
    assert redacted["transcript"] == "call me on [phone] or [phone], not before 2025-03-05"


def test_secrets_and_the_system_prompt_never_reach_the_log() -> None:
    start = {
        "event": "start",
        "start": {"customParameters": {"token": "v1.abc.def", "direction": "outbound"}},
    }
    session = {
        "type": "session.update",
        "session": {"instructions": "You are Ava. The lead is Jane, 555-0100."},
    }

    assert redact_event(start)["start"]["customParameters"] == {
        "token": "[redacted]",
        "direction": "outbound",
    }
    assert redact_event(session)["session"]["instructions"] == "[40 chars]"


@pytest.mark.parametrize("text", ["order 12345", "2025-03-05", "version 1.2.3"])
def test_short_numbers_are_not_mistaken_for_phones(text: str) -> None:
    assert mask_contact_details(text) == text


def usage(**fields: object) -> RealtimeResponseUsage:
    return RealtimeResponseUsage.model_validate(fields)


def test_usage_sums_every_response_and_transcription() -> None:
    totals = UsageTotals()
    totals.add_response(
        usage(
            input_tokens=100,
            output_tokens=50,
            input_token_details={
                "text_tokens": 80,
                "audio_tokens": 20,
                "cached_tokens_details": {"text_tokens": 60},
            },
            output_token_details={"text_tokens": 10, "audio_tokens": 40},
        )
    )
    totals.add_response(
        usage(
            input_tokens=200,
            output_tokens=70,
            input_token_details={"text_tokens": 150, "audio_tokens": 50},
            output_token_details={"text_tokens": 20, "audio_tokens": 50},
        )
    )
    totals.add_response(None)  # a cancelled response may carry no usage
    for transcription_usage in (
        {"type": "tokens", "input_tokens": 30, "output_tokens": 5, "total_tokens": 35},
        {"type": "duration", "seconds": 4.5},
    ):
        event = ConversationItemInputAudioTranscriptionCompletedEvent.model_validate(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "event_id": "e",
                "item_id": "i",
                "content_index": 0,
                "transcript": "x",
                "usage": transcription_usage,
            }
        )
        totals.add_transcription(event.usage)

    assert (totals.responses, totals.input_tokens, totals.output_tokens, totals.total_tokens) == (
        3,
        300,
        120,
        420,
    )
    assert (totals.input_text_tokens, totals.input_audio_tokens, totals.cached_text_tokens) == (230, 70, 60)
    assert (totals.output_text_tokens, totals.output_audio_tokens) == (30, 90)
    assert (totals.transcription_input_tokens, totals.transcription_output_tokens) == (30, 5)
    assert totals.transcription_seconds == 4.5


def test_cost_prices_cached_input_at_the_cached_rate() -> None:
    totals = UsageTotals(
        input_text_tokens=1_000_000,
        cached_text_tokens=400_000,
        input_audio_tokens=100_000,
        output_audio_tokens=200_000,
        transcription_seconds=120,
    )
    prices = TokenPrices(
        text_input=4,
        cached_text_input=0.4,
        audio_input=32,
        cached_audio_input=0.4,
        text_output=16,
        audio_output=64,
        transcription_per_minute=0.006,
    )

    # 0.6M fresh text * 4 + 0.4M cached * 0.4 + 0.1M audio * 32 + 0.2M audio out * 64 + 2 min * 0.006
    assert totals.estimated_cost_usd(prices) == pytest.approx(2.4 + 0.16 + 3.2 + 12.8 + 0.012)
