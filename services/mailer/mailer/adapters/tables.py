"""The mailer's tables (its own database; no other service reads them): the email log, and the
projections it sends from, fed by events through the inbox: leads (address, consent, owner) and
the prospectus versions generated for them."""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.db import make_messaging_tables, new_metadata
from servicekit.lead_projection import LeadProjection

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)

lead_projection = LeadProjection(
    metadata,
    "leads",
    # The LeadSnapshot; NULL for a tombstone.
    sa.Column("snapshot", sa.JSON, nullable=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("email_opt_out", sa.Boolean, nullable=False, default=False),
    sa.Column("dnd", sa.Boolean, nullable=False, default=False),
    # Unsubscribed through a link here, not yet confirmed by leads' own lead.updated: until then an
    # older snapshot arriving (email_opt_out still false) must not let email through again.
    sa.Column("unsubscribed", sa.Boolean, nullable=False, default=False),
    version_column="snapshot_updated_at",
)
leads = lead_projection.table

prospectuses = sa.Table(
    "prospectuses",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_prospectuses_lead_version", "lead_id", "version"),
)

emails = sa.Table(
    "email_log",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False, index=True),
    sa.Column("prospectus_id", sa.String(36), nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    # Set when the request named an address; otherwise filled with the lead's address when sent.
    sa.Column("to_email", sa.String(254), nullable=True),
    sa.Column("subject", sa.String(300), nullable=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("provider_message_id", sa.String(300), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # When the next attempt may start. A worker's claim pushes it one lease ahead and sets the token,
    # so a replica that dies mid-send leaves an email another replica sends once the lease is over.
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claim_token", sa.String(36), nullable=True),
    sa.Column("last_error", sa.String(1000), nullable=True),
    # Written before anything is sent: `prospectus:<id>` for the automatic email of a version, so a
    # redelivered prospectus.generated finds it and sends nothing more; `request:<email id>` on demand.
    sa.Column("idempotency_key", sa.String(120), nullable=False, unique=True),
    sa.Column("requested_by", sa.String(36), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_email_log_due", "status", "next_attempt_at"),
)
