"""When a person may be called: their timezone (from what they said, their phone, their location) and
the legal calling hours of their country. Pure rules shared by leads, scheduler and voice-bridge."""

from .legal import (
    BUILTIN_COUNTRY_HOURS,
    MIN_CALL_SPAN,
    WEEKDAYS,
    CallingRules,
    InvalidCallingRules,
    LegalHours,
    public_holidays,
)
from .settings import CallingRulesSettings, CountryHours
from .zones import (
    TimezoneDecision,
    canonical_zone,
    derive_timezone,
    location_zones,
    phone_country,
    phone_zones,
)

__all__ = [
    "BUILTIN_COUNTRY_HOURS",
    "MIN_CALL_SPAN",
    "WEEKDAYS",
    "CallingRules",
    "CallingRulesSettings",
    "CountryHours",
    "InvalidCallingRules",
    "LegalHours",
    "TimezoneDecision",
    "canonical_zone",
    "derive_timezone",
    "location_zones",
    "phone_country",
    "phone_zones",
    "public_holidays",
]
