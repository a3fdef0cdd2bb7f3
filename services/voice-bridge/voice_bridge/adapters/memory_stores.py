"""In-process stores for single-use token ids and callback short codes.

Right for one bridge process (dev, the embedded run mode, tests). With several replicas behind a load
balancer the `ReplayStore` and `ShortLinkStore` ports need a shared implementation instead, or a token
replayed against another replica would be accepted there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from parley_contracts import utcnow

# Expired entries are swept every this many writes, so memory stays bounded by the live entries
# without a background task.
_SWEEP_EVERY = 256

V = TypeVar("V")


class _ExpiringMap(Generic[V]):
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[V, datetime]] = {}
        self._writes = 0

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        return value

    def put_if_absent(self, key: str, value: V, expires_at: datetime) -> bool:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._sweep()
        if self.get(key) is not None:
            return False
        self._entries[key] = (value, expires_at)
        return True

    def __len__(self) -> int:
        self._sweep()
        return len(self._entries)

    def _sweep(self) -> None:
        now = self._clock()
        for key in [key for key, (_, expires_at) in self._entries.items() if now >= expires_at]:
            del self._entries[key]


class InMemoryReplayStore:
    """`ReplayStore` for one process. No await between check and set, so claims are atomic."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._claimed: _ExpiringMap[bool] = _ExpiringMap(clock)

    async def claim(self, token_id: str, expires_at: datetime) -> bool:
        return self._claimed.put_if_absent(token_id, True, expires_at)

    def __len__(self) -> int:
        return len(self._claimed)


class InMemoryShortLinkStore:
    """`ShortLinkStore` for one process."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._links: _ExpiringMap[str] = _ExpiringMap(clock)

    async def put(self, code: str, token: str, expires_at: datetime) -> bool:
        return self._links.put_if_absent(code, token, expires_at)

    async def get(self, code: str) -> str | None:
        return self._links.get(code)

    def __len__(self) -> int:
        return len(self._links)
