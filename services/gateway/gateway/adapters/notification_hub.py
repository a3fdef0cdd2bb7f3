"""In-process fan-out of new notifications to the streams open in this process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class Listener:
    """One open stream's queue of serialized notifications."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue(size)
        self.dropped = False

    def offer(self, data: str) -> bool:
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:
            # A client too slow to take what it is sent is dropped rather than left to grow memory;
            # it reconnects and starts again from the unread count.
            self.dropped = True
            return False
        return True

    async def next(self) -> str | None:
        """The next notification; None once dropped and drained (nothing is offered after a drop)."""
        if self.dropped and self._queue.empty():
            return None
        return await self._queue.get()


class NotificationHub:
    def __init__(self, queue_size: int = 100) -> None:
        self._queue_size = queue_size
        self._listeners: dict[str, set[Listener]] = {}

    @contextmanager
    def listen(self, user_id: str) -> Iterator[Listener]:
        listener = Listener(self._queue_size)
        self._listeners.setdefault(user_id, set()).add(listener)
        try:
            yield listener
        finally:
            self._forget(user_id, listener)

    def publish(self, user_id: str, data: str) -> None:
        """Called from a commit hook, so it must not block: a full queue drops its listener."""
        for listener in list(self._listeners.get(user_id, ())):
            if not listener.offer(data):
                self._forget(user_id, listener)

    def _forget(self, user_id: str, listener: Listener) -> None:
        listeners = self._listeners.get(user_id)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self._listeners[user_id]
