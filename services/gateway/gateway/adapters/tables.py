"""The gateway's own tables: users, refresh tokens, admin settings, audit log, and the console's
notifications with the lead ownership they are addressed by."""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.db import make_messaging_tables, new_metadata
from servicekit.lead_projection import LeadProjection

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

settings = sa.Table(
    "admin_settings",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    # Secrets hold Fernet ciphertext; plain settings hold their JSON-encoded value.
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("is_secret", sa.Boolean, nullable=False),
    sa.Column("updated_by", sa.String(36), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("event_id", sa.String(36), nullable=True, unique=True),
    sa.Column("service", sa.String(50), nullable=False),
    sa.Column("actor_id", sa.String(36), nullable=True, index=True),
    sa.Column("actor_role", sa.String(10), nullable=True),
    sa.Column("action", sa.String(100), nullable=False, index=True),
    sa.Column("entity", sa.String(50), nullable=False, index=True),
    sa.Column("entity_id", sa.String(100), nullable=False),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# Who owns each lead (from lead.created/updated/deleted): events that name a lead but not its agent
# (lead.email_captured) are addressed to the owner found here.
lead_projection = LeadProjection(metadata, "lead_projection")

# A read model built from bus events (rebuildable by replay): one row per event that notifies someone.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # NULL while the lead's owner is not known yet; the lead's snapshot fills it in.
    sa.Column("user_id", sa.String(36), nullable=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("lead_id", sa.String(36), nullable=False, index=True),
    sa.Column("link", sa.String(300), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
    # The event it came from: the same event never makes a second notification, even replayed.
    sa.Column("source_event_id", sa.String(36), nullable=False, unique=True),
    # A user's page, newest first, and their unread count.
    sa.Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
)
