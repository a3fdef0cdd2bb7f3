"""Next best time: candidate slots ranked by the lead's answer history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from parley_contracts import CallOutcome, ConsentFlags, LeadSnapshot, TimeWindow
from scheduler.domain import (
    HourRecord,
    Interval,
    LeadNotCallableError,
    NaiveDatetimeError,
    PastAttempt,
    RankedSlot,
    RankingSettings,
    SlotPlanner,
    history_by_hour,
    next_best_slot,
    rank_slots,
)
from scheduler.domain.errors import InvalidSettingsError

MONDAY = datetime(2025, 6, 2, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant on day `day` of the week starting Monday 2025-06-02 (UTC)."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def hourly(*hours: int, day: int = 0) -> list[Interval]:
    return [Interval(at(day, hour), at(day, hour, 15)) for hour in hours]


def attempts(outcome: CallOutcome, *hours: int) -> list[PastAttempt]:
    # Earlier in the week than the slots being ranked.
    return [PastAttempt(at(-7, hour), outcome) for hour in hours]


def lead(windows: list[TimeWindow], timezone: str = "UTC", dnd: bool = False) -> LeadSnapshot:
    return LeadSnapshot(
        id=uuid4(),
        name="Asha Rao",
        phone="+919800000000",
        preferred_time_windows=windows,
        timezone=timezone,
        consent_flags=ConsentFlags(dnd=dnd),
    )


def starts(ranked: list[RankedSlot]) -> list[int]:
    return [r.slot.start.hour for r in ranked]


class TestRankSlots:
    def test_without_history_the_order_is_chronological(self) -> None:
        slots = hourly(15, 9, 12)
        assert starts(rank_slots(slots, [], "UTC")) == [9, 12, 15]

    def test_hours_answered_before_rank_first(self) -> None:
        history = attempts(CallOutcome.ANSWERED, 15)
        assert starts(rank_slots(hourly(9, 12, 15), history, "UTC")) == [15, 9, 12]

    def test_more_pickups_rank_higher_then_fewer_misses(self) -> None:
        history = (
            attempts(CallOutcome.ANSWERED, 9, 12, 12)
            + attempts(CallOutcome.CALLBACK_REQUESTED, 15, 15)
            + attempts(CallOutcome.NO_ANSWER, 15)
        )
        # 12h and 15h both have two pickups; 15h also has a miss.
        assert starts(rank_slots(hourly(9, 12, 15), history, "UTC")) == [12, 15, 9]

    def test_repeated_misses_rank_lower_single_miss_does_not(self) -> None:
        history = (
            attempts(CallOutcome.NO_ANSWER, 9, 9)
            + attempts(CallOutcome.VOICEMAIL, 9)
            + attempts(CallOutcome.NO_ANSWER, 12)
        )
        ranked = rank_slots(hourly(9, 12, 15), history, "UTC")
        assert starts(ranked) == [12, 15, 9]
        assert ranked[-1].record == HourRecord(reached=0, missed=3)

    def test_among_repeatedly_missed_hours_fewer_misses_first(self) -> None:
        history = attempts(CallOutcome.NO_ANSWER, 9, 9, 9, 12, 12)
        assert starts(rank_slots(hourly(9, 12, 15), history, "UTC")) == [15, 12, 9]

    def test_threshold_is_configurable(self) -> None:
        history = attempts(CallOutcome.NO_ANSWER, 9)
        strict = RankingSettings(repeated_miss_threshold=1)
        assert starts(rank_slots(hourly(9, 12), history, "UTC", strict)) == [12, 9]
        assert starts(rank_slots(hourly(9, 12), history, "UTC")) == [9, 12]

    def test_busy_and_failed_count_as_neither(self) -> None:
        history = attempts(CallOutcome.BUSY, 9, 9, 9) + attempts(CallOutcome.FAILED, 9, 9)
        assert history_by_hour(history, "UTC") == {}
        assert starts(rank_slots(hourly(12, 9), history, "UTC")) == [9, 12]

    def test_ties_go_to_the_earliest_slot_on_any_day(self) -> None:
        history = attempts(CallOutcome.ANSWERED, 10)
        slots = [*hourly(10, day=2), *hourly(10, day=1), *hourly(9, day=0)]
        ranked = rank_slots(slots, history, "UTC")
        assert [r.slot.start for r in ranked] == [at(1, 10), at(2, 10), at(0, 9)]

    def test_hours_are_the_leads_local_hours(self) -> None:
        # 14:00 UTC is 19:30 in Kolkata: that attempt is filed under local hour 19.
        history = [PastAttempt(datetime(2025, 5, 26, 14, 0, tzinfo=UTC), CallOutcome.ANSWERED)]
        assert history_by_hour(history, "Asia/Kolkata") == {19: HourRecord(reached=1, missed=0)}
        slots = [Interval(at(0, 4), at(0, 4, 15)), Interval(at(0, 13, 45), at(0, 14))]  # 09:30 and 19:15 IST
        ranked = rank_slots(slots, history, "Asia/Kolkata")
        assert [r.local_hour for r in ranked] == [19, 9]

    def test_naive_attempt_time_is_refused(self) -> None:
        with pytest.raises(NaiveDatetimeError):
            PastAttempt(datetime(2025, 6, 1, 9), CallOutcome.ANSWERED)

    def test_threshold_must_be_positive(self) -> None:
        with pytest.raises(InvalidSettingsError):
            RankingSettings(repeated_miss_threshold=0)


class TestNextBestSlot:
    planner = SlotPlanner()
    weekday_days = TimeWindow(days=["MON", "TUE", "WED", "THU", "FRI"], start="09:00", end="17:00")

    def test_first_slot_without_history(self) -> None:
        best = next_best_slot(
            lead([self.weekday_days]), planner=self.planner, now=at(0, 7), horizon=timedelta(days=7)
        )
        assert best is not None
        assert best.slot == Interval(at(0, 9), at(0, 9, 15))

    def test_answered_hour_wins_over_sooner_slots(self) -> None:
        history = [PastAttempt(at(-7, 16, 20), CallOutcome.ANSWERED)]
        best = next_best_slot(
            lead([self.weekday_days]),
            planner=self.planner,
            now=at(0, 7),
            horizon=timedelta(days=7),
            history=history,
        )
        assert best is not None
        assert best.slot.start == at(0, 16) and best.record == HourRecord(reached=1, missed=0)

    def test_not_before_is_respected(self) -> None:
        best = next_best_slot(
            lead([self.weekday_days]),
            planner=self.planner,
            now=at(0, 7),
            not_before=at(0, 16, 55),
            horizon=timedelta(days=7),
        )
        assert best is not None
        # 16:55-17:00 is exactly the 5-minute minimum, so it is still a slot.
        assert best.slot == Interval(at(0, 16, 55), at(0, 17))

    def test_none_when_no_slot_in_horizon(self) -> None:
        weekend = TimeWindow(days=["SAT"], start="10:00", end="11:00")
        assert (
            next_best_slot(lead([weekend]), planner=self.planner, now=at(0, 7), horizon=timedelta(days=2))
            is None
        )

    def test_dnd_lead_is_never_planned(self) -> None:
        with pytest.raises(LeadNotCallableError, match="do-not-disturb"):
            next_best_slot(
                lead([self.weekday_days], dnd=True),
                planner=self.planner,
                now=at(0, 7),
                horizon=timedelta(days=7),
            )
