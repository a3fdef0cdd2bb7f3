"""Outcome policy: every branch of what happens after a call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from parley_calltime import CallingRules
from parley_contracts import CallOutcome, ConsentFlags, LeadSnapshot, TimeWindow
from scheduler.domain import (
    RETRYABLE_OUTCOMES,
    WEEKDAYS,
    Callback,
    Completed,
    InvalidSettingsError,
    NaiveDatetimeError,
    PastAttempt,
    PlannerSettings,
    Retry,
    RetryPolicy,
    SchedulingError,
    SlotPlanner,
    Stop,
    StopReason,
    decide_after_call,
    plan_callback,
)

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
PLANNER = SlotPlanner()  # legal 08:00-21:00, slots 15 min, min 5 min
POLICY = RetryPolicy()
WEEKDAY_WINDOWS = [TimeWindow(days=["MON", "TUE", "WED", "THU", "FRI"], start="09:00", end="18:00")]


def new_york(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=NEW_YORK)


def lead(
    windows: list[TimeWindow] = WEEKDAY_WINDOWS, timezone: str = "America/New_York", dnd: bool = False
) -> LeadSnapshot:
    return LeadSnapshot(
        id=uuid4(),
        name="Dana Whitfield",
        phone="+12125550100",
        preferred_time_windows=windows,
        timezone=timezone,
        consent_flags=ConsentFlags(dnd=dnd),
    )


def decide(outcome: CallOutcome, **kwargs: object) -> object:
    arguments: dict[str, object] = {
        "attempt": 1,
        "lead": lead(),
        "now": new_york(6, 2, 10),  # Monday
        "planner": PLANNER,
        "policy": POLICY,
    }
    arguments.update(kwargs)
    return decide_after_call(outcome, **arguments)


class TestTerminalOutcomes:
    def test_answered_is_done(self) -> None:
        assert decide(CallOutcome.ANSWERED) == Completed()

    def test_not_interested_stops_automatic_attempts_only(self) -> None:
        assert decide(CallOutcome.NOT_INTERESTED) == Stop(StopReason.NOT_INTERESTED)

    def test_do_not_call_sets_dnd_and_cancels_everything(self) -> None:
        assert decide(CallOutcome.DO_NOT_CALL) == Stop(
            StopReason.DO_NOT_CALL, set_dnd=True, cancel_manual_tasks=True
        )

    @pytest.mark.parametrize("outcome", [*sorted(RETRYABLE_OUTCOMES), CallOutcome.CALLBACK_REQUESTED])
    def test_lead_with_dnd_is_never_called_again(self, outcome: CallOutcome) -> None:
        decision = decide(outcome, lead=lead(dnd=True), requested_at=new_york(6, 3, 10))
        assert decision == Stop(StopReason.DND, cancel_manual_tasks=True)


class TestRetries:
    @pytest.mark.parametrize(
        ("outcome", "delay"),
        [
            (CallOutcome.NO_ANSWER, timedelta(hours=2)),
            (CallOutcome.BUSY, timedelta(minutes=20)),
            (CallOutcome.VOICEMAIL, timedelta(hours=4)),
            (CallOutcome.FAILED, timedelta(minutes=10)),
        ],
    )
    def test_retry_after_backoff_in_the_next_window_slot(
        self, outcome: CallOutcome, delay: timedelta
    ) -> None:
        now = new_york(6, 2, 10)
        decision = decide(outcome, now=now)
        assert isinstance(decision, Retry)
        assert decision.attempt == 2 and decision.outcome is outcome
        assert decision.not_before == now + delay
        assert decision.slot.start == now + delay  # the windows are open then
        assert decision.slot.end <= new_york(6, 2, 18)

    def test_backoff_grows_per_attempt_and_is_capped(self) -> None:
        policy = RetryPolicy(max_delay=timedelta(hours=10))
        delays = [policy.delay_after(CallOutcome.NO_ANSWER, attempt) for attempt in (1, 2, 3, 4, 50)]
        assert delays == [timedelta(hours=h) for h in (2, 4, 8, 10, 10)]
        flat = RetryPolicy(backoff_multiplier=1)
        assert flat.delay_after(CallOutcome.BUSY, 4) == timedelta(minutes=20)
        with pytest.raises(SchedulingError, match="not retried"):
            policy.delay_after(CallOutcome.ANSWERED, 1)
        with pytest.raises(SchedulingError, match="at least 1"):
            policy.delay_after(CallOutcome.BUSY, 0)

    def test_retry_skips_to_the_next_window_when_backoff_runs_past_today(self) -> None:
        decision = decide(CallOutcome.VOICEMAIL, now=new_york(6, 6, 16))  # Friday 16:00, +4h = 20:00
        assert isinstance(decision, Retry)
        assert decision.slot.start == new_york(6, 9, 9)  # Monday's window

    def test_retry_avoids_an_hour_that_keeps_going_unanswered(self) -> None:
        now = new_york(6, 3, 7)
        history = [
            PastAttempt(new_york(6, 1, 9, 5), CallOutcome.NO_ANSWER),
            PastAttempt(new_york(6, 2, 9, 10), CallOutcome.NO_ANSWER),
        ]
        # Immediate retries (no delay) so the 09:00 hour is the earliest candidate.
        policy = RetryPolicy(retry_delays=dict.fromkeys(RETRYABLE_OUTCOMES, timedelta(0)))
        decision = decide(CallOutcome.NO_ANSWER, attempt=2, now=now, history=history, policy=policy)
        assert isinstance(decision, Retry)
        assert decision.slot.start == new_york(6, 3, 10)

    def test_retry_goes_to_the_hour_that_answered_before(self) -> None:
        history = [PastAttempt(new_york(5, 28, 17, 30), CallOutcome.ANSWERED)]
        decision = decide(CallOutcome.NO_ANSWER, history=history)
        assert isinstance(decision, Retry)
        assert decision.slot.start == new_york(6, 2, 17)

    def test_stops_at_max_attempts(self) -> None:
        policy = RetryPolicy(max_attempts=3)
        assert isinstance(decide(CallOutcome.BUSY, attempt=2, policy=policy), Retry)
        assert decide(CallOutcome.BUSY, attempt=3, policy=policy) == Stop(StopReason.MAX_ATTEMPTS)

    def test_stops_when_no_callable_time_in_horizon(self) -> None:
        night_owl = lead(windows=[TimeWindow(days=["MON"], start="22:00", end="23:00")])
        assert decide(CallOutcome.NO_ANSWER, lead=night_owl) == Stop(StopReason.NO_CALLABLE_TIME)

    def test_invalid_attempt_and_naive_now(self) -> None:
        with pytest.raises(SchedulingError, match="attempt"):
            decide(CallOutcome.NO_ANSWER, attempt=0)
        with pytest.raises(NaiveDatetimeError):
            decide(CallOutcome.NO_ANSWER, now=datetime(2025, 6, 2, 10))


class TestCallbacks:
    def callback(self, requested_at: datetime | None, now: datetime, **kwargs: object) -> object:
        return decide(CallOutcome.CALLBACK_REQUESTED, requested_at=requested_at, now=now, **kwargs)

    def test_future_time_in_calling_hours_is_kept_even_outside_windows(self) -> None:
        # Saturday 11:00 is outside the lead's weekday windows, but the lead asked for it.
        asked = new_york(6, 7, 11)
        assert self.callback(asked, now=new_york(6, 2, 10)) == Callback(asked, asked, adjusted=False)

    def test_past_time_becomes_the_first_legal_moment_from_now(self) -> None:
        now = new_york(6, 2, 10)
        decision = self.callback(new_york(6, 1, 10), now=now)
        assert decision == Callback(now + POLICY.callback_min_notice, new_york(6, 1, 10), adjusted=True)

    def test_past_time_at_night_waits_for_the_morning(self) -> None:
        decision = self.callback(new_york(6, 2, 9), now=new_york(6, 2, 22))
        assert decision == Callback(new_york(6, 3, 8), new_york(6, 2, 9), adjusted=True)

    def test_late_evening_request_moves_back_to_the_last_legal_start(self) -> None:
        # 22:00 is 1h05 after the last legal start (20:55) and 10h before opening.
        decision = self.callback(new_york(6, 2, 22), now=new_york(6, 2, 10))
        assert decision == Callback(new_york(6, 2, 20, 55), new_york(6, 2, 22), adjusted=True)

    def test_early_morning_request_moves_forward_to_opening(self) -> None:
        decision = self.callback(new_york(6, 3, 7), now=new_york(6, 2, 10))
        assert decision == Callback(new_york(6, 3, 8), new_york(6, 3, 7), adjusted=True)

    def test_exact_tie_goes_to_the_earlier_time(self) -> None:
        # Legal 08:00-20:00: last start 19:55, next opening 08:00; the midpoint is 01:57:30.
        planner = SlotPlanner(PlannerSettings(calling_rules=CallingRules.uniform("08:00", "20:00")))
        asked = datetime(2025, 6, 3, 1, 57, 30, tzinfo=NEW_YORK)
        decision = self.callback(asked, now=new_york(6, 2, 10), planner=planner)
        assert decision == Callback(new_york(6, 2, 19, 55), asked, adjusted=True)

    def test_forbidden_day_moves_to_the_nearest_allowed_day(self) -> None:
        planner = SlotPlanner(
            PlannerSettings(calling_rules=CallingRules.uniform("08:00", "21:00", WEEKDAYS[:6]))
        )
        asked = new_york(6, 8, 12)  # Sunday noon: Saturday 20:55 is 15h05 away, Monday 08:00 is 20h
        decision = self.callback(asked, now=new_york(6, 2, 10), planner=planner)
        assert decision == Callback(new_york(6, 7, 20, 55), asked, adjusted=True)

    def test_nearest_time_never_goes_before_now(self) -> None:
        # Asked for 22:00 tonight at 20:58: 20:55 is gone, so it is tomorrow 08:00.
        decision = self.callback(new_york(6, 2, 22), now=new_york(6, 2, 20, 58))
        assert decision == Callback(new_york(6, 3, 8), new_york(6, 2, 22), adjusted=True)

    def test_callback_in_the_leads_own_timezone(self) -> None:
        kolkata_lead = lead(timezone="Asia/Kolkata")
        asked = datetime(2025, 6, 3, 21, 30, tzinfo=KOLKATA)
        decision = self.callback(asked, now=datetime(2025, 6, 3, 12, tzinfo=UTC), lead=kolkata_lead)
        assert decision == Callback(datetime(2025, 6, 3, 20, 55, tzinfo=KOLKATA), asked, adjusted=True)

    def test_without_a_time_the_next_best_window_slot_is_used(self) -> None:
        decision = self.callback(None, now=new_york(6, 7, 10))  # Saturday
        assert decision == Callback(new_york(6, 9, 9), None, adjusted=False)

    def test_without_a_time_and_no_window_slot_stops(self) -> None:
        night_owl = lead(windows=[TimeWindow(days=["MON"], start="22:00", end="23:00")])
        assert self.callback(None, now=new_york(6, 2, 10), lead=night_owl) == Stop(
            StopReason.NO_CALLABLE_TIME
        )

    def test_followup_requested_uses_the_same_rules(self) -> None:
        decision = plan_callback(
            new_york(6, 2, 23), lead=lead(), now=new_york(6, 2, 10), planner=PLANNER, policy=POLICY
        )
        assert decision == Callback(new_york(6, 2, 20, 55), new_york(6, 2, 23), adjusted=True)
        blocked = plan_callback(
            new_york(6, 3, 10), lead=lead(dnd=True), now=new_york(6, 2, 10), planner=PLANNER, policy=POLICY
        )
        assert blocked == Stop(StopReason.DND, cancel_manual_tasks=True)

    def test_naive_requested_time_is_refused(self) -> None:
        with pytest.raises(NaiveDatetimeError):
            self.callback(datetime(2025, 6, 3, 10), now=new_york(6, 2, 10))


class TestPolicySettings:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {"max_attempts": 0},
            {"retry_delays": {CallOutcome.BUSY: timedelta(minutes=5)}},
            {
                "retry_delays": {
                    **dict.fromkeys(RETRYABLE_OUTCOMES, timedelta(minutes=5)),
                    CallOutcome.BUSY: timedelta(-1),
                }
            },
            {"backoff_multiplier": 0.5},
            {"max_delay": timedelta(-1)},
            {"callback_min_notice": timedelta(-1)},
            {"search_horizon": timedelta(0)},
            {"search_horizon": timedelta(days=401)},
        ],
    )
    def test_invalid_policy(self, kwargs: dict[str, object]) -> None:
        with pytest.raises(InvalidSettingsError):
            RetryPolicy(**kwargs)
