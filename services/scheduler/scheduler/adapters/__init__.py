"""Adapters behind the scheduler's ports."""

from .database_calendar import DatabaseCalendar
from .internal_calendar import InternalCalendar

__all__ = ["DatabaseCalendar", "InternalCalendar"]
