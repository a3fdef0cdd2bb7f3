"""Live transcripts: an in-process hub that hands every stored transcript line, and the end of the
call, to whoever follows the session (the console's `/api/voice/sessions/{id}/live` websocket).

Publishing never waits: each follower has a bounded queue, and a follower that falls `capacity` items
behind (a slow browser) is dropped — its `next()` raises `FollowerTooSlow` and the websocket closes
with 1013 "try again later". Nothing is lost by that: a follower that (re)joins first gets the stored
transcript from the database, then the live lines, deduplicated by the line's `seq` (its position in
the session's transcript), so a reconnect resumes without gaps or duplicates. Dropping the laggard was
chosen over dropping its oldest lines because a transcript with holes in it is worse than a reconnect.

Who publishes: whatever stores transcript lines calls `publish_lines` *after* its transaction
committed (simulated calls in `service_layer`; the phone call journal too), and `publish_ended` once
the session's ENDED status is committed. Publishing before the commit could announce a line that a
rollback then takes back, and breaks the join protocol below.

The hub lives in one process: a follower connected to another replica of the voice-bridge than the one
running the call sees the stored lines when it (re)joins, not live ones.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from parley_contracts import CallOutcome
from servicekit.db import Database

from .adapters import repository as repo
from .adapters.repository import SessionStatus, StoredLine

log = logging.getLogger(__name__)

# Items a follower may fall behind before it is dropped; a whole call rarely has this many lines.
FOLLOWER_CAPACITY = 256


@dataclass(frozen=True)
class CallFinished:
    """The session ended: no more lines will come."""

    outcome: CallOutcome | None = None
    reason: str | None = None


LiveItem = StoredLine | CallFinished


class FollowerTooSlow(Exception):
    """The follower fell too far behind and was dropped; it may rejoin (history first)."""


class Follower:
    """One subscriber to one session's live items, with a bounded queue."""

    def __init__(self, session_id: uuid.UUID, capacity: int) -> None:
        self.session_id = session_id
        self._queue: asyncio.Queue[LiveItem] = asyncio.Queue(capacity)
        self.dropped = False

    def offer(self, item: LiveItem) -> bool:
        """Queue without waiting; False (and the follower is dropped) when its queue is full."""
        if self.dropped:
            return False
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            return False
        return True

    async def next(self) -> LiveItem:
        """The next item; FollowerTooSlow once dropped (what was still queued is not handed out)."""
        if not self.dropped:
            # A full queue is never empty, so a reader waiting here is not waiting when it is dropped.
            item = await self._queue.get()
            if not self.dropped:
                return item
        raise FollowerTooSlow(f"follower of voice session {self.session_id} fell behind")


class TranscriptHub:
    """Fans stored transcript lines and the call's end out to the followers of each session."""

    def __init__(self, *, capacity: int = FOLLOWER_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._followers: dict[uuid.UUID, set[Follower]] = {}

    def subscribe(self, session_id: uuid.UUID) -> Follower:
        follower = Follower(session_id, self.capacity)
        self._followers.setdefault(session_id, set()).add(follower)
        return follower

    def unsubscribe(self, follower: Follower) -> None:
        followers = self._followers.get(follower.session_id)
        if followers is None:
            return
        followers.discard(follower)
        if not followers:
            del self._followers[follower.session_id]

    def followers(self, session_id: uuid.UUID) -> int:
        return len(self._followers.get(session_id, ()))

    def publish_lines(self, session_id: uuid.UUID, lines: Iterable[StoredLine]) -> None:
        """Hand committed transcript lines (with their stored `seq`) to the session's followers."""
        for line in lines:
            self._offer(session_id, line)

    def publish_ended(
        self, session_id: uuid.UUID, *, outcome: CallOutcome | None = None, reason: str | None = None
    ) -> None:
        """The session's end is committed: followers get `ended` after the lines before it."""
        self._offer(session_id, CallFinished(outcome, reason))

    def _offer(self, session_id: uuid.UUID, item: LiveItem) -> None:
        for follower in list(self._followers.get(session_id, ())):
            if not follower.offer(item):
                self.unsubscribe(follower)
                log.warning(
                    "dropped a live transcript follower that fell behind", extra={"call_id": str(session_id)}
                )

    @asynccontextmanager
    async def following(self, db: Database, session_id: uuid.UUID) -> AsyncIterator[AsyncIterator[LiveItem]]:
        """The session's transcript so far, then its live lines, then `CallFinished` (then nothing).

        Subscribes before reading the database: a line published before the subscription was committed
        before it, so the read sees it; a line published after it is queued. Lines are deduplicated and
        ordered by `seq`; a hole (a line stored without being published) is filled from the database.
        """
        follower = self.subscribe(session_id)
        try:
            yield _feed(follower, db, session_id)
        finally:
            self.unsubscribe(follower)


async def _stored(db: Database, session_id: uuid.UUID) -> tuple[repo.VoiceSession | None, list[StoredLine]]:
    async with db.session() as session:
        return await repo.get_session(session, session_id), await repo.transcript(session, session_id)


async def _feed(follower: Follower, db: Database, session_id: uuid.UUID) -> AsyncIterator[LiveItem]:
    current, history = await _stored(db, session_id)
    last = 0
    for line in history:
        yield line
        last = line.seq
    if current is None:
        return
    if current.status is SessionStatus.ENDED:
        yield CallFinished(current.outcome, current.end_reason)
        return
    while True:
        item = await follower.next()
        if isinstance(item, CallFinished):
            yield item
            return
        if item.seq <= last:
            continue  # already sent with the history (or twice published)
        if item.seq > last + 1:
            _, stored = await _stored(db, session_id)
            for missing in stored:
                if last < missing.seq < item.seq:
                    yield missing
                    last = missing.seq
        yield item
        last = item.seq
