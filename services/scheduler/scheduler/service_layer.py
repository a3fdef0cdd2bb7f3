"""Scheduler use cases. Each runs in one unit of work: it changes call tasks and emits what follows
(task.scheduled / task.completed / task.canceled, lead.set_consent) through the outbox.

Locking: a use case locks the lead's projection row first, then the task rows it changes, so
concurrent consumers and API calls on one lead queue up instead of deadlocking; task writes are
also conditional on the status they read. The dispatch transaction locks only due tasks.

The rules on tasks (one pending automatic task per lead, callbacks suspend automatic planning, who
cancels what) are listed in `domain.tasks`; the decision after a call is `domain.decide_after_call`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from parley_contracts import (
    CallMode,
    CallOutcome,
    DialingChanged,
    LeadSnapshot,
    SetLeadConsent,
    TaskCanceled,
    TaskCompleted,
    TaskReminder,
    TaskScheduled,
)
from servicekit.auth import Principal
from servicekit.errors import Conflict, Forbidden, NotFound, Unprocessable
from servicekit.messaging import UnitOfWork
from servicekit.runtime import ServiceRuntime

from .adapters import repository as repo
from .adapters.database_calendar import DatabaseCalendar
from .adapters.repository import CallTask, LeadRecord
from .adapters.sql import as_utc
from .adapters.tables import lead_projection
from .api.schemas import ManualTaskIn
from .context import Scheduling
from .domain import (
    AUTOMATIC_KINDS,
    PRIORITY,
    RESUMABLE_STOPS,
    STOP_FOR_REASON,
    SYSTEM_PLANNED_KINDS,
    TIMING_STOPS,
    CalendarEvent,
    Callback,
    Completed,
    Decision,
    DialingStop,
    Interval,
    PastAttempt,
    Retry,
    Stop,
    StopReason,
    TaskKind,
    TaskStatus,
    decide_after_call,
    event_id_for_task,
    next_best_slot,
    plan_callback,
)

log = logging.getLogger("scheduler.service")

DIALER, AGENT = "dialer", "agent"
# Outcomes whose decision needs no slot planning: they apply even to a lead that cannot be planned.
DECIDED_WITHOUT_PLANNING = frozenset(
    {CallOutcome.ANSWERED, CallOutcome.NOT_INTERESTED, CallOutcome.DO_NOT_CALL}
)

# Telephony statuses that end a call without a conversation, and what they mean for the task.
UNANSWERED_STATUSES: dict[str, CallOutcome] = {
    "busy": CallOutcome.BUSY,
    "no-answer": CallOutcome.NO_ANSWER,
    "failed": CallOutcome.FAILED,
}
# The line is free but the outcome (what the lead said) comes with call.ended.
LINE_FREE_STATUSES = frozenset({"completed", "canceled"})


# -- task changes -----------------------------------------------------------------------------


async def _create_task(
    uow: UnitOfWork,
    ctx: Scheduling,
    lead: LeadRecord,
    kind: TaskKind,
    at: datetime,
    *,
    window_end: datetime | None,
    not_before: datetime,
    attempt: int,
    reason: str,
    mode: CallMode | None = None,
    note: str | None = None,
    created_by: uuid.UUID | None = None,
) -> CallTask:
    now = ctx.clock.now()
    task = CallTask(
        id=uuid.uuid4(),
        lead_id=lead.id,
        agent_id=lead.assigned_agent_id,
        kind=kind,
        status=TaskStatus.PENDING,
        scheduled_for=at,
        window_end=window_end,
        not_before=not_before,
        attempt=attempt,
        priority=PRIORITY[kind],
        mode=mode or ctx.automatic_mode,
        outcome=None,
        reason=reason,
        note=note,
        created_by=created_by,
        call_id=None,
        dispatched_at=None,
        lease_owner=None,
        lease_until=None,
        call_ended_at=None,
        reminder_sent_at=None,
        completed_at=None,
        created_at=now,
        updated_at=now,
    )
    await repo.insert_task(uow.session, task)
    await uow.emit(_scheduled(task, rescheduled=False))
    return task


def _scheduled(task: CallTask, *, rescheduled: bool) -> TaskScheduled:
    return TaskScheduled(
        task_id=task.id,
        lead_id=task.lead_id,
        assigned_agent_id=task.agent_id,
        kind=task.kind.value,
        scheduled_for=task.scheduled_for,
        mode=task.mode,
        attempt=task.attempt,
        rescheduled=rescheduled,
        reason=task.reason,
    )


async def cancel_tasks(uow: UnitOfWork, ctx: Scheduling, tasks: Sequence[CallTask], reason: str) -> None:
    now = ctx.clock.now()
    for task in tasks:
        canceled = replace(task, status=TaskStatus.CANCELED, reason=reason, completed_at=now, updated_at=now)
        if not await repo.update_task(uow.session, canceled, expected=TaskStatus.PENDING):
            continue  # no longer pending: dispatched or closed meanwhile
        if task.kind is TaskKind.MANUAL and task.agent_id is not None:
            await DatabaseCalendar(uow.session).cancel_event(str(task.agent_id), event_id_for_task(task.id))
        await uow.emit(
            TaskCanceled(
                task_id=task.id,
                lead_id=task.lead_id,
                assigned_agent_id=task.agent_id,
                kind=task.kind.value,
                reason=reason,
            )
        )


async def _move(
    uow: UnitOfWork,
    ctx: Scheduling,
    lead: LeadRecord,
    task: CallTask,
    at: datetime,
    window_end: datetime | None,
    reason: str,
) -> None:
    if at == task.scheduled_for and window_end == task.window_end:
        return
    moved = replace(
        task,
        scheduled_for=at,
        window_end=window_end,
        reason=reason,
        # A new time is a new appointment: the agent is reminded of it again.
        reminder_sent_at=None,
        updated_at=ctx.clock.now(),
    )
    if not await repo.update_task(uow.session, moved, expected=TaskStatus.PENDING):
        return
    if task.kind is TaskKind.MANUAL:
        calendar = DatabaseCalendar(uow.session)
        if task.agent_id is not None:
            await calendar.cancel_event(str(task.agent_id), event_id_for_task(task.id))
        await _book(calendar, ctx, lead, moved)
    await uow.emit(_scheduled(moved, rescheduled=True))


async def _book(calendar: DatabaseCalendar, ctx: Scheduling, lead: LeadRecord, task: CallTask) -> None:
    """Put a MANUAL task into its agent's calendar (the slot it occupies)."""
    if task.agent_id is None:
        return
    await calendar.create_event(
        CalendarEvent(
            event_id=event_id_for_task(task.id),
            calendar_id=str(task.agent_id),
            slot=Interval(task.scheduled_for, task.scheduled_for + ctx.slot_length),
            title=f"Call {lead.name}"[:200],
            description=task.note,
            lead_id=lead.id,
            task_id=task.id,
        )
    )


