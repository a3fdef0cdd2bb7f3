from __future__ import annotations

from datetime import UTC, datetime

from parley_contracts import TranscriptLine
from rag.domain.transcript import parse_transcript, prospect_speech

AT = datetime(2025, 1, 1, tzinfo=UTC)


def test_labelled_text_is_split_by_speaker_and_continuation_lines_join_the_previous_turn() -> None:
    turns = parse_transcript("Agent: Hello there.\nCustomer: Hi, I need cover\nfor my family.\nBot: Great.")
    assert [(t.speaker, t.text) for t in turns] == [
        ("bot", "Hello there."),
        ("prospect", "Hi, I need cover for my family."),
        ("bot", "Great."),
    ]


def test_unlabelled_text_is_all_the_prospects() -> None:
    assert [t.speaker for t in parse_transcript("I am 40.\nI want life cover.")] == ["prospect", "prospect"]


def test_transcript_lines_keep_their_speakers_and_drop_empty_text() -> None:
    lines = [
        TranscriptLine(speaker="bot", text="Do you smoke?", at=AT),
        TranscriptLine(speaker="prospect", text="  ", at=AT),
        TranscriptLine(speaker="prospect", text="No.", at=AT),
        TranscriptLine(speaker="system", text="call ended", at=AT),
    ]
    assert [(t.speaker, t.text) for t in parse_transcript(lines)] == [
        ("bot", "Do you smoke?"),
        ("prospect", "No."),
        ("system", "call ended"),
    ]


def test_prospect_speech_excludes_the_bots_words() -> None:
    speech = prospect_speech("Bot: Our ULIP costs $500 a month.\nProspect: I only want term life.")
    assert speech.statements == ("I only want term life.",)


def test_yes_no_answers_are_restated_with_the_questions_topic() -> None:
    speech = prospect_speech(
        "Bot: Thanks. Do you have any existing policy?\nProspect: No.\n"
        "Bot: Do you smoke?\nProspect: Nope, never.\n"
        "Bot: Do you have kids?\nProspect: Yes, three.\n"
        "Bot: How old are you?\nProspect: Forty two.\n"
        "Bot: What monthly budget works for you?\nProspect: About 150.\n"
        "Bot: How old are your kids?\nProspect: 4, 7 and 9."
    )
    restated = speech.statements[1::2]
    assert restated == (
        "I have no existing policy",
        "I don't smoke",
        "I have 3 kids",
        "I am 42 years old",
        "my budget is About 150 monthly",
        "my kids are 4, 7 and 9",
    )


def test_only_the_last_question_of_the_bots_turn_sets_the_topic() -> None:
    speech = prospect_speech("Bot: Thanks for mentioning your wife. Do you smoke?\nProspect: No.")
    assert speech.statements == ("No.", "I don't smoke")


def test_a_statement_is_not_restated_when_the_bot_asked_nothing() -> None:
    speech = prospect_speech("Bot: I will email you the brochure.\nProspect: Yes.")
    assert speech.statements == ("Yes.",)
