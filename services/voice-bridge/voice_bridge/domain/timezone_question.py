"""Settling an unsure timezone on the call: the bot asks the prospect once, the way people name zones.

A number that may ring in several zones is dialled only when every one of them is inside legal hours,
which leaves little time to reach the lead, and a lead whose zone is unknown is not dialled at all. The
prospect knows where they are: "Just so we call you at a good time, are you on Pacific time?". Zones in
the US and Canada go by their names (Pacific, Mountain, Central, Eastern...), others by their city
("Perth time"). What the prospect says back is read against the zones the lead may be in, and the
answer is recorded with the `confirmTimezone` tool (`LeadTimezoneConfirmed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from parley_calltime import canonical_zone, location_zones
from parley_contracts import LeadSnapshot, TimezoneSource

# How people in the US and Canada name their zone, and the zone a bare name stands for. A zone goes by
# the name whose zone keeps the same winter (standard) offset: Boise and Phoenix are Mountain time.
_ZONE_NAMES = {
    "pacific": "America/Los_Angeles",
    "mountain": "America/Denver",
    "central": "America/Chicago",
    "eastern": "America/New_York",
    "alaska": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
    "atlantic": "America/Halifax",
    "newfoundland": "America/St_Johns",
}
_NAMED_COUNTRIES = frozenset({"US", "CA"})
# Twice a month through a year: zones whose offsets agree on all of these keep the same clock.
_YEAR = tuple(datetime(2026, month, day, 12, tzinfo=UTC) for month in range(1, 13) for day in (1, 15))
_ZONE_NAME = re.compile(rf"\b({'|'.join(_ZONE_NAMES)})\b")

# Where a place starts in "I'm in Denver", "we live near Boise", "out in Perth"; else the whole answer
# after a leading yes/no and filler ("no, Denver").
_PLACE_CUE = re.compile(r"\b(?:in|near|from|around|outside(?: of)?)\s+(?:the\s+)?([a-z][a-z .,'-]*)$")
_LEADING_FILLER = re.compile(
    r"^(?:(?:no|nope|nah|yes|yeah|yep|actually|well|oh|um|uh|sorry|i'?m|i am|we'?re|we are|it'?s)\b[\s,.!]*)+"
)
_TRAILING_FILLER = re.compile(r"(?:\s+(?:area|time|now|actually|these days|thanks|thank you))+$")
# "LA", "OK", "in": in speech, two letters are too ambiguous to name a place (Louisiana or Los Angeles?).
_SHORTEST_PLACE = 3
# Longer answers are sentences, not places: a stray word in them can be a town somewhere ("ask").
_MOST_PLACE_WORDS = 3
_MOST_PLACE_WORDS_AFTER_CUE = 4


@cache
def _clock(zone: str) -> tuple[timedelta | None, ...]:
    zone_info = ZoneInfo(zone)
    return tuple(zone_info.utcoffset(at) for at in _YEAR)


def _zone_name(zone: str, country: str | None) -> str | None:
    """ "pacific" for America/Los_Angeles when the lead is in the US or Canada, else None."""
    if country not in _NAMED_COUNTRIES or not (zone.startswith("America/") or zone == "Pacific/Honolulu"):
        return None
    winter = _clock(zone)[0]
    return next((name for name, like in _ZONE_NAMES.items() if _clock(like)[0] == winter), None)


def _city(zone: str) -> str:
    return zone.rsplit("/", 1)[-1].replace("_", " ")


@dataclass(frozen=True)
class TimezoneQuestion:
    """The question for one lead. `candidates`: the zones an answer may settle on (empty: any zone, as
    when the lead's zone is unknown or only the importer's default); `asked`: the zone the question names
    (None: it asks which city they are in)."""

    candidates: tuple[str, ...]
    country: str | None
    asked: str | None

    @classmethod
    def for_lead(cls, lead: LeadSnapshot) -> TimezoneQuestion | None:
        """The question to ask, or None when the lead's timezone is settled enough not to ask."""
        # Nothing mapped: the lead's "UTC" is a placeholder, so ask for their city; any place settles it.
        if lead.timezone_source == TimezoneSource.UNKNOWN:
            return cls((), lead.country, None)
        # The importer's default is a guess even as a single zone: ask about it; any place settles it.
        if lead.timezone_source == TimezoneSource.FALLBACK:
            return cls((), lead.country, lead.timezone if canonical_zone(lead.timezone) else None)
        candidates = tuple(zone for zone in lead.timezone_candidates if canonical_zone(zone))
        if len(candidates) < 2:
            return None
        asked = lead.timezone if lead.timezone in candidates else candidates[0]
        return cls(candidates, lead.country, asked)

    def spoken(self, zone: str) -> str:
        """ "Pacific time", or "Los Angeles time" where a name would not tell the candidates apart."""
        name = _zone_name(zone, self.country)
        if (
            name is not None
            and sum(_zone_name(other, self.country) == name for other in self.candidates) <= 1
        ):
            return f"{name.title()} time"
        return f"{_city(zone)} time"

    def question(self) -> str:
        if self.asked is None:
            return "Just so we call you at a good time, which city are you in?"
        return f"Just so we call you at a good time, are you on {self.spoken(self.asked)}?"

    def settle(self, normalized: str) -> str | None:
        """The one zone the prospect's words name among those the lead may be in: a zone's name
        ("Central", "mountain time") or a place ("I'm in Denver", "no, Perth"). None if not exactly one."""
        return self._by_zone_name(normalized) or self._by_place(normalized)

    def _by_zone_name(self, normalized: str) -> str | None:
        names = set(_ZONE_NAME.findall(normalized)) if self.country in _NAMED_COUNTRIES else set()
        if self.candidates:
            named = {zone for zone in self.candidates if _zone_name(zone, self.country) in names}
        else:
            named = {_ZONE_NAMES[name] for name in names}
        return named.pop() if len(named) == 1 else None

    def _by_place(self, normalized: str) -> str | None:
        place = _place(normalized)
        if place is None:
            return None
        # A place in the lead's country first (location_zones prefers it), and only on the clock of a
        # zone the number may ring in: a US lead's "Perth" is Perth Amboy, not Western Australia. The
        # place's own zone is kept: Melbourne tells the time of the candidate Sydney, and says more.
        zones = {canonical_zone(zone) or zone for zone in location_zones(place, self.country)}
        if self.candidates:
            clocks = {_clock(zone) for zone in self.candidates}
            zones = {zone for zone in zones if _clock(zone) in clocks}
        return zones.pop() if len(zones) == 1 else None


def _place(normalized: str) -> str | None:
    """The place phrase in an answer, if it could be one."""
    text = normalized.strip(" .!?")
    cue = _PLACE_CUE.search(text)
    phrase = cue.group(1) if cue else _LEADING_FILLER.sub("", text)
    phrase = _TRAILING_FILLER.sub("", phrase.strip(" .,!?"))
    most_words = _MOST_PLACE_WORDS_AFTER_CUE if cue else _MOST_PLACE_WORDS
    if len(phrase) < _SHORTEST_PLACE or len(phrase.split()) > most_words:
        return None
    return phrase