async def _set_dialing(
    uow: UnitOfWork, ctx: Scheduling, lead: LeadRecord, stopped: DialingStop | None, detail: str | None = None
) -> LeadRecord:
    """Record why automatic dialing stopped (None: it goes on) and tell the lead's timeline."""
    if stopped is DialingStop.NO_CALLABLE_TIME and detail is None:
        detail = (
            f"no time in the next {ctx.horizon.days} days is inside the lead's windows and legal calling "
            f"hours ({ctx.legal_hours_text(lead.snapshot())})"
        )
        if lead.timezone_needed and lead.zones:
            # Legal time exists in each zone alone, never in all: someone must settle the timezone.
            stopped = DialingStop.TIMEZONE_NEEDED
            detail += f" in every timezone the number may be in ({', '.join(lead.zones)}); confirm it"
    if lead.dialing_stopped is stopped:
        return lead
    lead = replace(lead, dialing_stopped=stopped)
    await repo.update_lead(uow.session, lead)
    await uow.emit(
        DialingChanged(
            lead_id=lead.id,
            assigned_agent_id=lead.assigned_agent_id,
            stopped=stopped.value if stopped else None,
            detail=detail,
        )
    )
    return lead


async def _history(uow: UnitOfWork, lead_id: uuid.UUID) -> list[PastAttempt]:
    return (await repo.lead_history(uow.session, [lead_id]))[lead_id]


# -- planning from lead events ----------------------------------------------------------------


