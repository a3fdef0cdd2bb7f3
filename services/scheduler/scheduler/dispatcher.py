"""The dispatch loop: at each task's time, `call.requested` through the outbox, within the dial limits.

Two layers keep two (or more) replicas safe:
- **dispatcher lease** (one row): the replica holding it runs the loop; the others stand by and take
  over when it stops renewing. So the in-memory dial throttles (dials per second, circuit breaker)
  are the whole platform's, not one replica's each.
- **task claim**: each task flips PENDING -> DISPATCHED in the transaction that writes its
  `call.requested`. On PostgreSQL/MariaDB the due rows are taken with `SELECT ... FOR UPDATE SKIP
  LOCKED`; on every backend the flip is `UPDATE ... WHERE status = 'PENDING'` and only a changed row
  dispatches. So even two loops running at once (a lease handed over while the old holder stalls)
  dispatch a task once.

Concurrency slots are the DISPATCHED tasks whose line is not free yet (from the database, so they
survive restarts and are shared by replicas); they free up when call.status reports a terminal
status, call.ended arrives, or the call times out (MISSED). The circuit breaker is fed from the
call-attempts table, so outcomes count whichever replica consumed them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from parley_contracts import CallRequested
from servicekit.db import is_sqlite
from servicekit.runtime import ServiceRuntime

from . import service_layer as svc
from .adapters import repository as repo
from .context import Scheduling
from .domain import (
    REMINDED_KINDS,
    BreakerState,
    CircuitBreaker,
    ConcurrencyLimiter,
    TokenBucket,
)

log = logging.getLogger("scheduler.dispatcher")

LEASE_NAME = "dialer"
# How far back each pass re-reads dial results: a transaction that stamped an attempt just before
# the last pass may commit just after it.
_FEED_OVERLAP = timedelta(seconds=30)


@dataclass
class PassReport:
    """What one pass of the loop did (tests and logs read it)."""

    leader: bool = False
    dispatched: int = 0
    missed: int = 0
    reminded: int = 0
    rescheduled: int = 0
    canceled: int = 0
    breaker: BreakerState = BreakerState.CLOSED


class Dispatcher:
    def __init__(self, runtime: ServiceRuntime, ctx: Scheduling) -> None:
        self.runtime = runtime
        self.ctx = ctx
        settings = ctx.settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.bucket = TokenBucket(rate=settings.dials_per_second, clock=ctx.clock)
        self.breaker = CircuitBreaker(
            window=settings.breaker_window_seconds,
            min_calls=settings.breaker_min_calls,
            failure_ratio=settings.breaker_failure_ratio,
            cooldown=settings.breaker_cooldown_seconds,
            clock=ctx.clock,
        )
        self.leader = False
        self._fed: dict[str, datetime] = {}  # dial results already given to the breaker
        self._feed_from: datetime | None = None
        self._skip_locked = not is_sqlite(runtime.settings.database_url)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler-dispatcher")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self.leader:
            # Hand over at once instead of making the standby wait for the lease to run out.
            async with self.runtime.db.transaction() as session:
                await repo.release_dispatcher_lease(session, LEASE_NAME, self.owner, self.ctx.clock.now())
            self.leader = False

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("dispatch pass failed; retrying")
            await asyncio.sleep(self.ctx.settings.dispatch_interval_seconds)

    async def run_once(self) -> PassReport:
        now = self.ctx.clock.now()
        report = PassReport()
        if not await self._hold_lease(now):
            return report
        report.leader = True
        await self._feed_breaker(now)
        await self._expire_silent_calls(now, report)
        await self._send_reminders(now, report)
        await self.dispatch_due(now, report)
        report.breaker = self.breaker.state
        return report

    async def _hold_lease(self, now: datetime) -> bool:
        expires_at = now + timedelta(seconds=self.ctx.settings.dispatcher_lease_seconds)
        async with self.runtime.db.transaction() as session:
            holds = await repo.hold_dispatcher_lease(session, LEASE_NAME, self.owner, now, expires_at)
        if holds and not self.leader:
            log.info("dispatcher lease taken by %s", self.owner)
            # Start from the recent dial results, so a new leader's breaker knows what the old one knew.
            self._feed_from = now - timedelta(seconds=self.breaker.window)
        self.leader = holds
        return holds

    async def _feed_breaker(self, now: datetime) -> None:
        since = self._feed_from or now
        async with self.runtime.db.session() as session:
            results = await repo.dial_results_since(session, since)
        for attempt_id, recorded_at, outcome in results:
            if attempt_id not in self._fed:
                self._fed[attempt_id] = recorded_at
                self.breaker.record(outcome)
        newest = max((recorded_at for _, recorded_at, _ in results), default=since)
        self._feed_from = max(since, newest - _FEED_OVERLAP)
        self._fed = {key: at for key, at in self._fed.items() if at >= self._feed_from}

    async def _expire_silent_calls(self, now: datetime, report: PassReport) -> None:
        async with self.runtime.db.session() as session:
            silent = await repo.silent_dispatched_tasks(session, now, self.ctx.settings.dispatch_batch_size)
        for task_id in silent:
            async with self.runtime.unit_of_work() as uow:
                if await svc.expire_silent_call(uow, self.ctx, task_id):
                    report.missed += 1

    async def _send_reminders(self, now: datetime, report: PassReport) -> None:
        ahead = timedelta(minutes=self.ctx.settings.reminder_minutes)
        async with self.runtime.unit_of_work() as uow:
            due = await repo.tasks_to_remind(
                uow.session, REMINDED_KINDS, now + ahead, self.ctx.settings.dispatch_batch_size
            )
            for task in due:
                if await svc.send_reminder(uow, self.ctx, task):
                    report.reminded += 1

    async def dispatch_due(self, now: datetime, report: PassReport) -> None:
        """Dial what is due, within the limits. Safe to run in several replicas at once (the
        claim is per task); the lease only keeps the throttles global."""
        if self.breaker.state is BreakerState.OPEN:
            return
        settings, ctx = self.ctx.settings, self.ctx
        lease_until = now + timedelta(seconds=settings.call_start_timeout_seconds)
        undialable: list[uuid.UUID] = []
        async with self.runtime.unit_of_work() as uow:
            limiter = ConcurrencyLimiter(
                global_limit=settings.max_concurrent_calls,
                per_agent_limit=settings.max_concurrent_calls_per_agent,
                clock=ctx.clock,
            )
            for task_id, agent_id in await repo.calls_in_progress(uow.session):
                limiter.try_acquire(task_id, agent_id)
            if limiter.active >= settings.max_concurrent_calls:
                return
            due = await repo.lock_due_tasks(
                uow.session, now, settings.dispatch_batch_size, skip_locked=self._skip_locked
            )
            leads = await repo.get_leads(uow.session, {task.lead_id for task in due})
            for task in due:
                lead = leads.get(task.lead_id)
                slot_over = (
                    task.window_end is not None
                    and now + ctx.planner.settings.min_slot_length > task.window_end
                )
                if (
                    lead is None
                    or not lead.callable
                    or slot_over
                    or not ctx.within_calling_hours(lead.snapshot(), now)
                ):
                    # Never dialed late or outside legal hours; settled below, under the lead's lock.
                    undialable.append(task.id)
                    continue
                if not limiter.try_acquire(task.id, task.agent_id):
                    continue  # this agent (or everyone) is at the limit; the task waits
                if self.bucket.tokens < 1 or not self.breaker.allow():
                    break
                if not await repo.mark_dispatched(
                    uow.session, task.id, owner=self.owner, now=now, lease_until=lease_until
                ):
                    limiter.release(task.id)
                    continue
                self.bucket.try_take()
                await uow.emit(
                    CallRequested(
                        task_id=task.id,
                        lead_id=task.lead_id,
                        assigned_agent_id=task.agent_id,
                        mode=task.mode,
                        attempt=task.attempt,
                    )
                )
                report.dispatched += 1
        for task_id in undialable:
            async with self.runtime.unit_of_work() as uow:
                match await svc.settle_undialable_task(uow, ctx, task_id):
                    case "canceled":
                        report.canceled += 1
                    case "rescheduled":
                        report.rescheduled += 1
