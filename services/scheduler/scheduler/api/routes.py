"""`/api/scheduler` routes. Agents only ever see their own leads' tasks: anything else is a 404."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import CurrentPrincipal, Principal
from servicekit.errors import Forbidden, NotFound, Unprocessable
from servicekit.pagination import Page, Pagination

from .. import service_layer as svc
from ..adapters import repository as repo
from ..adapters.repository import CallTask, TaskFilter
from ..context import scheduling_of
from ..domain import (
    DialingStop,
    Interval,
    InvalidTimezoneError,
    TaskKind,
    TaskStatus,
    load_zone,
    rank_key,
    rank_slots,
)
from .schemas import (
    CompleteTaskIn,
    CompletionOut,
    LeadPlanOut,
    ManualTaskIn,
    QueueItem,
    QueuePage,
    TaskOut,
    UtcDatetime,
)

router = APIRouter(prefix="/api/scheduler", tags=["scheduler"])

OPEN_STATUSES = (TaskStatus.PENDING, TaskStatus.DISPATCHED)
# Today's queue is one agent's day: bounded, so it is ranked whole and then paginated.
MAX_QUEUE_TASKS = 2000


def _out(task: CallTask, lead_name: str) -> TaskOut:
    return TaskOut(
        id=task.id,
        lead_id=task.lead_id,
        lead_name=lead_name,
        agent_id=task.agent_id,
        kind=task.kind,
        status=task.status,
        scheduled_for=task.scheduled_for,
        window_end=task.window_end,
        attempt=task.attempt,
        priority=task.priority,
        mode=task.mode,
        outcome=task.outcome,
        reason=task.reason,
        note=task.note,
        dispatched_at=task.dispatched_at,
        completed_at=task.completed_at,
        created_at=task.created_at,
        updated_at=task.updated_at,
    )


def _zone(timezone: str) -> ZoneInfo:
    try:
        return load_zone(timezone)
    except InvalidTimezoneError as exc:
        raise Unprocessable(
            str(exc), errors=[{"loc": ["query", "tz"], "msg": "unknown IANA timezone", "type": "value_error"}]
        ) from exc


def _zone_day(zone: ZoneInfo, day: date) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of `day` in `zone`, as UTC instants."""
    try:
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError as exc:
        raise Unprocessable(
            "day is out of range.",
            errors=[{"loc": ["query", "day"], "msg": "out of range", "type": "value_error"}],
        ) from exc


