"""The call's conversation: transcript order, interrupted bot turns, and the history a new session gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voice_bridge.domain.conversation import ConversationHistory, cut_to_heard

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_cut_keeps_the_share_of_words_that_was_heard() -> None:
    text = "one two three four five six seven eight nine ten"
    assert cut_to_heard(text, heard_ms=500, generated_ms=1000) == "one two three four five…"
    assert cut_to_heard(text, heard_ms=1000, generated_ms=1000) == text
    assert cut_to_heard(text, heard_ms=0, generated_ms=1000) == ""


def test_transcript_is_ordered_by_when_each_turn_started_not_when_its_text_arrived() -> None:
    history = ConversationHistory()
    history.turn_started("bot", "item_bot1", at(0))
    history.turn_text("bot", "item_bot1", "Hi, this is Ava.", at(2))
    history.turn_started("prospect", "item_user1", at(3))
    history.turn_started("bot", "item_bot2", at(5))
    history.turn_text("bot", "item_bot2", "Happy to help.", at(6))
    history.turn_text("prospect", "item_user1", "I need life cover.", at(7))  # transcription is late

    lines = history.transcript()

    assert [(line.speaker, line.text) for line in lines] == [
        ("bot", "Hi, this is Ava."),
        ("prospect", "I need life cover."),
        ("bot", "Happy to help."),
    ]
    assert [line.at for line in lines] == [at(0), at(3), at(5)]


def test_an_interrupted_bot_turn_keeps_only_what_was_heard_and_a_silent_one_disappears() -> None:
    history = ConversationHistory()
    history.turn_text("bot", "item_a", "alpha beta gamma delta", at(0))
    history.turn_interrupted("item_a", heard_ms=500, generated_ms=1000)
    history.turn_text("bot", "item_b", "never heard", at(1))
    history.turn_interrupted("item_b", heard_ms=0, generated_ms=800)

    assert [line.text for line in history.transcript()] == ["alpha beta…"]
    assert history.transcript_line("item_b") is None


def test_seed_items_replay_turns_and_tool_exchanges_in_order() -> None:
    history = ConversationHistory()
    history.turn_text("bot", "item_bot", "What's your email?", at(0))
    history.turn_text("prospect", "item_user", "jane@example.com", at(1))
    assert history.tool_called("call_1", "saveEmail", '{"email":"jane@example.com"}', at(2))
    history.tool_answered("call_1", '{"ok":true}')
    history.tool_called("call_2", "lookupProducts", '{"needs":{}}', at(3))  # still running

    assert history.seed_items() == [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "What's your email?"}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "jane@example.com"}]},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "saveEmail",
            "arguments": '{"email":"jane@example.com"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": '{"ok":true}'},
        {"type": "function_call", "call_id": "call_2", "name": "lookupProducts", "arguments": '{"needs":{}}'},
    ]


def test_a_function_call_announced_twice_is_recorded_once() -> None:
    history = ConversationHistory()
    assert history.tool_called("call_1", "endCall", "{}", at(0))
    assert not history.tool_called("call_1", "endCall", "{}", at(1))
    assert len([i for i in history.seed_items() if i["type"] == "function_call"]) == 1
