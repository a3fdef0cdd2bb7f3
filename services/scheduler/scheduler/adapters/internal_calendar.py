"""The internal calendar: the default `CalendarPort`, kept in memory.

Bookings live as long as the process. It depends on nothing but the port, so a database-backed
internal calendar is another adapter of the same port; no network is involved either way.
"""

from __future__ import annotations

from scheduler.domain.calendar import CalendarConflictError, CalendarEvent
from scheduler.domain.intervals import Interval, merge_intervals


class InternalCalendar:
    def __init__(self) -> None:
        self._events: dict[str, dict[str, CalendarEvent]] = {}

    async def free_busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        overlapping = [
            Interval(max(event.slot.start, window.start), min(event.slot.end, window.end))
            for event in self._events.get(calendar_id, {}).values()
            if event.slot.overlaps(window)
        ]
        return merge_intervals(overlapping)

    async def create_event(self, event: CalendarEvent) -> CalendarEvent:
        events = self._events.setdefault(event.calendar_id, {})
        existing = events.get(event.event_id)
        if existing is not None:
            if existing != event:
                raise CalendarConflictError(f"event {event.event_id} already exists with different details")
            return existing
        events[event.event_id] = event
        return event

    async def cancel_event(self, calendar_id: str, event_id: str) -> bool:
        return self._events.get(calendar_id, {}).pop(event_id, None) is not None
