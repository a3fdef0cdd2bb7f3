"""`/api/admin`: users, settings (secrets encrypted, masked), audit log. ADMIN only."""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import AdminPrincipal
from servicekit.errors import Conflict, NotFound, Unprocessable
from servicekit.pagination import Page, Pagination

from .. import service_layer as svc
from ..adapters.tables import audit_log, users
from ..domain.rate_limit import Rule
from ..domain.settings_catalog import InvalidSetting
from .deps import Secrets, Settings, enforce
from .schemas import AuditOut, SettingOut, SettingsPut, UserIn, UserOut, UserPatch

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.get("/users", response_model=Page[UserOut])
async def list_users(
    _: AdminPrincipal,
    session: DbSession,
    paging: Pagination,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[UserOut]:
    where: sa.ColumnElement[bool] = sa.true()
    if q:
        pattern = f"%{q.lower()}%"
        where = sa.or_(sa.func.lower(users.c.email).like(pattern), sa.func.lower(users.c.name).like(pattern))
    total = await session.scalar(sa.select(sa.func.count()).select_from(users).where(where))
    rows = (
        await session.execute(
            sa.select(users)
            .where(where)
            .order_by(users.c.email)
            .offset(paging.offset)
            .limit(paging.page_size)
        )
    ).mappings()
    return Page(
        items=[UserOut.model_validate(dict(r)) for r in rows],
        total=int(total or 0),
        page=paging.page,
        page_size=paging.page_size,
    )


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def create_user(data: UserIn, admin: AdminPrincipal, runtime: Runtime) -> UserOut:
    async with runtime.db.transaction() as session:
        if await session.scalar(sa.select(users.c.id).where(users.c.email == data.email.lower())):
            raise Conflict("A user with this email already exists.", field="email")
        row = await svc.create_user(
            session, admin, email=data.email, name=data.name, role=data.role.value, password=data.password
        )
    return UserOut.model_validate(row)


async def _user_or_404(session: DbSession, user_id: uuid.UUID) -> dict[str, object]:
    row = (await session.execute(sa.select(users).where(users.c.id == str(user_id)))).mappings().first()
    if row is None:
        raise NotFound("User not found.")
    return dict(row)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(
    user_id: uuid.UUID, patch: UserPatch, admin: AdminPrincipal, runtime: Runtime
) -> UserOut:
    changes = patch.model_dump(exclude_unset=True, exclude_none=True)
    if user_id == admin.user_id and (
        changes.get("active") is False or changes.get("role", "ADMIN") != "ADMIN"
    ):
        raise Unprocessable("You cannot deactivate or demote yourself.")
    async with runtime.db.transaction() as session:
        current = await _user_or_404(session, user_id)
        updated = await svc.update_user(session, admin, current, changes)
    return UserOut.model_validate(updated)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_user(user_id: uuid.UUID, admin: AdminPrincipal, runtime: Runtime) -> Response:
    """Users are deactivated, not erased: their id stays on leads, calls and the audit log."""
    if user_id == admin.user_id:
        raise Unprocessable("You cannot deactivate yourself.")
    async with runtime.db.transaction() as session:
        current = await _user_or_404(session, user_id)
        await svc.update_user(session, admin, current, {"active": False})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/settings", response_model=list[SettingOut])
async def get_settings(_: AdminPrincipal, session: DbSession, box: Secrets) -> list[SettingOut]:
    return [SettingOut.model_validate(s) for s in await svc.read_settings(session, box)]


@router.put("/settings", response_model=list[SettingOut])
async def put_settings(
    data: SettingsPut,
    admin: AdminPrincipal,
    request: Request,
    runtime: Runtime,
    box: Secrets,
    settings: Settings,
) -> list[SettingOut]:
    enforce(request, Rule("settings", settings.critical_rate_per_minute, 60), f"user:{admin.user_id}")
    try:
        async with runtime.db.transaction() as session:
            await svc.put_settings(session, box, admin, data.values)
    except InvalidSetting as exc:
        raise Unprocessable(
            exc.message, errors=[{"loc": ["body", "values", exc.key], "msg": exc.message}]
        ) from exc
    async with runtime.db.session() as session:
        return [SettingOut.model_validate(s) for s in await svc.read_settings(session, box)]


@router.get("/audit", response_model=Page[AuditOut])
async def list_audit(
    _: AdminPrincipal,
    session: DbSession,
    paging: Pagination,
    entity: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    actor_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[AuditOut]:
    conditions = []
    if entity:
        conditions.append(audit_log.c.entity == entity)
    if entity_id:
        conditions.append(audit_log.c.entity_id == entity_id)
    if actor_id:
        conditions.append(audit_log.c.actor_id == str(actor_id))
    if action:
        conditions.append(audit_log.c.action == action)
    where = sa.and_(sa.true(), *conditions)
    total = await session.scalar(sa.select(sa.func.count()).select_from(audit_log).where(where))
    rows = (
        await session.execute(
            sa.select(audit_log)
            .where(where)
            .order_by(audit_log.c.created_at.desc(), audit_log.c.id)
            .offset(paging.offset)
            .limit(paging.page_size)
        )
    ).mappings()
    items = []
    for r in rows:
        item = dict(r)
        item["created_at"] = svc.aware(item["created_at"])
        items.append(AuditOut.model_validate(item))
    return Page(items=items, total=int(total or 0), page=paging.page, page_size=paging.page_size)