async def project_lead(uow: UnitOfWork, ctx: Scheduling, snapshot: LeadSnapshot) -> None:
    """lead.created / lead.updated: keep the newest snapshot, then re-plan the lead's pending tasks."""
    # Lock only a row that exists: on MariaDB, FOR UPDATE of a missing row takes a gap lock that
    # deadlocks concurrent first inserts. Two first inserts of one lead collide on the primary key
    # instead, and the loser is redelivered and finds the row.
    previous = await repo.get_lead(uow.session, snapshot.id)
    if previous is not None:
        previous = await repo.get_lead(uow.session, snapshot.id, for_update=True)
    if previous is not None:
        if previous.deleted:
            return  # a late snapshot of a deleted lead
        if previous.updated_at and snapshot.updated_at and as_utc(snapshot.updated_at) <= previous.updated_at:
            return  # an older (or the same) version: consumers of different subjects race
    problem = ctx.planning_problem(snapshot)
    if problem is not None:
        log.warning("lead %s cannot be planned: %s", snapshot.id, problem)
    lead = LeadRecord.from_snapshot(snapshot, previous, problem)
    if previous is None:
        await repo.insert_lead(uow.session, lead)
    else:
        await repo.update_lead(uow.session, lead)
    await _replan(uow, ctx, lead, previous)


async def project_missing_lead(runtime: ServiceRuntime, ctx: Scheduling, lead_id: uuid.UUID) -> None:
    """Read-your-writes for the API: a lead created a moment ago whose lead.created has not arrived
    yet is asked of leads and projected (and its first call planned) now, as the event would."""

    async def changed(uow: UnitOfWork, snapshot: LeadSnapshot) -> None:
        await project_lead(uow, ctx, snapshot)

    await lead_projection.fill_missing(runtime, lead_id, changed)


async def forget_lead(uow: UnitOfWork, ctx: Scheduling, lead_id: uuid.UUID) -> None:
    """lead.deleted: cancel its pending tasks and keep a tombstone."""
    lead = await repo.get_lead(uow.session, lead_id, for_update=True)
    if lead is None or lead.deleted:
        return
    lead = replace(lead, deleted=True)
    await repo.update_lead(uow.session, lead)
    await _replan(uow, ctx, lead, None)


async def apply_do_not_call(
    uow: UnitOfWork, ctx: Scheduling, lead_id: uuid.UUID, occurred_at: datetime
) -> None:
    """lead.consent_changed with DND: cancel at once (the lead.updated with the snapshot follows)."""
    lead = await repo.get_lead(uow.session, lead_id, for_update=True)
    if lead is None or lead.dnd or (lead.updated_at and occurred_at <= lead.updated_at):
        return
    # The version stays: the lead.updated carrying this change (and maybe others) must still apply.
    lead = replace(lead, dnd=True)
    await repo.update_lead(uow.session, lead)
    await _replan(uow, ctx, lead, None)


async def _replan(uow: UnitOfWork, ctx: Scheduling, lead: LeadRecord, previous: LeadRecord | None) -> None:
    session = uow.session
    now = ctx.clock.now()
    pending = await repo.lead_tasks(session, lead.id, [TaskStatus.PENDING])
    if not lead.callable:
        await cancel_tasks(uow, ctx, pending, lead.not_callable_reason)
        if lead.dialing_stopped is None and not lead.deleted:
            if lead.dnd:
                await _set_dialing(uow, ctx, lead, DialingStop.DND)
            elif not lead.zones:
                await _set_dialing(uow, ctx, lead, DialingStop.TIMEZONE_NEEDED, lead.plan_error)
            else:
                await _set_dialing(uow, ctx, lead, DialingStop.NO_CALLABLE_TIME, lead.plan_error)
        return
    if previous is not None and previous.assigned_agent_id != lead.assigned_agent_id:
        await repo.reassign_open_tasks(session, lead.id, lead.assigned_agent_id)
        pending = [replace(task, agent_id=lead.assigned_agent_id) for task in pending]
    timing_changed = previous is not None and (
        previous.windows != lead.windows
        or previous.timezone != lead.timezone
        or previous.zones != lead.zones
        or previous.country != lead.country
    )
    callbacks = [task for task in pending if task.kind is TaskKind.CALLBACK]
    if timing_changed:
        history = await _history(uow, lead.id)
        for task in callbacks:
            await _revalidate_callback(uow, ctx, lead, task, history, now)
        for task in pending:
            if task.kind in AUTOMATIC_KINDS:
                await replan_automatic(
                    uow, ctx, lead, task, history, "the lead's windows or timezone changed"
                )
        pending = await repo.lead_tasks(session, lead.id, [TaskStatus.PENDING])
    if any(task.kind in AUTOMATIC_KINDS or task.kind is TaskKind.CALLBACK for task in pending):
        return
    stopped = lead.dialing_stopped
    if stopped is not None and (
        stopped not in RESUMABLE_STOPS or (stopped in TIMING_STOPS and not timing_changed)
    ):
        return
    if await repo.lead_tasks(session, lead.id, [TaskStatus.DISPATCHED]):
        return  # a call is under way: its outcome decides what comes next
    await _plan_automatic(uow, ctx, lead, await _history(uow, lead.id), now)


