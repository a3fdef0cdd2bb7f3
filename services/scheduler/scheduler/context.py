"""The scheduling rules configured from settings, with the clock; shared by handlers, API and loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from parley_contracts import CallMode, LeadSnapshot
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
                calling_rules=settings.calling_rules_table(),
                slot_length=timedelta(minutes=settings.slot_minutes),
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

    def planning_problem(self, lead: LeadSnapshot) -> str | None:
        """Why the lead's windows or zones cannot be planned (e.g. a 09:00-09:00 window), or None."""
        zones = lead.calling_zones()
        if not zones:
            return "timezone needed: the phone number maps to no timezone; set the lead's timezone"
        try:
            for zone in zones:
                load_zone(zone)
            self.planner.pattern(lead.preferred_time_windows, lead.country)
        except SchedulingError as exc:
            return str(exc)[:300]
        return None

    def latest_callback(self, now: datetime) -> datetime:
        """How far ahead a callback or manual task may be booked."""
        return now + timedelta(days=self.settings.manual_task_max_days_ahead)

    def within_calling_hours(self, lead: LeadSnapshot, at: datetime) -> bool:
        """Whether a call may start at `at`: legal hours in every zone of the lead hold for at least
        the shortest useful slot."""
        span = self.planner.settings.min_slot_length
        intervals = self.planner.calling_hours_intervals(
            lead.calling_zones(), now=at, horizon=span, country=lead.country
        )
        return _covers(intervals, span)

    def within_windows(self, lead: LeadSnapshot, at: datetime) -> bool:
        """Whether `at` starts a useful stretch of the lead's preferred windows (within legal hours)."""
        span = self.planner.settings.min_slot_length
        intervals = self.planner.allowed_intervals(
            lead.preferred_time_windows, lead.calling_zones(), now=at, horizon=span, country=lead.country
        )
        return _covers(intervals, span)

    def legal_hours_text(self, lead: LeadSnapshot) -> str:
        """The calling rule that applies to the lead, as people read it."""
        return self.planner.settings.calling_rules.for_country(lead.country).describe()


def _covers(intervals: list[Interval], span: timedelta) -> bool:
    return sum((interval.duration for interval in intervals), timedelta()) >= span


def scheduling_of(runtime: ServiceRuntime) -> Scheduling:
    scheduling: Scheduling = runtime.extras[SCHEDULING]
    return scheduling
