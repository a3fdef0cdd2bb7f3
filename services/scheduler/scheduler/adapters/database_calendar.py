"""The internal calendar kept in the scheduler's database: the `CalendarPort` the service uses.

`InternalCalendar` keeps bookings in one process's memory; behind two replicas, or across a restart,
bookings made elsewhere would be invisible. This adapter works on the caller's session, so a booking
commits or rolls back with the call task it belongs to. No network either way.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.calendar import CalendarConflictError, CalendarError, CalendarEvent
from ..domain.intervals import Interval, merge_intervals
from .sql import as_utc, rows_changed
from .tables import calendar_events

MAX_EVENT_ID_LENGTH = 128


class DatabaseCalendar:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def free_busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        t = calendar_events
        rows = await self._session.execute(
            sa.select(t.c.start_at, t.c.end_at).where(
                t.c.calendar_id == calendar_id, t.c.start_at < window.end, t.c.end_at > window.start
            )
        )
        return merge_intervals(
            Interval(max(as_utc(start), window.start), min(as_utc(end), window.end)) for start, end in rows
        )

    async def create_event(self, event: CalendarEvent) -> CalendarEvent:
        if len(event.event_id) > MAX_EVENT_ID_LENGTH:
            raise CalendarError(f"event ids longer than {MAX_EVENT_ID_LENGTH} characters are not stored")
        t = calendar_events
        row = (
            (
                await self._session.execute(
                    sa.select(t).where(t.c.calendar_id == event.calendar_id, t.c.event_id == event.event_id)
                )
            )
            .mappings()
            .first()
        )
        if row is not None:
            existing = CalendarEvent(
                event_id=row["event_id"],
                calendar_id=row["calendar_id"],
                slot=Interval(as_utc(row["start_at"]), as_utc(row["end_at"])),
                title=row["title"],
                description=row["description"],
                lead_id=uuid.UUID(row["lead_id"]) if row["lead_id"] else None,
                task_id=uuid.UUID(row["task_id"]) if row["task_id"] else None,
            )
            if existing != event:
                raise CalendarConflictError(f"event {event.event_id} already exists with different details")
            return existing
        await self._session.execute(
            sa.insert(t).values(
                calendar_id=event.calendar_id,
                event_id=event.event_id,
                start_at=event.slot.start,
                end_at=event.slot.end,
                title=event.title,
                description=event.description,
                lead_id=str(event.lead_id) if event.lead_id else None,
                task_id=str(event.task_id) if event.task_id else None,
            )
        )
        return event

    async def cancel_event(self, calendar_id: str, event_id: str) -> bool:
        t = calendar_events
        result = await self._session.execute(
            sa.delete(t).where(t.c.calendar_id == calendar_id, t.c.event_id == event_id)
        )
        return bool(rows_changed(result))
