"""Persistence of versions and projections. Queries an agent can reach take the principal and scope
by the lead's owner."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from parley_contracts import LeadSnapshot, NeedsProfile, ProductSnapshot, Recommendation
from servicekit.auth import Principal
from servicekit.leased_jobs import LeasedJobs
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.versions import LeadEmailFacts, VersionStatus
from .tables import lead_projection, leads, products, recommendations, versions


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    # SQLite and MariaDB hand back naive datetimes for timezone-aware columns; all we store is UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- leads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadRecord:
    snapshot: LeadSnapshot
    email_facts: LeadEmailFacts


async def get_lead(
    session: AsyncSession, lead_id: uuid.UUID, principal: Principal | None = None
) -> LeadRecord | None:
    """A known, not deleted lead, visible to `principal` (everyone when None)."""
    query = lead_projection.select_lead(lead_id, principal).where(
        leads.c.deleted.is_(False), leads.c.snapshot.is_not(None)
    )
    row = (await session.execute(query)).mappings().first()
    if row is None:
        return None
    facts = LeadEmailFacts(
        email=row["email"],
        email_permission=row["email_permission"],
        email_opt_out=row["email_opt_out"],
        dnd=row["dnd"],
    )
    return LeadRecord(LeadSnapshot.model_validate(row["snapshot"]), facts)


async def is_lead_deleted(session: AsyncSession, lead_id: uuid.UUID) -> bool:
    return await lead_projection.is_deleted(session, lead_id)


async def upsert_lead_snapshot(session: AsyncSession, snapshot: LeadSnapshot) -> None:
    await lead_projection.apply_snapshot(
        session,
        snapshot,
        {
            "snapshot": snapshot.model_dump(mode="json"),
            "email": snapshot.email,
            "email_opt_out": snapshot.consent_flags.email_opt_out,
            "dnd": snapshot.consent_flags.dnd,
        },
    )


async def record_email_permission(session: AsyncSession, lead_id: uuid.UUID) -> None:
    updated = await session.execute(
        sa.update(leads).where(leads.c.id == str(lead_id)).values(email_permission=True)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        # The call's facts can arrive before lead.created; the snapshot fills in later.
        await session.execute(sa.insert(leads).values(id=str(lead_id), email_permission=True))


async def forget_lead(session: AsyncSession, lead_id: uuid.UUID) -> None:
    """Keep only a tombstone of a deleted lead: no personal data, no versions, no recommendations."""
    await session.execute(sa.delete(versions).where(versions.c.lead_id == str(lead_id)))
    await session.execute(sa.delete(recommendations).where(recommendations.c.lead_id == str(lead_id)))
    await lead_projection.forget(session, lead_id, {"snapshot": None, "email": None})


# -- products --------------------------------------------------------------------------------


async def upsert_product(session: AsyncSession, snapshot: ProductSnapshot, changed_at: datetime) -> None:
    current = (
        await session.execute(
            sa.select(products.c.deleted, products.c.changed_at).where(products.c.id == str(snapshot.id))
        )
    ).first()
    values = {"snapshot": snapshot.model_dump(mode="json"), "changed_at": changed_at}
    if current is None:
        await session.execute(sa.insert(products).values(id=str(snapshot.id), **values))
    elif not current.deleted and changed_at >= aware(current.changed_at):  # type: ignore[operator]
        await session.execute(sa.update(products).where(products.c.id == str(snapshot.id)).values(**values))


async def delete_product(session: AsyncSession, product_id: uuid.UUID, changed_at: datetime) -> None:
    updated = await session.execute(
        sa.update(products)
        .where(products.c.id == str(product_id))
        .values(deleted=True, changed_at=changed_at)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(
            sa.insert(products).values(id=str(product_id), snapshot={}, changed_at=changed_at, deleted=True)
        )


async def get_products(
    session: AsyncSession, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ProductSnapshot]:
    if not product_ids:
        return {}
    rows = await session.execute(
        sa.select(products.c.snapshot).where(
            products.c.id.in_([str(p) for p in product_ids]), products.c.deleted.is_(False)
        )
    )
    found = [ProductSnapshot.model_validate(row.snapshot) for row in rows]
    return {product.id: product for product in found}


# -- recommendations -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecommendationRecord:
    id: uuid.UUID
    lead_id: uuid.UUID
    call_id: uuid.UUID | None
    needs: NeedsProfile
    recommendation: Recommendation


def _recommendation(row: sa.RowMapping) -> RecommendationRecord:
    return RecommendationRecord(
        id=uuid.UUID(row["id"]),
        lead_id=uuid.UUID(row["lead_id"]),
        call_id=uuid.UUID(row["call_id"]) if row["call_id"] else None,
        needs=NeedsProfile.model_validate(row["needs"]),
        recommendation=Recommendation.model_validate(row["recommendation"]),
    )


async def add_recommendation(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    lead_id: uuid.UUID,
    call_id: uuid.UUID | None,
    needs: NeedsProfile,
    recommendation: Recommendation,
    occurred_at: datetime,
) -> None:
    if await session.scalar(sa.select(recommendations.c.id).where(recommendations.c.id == str(event_id))):
        return
    await session.execute(
        sa.insert(recommendations).values(
            id=str(event_id),
            lead_id=str(lead_id),
            call_id=str(call_id) if call_id else None,
            needs=needs.model_dump(mode="json"),
            recommendation=recommendation.model_dump(mode="json"),
            occurred_at=occurred_at,
        )
    )


async def latest_recommendation(
    session: AsyncSession, lead_id: uuid.UUID, call_id: uuid.UUID | None = None
) -> RecommendationRecord | None:
    query = sa.select(recommendations).where(recommendations.c.lead_id == str(lead_id))
    if call_id is not None:
        query = query.where(recommendations.c.call_id == str(call_id))
    row = (
        (
            await session.execute(
                query.order_by(recommendations.c.occurred_at.desc(), recommendations.c.id).limit(1)
            )
        )
        .mappings()
        .first()
    )
    return _recommendation(row) if row else None


async def get_recommendation(
    session: AsyncSession, recommendation_id: uuid.UUID
) -> RecommendationRecord | None:
    row = (
        (
            await session.execute(
                sa.select(recommendations).where(recommendations.c.id == str(recommendation_id))
            )
        )
        .mappings()
        .first()
    )
    return _recommendation(row) if row else None


# -- versions --------------------------------------------------------------------------------


def version_out(row: sa.RowMapping) -> dict[str, Any]:
    data = dict(row)
    for key in ("created_at", "ready_at", "next_attempt_at"):
        data[key] = aware(data[key])
    return data


async def next_version_number(session: AsyncSession, lead_id: uuid.UUID) -> int:
    highest = await session.scalar(
        sa.select(sa.func.max(versions.c.version)).where(versions.c.lead_id == str(lead_id))
    )
    return int(highest or 0) + 1


async def has_automatic_version(session: AsyncSession, recommendation_id: uuid.UUID) -> bool:
    found = await session.scalar(
        sa.select(versions.c.id)
        .where(versions.c.recommendation_id == str(recommendation_id), versions.c.automatic.is_(True))
        .limit(1)
    )
    return found is not None


async def insert_version(
    session: AsyncSession,
    *,
    lead_id: uuid.UUID,
    recommendation: RecommendationRecord,
    automatic: bool,
    requested_by: uuid.UUID | None,
) -> dict[str, Any]:
    stamp = now()
    values = {
        "id": str(uuid.uuid4()),
        "lead_id": str(lead_id),
        "version": await next_version_number(session, lead_id),
        "status": VersionStatus.QUEUED.value,
        "error": None,
        "recommendation_id": str(recommendation.id),
        "call_id": str(recommendation.call_id) if recommendation.call_id else None,
        "product_ids": [str(item.product_id) for item in recommendation.recommendation.items],
        "automatic": automatic,
        "requested_by": str(requested_by) if requested_by else None,
        "attempts": 0,
        "next_attempt_at": stamp,
        "created_at": stamp,
    }
    await session.execute(sa.insert(versions).values(**values))
    row = (await session.execute(sa.select(versions).where(versions.c.id == values["id"]))).mappings().one()
    return version_out(row)


async def list_versions(
    session: AsyncSession, lead_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    where = versions.c.lead_id == str(lead_id)
    total = await session.scalar(sa.select(sa.func.count()).select_from(versions).where(where))
    rows = (
        await session.execute(
            sa.select(versions).where(where).order_by(versions.c.version.desc()).offset(offset).limit(limit)
        )
    ).mappings()
    return [version_out(r) for r in rows], int(total or 0)


async def get_version(session: AsyncSession, lead_id: uuid.UUID, version: int) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                sa.select(versions).where(versions.c.lead_id == str(lead_id), versions.c.version == version)
            )
        )
        .mappings()
        .first()
    )
    return version_out(row) if row else None


async def get_version_by_id(
    session: AsyncSession, lead_id: uuid.UUID, version_id: uuid.UUID
) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                sa.select(versions).where(
                    versions.c.lead_id == str(lead_id), versions.c.id == str(version_id)
                )
            )
        )
        .mappings()
        .first()
    )
    return version_out(row) if row else None


# A version is rendered under a lease (servicekit.leased_jobs). A RENDERING version whose lease has
# passed was left by a worker that died, and is taken over.
render_jobs = LeasedJobs(
    versions,
    claimable=versions.c.status.in_((VersionStatus.QUEUED.value, VersionStatus.RENDERING.value)),
    claimed=versions.c.status == VersionStatus.RENDERING.value,
    on_claim={"status": VersionStatus.RENDERING.value, "attempts": versions.c.attempts + 1},
    on_hand_back={"status": VersionStatus.QUEUED.value, "attempts": versions.c.attempts - 1},
)
