"""`/api/products/categories`: admins manage categories, everyone reads them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import AdminPrincipal, CurrentPrincipal
from servicekit.errors import NotFound
from servicekit.pagination import Page, Pagination

from .. import service_layer as svc
from ..adapters import repository as repo
from .schemas import CategoryIn, CategoryOut, CategoryPatch

router = APIRouter(prefix="/api/products/categories", tags=["product categories"])


def _out(category: repo.StoredCategory) -> CategoryOut:
    return CategoryOut.model_validate(category, from_attributes=True)


@router.get("", response_model=Page[CategoryOut])
async def list_categories(
    principal: CurrentPrincipal, session: DbSession, paging: Pagination
) -> Page[CategoryOut]:
    items, total = await repo.list_categories(
        session, active_only=not principal.is_admin, offset=paging.offset, limit=paging.page_size
    )
    return Page(items=[_out(c) for c in items], total=total, page=paging.page, page_size=paging.page_size)


@router.post("", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
async def create_category(data: CategoryIn, principal: AdminPrincipal, runtime: Runtime) -> CategoryOut:
    async with runtime.unit_of_work() as uow:
        category = await svc.create_category(uow, principal, data)
    return _out(category)


@router.get("/{category_id}", response_model=CategoryOut)
async def get_category(
    category_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> CategoryOut:
    category = await repo.get_category(session, category_id, active_only=not principal.is_admin)
    if category is None:
        raise NotFound("Category not found.")
    return _out(category)


@router.patch("/{category_id}", response_model=CategoryOut)
async def update_category(
    category_id: uuid.UUID, patch: CategoryPatch, principal: AdminPrincipal, runtime: Runtime
) -> CategoryOut:
    async with runtime.unit_of_work() as uow:
        category = await svc.update_category(uow, principal, category_id, patch)
    return _out(category)


@router.delete("/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(category_id: uuid.UUID, principal: AdminPrincipal, runtime: Runtime) -> Response:
    async with runtime.unit_of_work() as uow:
        await svc.delete_category(uow, principal, category_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
