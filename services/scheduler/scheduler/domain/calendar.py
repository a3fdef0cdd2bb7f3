"""The calendar port: where agents' busy time comes from and where manual call tasks are booked.

The default adapter is the internal calendar (`scheduler.adapters.internal_calendar`). A Google
Calendar adapter is optional and not built; it maps onto this port without changing callers:
- `free_busy`    -> `POST /calendar/v3/freeBusy` with `timeMin`, `timeMax`, `items=[{"id": calendar_id}]`,
                    reading `calendars[calendar_id].busy[*].start/end`;
- `create_event` -> `POST /calendar/v3/calendars/{calendar_id}/events` with the client-chosen `id`
                    (hence the event id rule below: Google accepts base32hex, `[a-v0-9]{5,1024}`);
                    a 409 for an existing id is fetched and compared, which makes retries idempotent;
- `cancel_event` -> `DELETE /calendar/v3/calendars/{calendar_id}/events/{event_id}`; 404/410 mean
                    "nothing to cancel" (False).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from .errors import SchedulingError
from .intervals import Interval

_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")


class CalendarError(SchedulingError):
    """A calendar request is invalid or conflicts with what the calendar holds."""


class CalendarConflictError(CalendarError):
    """An event id is already used by a different event."""


def event_id_for_task(task_id: UUID) -> str:
    """The calendar event id of a call task: stable, so re-booking the same task is idempotent."""
    return task_id.hex


@dataclass(frozen=True)
class CalendarEvent:
    event_id: str
    calendar_id: str
    slot: Interval
    title: str
    description: str | None = None
    lead_id: UUID | None = None
    task_id: UUID | None = None

    def __post_init__(self) -> None:
        if not _EVENT_ID.fullmatch(self.event_id):
            raise CalendarError(f"event id {self.event_id!r} must match [a-v0-9]{{5,1024}}")
        if not self.calendar_id.strip():
            raise CalendarError("calendar_id must not be blank")
        if not self.title.strip():
            raise CalendarError("event title must not be blank")


class CalendarPort(Protocol):
    """An agent's calendar. `calendar_id` is the agent's calendar (the agent id for the internal one)."""

    async def free_busy(self, calendar_id: str, window: Interval) -> list[Interval]:
        """Busy intervals within `window`, merged, sorted and clipped to it."""
        ...

    async def create_event(self, event: CalendarEvent) -> CalendarEvent:
        """Book `event`. Creating the same event again returns it; a different event under the same id
        raises `CalendarConflictError`. Overlaps are allowed (check `free_busy` first)."""
        ...

    async def cancel_event(self, calendar_id: str, event_id: str) -> bool:
        """Remove an event; False when there was none."""
        ...
