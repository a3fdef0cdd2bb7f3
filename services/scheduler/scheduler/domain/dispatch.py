"""Dial throttles for the dispatch loop: concurrency slots, dials per second, and a circuit breaker.

All three read time from an injected `Clock` (monotonic seconds), so tests drive them with a fake
clock. They are not thread-safe: the dispatch loop owns them on one event loop.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from parley_contracts import CallOutcome

from .errors import InvalidSettingsError, SchedulingError


class Clock(Protocol):
    def monotonic(self) -> float: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True, slots=True)
class _Lease:
    agent_id: UUID | None
    acquired_at: float


class ConcurrencyLimiter:
    """At most `global_limit` calls in progress, and `per_agent_limit` for any one agent.

    Slots are held per call id: acquiring a held id again succeeds without taking a second slot and
    releasing is idempotent (a redelivered `call.ended` does no harm). A lease older than
    `lease_ttl` seconds is reclaimed, so a lost `call.ended` cannot wedge the dialer for good.
    Calls without an agent (bot-only leads) count toward the global limit only.
    """

    def __init__(
        self,
        *,
        global_limit: int,
        per_agent_limit: int | None = None,
        lease_ttl: float = 2 * 3600,
        clock: Clock | None = None,
    ) -> None:
        if global_limit < 1 or (per_agent_limit is not None and per_agent_limit < 1):
            raise InvalidSettingsError("concurrency limits must be at least 1")
        if lease_ttl <= 0:
            raise InvalidSettingsError("lease_ttl must be positive")
        self.global_limit = global_limit
        self.per_agent_limit = per_agent_limit
        self.lease_ttl = lease_ttl
        self._clock = clock or SystemClock()
        # Insertion order is acquisition order, hence expiry order: expired leases sit at the front.
        self._leases: dict[UUID, _Lease] = {}
        self._per_agent: dict[UUID, int] = {}

    @property
    def active(self) -> int:
        self._expire()
        return len(self._leases)

    def active_for(self, agent_id: UUID) -> int:
        self._expire()
        return self._per_agent.get(agent_id, 0)

    def holds(self, call_id: UUID) -> bool:
        self._expire()
        return call_id in self._leases

    def try_acquire(self, call_id: UUID, agent_id: UUID | None = None) -> bool:
        """Take a slot for `call_id`; False when the global or the agent's limit is reached."""
        self._expire()
        held = self._leases.get(call_id)
        if held is not None:
            if held.agent_id != agent_id:
                raise SchedulingError(f"call {call_id} already holds a slot for another agent")
            return True
        if len(self._leases) >= self.global_limit:
            return False
        if (
            agent_id is not None
            and self.per_agent_limit is not None
            and self._per_agent.get(agent_id, 0) >= self.per_agent_limit
        ):
            return False
        self._leases[call_id] = _Lease(agent_id, self._clock.monotonic())
        if agent_id is not None:
            self._per_agent[agent_id] = self._per_agent.get(agent_id, 0) + 1
        return True

    def release(self, call_id: UUID) -> bool:
        """Free the slot of `call_id`; False if it held none (already released or expired)."""
        lease = self._leases.pop(call_id, None)
        if lease is None:
            return False
        self._drop_agent_count(lease.agent_id)
        return True

    def _expire(self) -> None:
        deadline = self._clock.monotonic() - self.lease_ttl
        while self._leases:
            call_id = next(iter(self._leases))
            lease = self._leases[call_id]
            if lease.acquired_at > deadline:
                break
            del self._leases[call_id]
            self._drop_agent_count(lease.agent_id)

    def _drop_agent_count(self, agent_id: UUID | None) -> None:
        if agent_id is None:
            return
        remaining = self._per_agent[agent_id] - 1
        if remaining:
            self._per_agent[agent_id] = remaining
        else:
            del self._per_agent[agent_id]


