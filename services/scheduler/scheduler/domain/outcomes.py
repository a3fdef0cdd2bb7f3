"""What happens after a call: retry, call back, stop or done. Pure functions of their inputs.

| outcome                            | decision                                                    |
|------------------------------------|-------------------------------------------------------------|
| ANSWERED                           | `Completed`                                                 |
| NOT_INTERESTED                     | `Stop`: automatic attempts end; the agent may still follow up |
| DO_NOT_CALL                        | `Stop` + set DND + cancel every task, manual ones included  |
| NO_ANSWER, BUSY, VOICEMAIL, FAILED | `Retry` at the next best slot after a backoff, up to `max_attempts` |
| CALLBACK_REQUESTED                 | `Callback` at the asked time, or the nearest legal time     |

A lead that already has DND gets `Stop` for anything but ANSWERED / DO_NOT_CALL / NOT_INTERESTED.
`plan_callback` also serves `followup.requested` (a callback the bot agreed during the call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from parley_contracts import CallOutcome, LeadSnapshot

from .errors import InvalidSettingsError, SchedulingError
from .intervals import Interval, require_aware
from .ranking import PastAttempt, RankingSettings, next_best_slot
from .windows import MAX_HORIZON, SlotPlanner

RETRYABLE_OUTCOMES = frozenset(
    {CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL, CallOutcome.FAILED}
)

_DEFAULT_RETRY_DELAYS: Mapping[CallOutcome, timedelta] = {
    # The lead is on another call: try again soon.
    CallOutcome.BUSY: timedelta(minutes=20),
    # Our side or the carrier failed: the lead did nothing wrong, retry quickly.
    CallOutcome.FAILED: timedelta(minutes=10),
    CallOutcome.NO_ANSWER: timedelta(hours=2),
    # A message is already waiting; give them time to call back first.
    CallOutcome.VOICEMAIL: timedelta(hours=4),
}
# Legal hours repeat at least weekly, so a nearest legal time always lies within a week of any instant.
_WEEK = timedelta(days=7)


class StopReason(StrEnum):
    NOT_INTERESTED = "NOT_INTERESTED"
    DO_NOT_CALL = "DO_NOT_CALL"
    DND = "DND"
    MAX_ATTEMPTS = "MAX_ATTEMPTS"
    NO_CALLABLE_TIME = "NO_CALLABLE_TIME"


@dataclass(frozen=True)
class Retry:
    """Dial again in `slot` (its start is the due time, its end when the attempt goes stale)."""

    slot: Interval
    attempt: int
    outcome: CallOutcome
    not_before: datetime


@dataclass(frozen=True)
class Callback:
    """Call back at `at`; `adjusted` when that is not the time asked for (past or outside legal hours)."""

    at: datetime
    requested_at: datetime | None
    adjusted: bool


@dataclass(frozen=True)
class Stop:
    reason: StopReason
    set_dnd: bool = False
    # DND is legal: it cancels manual tasks too. Other stops end only the automatic attempts.
    cancel_manual_tasks: bool = False


@dataclass(frozen=True)
class Completed:
    """The lead was reached; the conversation's own follow-ups (prospectus, email) take over."""


Decision = Retry | Callback | Stop | Completed


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    # Delay after the first failed attempt, per outcome; grows by `backoff_multiplier` per attempt.
    retry_delays: Mapping[CallOutcome, timedelta] = field(default_factory=lambda: dict(_DEFAULT_RETRY_DELAYS))
    backoff_multiplier: float = 2.0
    max_delay: timedelta = timedelta(days=1)
    # How far ahead a retry or a callback without a time looks for a slot.
    search_horizon: timedelta = timedelta(days=14)
    # A callback is never due sooner than this after it is planned.
    callback_min_notice: timedelta = timedelta(minutes=2)
    ranking: RankingSettings = field(default_factory=RankingSettings)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidSettingsError("max_attempts must be at least 1")
        missing = RETRYABLE_OUTCOMES - self.retry_delays.keys()
        if missing:
            raise InvalidSettingsError(f"retry_delays lacks {', '.join(sorted(missing))}")
        if any(delay < timedelta(0) for delay in self.retry_delays.values()):
            raise InvalidSettingsError("retry delays must not be negative")
        if self.backoff_multiplier < 1:
            raise InvalidSettingsError("backoff_multiplier must be at least 1")
        if self.max_delay < timedelta(0) or self.callback_min_notice < timedelta(0):
            raise InvalidSettingsError("max_delay and callback_min_notice must not be negative")
        if not timedelta(0) < self.search_horizon <= MAX_HORIZON:
            raise InvalidSettingsError(f"search_horizon must be positive and at most {MAX_HORIZON.days} days")

    def delay_after(self, outcome: CallOutcome, attempt: int) -> timedelta:
        """Backoff before the attempt after `attempt` (1-based) ended with `outcome`."""
        if outcome not in RETRYABLE_OUTCOMES:
            raise SchedulingError(f"{outcome} is not retried")
        if attempt < 1:
            raise SchedulingError(f"attempt must be at least 1, got {attempt}")
        seconds, cap = self.retry_delays[outcome].total_seconds(), self.max_delay.total_seconds()
        # Grow step by step and stop at the cap: no float overflow however many attempts.
        for _ in range(attempt - 1):
            if seconds >= cap or self.backoff_multiplier == 1:
                break
            seconds *= self.backoff_multiplier
        return timedelta(seconds=min(seconds, cap))


