"""Window logic: preferred windows x timezone x legal hours -> UTC slots, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley_calltime import CallingRules, InvalidCallingRules
from parley_contracts import TimeWindow
from scheduler.domain import (
    WEEKDAYS,
    Interval,
    InvalidSettingsError,
    InvalidTimezoneError,
    InvalidWindowError,
    NaiveDatetimeError,
    PlannerSettings,
    SlotPlanner,
)

NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
KOLKATA = ZoneInfo("Asia/Kolkata")
ROUND_THE_CLOCK = PlannerSettings(calling_rules=CallingRules.uniform("00:00", "24:00"))


def window(days: str, start: str, end: str) -> TimeWindow:
    return TimeWindow(days=days.split(","), start=start, end=end)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def spans(intervals: list[Interval]) -> list[tuple[datetime, datetime]]:
    return [(interval.start, interval.end) for interval in intervals]


def local_spans(intervals: list[Interval], zone: ZoneInfo) -> list[tuple[str, str]]:
    return [
        (interval.start.astimezone(zone).isoformat(), interval.end.astimezone(zone).isoformat())
        for interval in intervals
    ]


class TestDaylightSaving:
    def test_new_york_march_keeps_local_time_across_spring_forward(self) -> None:
        planner = SlotPlanner()
        every_day = window("MON,TUE,WED,THU,FRI,SAT,SUN", "09:00", "10:00")
        # Saturday 2025-03-08 07:00 EST; clocks go forward on Sunday 2025-03-09 at 02:00.
        intervals = planner.allowed_intervals(
            [every_day], "America/New_York", now=utc(2025, 3, 8, 12), horizon=timedelta(days=3)
        )
        assert spans(intervals) == [
            (utc(2025, 3, 8, 14), utc(2025, 3, 8, 15)),  # EST, UTC-5
            (utc(2025, 3, 9, 13), utc(2025, 3, 9, 14)),  # EDT, UTC-4
            (utc(2025, 3, 10, 13), utc(2025, 3, 10, 14)),
        ]

    def test_boundary_in_the_spring_forward_gap_lands_on_the_transition(self) -> None:
        planner = SlotPlanner(ROUND_THE_CLOCK)
        intervals = planner.allowed_intervals(
            [window("SUN", "02:00", "03:30")],
            "America/New_York",
            now=utc(2025, 3, 9),
            horizon=timedelta(days=1),
        )
        # 02:00-03:00 does not exist that night: only 03:00-03:30 EDT is left.
        assert local_spans(intervals, NEW_YORK) == [
            ("2025-03-09T03:00:00-04:00", "2025-03-09T03:30:00-04:00")
        ]

    def test_window_wholly_inside_the_gap_has_no_time_that_day(self) -> None:
        planner = SlotPlanner(ROUND_THE_CLOCK)
        gap_only = [window("SUN", "02:15", "02:45")]
        that_sunday = planner.allowed_intervals(
            gap_only, "America/New_York", now=utc(2025, 3, 9), horizon=timedelta(days=1)
        )
        assert that_sunday == []
        next_sunday = planner.allowed_intervals(
            gap_only, "America/New_York", now=utc(2025, 3, 9), horizon=timedelta(days=8)
        )
        assert local_spans(next_sunday, NEW_YORK) == [
            ("2025-03-16T02:15:00-04:00", "2025-03-16T02:45:00-04:00")
        ]

    def test_paris_october_follows_the_fall_back(self) -> None:
        planner = SlotPlanner()
        sunday_morning = [window("SUN", "09:00", "10:00")]
        # Clocks go back on Sunday 2025-10-26 at 03:00 CEST -> 02:00 CET.
        intervals = planner.allowed_intervals(
            sunday_morning, "Europe/Paris", now=utc(2025, 10, 18), horizon=timedelta(days=9)
        )
        assert spans(intervals) == [
            (utc(2025, 10, 19, 7), utc(2025, 10, 19, 8)),  # CEST, UTC+2
            (utc(2025, 10, 26, 8), utc(2025, 10, 26, 9)),  # CET, UTC+1
        ]

    def test_repeated_hour_is_callable_both_times(self) -> None:
        planner = SlotPlanner(ROUND_THE_CLOCK)
        inside_repeat = planner.allowed_intervals(
            [window("SUN", "02:15", "02:45")],
            "Europe/Paris",
            now=utc(2025, 10, 25, 12),
            horizon=timedelta(days=1),
        )
        assert spans(inside_repeat) == [
            (utc(2025, 10, 26, 0, 15), utc(2025, 10, 26, 0, 45)),  # 02:15-02:45 CEST
            (utc(2025, 10, 26, 1, 15), utc(2025, 10, 26, 1, 45)),  # 02:15-02:45 CET
        ]
        across_repeat = planner.allowed_intervals(
            [window("SUN", "01:30", "03:30")],
            "Europe/Paris",
            now=utc(2025, 10, 25, 12),
            horizon=timedelta(days=1),
        )
        # Two wall-clock hours, three real ones.
        assert spans(across_repeat) == [(utc(2025, 10, 25, 23, 30), utc(2025, 10, 26, 2, 30))]

    def test_fall_back_across_midnight_interleaves_days_correctly(self) -> None:
        # Moncton, 2005-10-30: at 00:01 ADT on Sunday the clocks went back to 23:01 AST on Saturday,
        # so Saturday's late evening happened partly after Sunday's first minute.
        planner = SlotPlanner(ROUND_THE_CLOCK)
        windows = [window("SAT", "23:00", "23:50"), window("SUN", "00:00", "00:30")]
        intervals = planner.allowed_intervals(
            windows, "America/Moncton", now=utc(2005, 10, 29, 12), horizon=timedelta(days=1)
        )
        assert spans(intervals) == [
            (utc(2005, 10, 30, 2), utc(2005, 10, 30, 2, 50)),  # Saturday 23:00-23:50 ADT
            (
                utc(2005, 10, 30, 3),
                utc(2005, 10, 30, 3, 50),
            ),  # Sunday 00:00-00:01 ADT, Saturday 23:01-23:50 AST
            (utc(2005, 10, 30, 4), utc(2005, 10, 30, 4, 30)),  # Sunday 00:00-00:30 AST
        ]

    def test_kolkata_half_hour_offset_without_dst(self) -> None:
        planner = SlotPlanner()
        slots = planner.next_slots(
            [window("MON", "09:00", "12:00")],
            "Asia/Kolkata",
            now=utc(2025, 3, 9),
            horizon=timedelta(days=7),
            limit=3,
        )
        assert spans(slots) == [
            (utc(2025, 3, 10, 3, 30), utc(2025, 3, 10, 3, 45)),
            (utc(2025, 3, 10, 3, 45), utc(2025, 3, 10, 4, 0)),
            (utc(2025, 3, 10, 4, 0), utc(2025, 3, 10, 4, 15)),
        ]
        all_of_it = planner.allowed_intervals(
            [window("MON", "09:00", "12:00")], "Asia/Kolkata", now=utc(2025, 3, 9), horizon=timedelta(days=21)
        )
        assert [i.start.astimezone(KOLKATA).strftime("%a %H:%M") for i in all_of_it] == ["Mon 09:00"] * 3
        assert {i.duration for i in all_of_it} == {timedelta(hours=3)}


class TestWindowShapes:
    def test_window_crossing_midnight_belongs_to_its_start_day(self) -> None:
        planner = SlotPlanner(ROUND_THE_CLOCK)
        intervals = planner.allowed_intervals(
            [window("MON", "22:00", "02:00")], "UTC", now=utc(2025, 6, 1), horizon=timedelta(days=7)
        )
        # Sunday 2025-06-01 has nothing; Monday 22:00 runs into Tuesday 02:00.
        assert spans(intervals) == [(utc(2025, 6, 2, 22), utc(2025, 6, 3, 2))]

    def test_after_midnight_part_is_clipped_by_legal_hours_of_its_own_day(self) -> None:
        planner = SlotPlanner()
        intervals = planner.allowed_intervals(
            [window("MON", "20:00", "02:00")], "Europe/Paris", now=utc(2025, 6, 1), horizon=timedelta(days=7)
        )
        assert local_spans(intervals, PARIS) == [("2025-06-02T20:00:00+02:00", "2025-06-02T21:00:00+02:00")]

    def test_midnight_end_and_overlapping_windows_merge(self) -> None:
        planner = SlotPlanner(ROUND_THE_CLOCK)
        windows = [
            window("TUE", "18:00", "24:00"),
            window("TUE", "17:00", "19:00"),
            window("WED", "00:00", "01:00"),
        ]
        intervals = planner.allowed_intervals(windows, "UTC", now=utc(2025, 6, 1), horizon=timedelta(days=7))
        assert spans(intervals) == [(utc(2025, 6, 3, 17), utc(2025, 6, 4, 1))]

    def test_no_windows_falls_back_to_legal_hours_on_weekdays(self) -> None:
        planner = SlotPlanner()
        berlin = ZoneInfo("Europe/Berlin")
        # Friday 2025-06-06 20:00 in Berlin; the weekend is skipped.
        intervals = planner.allowed_intervals(
            [],
            "Europe/Berlin",
            now=datetime(2025, 6, 6, 20, tzinfo=berlin),
            horizon=timedelta(days=3, hours=1),
        )
        assert local_spans(intervals, berlin) == [
            ("2025-06-06T20:00:00+02:00", "2025-06-06T21:00:00+02:00"),
            ("2025-06-09T08:00:00+02:00", "2025-06-09T21:00:00+02:00"),
        ]

    def test_fallback_days_are_configurable(self) -> None:
        planner = SlotPlanner(PlannerSettings(fallback_days=frozenset({"SAT"})))
        intervals = planner.allowed_intervals([], "UTC", now=utc(2025, 6, 2), horizon=timedelta(days=7))
        assert spans(intervals) == [(utc(2025, 6, 7, 8), utc(2025, 6, 7, 21))]

    def test_windows_are_clipped_to_legal_hours(self) -> None:
        planner = SlotPlanner()
        intervals = planner.allowed_intervals(
            [window("MON", "06:00", "23:00")], "UTC", now=utc(2025, 6, 1), horizon=timedelta(days=7)
        )
        assert spans(intervals) == [(utc(2025, 6, 2, 8), utc(2025, 6, 2, 21))]

    def test_window_outside_legal_hours_gives_no_slots_not_a_fallback(self) -> None:
        planner = SlotPlanner()
        late_only = [window("MON,TUE,WED,THU,FRI,SAT,SUN", "21:30", "23:00")]
        assert planner.next_slots(late_only, "UTC", now=utc(2025, 6, 1), horizon=timedelta(days=14)) == []

    def test_calling_hours_days_exclude_forbidden_days(self) -> None:
        no_sunday = PlannerSettings(calling_rules=CallingRules.uniform("09:00", "20:00", WEEKDAYS[:6]))
        planner = SlotPlanner(no_sunday)
        intervals = planner.allowed_intervals(
            [window("SAT,SUN", "10:00", "12:00")], "UTC", now=utc(2025, 6, 1), horizon=timedelta(days=7)
        )
        assert spans(intervals) == [(utc(2025, 6, 7, 10), utc(2025, 6, 7, 12))]

    def test_calling_hours_intervals_ignore_windows(self) -> None:
        planner = SlotPlanner(PlannerSettings(calling_rules=CallingRules.uniform("09:00", "17:00")))
        intervals = planner.calling_hours_intervals(
            "Asia/Kolkata", now=utc(2025, 6, 1), horizon=timedelta(days=2)
        )
        assert local_spans(intervals, KOLKATA) == [
            ("2025-06-01T09:00:00+05:30", "2025-06-01T17:00:00+05:30"),
            ("2025-06-02T09:00:00+05:30", "2025-06-02T17:00:00+05:30"),
        ]


class TestSlots:
    planner = SlotPlanner()  # 15-minute slots, pieces under 5 minutes dropped

    def slots(self, start: str, end: str, now: datetime, limit: int | None = None) -> list[tuple[str, str]]:
        found = self.planner.next_slots(
            [window("MON", start, end)], "UTC", now=now, horizon=timedelta(days=1), limit=limit
        )
        return [(slot.start.strftime("%H:%M:%S"), slot.end.strftime("%H:%M:%S")) for slot in found]

    def test_slots_tile_the_window_and_keep_a_usable_tail(self) -> None:
        assert self.slots("09:00", "10:10", utc(2025, 6, 2)) == [
            ("09:00:00", "09:15:00"),
            ("09:15:00", "09:30:00"),
            ("09:30:00", "09:45:00"),
            ("09:45:00", "10:00:00"),
            ("10:00:00", "10:10:00"),
        ]

    def test_tail_shorter_than_minimum_is_dropped(self) -> None:
        assert self.slots("09:00", "09:33", utc(2025, 6, 2))[-1] == ("09:15:00", "09:30:00")

    def test_running_slot_starts_now_and_grid_stays_put(self) -> None:
        assert self.slots("09:00", "10:00", utc(2025, 6, 2, 9, 7), limit=2) == [
            ("09:07:00", "09:15:00"),
            ("09:15:00", "09:30:00"),
        ]
        # Only three minutes left of the 09:00 slot: not worth a dial.
        assert self.slots("09:00", "10:00", utc(2025, 6, 2, 9, 12), limit=1) == [("09:15:00", "09:30:00")]

    def test_now_keeps_its_microseconds(self) -> None:
        now = datetime(2025, 6, 2, 9, 1, 2, 345678, tzinfo=UTC)
        first = self.planner.next_slots(
            [window("MON", "09:00", "10:00")], "UTC", now=now, horizon=timedelta(days=1)
        )[0]
        assert first.start == now

    def test_horizon_cuts_the_last_slot(self) -> None:
        now = utc(2025, 6, 2, 9)
        found = self.planner.next_slots(
            [window("MON", "09:00", "10:00")], "UTC", now=now, horizon=timedelta(minutes=40)
        )
        assert spans(found)[-1] == (utc(2025, 6, 2, 9, 30), utc(2025, 6, 2, 9, 40))

    def test_limit_zero_and_input_timezone_is_normalised(self) -> None:
        now = datetime(2025, 6, 2, 11, tzinfo=timezone(timedelta(hours=2)))  # 09:00 UTC
        assert (
            self.planner.next_slots(
                [window("MON", "09:00", "10:00")], "UTC", now=now, horizon=timedelta(days=1), limit=0
            )
            == []
        )
        first = self.planner.next_slots(
            [window("MON", "09:00", "10:00")], "UTC", now=now, horizon=timedelta(days=1), limit=1
        )
        assert first[0].start == utc(2025, 6, 2, 9) and first[0].start.tzinfo is UTC


class TestInvalidInput:
    planner = SlotPlanner()
    weekday_mornings = [window("MON,TUE", "09:00", "12:00")]

    @pytest.mark.parametrize(
        "name", ["Mars/Olympus_Mons", "america/new_york", "", "../etc/passwd", "localtime", "Europe"]
    )
    def test_unknown_timezone(self, name: str) -> None:
        with pytest.raises(InvalidTimezoneError, match="unknown IANA timezone"):
            self.planner.next_slots(
                self.weekday_mornings, name, now=utc(2025, 6, 1), horizon=timedelta(days=1)
            )

    def test_unknown_timezone_with_no_callable_time_is_still_refused(self) -> None:
        late = [window("MON", "22:00", "23:00")]
        with pytest.raises(InvalidTimezoneError):
            self.planner.next_slots(late, "Nowhere/Special", now=utc(2025, 6, 1), horizon=timedelta(days=1))

    def test_naive_now(self) -> None:
        with pytest.raises(NaiveDatetimeError):
            self.planner.next_slots(
                self.weekday_mornings, "UTC", now=datetime(2025, 6, 1), horizon=timedelta(days=1)
            )

    @pytest.mark.parametrize(
        ("days", "start", "end", "message"),
        [
            (["MON"], "09:00", "09:00", "start equals end"),
            ([], "09:00", "10:00", "no weekdays"),
            (["FUNDAY"], "09:00", "10:00", "unknown weekday 'FUNDAY'"),
            (["MON"], "25:00", "26:00", "not a valid time"),
            (["MON"], "24:00", "10:00", "not a valid time"),
            (["MON"], "9:00", "10:00", "not HH:MM"),
            (["MON"], "09:00", "10:60", "not a valid time"),
        ],
    )
    def test_invalid_windows(self, days: list[str], start: str, end: str, message: str) -> None:
        # model_construct skips the contract's own validation, as a buggy producer could.
        bad = TimeWindow.model_construct(days=days, start=start, end=end)
        with pytest.raises(InvalidWindowError, match=message):
            self.planner.next_slots([bad], "UTC", now=utc(2025, 6, 1), horizon=timedelta(days=1))

    @pytest.mark.parametrize("horizon", [timedelta(0), timedelta(seconds=-1), timedelta(days=401)])
    def test_horizon_bounds(self, horizon: timedelta) -> None:
        with pytest.raises(InvalidSettingsError, match="horizon"):
            self.planner.next_slots(self.weekday_mornings, "UTC", now=utc(2025, 6, 1), horizon=horizon)

    def test_negative_limit(self) -> None:
        with pytest.raises(InvalidSettingsError, match="limit"):
            self.planner.next_slots(
                self.weekday_mornings, "UTC", now=utc(2025, 6, 1), horizon=timedelta(days=1), limit=-1
            )

    @pytest.mark.parametrize(
        ("start", "end", "days"),
        [
            ("21:00", "08:00", WEEKDAYS),
            ("08:00", "08:00", WEEKDAYS),
            ("08:00", "21:00", ()),
            ("08:00", "21:00", ("XYZ",)),
        ],
    )
    def test_invalid_calling_hours(self, start: str, end: str, days: tuple[str, ...]) -> None:
        with pytest.raises(InvalidCallingRules):
            CallingRules.uniform(start, end, days)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"slot_length": timedelta(0)},
            {"slot_length": timedelta(days=2)},
            {"slot_length": timedelta(seconds=90, microseconds=5)},
            {"min_slot_length": timedelta(minutes=20)},
            {"min_slot_length": timedelta(0)},
        ],
    )
    def test_invalid_planner_settings(self, kwargs: dict[str, timedelta]) -> None:
        with pytest.raises(InvalidSettingsError):
            PlannerSettings(**kwargs)


# --- Properties: checked against a direct reading of the rules, one instant at a time. ---

ZONES = ["America/New_York", "Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago", "UTC"]


def minutes(clock: str) -> int:
    return int(clock[:2]) * 60 + int(clock[3:])


def in_windows(local: datetime, windows: list[TimeWindow], hours: CallingRules) -> bool:
    """The rule, restated: the instant's local wall clock lies in a window and in calling hours."""
    minute = local.hour * 60 + local.minute
    weekday = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    legal = hours.default.ranges[local.weekday()]
    if not any(start <= minute * 60 < end for start, end in legal):
        return False
    for w in windows:
        start, end = minutes(w.start), minutes(w.end)
        if start < end and weekday in w.days and start <= minute < end:
            return True
        if end < start and (
            (weekday in w.days and minute >= start) or (yesterday in w.days and minute < end)
        ):
            return True
    return False


