"""SQL for the `personas` table: the bot's admin-edited personas, at most one of them the default."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.persona import Persona
from .repository import as_utc
from .tables import personas


@dataclass(frozen=True)
class StoredPersona:
    id: uuid.UUID
    name: str
    persona: Persona
    is_default: bool
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None

    def audit_view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "persona": self.persona.model_dump(mode="json"),
            "is_default": self.is_default,
        }


def _stored(row: sa.RowMapping) -> StoredPersona:
    return StoredPersona(
        id=uuid.UUID(row["id"]),
        name=row["name"],
        persona=Persona.model_validate(row["persona"]),
        is_default=bool(row["is_default"]),
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
        updated_by=None if row["updated_by"] is None else uuid.UUID(row["updated_by"]),
    )


async def get(
    session: AsyncSession, persona_id: uuid.UUID, *, for_update: bool = False
) -> StoredPersona | None:
    query = sa.select(personas).where(personas.c.id == str(persona_id))
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return None if row is None else _stored(row)


async def get_default(session: AsyncSession) -> StoredPersona | None:
    query = sa.select(personas).where(personas.c.is_default.is_(True)).order_by(personas.c.updated_at.desc())
    row = (await session.execute(query.limit(1))).mappings().first()
    return None if row is None else _stored(row)


async def list_personas(session: AsyncSession, *, offset: int, limit: int) -> tuple[list[StoredPersona], int]:
    total = await session.scalar(sa.select(sa.func.count()).select_from(personas))
    query = (
        sa.select(personas)
        .order_by(personas.c.is_default.desc(), personas.c.name, personas.c.id)
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.execute(query)).mappings().all()
    return [_stored(row) for row in rows], int(total or 0)


async def name_taken(session: AsyncSession, name: str, *, exclude_id: uuid.UUID | None = None) -> bool:
    """Case-insensitively, on every database (MariaDB's collation would say so, PostgreSQL's would not)."""
    query = sa.select(personas.c.id).where(sa.func.lower(personas.c.name) == name.lower())
    if exclude_id is not None:
        query = query.where(personas.c.id != str(exclude_id))
    return await session.scalar(query.limit(1)) is not None


async def insert(
    session: AsyncSession,
    persona_id: uuid.UUID,
    name: str,
    persona: Persona,
    *,
    now: datetime,
    actor: uuid.UUID | None,
) -> None:
    await session.execute(
        sa.insert(personas).values(
            id=str(persona_id),
            name=name,
            persona=persona.model_dump(mode="json"),
            is_default=False,
            created_at=now,
            updated_at=now,
            updated_by=str(actor) if actor else None,
        )
    )


async def update(
    session: AsyncSession,
    persona_id: uuid.UUID,
    name: str,
    persona: Persona,
    *,
    now: datetime,
    actor: uuid.UUID | None,
) -> None:
    await session.execute(
        sa.update(personas)
        .where(personas.c.id == str(persona_id))
        .values(
            name=name,
            persona=persona.model_dump(mode="json"),
            updated_at=now,
            updated_by=str(actor) if actor else None,
        )
    )


async def delete(session: AsyncSession, persona_id: uuid.UUID) -> None:
    await session.execute(sa.delete(personas).where(personas.c.id == str(persona_id)))


async def make_default(
    session: AsyncSession, persona_id: uuid.UUID, *, now: datetime, actor: uuid.UUID | None
) -> None:
    """One statement over every row clears the old default and sets the new one, so two admins choosing
    at once cannot leave two defaults: the later statement waits for the earlier one's row locks and then
    rewrites every row, including the one the earlier statement made the default (a `WHERE is_default`
    filter would miss that row)."""
    target = personas.c.id == str(persona_id)
    await session.execute(
        sa.update(personas).values(
            is_default=sa.case((target, sa.true()), else_=sa.false()),
            updated_at=sa.case((target, now), else_=personas.c.updated_at),
            updated_by=sa.case((target, str(actor) if actor else None), else_=personas.c.updated_by),
        )
    )
