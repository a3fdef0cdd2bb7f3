"""Catalog persistence: categories, products (stored as `ProductSnapshot` plus the active flag) and
document metadata. Extracted document text is only read where it is needed (the text RPC)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from parley_contracts import ProductSnapshot
from sqlalchemy.ext.asyncio import AsyncSession

from .tables import categories, documents, product_tags, products

EXCERPT_CHARS = 280
PRODUCT_SORTS = {
    "name": products.c.name,
    "insurer": products.c.insurer,
    "premium": products.c.premium_min_monthly,
    "created_at": products.c.created_at,
    "updated_at": products.c.updated_at,
}
_SNAPSHOT_FIELDS = tuple(
    name for name in ProductSnapshot.model_fields if name not in ("category_name", "updated_at")
)


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite and MariaDB hand back naive datetimes for timezone-aware columns; all we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- categories ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCategory:
    id: uuid.UUID
    name: str
    description: str | None
    product_count: int
    created_at: datetime
    updated_at: datetime

    def audit_view(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "description": self.description}


def _category_query(*, active_only: bool) -> sa.Select[Any]:
    join_on = products.c.category_id == categories.c.id
    if active_only:
        join_on = sa.and_(join_on, products.c.active.is_(True))
    return (
        sa.select(categories, sa.func.count(products.c.id).label("product_count"))
        .select_from(categories.outerjoin(products, join_on))
        .group_by(*categories.c)
    )


def _stored_category(row: sa.RowMapping) -> StoredCategory:
    return StoredCategory(
        id=uuid.UUID(row["id"]),
        name=row["name"],
        description=row["description"],
        product_count=int(row["product_count"]),
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
    )


async def get_category(
    session: AsyncSession, category_id: uuid.UUID, *, active_only: bool = False
) -> StoredCategory | None:
    query = _category_query(active_only=active_only).where(categories.c.id == str(category_id))
    row = (await session.execute(query)).mappings().first()
    return _stored_category(row) if row else None


async def list_categories(
    session: AsyncSession, *, active_only: bool, offset: int, limit: int
) -> tuple[list[StoredCategory], int]:
    total = await session.scalar(sa.select(sa.func.count()).select_from(categories))
    query = (
        _category_query(active_only=active_only)
        .order_by(categories.c.name, categories.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [_stored_category(r) for r in (await session.execute(query)).mappings()], int(total or 0)


async def category_name_taken(session: AsyncSession, name: str, exclude_id: uuid.UUID | None = None) -> bool:
    query = sa.select(categories.c.id).where(sa.func.lower(categories.c.name) == name.lower())
    if exclude_id is not None:
        query = query.where(categories.c.id != str(exclude_id))
    return await session.scalar(query.limit(1)) is not None


async def insert_category(
    session: AsyncSession, category_id: uuid.UUID, name: str, description: str | None
) -> None:
    stamp = now()
    await session.execute(
        sa.insert(categories).values(
            id=str(category_id), name=name, description=description, created_at=stamp, updated_at=stamp
        )
    )


async def update_category(
    session: AsyncSession, category_id: uuid.UUID, name: str, description: str | None
) -> None:
    await session.execute(
        sa.update(categories)
        .where(categories.c.id == str(category_id))
        .values(name=name, description=description, updated_at=now())
    )


async def delete_category(session: AsyncSession, category_id: uuid.UUID) -> None:
    await session.execute(sa.delete(categories).where(categories.c.id == str(category_id)))


# -- products -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredProduct:
    snapshot: ProductSnapshot
    active: bool
    created_at: datetime

    def audit_view(self) -> dict[str, Any]:
        return {**self.snapshot.model_dump(mode="json"), "active": self.active}


@dataclass(frozen=True)
class ProductFilters:
    category_id: uuid.UUID | None = None
    insurer: str | None = None
    plan_type: str | None = None
    tag: str | None = None
    text: str | None = None
    age: int | None = None
    max_monthly_premium: float | None = None
    active: bool | None = None


def _product_query() -> sa.Select[Any]:
    return sa.select(products, categories.c.name.label("category_name")).join(
        categories, categories.c.id == products.c.category_id
    )


def _stored_product(row: sa.RowMapping) -> StoredProduct:
    snapshot = ProductSnapshot.model_validate(
        {
            **{name: row[name] for name in _SNAPSHOT_FIELDS},
            "category_name": row["category_name"],
            "updated_at": _aware(row["updated_at"]),
        }
    )
    return StoredProduct(snapshot=snapshot, active=bool(row["active"]), created_at=_aware(row["created_at"]))


async def get_product(
    session: AsyncSession, product_id: uuid.UUID, *, active_only: bool = False, for_update: bool = False
) -> StoredProduct | None:
    query = _product_query().where(products.c.id == str(product_id))
    if active_only:
        query = query.where(products.c.active.is_(True))
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return _stored_product(row) if row else None


def _filter_conditions(filters: ProductFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.active is not None:
        conditions.append(products.c.active.is_(filters.active))
    if filters.category_id is not None:
        conditions.append(products.c.category_id == str(filters.category_id))
    if filters.insurer:
        conditions.append(sa.func.lower(products.c.insurer) == filters.insurer.lower())
    if filters.plan_type:
        conditions.append(sa.func.lower(products.c.plan_type) == filters.plan_type.lower())
    if filters.tag:
        tagged = sa.select(product_tags.c.product_id).where(product_tags.c.tag == filters.tag.strip().lower())
        conditions.append(products.c.id.in_(tagged))
    if filters.text:
        conditions.append(products.c.search_text.like(_like(filters.text), escape="\\"))
    if filters.age is not None:
        conditions.append(sa.and_(products.c.min_age <= filters.age, products.c.max_age >= filters.age))
    if filters.max_monthly_premium is not None:
        # A product without a premium range cannot be shown to fit a budget.
        conditions.append(products.c.premium_min_monthly <= filters.max_monthly_premium)
    return conditions


async def list_products(
    session: AsyncSession, filters: ProductFilters, *, sort: str, offset: int, limit: int
) -> tuple[list[StoredProduct], int]:
    where = sa.and_(sa.true(), *_filter_conditions(filters))
    column = PRODUCT_SORTS[sort.lstrip("-")]
    direction = column.desc() if sort.startswith("-") else column.asc()
    # Products without a premium sort last either way (NULLS LAST is not portable to MariaDB).
    order = [sa.case((column.is_(None), 1), else_=0), direction, products.c.id]
    total = await session.scalar(sa.select(sa.func.count()).select_from(products).where(where))
    rows = (
        await session.execute(_product_query().where(where).order_by(*order).offset(offset).limit(limit))
    ).mappings()
    return [_stored_product(r) for r in rows], int(total or 0)


async def list_active_products(session: AsyncSession) -> list[StoredProduct]:
    rows = (
        await session.execute(_product_query().where(products.c.active.is_(True)).order_by(products.c.id))
    ).mappings()
    return [_stored_product(r) for r in rows]


async def list_category_products(session: AsyncSession, category_id: uuid.UUID) -> list[StoredProduct]:
    query = _product_query().where(products.c.category_id == str(category_id)).order_by(products.c.id)
    return [_stored_product(r) for r in (await session.execute(query)).mappings()]


async def product_name_taken(
    session: AsyncSession, insurer: str, name: str, exclude_id: uuid.UUID | None = None
) -> bool:
    query = sa.select(products.c.id).where(
        sa.func.lower(products.c.insurer) == insurer.lower(), sa.func.lower(products.c.name) == name.lower()
    )
    if exclude_id is not None:
        query = query.where(products.c.id != str(exclude_id))
    return await session.scalar(query.limit(1)) is not None


def _search_text(product: ProductSnapshot) -> str:
    """What `q` matches: names and the selling points, not exclusions (a search for "cancer" should not
    find a product because it excludes cancer)."""
    parts = [
        product.name,
        product.insurer,
        product.plan_type,
        product.cover_amount or "",
        product.description or "",
        *product.coverage_highlights,
        *product.riders,
        *product.tags,
    ]
    return "\n".join(parts).lower()


def _product_values(product: ProductSnapshot, active: bool) -> dict[str, Any]:
    values = product.model_dump(mode="json", include=set(_SNAPSHOT_FIELDS))
    values.update(
        active=active,
        min_age=product.eligibility.min_age,
        max_age=product.eligibility.max_age,
        premium_min_monthly=product.premium_range.monthly()[0] if product.premium_range else None,
        search_text=_search_text(product),
        updated_at=product.updated_at or now(),
    )
    return values


async def _replace_tags(session: AsyncSession, product: ProductSnapshot) -> None:
    await session.execute(sa.delete(product_tags).where(product_tags.c.product_id == str(product.id)))
    if product.tags:
        await session.execute(
            sa.insert(product_tags),
            [{"product_id": str(product.id), "tag": tag} for tag in dict.fromkeys(product.tags)],
        )


async def insert_product(
    session: AsyncSession, product: ProductSnapshot, active: bool, created_at: datetime
) -> None:
    await session.execute(
        sa.insert(products).values(**_product_values(product, active), created_at=created_at)
    )
    await _replace_tags(session, product)


async def update_product(session: AsyncSession, product: ProductSnapshot, active: bool) -> None:
    values = _product_values(product, active)
    values.pop("id")
    await session.execute(sa.update(products).where(products.c.id == str(product.id)).values(**values))
    await _replace_tags(session, product)
    # Documents follow their product for category-wise browsing.
    await session.execute(
        sa.update(documents)
        .where(documents.c.product_id == str(product.id))
        .values(category_id=str(product.category_id))
    )


async def delete_product(session: AsyncSession, product_id: uuid.UUID) -> None:
    await session.execute(sa.delete(documents).where(documents.c.product_id == str(product_id)))
    await session.execute(sa.delete(product_tags).where(product_tags.c.product_id == str(product_id)))
    await session.execute(sa.delete(products).where(products.c.id == str(product_id)))


# -- documents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredDocument:
    id: uuid.UUID
    product_id: uuid.UUID
    product_name: str
    category_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    text_chars: int
    page_count: int | None
    excerpt: str
    uploaded_by: uuid.UUID | None
    created_at: datetime

    def audit_view(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "product_id": str(self.product_id),
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "text_chars": self.text_chars,
            "page_count": self.page_count,
        }


@dataclass(frozen=True)
class NewDocument:
    id: uuid.UUID
    product_id: uuid.UUID
    category_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    extracted_text: str
    page_count: int | None
    uploaded_by: uuid.UUID | None


def _document_query() -> sa.Select[Any]:
    return sa.select(
        *(c for c in documents.c if c.name != "extracted_text"),
        sa.func.substr(documents.c.extracted_text, 1, EXCERPT_CHARS).label("excerpt"),
        products.c.name.label("product_name"),
    ).join(products, products.c.id == documents.c.product_id)


def _stored_document(row: sa.RowMapping) -> StoredDocument:
    return StoredDocument(
        id=uuid.UUID(row["id"]),
        product_id=uuid.UUID(row["product_id"]),
        product_name=row["product_name"],
        category_id=uuid.UUID(row["category_id"]),
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        storage_key=row["storage_key"],
        text_chars=row["text_chars"],
        page_count=row["page_count"],
        excerpt=row["excerpt"] or "",
        uploaded_by=uuid.UUID(row["uploaded_by"]) if row["uploaded_by"] else None,
        created_at=_aware(row["created_at"]),
    )


async def get_document(
    session: AsyncSession, document_id: uuid.UUID, *, active_only: bool = False
) -> StoredDocument | None:
    query = _document_query().where(documents.c.id == str(document_id))
    if active_only:
        query = query.where(products.c.active.is_(True))
    row = (await session.execute(query)).mappings().first()
    return _stored_document(row) if row else None


async def get_document_text(session: AsyncSession, document_id: uuid.UUID) -> str | None:
    return await session.scalar(
        sa.select(documents.c.extracted_text).where(documents.c.id == str(document_id))
    )


async def list_documents(
    session: AsyncSession,
    *,
    product_id: uuid.UUID | None = None,
    category_id: uuid.UUID | None = None,
    active_only: bool,
    offset: int,
    limit: int,
) -> tuple[list[StoredDocument], int]:
    conditions: list[sa.ColumnElement[bool]] = []
    if product_id is not None:
        conditions.append(documents.c.product_id == str(product_id))
    if category_id is not None:
        conditions.append(documents.c.category_id == str(category_id))
    if active_only:
        conditions.append(products.c.active.is_(True))
    where = sa.and_(sa.true(), *conditions)
    total = await session.scalar(
        sa.select(sa.func.count())
        .select_from(documents.join(products, products.c.id == documents.c.product_id))
        .where(where)
    )
    query = _document_query().where(where).order_by(products.c.name, documents.c.filename, documents.c.id)
    rows = (await session.execute(query.offset(offset).limit(limit))).mappings()
    return [_stored_document(r) for r in rows], int(total or 0)


async def product_documents(session: AsyncSession, product_ids: Sequence[uuid.UUID]) -> list[StoredDocument]:
    if not product_ids:
        return []
    query = _document_query().where(documents.c.product_id.in_([str(p) for p in product_ids]))
    return [_stored_document(r) for r in (await session.execute(query.order_by(documents.c.id))).mappings()]


async def document_with_hash(session: AsyncSession, product_id: uuid.UUID, sha256: str) -> uuid.UUID | None:
    found = await session.scalar(
        sa.select(documents.c.id).where(
            documents.c.product_id == str(product_id), documents.c.sha256 == sha256
        )
    )
    return uuid.UUID(found) if found else None


async def insert_document(session: AsyncSession, document: NewDocument) -> datetime:
    stamp = now()
    await session.execute(
        sa.insert(documents).values(
            id=str(document.id),
            product_id=str(document.product_id),
            category_id=str(document.category_id),
            filename=document.filename,
            content_type=document.content_type,
            size=document.size,
            sha256=document.sha256,
            storage_key=document.storage_key,
            extracted_text=document.extracted_text,
            text_chars=len(document.extracted_text),
            page_count=document.page_count,
            uploaded_by=str(document.uploaded_by) if document.uploaded_by else None,
            created_at=stamp,
        )
    )
    return stamp


async def delete_document(session: AsyncSession, document_id: uuid.UUID) -> None:
    await session.execute(sa.delete(documents).where(documents.c.id == str(document_id)))


async def document_exists(session: AsyncSession, document_id: uuid.UUID) -> bool:
    return (
        await session.scalar(sa.select(documents.c.id).where(documents.c.id == str(document_id))) is not None
    )
