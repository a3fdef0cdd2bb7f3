"""The scheduling rules configured from settings, with the clock; shared by handlers, API and loop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from parley_contracts import CallMode, TimeWindow
from servicekit.runtime import ServiceRuntime

from .clock import SchedulerClock
from .domain import Interval, PlannerSettings, RetryPolicy, SchedulingError, SlotPlanner, load_zone
from .settings import SchedulerSettings

SCHEDULING = "scheduling"


@dataclass(frozen=True)
class Scheduling:
    settings: SchedulerSettings
    planner: SlotPlanner
    policy: RetryPolicy
    clock: SchedulerClock

    @classmethod
    def create(cls, settings: SchedulerSettings, clock: SchedulerClock) -> Scheduling:
        planner = SlotPlanner(
            PlannerSettings(
                calling_hours=settings.calling_hours(), slot_length=timedelta(minutes=settings.slot_minutes)
            )
        )
        policy = RetryPolicy(
            max_attempts=settings.max_attempts, search_horizon=timedelta(days=settings.planning_horizon_days)
        )
        return cls(settings, planner, policy, clock)

    @property
    def automatic_mode(self) -> CallMode:
        """How the dialer places the calls it plans itself (AUTO, RETRY, CALLBACK)."""
        return "simulated" if self.settings.simulated_automatic_calls else "phone"

    @property
    def horizon(self) -> timedelta:
        return self.policy.search_horizon

    @property
    def slot_length(self) -> timedelta:
        return self.planner.settings.slot_length

    def planning_problem(self, windows: Sequence[TimeWindow], timezone: str) -> str | None:
        """Why these windows or this timezone cannot be planned (e.g. a 09:00-09:00 window), or None."""
        try:
            load_zone(timezone)
            self.planner.pattern(windows)
        except SchedulingError as exc:
            return str(exc)[:300]
        return None

    def latest_callback(self, now: datetime) -> datetime:
        """How far ahead a callback or manual task may be booked."""
        return now + timedelta(days=self.settings.manual_task_max_days_ahead)

    def within_calling_hours(self, timezone: str, at: datetime) -> bool:
        """Whether a call may start at `at`: legal hours hold for at least the shortest useful slot."""
        span = self.planner.settings.min_slot_length
        return _covers(self.planner.calling_hours_intervals(timezone, now=at, horizon=span), span)

    def within_windows(self, windows: Sequence[TimeWindow], timezone: str, at: datetime) -> bool:
        """Whether `at` starts a useful stretch of the lead's preferred windows (within legal hours)."""
        span = self.planner.settings.min_slot_length
        return _covers(self.planner.allowed_intervals(windows, timezone, now=at, horizon=span), span)


def _covers(intervals: list[Interval], span: timedelta) -> bool:
    return sum((interval.duration for interval in intervals), timedelta()) >= span


def scheduling_of(runtime: ServiceRuntime) -> Scheduling:
    scheduling: Scheduling = runtime.extras[SCHEDULING]
    return scheduling
