"""Scheduler persistence: the lead projection, call tasks, call attempts and the dispatcher lease.

Every query an agent can reach scopes by the lead's current owner (`lead_projection.visible_to`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from parley_contracts import CallMode, CallOutcome, ConsentFlags, LeadSnapshot, TimeWindow, TimezoneSource
from servicekit.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain import DialingStop, PastAttempt, TaskKind, TaskStatus
from .sql import as_utc, rows_changed
from .tables import call_attempts, call_tasks, dispatcher_lease, lead_projection, leads


@dataclass(frozen=True)
class LeadRecord:
    """The scheduler's view of a lead: what planning needs, no contact details."""

    id: uuid.UUID
    name: str
    assigned_agent_id: uuid.UUID | None
    windows: list[TimeWindow]
    timezone: str
    # Every zone the lead may be in (a call must be legal in all), none while it is unknown.
    zones: tuple[str, ...]
    # Whose calling rules apply (the phone number's country).
    country: str | None
    dnd: bool
    deleted: bool
    plan_error: str | None
    dialing_stopped: DialingStop | None
    updated_at: datetime | None

    @property
    def callable(self) -> bool:
        return not (self.deleted or self.dnd or self.plan_error)

    @property
    def not_callable_reason(self) -> str:
        if self.deleted:
            return "lead deleted"
        if self.dnd:
            return "lead has do-not-call (DND) set"
        return f"the lead's timezone or windows cannot be planned: {self.plan_error}"

    @property
    def timezone_needed(self) -> bool:
        """No single zone is known: the planner reads the lead in several, or in none."""
        return len(self.zones) != 1

    def snapshot(self) -> LeadSnapshot:
        # The domain rules read only id, windows, zones, country and consent. The projection keeps no
        # contact details, so the phone is left empty (and unvalidated) rather than stored.
        return LeadSnapshot.model_construct(
            id=self.id,
            name=self.name,
            phone="",
            preferred_time_windows=self.windows,
            timezone=self.timezone,
            timezone_source=None if self.zones else TimezoneSource.UNKNOWN,
            timezone_candidates=list(self.zones),
            country=self.country,
            consent_flags=ConsentFlags(dnd=self.dnd),
            assigned_agent_id=self.assigned_agent_id,
        )

    @classmethod
    def from_snapshot(
        cls, snapshot: LeadSnapshot, previous: LeadRecord | None, plan_error: str | None
    ) -> LeadRecord:
        return cls(
            id=snapshot.id,
            name=snapshot.name,
            assigned_agent_id=snapshot.assigned_agent_id,
            windows=list(snapshot.preferred_time_windows),
            timezone=snapshot.timezone,
            zones=snapshot.calling_zones(),
            country=snapshot.country,
            dnd=snapshot.consent_flags.dnd,
            deleted=False,
            plan_error=plan_error,
            dialing_stopped=previous.dialing_stopped if previous else None,
            updated_at=as_utc(snapshot.updated_at) if snapshot.updated_at else None,
        )


@dataclass(frozen=True)
class CallTask:
    id: uuid.UUID
    lead_id: uuid.UUID
    agent_id: uuid.UUID | None
    kind: TaskKind
    status: TaskStatus
    scheduled_for: datetime
    window_end: datetime | None
    not_before: datetime
    attempt: int
    priority: int
    mode: CallMode
    outcome: CallOutcome | None
    reason: str | None
    note: str | None
    created_by: uuid.UUID | None
    call_id: uuid.UUID | None
    dispatched_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    call_ended_at: datetime | None
    reminder_sent_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


_TASK_TIMES = (
    "scheduled_for",
    "window_end",
    "not_before",
    "dispatched_at",
    "lease_until",
    "call_ended_at",
    "reminder_sent_at",
    "completed_at",
    "created_at",
    "updated_at",
)
_TASK_IDS = ("id", "lead_id", "agent_id", "created_by", "call_id")


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def task_from_row(row: sa.RowMapping) -> CallTask:
    data: dict[str, Any] = {column.name: row[column.name] for column in call_tasks.c}
    for name in _TASK_TIMES:
        if data[name] is not None:
            data[name] = as_utc(data[name])
    for name in _TASK_IDS:
        data[name] = _uuid(data[name])
    data["kind"] = TaskKind(data["kind"])
    data["status"] = TaskStatus(data["status"])
    data["outcome"] = CallOutcome(data["outcome"]) if data["outcome"] else None
    return CallTask(**data)


