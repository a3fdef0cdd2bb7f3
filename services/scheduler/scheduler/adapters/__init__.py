"""Adapters behind the scheduler's ports."""

from .internal_calendar import InternalCalendar

__all__ = ["InternalCalendar"]
