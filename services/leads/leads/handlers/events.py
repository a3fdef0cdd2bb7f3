"""Consumers: other services' facts become timeline entries; commands change consent or email."""

from __future__ import annotations

from typing import Any

from parley_contracts import (
    CallEnded,
    CallStarted,
    DialingChanged,
    EmailFailed,
    EmailSent,
    Event,
    FollowupRequested,
    LeadEmailCaptured,
    LeadTimezoneConfirmed,
    NeedsExtracted,
    ProspectusFailed,
    ProspectusGenerated,
    RecommendationsReady,
    SetLeadConsent,
    TaskCanceled,
    TaskCompleted,
    TaskScheduled,
)
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from .. import service_layer as svc
from ..domain.timeline import entry_for

TIMELINE_EVENTS: tuple[type[Event], ...] = (
    CallStarted,
    CallEnded,
    NeedsExtracted,
    RecommendationsReady,
    ProspectusGenerated,
    ProspectusFailed,
    EmailSent,
    EmailFailed,
    TaskCompleted,
    TaskScheduled,
    TaskCanceled,
    DialingChanged,
    FollowupRequested,
)


async def fold_into_timeline(event: Event, uow: UnitOfWork) -> None:
    entry = entry_for(event)
    lead_id = getattr(event, "lead_id", None)
    if entry is not None and lead_id is not None:
        await svc.record_timeline(uow, lead_id, event, entry)


async def set_consent(event: SetLeadConsent, uow: UnitOfWork) -> None:
    await svc.apply_consent(
        uow,
        event.lead_id,
        dnd=event.dnd,
        email_opt_out=event.email_opt_out,
        call_recording=event.call_recording,
        reason=f"{event.source}: {event.reason}",
    )


async def capture_email(event: LeadEmailCaptured, uow: UnitOfWork) -> None:
    await svc.capture_email(uow, event.lead_id, event.email, event)


async def confirm_timezone(event: LeadTimezoneConfirmed, uow: UnitOfWork) -> None:
    await svc.confirm_timezone(uow, event.lead_id, event.timezone, event)


def handlers(_runtime: ServiceRuntime) -> list[Handler[Any]]:
    timeline = [
        Handler(f"leads-timeline-{cls.subject.replace('.', '-')}", cls, fold_into_timeline)
        for cls in TIMELINE_EVENTS
    ]
    return [
        *timeline,
        Handler("leads-set-consent", SetLeadConsent, set_consent),
        Handler("leads-email-captured", LeadEmailCaptured, capture_email),
        Handler("leads-timezone-confirmed", LeadTimezoneConfirmed, confirm_timezone),
    ]
