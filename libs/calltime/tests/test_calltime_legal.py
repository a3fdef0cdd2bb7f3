"""Legal calling hours by country, in every candidate zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from parley_calltime import CallingRules, CallingRulesSettings, InvalidCallingRules, LegalHours

RULES = CallingRulesSettings().calling_rules_table()
NEW_YORK, LOS_ANGELES, PARIS = "America/New_York", "America/Los_Angeles", "Europe/Paris"


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def test_us_hours_are_eight_to_nine_in_the_called_persons_time() -> None:
    assert not RULES.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 8, 7, 59))
    assert RULES.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 8, 8, 0))
    assert RULES.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 8, 20, 55))
    # A call needs five legal minutes ahead of it.
    assert not RULES.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 8, 20, 56))
    # 08:00 UTC, what a UTC default would have dialled: 03:00 in New York.
    assert not RULES.allows("US", [NEW_YORK], datetime(2026, 12, 8, 8, 0, tzinfo=UTC))


def test_a_call_must_be_legal_in_every_candidate_zone() -> None:
    nine_am_new_york = local(NEW_YORK, 2026, 12, 8, 9, 0)  # 06:00 in Los Angeles
    assert RULES.allows("US", [NEW_YORK], nine_am_new_york)
    assert not RULES.allows("US", [NEW_YORK, LOS_ANGELES], nine_am_new_york)
    assert RULES.allows("US", [NEW_YORK, LOS_ANGELES], local(NEW_YORK, 2026, 12, 8, 11, 0))
    assert not RULES.allows("US", [], local(NEW_YORK, 2026, 12, 8, 11, 0))  # no zone, no call


def test_france_forbids_lunch_weekends_and_public_holidays() -> None:
    assert RULES.allows("FR", [PARIS], local(PARIS, 2026, 12, 8, 10, 30))  # Tuesday
    assert not RULES.allows("FR", [PARIS], local(PARIS, 2026, 12, 8, 13, 30))  # lunch
    assert not RULES.allows("FR", [PARIS], local(PARIS, 2026, 12, 12, 11, 0))  # Saturday
    assert not RULES.allows("FR", [PARIS], local(PARIS, 2026, 12, 25, 11, 0))  # Christmas, a Friday
    assert not RULES.allows("FR", [PARIS], local(PARIS, 2026, 7, 14, 11, 0))  # Bastille Day, a Tuesday


def test_canada_has_weekday_and_weekend_hours() -> None:
    toronto = "America/Toronto"
    assert RULES.allows("CA", [toronto], local(toronto, 2026, 12, 8, 21, 0))  # Tuesday, until 21:30
    assert not RULES.allows("CA", [toronto], local(toronto, 2026, 12, 12, 9, 30))  # Saturday opens 10:00
    assert not RULES.allows("CA", [toronto], local(toronto, 2026, 12, 12, 18, 0))


def test_a_country_without_a_row_gets_the_default_row() -> None:
    jakarta = "Asia/Jakarta"
    assert RULES.allows("ID", [jakarta], local(jakarta, 2026, 12, 13, 8, 30))  # Sunday, 08:00-21:00 daily
    strict = CallingRulesSettings(calling_hours_start="10:00", calling_days=["MON", "TUE"])
    table = strict.calling_rules_table()
    assert not table.allows("ID", [jakarta], local(jakarta, 2026, 12, 8, 9, 30))
    assert table.allows("ID", [jakarta], local(jakarta, 2026, 12, 8, 10, 30))
    assert table.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 8, 9, 0))  # the US row stands


def test_the_operator_overrides_a_country_and_closes_dates() -> None:
    settings = CallingRulesSettings.model_validate(
        {
            "calling_rules": {
                "US": {"hours": {"MON-FRI": ["09:00-17:00"]}, "closed_dates": ["2026-12-24"]},
            }
        }
    )
    table = settings.calling_rules_table()
    assert not table.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 8, 8, 30))
    assert table.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 8, 9, 30))
    assert not table.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 24, 10, 0))
    assert not table.allows("US", [NEW_YORK], local(NEW_YORK, 2026, 12, 12, 10, 0))  # Saturday not named
    assert table.for_country("FR") == RULES.for_country("FR")  # the other built-in rows stay


@pytest.mark.parametrize(
    "rules",
    [
        {"us": {"hours": {"MON": ["09:00-17:00"]}}},
        {"US": {"hours": {"MON": ["17:00-09:00"]}}},
        {"US": {"hours": {"MOON": ["09:00-17:00"]}}},
        {"US": {"hours": {"FRI-MON": ["09:00-17:00"]}}},
        {"US": {"hours": {"MON": ["9-5"]}}},
        {"US": {"hours": {"MON": ["09:00-17:00"]}, "typo": True}},
    ],
)
def test_a_bad_table_is_refused_with_a_reason(rules: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        CallingRulesSettings.model_validate({"calling_rules": rules})


def test_bad_hours_name_the_problem() -> None:
    with pytest.raises(InvalidCallingRules, match="end after"):
        LegalHours.daily("21:00", "08:00")
    with pytest.raises(InvalidCallingRules, match="HH:MM"):
        LegalHours.daily("8am", "21:00")


def test_next_allowed_finds_the_first_moment_legal_everywhere() -> None:
    night = local(NEW_YORK, 2026, 12, 8, 3, 0)
    first = RULES.next_allowed("US", [NEW_YORK, LOS_ANGELES], night)
    assert first == local(LOS_ANGELES, 2026, 12, 8, 8, 0)
    # Office hours in Guam and in Newfoundland, 13.5 hours apart, never meet.
    office = CallingRules.uniform("09:00", "17:00")
    spread = ["Pacific/Guam", "America/St_Johns"]
    assert office.next_allowed("US", spread, night, within=timedelta(days=8)) is None


def test_descriptions_read_like_a_rule() -> None:
    assert RULES.for_country("FR").describe() == (
        "Mon-Fri 10:00-13:00, 14:00-20:00; Sat-Sun closed; closed on public holidays"
    )
    assert CallingRules.uniform("09:00", "17:00", ["MON-FRI"]).default.describe() == (
        "Mon-Fri 09:00-17:00; Sat-Sun closed"
    )


def test_public_holidays_follow_the_country() -> None:
    hours = LegalHours.parse({"MON-SUN": ["09:00-17:00"]}, closed_on_public_holidays=True)
    assert hours.closed_on(date(2026, 7, 4), "US")
    assert not hours.closed_on(date(2026, 7, 4), "FR")
    assert not hours.closed_on(date(2026, 7, 4), None)


def test_round_the_clock_hours_run_on_over_midnight() -> None:
    always = CallingRules.uniform("00:00", "24:00")
    assert always.allows(None, [NEW_YORK], local(NEW_YORK, 2026, 12, 8, 23, 58))
    # Unless the next day is closed.
    weekdays = CallingRules.uniform("00:00", "24:00", ["MON-FRI"])
    assert weekdays.allows(None, [NEW_YORK], local(NEW_YORK, 2026, 12, 10, 23, 58))  # Thursday night
    assert not weekdays.allows(None, [NEW_YORK], local(NEW_YORK, 2026, 12, 11, 23, 58))  # Friday night
