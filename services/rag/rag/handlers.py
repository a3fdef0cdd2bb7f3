"""rag's event consumers: the catalog feeds the index, lead events the ownership projection, and a
finished call produces needs and a recommendation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parley_contracts import (
    CallEnded,
    DocumentDeleted,
    DocumentUploaded,
    ProductDeleted,
    ProductUpserted,
)
from servicekit.lead_projection import lead_projection_handlers
from servicekit.messaging import Handler, UnitOfWork, WriteStep
from servicekit.runtime import ServiceRuntime

from . import rpc
from . import service_layer as svc
from .settings import RagSettings

ENGINE = "rag"


def engine_of(runtime: ServiceRuntime) -> svc.RagEngine:
    engine: svc.RagEngine = runtime.extras[ENGINE]
    return engine


def handlers(runtime: ServiceRuntime) -> Sequence[Handler[Any]]:
    settings = runtime.settings
    assert isinstance(settings, RagSettings)
    fetch = rpc.document_page_fetcher(runtime.bus, settings.catalog_timeout_seconds)

    # The engine is attached by the start-up hook, which runs after handlers are registered.
    async def on_product_upserted(event: ProductUpserted, uow: UnitOfWork) -> None:
        await svc.product_upserted(engine_of(runtime), event, uow)

    async def on_product_deleted(event: ProductDeleted, uow: UnitOfWork) -> None:
        await svc.product_deleted(engine_of(runtime), event, uow)

    async def on_document_uploaded(event: DocumentUploaded, uow: UnitOfWork) -> None:
        await svc.document_uploaded(engine_of(runtime), fetch, settings.document_text_page_chars, event, uow)

    async def on_document_deleted(event: DocumentDeleted, uow: UnitOfWork) -> None:
        await svc.document_deleted(engine_of(runtime), event, uow)

    # Extraction and the recommendation run before the transaction; only their results are written in it.
    async def on_call_ended(event: CallEnded) -> WriteStep:
        return await svc.call_ended(engine_of(runtime), event)

    return [
        Handler("rag-product-upserted", ProductUpserted, on_product_upserted),
        Handler("rag-product-deleted", ProductDeleted, on_product_deleted),
        Handler("rag-document-uploaded", DocumentUploaded, on_document_uploaded),
        Handler("rag-document-deleted", DocumentDeleted, on_document_deleted),
        *lead_projection_handlers("rag", changed=svc.lead_changed, deleted=svc.lead_deleted),
        Handler.two_step("rag-call-ended", CallEnded, on_call_ended),
    ]
