"""Consumers: lead facts re-plan a lead's tasks; call facts record attempts and decide what is next."""

from __future__ import annotations

import uuid
from typing import Any

from parley_contracts import (
    CallEnded,
    CallStarted,
    CallStatusChanged,
    FollowupRequested,
    LeadConsentChanged,
    LeadSnapshot,
)
from servicekit.lead_projection import lead_projection_handlers
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from .. import service_layer as svc
from ..context import scheduling_of


def handlers(runtime: ServiceRuntime) -> list[Handler[Any]]:
    # The scheduling context is installed by an on_startup hook, which runs before the bus delivers.
    async def lead_changed(uow: UnitOfWork, snapshot: LeadSnapshot) -> None:
        await svc.project_lead(uow, scheduling_of(runtime), snapshot)

    async def lead_deleted(uow: UnitOfWork, lead_id: uuid.UUID) -> None:
        await svc.forget_lead(uow, scheduling_of(runtime), lead_id)

    async def consent_changed(event: LeadConsentChanged, uow: UnitOfWork) -> None:
        if event.consent_flags.dnd:
            await svc.apply_do_not_call(uow, scheduling_of(runtime), event.lead_id, event.occurred_at)

    async def call_started(event: CallStarted, uow: UnitOfWork) -> None:
        if event.task_id is not None:
            await svc.note_call_progress(
                uow, scheduling_of(runtime), event.task_id, event.call_id, line_free=False
            )

    async def call_status(event: CallStatusChanged, uow: UnitOfWork) -> None:
        ctx = scheduling_of(runtime)
        unanswered = svc.UNANSWERED_STATUSES.get(event.status)
        if unanswered is not None:
            report = svc.CallReport(
                lead_id=event.lead_id,
                outcome=unanswered,
                at=event.occurred_at,
                source=svc.DIALER,
                task_id=event.task_id,
                call_id=event.call_id,
            )
            await svc.apply_call_outcome(uow, ctx, report)
        elif event.task_id is not None:
            line_free = event.status in svc.LINE_FREE_STATUSES
            await svc.note_call_progress(uow, ctx, event.task_id, event.call_id, line_free=line_free)

    async def call_ended(event: CallEnded, uow: UnitOfWork) -> None:
        report = svc.CallReport(
            lead_id=event.lead_id,
            outcome=event.outcome,
            at=event.occurred_at,
            source=svc.DIALER,
            task_id=event.task_id,
            call_id=event.call_id,
        )
        await svc.apply_call_outcome(uow, scheduling_of(runtime), report)

    async def followup(event: FollowupRequested, uow: UnitOfWork) -> None:
        await svc.request_followup(uow, scheduling_of(runtime), event.lead_id, event.at, event.reason)

    return [
        *lead_projection_handlers("scheduler", changed=lead_changed, deleted=lead_deleted),
        Handler("scheduler-lead-consent", LeadConsentChanged, consent_changed),
        Handler("scheduler-call-started", CallStarted, call_started),
        Handler("scheduler-call-status", CallStatusChanged, call_status),
        Handler("scheduler-call-ended", CallEnded, call_ended),
        Handler("scheduler-followup", FollowupRequested, followup),
    ]
