"""Reads and writes of the rag service's own tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from parley_contracts import NeedsProfile, ProductSnapshot, Recommendation, utcnow
from servicekit.db import Database
from sqlalchemy.ext.asyncio import AsyncSession

from rag.domain.indexer import DocumentText

from .tables import (
    call_receipts,
    documents,
    lead_owners,
    needs_records,
    products,
    recommendation_records,
)


def _aware(value: datetime) -> datetime:
    """SQLite and MariaDB hand back naive datetimes: they are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- product projection -----------------------------------------------------------------------


async def get_product(session: AsyncSession, product_id: UUID) -> ProductSnapshot | None:
    row = await session.scalar(sa.select(products.c.snapshot).where(products.c.id == str(product_id)))
    return None if row is None else ProductSnapshot.model_validate(row)


async def product_source_updated_at(session: AsyncSession, product_id: UUID) -> datetime | None:
    value = await session.scalar(
        sa.select(products.c.source_updated_at).where(products.c.id == str(product_id))
    )
    return None if value is None else _aware(value)


async def save_product(session: AsyncSession, product: ProductSnapshot) -> None:
    values: dict[str, Any] = {
        "category_name": product.category_name,
        "snapshot": product.model_dump(mode="json"),
        "source_updated_at": product.updated_at,
        "received_at": utcnow(),
    }
    updated = await session.execute(
        sa.update(products).where(products.c.id == str(product.id)).values(**values)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(sa.insert(products).values(id=str(product.id), **values))


async def delete_product(session: AsyncSession, product_id: UUID) -> None:
    await session.execute(sa.delete(products).where(products.c.id == str(product_id)))
    # Its documents stay (the catalog may reactivate the product) but are no longer in the index.
    await session.execute(
        sa.update(documents).where(documents.c.product_id == str(product_id)).values(indexed=False)
    )


async def all_products(session: AsyncSession) -> list[ProductSnapshot]:
    rows = await session.scalars(sa.select(products.c.snapshot).order_by(products.c.id))
    return [ProductSnapshot.model_validate(row) for row in rows]


async def count_products(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(products)) or 0)


class SqlProductFacts:
    """`ProductFacts` over the product projection: the catalog's facts as its events last told them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_many(self, product_ids: Sequence[UUID]) -> dict[UUID, ProductSnapshot]:
        if not product_ids:
            return {}
        async with self._db.session() as session:
            rows = await session.scalars(
                sa.select(products.c.snapshot).where(products.c.id.in_([str(p) for p in product_ids]))
            )
            found = [ProductSnapshot.model_validate(row) for row in rows]
        return {product.id: product for product in found}

    async def category_names(self) -> list[str]:
        async with self._db.session() as session:
            rows = await session.scalars(
                sa.select(products.c.category_name).distinct().order_by(products.c.category_name)
            )
            return list(rows)


# -- documents ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: UUID
    product_id: UUID
    filename: str
    text: str
    indexed: bool


def _document(row: sa.Row[Any]) -> StoredDocument:
    return StoredDocument(
        id=UUID(row.id), product_id=UUID(row.product_id), filename=row.filename, text=row.text,
        indexed=bool(row.indexed),
    )  # fmt: skip


async def save_document(
    session: AsyncSession, document_id: UUID, product_id: UUID, filename: str, text: str, indexed: bool
) -> None:
    values: dict[str, Any] = {
        "product_id": str(product_id),
        "filename": filename[:255],
        "text": text,
        "indexed": indexed,
        "received_at": utcnow(),
    }
    updated = await session.execute(
        sa.update(documents).where(documents.c.id == str(document_id)).values(**values)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(sa.insert(documents).values(id=str(document_id), **values))


async def mark_documents_indexed(session: AsyncSession, document_ids: Sequence[UUID]) -> None:
    if document_ids:
        await session.execute(
            sa.update(documents)
            .where(documents.c.id.in_([str(d) for d in document_ids]))
            .values(indexed=True)
        )


async def product_documents(
    session: AsyncSession, product_id: UUID, *, unindexed_only: bool = False
) -> list[StoredDocument]:
    query = sa.select(documents).where(documents.c.product_id == str(product_id))
    if unindexed_only:
        query = query.where(documents.c.indexed.is_(False))
    return [_document(row) for row in (await session.execute(query.order_by(documents.c.id))).all()]


async def delete_document(session: AsyncSession, document_id: UUID) -> None:
    await session.execute(sa.delete(documents).where(documents.c.id == str(document_id)))


async def documents_of_known_products(session: AsyncSession) -> list[DocumentText]:
    query = (
        sa.select(documents.c.id, documents.c.product_id, documents.c.text)
        .join(products, products.c.id == documents.c.product_id)
        .order_by(documents.c.id)
    )
    return [
        DocumentText(document_id=UUID(row.id), product_id=UUID(row.product_id), text=row.text)
        for row in (await session.execute(query)).all()
    ]


async def count_documents(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(documents)) or 0)


# -- lead ownership ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadOwner:
    lead_id: UUID
    assigned_agent_id: UUID | None


async def lead_owner(session: AsyncSession, lead_id: UUID) -> LeadOwner | None:
    """Who the lead is assigned to; None when no lead event has told this service about it."""
    row = (
        await session.execute(
            sa.select(lead_owners.c.assigned_agent_id).where(lead_owners.c.lead_id == str(lead_id))
        )
    ).first()
    if row is None:
        return None
    agent = None if row.assigned_agent_id is None else UUID(row.assigned_agent_id)
    return LeadOwner(lead_id, agent)


async def save_lead_owner(session: AsyncSession, lead_id: UUID, agent_id: UUID | None) -> None:
    values = {"assigned_agent_id": None if agent_id is None else str(agent_id), "updated_at": utcnow()}
    updated = await session.execute(
        sa.update(lead_owners).where(lead_owners.c.lead_id == str(lead_id)).values(**values)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(sa.insert(lead_owners).values(lead_id=str(lead_id), **values))


async def delete_lead_owner(session: AsyncSession, lead_id: UUID) -> None:
    await session.execute(sa.delete(lead_owners).where(lead_owners.c.lead_id == str(lead_id)))


# -- needs and recommendations -----------------------------------------------------------------


async def record_call_received(session: AsyncSession, lead_id: UUID, call_id: UUID) -> None:
    """The call's receipt (kept from the first delivery on: a redelivery changes nothing)."""
    known = await session.scalar(sa.select(sa.literal(1)).where(call_receipts.c.call_id == str(call_id)))
    if known is None:
        await session.execute(
            sa.insert(call_receipts).values(call_id=str(call_id), lead_id=str(lead_id), received_at=utcnow())
        )


