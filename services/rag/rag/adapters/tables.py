"""The rag service's tables (its own database; no other service reads them).

- `products`, `documents`: a projection of the catalog fed by its events. The product snapshots are the
  `ProductFacts` the recommender re-checks eligibility against; documents keep their text so a full
  reindex needs nothing from the catalog.
- `lead_owners`: who each lead is assigned to (from lead events), for agent scoping.
- `call_receipts`: each call whose needs are being extracted, from the moment its call.ended arrives.
- `needs_records`, `recommendation_records`: what was extracted and recommended per lead and call.
"""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.db import make_messaging_tables, new_metadata
from sqlalchemy.dialects import mysql

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)

# MySQL's TEXT holds 64 KB; document text can be far longer.
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql")

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("category_name", sa.String(100), nullable=False, index=True),
    sa.Column("snapshot", sa.JSON, nullable=False),
    # The snapshot's own `updated_at` (catalog time): an older snapshot never overwrites a newer one.
    sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("product_id", sa.String(36), nullable=False, index=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("text", LongText, nullable=False),
    # False while the product is unknown here (events of different subjects may arrive in any order).
    sa.Column("indexed", sa.Boolean, nullable=False, default=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

lead_owners = sa.Table(
    "lead_owners",
    metadata,
    sa.Column("lead_id", sa.String(36), primary_key=True),
    sa.Column("assigned_agent_id", sa.String(36), nullable=True, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Written before the slow part of a call.ended (extraction, recommendation), in its own transaction: a
# call with a receipt but no records yet is still being computed, not unknown.
call_receipts = sa.Table(
    "call_receipts",
    metadata,
    sa.Column("call_id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

needs_records = sa.Table(
    "needs_records",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False, index=True),
    # One record per call: a replayed call.ended finds it and has no second effect.
    sa.Column("call_id", sa.String(36), nullable=False, unique=True),
    sa.Column("needs", sa.JSON, nullable=False),
    sa.Column("extractor", sa.String(20), nullable=False),
    sa.Column("repairs", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

recommendation_records = sa.Table(
    "recommendation_records",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False, index=True),
    sa.Column("call_id", sa.String(36), nullable=False, unique=True),
    sa.Column("needs", sa.JSON, nullable=False),
    sa.Column("recommendation", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)