def decide_after_call(
    outcome: CallOutcome,
    *,
    attempt: int,
    lead: LeadSnapshot,
    now: datetime,
    planner: SlotPlanner,
    policy: RetryPolicy,
    history: Sequence[PastAttempt] = (),
    requested_at: datetime | None = None,
) -> Decision:
    """The next step after attempt number `attempt` (1-based) of calling `lead` ended with `outcome`.

    `history` holds the lead's earlier attempts, the one that just ended included (it informs the
    ranking of retry slots); `requested_at` is the time the lead asked to be called back, if any.
    """
    if attempt < 1:
        raise SchedulingError(f"attempt must be at least 1, got {attempt}")
    now = require_aware(now, "now")
    if outcome is CallOutcome.ANSWERED:
        return Completed()
    if outcome is CallOutcome.NOT_INTERESTED:
        return Stop(StopReason.NOT_INTERESTED)
    if outcome is CallOutcome.DO_NOT_CALL:
        return Stop(StopReason.DO_NOT_CALL, set_dnd=True, cancel_manual_tasks=True)
    if lead.consent_flags.dnd:
        return Stop(StopReason.DND, cancel_manual_tasks=True)
    if outcome is CallOutcome.CALLBACK_REQUESTED:
        return plan_callback(
            requested_at, lead=lead, now=now, planner=planner, policy=policy, history=history
        )
    if attempt >= policy.max_attempts:
        return Stop(StopReason.MAX_ATTEMPTS)
    not_before = now + policy.delay_after(outcome, attempt)
    best = next_best_slot(
        lead,
        planner=planner,
        now=now,
        not_before=not_before,
        horizon=policy.search_horizon,
        history=history,
        settings=policy.ranking,
    )
    if best is None:
        return Stop(StopReason.NO_CALLABLE_TIME)
    return Retry(slot=best.slot, attempt=attempt + 1, outcome=outcome, not_before=not_before)


def plan_callback(
    requested_at: datetime | None,
    *,
    lead: LeadSnapshot,
    now: datetime,
    planner: SlotPlanner,
    policy: RetryPolicy,
    history: Sequence[PastAttempt] = (),
) -> Callback | Stop:
    """A callback at the asked time if it is in the future and in legal calling hours.

    Otherwise the nearest legal time: a past time becomes the first legal moment from now; a time
    outside calling hours moves to the closer of the previous day's last legal start or the next
    legal opening (ties to the earlier). The lead's preferred windows do not apply: the lead named
    this time. The last legal start is `min_slot_length` before closing, so the call fits. Without a
    time, the callback goes to the next best slot in the lead's windows.
    """
    now = require_aware(now, "now")
    if lead.consent_flags.dnd:
        return Stop(StopReason.DND, cancel_manual_tasks=True)
    earliest = now + policy.callback_min_notice
    if requested_at is None:
        best = next_best_slot(
            lead,
            planner=planner,
            now=earliest,
            horizon=policy.search_horizon,
            history=history,
            settings=policy.ranking,
        )
        return Callback(best.slot.start, None, adjusted=False) if best else Stop(StopReason.NO_CALLABLE_TIME)
    requested_at = require_aware(requested_at, "requested_at")
    target = max(requested_at, earliest)
    search_from = max(earliest, target - _WEEK)
    tail = planner.settings.min_slot_length
    # Each legal interval as the range of allowed call *starts*.
    start_ranges = [
        (interval.start, interval.end - tail)
        for interval in planner.calling_hours_intervals(
            lead.calling_zones(), now=search_from, horizon=target - search_from + _WEEK, country=lead.country
        )
        if interval.duration >= tail
    ]
    before: datetime | None = None
    after: datetime | None = None
    for first_start, last_start in start_ranges:
        if target < first_start:
            after = first_start
            break
        if target <= last_start:
            return Callback(target, requested_at, adjusted=target != requested_at)
        before = last_start
    nearest = [candidate for candidate in (before, after) if candidate is not None]
    if not nearest:
        return Stop(StopReason.NO_CALLABLE_TIME)
    # `min` keeps the first of equals: a tie goes to the earlier time.
    at = min(nearest, key=lambda candidate: abs(candidate - target))
    return Callback(at, requested_at, adjusted=True)
