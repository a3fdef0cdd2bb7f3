"""The prospectus service's tables (its own database; no other service reads them).

Besides the versions it renders, it keeps projections of other services' facts, fed by events
through the inbox: the leads (owner, email, consent, email permission given on a call), the catalog
products, and the recommendations each version is rendered from.
"""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.db import make_messaging_tables, new_metadata
from servicekit.lead_projection import LeadProjection

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)

lead_projection = LeadProjection(
    metadata,
    "leads",
    # The LeadSnapshot; NULL while only call facts (email permission) have arrived for this lead.
    sa.Column("snapshot", sa.JSON, nullable=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("email_opt_out", sa.Boolean, nullable=False, default=False),
    sa.Column("dnd", sa.Boolean, nullable=False, default=False),
    # The lead agreed on a call to receive information by email (CallEnded / LeadEmailCaptured).
    sa.Column("email_permission", sa.Boolean, nullable=False, default=False),
    version_column="snapshot_updated_at",
)
leads = lead_projection.table

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
)

recommendations = sa.Table(
    "recommendations",
    metadata,
    # The recommendations.ready event id.
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False),
    sa.Column("call_id", sa.String(36), nullable=True),
    sa.Column("needs", sa.JSON, nullable=False),
    sa.Column("recommendation", sa.JSON, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_recommendations_lead_time", "lead_id", "occurred_at"),
)

versions = sa.Table(
    "prospectus_versions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("error", sa.String(1000), nullable=True),
    sa.Column(
        "recommendation_id", sa.String(36), sa.ForeignKey("recommendations.id"), nullable=False, index=True
    ),
    sa.Column("call_id", sa.String(36), nullable=True),
    sa.Column("product_ids", sa.JSON, nullable=False),
    # True when made by recommendations.ready (may be emailed automatically), False when on demand.
    sa.Column("automatic", sa.Boolean, nullable=False),
    sa.Column("requested_by", sa.String(36), nullable=True),
    sa.Column("agent_contact", sa.JSON, nullable=True),
    sa.Column("pdf_location", sa.String(500), nullable=True),
    sa.Column("html_location", sa.String(500), nullable=True),
    sa.Column("pdf_sha256", sa.String(64), nullable=True),
    sa.Column("pdf_bytes", sa.Integer, nullable=True),
    sa.Column("page_count", sa.Integer, nullable=True),
    # Render attempts so far, when the next may start, and which worker holds the current one: a
    # claim sets the token and pushes next_attempt_at one lease ahead, so a replica that dies
    # mid-render leaves a row another replica takes over once the lease has passed.
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claim_token", sa.String(36), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("lead_id", "version", name="uq_prospectus_versions_lead_version"),
    sa.Index("ix_prospectus_versions_due", "status", "next_attempt_at"),
)
