"""A person's timezone from what we know of them: given, phone number, location, fallback."""

from __future__ import annotations

import pytest
from parley_calltime import canonical_zone, derive_timezone, location_zones, phone_country, phone_zones
from parley_contracts import TimezoneSource


@pytest.mark.parametrize(
    ("phone", "zone", "country"),
    [
        ("+12125550123", "America/New_York", "US"),  # Manhattan
        ("+13105550123", "America/Los_Angeles", "US"),  # Los Angeles
        ("+13125550123", "America/Chicago", "US"),
        ("+14165550123", "America/Toronto", "CA"),
        ("+442079460000", "Europe/London", "GB"),
        ("+447400123456", "Europe/London", "GB"),  # a UK mobile: London, Jersey... one clock
        ("+919876543210", "Asia/Kolkata", "IN"),  # libphonenumber says Asia/Calcutta
        ("+33612345678", "Europe/Paris", "FR"),
        ("+4915123456789", "Europe/Berlin", "DE"),
        ("+5511987654321", "America/Sao_Paulo", "BR"),
    ],
)
def test_a_number_in_one_zone_gives_that_zone(phone: str, zone: str, country: str) -> None:
    decision = derive_timezone(phone=phone)
    assert (decision.timezone, decision.candidates, decision.source, decision.country) == (
        zone,
        (zone,),
        TimezoneSource.FROM_PHONE,
        country,
    )


def test_a_given_timezone_wins_over_the_phone() -> None:
    decision = derive_timezone(phone="+12125550123", given="Europe/Paris", location="Los Angeles")
    assert decision.timezone == "Europe/Paris"
    assert decision.candidates == ("Europe/Paris",)
    assert decision.source is TimezoneSource.GIVEN
    assert decision.country == "US"  # whose calling rules apply still follows the number


def test_an_australian_mobile_keeps_every_candidate_zone() -> None:
    decision = derive_timezone(phone="+61412345678")
    assert decision.ambiguous and decision.source is TimezoneSource.FROM_PHONE
    assert {"Australia/Perth", "Australia/Sydney", "Australia/Brisbane"} <= set(decision.candidates)
    # The shown zone is one of the candidates where most Australians live, not a linked foreign zone.
    assert decision.timezone == "Australia/Sydney"
    assert "Asia/Bangkok" not in decision.candidates


def test_a_location_narrows_an_ambiguous_number() -> None:
    assert derive_timezone(phone="+61412345678", location="Perth, WA").candidates == ("Australia/Perth",)
    decision = derive_timezone(phone="+61412345678", location="Brisbane")
    assert decision.candidates == ("Australia/Brisbane",)
    assert decision.source is TimezoneSource.FROM_LOCATION


def test_a_toll_free_number_spans_the_continent_until_the_location_says() -> None:
    toll_free = derive_timezone(phone="+18005550199")
    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} <= set(toll_free.candidates)
    assert derive_timezone(phone="+18005550199", location="Austin, TX").candidates == ("America/Chicago",)
    # The Portland in the named state, not the bigger one in Oregon.
    assert derive_timezone(phone="+18005550199", location="Portland, ME").candidates == ("America/New_York",)
    assert derive_timezone(phone="+18005550199", location="Portland").candidates == ("America/Los_Angeles",)


def test_a_location_outside_the_candidates_does_not_override_the_number() -> None:
    # A New York number whose owner lists Paris: the number's zone is where the phone rings.
    decision = derive_timezone(phone="+12125550123", location="Paris")
    assert decision.candidates == ("America/New_York",)


def test_a_number_that_maps_nowhere_uses_the_location_then_the_fallback_then_says_unknown() -> None:
    non_geographic = "+80012345678"
    assert phone_zones(non_geographic) == ()
    assert phone_country(non_geographic) is None
    by_place = derive_timezone(phone=non_geographic, location="Lyon, France")
    assert by_place.candidates == ("Europe/Paris",) and by_place.source is TimezoneSource.FROM_LOCATION
    fallback = derive_timezone(phone=non_geographic, fallback="Europe/Madrid")
    assert fallback.candidates == ("Europe/Madrid",) and fallback.source is TimezoneSource.FALLBACK
    unknown = derive_timezone(phone=non_geographic)
    assert unknown.candidates == () and unknown.source is TimezoneSource.UNKNOWN


def test_places_are_read_the_way_people_write_them() -> None:
    assert location_zones("São Paulo") == ("America/Sao_Paulo",)
    assert location_zones("sao  paulo, brazil") == ("America/Sao_Paulo",)
    assert location_zones("Bombay") == ("Asia/Kolkata",)
    assert location_zones("Ontario", "CA")[0] == "America/Toronto"
    assert location_zones("WA", "AU") == ("Australia/Perth",)
    assert location_zones("WA", "US") == ("America/Los_Angeles",)
    assert location_zones("somewhere nice") == ()


def test_old_zone_names_become_current_ones_but_territories_keep_theirs() -> None:
    assert canonical_zone("Asia/Calcutta") == "Asia/Kolkata"
    assert canonical_zone("US/Pacific") == "America/Los_Angeles"
    assert canonical_zone("Indian/Christmas") == "Indian/Christmas"
    assert canonical_zone("Mars/Olympus_Mons") is None
    assert canonical_zone("localtime") is None
