"""Legal calling hours by country, in the called person's local time.

`LegalHours` is one country's rule: ranges of local time per weekday, whether public holidays are
closed, and extra closed dates. `CallingRules` is the table the operator configures: a default row and
a row per country (ISO 3166 code of the phone number). `CallingRules.allows` is the direct check every
dial goes through, and the oracle the scheduler's planner is tested against: a call at `at` is legal
only when the first `span` of it lies inside the country's hours in *every* candidate zone.

The built-in rows (`BUILTIN_COUNTRY_HOURS`) follow the common national rules for sales calls; they are
defaults for the operator's counsel to check and override, not legal advice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import get_args
from zoneinfo import ZoneInfo

from parley_contracts.leads import Weekday

WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
DAY_SECONDS = 86_400
# The shortest call worth placing: a dial must have this much legal time ahead of it.
MIN_CALL_SPAN = timedelta(minutes=5)

# (start, end) seconds since local midnight, sorted and disjoint, per weekday MON..SUN.
DayRanges = tuple[tuple[int, int], ...]

_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")
_RANGE = re.compile(r"^\s*(\d{2}:\d{2})\s*[-\u2013]\s*(\d{2}:\d{2})\s*$")  # a hyphen or an en dash


class InvalidCallingRules(ValueError):
    """A calling-hours setting that cannot be read; the message names the part."""


def parse_clock(value: str, *, allow_midnight_end: bool) -> int:
    """Seconds since midnight of "HH:MM"; "24:00" only where a range may end."""
    match = _CLOCK.match(value.strip())
    if not match:
        raise InvalidCallingRules(f"time {value!r} is not HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    seconds = hours * 3600 + minutes * 60
    if minutes > 59 or seconds > DAY_SECONDS or (seconds == DAY_SECONDS and not allow_midnight_end):
        raise InvalidCallingRules(f"time {value!r} is not a valid time of day")
    return seconds


def _format_clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _merge(ranges: Iterable[tuple[int, int]]) -> DayRanges:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _days(spec: str) -> list[int]:
    """ "MON", "MON-FRI" or "SAT,SUN" -> weekday indexes."""
    indexes: list[int] = []
    for part in spec.upper().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise InvalidCallingRules(f"days {spec!r}: expected MON..SUN, a range like MON-FRI, or a list")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            raise InvalidCallingRules(f"days {spec!r}: a range runs forward (MON-FRI, not FRI-MON)")
        indexes.extend(range(start, end + 1))
    return indexes


@lru_cache(maxsize=512)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """National public holidays of `country` in `year` (empty for a country the data does not know)."""
    import holidays  # imported on first use: the data is only needed where a rule closes on holidays

    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:
        return frozenset()


@dataclass(frozen=True)
class LegalHours:
    """When calls are legal in one country, in the called person's local time."""

    ranges: tuple[DayRanges, ...]
    closed_on_public_holidays: bool = False
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.ranges) != 7:
            raise InvalidCallingRules("legal hours need one list of ranges per weekday")
        for day in self.ranges:
            for start, end in day:
                if not 0 <= start < end <= DAY_SECONDS:
                    raise InvalidCallingRules(f"a calling range must end after it starts ({start}-{end})")

    @classmethod
    def daily(cls, start: str, end: str, days: Iterable[str] = WEEKDAYS) -> LegalHours:
        """The same hours on each of `days` (every day by default); "24:00" may end them."""
        first = parse_clock(start, allow_midnight_end=False)
        last = parse_clock(end, allow_midnight_end=True)
        if last <= first:
            raise InvalidCallingRules(f"calling hours must end after they start, got {start}-{end}")
        chosen = set()
        for day in days:
            chosen.update(_days(day))
        if not chosen:
            raise InvalidCallingRules("calling hours need at least one day")
        return cls(tuple(((first, last),) if index in chosen else () for index in range(7)))

    @classmethod
    def parse(
        cls,
        hours: Mapping[str, Sequence[str]],
        *,
        closed_on_public_holidays: bool = False,
        closed_dates: Iterable[date] = (),
    ) -> LegalHours:
        """From {"MON-FRI": ["10:00-13:00", "14:00-20:00"], "SAT": ["10:00-18:00"]}; days not named
        are closed."""
        per_day: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
        for days, ranges in hours.items():
            for text in ranges:
                match = _RANGE.match(text)
                if not match:
                    raise InvalidCallingRules(f"{days}: range {text!r} is not HH:MM-HH:MM")
                start = parse_clock(match[1], allow_midnight_end=False)
                end = parse_clock(match[2], allow_midnight_end=True)
                if end <= start:
                    raise InvalidCallingRules(f"{days}: range {text!r} must end after it starts")
                for index in _days(days):
                    per_day[index].append((start, end))
        return cls(
            tuple(_merge(day) for day in per_day),
            closed_on_public_holidays=closed_on_public_holidays,
            closed_dates=frozenset(closed_dates),
        )

    def closed_on(self, day: date, country: str | None) -> bool:
        """Whether the whole local day is closed (a closed date, or a public holiday where they close)."""
        if day in self.closed_dates:
            return True
        return bool(self.closed_on_public_holidays and country and day in public_holidays(country, day.year))

    def allows_local(self, local: datetime, span: timedelta, country: str | None) -> bool:
        """Whether a call starting at this local wall-clock time stays legal for `span`."""
        if self.closed_on(local.date(), country):
            return False
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        needed = second + span.total_seconds()
        for start, end in self.ranges[local.weekday()]:
            if start <= second < end:
                if needed <= end:
                    return True
                # A range open until midnight runs on into a next day that opens at midnight.
                if end == DAY_SECONDS and needed - DAY_SECONDS <= DAY_SECONDS:
                    tomorrow = local.date() + timedelta(days=1)
                    overflow = needed - DAY_SECONDS
                    return not self.closed_on(tomorrow, country) and any(
                        s == 0 and overflow <= e for s, e in self.ranges[tomorrow.weekday()]
                    )
                return False
        return False

    def describe(self) -> str:
        """ "Mon-Fri 10:00-13:00, 14:00-20:00; Sat closed; Sun closed; closed on public holidays"."""
        parts: list[str] = []
        index = 0
        while index < 7:
            last = index
            while last + 1 < 7 and self.ranges[last + 1] == self.ranges[index]:
                last += 1
            days = WEEKDAYS[index].title() + (f"-{WEEKDAYS[last].title()}" if last > index else "")
            ranges = ", ".join(f"{_format_clock(s)}-{_format_clock(e)}" for s, e in self.ranges[index])
            parts.append(f"{days} {ranges or 'closed'}")
            index = last + 1
        if self.closed_on_public_holidays:
            parts.append("closed on public holidays")
        return "; ".join(parts)


