"""Catalog use cases. Each change runs in one unit of work that writes the state and its events
(catalog.* and audit.recorded) through the outbox.

What the events promise the index (the rag service): `catalog.product.upserted` carries every active
product's full snapshot; `catalog.product.deleted` withdraws a product from recommendation, whether it
was deleted or deactivated; `catalog.document.uploaded` announces a document of an active product
(its text is fetched over `rpc.catalog.document_text`); `catalog.document.deleted` withdraws one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parley_contracts import (
    AuditRecorded,
    DocumentDeleted,
    DocumentUploaded,
    Event,
    ProductDeleted,
    ProductSnapshot,
    ProductUpserted,
)
from pydantic import ValidationError
from servicekit.auth import Principal
from servicekit.errors import Conflict, NotFound, Unprocessable, UnsupportedMediaType
from servicekit.messaging import UnitOfWork
from servicekit.runtime import ServiceRuntime
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .adapters import repository as repo
from .adapters.storage import DocumentStorage, storage_key
from .api.schemas import CategoryIn, CategoryPatch, ProductIn, ProductPatch, ReindexReport
from .domain.content_types import DocumentKind, UnsupportedDocument, detect_kind
from .domain.extraction import ExtractedText, ExtractionLimits, UnreadableDocument, extract_text
from .domain.filenames import safe_filename

SERVICE = "catalog"
log = logging.getLogger("catalog.service")


def _audit(
    principal: Principal | None,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditRecorded:
    return AuditRecorded(
        service=SERVICE,
        actor_id=principal.user_id if principal else None,
        actor_role=principal.role.value if principal else "SYSTEM",
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(key for key in after if before.get(key) != after[key])


# -- categories ---------------------------------------------------------------------------------


async def create_category(
    uow: UnitOfWork, principal: Principal, data: CategoryIn, *, category_id: uuid.UUID | None = None
) -> repo.StoredCategory:
    if await repo.category_name_taken(uow.session, data.name):
        raise Conflict(f"A category named {data.name!r} already exists.", field="name")
    category_id = category_id or uuid.uuid4()
    await repo.insert_category(uow.session, category_id, data.name, data.description)
    category = await repo.get_category(uow.session, category_id)
    assert category is not None
    await uow.emit(
        _audit(principal, "category.created", "category", category_id, None, category.audit_view())
    )
    return category


async def update_category(
    uow: UnitOfWork, principal: Principal, category_id: uuid.UUID, patch: CategoryPatch
) -> repo.StoredCategory:
    current = await repo.get_category(uow.session, category_id)
    if current is None:
        raise NotFound("Category not found.")
    changes = patch.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Unprocessable(
            "name cannot be null.", errors=[{"loc": ["body", "name"], "msg": "null", "type": "null"}]
        )
    name = changes.get("name", current.name)
    description = changes.get("description", current.description)
    before, after = current.audit_view(), {**current.audit_view(), "name": name, "description": description}
    changed = _changed(before, after)
    if not changed:
        return current
    if "name" in changed and await repo.category_name_taken(uow.session, name, exclude_id=category_id):
        raise Conflict(f"A category named {name!r} already exists.", field="name")
    await repo.update_category(uow.session, category_id, name, description)
    if "name" in changed:
        # Every product snapshot carries its category's name; the index must see the new one.
        renamed = [p for p in await repo.list_category_products(uow.session, category_id) if p.active]
        await uow.emit_many(
            [ProductUpserted(product=p.snapshot, actor_id=principal.user_id) for p in renamed]
        )
    await uow.emit(
        _audit(
            principal,
            "category.updated",
            "category",
            category_id,
            {k: before[k] for k in changed},
            {k: after[k] for k in changed},
        )
    )
    updated = await repo.get_category(uow.session, category_id)
    assert updated is not None
    return updated


async def delete_category(uow: UnitOfWork, principal: Principal, category_id: uuid.UUID) -> None:
    current = await repo.get_category(uow.session, category_id)
    if current is None:
        raise NotFound("Category not found.")
    if current.product_count:
        raise Conflict(
            f"The category still has {current.product_count} product(s); move or delete them first.",
            product_count=current.product_count,
        )
    await repo.delete_category(uow.session, category_id)
    await uow.emit(_audit(principal, "category.deleted", "category", category_id, current.audit_view(), None))


# -- products -----------------------------------------------------------------------------------


def _validation_problem(exc: ValidationError) -> Unprocessable:
    errors = [
        {"loc": ["body", *(str(p) for p in err["loc"])], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]
    return Unprocessable("The request has invalid fields.", errors=errors)


async def _category_name(uow: UnitOfWork, category_id: uuid.UUID) -> str:
    category = await repo.get_category(uow.session, category_id)
    if category is None:
        raise Unprocessable(
            "The category does not exist.",
            errors=[{"loc": ["body", "category_id"], "msg": "unknown category", "type": "not_found"}],
        )
    return category.name


def _snapshot(product_id: uuid.UUID, data: ProductIn, category_name: str, stamp: datetime) -> ProductSnapshot:
    return ProductSnapshot.model_validate(
        {
            **data.model_dump(exclude={"active"}),
            "id": product_id,
            "category_name": category_name,
            "updated_at": stamp,
        }
    )


def _uploaded(document: repo.StoredDocument, actor_id: uuid.UUID | None) -> DocumentUploaded:
    return DocumentUploaded(
        document_id=document.id,
        product_id=document.product_id,
        category_id=document.category_id,
        filename=document.filename,
        content_type=document.content_type,
        text_chars=document.text_chars,
        actor_id=actor_id,
    )


async def create_product(
    uow: UnitOfWork, principal: Principal, data: ProductIn, *, product_id: uuid.UUID | None = None
) -> repo.StoredProduct:
    category_name = await _category_name(uow, data.category_id)
    if await repo.product_name_taken(uow.session, data.insurer, data.name):
        raise Conflict(f"{data.insurer} already has a product named {data.name!r}.", field="name")
    stamp = repo.now()
    snapshot = _snapshot(product_id or uuid.uuid4(), data, category_name, stamp)
    await repo.insert_product(uow.session, snapshot, data.active, created_at=stamp)
    product = await repo.get_product(uow.session, snapshot.id)
    assert product is not None
    if product.active:
        await uow.emit(ProductUpserted(product=product.snapshot, actor_id=principal.user_id))
    await uow.emit(_audit(principal, "product.created", "product", snapshot.id, None, product.audit_view()))
    return product


async def update_product(
    uow: UnitOfWork, principal: Principal, product_id: uuid.UUID, patch: ProductPatch
) -> repo.StoredProduct:
    current = await repo.get_product(uow.session, product_id, for_update=True)
    if current is None:
        raise NotFound("Product not found.")
    stored_input = {
        **current.snapshot.model_dump(mode="json", include=set(ProductIn.model_fields)),
        "active": current.active,
    }
    try:
        data = ProductIn.model_validate({**stored_input, **patch.model_dump(mode="json", exclude_unset=True)})
    except ValidationError as exc:
        raise _validation_problem(exc) from exc
    category_name = await _category_name(uow, data.category_id)
    if await repo.product_name_taken(uow.session, data.insurer, data.name, exclude_id=product_id):
        raise Conflict(f"{data.insurer} already has a product named {data.name!r}.", field="name")
    proposed = _snapshot(product_id, data, category_name, repo.now())
    before = current.audit_view()
    after = {**proposed.model_dump(mode="json"), "active": data.active}
    changed = [key for key in _changed(before, after) if key != "updated_at"]
    if not changed:
        return current
    await repo.update_product(uow.session, proposed, data.active)
    updated = await repo.get_product(uow.session, product_id)
    assert updated is not None
    actor = principal.user_id
    if updated.active:
        await uow.emit(ProductUpserted(product=updated.snapshot, actor_id=actor))
        if not current.active:
            # Back on sale: its documents were withdrawn from the index with it.
            documents = await repo.product_documents(uow.session, [product_id])
            await uow.emit_many([_uploaded(d, actor) for d in documents])
    elif current.active:
        await uow.emit(ProductDeleted(product_id=product_id, actor_id=actor))
    await uow.emit(
        _audit(
            principal,
            "product.updated",
            "product",
            product_id,
            {k: before[k] for k in changed},
            {k: after[k] for k in changed},
        )
    )
    return updated


async def reindex(uow: UnitOfWork, principal: Principal) -> ReindexReport:
    """Announce every active product and its documents again; the index upserts idempotently."""
    products = await repo.list_active_products(uow.session)
    documents = await repo.product_documents(uow.session, [p.snapshot.id for p in products])
    events: list[Event] = [ProductUpserted(product=p.snapshot, actor_id=principal.user_id) for p in products]
    events.extend(_uploaded(d, principal.user_id) for d in documents)
    await uow.emit_many(events)
    report = ReindexReport(products=len(products), documents=len(documents))
    await uow.emit(
        _audit(principal, "catalog.reindex_requested", "catalog", "reindex", None, report.model_dump())
    )
    return report


# -- documents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    filename: str | None
    declared_type: str | None
    data: bytes


class DocumentPipeline:
    """Original files (storage) and text extraction, shared by uploads, the seed and deletions."""

    def __init__(self, storage: DocumentStorage, limits: ExtractionLimits, concurrency: int) -> None:
        self.storage = storage
        self.limits = limits
        self._slots = asyncio.Semaphore(concurrency)

    async def extract(self, kind: DocumentKind, data: bytes) -> ExtractedText:
        async with self._slots:
            return await asyncio.to_thread(extract_text, kind, data, self.limits)

    async def discard(self, keys: Sequence[str]) -> None:
        """Remove files whose rows are gone; a failure only leaves an orphan file, so it is logged."""
        for key in keys:
            try:
                await self.storage.delete(key)
            except OSError:
                log.warning("could not delete stored file %s", key, exc_info=True)


async def upload_document(
    runtime: ServiceRuntime,
    pipeline: DocumentPipeline,
    principal: Principal,
    product_id: uuid.UUID,
    upload: Upload,
    *,
    document_id: uuid.UUID | None = None,
) -> repo.StoredDocument:
    """Check, extract and store a file, then record it. Anything refused leaves no row and no file."""
    try:
        kind = detect_kind(upload.data, upload.declared_type, upload.filename or "")
    except UnsupportedDocument as exc:
        raise UnsupportedMediaType(str(exc)) from exc
    sha256 = hashlib.sha256(upload.data).hexdigest()
    async with runtime.db.session() as session:
        # Checked before the costly extraction, and again below in the transaction.
        await _refuse_duplicate(session, product_id, sha256)
    try:
        extracted = await pipeline.extract(kind, upload.data)
    except UnreadableDocument as exc:
        raise Unprocessable(str(exc)) from exc
    document_id = document_id or uuid.uuid4()
    key = storage_key(document_id)
    await pipeline.storage.save(key, upload.data)
    try:
        async with runtime.unit_of_work() as uow:
            product = await repo.get_product(uow.session, product_id, for_update=True)
            if product is None:
                raise NotFound("Product not found.")
            await _refuse_duplicate(uow.session, product_id, sha256)
            await repo.insert_document(
                uow.session,
                repo.NewDocument(
                    id=document_id,
                    product_id=product_id,
                    category_id=product.snapshot.category_id,
                    filename=safe_filename(upload.filename, kind),
                    content_type=kind.value,
                    size=len(upload.data),
                    sha256=sha256,
                    storage_key=key,
                    extracted_text=extracted.text,
                    page_count=extracted.page_count,
                    uploaded_by=principal.user_id,
                ),
            )
            document = await repo.get_document(uow.session, document_id)
            assert document is not None
            if product.active:
                await uow.emit(_uploaded(document, principal.user_id))
            await uow.emit(
                _audit(principal, "document.uploaded", "document", document_id, None, document.audit_view())
            )
    except BaseException as exc:
        # The row was not committed, so the file must not stay either (cancellation included).
        await pipeline.discard([key])
        if isinstance(exc, IntegrityError):
            raise Conflict(
                "This file was attached to the product at the same moment by another upload."
            ) from exc
        raise
    return document


async def _refuse_duplicate(session: AsyncSession, product_id: uuid.UUID, sha256: str) -> None:
    existing = await repo.document_with_hash(session, product_id, sha256)
    if existing is not None:
        raise Conflict("This file is already attached to the product.", document_id=str(existing))


async def delete_document(
    runtime: ServiceRuntime, pipeline: DocumentPipeline, principal: Principal, document_id: uuid.UUID
) -> None:
    async with runtime.unit_of_work() as uow:
        document = await repo.get_document(uow.session, document_id)
        if document is None:
            raise NotFound("Document not found.")
        await repo.delete_document(uow.session, document_id)
        await uow.emit(
            DocumentDeleted(
                document_id=document_id, product_id=document.product_id, actor_id=principal.user_id
            )
        )
        await uow.emit(
            _audit(principal, "document.deleted", "document", document_id, document.audit_view(), None)
        )
    await pipeline.discard([document.storage_key])


async def delete_product(
    runtime: ServiceRuntime, pipeline: DocumentPipeline, principal: Principal, product_id: uuid.UUID
) -> None:
    async with runtime.unit_of_work() as uow:
        current = await repo.get_product(uow.session, product_id, for_update=True)
        if current is None:
            raise NotFound("Product not found.")
        documents = await repo.product_documents(uow.session, [product_id])
        await repo.delete_product(uow.session, product_id)
        await uow.emit_many(
            [
                DocumentDeleted(document_id=d.id, product_id=product_id, actor_id=principal.user_id)
                for d in documents
            ]
        )
        await uow.emit(ProductDeleted(product_id=product_id, actor_id=principal.user_id))
        await uow.emit(
            _audit(principal, "product.deleted", "product", product_id, current.audit_view(), None)
        )
    await pipeline.discard([d.storage_key for d in documents])
