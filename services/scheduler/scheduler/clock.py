"""The scheduler's clock: wall time for due dates, monotonic time for the dial throttles.

Injected (see `main.make_definition`) so tests move time instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from .domain import SystemClock


class SchedulerClock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def monotonic(self) -> float: ...


class SystemSchedulerClock(SystemClock):
    def now(self) -> datetime:
        return datetime.now(UTC)