async def call_handled(session: AsyncSession, call_id: UUID) -> bool:
    found = await session.scalar(sa.select(sa.literal(1)).where(needs_records.c.call_id == str(call_id)))
    return found is not None


async def save_needs(
    session: AsyncSession,
    lead_id: UUID,
    call_id: UUID,
    needs: NeedsProfile,
    extractor: str,
    repairs: Sequence[str],
) -> None:
    await session.execute(
        sa.insert(needs_records).values(
            id=str(uuid.uuid4()),
            lead_id=str(lead_id),
            call_id=str(call_id),
            needs=needs.model_dump(mode="json"),
            extractor=extractor,
            repairs=list(repairs),
            created_at=utcnow(),
        )
    )


async def save_recommendation(
    session: AsyncSession,
    lead_id: UUID,
    call_id: UUID,
    needs: NeedsProfile,
    recommendation: Recommendation,
) -> None:
    await session.execute(
        sa.insert(recommendation_records).values(
            id=str(uuid.uuid4()),
            lead_id=str(lead_id),
            call_id=str(call_id),
            needs=needs.model_dump(mode="json"),
            recommendation=recommendation.model_dump(mode="json"),
            created_at=utcnow(),
        )
    )


@dataclass(frozen=True, slots=True)
class StoredRecommendation:
    lead_id: UUID
    call_id: UUID
    needs: NeedsProfile
    recommendation: Recommendation
    created_at: datetime


async def latest_recommendation(session: AsyncSession, lead_id: UUID) -> StoredRecommendation | None:
    row = (
        await session.execute(
            sa.select(recommendation_records)
            .where(recommendation_records.c.lead_id == str(lead_id))
            .order_by(recommendation_records.c.created_at.desc(), recommendation_records.c.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return StoredRecommendation(
        lead_id=UUID(row.lead_id),
        call_id=UUID(row.call_id),
        needs=NeedsProfile.model_validate(row.needs),
        recommendation=Recommendation.model_validate(row.recommendation),
        created_at=_aware(row.created_at),
    )


@dataclass(frozen=True, slots=True)
class StoredCall:
    """One call's needs and recommendation; everything but the ids is None while they are computed."""

    call_id: UUID
    lead_id: UUID
    needs: NeedsProfile | None
    extractor: str | None
    extracted_at: datetime | None
    recommendation: Recommendation | None
    recommended_at: datetime | None


async def call_results(session: AsyncSession, call_id: UUID) -> StoredCall | None:
    """What rag stored for the call; None when it has no record of the call at all."""
    # Both records are written in one transaction: there is either a pair or nothing.
    query = (
        sa.select(
            needs_records.c.lead_id,
            needs_records.c.needs,
            needs_records.c.extractor,
            needs_records.c.created_at.label("extracted_at"),
            recommendation_records.c.recommendation,
            recommendation_records.c.created_at.label("recommended_at"),
        )
        .join(recommendation_records, recommendation_records.c.call_id == needs_records.c.call_id)
        .where(needs_records.c.call_id == str(call_id))
    )
    row = (await session.execute(query)).first()
    if row is not None:
        return StoredCall(
            call_id=call_id,
            lead_id=UUID(row.lead_id),
            needs=NeedsProfile.model_validate(row.needs),
            extractor=row.extractor,
            extracted_at=_aware(row.extracted_at),
            recommendation=Recommendation.model_validate(row.recommendation),
            recommended_at=_aware(row.recommended_at),
        )
    # No records yet: known (and being computed) only if its call.ended was received.
    lead_id = await session.scalar(
        sa.select(call_receipts.c.lead_id).where(call_receipts.c.call_id == str(call_id))
    )
    if lead_id is None:
        return None
    return StoredCall(call_id, UUID(lead_id), None, None, None, None, None)
