"""Consumers that build the console's notifications, and the lead ownership they are addressed by."""

from __future__ import annotations

import uuid
from typing import Any

from parley_contracts import LeadEmailCaptured, LeadSnapshot, ProspectusFailed, TaskReminder
from servicekit.lead_projection import lead_projection_handlers
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from .. import notifications as svc
from ..adapters.notification_hub import NotificationHub
from ..domain import notifications as wording


def handlers(runtime: ServiceRuntime) -> list[Handler[Any]]:
    def hub() -> NotificationHub | None:
        # Installed by the startup hook; `replay` from the command line runs without it (no streams).
        return runtime.extras.get("notification_hub")

    async def reminder(event: TaskReminder, uow: UnitOfWork) -> None:
        # A task nobody is assigned to has nobody to remind.
        if event.assigned_agent_id is not None:
            draft = wording.reminder_due(event.lead_id, event.due_at)
            await svc.notify_user(uow, hub(), event, draft, event.assigned_agent_id)

    async def email_captured(event: LeadEmailCaptured, uow: UnitOfWork) -> None:
        # call.ended says whether the prospect allowed emails, not that an address was captured; this
        # event says so but not whose lead it is.
        await svc.notify_lead_owner(uow, hub(), event, wording.email_captured(event.lead_id))

    async def prospectus_failed(event: ProspectusFailed, uow: UnitOfWork) -> None:
        if event.assigned_agent_id is not None:
            draft = wording.prospectus_failed(event.lead_id)
            await svc.notify_user(uow, hub(), event, draft, event.assigned_agent_id)

    async def lead_changed(uow: UnitOfWork, snapshot: LeadSnapshot) -> None:
        await svc.lead_changed(uow, hub(), snapshot)

    async def lead_deleted(uow: UnitOfWork, lead_id: uuid.UUID) -> None:
        await svc.lead_deleted(uow, lead_id)

    return [
        *lead_projection_handlers("gateway", changed=lead_changed, deleted=lead_deleted),
        Handler("gateway-notify-reminder", TaskReminder, reminder),
        Handler("gateway-notify-email-captured", LeadEmailCaptured, email_captured),
        Handler("gateway-notify-prospectus-failed", ProspectusFailed, prospectus_failed),
    ]
