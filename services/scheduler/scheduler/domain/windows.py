"""Candidate call slots from a lead's preferred weekly windows, its timezone and legal calling hours.

Rules (see also `zones` for the DST rule):
- A window belongs to the weekday it starts on. `end` before `start` crosses midnight: a Monday
  20:00-02:00 window covers Monday 20:00-24:00 and Tuesday 00:00-02:00 local time. "24:00" ends a
  window at midnight. `start == end` is refused as ambiguous (empty or all day?).
- Legal calling hours apply to the local calendar day of each instant: the Tuesday 00:00-02:00 part
  above is outside 08:00-21:00 and is dropped. Windows are intersected with them, never widened.
- A lead without windows is callable during the legal hours on the fallback days (Monday-Friday by
  default). A lead whose windows fall entirely outside legal hours has no slots at all: the planner
  never invents a time the lead did not offer.
- Slots cut each allowed interval into `slot_length` pieces counted from the interval's start (so a
  09:00 window gives 09:00, 09:15, ... whatever "now" is); the piece running at "now" starts at now;
  a piece shorter than `min_slot_length` (window tail, or mostly elapsed) is dropped.

Speed: the weekly pattern is compiled once per distinct (windows, calling hours) and the zone's
UTC offsets once per zone and range; a lead's slots are then produced lazily, shifting the weekly
pattern with integer arithmetic, so asking for the next few slots maps only the pieces it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import get_args

from parley_contracts import TimeWindow
from parley_contracts.leads import Weekday

from .errors import InvalidSettingsError, InvalidWindowError
from .intervals import Interval, require_aware
from .zones import DAY, clear_zone_caches, offset_segments, wall_interval_to_utc

WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
WORKWEEK: frozenset[Weekday] = frozenset(WEEKDAYS[:5])
_WEEKDAY_INDEX: dict[str, int] = {name: index for index, name in enumerate(WEEKDAYS)}
# 1970-01-01, day 0 of the epoch, was a Thursday.
_EPOCH_WEEKDAY = _WEEKDAY_INDEX["THU"]
WEEK = 7 * DAY
# Bounds the work (and the offset cache's ranges) of one call; nobody plans calls a year ahead.
MAX_HORIZON = timedelta(days=400)
_ZERO = timedelta(0)

# (days, start, end) of each window: hashable, so it can key the pattern cache.
WindowsKey = tuple[tuple[tuple[str, ...], str, str], ...]
# Callable local time in a week: (start, end) seconds since Monday 00:00, sorted, disjoint, in [0, WEEK).
WeeklyPattern = tuple[tuple[int, int], ...]

_ALL_DAY_EVERY_DAY: WindowsKey = ((WEEKDAYS, "00:00", "24:00"),)


@lru_cache(maxsize=4096)
def parse_clock(value: str, *, allow_midnight_end: bool) -> int:
    """Seconds since midnight of a local "HH:MM" time; "24:00" only where a range may end."""
    hours, sep, minutes = value.partition(":")
    if not (
        value.isascii()
        and sep
        and len(hours) == 2
        and len(minutes) == 2
        and hours.isdigit()
        and minutes.isdigit()
    ):
        raise InvalidWindowError(f"time {value!r} is not HH:MM")
    seconds = int(hours) * 3600 + int(minutes) * 60
    if int(minutes) > 59 or seconds > DAY or (seconds == DAY and not allow_midnight_end):
        raise InvalidWindowError(f"time {value!r} is not a valid time of day")
    return seconds


@lru_cache(maxsize=1024)
def _weekday_indexes(days: tuple[str, ...]) -> tuple[int, ...]:
    if not days:
        raise InvalidWindowError("no weekdays given")
    for day in days:
        if day not in _WEEKDAY_INDEX:
            raise InvalidWindowError(f"unknown weekday {day!r} (expected one of {', '.join(WEEKDAYS)})")
    return tuple(sorted({_WEEKDAY_INDEX[day] for day in days}))


def _weekday_set(days: Iterable[str], what: str) -> frozenset[Weekday]:
    try:
        return frozenset(WEEKDAYS[index] for index in _weekday_indexes(tuple(days)))
    except InvalidWindowError as exc:
        raise InvalidWindowError(f"{what}: {exc}") from None


def _merge(pieces: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    if len(pieces) < 2:
        return tuple(pieces)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@lru_cache(maxsize=65_536)
def _window_week_pieces(days: tuple[str, ...], start_text: str, end_text: str) -> WeeklyPattern:
    """One window in week seconds; cached, since the same windows recur across many leads.

    A window over midnight stays one piece (Monday 20:00-02:00 is Monday 20:00 to Tuesday 02:00);
    only Sunday's wraps round to Monday morning.
    """
    try:
        indexes = _weekday_indexes(days)
        start = parse_clock(start_text, allow_midnight_end=False)
        end = parse_clock(end_text, allow_midnight_end=True)
        if start == end:
            raise InvalidWindowError("start equals end")
    except InvalidWindowError as exc:
        raise InvalidWindowError(f"window {'/'.join(days)} {start_text}-{end_text}: {exc}") from None
    length = end - start if end > start else end + DAY - start
    pieces: list[tuple[int, int]] = []
    for index in indexes:
        piece_start = index * DAY + start
        piece_end = piece_start + length
        if piece_end <= WEEK:
            pieces.append((piece_start, piece_end))
        else:
            pieces += [(piece_start, WEEK), (0, piece_end - WEEK)]
    return _merge(pieces)


@dataclass(frozen=True)
class CallingHours:
    """When calls are legal, in the lead's local time. Default 08:00-21:00 every day (US TCPA)."""

    start: str = "08:00"
    end: str = "21:00"
    days: frozenset[Weekday] = frozenset(WEEKDAYS)
    start_second: int = field(init=False, repr=False, compare=False)
    end_second: int = field(init=False, repr=False, compare=False)
    # Whether calls are legal on each weekday, MON..SUN.
    allowed_weekdays: tuple[bool, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start = parse_clock(self.start, allow_midnight_end=False)
        end = parse_clock(self.end, allow_midnight_end=True)
        if end <= start:
            raise InvalidWindowError(f"calling hours must end after they start, got {self.start}-{self.end}")
        days = _weekday_set(self.days, "calling hours")
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "start_second", start)
        object.__setattr__(self, "end_second", end)
        object.__setattr__(self, "allowed_weekdays", tuple(day in days for day in WEEKDAYS))


