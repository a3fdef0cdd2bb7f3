"""Scheduler settings from the environment: calling hours, retry policy, dial limits, timeouts."""

from __future__ import annotations

from parley_calltime import CallingRulesSettings
from pydantic import Field, model_validator
from servicekit.settings import Profile, ServiceSettings


class SchedulerSettings(ServiceSettings, CallingRulesSettings):
    """Legal calling hours (CALLING_HOURS_*, CALLING_RULES by country) come from `CallingRulesSettings`,
    read the same way by voice-bridge."""

    service_name: str = "scheduler"
    port: int = 8103
    database_url: str = "sqlite+aiosqlite:///./var/data/scheduler.db"

    slot_minutes: int = Field(default=15, ge=5, le=240)
    # How far ahead automatic planning, retries and callbacks without a time look for a slot.
    planning_horizon_days: int = Field(default=14, ge=1, le=90)
    max_attempts: int = Field(default=5, ge=1, le=50)
    manual_task_max_days_ahead: int = Field(default=90, ge=1, le=365)

    # The dispatch loop: one replica holds the dispatcher lease and dials; the others stand by.
    dispatch_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    dispatch_batch_size: int = Field(default=50, ge=1, le=1000)
    dispatcher_lease_seconds: float = Field(default=10.0, gt=0, le=600)
    max_concurrent_calls: int = Field(default=10, ge=1)
    max_concurrent_calls_per_agent: int = Field(default=3, ge=1)
    dials_per_second: float = Field(default=2.0, gt=0)
    breaker_window_seconds: float = Field(default=60.0, gt=0)
    breaker_min_calls: int = Field(default=10, ge=1)
    breaker_failure_ratio: float = Field(default=0.5, gt=0, le=1)
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    # A dispatched call must report (call.started / call.status) within this, else the task is MISSED.
    call_start_timeout_seconds: float = Field(default=120.0, gt=0)
    # A call that started must end (call.ended) within this, else the task is MISSED.
    max_call_seconds: float = Field(default=3600.0, gt=0)

    reminder_minutes: int = Field(default=15, ge=0, le=24 * 60)
    # Automatic calls (AUTO, RETRY, CALLBACK) in simulated (text) mode instead of phone: the demo
    # stack has no Twilio account. Unset means "on in the dev profile, off otherwise"; never in prod.
    demo_simulated_calls: bool | None = None

    @model_validator(mode="after")
    def _coherent(self) -> SchedulerSettings:
        if self.profile is Profile.PROD and self.demo_simulated_calls:
            raise ValueError(
                "DEMO_SIMULATED_CALLS is a dev/test setting; it cannot be on with PARLEY_PROFILE=prod"
            )
        return self

    @property
    def simulated_automatic_calls(self) -> bool:
        if self.demo_simulated_calls is None:
            return self.profile is Profile.DEV
        return self.demo_simulated_calls
