"""Sliding-window rate limits. Per process: with several gateway replicas each enforces its share."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_seconds: float


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._max_keys = max_keys

    def hit(self, rule: Rule, key: str) -> float | None:
        """Record a hit; return None if allowed, else the seconds until the next hit is allowed."""
        now = self._clock()
        hits = self._hits.get((rule.name, key))
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._evict(now)
            hits = self._hits.setdefault((rule.name, key), deque())
        while hits and hits[0] <= now - rule.window_seconds:
            hits.popleft()
        if len(hits) >= rule.limit:
            return max(1.0, math.ceil(hits[0] + rule.window_seconds - now))
        hits.append(now)
        return None

    def _evict(self, now: float) -> None:
        stale = [k for k, v in self._hits.items() if not v or v[-1] < now - 3600]
        for k in stale or list(self._hits)[: len(self._hits) // 2]:
            del self._hits[k]
