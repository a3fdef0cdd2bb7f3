"""Dial throttles driven by a fake clock: concurrency slots, token bucket, circuit breaker."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from parley_contracts import CallOutcome
from scheduler.domain import (
    BreakerState,
    CircuitBreaker,
    ConcurrencyLimiter,
    InvalidSettingsError,
    SchedulingError,
    TokenBucket,
    counts_as_dial_failure,
)


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


AGENT_A, AGENT_B = uuid4(), uuid4()


def calls(n: int) -> list[UUID]:
    return [uuid4() for _ in range(n)]


class TestConcurrencyLimiter:
    def test_global_limit(self) -> None:
        limiter = ConcurrencyLimiter(global_limit=2, clock=FakeClock())
        first, second, third = calls(3)
        assert limiter.try_acquire(first) and limiter.try_acquire(second)
        assert not limiter.try_acquire(third)
        assert limiter.release(first)
        assert limiter.try_acquire(third)
        assert limiter.active == 2

    def test_per_agent_limit_leaves_room_for_other_agents(self) -> None:
        limiter = ConcurrencyLimiter(global_limit=10, per_agent_limit=2, clock=FakeClock())
        a1, a2, a3, b1, bot = calls(5)
        assert limiter.try_acquire(a1, AGENT_A) and limiter.try_acquire(a2, AGENT_A)
        assert not limiter.try_acquire(a3, AGENT_A)
        assert limiter.try_acquire(b1, AGENT_B)
        assert limiter.try_acquire(bot)  # no agent: global limit only
        assert (limiter.active_for(AGENT_A), limiter.active_for(AGENT_B), limiter.active) == (2, 1, 4)

    def test_acquire_is_idempotent_per_call_id(self) -> None:
        limiter = ConcurrencyLimiter(global_limit=1, clock=FakeClock())
        call = uuid4()
        assert limiter.try_acquire(call, AGENT_A)
        assert limiter.try_acquire(call, AGENT_A)
        assert limiter.active == 1
        with pytest.raises(SchedulingError, match="another agent"):
            limiter.try_acquire(call, AGENT_B)

    def test_release_is_idempotent(self) -> None:
        limiter = ConcurrencyLimiter(global_limit=2, per_agent_limit=1, clock=FakeClock())
        call = uuid4()
        limiter.try_acquire(call, AGENT_A)
        assert limiter.release(call) is True
        assert limiter.release(call) is False
        assert limiter.release(uuid4()) is False
        assert (limiter.active, limiter.active_for(AGENT_A), limiter.holds(call)) == (0, 0, False)

    def test_stale_leases_expire(self) -> None:
        clock = FakeClock()
        limiter = ConcurrencyLimiter(global_limit=2, per_agent_limit=2, lease_ttl=600, clock=clock)
        old, newer, waiting = calls(3)
        limiter.try_acquire(old, AGENT_A)
        clock.advance(300)
        limiter.try_acquire(newer, AGENT_A)
        assert not limiter.try_acquire(waiting, AGENT_A)
        clock.advance(300)  # `old` is 600 s old: reclaimed; `newer` is kept
        assert limiter.try_acquire(waiting, AGENT_A)
        assert not limiter.holds(old) and limiter.holds(newer)
        assert limiter.release(old) is False  # its late call.ended does not free someone else's slot
        assert limiter.active_for(AGENT_A) == 2

    @pytest.mark.parametrize(
        "kwargs",
        [{"global_limit": 0}, {"global_limit": 1, "per_agent_limit": 0}, {"global_limit": 1, "lease_ttl": 0}],
    )
    def test_invalid_settings(self, kwargs: dict[str, int]) -> None:
        with pytest.raises(InvalidSettingsError):
            ConcurrencyLimiter(**kwargs)


class TestTokenBucket:
    def test_burst_then_steady_rate(self) -> None:
        clock = FakeClock()
        bucket = TokenBucket(rate=2, capacity=3, clock=clock)
        assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
        assert bucket.seconds_until_available() == pytest.approx(0.5)
        clock.advance(0.5)
        assert bucket.try_take()
        assert not bucket.try_take()

    def test_refill_never_exceeds_capacity(self) -> None:
        clock = FakeClock()
        bucket = TokenBucket(rate=5, capacity=2, clock=clock)
        bucket.try_take(2)
        clock.advance(3600)
        assert bucket.tokens == 2
        assert bucket.seconds_until_available(2) == 0

    def test_default_capacity_is_one_second_of_dials(self) -> None:
        bucket = TokenBucket(rate=0.5, clock=FakeClock())
        assert bucket.capacity == 1
        assert bucket.try_take() and not bucket.try_take()
        assert bucket.seconds_until_available() == pytest.approx(2.0)
        assert TokenBucket(rate=8, clock=FakeClock()).capacity == 8

    @pytest.mark.parametrize("tokens", [0, -1, 3.5])
    def test_token_requests_must_fit(self, tokens: float) -> None:
        bucket = TokenBucket(rate=1, capacity=3, clock=FakeClock())
        with pytest.raises(SchedulingError):
            bucket.try_take(tokens)

    @pytest.mark.parametrize("kwargs", [{"rate": 0}, {"rate": 1, "capacity": 0.5}])
    def test_invalid_settings(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(InvalidSettingsError):
            TokenBucket(**kwargs)


class TestCircuitBreaker:
    def breaker(self, clock: FakeClock, **kwargs: float) -> CircuitBreaker:
        settings: dict[str, float] = {
            "window": 60,
            "min_calls": 4,
            "failure_ratio": 0.5,
            "cooldown": 30,
            "probes": 1,
        }
        settings.update(kwargs)
        return CircuitBreaker(clock=clock, **settings)

    def test_stays_closed_below_minimum_volume(self) -> None:
        breaker = self.breaker(FakeClock())
        for _ in range(3):
            breaker.record_failure()
        assert breaker.state is BreakerState.CLOSED and breaker.allow()

    def test_opens_when_failure_ratio_reached(self) -> None:
        breaker = self.breaker(FakeClock())
        breaker.record_success()
        breaker.record_success()
        breaker.record_failure()
        assert breaker.state is BreakerState.CLOSED
        breaker.record_failure()  # 2 of 4 failed
        assert breaker.state is BreakerState.OPEN and not breaker.allow()

    def test_old_results_leave_the_window(self) -> None:
        clock = FakeClock()
        breaker = self.breaker(clock)
        for _ in range(3):
            breaker.record_failure()
        clock.advance(61)
        breaker.record_failure()  # only 1 result in the last 60 s
        breaker.record_success()
        breaker.record_success()
        breaker.record_success()  # 1 of 4 failed
        assert breaker.state is BreakerState.CLOSED

    def test_cooldown_then_half_open_probe_closes_on_success(self) -> None:
        clock = FakeClock()
        breaker = self.breaker(clock)
        for _ in range(4):
            breaker.record_failure()
        clock.advance(10)
        assert breaker.seconds_until_retry() == pytest.approx(20)
        clock.advance(20)
        assert breaker.state is BreakerState.HALF_OPEN
        assert breaker.allow() and not breaker.allow()  # one probe at a time
        breaker.record_success()
        assert breaker.state is BreakerState.CLOSED and breaker.allow()
        assert breaker.seconds_until_retry() == 0
        # The window restarted: three fresh failures are below the minimum volume.
        for _ in range(3):
            breaker.record_failure()
        assert breaker.state is BreakerState.CLOSED

    def test_failed_probe_reopens_for_another_cooldown(self) -> None:
        clock = FakeClock()
        breaker = self.breaker(clock)
        for _ in range(4):
            breaker.record_failure()
        clock.advance(30)
        assert breaker.allow()
        clock.advance(5)
        breaker.record_failure()
        assert breaker.state is BreakerState.OPEN
        assert breaker.seconds_until_retry() == pytest.approx(30)

    def test_results_while_open_are_ignored(self) -> None:
        clock = FakeClock()
        breaker = self.breaker(clock)
        for _ in range(4):
            breaker.record_failure()
        clock.advance(10)
        breaker.record_success()  # a call dialed before the breaker opened
        assert breaker.state is BreakerState.OPEN
        assert breaker.seconds_until_retry() == pytest.approx(20)

    def test_lost_probe_is_granted_again_after_a_cooldown(self) -> None:
        clock = FakeClock()
        breaker = self.breaker(clock)
        for _ in range(4):
            breaker.record_failure()
        clock.advance(30)
        assert breaker.allow()
        clock.advance(29)
        assert not breaker.allow()
        clock.advance(1)
        assert breaker.allow()

    def test_several_probes_must_all_succeed(self) -> None:
        clock = FakeClock()
        breaker = self.breaker(clock, probes=2)
        for _ in range(4):
            breaker.record_failure()
        clock.advance(30)
        assert breaker.allow() and breaker.allow() and not breaker.allow()
        breaker.record_success()
        assert breaker.state is BreakerState.HALF_OPEN
        breaker.record_success()
        assert breaker.state is BreakerState.CLOSED

    def test_outcomes_map_to_results(self) -> None:
        breaker = self.breaker(FakeClock(), min_calls=2, failure_ratio=1.0)
        breaker.record(CallOutcome.NO_ANSWER)
        breaker.record(CallOutcome.BUSY)
        breaker.record(CallOutcome.FAILED)
        assert breaker.state is BreakerState.CLOSED  # 1 of 3
        assert [o for o in CallOutcome if counts_as_dial_failure(o)] == [CallOutcome.FAILED]
        only_failures = self.breaker(FakeClock(), min_calls=2, failure_ratio=1.0)
        only_failures.record(CallOutcome.FAILED)
        only_failures.record(CallOutcome.FAILED)
        assert only_failures.state is BreakerState.OPEN

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"window": 0},
            {"cooldown": -1},
            {"min_calls": 0},
            {"probes": 0},
            {"failure_ratio": 0},
            {"failure_ratio": 1.5},
        ],
    )
    def test_invalid_settings(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(InvalidSettingsError):
            self.breaker(FakeClock(), **kwargs)