async def _plan_automatic(
    uow: UnitOfWork, ctx: Scheduling, lead: LeadRecord, history: list[PastAttempt], now: datetime
) -> CallTask | None:
    """The lead's next automatic attempt at its best slot, or a recorded reason why there is none."""
    attempt = len(history) + 1
    if attempt > ctx.policy.max_attempts:
        await _set_dialing(uow, ctx, lead, DialingStop.MAX_ATTEMPTS)
        return None
    best = next_best_slot(
        lead.snapshot(),
        planner=ctx.planner,
        now=now,
        horizon=ctx.horizon,
        history=history,
        settings=ctx.policy.ranking,
    )
    if best is None:
        await _set_dialing(uow, ctx, lead, DialingStop.NO_CALLABLE_TIME)
        return None
    await _set_dialing(uow, ctx, lead, None)
    reason = "first call in the lead's preferred window" if not history else "automatic dialing resumed"
    return await _create_task(
        uow,
        ctx,
        lead,
        TaskKind.AUTO,
        best.slot.start,
        window_end=best.slot.end,
        not_before=now,
        attempt=attempt,
        reason=reason,
    )


async def replan_automatic(
    uow: UnitOfWork,
    ctx: Scheduling,
    lead: LeadRecord,
    task: CallTask,
    history: list[PastAttempt],
    reason: str,
) -> None:
    """Move a pending AUTO/RETRY task to the lead's best slot from its earliest allowed time."""
    now = ctx.clock.now()
    best = next_best_slot(
        lead.snapshot(),
        planner=ctx.planner,
        now=now,
        not_before=task.not_before,
        horizon=ctx.horizon,
        history=history,
        settings=ctx.policy.ranking,
    )
    if best is None:
        await cancel_tasks(uow, ctx, [task], "no callable time left in the lead's windows")
        await _set_dialing(uow, ctx, lead, DialingStop.NO_CALLABLE_TIME)
        return
    await _move(uow, ctx, lead, task, best.slot.start, best.slot.end, reason)


async def _revalidate_callback(
    uow: UnitOfWork,
    ctx: Scheduling,
    lead: LeadRecord,
    task: CallTask,
    history: list[PastAttempt],
    now: datetime,
) -> None:
    if task.scheduled_for <= now:
        return  # due already: the dispatcher checks calling hours when it dials
    decision = plan_callback(
        task.scheduled_for,
        lead=lead.snapshot(),
        now=now,
        planner=ctx.planner,
        policy=ctx.policy,
        history=history,
    )
    if isinstance(decision, Stop):
        await cancel_tasks(uow, ctx, [task], "no legal calling time near the asked time")
    else:
        await _move(
            uow, ctx, lead, task, decision.at, None, "moved into calling hours of the lead's new timezone"
        )


async def move_into_calling_hours(uow: UnitOfWork, ctx: Scheduling, lead: LeadRecord, task: CallTask) -> None:
    """A due CALLBACK/MANUAL task that cannot be dialed now: the nearest legal time from now."""
    now = ctx.clock.now()
    decision = plan_callback(
        now, lead=lead.snapshot(), now=now, planner=ctx.planner, policy=ctx.policy, history=()
    )
    if isinstance(decision, Stop):
        await cancel_tasks(uow, ctx, [task], "no legal calling time ahead")
    else:
        await _move(
            uow, ctx, lead, task, decision.at, None, "due outside calling hours; moved to the next legal time"
        )


# -- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallReport:
    """How one call attempt ended, from a call event, an agent, or the dispatcher's timeout."""

    lead_id: uuid.UUID
    outcome: CallOutcome
    at: datetime
    source: str
    task_id: uuid.UUID | None = None
    call_id: uuid.UUID | None = None
    requested_at: datetime | None = None
    reason: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Planned:
    """What a decision did: the next attempt's time (if any), why, and the task it created."""

    decision: Decision
    next_at: datetime | None
    reason: str
    task: CallTask | None = None

    @property
    def kind(self) -> Literal["COMPLETED", "STOP", "RETRY", "CALLBACK"]:
        match self.decision:
            case Completed():
                return "COMPLETED"
            case Stop():
                return "STOP"
            case Retry():
                return "RETRY"
        return "CALLBACK"

    @property
    def stop_reason(self) -> StopReason | None:
        return self.decision.reason if isinstance(self.decision, Stop) else None


