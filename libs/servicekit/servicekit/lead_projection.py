"""A service's own copy of lead ownership, fed by lead.created / lead.updated / lead.deleted, for the
rule that an agent sees only the data of leads assigned to them (another agent's lead is a 404).

Every projection has the same core: the lead id, its assigned agent, a tombstone and the version of
the snapshot it holds. Lead events travel on separate consumers and arrive in any order, so an older
snapshot never overwrites a newer one and a deleted lead is never brought back. A service adds the
columns it needs of the lead, and keeps its own migrations.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import nats.errors
import sqlalchemy as sa
from parley_contracts import (
    RPC_LEADS_SNAPSHOT,
    LeadCreated,
    LeadDeleted,
    LeadSnapshot,
    LeadSnapshotReply,
    LeadSnapshotRequest,
    LeadUpdated,
)
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .auth import Principal
from .messaging import Handler, UnitOfWork

if TYPE_CHECKING:
    from .runtime import ServiceRuntime

log = logging.getLogger("servicekit.lead_projection")
# How long a request waits for leads before the caller answers as if the lead were unknown.
ASK_LEADS_TIMEOUT_SECONDS = 2.0


def snapshot_version(snapshot: LeadSnapshot) -> datetime | None:
    """The version of a lead snapshot: when leads last changed it (a new lead's creation time)."""
    return snapshot.updated_at or snapshot.created_at


def _utc(value: datetime) -> datetime:
    # SQLite and MariaDB hand back naive datetimes for timezone-aware columns; all we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class LeadProjection:
    """The projection table (`table`) and the reads and writes every service needs of it."""

    def __init__(
        self, metadata: sa.MetaData, name: str, *columns: sa.Column[Any], version_column: str = "updated_at"
    ) -> None:
        self.table = sa.Table(
            name,
            metadata,
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("assigned_agent_id", sa.String(36), nullable=True, index=True),
            # Tombstone: a lead.updated arriving after lead.deleted must not bring the lead back.
            sa.Column("deleted", sa.Boolean, nullable=False, default=False),
            # The applied snapshot's version (leads' updated_at), so older ones are ignored; NULL: none yet.
            sa.Column(version_column, sa.DateTime(timezone=True), nullable=True),
            *columns,
        )
        self._version = self.table.c[version_column]

    def visible_to(self, principal: Principal) -> sa.ColumnElement[bool]:
        """The leads `principal` may see: every lead for an admin, an agent's own live ones otherwise."""
        if principal.is_admin:
            return sa.true()
        t = self.table
        return sa.and_(t.c.assigned_agent_id == str(principal.user_id), t.c.deleted.is_(False))

    def select_lead(self, lead_id: uuid.UUID, principal: Principal | None = None) -> sa.Select[Any]:
        """The lead's row if `principal` may see it; with no principal, any row, a tombstone too."""
        query = sa.select(self.table).where(self.table.c.id == str(lead_id))
        return query if principal is None else query.where(self.visible_to(principal))

    def visible_ids(self, principal: Principal) -> sa.Select[tuple[str]]:
        """The ids of the leads `principal` may see, to scope other tables by (`lead_id.in_(...)`)."""
        return sa.select(self.table.c.id).where(self.visible_to(principal))

    async def is_deleted(self, session: AsyncSession, lead_id: uuid.UUID) -> bool:
        t = self.table
        return bool(await session.scalar(sa.select(t.c.deleted).where(t.c.id == str(lead_id))))

    async def apply_snapshot(
        self, session: AsyncSession, snapshot: LeadSnapshot, values: Mapping[str, Any]
    ) -> bool:
        """Store the owner and `values` of a newer snapshot; False when it was older or the lead deleted."""
        t = self.table
        version = snapshot_version(snapshot)
        row = {
            **values,
            "assigned_agent_id": str(snapshot.assigned_agent_id) if snapshot.assigned_agent_id else None,
            self._version.name: version,
        }
        current = (
            await session.execute(sa.select(t.c.deleted, self._version).where(t.c.id == str(snapshot.id)))
        ).first()
        if current is None:
            await session.execute(sa.insert(t).values(id=str(snapshot.id), **row))
            return True
        deleted, stored = current
        # The same version again is a redelivery; an older one lost a race between consumers.
        if deleted or (stored is not None and version is not None and version <= _utc(stored)):
            return False
        await session.execute(sa.update(t).where(t.c.id == str(snapshot.id)).values(**row))
        return True

    async def fill_missing(
        self,
        runtime: ServiceRuntime,
        lead_id: uuid.UUID,
        changed: Callable[[UnitOfWork, LeadSnapshot], Awaitable[None]],
    ) -> bool:
        """`fill_missing_lead` on this projection's table."""
        return await fill_missing_lead(runtime, self.table, lead_id, changed)

    async def forget(self, session: AsyncSession, lead_id: uuid.UUID, cleared: Mapping[str, Any]) -> None:
        """Keep only a tombstone: no owner, and `cleared` (the service's personal data set to NULL).
        Written even for a lead not seen yet, so its late lead.created does not bring it in."""
        t = self.table
        tombstone = {**cleared, "assigned_agent_id": None, "deleted": True}
        updated = await session.execute(sa.update(t).where(t.c.id == str(lead_id)).values(**tombstone))
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            await session.execute(sa.insert(t).values(id=str(lead_id), **tombstone))


async def fill_missing_lead(
    runtime: ServiceRuntime,
    table: sa.Table,
    lead_id: uuid.UUID,
    changed: Callable[[UnitOfWork, LeadSnapshot], Awaitable[None]],
    *,
    key: str = "id",
) -> bool:
    """Read-your-writes: a lead a projection (`table`, keyed by the lead id in column `key`) has never
    seen, not even as a tombstone, is asked of leads and projected now by `changed`, exactly as its
    lead.created would be. True when it was added; the event arriving later is the same version and
    changes nothing."""
    async with runtime.db.session() as session:
        seen = await session.scalar(sa.select(sa.func.count()).where(table.c[key] == str(lead_id)))
    if seen:
        return False
    snapshot = await ask_leads(runtime, lead_id)
    if snapshot is None:
        return False
    try:
        async with runtime.unit_of_work() as uow:
            await changed(uow, snapshot)
    except IntegrityError:
        # lead.created was being projected at the same moment and inserted the row first: the same
        # snapshot, so the lead is known either way.
        return False
    return True


async def ask_leads(runtime: ServiceRuntime, lead_id: uuid.UUID) -> LeadSnapshot | None:
    """The lead's current snapshot from the leads service; None when unknown or leads did not answer."""
    try:
        raw = await runtime.bus.request(
            RPC_LEADS_SNAPSHOT, LeadSnapshotRequest(lead_id=lead_id), timeout=ASK_LEADS_TIMEOUT_SECONDS
        )
        return LeadSnapshotReply.model_validate_json(raw).lead
    except (TimeoutError, nats.errors.Error) as exc:
        log.warning("leads did not answer for lead %s (%s)", lead_id, type(exc).__name__)
    except ValidationError:
        log.warning("leads answered for lead %s with an error", lead_id)
    return None


def lead_projection_handlers(
    service: str,
    *,
    changed: Callable[[UnitOfWork, LeadSnapshot], Awaitable[None]],
    deleted: Callable[[UnitOfWork, uuid.UUID], Awaitable[None]],
) -> list[Handler[Any]]:
    """The consumers that keep a projection: `<service>-lead-created`, `-lead-updated` (both give the
    snapshot to `changed`) and `-lead-deleted`."""

    async def on_changed(event: LeadCreated | LeadUpdated, uow: UnitOfWork) -> None:
        await changed(uow, event.lead)

    async def on_deleted(event: LeadDeleted, uow: UnitOfWork) -> None:
        await deleted(uow, event.lead_id)

    return [
        Handler(f"{service}-lead-created", LeadCreated, on_changed),
        Handler(f"{service}-lead-updated", LeadUpdated, on_changed),
        Handler(f"{service}-lead-deleted", LeadDeleted, on_deleted),
    ]
