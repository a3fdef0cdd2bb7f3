"""The catalog service's tables (its own database; no other service reads them)."""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.db import make_messaging_tables, new_metadata
from sqlalchemy.dialects import mysql

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)

# MySQL's TEXT holds 64 KB; extracted document text and search text can be far longer.
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("category_id", sa.String(36), sa.ForeignKey("categories.id"), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("insurer", sa.String(200), nullable=False, index=True),
    sa.Column("plan_type", sa.String(50), nullable=False, index=True),
    sa.Column("eligibility", sa.JSON, nullable=False),
    sa.Column("coverage_highlights", sa.JSON, nullable=False),
    sa.Column("premium_range", sa.JSON, nullable=True),
    sa.Column("cover_amount", sa.String(200), nullable=True),
    sa.Column("exclusions", sa.JSON, nullable=False),
    sa.Column("riders", sa.JSON, nullable=False),
    sa.Column("claim_process", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, index=True),
    # Derived from the JSON fields on every write so filters and sorting stay portable SQL:
    # the age range, the cheapest premium as a monthly amount, and lower-cased text for `q`.
    sa.Column("min_age", sa.Integer, nullable=False),
    sa.Column("max_age", sa.Integer, nullable=False),
    sa.Column("premium_min_monthly", sa.Float, nullable=True),
    sa.Column("search_text", LongText, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("insurer", "name", name="uq_products_insurer_name"),
)

# One row per product tag: JSON arrays cannot be filtered portably across SQLite, PostgreSQL and MariaDB.
product_tags = sa.Table(
    "product_tags",
    metadata,
    sa.Column(
        "product_id", sa.String(36), sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(50), primary_key=True, index=True),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("product_id", sa.String(36), sa.ForeignKey("products.id"), nullable=False, index=True),
    # The product's category, kept in step when the product moves, for category-wise browsing.
    sa.Column("category_id", sa.String(36), sa.ForeignKey("categories.id"), nullable=False, index=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(300), nullable=False, unique=True),
    sa.Column("extracted_text", LongText, nullable=False),
    sa.Column("text_chars", sa.Integer, nullable=False),
    sa.Column("page_count", sa.Integer, nullable=True),
    sa.Column("uploaded_by", sa.String(36), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    # The same file attached twice to one product is a mistake, answered with 409.
    sa.UniqueConstraint("product_id", "sha256", name="uq_documents_product_sha256"),
)
