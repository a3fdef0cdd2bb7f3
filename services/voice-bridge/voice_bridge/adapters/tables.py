"""The voice bridge's tables (its own database; no other service reads them)."""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.db import make_messaging_tables, new_metadata

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)

# What the bridge knows of each lead, from lead.* events. Only the newest snapshot is applied.
leads = sa.Table(
    "lead_projection",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # The whole LeadSnapshot (name, email, consent, timezone...) the bot's dialogue is built from.
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Column("assigned_agent_id", sa.String(36), nullable=True, index=True),
    sa.Column("dnd", sa.Boolean, nullable=False),
    # E.164, to recognise a lead calling back.
    sa.Column("phone", sa.String(20), nullable=True, index=True),
    # The newest needs rag extracted for the lead (needs.extracted): context for an inbound callback.
    sa.Column("needs", sa.JSON, nullable=True),
    # A tombstone: a lead.updated arriving after lead.deleted must not bring the lead back.
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
)

voice_sessions = sa.Table(
    "voice_sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False, index=True),
    sa.Column("agent_id", sa.String(36), nullable=True, index=True),
    sa.Column("mode", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("direction", sa.String(10), nullable=False),
    sa.Column("task_id", sa.String(36), nullable=True, index=True),
    sa.Column("created_by", sa.String(36), nullable=True),
    sa.Column("twilio_call_sid", sa.String(64), nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("end_reason", sa.String(300), nullable=True),
    sa.Column("summary", sa.Text, nullable=True),
    # What the tools established (CallFacts): survives a restart so `stop` still decides the outcome.
    sa.Column("email_saved", sa.String(320), nullable=True),
    sa.Column("follow_up_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("do_not_call", sa.Boolean, nullable=False),
    sa.Column("end_call_reason", sa.String(30), nullable=True),
    # Realtime usage (tokens by kind) and the estimated cost, from `response.done`.
    sa.Column("usage", sa.JSON, nullable=True),
    sa.Column("estimated_cost_usd", sa.Float, nullable=True),
    # The stored persona the call was made with (None: the built-in default). No foreign key: deleting a
    # persona keeps past calls attributable to its id.
    sa.Column("persona_id", sa.String(36), nullable=True),
    sa.Index("ix_voice_sessions_lead_created", "lead_id", "created_at"),
)

# The bot's personas, edited by admins. At most one is the default (calls that name none use it); with
# none stored or marked, the built-in `DEFAULT_PERSONA` is used.
personas = sa.Table(
    "personas",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # How admins and agents pick it, unique (case-insensitively, checked by the service).
    sa.Column("name", sa.String(80), nullable=False, unique=True),
    # The validated `Persona` (greeting, tone, voice, language, questions...).
    sa.Column("persona", sa.JSON, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(36), nullable=True),
)

transcript_lines = sa.Table(
    "transcript_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(36), sa.ForeignKey("voice_sessions.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("speaker", sa.String(10), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("session_id", "seq", name="uq_transcript_lines_session_seq"),
)

# The redacted protocol/tool event log: no audio payloads, contact details masked.
call_events = sa.Table(
    "call_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(36), sa.ForeignKey("voice_sessions.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("direction", sa.String(10), nullable=False),
    sa.Column("type", sa.String(80), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
)
