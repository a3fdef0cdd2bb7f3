"""`/api/products`: admins manage products, agents read the active ones (an inactive product is a 404)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import AdminPrincipal, CurrentPrincipal
from servicekit.errors import NotFound
from servicekit.pagination import Page, Pagination

from .. import service_layer as svc
from ..adapters import repository as repo
from .deps import Pipeline
from .schemas import ProductIn, ProductOut, ProductPatch, ReindexReport

router = APIRouter(prefix="/api/products", tags=["products"])

ProductSort = Literal[
    "name",
    "-name",
    "insurer",
    "-insurer",
    "premium",
    "-premium",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
]


def _out(product: repo.StoredProduct) -> ProductOut:
    return ProductOut.model_validate(
        {**product.snapshot.model_dump(), "active": product.active, "created_at": product.created_at}
    )


@router.get("", response_model=Page[ProductOut])
async def list_products(
    principal: CurrentPrincipal,
    session: DbSession,
    paging: Pagination,
    category_id: uuid.UUID | None = None,
    insurer: Annotated[str | None, Query(max_length=200)] = None,
    plan_type: Annotated[str | None, Query(max_length=50)] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="text in name, insurer, description, highlights, riders or tags"),
    ] = None,
    age: Annotated[int | None, Query(ge=0, le=120, description="only products this age may buy")] = None,
    max_monthly_premium: Annotated[
        float | None,
        Query(
            ge=0,
            le=1e9,
            allow_inf_nan=False,
            description="only products whose lowest premium, as a monthly amount, is at most this",
        ),
    ] = None,
    active: Annotated[
        bool | None, Query(description="admins only; agents always see active products")
    ] = None,
    sort: ProductSort = "name",
) -> Page[ProductOut]:
    filters = repo.ProductFilters(
        category_id=category_id,
        insurer=insurer,
        plan_type=plan_type,
        tag=tag,
        text=q,
        age=age,
        max_monthly_premium=max_monthly_premium,
        active=active if principal.is_admin else True,
    )
    items, total = await repo.list_products(
        session, filters, sort=sort, offset=paging.offset, limit=paging.page_size
    )
    return Page(items=[_out(p) for p in items], total=total, page=paging.page, page_size=paging.page_size)


@router.post("", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
async def create_product(data: ProductIn, principal: AdminPrincipal, runtime: Runtime) -> ProductOut:
    async with runtime.unit_of_work() as uow:
        product = await svc.create_product(uow, principal, data)
    return _out(product)


@router.post("/reindex", response_model=ReindexReport, status_code=status.HTTP_202_ACCEPTED)
async def reindex(principal: AdminPrincipal, runtime: Runtime) -> ReindexReport:
    """Re-announce every active product and its documents; the rag service re-indexes them."""
    async with runtime.unit_of_work() as uow:
        return await svc.reindex(uow, principal)


@router.get("/{product_id}", response_model=ProductOut)
async def get_product(product_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> ProductOut:
    product = await repo.get_product(session, product_id, active_only=not principal.is_admin)
    if product is None:
        raise NotFound("Product not found.")
    return _out(product)


@router.patch("/{product_id}", response_model=ProductOut)
async def update_product(
    product_id: uuid.UUID, patch: ProductPatch, principal: AdminPrincipal, runtime: Runtime
) -> ProductOut:
    async with runtime.unit_of_work() as uow:
        product = await svc.update_product(uow, principal, product_id, patch)
    return _out(product)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_product(
    product_id: uuid.UUID, principal: AdminPrincipal, runtime: Runtime, pipeline: Pipeline
) -> Response:
    await svc.delete_product(runtime, pipeline, principal, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
