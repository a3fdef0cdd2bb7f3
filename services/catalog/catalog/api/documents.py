"""Product documents: upload (admins), listing per product or per category, download, delete (admins).

Agents see documents of active products only.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict

from fastapi import APIRouter, Request, Response, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import AdminPrincipal, CurrentPrincipal
from servicekit.errors import NotFound
from servicekit.pagination import Page, Pagination

from .. import service_layer as svc
from ..adapters import repository as repo
from ..adapters.storage import StoredFileMissing
from ..domain.content_types import DocumentKind
from ..domain.filenames import content_disposition
from .deps import Pipeline, Settings
from .schemas import DocumentOut
from .uploads import OPENAPI_UPLOAD_BODY, read_upload

router = APIRouter(prefix="/api/products", tags=["product documents"])
log = logging.getLogger("catalog.documents")


def _out(document: repo.StoredDocument) -> DocumentOut:
    return DocumentOut.model_validate(
        {**asdict(document), "download_url": f"/api/products/documents/{document.id}/download"}
    )


def _page(items: list[repo.StoredDocument], total: int, paging: Pagination) -> Page[DocumentOut]:
    return Page(items=[_out(d) for d in items], total=total, page=paging.page, page_size=paging.page_size)


# Declared before `/{product_id}/documents`, which would otherwise take "categories" as a product id.
@router.get("/categories/{category_id}/documents", response_model=Page[DocumentOut])
async def list_category_documents(
    category_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, paging: Pagination
) -> Page[DocumentOut]:
    if await repo.get_category(session, category_id) is None:
        raise NotFound("Category not found.")
    items, total = await repo.list_documents(
        session,
        category_id=category_id,
        active_only=not principal.is_admin,
        offset=paging.offset,
        limit=paging.page_size,
    )
    return _page(items, total, paging)


@router.get("/{product_id}/documents", response_model=Page[DocumentOut])
async def list_product_documents(
    product_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, paging: Pagination
) -> Page[DocumentOut]:
    if await repo.get_product(session, product_id, active_only=not principal.is_admin) is None:
        raise NotFound("Product not found.")
    items, total = await repo.list_documents(
        session, product_id=product_id, active_only=False, offset=paging.offset, limit=paging.page_size
    )
    return _page(items, total, paging)


@router.post(
    "/{product_id}/documents",
    response_model=DocumentOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=OPENAPI_UPLOAD_BODY,
)
async def upload_document(
    product_id: uuid.UUID,
    request: Request,
    principal: AdminPrincipal,
    runtime: Runtime,
    pipeline: Pipeline,
    settings: Settings,
) -> DocumentOut:
    """Attach a PDF, HTML or UTF-8 text file (multipart field `file`). The type is decided from the
    bytes; the text is extracted and stored for the index; the original stays downloadable."""
    async with runtime.db.session() as session:
        # Answer before receiving a body that could be 20 MB.
        if await repo.get_product(session, product_id) is None:
            raise NotFound("Product not found.")
    upload = await read_upload(request, settings.max_upload_bytes)
    document = await svc.upload_document(runtime, pipeline, principal, product_id, upload)
    return _out(document)


@router.get(
    "/documents/{document_id}/download",
    response_class=Response,
    responses={
        200: {"description": "the original file", "content": {kind.value: {} for kind in DocumentKind}}
    },
)
async def download_document(
    document_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, pipeline: Pipeline
) -> Response:
    document = await repo.get_document(session, document_id, active_only=not principal.is_admin)
    if document is None:
        raise NotFound("Document not found.")
    try:
        data = await pipeline.storage.load(document.storage_key)
    except StoredFileMissing as exc:
        log.error("document %s has no stored file at %s", document.id, document.storage_key)
        raise NotFound("The original file of this document is missing from storage.") from exc
    # Starlette adds "; charset=utf-8" to the text types, which is what their text was checked to be.
    return Response(
        data,
        media_type=document.content_type,
        headers={
            "Content-Disposition": content_disposition(document.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-cache",
        },
    )


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(
    document_id: uuid.UUID, principal: AdminPrincipal, runtime: Runtime, pipeline: Pipeline
) -> Response:
    await svc.delete_document(runtime, pipeline, principal, document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