def task_values(task: CallTask) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(task, name) for name in CallTask.__dataclass_fields__}
    for name in _TASK_IDS:
        values[name] = _str(values[name])
    values["kind"] = task.kind.value
    values["status"] = task.status.value
    values["outcome"] = task.outcome.value if task.outcome else None
    return values


def lead_from_row(row: sa.RowMapping) -> LeadRecord:
    return LeadRecord(
        id=uuid.UUID(row["id"]),
        name=row["name"],
        assigned_agent_id=_uuid(row["assigned_agent_id"]),
        windows=[TimeWindow.model_validate(w) for w in row["preferred_time_windows"]],
        timezone=row["timezone"],
        # Rows projected before zones were recorded hold just their one timezone.
        zones=tuple(
            row["timezone_candidates"] if row["timezone_candidates"] is not None else [row["timezone"]]
        ),
        country=row["country"],
        dnd=row["dnd"],
        deleted=row["deleted"],
        plan_error=row["plan_error"],
        dialing_stopped=DialingStop(row["dialing_stopped"]) if row["dialing_stopped"] else None,
        updated_at=as_utc(row["updated_at"]) if row["updated_at"] else None,
    )


def _lead_values(lead: LeadRecord) -> dict[str, Any]:
    return {
        "id": str(lead.id),
        "name": lead.name,
        "assigned_agent_id": _str(lead.assigned_agent_id),
        "preferred_time_windows": [w.model_dump(mode="json") for w in lead.windows],
        "timezone": lead.timezone,
        "timezone_candidates": list(lead.zones),
        "country": lead.country,
        "dnd": lead.dnd,
        "deleted": lead.deleted,
        "plan_error": lead.plan_error,
        "dialing_stopped": lead.dialing_stopped.value if lead.dialing_stopped else None,
        "updated_at": lead.updated_at,
    }


# -- leads ------------------------------------------------------------------------------------


async def get_lead(
    session: AsyncSession, lead_id: uuid.UUID, principal: Principal | None = None, *, for_update: bool = False
) -> LeadRecord | None:
    query = lead_projection.select_lead(lead_id, principal)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return lead_from_row(row) if row else None


async def get_leads(session: AsyncSession, lead_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LeadRecord]:
    ids = sorted({str(i) for i in lead_ids})
    if not ids:
        return {}
    rows = (await session.execute(sa.select(leads).where(leads.c.id.in_(ids)))).mappings()
    return {record.id: record for record in map(lead_from_row, rows)}


async def insert_lead(session: AsyncSession, lead: LeadRecord) -> None:
    await session.execute(sa.insert(leads).values(**_lead_values(lead)))


async def update_lead(session: AsyncSession, lead: LeadRecord) -> None:
    values = _lead_values(lead)
    del values["id"]
    await session.execute(sa.update(leads).where(leads.c.id == str(lead.id)).values(**values))


# -- tasks ------------------------------------------------------------------------------------


async def insert_task(session: AsyncSession, task: CallTask) -> None:
    await session.execute(sa.insert(call_tasks).values(**task_values(task)))


async def update_task(session: AsyncSession, task: CallTask, *, expected: TaskStatus) -> bool:
    """Write `task` if its stored status is still `expected`; False when another writer got there first."""
    values = task_values(task)
    del values["id"]
    result = await session.execute(
        sa.update(call_tasks)
        .where(call_tasks.c.id == str(task.id), call_tasks.c.status == expected.value)
        .values(**values)
    )
    return rows_changed(result) == 1


async def get_task(
    session: AsyncSession, task_id: uuid.UUID, principal: Principal | None = None, *, for_update: bool = False
) -> CallTask | None:
    query = sa.select(call_tasks).where(call_tasks.c.id == str(task_id))
    if principal is not None:
        # A subquery, not a join, so FOR UPDATE locks only the task (MariaDB has no FOR UPDATE OF).
        query = query.where(call_tasks.c.lead_id.in_(lead_projection.visible_ids(principal)))
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return task_from_row(row) if row else None


async def lead_tasks(
    session: AsyncSession, lead_id: uuid.UUID, statuses: Collection[TaskStatus]
) -> list[CallTask]:
    """A lead's tasks in these states. Not locked: callers hold the lead's row lock, which orders
    all per-lead changes, and every task write is conditional on the status it read."""
    query = (
        sa.select(call_tasks)
        .where(call_tasks.c.lead_id == str(lead_id), call_tasks.c.status.in_([s.value for s in statuses]))
        .order_by(call_tasks.c.scheduled_for, call_tasks.c.id)
    )
    return [task_from_row(r) for r in (await session.execute(query)).mappings()]


