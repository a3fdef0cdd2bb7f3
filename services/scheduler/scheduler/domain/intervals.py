"""Half-open UTC intervals: candidate call slots, busy ranges, allowed calling time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import NaiveDatetimeError, SchedulingError


def require_aware(value: datetime, name: str) -> datetime:
    """Return `value` converted to UTC; refuse naive datetimes (their instant is unknowable)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(name)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """The instants in `[start, end)`, both normalised to aware UTC datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "start"))
        object.__setattr__(self, "end", require_aware(self.end, "end"))
        if self.end <= self.start:
            raise SchedulingError(
                f"interval end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )

    @classmethod
    def from_utc(cls, start: datetime, end: datetime) -> Interval:
        """Build from datetimes already known to be aware UTC with `start < end` (planner hot path)."""
        interval = object.__new__(cls)
        object.__setattr__(interval, "start", start)
        object.__setattr__(interval, "end", end)
        return interval

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, instant: datetime) -> bool:
        return self.start <= require_aware(instant, "instant") < self.end

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted union of `intervals`; touching intervals are joined."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def exclude_busy(
    slots: Iterable[Interval], busy: Iterable[Interval], *, min_length: timedelta = timedelta(0)
) -> list[Interval]:
    """The parts of `slots` not covered by `busy`, dropping pieces shorter than `min_length`.

    Used to keep an agent's calendar conflicts out of manual call slots.
    """
    busy_merged = merge_intervals(busy)
    free: list[Interval] = []

    def keep(start: datetime, end: datetime) -> None:
        if end > start and end - start >= min_length:
            free.append(Interval(start, end))

    first_relevant = 0
    for slot in sorted(slots):
        # Busy blocks ending before this slot also end before every later slot: skip them for good.
        while first_relevant < len(busy_merged) and busy_merged[first_relevant].end <= slot.start:
            first_relevant += 1
        cursor = slot.start
        for block in busy_merged[first_relevant:]:
            if block.start >= slot.end:
                break
            keep(cursor, block.start)
            cursor = max(cursor, block.end)
        keep(cursor, slot.end)
    return free
