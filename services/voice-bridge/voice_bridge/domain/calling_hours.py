"""Whether it is a legal time to ring a lead, in the lead's own time zone (TCPA: 08:00-21:00)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def within_calling_hours(timezone: str, now: datetime, *, start: str, end: str) -> bool:
    """`start` and `end` are "HH:MM" local times (`end` may be "24:00"). An unknown zone is judged
    in UTC, like everywhere else a lead's zone is unusable."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    minute_of_day = local.hour * 60 + local.minute
    return _minutes(start) <= minute_of_day < _minutes(end)
