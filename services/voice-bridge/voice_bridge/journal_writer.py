"""Writes a call's transcript lines and event log to the `CallJournal` port off the audio path."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from parley_contracts import TranscriptLine

from .domain.call import CallContext
from .domain.ports import CallJournal, EventLogEntry

log = logging.getLogger(__name__)

_CLOSE: Final = object()


class JournalWriter:
    """A bounded queue drained by one task: a slow store costs journal entries, never audio latency.

    When the queue is full new entries are dropped and counted; transcript lines also travel in the
    call summary, so the complete transcript survives even then.
    """

    def __init__(self, journal: CallJournal, call: CallContext, *, capacity: int) -> None:
        self._journal = journal
        self._call = call
        self._queue: asyncio.Queue[TranscriptLine | EventLogEntry | object] = asyncio.Queue(capacity)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name=f"journal-{self._call.call_id}")

    def write(self, entry: TranscriptLine | EventLogEntry) -> None:
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped += 1

    async def close(self, timeout_s: float) -> None:
        """Flushes what is queued, for at most `timeout_s`, then stops."""
        if self._task is None:
            return
        try:
            async with asyncio.timeout(timeout_s):
                await self._queue.put(_CLOSE)
                await asyncio.shield(self._task)
        except TimeoutError:
            self._task.cancel()
            self.dropped += self._queue.qsize()
            log.warning("journal flush timed out", extra={"call_id": str(self._call.call_id)})

    async def _drain(self) -> None:
        while (entry := await self._queue.get()) is not _CLOSE:
            try:
                if isinstance(entry, TranscriptLine):
                    await self._journal.record_transcript_line(self._call, entry)
                elif isinstance(entry, EventLogEntry):
                    await self._journal.record_event(self._call, entry)
            except Exception:
                log.exception("journal write failed", extra={"call_id": str(self._call.call_id)})
