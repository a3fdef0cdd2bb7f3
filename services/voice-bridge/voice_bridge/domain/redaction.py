"""Redaction of protocol events for the call's event log.

The log is for debugging a call after the fact, so it keeps event types, ids, statuses, timings and
text, but never audio, secrets or contact details: audio payloads are dropped, secret-looking keys are
blanked, the system prompt is reduced to its length, and e-mail addresses and phone numbers inside
any text are masked.
"""

from __future__ import annotations

import re
from typing import Any

AUDIO_KEYS = frozenset({"audio", "payload", "delta"})
_SECRET_KEY = re.compile(r"token|secret|password|api[_-]?key|authorization|signature", re.I)
_IDENTIFIER_KEY = re.compile(r"(^id$|_id$|Id$|Sid$)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digits with phone-number punctuation; ids glued to letters or hyphens are left alone.
_PHONE_CANDIDATE = re.compile(r"(?<![\w-])\+?\(?\d[\d\s().-]{5,}\d(?![\w-])")
_DIGIT = re.compile(r"\d")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE_MIN_DIGITS = 7
MAX_TEXT_CHARS = 2000

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
SECRET_MASK = "[redacted]"  # noqa: S105 - the mask, not a secret


def mask_contact_details(text: str) -> str:
    # The cheap membership tests skip the regexes for the many strings that cannot match.
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MASK, text)
    if _DIGIT.search(text):
        text = _PHONE_CANDIDATE.sub(_mask_phone, text)
    return text


def _mask_phone(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(ch.isdigit() for ch in candidate)
    if digits < _PHONE_MIN_DIGITS or _ISO_DATE.fullmatch(candidate):
        return candidate
    return PHONE_MASK


def redact_event(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Twilio or Realtime event that is safe to store."""
    redacted: dict[str, Any] = _redact_mapping(event)
    return redacted


def _redact_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in mapping.items():
        if key in AUDIO_KEYS and isinstance(value, str):
            continue
        if _SECRET_KEY.search(key) and value not in (None, ""):
            clean[key] = SECRET_MASK
        elif key == "instructions" and isinstance(value, str):
            clean[key] = f"[{len(value)} chars]"
        elif isinstance(value, str) and _IDENTIFIER_KEY.search(key):
            clean[key] = value
        else:
            clean[key] = _redact_value(value)
    return clean


def _redact_value(value: Any) -> Any:
    if isinstance(value, dict):
        return _redact_mapping(value)
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    if isinstance(value, str):
        masked = mask_contact_details(value)
        return masked if len(masked) <= MAX_TEXT_CHARS else f"{masked[:MAX_TEXT_CHARS]}…[{len(masked)} chars]"
    return value
