"""Lead persistence. Every query that an agent can reach takes the principal and scopes by owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from parley_contracts import ConsentFlags, LeadSnapshot, LeadStatus
from servicekit.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.timeline import ActivityType
from .tables import activities, leads

SORTABLE = {"name", "created_at", "updated_at", "status", "age"}


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite and MariaDB hand back naive datetimes for timezone-aware columns; all we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def row_to_snapshot(row: sa.RowMapping) -> LeadSnapshot:
    data = dict(row)
    data["created_at"] = _aware(data["created_at"])
    data["updated_at"] = _aware(data["updated_at"])
    data["timezone_candidates"] = data["timezone_candidates"] or []
    return LeadSnapshot.model_validate(data)


def visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    if principal.is_admin:
        return sa.true()
    return leads.c.assigned_agent_id == str(principal.user_id)


async def get_lead(
    session: AsyncSession, lead_id: uuid.UUID, principal: Principal | None = None, *, for_update: bool = False
) -> LeadSnapshot | None:
    query = sa.select(leads).where(leads.c.id == str(lead_id))
    if principal is not None:
        query = query.where(visible_to(principal))
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return row_to_snapshot(row) if row else None


@dataclass(frozen=True)
class LeadFilters:
    """The console's narrowing of a lead list (each one optional)."""

    source: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    has_email: bool | None = None
    dnd: bool | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.source is not None:
            conditions.append(sa.func.lower(leads.c.source) == self.source.lower())
        if self.age_min is not None:
            conditions.append(leads.c.age >= self.age_min)
        if self.age_max is not None:
            conditions.append(leads.c.age <= self.age_max)
        if self.has_email is not None:
            conditions.append(leads.c.email.is_not(None) if self.has_email else leads.c.email.is_(None))
        if self.dnd is not None:
            flag = leads.c.consent_flags["dnd"].as_boolean()
            conditions.append(flag.is_(True) if self.dnd else sa.or_(flag.is_(False), flag.is_(None)))
        return conditions


async def pipeline_counts(session: AsyncSession, principal: Principal) -> dict[LeadStatus, int]:
    """Leads per status among those the principal sees (an agent's own, or everyone's for admins)."""
    rows = await session.execute(
        sa.select(leads.c.status, sa.func.count()).where(visible_to(principal)).group_by(leads.c.status)
    )
    counts = dict.fromkeys(LeadStatus, 0)
    for status, count in rows.all():
        counts[LeadStatus(status)] = int(count)
    return counts


async def list_leads(
    session: AsyncSession,
    principal: Principal,
    *,
    status: Sequence[LeadStatus] | None,
    agent_id: uuid.UUID | None,
    text: str | None,
    sort: str,
    offset: int,
    limit: int,
    filters: LeadFilters | None = None,
) -> tuple[list[LeadSnapshot], int]:
    conditions: list[sa.ColumnElement[bool]] = [visible_to(principal), *(filters or LeadFilters()).where()]
    if status:
        conditions.append(leads.c.status.in_([s.value for s in status]))
    if agent_id:
        conditions.append(leads.c.assigned_agent_id == str(agent_id))
    if text:
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conditions.append(
            sa.or_(
                sa.func.lower(leads.c.name).like(pattern, escape="\\"),
                sa.func.lower(sa.func.coalesce(leads.c.email, "")).like(pattern, escape="\\"),
                leads.c.phone.like(pattern, escape="\\"),
                sa.func.lower(sa.func.coalesce(leads.c.location, "")).like(pattern, escape="\\"),
            )
        )
    where = sa.and_(*conditions)
    descending = sort.startswith("-")
    column = leads.c[sort.lstrip("-")]
    order = [column.desc() if descending else column.asc(), leads.c.id]
    total = await session.scalar(sa.select(sa.func.count()).select_from(leads).where(where))
    rows = (
        await session.execute(sa.select(leads).where(where).order_by(*order).offset(offset).limit(limit))
    ).mappings()
    return [row_to_snapshot(r) for r in rows], int(total or 0)


def lead_values(snapshot: LeadSnapshot) -> dict[str, Any]:
    data = snapshot.model_dump(mode="json")
    data["created_at"] = snapshot.created_at
    data["updated_at"] = snapshot.updated_at
    return data


async def insert_leads(session: AsyncSession, snapshots: Sequence[LeadSnapshot]) -> None:
    if snapshots:
        await session.execute(sa.insert(leads), [lead_values(s) for s in snapshots])


async def update_lead(session: AsyncSession, snapshot: LeadSnapshot) -> None:
    values = lead_values(snapshot)
    values.pop("id")
    values.pop("created_at")
    await session.execute(sa.update(leads).where(leads.c.id == str(snapshot.id)).values(**values))


async def delete_lead(session: AsyncSession, lead_id: uuid.UUID) -> None:
    await session.execute(sa.delete(activities).where(activities.c.lead_id == str(lead_id)))
    await session.execute(sa.delete(leads).where(leads.c.id == str(lead_id)))


async def existing_contacts(session: AsyncSession) -> tuple[set[str], set[str]]:
    rows = (await session.execute(sa.select(leads.c.phone, leads.c.email))).all()
    return {r.phone for r in rows}, {r.email for r in rows if r.email}


async def find_contact_conflict(
    session: AsyncSession, *, phone: str | None, email: str | None, exclude_id: uuid.UUID | None = None
) -> str | None:
    checks: list[tuple[str, sa.ColumnElement[bool]]] = []
    if phone:
        checks.append(("phone", leads.c.phone == phone))
    if email:
        checks.append(("email", sa.func.lower(leads.c.email) == email.lower()))
    for field, condition in checks:
        query = sa.select(leads.c.id).where(condition)
        if exclude_id:
            query = query.where(leads.c.id != str(exclude_id))
        if await session.scalar(query.limit(1)):
            return field
    return None


def activity_values(
    lead_id: uuid.UUID,
    type_: ActivityType,
    summary: str,
    payload: dict[str, Any],
    *,
    actor_id: uuid.UUID | None = None,
    source_event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "lead_id": str(lead_id),
        "type": type_.value,
        "summary": summary[:500],
        "payload": payload,
        "actor_id": str(actor_id) if actor_id else None,
        "source_event_id": str(source_event_id) if source_event_id else None,
        "occurred_at": occurred_at or now(),
    }


async def add_activities(session: AsyncSession, values: Sequence[dict[str, Any]]) -> None:
    if values:
        await session.execute(sa.insert(activities), list(values))


async def list_activities(
    session: AsyncSession, lead_id: uuid.UUID, *, offset: int, limit: int, newest_first: bool
) -> tuple[list[dict[str, Any]], int]:
    where = activities.c.lead_id == str(lead_id)
    total = await session.scalar(sa.select(sa.func.count()).select_from(activities).where(where))
    order = activities.c.occurred_at.desc() if newest_first else activities.c.occurred_at.asc()
    rows = (
        await session.execute(
            sa.select(activities).where(where).order_by(order, activities.c.id).offset(offset).limit(limit)
        )
    ).mappings()
    items = []
    for row in rows:
        item = dict(row)
        item["occurred_at"] = _aware(item["occurred_at"])
        items.append(item)
    return items, int(total or 0)


def consent_of(snapshot: LeadSnapshot) -> ConsentFlags:
    return snapshot.consent_flags
