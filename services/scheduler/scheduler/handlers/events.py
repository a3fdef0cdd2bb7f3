"""Consumers: lead facts re-plan a lead's tasks; call facts record attempts and decide what is next."""

from __future__ import annotations

from typing import Any

from parley_contracts import (
    CallEnded,
    CallStarted,
    CallStatusChanged,
    FollowupRequested,
    LeadConsentChanged,
    LeadCreated,
    LeadDeleted,
    LeadUpdated,
)
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from .. import service_layer as svc
from ..context import scheduling_of


def handlers(runtime: ServiceRuntime) -> list[Handler[Any]]:
    # The scheduling context is installed by an on_startup hook, which runs before the bus delivers.
    async def lead_created(event: LeadCreated, uow: UnitOfWork) -> None:
        await svc.project_lead(uow, scheduling_of(runtime), event.lead)

    async def lead_updated(event: LeadUpdated, uow: UnitOfWork) -> None:
        await svc.project_lead(uow, scheduling_of(runtime), event.lead)

    async def consent_changed(event: LeadConsentChanged, uow: UnitOfWork) -> None:
        if event.consent_flags.dnd:
            await svc.apply_do_not_call(uow, scheduling_of(runtime), event.lead_id, event.occurred_at)

    async def lead_deleted(event: LeadDeleted, uow: UnitOfWork) -> None:
        await svc.forget_lead(uow, scheduling_of(runtime), event.lead_id)

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
        Handler("scheduler-lead-created", LeadCreated, lead_created),
        Handler("scheduler-lead-updated", LeadUpdated, lead_updated),
        Handler("scheduler-lead-consent", LeadConsentChanged, consent_changed),
        Handler("scheduler-lead-deleted", LeadDeleted, lead_deleted),
        Handler("scheduler-call-started", CallStarted, call_started),
        Handler("scheduler-call-status", CallStatusChanged, call_status),
        Handler("scheduler-call-ended", CallEnded, call_ended),
        Handler("scheduler-followup", FollowupRequested, followup),
    ]