@dataclass(frozen=True)
class OutcomeApplied:
    task: CallTask | None
    planned: Planned | None


async def apply_call_outcome(
    uow: UnitOfWork, ctx: Scheduling, report: CallReport, *, closing_status: TaskStatus = TaskStatus.DONE
) -> OutcomeApplied | None:
    """Record the attempt and decide the lead's next step; None when this call was reported already."""
    session = uow.session
    now = ctx.clock.now()
    # Written first: on SQLite the first write takes the database lock, so what is read next is current.
    if not await repo.record_attempt(
        session,
        lead_id=report.lead_id,
        task_id=report.task_id,
        call_id=report.call_id,
        source=report.source,
        at=report.at,
        outcome=report.outcome,
        now=now,
    ):
        return None
    lead = await repo.get_lead(session, report.lead_id, for_update=True)
    task = await repo.get_task(session, report.task_id, for_update=True) if report.task_id else None
    if task is not None and task.lead_id != report.lead_id:
        task = None  # a report naming another lead's task: keep it as the lead's history only
    open_task = task is not None and task.status in (TaskStatus.PENDING, TaskStatus.DISPATCHED)
    # A call that reports after its task was given up as MISSED still tells what happened.
    late_report = task is not None and task.status is TaskStatus.MISSED
    if task is not None and not (open_task or late_report):
        return OutcomeApplied(task, None)  # the task was closed already; the attempt is history
    planned = None
    if (
        lead is not None
        and not lead.deleted
        and (lead.plan_error is None or report.outcome in DECIDED_WITHOUT_PLANNING)
    ):
        history = await _history(uow, lead.id)
        decision = decide_after_call(
            report.outcome,
            attempt=len(history),
            lead=lead.snapshot(),
            now=now,
            planner=ctx.planner,
            policy=ctx.policy,
            history=history,
            requested_at=report.requested_at,
        )
        planned = await _apply_decision(
            uow, ctx, lead, decision, history, outcome=report.outcome, closing=task if open_task else None
        )
    if task is None:
        return OutcomeApplied(None, planned)
    closed = task
    if open_task:
        closed = replace(
            task,
            status=closing_status,
            outcome=report.outcome,
            reason=report.reason or (planned.reason if planned else None),
            note=report.notes or task.note,
            call_id=report.call_id or task.call_id,
            completed_at=now,
            updated_at=now,
        )
        if not await repo.update_task(session, closed, expected=task.status):
            # Another writer closed it between our read and write: roll back, let the bus retry.
            raise RuntimeError(f"task {task.id} changed while its outcome was applied")
    await uow.emit(
        TaskCompleted(
            task_id=task.id,
            lead_id=task.lead_id,
            assigned_agent_id=task.agent_id,
            outcome=report.outcome,
            next_attempt_at=planned.next_at if planned else None,
            reason=closed.reason if open_task else "late call report after the task was missed",
        )
    )
    return OutcomeApplied(closed, planned)