@dataclass(frozen=True)
class PlannerSettings:
    calling_hours: CallingHours = field(default_factory=CallingHours)
    slot_length: timedelta = timedelta(minutes=15)
    # Shorter pieces (a window's tail, the rest of an elapsed slot) are not worth a dial.
    min_slot_length: timedelta = timedelta(minutes=5)
    # Days a lead without preferred windows may be called (within calling hours).
    fallback_days: frozenset[Weekday] = WORKWEEK

    def __post_init__(self) -> None:
        if not timedelta(seconds=1) <= self.slot_length <= timedelta(days=1) or self.slot_length.microseconds:
            raise InvalidSettingsError("slot_length must be whole seconds between 1 second and 1 day")
        if not timedelta(0) < self.min_slot_length <= self.slot_length:
            raise InvalidSettingsError("min_slot_length must be positive and at most slot_length")
        object.__setattr__(self, "fallback_days", _weekday_set(self.fallback_days, "fallback days"))


def windows_key(windows: Sequence[TimeWindow]) -> WindowsKey:
    return tuple([(tuple(window.days), window.start, window.end) for window in windows])


def _clip_to_calling_hours(pattern: WeeklyPattern, hours: CallingHours) -> WeeklyPattern:
    """The parts of `pattern` inside calling hours, judged on each local day the pattern touches."""
    clipped: list[tuple[int, int]] = []
    for start, end in pattern:
        for day in range(start // DAY, (end - 1) // DAY + 1):
            if hours.allowed_weekdays[day]:
                legal_start, legal_end = day * DAY + hours.start_second, day * DAY + hours.end_second
                if start < legal_end and legal_start < end:
                    clipped.append((max(start, legal_start), min(end, legal_end)))
    return tuple(clipped)


@lru_cache(maxsize=65_536)
def compile_pattern(key: WindowsKey, hours: CallingHours, fallback_days: frozenset[Weekday]) -> WeeklyPattern:
    """The weekly local time a lead may be called in: its windows clipped to calling hours."""
    if not key:
        key = ((tuple(sorted(fallback_days, key=WEEKDAYS.index)), "00:00", "24:00"),)
    pieces = [piece for days, start, end in key for piece in _window_week_pieces(days, start, end)]
    return _clip_to_calling_hours(_merge(pieces), hours)


def _utc_pieces(
    pattern: WeeklyPattern, zone_name: str, now_s: float, until_s: float
) -> Iterator[tuple[int, int]]:
    """UTC `(start, end)` epoch seconds of the pattern's callable intervals, in time order.

    From the interval still open at `now_s` to the last one starting before `until_s`; touching
    pieces are joined; bounds are not clipped to the range (slot tiling counts from an interval's
    own start). Lazy, so a caller wanting the next few slots maps only the days it needs.
    """
    # Local days one either side of the UTC range cover every offset (all lie within +-1 day).
    first_day, last_day = int(now_s // DAY) - 1, int(until_s // DAY) + 1
    segments = offset_segments(zone_name, (first_day - 1) * DAY, (last_day + 1) * DAY)
    pieces: Iterable[tuple[int, int]]
    if len(segments) == 1:
        # No offset change in range (the usual case): every week is the pattern shifted, in order.
        # Start the day before now's local day so an interval running into it keeps its real start.
        offset = segments[0][2]
        local_day = int((now_s + offset) // DAY) - 1
        first_monday = (local_day - (local_day + _EPOCH_WEEKDAY) % 7) * DAY - offset
        pieces = (
            (monday + start, monday + end)
            for monday in range(first_monday, int(until_s) + 1, WEEK)
            for start, end in pattern
        )
    else:
        # Map each piece exactly, then sort: a fall-back across local midnight (Atlantic Canada
        # went from 00:01 back to 23:01 until 2010) interleaves two local days.
        first_monday = (first_day - (first_day + _EPOCH_WEEKDAY) % 7) * DAY
        pieces = sorted(
            piece
            for monday in range(first_monday, (last_day + 1) * DAY, WEEK)
            for start, end in pattern
            for piece in wall_interval_to_utc(segments, monday + start, monday + end)
        )
    pending: tuple[int, int] | None = None
    for start, end in pieces:
        if end <= now_s:
            continue
        if start >= until_s:
            break
        if pending is not None and start <= pending[1]:
            pending = (pending[0], max(pending[1], end))
            continue
        if pending is not None:
            yield pending
        pending = (start, end)
    if pending is not None:
        yield pending


def clear_plan_caches() -> None:
    """Forget every cached window, pattern and zone (after a tz database update; benchmarks)."""
    for cached in (parse_clock, _weekday_indexes, _window_week_pieces, compile_pattern):
        cached.cache_clear()
    clear_zone_caches()


class SlotPlanner:
    """Plans where calls may go. Pure: same inputs, same answer; caches are only a speed-up."""

    def __init__(self, settings: PlannerSettings | None = None) -> None:
        self.settings = settings or PlannerSettings()
        self._slot_seconds = int(self.settings.slot_length.total_seconds())
        self._min_slot_seconds = self.settings.min_slot_length.total_seconds()

    def pattern(self, windows: Sequence[TimeWindow]) -> WeeklyPattern:
        """The weekly local pattern (validated) the lead's windows produce under these settings."""
        return compile_pattern(windows_key(windows), self.settings.calling_hours, self.settings.fallback_days)

    def allowed_intervals(
        self, windows: Sequence[TimeWindow], timezone: str, *, now: datetime, horizon: timedelta
    ) -> list[Interval]:
        """Every callable interval in `[now, now + horizon)`, sorted, as UTC intervals."""
        return self._intervals(self.pattern(windows), timezone, now, horizon)

    def calling_hours_intervals(self, timezone: str, *, now: datetime, horizon: timedelta) -> list[Interval]:
        """Legal calling time in `[now, now + horizon)` regardless of preferred windows (callbacks)."""
        pattern = compile_pattern(
            _ALL_DAY_EVERY_DAY, self.settings.calling_hours, self.settings.fallback_days
        )
        return self._intervals(pattern, timezone, now, horizon)

    def next_slots(
        self,
        windows: Sequence[TimeWindow],
        timezone: str,
        *,
        now: datetime,
        horizon: timedelta,
        limit: int | None = None,
    ) -> list[Interval]:
        """Upcoming candidate slots in `[now, now + horizon)`, earliest first, at most `limit`."""
        if limit is not None and limit < 0:
            raise InvalidSettingsError("limit must not be negative")
        pattern = self.pattern(windows)
        span = _Span(now, horizon)
        now_s, until_s = span.now_s, span.until_s
        step, step_length, min_length = self._slot_seconds, self.settings.slot_length, self._min_slot_seconds
        slots: list[Interval] = []
        if limit == 0:
            return slots
        for interval_start, end in _utc_pieces(pattern, timezone, now_s, until_s):
            interval_end = min(end, until_s)
            # Jump straight to the piece running at `now` instead of walking elapsed pieces.
            piece: float = interval_start + max(0, int((now_s - interval_start) // step)) * step
            piece_at: datetime | None = None  # the datetime of `piece`, once known
            if piece < now_s:
                piece = min(piece + step, interval_end)
                if piece - now_s >= min_length:
                    piece_at = span.at(piece)
                    slots.append(Interval.from_utc(span.now_at, piece_at))
            while piece < interval_end and len(slots) != limit:
                if piece_at is None:
                    piece_at = datetime.fromtimestamp(piece, UTC)
                if piece + step <= interval_end:
                    # A whole slot: datetime arithmetic is cheaper than another conversion.
                    end_at = piece_at + step_length
                    piece += step
                elif interval_end - piece >= min_length:
                    end_at = span.at(interval_end)
                    piece = interval_end
                else:
                    break
                slots.append(Interval.from_utc(piece_at, end_at))
                piece_at = end_at
            if len(slots) == limit:
                break
        return slots

    def _intervals(
        self, pattern: WeeklyPattern, timezone: str, now: datetime, horizon: timedelta
    ) -> list[Interval]:
        span = _Span(now, horizon)
        return [
            Interval.from_utc(span.at(max(start, span.now_s)), span.at(min(end, span.until_s)))
            for start, end in _utc_pieces(pattern, timezone, span.now_s, span.until_s)
        ]


class _Span:
    """One planning range `[now, now + horizon)` as datetimes and as epoch seconds."""

    # A plain class: built once per lead planned, where a frozen dataclass's __init__ costs.
    __slots__ = ("now_at", "now_s", "until_at", "until_s")

    def __init__(self, now: datetime, horizon: timedelta) -> None:
        if not _ZERO < horizon <= MAX_HORIZON:
            raise InvalidSettingsError(f"horizon must be positive and at most {MAX_HORIZON.days} days")
        self.now_at = require_aware(now, "now")
        self.until_at = self.now_at + horizon
        self.now_s = self.now_at.timestamp()
        self.until_s = self.now_s + horizon.total_seconds()

    def at(self, seconds: float) -> datetime:
        """The datetime of a boundary; `now` and `until` keep their exact microseconds."""
        if seconds == self.now_s:
            return self.now_at
        if seconds == self.until_s:
            return self.until_at
        return datetime.fromtimestamp(seconds, UTC)
