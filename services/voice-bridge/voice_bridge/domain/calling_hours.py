"""Whether a lead may be rung now: the legal calling hours of the lead's country (`CallingRules`, the
table the scheduler plans with) in every timezone the lead may be in (`LeadSnapshot.calling_zones`).

A lead whose timezone is unknown is not rung at all: nobody can tell what time it is where they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from parley_calltime import CallingRules, canonical_zone
from parley_contracts import LeadSnapshot

HoursCode = Literal["outside_calling_hours", "timezone_needed"]


@dataclass(frozen=True)
class HoursRefusal:
    """Why the calling-hours rule refuses a call at `at`, with what an admin overriding it takes on."""

    code: HoursCode
    message: str
    at: datetime
    country: str | None
    zones: tuple[str, ...]
    rule: str
    next_allowed: datetime | None = None

    def audit_view(self) -> dict[str, Any]:
        """What an override's audit record keeps: the rule, where it was checked, and the local times."""
        return {
            "refusal": self.code,
            "country": self.country,
            "zones": list(self.zones),
            "rule": self.rule,
            "at": self.at.isoformat(),
            "local_times": {zone: self.at.astimezone(ZoneInfo(zone)).isoformat() for zone in self.zones},
            "next_allowed": self.next_allowed.isoformat() if self.next_allowed else None,
        }


def hours_refusal(rules: CallingRules, lead: LeadSnapshot, at: datetime) -> HoursRefusal | None:
    """None when a call may start at `at`; otherwise why not, in words an agent can act on."""
    zones = lead.calling_zones()
    rule = rules.for_country(lead.country).describe()
    # A zone name the tz database does not know is as good as no zone (and must not become a 500).
    unreadable = [zone for zone in zones if canonical_zone(zone) is None]
    if not zones or unreadable:
        problem = f"is not a timezone ({', '.join(unreadable)})" if unreadable else "is unknown"
        return HoursRefusal(
            "timezone_needed",
            f"The lead's timezone {problem}; set it on the lead.",
            at,
            lead.country,
            (),
            rule,
        )
    if rules.allows(lead.country, zones, at):
        return None
    next_allowed = rules.next_allowed(lead.country, zones, at)
    where = (
        f"every timezone the lead may be in ({', '.join(zones)})"
        if len(zones) > 1
        else f"the lead's timezone ({zones[0]})"
    )
    rule_of = f"The calling rule for {lead.country}" if lead.country else "The calling rule"
    when = (
        f"The next legal time is {_moment(next_allowed, zones)}"
        if next_allowed
        else "There is no legal time in the next two weeks"
    )
    return HoursRefusal(
        "outside_calling_hours",
        f"Outside legal calling hours in {where}. {rule_of}: {rule}. {when}; schedule the call instead.",
        at,
        lead.country,
        zones,
        rule,
        next_allowed,
    )


def _moment(at: datetime, zones: tuple[str, ...]) -> str:
    """ "2026-03-04 16:00 UTC (Wed 08:00 America/Los_Angeles, Wed 11:00 America/New_York)"."""
    local = ", ".join(f"{at.astimezone(ZoneInfo(zone)):%a %H:%M} {zone}" for zone in zones)
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({local})"
