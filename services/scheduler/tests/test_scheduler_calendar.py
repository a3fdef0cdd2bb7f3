"""The calendar port's internal adapter, and the interval helpers it relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from scheduler.adapters import InternalCalendar
from scheduler.domain import (
    CalendarConflictError,
    CalendarError,
    CalendarEvent,
    CalendarPort,
    Interval,
    NaiveDatetimeError,
    SchedulingError,
    event_id_for_task,
    exclude_busy,
    merge_intervals,
)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, 2, hour, minute, tzinfo=UTC)


def span(start: tuple[int, int], end: tuple[int, int]) -> Interval:
    return Interval(at(*start), at(*end))


def event(
    start: tuple[int, int], end: tuple[int, int], calendar_id: str = "agent-1", title: str = "Call"
) -> CalendarEvent:
    return CalendarEvent(event_id_for_task(uuid4()), calendar_id, span(start, end), title)


class TestInterval:
    def test_normalises_to_utc(self) -> None:
        interval = Interval(datetime(2025, 6, 2, 11, tzinfo=timezone(timedelta(hours=2))), at(10))
        assert interval.start == at(9) and interval.start.tzinfo is UTC
        assert interval.duration == timedelta(hours=1)
        assert interval.contains(at(9, 30)) and not interval.contains(at(10))

    def test_refuses_empty_and_naive(self) -> None:
        with pytest.raises(SchedulingError, match="not after"):
            Interval(at(10), at(10))
        with pytest.raises(NaiveDatetimeError):
            Interval(datetime(2025, 6, 2, 9), at(10))

    def test_merge_joins_overlapping_and_touching(self) -> None:
        merged = merge_intervals(
            [span((11, 0), (12, 0)), span((9, 0), (10, 0)), span((10, 0), (10, 30)), span((11, 30), (11, 45))]
        )
        assert merged == [span((9, 0), (10, 30)), span((11, 0), (12, 0))]

    def test_exclude_busy_trims_and_drops_short_pieces(self) -> None:
        slots = [span((9, 0), (10, 0)), span((10, 0), (11, 0)), span((14, 0), (15, 0))]
        busy = [span((9, 20), (9, 50)), span((9, 45), (10, 10)), span((10, 57), (11, 30))]
        free = exclude_busy(slots, busy, min_length=timedelta(minutes=5))
        # 09:50-10:00 is covered by the second busy block; 10:10-10:57 survives; 10:57-11:00 is gone.
        assert free == [span((9, 0), (9, 20)), span((10, 10), (10, 57)), span((14, 0), (15, 0))]
        assert exclude_busy(slots, [], min_length=timedelta(minutes=5)) == slots
        assert exclude_busy([span((9, 0), (9, 3))], []) == [span((9, 0), (9, 3))]


class TestCalendarEvent:
    def test_task_ids_make_valid_event_ids(self) -> None:
        task_id = uuid4()
        assert (
            CalendarEvent(event_id_for_task(task_id), "agent-1", span((9, 0), (9, 15)), "Call").event_id
            == task_id.hex
        )

    @pytest.mark.parametrize(
        ("event_id", "calendar_id", "title", "message"),
        [
            ("abc", "agent-1", "Call", "event id"),
            ("Upper-Case-Id", "agent-1", "Call", "event id"),
            ("wxyz12345", "agent-1", "Call", "event id"),  # w-z are not base32hex
            ("abcdef", " ", "Call", "calendar_id"),
            ("abcdef", "agent-1", "  ", "title"),
        ],
    )
    def test_validation(self, event_id: str, calendar_id: str, title: str, message: str) -> None:
        with pytest.raises(CalendarError, match=message):
            CalendarEvent(event_id, calendar_id, span((9, 0), (9, 15)), title)


class TestInternalCalendar:
    async def test_free_busy_is_merged_clipped_and_per_calendar(self) -> None:
        calendar: CalendarPort = InternalCalendar()
        await calendar.create_event(event((9, 0), (10, 0)))
        await calendar.create_event(event((9, 30), (11, 0)))
        await calendar.create_event(event((13, 0), (14, 0)))
        await calendar.create_event(event((9, 0), (17, 0), calendar_id="agent-2"))
        busy = await calendar.free_busy("agent-1", span((10, 0), (13, 30)))
        assert busy == [span((10, 0), (11, 0)), span((13, 0), (13, 30))]
        assert await calendar.free_busy("agent-3", span((0, 0), (23, 0))) == []

    async def test_create_is_idempotent_and_conflicts_are_refused(self) -> None:
        calendar = InternalCalendar()
        booked = event((9, 0), (9, 15))
        assert await calendar.create_event(booked) is booked
        assert (
            await calendar.create_event(CalendarEvent(booked.event_id, "agent-1", booked.slot, "Call"))
            is booked
        )
        moved = CalendarEvent(booked.event_id, "agent-1", span((10, 0), (10, 15)), "Call")
        with pytest.raises(CalendarConflictError):
            await calendar.create_event(moved)

    async def test_cancel(self) -> None:
        calendar = InternalCalendar()
        booked = await calendar.create_event(event((9, 0), (9, 15)))
        assert await calendar.cancel_event("agent-1", booked.event_id) is True
        assert await calendar.cancel_event("agent-1", booked.event_id) is False
        assert await calendar.cancel_event("agent-9", booked.event_id) is False
        assert await calendar.free_busy("agent-1", span((0, 0), (23, 0))) == []
