"""The catalog service: product categories, products and documents (upload, text extraction, storage)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from . import rpc
from .adapters.storage import LocalDirectoryStorage
from .adapters.tables import inbox, metadata, outbox
from .api import categories, documents, products
from .domain.extraction import ExtractionLimits
from .seed import seed
from .service_layer import DocumentPipeline
from .settings import CatalogSettings


async def wire(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, CatalogSettings)
    limits = ExtractionLimits(
        max_chars=settings.max_extracted_chars,
        max_pdf_pages=settings.max_pdf_pages,
        timeout_seconds=settings.extraction_timeout_seconds,
    )
    runtime.extras["documents"] = DocumentPipeline(
        LocalDirectoryStorage(settings.documents_dir), limits, settings.extraction_concurrency
    )
    await rpc.register(runtime)


definition = ServiceDefinition(
    name="catalog",
    description="Product categories, products and documents (upload, text extraction, storage).",
    settings_cls=CatalogSettings,
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    # Fixed paths (/categories, /documents/…, /reindex) before the catch-all /{product_id} routes.
    routers=[categories.router, documents.router, products.router],
    on_startup=[wire],
    seed=seed,
)


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory catalog.main:app`."""
    return create_app(definition)
