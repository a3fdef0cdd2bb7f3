"""The leads service's tables (its own database; no other service reads them)."""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.db import make_messaging_tables, new_metadata

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)

leads = sa.Table(
    "leads",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("phone", sa.String(20), nullable=False, unique=True),
    sa.Column("email", sa.String(254), nullable=True, index=True),
    sa.Column("location", sa.String(200), nullable=True),
    sa.Column("age", sa.Integer, nullable=True),
    sa.Column("income_band", sa.String(50), nullable=True),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("source", sa.String(100), nullable=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("preferred_time_windows", sa.JSON, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    # How the timezone was set (contracts.TimezoneSource) and every zone the lead may be in.
    sa.Column("timezone_source", sa.String(20), nullable=True),
    sa.Column("timezone_candidates", sa.JSON, nullable=True),
    sa.Column("country", sa.String(2), nullable=True),
    sa.Column("consent_flags", sa.JSON, nullable=False),
    sa.Column("assigned_agent_id", sa.String(36), nullable=True, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

activities = sa.Table(
    "lead_activities",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    sa.Column("type", sa.String(30), nullable=False),
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("actor_id", sa.String(36), nullable=True),
    # The event that produced this entry: a redelivered event cannot add it twice.
    sa.Column("source_event_id", sa.String(36), nullable=True, unique=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lead_activities_lead_time", "lead_id", "occurred_at"),
)
