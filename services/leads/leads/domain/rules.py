"""Lead rules with no I/O: phone and timezone validation, where a lead's timezone comes from, the status
pipeline, consent changes."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from parley_calltime import TimezoneDecision, derive_timezone
from parley_contracts import ConsentFlags, LeadStatus, TimezoneSource

PIPELINE: tuple[LeadStatus, ...] = (
    LeadStatus.NEW,
    LeadStatus.CONTACTED,
    LeadStatus.QUALIFIED,
    LeadStatus.PROPOSAL_SENT,
    LeadStatus.CONVERTED,
)
CLOSED = {LeadStatus.CONVERTED, LeadStatus.LOST}


class InvalidPhone(ValueError):
    pass


class InvalidTimezone(ValueError):
    pass


def normalize_phone(raw: str, default_region: str | None = None) -> str:
    """Return the E.164 form of a phone number; a national number needs `default_region`."""
    text = raw.strip()
    if not text:
        raise InvalidPhone("phone is empty")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        hint = (
            "" if text.startswith("+") or default_region else " (use +<country code> or set a default region)"
        )
        raise InvalidPhone(f"{raw!r} is not a phone number{hint}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_TIMEZONES = available_timezones()


def validate_timezone(name: str) -> str:
    if name not in _TIMEZONES:
        raise InvalidTimezone(f"{name!r} is not an IANA timezone (e.g. America/New_York)")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - tzdata present but entry broken
        raise InvalidTimezone(f"{name!r} is not an IANA timezone") from exc
    return name


# Sources a person stated: never replaced by a guess from the phone or the location.
STATED_SOURCES = frozenset({TimezoneSource.GIVEN, TimezoneSource.CONFIRMED_ON_CALL})


def timezone_fields(decision: TimezoneDecision) -> dict[str, Any]:
    """The lead fields a timezone decision sets."""
    return {
        "timezone": decision.timezone,
        "timezone_source": decision.source,
        "timezone_candidates": list(decision.candidates),
        "country": decision.country,
    }


def settle_timezone(
    *, phone: str, given: str | None, location: str | None, fallback: str | None = None
) -> dict[str, Any]:
    """The timezone fields of a lead: the one given, else derived from its phone, then its location."""
    return timezone_fields(derive_timezone(phone=phone, given=given, location=location, fallback=fallback))


def advanced_status(current: LeadStatus, reached: LeadStatus) -> LeadStatus:
    """Automatic moves only go forward along the pipeline and never reopen a closed lead."""
    if current in CLOSED or reached not in PIPELINE:
        return current
    return reached if PIPELINE.index(reached) > PIPELINE.index(current) else current


def merge_consent(
    current: ConsentFlags, *, dnd: bool | None, email_opt_out: bool | None, call_recording: bool | None
) -> ConsentFlags:
    return ConsentFlags(
        dnd=current.dnd if dnd is None else dnd,
        email_opt_out=current.email_opt_out if email_opt_out is None else email_opt_out,
        call_recording=current.call_recording if call_recording is None else call_recording,
    )
