"""Notification use cases: handlers write the read model (new rows reach this process's open streams
once committed); the API reads and marks a user's own."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from parley_contracts import Event, LeadSnapshot
from servicekit.messaging import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncSession

from .adapters.notification_hub import NotificationHub
from .adapters.tables import lead_projection, notifications
from .domain.notifications import Draft, Notification, notification_id
from .service_layer import aware


def to_notification(row: sa.RowMapping | Mapping[str, Any]) -> Notification:
    return Notification.model_validate(
        {**row, "created_at": aware(row["created_at"]), "read_at": aware(row["read_at"])}
    )


def _announce_after_commit(
    session: AsyncSession, hub: NotificationHub | None, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Push rows to open streams once the transaction commits: a rolled-back handler (it will be
    redelivered) must not have shown anything. No hub when replaying from the command line."""
    if hub is None or not rows:
        return
    messages = [(str(row["user_id"]), to_notification(row).model_dump_json()) for row in rows]

    def publish(_session: object) -> None:
        for user_id, data in messages:
            hub.publish(user_id, data)

    sa.event.listen(session.sync_session, "after_commit", publish, once=True)


async def _store(
    uow: UnitOfWork, hub: NotificationHub | None, event: Event, draft: Draft, user_id: str | None
) -> None:
    t = notifications
    # The inbox already makes each event run once; this also holds when a rebuild cleared the inbox
    # but kept the notifications.
    if await uow.session.scalar(sa.select(t.c.id).where(t.c.source_event_id == str(event.event_id))):
        return
    if await lead_projection.is_deleted(uow.session, draft.lead_id):
        return
    row = {
        "id": str(notification_id(event.event_id)),
        "user_id": user_id,
        "kind": draft.kind.value,
        "title": draft.title,
        "lead_id": str(draft.lead_id),
        "link": draft.link,
        # When it happened, not when it was projected: a replay rebuilds the same order.
        "created_at": event.occurred_at,
        "read_at": None,
        "source_event_id": str(event.event_id),
    }
    await uow.session.execute(sa.insert(t).values(**row))
    if user_id is not None:
        _announce_after_commit(uow.session, hub, [row])


async def notify_user(
    uow: UnitOfWork, hub: NotificationHub | None, event: Event, draft: Draft, user_id: uuid.UUID
) -> None:
    await _store(uow, hub, event, draft, str(user_id))


async def notify_lead_owner(uow: UnitOfWork, hub: NotificationHub | None, event: Event, draft: Draft) -> None:
    """For events that do not name the agent: the owner the projection knows, else it waits for the
    lead's snapshot (lead events and call events travel on separate consumers, in any order)."""
    owner = await uow.session.scalar(
        sa.select(lead_projection.table.c.assigned_agent_id).where(
            lead_projection.table.c.id == str(draft.lead_id)
        )
    )
    await _store(uow, hub, event, draft, owner)


async def lead_changed(uow: UnitOfWork, hub: NotificationHub | None, snapshot: LeadSnapshot) -> None:
    if not await lead_projection.apply_snapshot(uow.session, snapshot, {}):
        return
    if snapshot.assigned_agent_id is None:
        return
    t = notifications
    waiting = (
        (
            await uow.session.execute(
                sa.select(t).where(t.c.lead_id == str(snapshot.id), t.c.user_id.is_(None))
            )
        )
        .mappings()
        .all()
    )
    if not waiting:
        return
    owner = str(snapshot.assigned_agent_id)
    await uow.session.execute(
        sa.update(t).where(t.c.id.in_([row["id"] for row in waiting])).values(user_id=owner)
    )
    _announce_after_commit(uow.session, hub, [{**row, "user_id": owner} for row in waiting])


async def lead_deleted(uow: UnitOfWork, lead_id: uuid.UUID) -> None:
    # The tombstone keeps late events about the lead from notifying anyone; its links would be dead.
    await lead_projection.forget(uow.session, lead_id, {})
    await uow.session.execute(sa.delete(notifications).where(notifications.c.lead_id == str(lead_id)))


def _own(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return notifications.c.user_id == str(user_id)


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    t = notifications
    count = await session.scalar(
        sa.select(sa.func.count()).select_from(t).where(_own(user_id), t.c.read_at.is_(None))
    )
    return int(count or 0)


async def list_page(
    session: AsyncSession, user_id: uuid.UUID, *, unread_only: bool, offset: int, limit: int
) -> tuple[list[Notification], int, int]:
    """The user's notifications, newest first: (items, total shown, unread)."""
    t = notifications
    # Both counts from one statement, so they agree with each other.
    everything, unread = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.sum(sa.case((t.c.read_at.is_(None), 1), else_=0)))
            .select_from(t)
            .where(_own(user_id))
        )
    ).one()
    unread = int(unread or 0)
    shown = sa.and_(_own(user_id), t.c.read_at.is_(None)) if unread_only else _own(user_id)
    rows = (
        await session.execute(
            sa.select(t)
            .where(shown)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).mappings()
    return [to_notification(row) for row in rows], unread if unread_only else int(everything), unread


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, notification: uuid.UUID
) -> Notification | None:
    """The notification, read (the first reading time is kept); None when it is not the user's."""
    t = notifications
    mine = sa.and_(t.c.id == str(notification), _own(user_id))
    await session.execute(sa.update(t).where(mine, t.c.read_at.is_(None)).values(read_at=datetime.now(UTC)))
    row = (await session.execute(sa.select(t).where(mine))).mappings().first()
    return to_notification(row) if row else None


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    t = notifications
    result = await session.execute(
        sa.update(t).where(_own(user_id), t.c.read_at.is_(None)).values(read_at=datetime.now(UTC))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
