"""The demo catalog for `make up` (dev only): categories, products and their documents, stored through
the same paths as the API (documents are sniffed, extracted and stored like uploads). Idempotent:
anything already present, by its fixed id, is left alone."""

from __future__ import annotations

from servicekit.auth import Principal
from servicekit.demo import DEMO_ADMIN
from servicekit.runtime import ServiceRuntime

from . import service_layer as svc
from .adapters import repository as repo
from .api.schemas import CategoryIn, ProductIn
from .demo import load_demo_catalog


async def seed(runtime: ServiceRuntime) -> None:
    catalog = load_demo_catalog()
    admin = Principal(DEMO_ADMIN.id, DEMO_ADMIN.role, DEMO_ADMIN.email, DEMO_ADMIN.name)
    async with runtime.unit_of_work() as uow:
        for category in catalog.categories:
            if await repo.get_category(uow.session, category.id) is None:
                await svc.create_category(
                    uow,
                    admin,
                    CategoryIn(name=category.name, description=category.description),
                    category_id=category.id,
                )
        for product in catalog.products:
            if await repo.get_product(uow.session, product.id) is None:
                data = ProductIn.model_validate(
                    product.model_dump(exclude={"id", "category_name", "updated_at"})
                )
                await svc.create_product(uow, admin, data, product_id=product.id)
    pipeline: svc.DocumentPipeline = runtime.extras["documents"]
    for document in catalog.documents:
        async with runtime.db.session() as session:
            present = await repo.document_exists(session, document.id)
        if not present:
            upload = svc.Upload(
                filename=document.filename, declared_type=document.content_type, data=document.content
            )
            await svc.upload_document(
                runtime, pipeline, admin, document.product_id, upload, document_id=document.id
            )
    await runtime.relay.publish_pending()
