"""What the caller has heard, from Twilio marks: the numbers barge-in truncation relies on."""

from __future__ import annotations

import base64

import pytest
from voice_bridge.domain.playback import PlaybackTracker, Truncation, mulaw_base64_duration_ms


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += ms / 1000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.mark.parametrize("audio_bytes", [1, 2, 3, 159, 160, 800, 4001])
def test_duration_of_base64_mulaw_is_exact_without_decoding(audio_bytes: int) -> None:
    payload = base64.b64encode(b"\xff" * audio_bytes).decode()
    assert mulaw_base64_duration_ms(payload) == audio_bytes / 8


def test_each_chunk_gets_a_fresh_mark_and_playback_ends_with_the_last_echo(clock: FakeClock) -> None:
    tracker = PlaybackTracker(clock)
    marks = [tracker.sent("item_a", 100) for _ in range(3)]
    assert len(set(marks)) == 3
    assert tracker.is_playing

    assert tracker.acknowledged(marks[0]) == []
    assert tracker.acknowledged(marks[2]) == ["item_a"]  # a later mark implies the earlier ones played
    assert not tracker.is_playing


def test_interrupt_counts_acknowledged_audio_plus_time_into_the_playing_chunk(clock: FakeClock) -> None:
    tracker = PlaybackTracker(clock)
    marks = [tracker.sent("item_a", 100) for _ in range(5)]
    clock.advance_ms(200)
    tracker.acknowledged(marks[1])  # 200 ms played
    clock.advance_ms(30)

    assert tracker.interrupt() == [Truncation("item_a", 230)]
    assert not tracker.is_playing


def test_interrupt_never_claims_more_than_the_chunk_whose_mark_is_outstanding(clock: FakeClock) -> None:
    tracker = PlaybackTracker(clock)
    marks = [tracker.sent("item_a", 100) for _ in range(3)]
    tracker.acknowledged(marks[0])
    clock.advance_ms(5000)  # Twilio stalled: its mark for chunk 2 never came

    assert tracker.interrupt() == [Truncation("item_a", 200)]


def test_a_chunk_sent_after_twilio_ran_dry_starts_playing_when_sent(clock: FakeClock) -> None:
    tracker = PlaybackTracker(clock)
    first = tracker.sent("item_a", 100)
    clock.advance_ms(100)
    tracker.acknowledged(first)
    clock.advance_ms(400)  # silence: nothing queued
    tracker.sent("item_a", 100)
    clock.advance_ms(40)

    assert tracker.interrupt() == [Truncation("item_a", 140)]


def test_items_queued_behind_the_playing_one_were_heard_up_to_their_outstanding_audio(
    clock: FakeClock,
) -> None:
    tracker = PlaybackTracker(clock)
    tracker.sent("item_a", 100)
    tracker.sent("item_b", 300)
    clock.advance_ms(50)

    assert tracker.interrupt() == [Truncation("item_a", 50), Truncation("item_b", 0)]


def test_marks_echoed_after_a_clear_are_ignored(clock: FakeClock) -> None:
    tracker = PlaybackTracker(clock)
    stale = [tracker.sent("item_a", 100) for _ in range(3)]
    tracker.interrupt()
    fresh = tracker.sent("item_b", 100)

    for mark in stale:
        assert tracker.acknowledged(mark) == []
    assert tracker.is_playing
    assert tracker.acknowledged(fresh) == ["item_b"]


def test_nothing_to_truncate_when_everything_has_played(clock: FakeClock) -> None:
    tracker = PlaybackTracker(clock)
    mark = tracker.sent("item_a", 100)
    tracker.acknowledged(mark)

    assert tracker.interrupt() == []