@router.get("/tasks", response_model=Page[TaskOut])
async def list_tasks(
    principal: CurrentPrincipal,
    session: DbSession,
    paging: Pagination,
    start: Annotated[UtcDatetime | None, Query(alias="from", description="scheduled at or after")] = None,
    end: Annotated[UtcDatetime | None, Query(alias="to", description="scheduled before")] = None,
    day: Annotated[date | None, Query(description="one calendar day in `tz` (instead of from/to)")] = None,
    tz: Annotated[str, Query(max_length=64, description="IANA timezone of `day`")] = "UTC",
    agent_id: Annotated[uuid.UUID | None, Query(description="admins: one agent's tasks")] = None,
    status_: Annotated[list[TaskStatus] | None, Query(alias="status")] = None,
    kind: Annotated[list[TaskKind] | None, Query()] = None,
    lead_id: uuid.UUID | None = None,
) -> Page[TaskOut]:
    if day is not None:
        if start is not None or end is not None:
            raise Unprocessable(
                "Give either day or from/to, not both.",
                errors=[{"loc": ["query", "day"], "msg": "conflicts with from/to", "type": "value_error"}],
            )
        start, end = _zone_day(_zone(tz), day)
    if start is not None and end is not None and end <= start:
        raise Unprocessable(
            "`to` must be after `from`.",
            errors=[{"loc": ["query", "to"], "msg": "not after from", "type": "value_error"}],
        )
    where = TaskFilter(
        principal,
        start=start,
        end=end,
        agent_id=agent_id,
        statuses=status_ or (),
        kinds=kind or (),
        lead_id=lead_id,
    )
    rows, total = await repo.list_tasks(session, where, offset=paging.offset, limit=paging.page_size)
    return Page(
        items=[_out(task, name) for task, name in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.post("/tasks", response_model=TaskOut, status_code=status.HTTP_201_CREATED)
async def create_task(data: ManualTaskIn, principal: CurrentPrincipal, runtime: Runtime) -> TaskOut:
    ctx = scheduling_of(runtime)
    await svc.project_missing_lead(runtime, ctx, data.lead_id)
    async with runtime.unit_of_work() as uow:
        task, lead = await svc.create_manual_task(uow, ctx, principal, data)
    return _out(task, lead.name)


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def get_task(task_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> TaskOut:
    rows, _ = await repo.list_tasks(session, TaskFilter(principal, task_id=task_id), limit=1)
    if not rows:
        raise NotFound("Task not found.")
    task, name = rows[0]
    return _out(task, name)


@router.post("/tasks/{task_id}/complete", response_model=CompletionOut)
async def complete_task(
    task_id: uuid.UUID, data: CompleteTaskIn, principal: CurrentPrincipal, runtime: Runtime
) -> CompletionOut:
    async with runtime.unit_of_work() as uow:
        result = await svc.complete_task(
            uow,
            scheduling_of(runtime),
            principal,
            task_id,
            data.outcome,
            notes=data.notes,
            callback_at=data.callback_at,
        )
        assert result.task is not None
        lead = await repo.get_lead(uow.session, result.task.lead_id)
    name = lead.name if lead else ""
    planned = result.planned
    return CompletionOut(
        task=_out(result.task, name),
        decision=planned.kind if planned else None,
        stop_reason=planned.stop_reason if planned else None,
        next_task=_out(planned.task, name) if planned and planned.task else None,
    )


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_task(task_id: uuid.UUID, principal: CurrentPrincipal, runtime: Runtime) -> Response:
    async with runtime.unit_of_work() as uow:
        await svc.cancel_task(uow, scheduling_of(runtime), principal, task_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _queue_owner(principal: Principal, agent_id: uuid.UUID | None) -> uuid.UUID:
    if agent_id is None or agent_id == principal.user_id:
        return principal.user_id
    if not principal.is_admin:
        raise Forbidden("Agents see their own queue only.")
    return agent_id


@router.get("/queue", response_model=QueuePage)
async def queue(
    principal: CurrentPrincipal,
    runtime: Runtime,
    session: DbSession,
    paging: Pagination,
    tz: Annotated[
        str, Query(max_length=64, description="the agent's IANA timezone: what 'today' means")
    ] = "UTC",
    agent_id: Annotated[uuid.UUID | None, Query(description="admins: another agent's queue")] = None,
) -> QueuePage:
    """Today's open tasks for the agent: due and overdue first (by priority, oldest first), then the
    rest of the day by next-best rank (hours the lead answered before first), then priority."""
    ctx = scheduling_of(runtime)
    now = ctx.clock.now()
    owner = _queue_owner(principal, agent_id)
    zone = _zone(tz)
    today = now.astimezone(zone).date()
    _, day_end = _zone_day(zone, today)
    where = TaskFilter(principal, end=day_end, agent_id=owner, statuses=OPEN_STATUSES)
    rows, total = await repo.list_tasks(session, where, limit=MAX_QUEUE_TASKS)
    leads = await repo.get_leads(session, {task.lead_id for task, _ in rows})
    history = await repo.lead_history(session, leads.keys())
    ranked_items = []
    for task, name in rows:
        lead = leads[task.lead_id]
        # A lead whose timezone cannot be planned (its call still under way) is shown in UTC.
        timezone = "UTC" if lead.plan_error else lead.timezone
        slot = Interval(task.scheduled_for, task.window_end or task.scheduled_for + ctx.slot_length)
        ranked = rank_slots([slot], history[lead.id], timezone, ctx.policy.ranking)[0]
        due = task.scheduled_for <= now
        if due:
            order = (0, -task.priority, 0, 0, 0, task.scheduled_for)
        else:
            tier, reached, missed, _ = rank_key(ranked, ctx.policy.ranking)
            order = (1, tier, reached, missed, -task.priority, task.scheduled_for)
        item = QueueItem(
            **_out(task, name).model_dump(),
            due=due,
            local_time=task.scheduled_for.astimezone(load_zone(timezone)),
            answered_at_this_hour=ranked.record.reached,
            missed_at_this_hour=ranked.record.missed,
        )
        ranked_items.append((order, item))
    ranked_items.sort(key=lambda pair: pair[0])
    page = [item for _, item in ranked_items[paging.offset : paging.offset + paging.page_size]]
    return QueuePage(
        items=page, total=total, page=paging.page, page_size=paging.page_size, day=today, timezone=tz
    )


@router.get("/leads/{lead_id}", response_model=LeadPlanOut)
async def lead_plan(
    lead_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, runtime: Runtime
) -> LeadPlanOut:
    """The dialer's view of one lead: its candidate zones, the legal hours that apply, why automatic
    calls stopped (e.g. TIMEZONE_NEEDED) and its next pending call."""
    ctx = scheduling_of(runtime)
    await svc.project_missing_lead(runtime, ctx, lead_id)
    lead = await repo.get_lead(session, lead_id, principal)
    if lead is None or lead.deleted:
        raise NotFound("Lead not found.")
    now = ctx.clock.now()
    snapshot = lead.snapshot()
    rules = ctx.planner.settings.calling_rules
    pending, _ = await repo.list_tasks(
        session, TaskFilter(principal, lead_id=lead_id, statuses=[TaskStatus.PENDING]), limit=1
    )
    return LeadPlanOut(
        lead_id=lead.id,
        timezone=lead.timezone,
        timezone_candidates=list(lead.zones),
        timezone_needed=lead.dialing_stopped is DialingStop.TIMEZONE_NEEDED or not lead.zones,
        country=lead.country,
        legal_hours=ctx.legal_hours_text(snapshot),
        dialing_stopped=lead.dialing_stopped,
        plan_error=lead.plan_error,
        callable_now=ctx.within_calling_hours(snapshot, now),
        next_legal_time=rules.next_allowed(lead.country, lead.zones, now),
        next_task=_out(*pending[0]) if pending else None,
    )