def _hours(table: Mapping[str, Sequence[str]], *, holidays_closed: bool = False) -> LegalHours:
    return LegalHours.parse(table, closed_on_public_holidays=holidays_closed)


# Country rows that differ from the default (08:00-21:00 every day, as the US TCPA sets it).
BUILTIN_COUNTRY_HOURS: dict[str, LegalHours] = {
    # TCPA, 47 CFR 64.1200(c)(1): 8 a.m. to 9 p.m. in the called party's local time.
    "US": _hours({"MON-SUN": ["08:00-21:00"]}),
    # CRTC Unsolicited Telecommunications Rules: weekdays 9:00-21:30, weekends 10:00-18:00.
    "CA": _hours({"MON-FRI": ["09:00-21:30"], "SAT-SUN": ["10:00-18:00"]}),
    # Decree 2022-1313: weekdays 10:00-13:00 and 14:00-20:00; never weekends or public holidays.
    "FR": _hours({"MON-FRI": ["10:00-13:00", "14:00-20:00"]}, holidays_closed=True),
    # Spain's Law 11/2022: 09:00-21:00 on working days only.
    "ES": _hours({"MON-FRI": ["09:00-21:00"]}, holidays_closed=True),
    # Germany: no Sunday or holiday calls (Sonn- und Feiertagsruhe); 08:00-20:00 otherwise.
    "DE": _hours({"MON-SAT": ["08:00-20:00"]}, holidays_closed=True),
    # UK direct-marketing practice: 08:00-21:00 Monday to Saturday, not on Sundays or bank holidays.
    "GB": _hours({"MON-SAT": ["08:00-21:00"]}, holidays_closed=True),
    # TRAI's TCCCPR 2018: commercial calls 09:00-21:00.
    "IN": _hours({"MON-SUN": ["09:00-21:00"]}),
    # Telemarketing Industry Standard 2017: weekdays 9-20, Saturday 9-17, no Sundays or national holidays.
    "AU": _hours({"MON-FRI": ["09:00-20:00"], "SAT": ["09:00-17:00"]}, holidays_closed=True),
    # Fair Trading Act code: weekdays 9-21, Saturday 9-18 (no Sundays or public holidays).
    "NZ": _hours({"MON-FRI": ["09:00-21:00"], "SAT": ["09:00-18:00"]}, holidays_closed=True),
}


@dataclass(frozen=True)
class CallingRules:
    """The legal-hours table: a row per country, and `default` for every other country."""

    default: LegalHours = field(default_factory=lambda: LegalHours.daily("08:00", "21:00"))
    # (country, hours) pairs: a tuple, so the rules can key caches.
    countries: tuple[tuple[str, LegalHours], ...] = ()

    @classmethod
    def uniform(cls, start: str, end: str, days: Iterable[str] = WEEKDAYS) -> CallingRules:
        """The same hours everywhere (tests, or an operator who wants one rule)."""
        return cls(default=LegalHours.daily(start, end, days))

    def for_country(self, country: str | None) -> LegalHours:
        if country:
            for code, hours in self.countries:
                if code == country:
                    return hours
        return self.default

    def allows(
        self,
        country: str | None,
        zones: Sequence[str],
        at: datetime,
        span: timedelta = MIN_CALL_SPAN,
    ) -> bool:
        """Whether a call may start at `at`: legal for `span` in every zone. No zone, no call."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        if not zones:
            return False
        hours = self.for_country(country)
        return all(hours.allows_local(at.astimezone(ZoneInfo(zone)), span, country) for zone in zones)

    def next_allowed(
        self,
        country: str | None,
        zones: Sequence[str],
        after: datetime,
        *,
        within: timedelta = timedelta(days=14),
        step: timedelta = timedelta(minutes=5),
    ) -> datetime | None:
        """The first instant on the `step` grid from `after` at which `allows` holds, or None."""
        if not zones:
            return None
        at = after.astimezone(UTC)
        remainder = at.timestamp() % step.total_seconds()
        if remainder:
            at += timedelta(seconds=step.total_seconds() - remainder)
        at = at.replace(microsecond=0)
        until = after + within
        while at <= until:
            if self.allows(country, zones, at):
                return at
            at += step
        return None
