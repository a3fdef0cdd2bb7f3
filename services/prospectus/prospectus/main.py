"""The prospectus service: a personalised PDF per lead, versioned, rendered off the request path."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from parley_contracts import RPC_PROSPECTUS_PDF, ProspectusPdfReply, ProspectusPdfRequest
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from . import service_layer as svc
from .adapters.gateway import GatewayDirectory
from .adapters.local_store import LocalDirectoryStore
from .adapters.render_pool import RenderPool
from .adapters.tables import inbox, metadata, outbox
from .api.routes import router
from .handlers.events import handlers
from .settings import ProspectusSettings
from .worker import RenderWorker


async def wire(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, ProspectusSettings)
    store = LocalDirectoryStore(settings.store_dir)
    renders = RenderPool(settings.render_concurrency)
    renders.start()
    runtime.extras["renders"] = renders
    worker = RenderWorker(
        runtime,
        settings,
        renders,
        store,
        GatewayDirectory(runtime.bus, settings.gateway_timeout_seconds),
    )
    runtime.extras["store"] = store
    runtime.extras["worker"] = worker

    async def pdf_for_mailer(request: ProspectusPdfRequest) -> ProspectusPdfReply:
        return await svc.pdf_for_mailer(runtime.db, store, request, runtime.bus.nc.max_payload)

    runtime.bus.respond(RPC_PROSPECTUS_PDF, ProspectusPdfRequest, pdf_for_mailer)
    worker.start()


async def stop_worker(runtime: ServiceRuntime) -> None:
    worker: RenderWorker | None = runtime.extras.get("worker")
    if worker is not None:
        await worker.stop()
    renders: RenderPool | None = runtime.extras.pop("renders", None)
    if renders is not None:
        await renders.close()


definition = ServiceDefinition(
    name="prospectus",
    description="Personalised prospectus PDFs per lead, versioned; rendered on demand and after each recommendation.",
    settings_cls=ProspectusSettings,
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    handlers=handlers,
    on_startup=[wire],
    on_shutdown=[stop_worker],
)


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory prospectus.main:app`."""
    return create_app(definition)