clock_times = st.integers(min_value=0, max_value=24 * 4 - 1).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")
windows_strategy = st.lists(
    st.builds(
        lambda days, start, end: TimeWindow(days=sorted(days), start=start, end=end),
        st.sets(st.sampled_from(WEEKDAYS), min_size=1),
        clock_times,
        clock_times | st.just("24:00"),
    ).filter(lambda w: w.start != w.end),
    min_size=1,
    max_size=3,
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
hours_strategy = st.sampled_from(
    [CallingRules(), CallingRules.uniform("00:00", "24:00"), CallingRules.uniform("09:30", "17:45")]
)


@settings(max_examples=150, deadline=None)
@given(windows=windows_strategy, zone=st.sampled_from(ZONES), now=instants, hours=hours_strategy)
def test_every_slot_lies_in_a_window_and_in_calling_hours(
    windows: list[TimeWindow], zone: str, now: datetime, hours: CallingRules
) -> None:
    settings_ = PlannerSettings(calling_rules=hours)
    horizon = timedelta(days=3)
    slots = SlotPlanner(settings_).next_slots(windows, zone, now=now, horizon=horizon)
    tz = ZoneInfo(zone)
    for previous, slot in pairwise(slots):
        assert previous.end <= slot.start
    for slot in slots:
        assert now <= slot.start and slot.end <= now + horizon
        assert settings_.min_slot_length <= slot.duration <= settings_.slot_length
        probe = slot.start
        while probe < slot.end:
            assert in_windows(probe.astimezone(tz), windows, hours), (probe, probe.astimezone(tz))
            probe += timedelta(minutes=1)


@settings(max_examples=150, deadline=None)
@given(
    windows=windows_strategy,
    zone=st.sampled_from(ZONES),
    now=instants,
    offsets=st.lists(st.integers(min_value=0, max_value=3 * 86_400 - 1), min_size=20, max_size=20),
)
def test_allowed_intervals_cover_exactly_the_callable_instants(
    windows: list[TimeWindow], zone: str, now: datetime, offsets: list[int]
) -> None:
    hours = CallingRules()
    intervals = SlotPlanner(PlannerSettings(calling_rules=hours)).allowed_intervals(
        windows, zone, now=now, horizon=timedelta(days=3)
    )
    tz = ZoneInfo(zone)
    for offset in offsets:
        instant = now + timedelta(seconds=offset)
        covered = any(interval.contains(instant) for interval in intervals)
        assert covered == in_windows(instant.astimezone(tz), windows, hours), instant
    # Boundaries are exact: callable just inside, not callable just outside (unless cut by the range).
    second = timedelta(seconds=1)
    for interval in intervals:
        assert in_windows(interval.start.astimezone(tz), windows, hours)
        assert in_windows((interval.end - second).astimezone(tz), windows, hours)
        if interval.start > now:
            assert not in_windows((interval.start - second).astimezone(tz), windows, hours)
        if interval.end < now + timedelta(days=3):
            assert not in_windows(interval.end.astimezone(tz), windows, hours)
