"""Candidate call slots from a lead's preferred weekly windows, its timezones and legal calling hours.

Rules (see also `zones` for the DST rule):
- A window belongs to the weekday it starts on. `end` before `start` crosses midnight: a Monday
  20:00-02:00 window covers Monday 20:00-24:00 and Tuesday 00:00-02:00 local time. "24:00" ends a
  window at midnight. `start == end` is refused as ambiguous (empty or all day?).
- Legal calling hours are those of the lead's country (`parley_calltime.CallingRules`) and apply to
  the local calendar day of each instant: the Tuesday 00:00-02:00 part above is outside 08:00-21:00
  and is dropped. Windows are intersected with them, never widened; a closed day (a public holiday
  where the country closes on them, a closed date) has no callable time at all.
- A lead whose number leaves several zones possible is callable only when the instant is callable in
  *every* candidate zone (windows and legal hours read in each); a lead with no zone is never callable.
- A lead without windows is callable during the legal hours on the fallback days (Monday-Friday by
  default). A lead whose windows fall entirely outside legal hours has no slots at all: the planner
  never invents a time the lead did not offer.
- Slots cut each allowed interval into `slot_length` pieces counted from the interval's start (so a
  09:00 window gives 09:00, 09:15, ... whatever "now" is); the piece running at "now" starts at now;
  a piece shorter than `min_slot_length` (window tail, or mostly elapsed) is dropped.

Speed: the weekly pattern is compiled once per distinct (windows, calling hours) and the zone's
UTC offsets once per zone and range; a lead's slots are then produced lazily, shifting the weekly
pattern with integer arithmetic, so asking for the next few slots maps only the pieces it needs.
Leads with several zones or closed days take a slower exact path (every zone mapped, then intersected).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import get_args

from parley_calltime import CallingRules, LegalHours
from parley_contracts import TimeWindow
from parley_contracts.leads import Weekday

from .errors import InvalidSettingsError, InvalidWindowError
from .intervals import Interval, require_aware
from .zones import DAY, clear_zone_caches, offset_segments, wall_interval_to_utc

# One zone name, or every zone a lead may be in.
Zones = str | Sequence[str]
_EPOCH = date(1970, 1, 1)

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
class PlannerSettings:
    calling_rules: CallingRules = field(default_factory=CallingRules)
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


def _clip_to_calling_hours(pattern: WeeklyPattern, hours: LegalHours) -> WeeklyPattern:
    """The parts of `pattern` inside calling hours, judged on each local day the pattern touches."""
    clipped: list[tuple[int, int]] = []
    for start, end in pattern:
        for day in range(start // DAY, (end - 1) // DAY + 1):
            for legal_start, legal_end in hours.ranges[day]:
                legal_start, legal_end = day * DAY + legal_start, day * DAY + legal_end
                if start < legal_end and legal_start < end:
                    clipped.append((max(start, legal_start), min(end, legal_end)))
    return tuple(clipped)


@lru_cache(maxsize=65_536)
def compile_pattern(key: WindowsKey, hours: LegalHours, fallback_days: frozenset[Weekday]) -> WeeklyPattern:
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


def _closed_days_utc(
    hours: LegalHours, country: str | None, zone_name: str, now_s: float, until_s: float
) -> list[tuple[int, int]]:
    """UTC intervals of the zone's local days in range that are closed for calls, in order."""
    first_day, last_day = int(now_s // DAY) - 1, int(until_s // DAY) + 1
    closed = [
        day
        for day in range(first_day, last_day + 1)
        if hours.closed_on(_EPOCH + timedelta(days=day), country)
    ]
    if not closed:
        return []
    segments = offset_segments(zone_name, (first_day - 1) * DAY, (last_day + 2) * DAY)
    return [piece for day in closed for piece in wall_interval_to_utc(segments, day * DAY, (day + 1) * DAY)]


def _subtract(pieces: Iterable[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`pieces` minus `holes` (both sorted and disjoint)."""
    result: list[tuple[int, int]] = []
    for start, end in pieces:
        for hole_start, hole_end in holes:
            if hole_end <= start or hole_start >= end:
                continue
            if hole_start > start:
                result.append((start, hole_start))
            start = max(start, hole_end)
            if start >= end:
                break
        if start < end:
            result.append((start, end))
    return result


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The time in both sorted, disjoint interval lists."""
    result: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return result


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

    def pattern(self, windows: Sequence[TimeWindow], country: str | None = None) -> WeeklyPattern:
        """The weekly local pattern (validated) the lead's windows produce under its country's hours."""
        hours = self.settings.calling_rules.for_country(country)
        return compile_pattern(windows_key(windows), hours, self.settings.fallback_days)

    def allowed_intervals(
        self,
        windows: Sequence[TimeWindow],
        zones: Zones,
        *,
        now: datetime,
        horizon: timedelta,
        country: str | None = None,
    ) -> list[Interval]:
        """Every callable interval in `[now, now + horizon)`, sorted, as UTC intervals."""
        return self._intervals(windows_key(windows), zones, country, now, horizon)

    def calling_hours_intervals(
        self, zones: Zones, *, now: datetime, horizon: timedelta, country: str | None = None
    ) -> list[Interval]:
        """Legal calling time in `[now, now + horizon)` regardless of preferred windows (callbacks)."""
        return self._intervals(_ALL_DAY_EVERY_DAY, zones, country, now, horizon)

    def _pieces(
        self, key: WindowsKey, zones: Zones, country: str | None, now_s: float, until_s: float
    ) -> Iterator[tuple[int, int]]:
        """UTC callable pieces (see `_utc_pieces`) of a lead in all its zones under its country's hours."""
        hours = self.settings.calling_rules.for_country(country)
        pattern = compile_pattern(key, hours, self.settings.fallback_days)
        names = (zones,) if isinstance(zones, str) else tuple(zones)
        if not names:
            return iter(())
        closes = hours.closed_on_public_holidays or bool(hours.closed_dates)
        if len(names) == 1 and not closes:
            return _utc_pieces(pattern, names[0], now_s, until_s)
        common: list[tuple[int, int]] | None = None
        for name in names:
            pieces = list(_utc_pieces(pattern, name, now_s, until_s))
            if closes:
                pieces = _subtract(pieces, _closed_days_utc(hours, country, name, now_s, until_s))
            common = pieces if common is None else _intersect(common, pieces)
        # A closed day can cut a piece down to a part that ended before now.
        return iter([(start, end) for start, end in common or () if end > now_s])

    def next_slots(
        self,
        windows: Sequence[TimeWindow],
        zones: Zones,
        *,
        now: datetime,
        horizon: timedelta,
        limit: int | None = None,
        country: str | None = None,
    ) -> list[Interval]:
        """Upcoming candidate slots in `[now, now + horizon)`, earliest first, at most `limit`."""
        if limit is not None and limit < 0:
            raise InvalidSettingsError("limit must not be negative")
        key = windows_key(windows)
        span = _Span(now, horizon)
        now_s, until_s = span.now_s, span.until_s
        step, step_length, min_length = self._slot_seconds, self.settings.slot_length, self._min_slot_seconds
        slots: list[Interval] = []
        if limit == 0:
            return slots
        for interval_start, end in self._pieces(key, zones, country, now_s, until_s):
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
        self, key: WindowsKey, zones: Zones, country: str | None, now: datetime, horizon: timedelta
    ) -> list[Interval]:
        span = _Span(now, horizon)
        return [
            Interval.from_utc(span.at(max(start, span.now_s)), span.at(min(end, span.until_s)))
            for start, end in self._pieces(key, zones, country, span.now_s, span.until_s)
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
