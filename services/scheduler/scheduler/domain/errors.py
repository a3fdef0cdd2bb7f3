"""Typed errors raised by the scheduling rules. All are `ValueError`s: they mean "bad input"."""

from __future__ import annotations


class SchedulingError(ValueError):
    """Base of every error the scheduler domain raises on invalid input."""


class InvalidTimezoneError(SchedulingError):
    """The lead's timezone is not an IANA zone name known to the tz database."""

    def __init__(self, timezone: str) -> None:
        super().__init__(f"unknown IANA timezone: {timezone!r}")
        self.timezone = timezone


class InvalidWindowError(SchedulingError):
    """A preferred time window (or calling-hours setting) cannot be interpreted."""


class InvalidSettingsError(SchedulingError):
    """A scheduling, retry or dispatch setting is out of range."""


class NaiveDatetimeError(SchedulingError):
    """A datetime without tzinfo reached the domain; every instant must be timezone-aware."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} must be a timezone-aware datetime")
        self.name = name


class LeadNotCallableError(SchedulingError):
    """Planning was asked for a lead that must not be called (do-not-disturb is set)."""