async def _apply_decision(
    uow: UnitOfWork,
    ctx: Scheduling,
    lead: LeadRecord,
    decision: Decision,
    history: list[PastAttempt],
    *,
    outcome: CallOutcome | None = None,
    closing: CallTask | None = None,
    note: str | None = None,
) -> Planned:
    """Carry out a decision on the lead's pending tasks; `closing` is the task being closed by it."""
    now = ctx.clock.now()
    pending = [
        task
        for task in await repo.lead_tasks(uow.session, lead.id, [TaskStatus.PENDING])
        if closing is None or task.id != closing.id
    ]
    automatic = [task for task in pending if task.kind in AUTOMATIC_KINDS]
    callbacks = [task for task in pending if task.kind is TaskKind.CALLBACK]
    match decision:
        case Completed():
            await cancel_tasks(uow, ctx, automatic, "the lead was reached")
            await _set_dialing(uow, ctx, lead, DialingStop.COMPLETED)
            return Planned(decision, None, "the lead was reached")
        case Stop(reason=stop_reason, set_dnd=set_dnd, cancel_manual_tasks=cancel_all):
            text = STOP_TEXT[stop_reason]
            doomed = pending if cancel_all else [t for t in pending if t.kind in SYSTEM_PLANNED_KINDS]
            await cancel_tasks(uow, ctx, doomed, text)
            lead = await _set_dialing(uow, ctx, lead, STOP_FOR_REASON[stop_reason])
            if set_dnd:
                # Local DND at once, versioned "now", so no older snapshot in flight re-enables calls
                # before leads applies the command and its lead.updated arrives.
                stamp = max(now, lead.updated_at) if lead.updated_at else now
                await repo.update_lead(uow.session, replace(lead, dnd=True, updated_at=stamp))
                await uow.emit(
                    SetLeadConsent(
                        lead_id=lead.id,
                        dnd=True,
                        reason="the lead asked not to be called",
                        source="scheduler",
                    )
                )
            return Planned(decision, None, text)
        case Retry(slot=slot, attempt=attempt, not_before=not_before):
            if callbacks:
                return Planned(
                    decision, callbacks[0].scheduled_for, "a callback is booked; no automatic retry"
                )
            await cancel_tasks(uow, ctx, automatic, "replaced by a newer retry")
            await _set_dialing(uow, ctx, lead, None)
            why = (
                f"retry {attempt} after {outcome.value.replace('_', ' ').lower()}"
                if outcome
                else f"retry {attempt}"
            )
            task = await _create_task(
                uow,
                ctx,
                lead,
                TaskKind.RETRY,
                slot.start,
                window_end=slot.end,
                not_before=not_before,
                attempt=attempt,
                reason=why,
            )
            return Planned(decision, slot.start, why, task)
        case Callback(at=at, requested_at=requested_at, adjusted=adjusted):
            if requested_at is None and callbacks:
                return Planned(decision, callbacks[0].scheduled_for, "the callback already booked stands")
            await cancel_tasks(
                uow, ctx, [*automatic, *callbacks], "replaced by the callback the lead asked for"
            )
            why = (
                "callback at the next best time"
                if requested_at is None
                else "callback moved to the nearest legal time"
                if adjusted
                else "callback at the time the lead asked for"
            )
            task = await _create_task(
                uow,
                ctx,
                lead,
                TaskKind.CALLBACK,
                at,
                window_end=None,
                not_before=at,
                attempt=len(history) + 1,
                reason=why,
                note=note,
            )
            return Planned(decision, at, why, task)
    raise AssertionError(f"unhandled decision {decision!r}")


STOP_TEXT: dict[StopReason, str] = {
    StopReason.NOT_INTERESTED: "the lead is not interested",
    StopReason.DO_NOT_CALL: "the lead asked not to be called",
    StopReason.DND: "lead has do-not-call (DND) set",
    StopReason.MAX_ATTEMPTS: "max attempts reached",
    StopReason.NO_CALLABLE_TIME: "no callable time in the lead's windows",
}


async def request_followup(
    uow: UnitOfWork, ctx: Scheduling, lead_id: uuid.UUID, at: datetime, reason: str | None
) -> None:
    """followup.requested (the bot agreed a callback time): a CALLBACK task at that time, kept legal."""
    lead = await repo.get_lead(uow.session, lead_id, for_update=True)
    if lead is None or not lead.callable:
        return
    now = ctx.clock.now()
    if at > ctx.latest_callback(now):
        log.warning("follow-up for lead %s at %s is too far ahead; ignored", lead_id, at.isoformat())
        return
    history = await _history(uow, lead.id)
    decision = plan_callback(
        at, lead=lead.snapshot(), now=now, planner=ctx.planner, policy=ctx.policy, history=history
    )
    await _apply_decision(uow, ctx, lead, decision, history, note=reason)


# -- call progress ----------------------------------------------------------------------------


async def note_call_progress(
    uow: UnitOfWork, ctx: Scheduling, task_id: uuid.UUID, call_id: uuid.UUID, *, line_free: bool
) -> None:
    """call.started / call.status: the dialed call is alive, so give it until it must end.

    Once the line is free (completed, canceled) the concurrency slot is released and call.ended,
    which carries the outcome, must follow within the start timeout.
    """
    task = await repo.get_task(uow.session, task_id, for_update=True)
    if task is None or task.status is not TaskStatus.DISPATCHED or task.call_ended_at is not None:
        return
    now = ctx.clock.now()
    settings = ctx.settings
    if line_free:
        updated = replace(
            task,
            call_id=call_id,
            call_ended_at=now,
            lease_until=now + timedelta(seconds=settings.call_start_timeout_seconds),
            updated_at=now,
        )
    else:
        updated = replace(
            task,
            call_id=call_id,
            lease_until=max(task.lease_until or now, now + timedelta(seconds=settings.max_call_seconds)),
            updated_at=now,
        )
    await repo.update_task(uow.session, updated, expected=TaskStatus.DISPATCHED)


