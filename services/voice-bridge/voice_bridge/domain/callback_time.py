"""Understanding a requested callback time: "tomorrow at 3pm", "next Monday morning", "in two hours".

Everything is read in the lead's own timezone (`now` carries it), and the result is an aware datetime
there. Clock times without am/pm follow business sense (8-11 is the morning, 1-7 the afternoon), a
day without a time gets the part of day said or mid-morning, and a time without a day means the next
time it comes round. The bot reads the result back for confirmation, which settles what this cannot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .utterance import normalize

# No "mon", "wed", "sat" or "sun": they are everyday words too.
_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sunday": 6,
}
_PARTS_OF_DAY = {
    "morning": time(10),
    "lunchtime": time(12, 30),
    "lunch": time(12, 30),
    "afternoon": time(14),
    "evening": time(18),
    "tonight": time(19),
    "night": time(19),
}
_AFTERNOON_PARTS = frozenset({"afternoon", "evening", "tonight", "night"})
_DEFAULT_TIME = time(10)
_MINIMUM_NOTICE = timedelta(minutes=5)
_HORIZON = timedelta(days=180)

_OFFSET = re.compile(r"\bin (?:(\d+|an?|one|half an?) )?(minute|hour|day|week)s?\b")
_DAY_AFTER_TOMORROW = re.compile(r"\bday after tomorrow\b")
_TOMORROW = re.compile(r"\btomorrow\b")
_TODAY = re.compile(r"\b(today|tonight|this (?:morning|afternoon|evening))\b")
_NEXT_WEEK = re.compile(r"\bnext week\b")
_WEEKEND = re.compile(r"\bweekend\b")
_WEEKDAY = re.compile(rf"\b(?:(next|this|on) )?({'|'.join(_WEEKDAYS)})\b")
_PART_OF_DAY = re.compile(rf"\b({'|'.join(_PARTS_OF_DAY)})\b")
_NOON = re.compile(r"\b(noon|midday)\b")
_HALF_QUARTER = re.compile(r"\b(half|quarter) (past|to) (\d{1,2}|one)\b")
_CLOCK_MERIDIEM = re.compile(r"\b(\d{1,2}|one)(?:[:.](\d{2}))? ?(am|pm|a\.m\.|p\.m\.)")
_CLOCK_24H = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_CLOCK_BARE = re.compile(
    r"\b(?:at|around|about|after|before|by) (\d{1,2}|one)(?: o'?clock)?\b(?! ?(?:minute|hour|day|week))"
)
_CLOCK_OCLOCK = re.compile(r"\b(\d{1,2}|one) o'?clock\b")


@dataclass(frozen=True)
class _ClockTime:
    hour: int
    minute: int
    # None when the words do not say whether it is morning or afternoon.
    afternoon: bool | None


def _hour(word: str) -> int:
    return 1 if word == "one" else int(word)


def _clock_time(text: str) -> _ClockTime | None:
    if _NOON.search(text):
        return _ClockTime(12, 0, afternoon=True)
    if match := _HALF_QUARTER.search(text):
        amount, direction, hour = match.group(1), match.group(2), _hour(match.group(3))
        minutes = 30 if amount == "half" else 15
        if direction == "to":
            hour, minutes = hour - 1, 60 - minutes
        return _ClockTime(hour % 12 or 12, minutes, afternoon=None)
    if match := _CLOCK_MERIDIEM.search(text):
        hour, minute = _hour(match.group(1)), int(match.group(2) or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        return _ClockTime(hour, minute, afternoon=match.group(3).startswith("p"))
    if match := _CLOCK_24H.search(text):
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            return None
        return _ClockTime(hour, minute, afternoon=True if hour >= 13 else None)
    if match := _CLOCK_BARE.search(text) or _CLOCK_OCLOCK.search(text):
        hour = _hour(match.group(1))
        return _ClockTime(hour, 0, afternoon=True if hour >= 13 else None) if 1 <= hour <= 23 else None
    return None


def _resolve(clock: _ClockTime, part_of_day: str | None) -> time:
    hour = clock.hour
    afternoon = clock.afternoon
    if afternoon is None and part_of_day is not None:
        afternoon = part_of_day in _AFTERNOON_PARTS
    if afternoon is None:
        # Business sense for a bare "at 3": nobody books a sales callback for 3 in the morning.
        afternoon = 1 <= hour <= 7 or hour == 12
    if afternoon and hour < 12:
        hour += 12
    elif not afternoon and hour == 12:
        hour = 0
    return time(hour, clock.minute)


def _day(text: str, today: date) -> date | None:
    if _DAY_AFTER_TOMORROW.search(text):
        return today + timedelta(days=2)
    if _TOMORROW.search(text):
        return today + timedelta(days=1)
    if _TODAY.search(text):
        return today
    if match := _WEEKDAY.search(text):
        qualifier, target = match.group(1), _WEEKDAYS[match.group(2)]
        if qualifier == "next":
            # "next Friday" is the Friday of next week, also when said on a Tuesday.
            next_monday = today + timedelta(days=7 - today.weekday())
            return next_monday + timedelta(days=target)
        ahead = (target - today.weekday()) % 7
        if ahead == 0 and qualifier != "this":
            ahead = 7  # "Monday", said on a Monday, means the coming one
        return today + timedelta(days=ahead)
    if _NEXT_WEEK.search(text):
        return today + timedelta(days=7 - today.weekday())
    if _WEEKEND.search(text):
        return today + timedelta(days=(5 - today.weekday()) % 7)
    return None


def _offset(text: str) -> timedelta | None:
    match = _OFFSET.search(text)
    if match is None:
        return None
    amount_word, unit = match.group(1), match.group(2)
    if amount_word is None or amount_word in {"a", "an", "one"}:
        amount = 1.0
    elif amount_word.startswith("half"):
        amount = 0.5
    else:
        amount = float(amount_word)
    return {
        "minute": timedelta(minutes=amount),
        "hour": timedelta(hours=amount),
        "day": timedelta(days=amount),
        "week": timedelta(weeks=amount),
    }[unit]


def parse_callback_time(said: str, now: datetime) -> datetime | None:
    """The callback time `said` asks for, as an aware datetime in `now`'s timezone, or None if there
    is none, or it is in the past or more than six months away."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, in the lead's timezone")
    text = normalize(said)
    if (offset := _offset(text)) is not None:
        # Added in UTC so a DST change in between does not shift the result by an hour; rounded up
        # to the next five minutes: "in an hour" at 14:02 is 15:05, not 15:02.
        at = (now.astimezone(UTC) + offset).astimezone(now.tzinfo)
        at += timedelta(minutes=-at.minute % 5, seconds=-at.second, microseconds=-at.microsecond)
        return _acceptable(at, now)
    part_match = _PART_OF_DAY.search(text)
    part_of_day = part_match.group(1) if part_match else None
    clock = _clock_time(text)
    day = _day(text, now.date())
    if clock is not None:
        at_time = _resolve(clock, part_of_day)
    elif part_of_day is not None or _NOON.search(text):
        at_time = _PARTS_OF_DAY.get(part_of_day or "", time(12))
    elif day is not None:
        at_time = _DEFAULT_TIME
    else:
        return None
    if day is None:
        day = now.date()
        if datetime.combine(day, at_time, now.tzinfo) < now + _MINIMUM_NOTICE:
            day += timedelta(days=1)
    return _acceptable(datetime.combine(day, at_time, now.tzinfo), now)


def _acceptable(at: datetime, now: datetime) -> datetime | None:
    return at if now + _MINIMUM_NOTICE <= at <= now + _HORIZON else None


def describe_time(at: datetime, now: datetime) -> str:
    """How the bot reads a callback time back: 'tomorrow at 3 PM', 'on Monday 16 March at 10:30 AM'."""
    clock = at.strftime("%I:%M %p").lstrip("0").replace(":00", "")
    days = (at.date() - now.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days < 7:
        return f"on {at.strftime('%A')} at {clock}"
    return f"on {at.strftime('%A')} {at.day} {at.strftime('%B')} at {clock}"
