"""IANA zone lookup and the exact mapping from local wall-clock intervals to UTC.

The rule every planner follows: an instant is callable when its *local wall-clock reading* falls
inside the lead's window. Consequences at DST changes, which are therefore not special cases:
- spring forward: wall times in the gap never happen, so a window boundary inside the gap lands on
  the transition instant (a 02:00-03:30 window in New York on the change day is 03:00-03:30 EDT);
- fall back: the repeated wall times happen twice and both occurrences are callable (a 01:00-02:00
  window in New York on the change day lasts two real hours; a window wholly inside the repeated hour
  yields two separate UTC intervals).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import cache, lru_cache

from .errors import InvalidTimezoneError

DAY = 86_400

# Keys the tz database serves that do not describe a place: `localtime` is the host's own zone and
# `Factory` is a placeholder; a lead in either would be planned in a meaningless local time.
_NOT_LEAD_ZONES = frozenset({"localtime", "Factory", "posixrules"})

# UTC offsets change at most once in this many seconds in every zone (real zones change a few times a
# year); the offset timeline is sampled at this step and each change is then located to the second.
_OFFSET_SAMPLE_STEP = 6 * 3600


@cache
def _known_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_LEAD_ZONES


@lru_cache(maxsize=1024)
def load_zone(name: str) -> zoneinfo.ZoneInfo:
    """The `ZoneInfo` for an IANA name such as "Asia/Kolkata"; `InvalidTimezoneError` otherwise."""
    if name not in _known_zone_names():
        raise InvalidTimezoneError(name)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidTimezoneError(name) from exc


def _offset_at(zone: zoneinfo.ZoneInfo, epoch: int) -> int:
    offset = datetime.fromtimestamp(epoch, zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset for an aware instant
    return int(offset.total_seconds())


@lru_cache(maxsize=8192)
def offset_segments(zone_name: str, utc_from: int, utc_to: int) -> tuple[tuple[int, int, int], ...]:
    """Consecutive `(utc_start, utc_end, offset_seconds)` pieces covering `[utc_from, utc_to)`.

    Within a piece the zone's UTC offset is constant; the first piece starts at `utc_from` and the
    last ends at `utc_to` (epoch seconds).
    """
    zone = load_zone(zone_name)
    segments: list[tuple[int, int, int]] = []
    piece_start = utc_from
    offset = _offset_at(zone, utc_from)
    probe = utc_from
    while probe < utc_to:
        nxt = min(probe + _OFFSET_SAMPLE_STEP, utc_to)
        next_offset = _offset_at(zone, nxt)
        if next_offset != offset:
            # Find the first second carrying the new offset.
            lo, hi = probe, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_at(zone, mid) == offset:
                    lo = mid
                else:
                    hi = mid
            segments.append((piece_start, hi, offset))
            piece_start, offset = hi, next_offset
        probe = nxt
    segments.append((piece_start, utc_to, offset))
    return tuple(segments)


def wall_interval_to_utc(
    segments: tuple[tuple[int, int, int], ...], wall_start: int, wall_end: int
) -> list[tuple[int, int]]:
    """UTC epoch intervals whose wall-clock reading lies in `[wall_start, wall_end)`.

    Wall times are "local epoch seconds" (seconds since 1970-01-01 00:00 local). Usually one
    interval; empty when the whole range falls in a spring-forward gap; two when it lies inside a
    repeated fall-back hour. Adjacent pieces are joined.
    """
    result: list[tuple[int, int]] = []
    for seg_start, seg_end, offset in segments:
        start = max(seg_start, wall_start - offset)
        end = min(seg_end, wall_end - offset)
        if start < end:
            if result and result[-1][1] >= start:
                result[-1] = (result[-1][0], max(result[-1][1], end))
            else:
                result.append((start, end))
    return result


def clear_zone_caches() -> None:
    for cached in (_known_zone_names, load_zone, offset_segments):
        cached.cache_clear()
