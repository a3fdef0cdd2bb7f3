"""An email's delivery status, the transitions it may take, and when to try again."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from random import Random

from .sending import SendError, SendResult


class EmailStatus(StrEnum):
    QUEUED = "QUEUED"  # accepted by us; being sent or waiting for its next attempt
    SENT = "SENT"  # accepted by the provider
    FAILED = "FAILED"  # permanent error, or every attempt used up
    BOUNCED = "BOUNCED"  # accepted, then reported undeliverable by the recipient's side


ALLOWED_TRANSITIONS: dict[EmailStatus, frozenset[EmailStatus]] = {
    EmailStatus.QUEUED: frozenset({EmailStatus.SENT, EmailStatus.FAILED}),
    EmailStatus.SENT: frozenset({EmailStatus.BOUNCED}),
    # Final: sending again is a new email with its own log entry, never a revived one.
    EmailStatus.FAILED: frozenset(),
    EmailStatus.BOUNCED: frozenset(),
}


class InvalidStatusTransitionError(ValueError):
    def __init__(self, current: EmailStatus, target: EmailStatus) -> None:
        super().__init__(f"an email cannot go from {current} to {target}")
        self.current = current
        self.target = target


def ensure_transition(current: EmailStatus, target: EmailStatus) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidStatusTransitionError(current, target)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient failures; permanent ones are never retried."""

    max_attempts: int = 6
    first_delay: timedelta = timedelta(seconds=30)
    multiplier: float = 2.0
    max_delay: timedelta = timedelta(minutes=30)
    # Up to this fraction of each delay is removed at random, so emails that failed together
    # (the SMTP server went down) do not all retry in the same instant.
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.first_delay <= timedelta(0) or self.max_delay < self.first_delay:
            raise ValueError("delays must be positive and max_delay at least first_delay")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def delay_after(self, failed_attempt: int, rng: Random) -> timedelta:
        """How long to wait after the `failed_attempt`-th attempt (1-based) before the next one."""
        # Capping the exponent keeps the float finite; the delay is capped by max_delay long before.
        exponent = min(max(failed_attempt, 1) - 1, 64)
        ceiling = min(
            self.max_delay.total_seconds(), self.first_delay.total_seconds() * self.multiplier**exponent
        )
        return timedelta(seconds=ceiling * (1 - self.jitter * rng.random()))

    def should_retry(self, failed_attempt: int, error: SendError) -> bool:
        return not error.permanent and failed_attempt < self.max_attempts


@dataclass(frozen=True)
class Delivery:
    """Where one email stands. Each method returns the next state; nothing is mutated."""

    status: EmailStatus = EmailStatus.QUEUED
    attempts: int = 0
    next_attempt_at: datetime | None = None
    provider_message_id: str | None = None
    last_error: str | None = None
    # True when FAILED by a permanent error, False when FAILED because attempts ran out.
    permanent_failure: bool = False

    def sent(self, result: SendResult) -> Delivery:
        ensure_transition(self.status, EmailStatus.SENT)
        return replace(
            self,
            status=EmailStatus.SENT,
            attempts=self.attempts + 1,
            next_attempt_at=None,
            provider_message_id=result.provider_message_id,
            last_error=None,
        )

    def failed(self, error: SendError, *, policy: RetryPolicy, now: datetime, rng: Random) -> Delivery:
        """Record a failed attempt: stay QUEUED with a next attempt time, or become FAILED."""
        attempt = self.attempts + 1
        if policy.should_retry(attempt, error):
            # Only a queued email has attempts left; it stays QUEUED, waiting for the next one.
            if self.status is not EmailStatus.QUEUED:
                raise InvalidStatusTransitionError(self.status, EmailStatus.QUEUED)
            return replace(
                self,
                attempts=attempt,
                next_attempt_at=now + policy.delay_after(attempt, rng),
                last_error=error.reason,
            )
        ensure_transition(self.status, EmailStatus.FAILED)
        return replace(
            self,
            status=EmailStatus.FAILED,
            attempts=attempt,
            next_attempt_at=None,
            last_error=error.reason,
            permanent_failure=error.permanent,
        )

    def bounced(self, reason: str) -> Delivery:
        ensure_transition(self.status, EmailStatus.BOUNCED)
        return replace(self, status=EmailStatus.BOUNCED, last_error=reason)