class TokenBucket:
    """Dials-per-second limit: `rate` tokens per second, bursts up to `capacity`; starts full."""

    def __init__(self, *, rate: float, capacity: float | None = None, clock: Clock | None = None) -> None:
        if rate <= 0:
            raise InvalidSettingsError("rate must be positive")
        capacity = max(1.0, rate) if capacity is None else capacity
        if capacity < 1:
            raise InvalidSettingsError("capacity must be at least 1 token")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock or SystemClock()
        self._tokens = capacity
        self._updated_at = self._clock.monotonic()

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def try_take(self, tokens: float = 1.0) -> bool:
        self._check(tokens)
        self._refill()
        if self._tokens < tokens:
            return False
        self._tokens -= tokens
        return True

    def seconds_until_available(self, tokens: float = 1.0) -> float:
        """How long the dispatch loop should sleep before `try_take(tokens)` can succeed."""
        self._check(tokens)
        self._refill()
        return max(0.0, (tokens - self._tokens) / self.rate)

    def _check(self, tokens: float) -> None:
        if not 0 < tokens <= self.capacity:
            raise SchedulingError(f"can take between 0 and {self.capacity} tokens at once, not {tokens}")

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated_at) * self.rate)
        self._updated_at = now


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


def counts_as_dial_failure(outcome: CallOutcome) -> bool:
    """Only FAILED (our side or the carrier) trips the breaker: an unanswered call is no fault."""
    return outcome is CallOutcome.FAILED


class CircuitBreaker:
    """Pauses dialing when too many calls fail in a sliding window.

    CLOSED: results are kept for `window` seconds; once at least `min_calls` are in the window and
    the failed share reaches `failure_ratio`, the breaker opens. OPEN: `allow()` is False for
    `cooldown` seconds, then HALF_OPEN: `allow()` grants `probes` trial dials; that many successes
    close it, any failure opens it again. A probe whose result never arrives is re-granted after
    another `cooldown`. Results reported while OPEN (calls dialed before it opened) are ignored.
    """

    def __init__(
        self,
        *,
        window: float = 60.0,
        min_calls: int = 10,
        failure_ratio: float = 0.5,
        cooldown: float = 30.0,
        probes: int = 1,
        clock: Clock | None = None,
    ) -> None:
        if window <= 0 or cooldown <= 0:
            raise InvalidSettingsError("window and cooldown must be positive")
        if min_calls < 1 or probes < 1:
            raise InvalidSettingsError("min_calls and probes must be at least 1")
        if not 0 < failure_ratio <= 1:
            raise InvalidSettingsError("failure_ratio must be in (0, 1]")
        self.window = window
        self.min_calls = min_calls
        self.failure_ratio = failure_ratio
        self.cooldown = cooldown
        self.probes = probes
        self._clock = clock or SystemClock()
        self._state = BreakerState.CLOSED
        self._results: deque[tuple[float, bool]] = deque()  # (at, failed), oldest first
        self._failures = 0
        self._opened_at = 0.0
        self._probes_granted = 0
        self._probe_successes = 0
        self._last_probe_at = 0.0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock.monotonic() - self._opened_at >= self.cooldown:
            self._state = BreakerState.HALF_OPEN
            self._probes_granted = self._probe_successes = 0
        return self._state

    def seconds_until_retry(self) -> float:
        """0 unless OPEN; then the time left until half-open probing starts."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return self._opened_at + self.cooldown - self._clock.monotonic()

    def allow(self) -> bool:
        """Whether the dispatch loop may place a call now (in HALF_OPEN this takes a probe permit)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        now = self._clock.monotonic()
        if self._probes_granted >= self.probes and now - self._last_probe_at >= self.cooldown:
            self._probes_granted = self._probe_successes
        if self._probes_granted >= self.probes:
            return False
        self._probes_granted += 1
        self._last_probe_at = now
        return True

    def record(self, outcome: CallOutcome) -> None:
        if counts_as_dial_failure(outcome):
            self.record_failure()
        else:
            self.record_success()

    def record_success(self) -> None:
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._probe_successes += 1
            if self._probe_successes >= self.probes:
                self._close()
        elif state is BreakerState.CLOSED:
            self._add_result(failed=False)

    def record_failure(self) -> None:
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._open()
        elif state is BreakerState.CLOSED:
            self._add_result(failed=True)
            if len(self._results) >= self.min_calls and self._failures >= self.failure_ratio * len(
                self._results
            ):
                self._open()

    def _add_result(self, *, failed: bool) -> None:
        now = self._clock.monotonic()
        self._results.append((now, failed))
        self._failures += failed
        horizon = now - self.window
        while self._results and self._results[0][0] <= horizon:
            _, old_failed = self._results.popleft()
            self._failures -= old_failed

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock.monotonic()
        self._results.clear()
        self._failures = 0

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._results.clear()
        self._failures = 0
