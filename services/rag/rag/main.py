"""The rag service: vector index of the catalog, needs extraction, grounded recommendations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from . import rpc
from .adapters.qdrant_store import QdrantVectorStore
from .adapters.tables import inbox, metadata, outbox
from .ai import TextAi, build_embedder
from .api import routes
from .domain.embedding import Embedder
from .handlers import ENGINE, engine_of, handlers
from .service_layer import RagEngine, reindex_periodically
from .settings import RagSettings

log = logging.getLogger("rag.main")
REINDEX_TASK = "reindex_task"

EmbedderFactory = Callable[[RagSettings], Embedder]


def open_store(settings: RagSettings, embedder: Embedder) -> QdrantVectorStore:
    """A Qdrant server when QDRANT_URL is set, else local mode on disk (one store per process)."""
    path: Path | None = None
    if not settings.qdrant_url:
        path = settings.resolved_qdrant_path()
        path.mkdir(parents=True, exist_ok=True)
    return QdrantVectorStore.open(
        model_id=embedder.model_id,
        dimension=embedder.dimension,
        path=path,
        url=settings.qdrant_url or None,
        api_key=settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None,
        collection_prefix=settings.qdrant_collection_prefix,
    )


def build_definition(embedder_factory: EmbedderFactory = build_embedder) -> ServiceDefinition:
    """The service; tests pass a factory that hands out one shared (already loaded) embedder."""

    async def wire(runtime: ServiceRuntime) -> None:
        settings = runtime.settings
        assert isinstance(settings, RagSettings)
        # Loading the ONNX model takes about a second: off the event loop.
        embedder = await asyncio.to_thread(embedder_factory, settings)
        store = open_store(settings, embedder)
        engine = RagEngine.build(runtime.db, embedder, store, TextAi(settings, runtime.bus))
        runtime.extras[ENGINE] = engine
        rpc.register(runtime.bus, engine)
        run = await engine.reindex_if_empty()
        if run is not None:
            log.info("index was empty: rebuilt from %d known products", run.products)
        if settings.reindex_interval_seconds > 0:
            runtime.extras[REINDEX_TASK] = asyncio.create_task(
                reindex_periodically(engine, settings.reindex_interval_seconds), name="rag-reindex"
            )

    async def unwire(runtime: ServiceRuntime) -> None:
        task: asyncio.Task[None] | None = runtime.extras.pop(REINDEX_TASK, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if ENGINE in runtime.extras:
            await engine_of(runtime).store.close()

    async def readiness(runtime: ServiceRuntime) -> dict[str, str]:
        if ENGINE not in runtime.extras:
            return {"index": "starting"}
        return {"embedding_model": engine_of(runtime).embedder.model_id}

    return ServiceDefinition(
        name="rag",
        description="Embeddings, vector index, needs extraction and grounded recommendations.",
        settings_cls=RagSettings,
        metadata=metadata,
        outbox=outbox,
        inbox=inbox,
        migrations=Path(__file__).parent / "migrations",
        routers=[routes.router],
        handlers=handlers,
        on_startup=[wire],
        on_shutdown=[unwire],
        # No demo data of its own: the catalog's events fill the index.
        seed=None,
        readiness_details=readiness,
    )


definition = build_definition()


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory rag.main:app`."""
    return create_app(definition)