@dataclass(frozen=True)
class TaskFilter:
    principal: Principal
    task_id: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None
    agent_id: uuid.UUID | None = None
    statuses: Sequence[TaskStatus] = ()
    kinds: Sequence[TaskKind] = ()
    lead_id: uuid.UUID | None = None

    def where(self) -> sa.ColumnElement[bool]:
        t = call_tasks
        conditions: list[sa.ColumnElement[bool]] = [lead_projection.visible_to(self.principal)]
        if self.task_id is not None:
            conditions.append(t.c.id == str(self.task_id))
        if self.start is not None:
            conditions.append(t.c.scheduled_for >= self.start)
        if self.end is not None:
            conditions.append(t.c.scheduled_for < self.end)
        if self.agent_id is not None:
            conditions.append(t.c.agent_id == str(self.agent_id))
        if self.statuses:
            conditions.append(t.c.status.in_([s.value for s in self.statuses]))
        if self.kinds:
            conditions.append(t.c.kind.in_([k.value for k in self.kinds]))
        if self.lead_id is not None:
            conditions.append(t.c.lead_id == str(self.lead_id))
        return sa.and_(*conditions)


async def list_tasks(
    session: AsyncSession, where: TaskFilter, *, offset: int | None = None, limit: int | None = None
) -> tuple[list[tuple[CallTask, str]], int]:
    """Matching tasks (with their lead's name), earliest first, and the total count."""
    joined = call_tasks.join(leads, leads.c.id == call_tasks.c.lead_id)
    condition = where.where()
    total = await session.scalar(sa.select(sa.func.count()).select_from(joined).where(condition))
    query = (
        sa.select(call_tasks, leads.c.name.label("lead_name"))
        .select_from(joined)
        .where(condition)
        .order_by(call_tasks.c.scheduled_for, call_tasks.c.id)
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.execute(query)).mappings()
    return [(task_from_row(r), r["lead_name"]) for r in rows], int(total or 0)


