"""The lead-ownership projection on a real database: newest snapshot wins, tombstones stay, agents see
only their own live leads; and the consumers that feed it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from parley_contracts import LeadCreated, LeadDeleted, LeadSnapshot, LeadUpdated
from servicekit.auth import Principal, Role
from servicekit.db import Database, new_metadata
from servicekit.lead_projection import LeadProjection, lead_projection_handlers

pytestmark = pytest.mark.integration

metadata = new_metadata()
projection = LeadProjection(
    metadata,
    "leads",
    sa.Column("name", sa.String(200), nullable=True),
    version_column="snapshot_updated_at",
)
leads = projection.table

AGENT = Principal(user_id=uuid.uuid4(), role=Role.AGENT, email="a@example.com", name="Agent")
OTHER_AGENT = Principal(user_id=uuid.uuid4(), role=Role.AGENT, email="b@example.com", name="Other")
ADMIN = Principal(user_id=uuid.uuid4(), role=Role.ADMIN, email="admin@example.com", name="Admin")
CREATED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def snapshot(
    lead_id: uuid.UUID, *, name: str = "Ada", owner: Principal = AGENT, **times: Any
) -> LeadSnapshot:
    return LeadSnapshot(
        id=lead_id,
        name=name,
        phone="+14155550100",
        assigned_agent_id=owner.user_id,
        created_at=CREATED,
        **times,
    )


@pytest.fixture
async def db(make_tables_database) -> Database:
    return await make_tables_database("lead-projection", metadata)


async def apply(db: Database, lead: LeadSnapshot) -> bool:
    async with db.transaction() as session:
        return await projection.apply_snapshot(session, lead, {"name": lead.name})


async def stored(db: Database, lead_id: uuid.UUID) -> dict[str, Any] | None:
    async with db.session() as session:
        row = (await session.execute(sa.select(leads).where(leads.c.id == str(lead_id)))).mappings().first()
        return dict(row) if row else None


async def visible(db: Database, principal: Principal) -> set[str]:
    async with db.session() as session:
        return set((await session.scalars(projection.visible_ids(principal))).all())


def test_the_table_has_the_core_columns_and_the_services_own():
    assert [c.name for c in leads.columns] == [
        "id",
        "assigned_agent_id",
        "deleted",
        "snapshot_updated_at",
        "name",
    ]
    assert leads.c.id.primary_key and leads.c.assigned_agent_id.index
    assert not leads.c.deleted.nullable and leads.c.snapshot_updated_at.nullable


async def test_the_newest_snapshot_wins_whatever_the_order_of_arrival(db):
    lead_id = uuid.uuid4()
    newer = snapshot(lead_id, name="Ada Lovelace", owner=OTHER_AGENT, updated_at=CREATED + timedelta(hours=1))

    assert await apply(db, newer)
    assert not await apply(db, snapshot(lead_id)), "lead.created arriving after lead.updated is older"
    assert not await apply(db, newer), "the same version again is a redelivery"
    row = await stored(db, lead_id)
    assert row is not None and row["name"] == "Ada Lovelace"
    assert row["assigned_agent_id"] == str(OTHER_AGENT.user_id)

    newest = snapshot(lead_id, name="Ada King", owner=AGENT, updated_at=CREATED + timedelta(hours=2))
    assert await apply(db, newest)
    row = await stored(db, lead_id)
    assert row is not None and row["name"] == "Ada King" and row["assigned_agent_id"] == str(AGENT.user_id)


async def test_a_deleted_lead_keeps_only_a_tombstone_and_stays_deleted(db):
    lead_id = uuid.uuid4()
    await apply(db, snapshot(lead_id))
    async with db.transaction() as session:
        await projection.forget(session, lead_id, {"name": None})

    assert not await apply(db, snapshot(lead_id, updated_at=CREATED + timedelta(days=1)))
    row = await stored(db, lead_id)
    assert row is not None and row["deleted"] and row["name"] is None and row["assigned_agent_id"] is None
    async with db.session() as session:
        assert await projection.is_deleted(session, lead_id)


async def test_a_lead_deleted_before_it_was_seen_never_comes_in(db):
    lead_id = uuid.uuid4()
    async with db.transaction() as session:
        await projection.forget(session, lead_id, {})
        assert not await projection.is_deleted(session, uuid.uuid4()), "an unknown lead is not deleted"

    assert not await apply(db, snapshot(lead_id)), "its lead.created came late"
    row = await stored(db, lead_id)
    assert row is not None and row["deleted"]


async def test_agents_see_their_own_live_leads_and_admins_every_lead(db):
    mine, theirs, gone = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await apply(db, snapshot(mine))
    await apply(db, snapshot(theirs, owner=OTHER_AGENT))
    await apply(db, snapshot(gone))
    async with db.transaction() as session:
        await projection.forget(session, gone, {})

    assert await visible(db, AGENT) == {str(mine)}
    assert await visible(db, OTHER_AGENT) == {str(theirs)}
    assert await visible(db, ADMIN) == {str(mine), str(theirs), str(gone)}
    async with db.session() as session:
        assert (await session.execute(projection.select_lead(theirs, AGENT))).first() is None
        assert (await session.execute(projection.select_lead(gone, AGENT))).first() is None
        assert (await session.execute(projection.select_lead(gone, ADMIN))).first() is not None
        assert (await session.execute(projection.select_lead(theirs))).first() is not None


async def test_the_consumers_hand_snapshots_and_deletions_to_the_service():
    seen: list[tuple[str, object, object]] = []

    async def changed(uow: Any, lead: LeadSnapshot) -> None:
        seen.append(("changed", uow, lead))

    async def deleted(uow: Any, lead_id: uuid.UUID) -> None:
        seen.append(("deleted", uow, lead_id))

    handlers = {h.name: h for h in lead_projection_handlers("svc", changed=changed, deleted=deleted)}
    assert handlers.keys() == {"svc-lead-created", "svc-lead-updated", "svc-lead-deleted"}
    lead = snapshot(uuid.uuid4())
    uow: Any = object()
    await handlers["svc-lead-created"].fn(LeadCreated(lead=lead), uow)
    await handlers["svc-lead-updated"].fn(LeadUpdated(lead=lead), uow)
    await handlers["svc-lead-deleted"].fn(LeadDeleted(lead_id=lead.id), uow)
    assert seen == [("changed", uow, lead), ("changed", uow, lead), ("deleted", uow, lead.id)]
    assert handlers["svc-lead-deleted"].event_type is LeadDeleted