async def expire_silent_call(uow: UnitOfWork, ctx: Scheduling, task_id: uuid.UUID) -> bool:
    """A dispatched call that never reported back: MISSED, and retried like a failed dial."""
    task = await _lock_task_and_lead(uow, task_id)
    now = ctx.clock.now()
    if (
        task is None
        or task.status is not TaskStatus.DISPATCHED
        or (task.lease_until and task.lease_until >= now)
    ):
        return False
    silent_for = round((now - (task.dispatched_at or now)).total_seconds())
    result = await apply_call_outcome(
        uow,
        ctx,
        CallReport(
            lead_id=task.lead_id,
            outcome=CallOutcome.FAILED,
            at=task.dispatched_at or now,
            source=DIALER,
            task_id=task.id,
            reason=f"no call report {silent_for} s after dispatch",
        ),
        closing_status=TaskStatus.MISSED,
    )
    return result is not None


async def settle_undialable_task(uow: UnitOfWork, ctx: Scheduling, task_id: uuid.UUID) -> str | None:
    """A due task the dispatcher may not dial now: cancel it (lead not callable) or move it (its
    slot passed, or it is outside calling hours). Returns "canceled", "rescheduled" or None."""
    task = await _lock_task_and_lead(uow, task_id)
    if task is None or task.status is not TaskStatus.PENDING:
        return None
    lead = await repo.get_lead(uow.session, task.lead_id)
    if lead is None or not lead.callable:
        await cancel_tasks(uow, ctx, [task], lead.not_callable_reason if lead else "lead unknown")
        return "canceled"
    if task.kind in AUTOMATIC_KINDS:
        reason = "its slot passed before it could be dialed"
        await replan_automatic(uow, ctx, lead, task, await _history(uow, lead.id), reason)
    else:
        await move_into_calling_hours(uow, ctx, lead, task)
    return "rescheduled"


async def _lock_task_and_lead(uow: UnitOfWork, task_id: uuid.UUID) -> CallTask | None:
    """The task, read again under the lock order: its lead's row first, then the task's."""
    task = await repo.get_task(uow.session, task_id)
    if task is None:
        return None
    await repo.get_lead(uow.session, task.lead_id, for_update=True)
    return await repo.get_task(uow.session, task_id, for_update=True)


async def send_reminder(uow: UnitOfWork, ctx: Scheduling, task: CallTask) -> bool:
    """task.reminder for the agent, once per appointment time."""
    if not await repo.mark_reminded(uow.session, task.id, ctx.clock.now()):
        return False
    await uow.emit(
        TaskReminder(
            task_id=task.id,
            lead_id=task.lead_id,
            assigned_agent_id=task.agent_id,
            due_at=task.scheduled_for,
        )
    )
    return True


# -- API use cases ----------------------------------------------------------------------------


async def _visible_lead(uow: UnitOfWork, principal: Principal, lead_id: uuid.UUID) -> LeadRecord:
    lead = await repo.get_lead(uow.session, lead_id, principal, for_update=True)
    if lead is None or lead.deleted:
        raise NotFound("Lead not found.")
    return lead


