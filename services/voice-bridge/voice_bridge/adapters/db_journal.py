"""`CallJournal` on the service's database: each transcript line and redacted event in its own short
transaction, so what was said is stored as the call goes on and survives a crash mid-call."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from parley_contracts import TranscriptLine
from servicekit.runtime import ServiceRuntime

from ..domain.call import CallContext
from ..domain.ports import EventLogEntry
from . import repository as repo
from .repository import StoredLine

LinesStored = Callable[[uuid.UUID, Sequence[StoredLine]], None]


class DatabaseCallJournal:
    def __init__(self, runtime: ServiceRuntime, on_lines_stored: LinesStored | None = None) -> None:
        self._runtime = runtime
        # Told after each commit, e.g. to stream the line to the console's live view.
        self._on_lines_stored = on_lines_stored

    async def record_transcript_line(self, call: CallContext, line: TranscriptLine) -> None:
        async with self._runtime.unit_of_work() as uow:
            stored = await repo.append_lines(uow.session, call.call_id, [line])
        if self._on_lines_stored is not None:
            self._on_lines_stored(call.call_id, stored)

    async def record_event(self, call: CallContext, entry: EventLogEntry) -> None:
        async with self._runtime.unit_of_work() as uow:
            await repo.record_event(uow.session, call.call_id, entry)
