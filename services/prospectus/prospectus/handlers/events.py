"""Consumers: the projections this service renders from (leads, products, recommendations), and a
new version for every recommendation."""

from __future__ import annotations

import uuid
from typing import Any

from parley_contracts import (
    CallEnded,
    LeadEmailCaptured,
    ProductDeleted,
    ProductUpserted,
    RecommendationsReady,
)
from servicekit.lead_projection import lead_projection_handlers
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from .. import service_layer as svc
from ..adapters.local_store import LocalDirectoryStore
from ..settings import ProspectusSettings


def handlers(runtime: ServiceRuntime) -> list[Handler[Any]]:
    settings = runtime.settings
    assert isinstance(settings, ProspectusSettings)
    # Built here rather than taken from the startup wiring: `replay` runs handlers without it.
    store = LocalDirectoryStore(settings.store_dir)

    async def lead_deleted(uow: UnitOfWork, lead_id: uuid.UUID) -> None:
        await svc.forget_lead(uow, lead_id, store)

    async def call_ended(event: CallEnded, uow: UnitOfWork) -> None:
        await svc.apply_email_permission(uow, event.lead_id, event.email_permission)

    async def email_captured(event: LeadEmailCaptured, uow: UnitOfWork) -> None:
        await svc.apply_email_permission(uow, event.lead_id, event.email_permission)

    async def product_upserted(event: ProductUpserted, uow: UnitOfWork) -> None:
        await svc.apply_product(uow, event.product, event.occurred_at)

    async def product_deleted(event: ProductDeleted, uow: UnitOfWork) -> None:
        await svc.remove_product(uow, event.product_id, event.occurred_at)

    async def recommendations_ready(event: RecommendationsReady, uow: UnitOfWork) -> None:
        queued = await svc.accept_recommendation(uow, event)
        worker = runtime.extras.get("worker")
        if queued is not None and worker is not None:
            worker.kick_after_commit(uow.session)

    return [
        *lead_projection_handlers("prospectus", changed=svc.apply_lead, deleted=lead_deleted),
        Handler("prospectus-call-ended", CallEnded, call_ended),
        Handler("prospectus-email-captured", LeadEmailCaptured, email_captured),
        Handler("prospectus-product-upserted", ProductUpserted, product_upserted),
        Handler("prospectus-product-deleted", ProductDeleted, product_deleted),
        Handler("prospectus-recommendations-ready", RecommendationsReady, recommendations_ready),
    ]