async def create_manual_task(
    uow: UnitOfWork, ctx: Scheduling, principal: Principal, data: ManualTaskIn
) -> tuple[CallTask, LeadRecord]:
    if data.force and not principal.is_admin:
        raise Forbidden("Only admins may force a booking.")
    lead = await _visible_lead(uow, principal, data.lead_id)
    if lead.dnd:
        raise Conflict("The lead has do-not-call (DND) set.", field="lead_id")
    if lead.plan_error:
        raise Unprocessable(lead.not_callable_reason.capitalize() + ".", field="lead_id")
    now = ctx.clock.now()
    at = data.scheduled_for
    if at <= now:
        raise Unprocessable(
            "scheduled_for must be in the future.",
            errors=[{"loc": ["body", "scheduled_for"], "msg": "in the past", "type": "value_error"}],
        )
    if at > ctx.latest_callback(now):
        raise Unprocessable(
            f"scheduled_for is more than {ctx.settings.manual_task_max_days_ahead} days ahead.",
            errors=[{"loc": ["body", "scheduled_for"], "msg": "too far ahead", "type": "value_error"}],
        )
    if not ctx.within_calling_hours(lead.snapshot(), at):
        nearest = plan_callback(at, lead=lead.snapshot(), now=now, planner=ctx.planner, policy=ctx.policy)
        where = (
            f"every timezone the lead may be in ({', '.join(lead.zones)})"
            if len(lead.zones) > 1
            else f"the lead's timezone ({lead.timezone})"
        )
        raise Unprocessable(
            f"{at.isoformat()} is outside legal calling hours in {where}: {ctx.legal_hours_text(lead.snapshot())}.",
            errors=[
                {"loc": ["body", "scheduled_for"], "msg": "outside calling hours", "type": "value_error"}
            ],
            nearest_allowed=nearest.at.isoformat() if isinstance(nearest, Callback) else None,
        )
    if not data.force and not ctx.within_windows(lead.snapshot(), at):
        raise Unprocessable(
            "scheduled_for is outside the lead's preferred time windows (an admin may force it).",
            errors=[
                {"loc": ["body", "scheduled_for"], "msg": "outside preferred windows", "type": "value_error"}
            ],
        )
    calendar = DatabaseCalendar(uow.session)
    if lead.assigned_agent_id is not None and not data.force:
        busy = await calendar.free_busy(str(lead.assigned_agent_id), Interval(at, at + ctx.slot_length))
        if busy:
            raise Conflict(
                f"The agent already has a call booked at {busy[0].start.isoformat()}.", field="scheduled_for"
            )
    history = await _history(uow, lead.id)
    task = await _create_task(
        uow,
        ctx,
        lead,
        TaskKind.MANUAL,
        at,
        window_end=None,
        not_before=at,
        attempt=len(history) + 1,
        reason="booked by an admin" if principal.is_admin else "booked by the agent",
        mode=data.mode,
        note=data.note,
        created_by=principal.user_id,
    )
    await _book(calendar, ctx, lead, task)
    return task, lead


async def _visible_task(uow: UnitOfWork, principal: Principal, task_id: uuid.UUID) -> CallTask:
    visible = await repo.get_task(uow.session, task_id, principal)
    task = await _lock_task_and_lead(uow, task_id) if visible else None
    if task is None:
        raise NotFound("Task not found.")
    return task


async def complete_task(
    uow: UnitOfWork,
    ctx: Scheduling,
    principal: Principal,
    task_id: uuid.UUID,
    outcome: CallOutcome,
    *,
    notes: str | None,
    callback_at: datetime | None,
) -> OutcomeApplied:
    """An agent called the lead for this task and reports how it went; same rules as a bot call."""
    if callback_at is not None and outcome is not CallOutcome.CALLBACK_REQUESTED:
        raise Unprocessable(
            "callback_at goes with the CALLBACK_REQUESTED outcome only.",
            errors=[{"loc": ["body", "callback_at"], "msg": "unexpected", "type": "value_error"}],
        )
    if callback_at is not None and callback_at > ctx.latest_callback(ctx.clock.now()):
        raise Unprocessable(
            f"callback_at is more than {ctx.settings.manual_task_max_days_ahead} days ahead.",
            errors=[{"loc": ["body", "callback_at"], "msg": "too far ahead", "type": "value_error"}],
        )
    task = await _visible_task(uow, principal, task_id)
    if task.status is not TaskStatus.PENDING:
        detail = (
            "The dialer's call for this task is under way; its outcome is recorded when it ends."
            if task.status is TaskStatus.DISPATCHED
            else f"The task is {task.status.value} already."
        )
        raise Conflict(detail, task_status=task.status.value)
    result = await apply_call_outcome(
        uow,
        ctx,
        CallReport(
            lead_id=task.lead_id,
            outcome=outcome,
            at=ctx.clock.now(),
            source=AGENT,
            task_id=task.id,
            requested_at=callback_at,
            notes=notes,
        ),
    )
    assert result is not None  # agent reports carry no call id, so they are never duplicates
    return result


async def cancel_task(uow: UnitOfWork, ctx: Scheduling, principal: Principal, task_id: uuid.UUID) -> None:
    task = await _visible_task(uow, principal, task_id)
    if task.status is not TaskStatus.PENDING:
        raise Conflict(f"Only pending tasks can be canceled; this one is {task.status.value}.")
    who = "an admin" if principal.is_admin else "the agent"
    await cancel_tasks(uow, ctx, [task], f"canceled by {who}")
    if task.kind in AUTOMATIC_KINDS:
        # Otherwise the next lead.updated would plan it again.
        lead = await repo.get_lead(uow.session, task.lead_id, for_update=True)
        if lead is not None:
            await _set_dialing(uow, ctx, lead, DialingStop.CANCELED)