async def lock_due_tasks(
    session: AsyncSession, now: datetime, limit: int, *, skip_locked: bool
) -> list[CallTask]:
    """Due PENDING tasks, most important first. With `skip_locked` (PostgreSQL, MariaDB) each row is
    locked for this transaction and rows another transaction holds are passed over, not waited for."""
    t = call_tasks
    query = (
        sa.select(t)
        .where(t.c.status == TaskStatus.PENDING.value, t.c.scheduled_for <= now)
        .order_by(t.c.priority.desc(), t.c.scheduled_for, t.c.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return [task_from_row(r) for r in (await session.execute(query)).mappings()]


async def mark_dispatched(
    session: AsyncSession, task_id: uuid.UUID, *, owner: str, now: datetime, lease_until: datetime
) -> bool:
    """Flip PENDING -> DISPATCHED; False if the task is no longer PENDING (another replica, a cancel)."""
    t = call_tasks
    result = await session.execute(
        sa.update(t)
        .where(t.c.id == str(task_id), t.c.status == TaskStatus.PENDING.value)
        .values(
            status=TaskStatus.DISPATCHED.value,
            dispatched_at=now,
            lease_owner=owner,
            lease_until=lease_until,
            updated_at=now,
        )
    )
    return rows_changed(result) == 1


async def calls_in_progress(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """(task id, agent id) of every dialed call whose line is not free yet: the held concurrency slots."""
    t = call_tasks
    rows = await session.execute(
        sa.select(t.c.id, t.c.agent_id).where(
            t.c.status == TaskStatus.DISPATCHED.value, t.c.call_ended_at.is_(None)
        )
    )
    return [(uuid.UUID(task_id), _uuid(agent_id)) for task_id, agent_id in rows]


async def silent_dispatched_tasks(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    t = call_tasks
    rows = await session.execute(
        sa.select(t.c.id)
        .where(t.c.status == TaskStatus.DISPATCHED.value, t.c.lease_until < now)
        .order_by(t.c.lease_until)
        .limit(limit)
    )
    return [uuid.UUID(task_id) for (task_id,) in rows]


async def tasks_to_remind(
    session: AsyncSession, kinds: Collection[TaskKind], due_before: datetime, limit: int
) -> list[CallTask]:
    t = call_tasks
    query = (
        sa.select(t)
        .where(
            t.c.status == TaskStatus.PENDING.value,
            t.c.kind.in_([k.value for k in kinds]),
            t.c.agent_id.is_not(None),
            t.c.reminder_sent_at.is_(None),
            t.c.scheduled_for <= due_before,
        )
        .order_by(t.c.scheduled_for)
        .limit(limit)
    )
    return [task_from_row(r) for r in (await session.execute(query)).mappings()]


async def mark_reminded(session: AsyncSession, task_id: uuid.UUID, now: datetime) -> bool:
    t = call_tasks
    result = await session.execute(
        sa.update(t)
        .where(t.c.id == str(task_id), t.c.reminder_sent_at.is_(None))
        .values(reminder_sent_at=now)
    )
    return rows_changed(result) == 1


async def reassign_open_tasks(session: AsyncSession, lead_id: uuid.UUID, agent_id: uuid.UUID | None) -> None:
    t = call_tasks
    await session.execute(
        sa.update(t)
        .where(
            t.c.lead_id == str(lead_id),
            t.c.status.in_([TaskStatus.PENDING.value, TaskStatus.DISPATCHED.value]),
        )
        .values(agent_id=_str(agent_id))
    )


# -- attempts ---------------------------------------------------------------------------------


async def record_attempt(
    session: AsyncSession,
    *,
    lead_id: uuid.UUID,
    task_id: uuid.UUID | None,
    call_id: uuid.UUID | None,
    source: str,
    at: datetime,
    outcome: CallOutcome,
    now: datetime,
) -> bool:
    """Store one attempt; False when this call's attempt is already recorded (its other report)."""
    if call_id is not None and await session.scalar(
        sa.select(sa.literal(1)).where(call_attempts.c.call_id == str(call_id))
    ):
        return False
    await session.execute(
        sa.insert(call_attempts).values(
            id=str(uuid.uuid4()),
            lead_id=str(lead_id),
            task_id=_str(task_id),
            call_id=_str(call_id),
            source=source,
            at=at,
            outcome=outcome.value,
            recorded_at=now,
        )
    )
    return True


async def lead_history(
    session: AsyncSession, lead_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[PastAttempt]]:
    ids = sorted({str(i) for i in lead_ids})
    history: dict[uuid.UUID, list[PastAttempt]] = {uuid.UUID(i): [] for i in ids}
    if not ids:
        return history
    t = call_attempts
    rows = await session.execute(
        sa.select(t.c.lead_id, t.c.at, t.c.outcome).where(t.c.lead_id.in_(ids)).order_by(t.c.at)
    )
    for lead_id, at, outcome in rows:
        history[uuid.UUID(lead_id)].append(PastAttempt(as_utc(at), CallOutcome(outcome)))
    return history


async def dial_results_since(
    session: AsyncSession, since: datetime
) -> list[tuple[str, datetime, CallOutcome]]:
    """(attempt id, recorded at, outcome) of calls the platform placed, recorded at or after `since`."""
    t = call_attempts
    rows = await session.execute(
        sa.select(t.c.id, t.c.recorded_at, t.c.outcome)
        .where(t.c.source == "dialer", t.c.recorded_at >= since)
        .order_by(t.c.recorded_at, t.c.id)
    )
    return [(attempt_id, as_utc(at), CallOutcome(outcome)) for attempt_id, at, outcome in rows]


# -- dispatcher lease -------------------------------------------------------------------------


async def hold_dispatcher_lease(
    session: AsyncSession, name: str, holder: str, now: datetime, expires_at: datetime
) -> bool:
    """Take or renew the lease; False while another holder's lease is still valid."""
    t = dispatcher_lease
    result = await session.execute(
        sa.update(t)
        .where(t.c.name == name, sa.or_(t.c.holder == holder, t.c.expires_at < now))
        .values(holder=holder, expires_at=expires_at)
    )
    if rows_changed(result) == 1:
        return True
    if await session.scalar(sa.select(sa.literal(1)).where(t.c.name == name)):
        return False
    # First start ever: a concurrent insert by another replica fails on the primary key.
    await session.execute(sa.insert(t).values(name=name, holder=holder, expires_at=expires_at))
    return True


async def release_dispatcher_lease(session: AsyncSession, name: str, holder: str, now: datetime) -> None:
    t = dispatcher_lease
    await session.execute(sa.update(t).where(t.c.name == name, t.c.holder == holder).values(expires_at=now))
