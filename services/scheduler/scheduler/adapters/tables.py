"""The scheduler's tables (its own database; no other service reads them)."""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.db import make_messaging_tables, new_metadata
from servicekit.lead_projection import LeadProjection

metadata = new_metadata()
outbox, inbox = make_messaging_tables(metadata)

# What the scheduler knows of each lead, from lead.* events. Only the newest snapshot is applied.
lead_projection = LeadProjection(
    metadata,
    "lead_projection",
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("preferred_time_windows", sa.JSON, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    # Every zone the lead may be in ([] while unknown); NULL on rows from before it was projected.
    sa.Column("timezone_candidates", sa.JSON, nullable=True),
    sa.Column("country", sa.String(2), nullable=True),
    sa.Column("dnd", sa.Boolean, nullable=False),
    # Why the planner refuses the lead's timezone or windows (then nothing is planned); NULL if fine.
    sa.Column("plan_error", sa.String(300), nullable=True),
    # Why automatic attempts ended (domain.DialingStop); NULL while they go on.
    sa.Column("dialing_stopped", sa.String(30), nullable=True),
)
leads = lead_projection.table

call_tasks = sa.Table(
    "call_tasks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), sa.ForeignKey("lead_projection.id"), nullable=False),
    sa.Column("agent_id", sa.String(36), nullable=True, index=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
    # End of the planned slot (AUTO/RETRY): past it the task is re-planned instead of dialed late.
    sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
    # Earliest time a re-plan may move the task to (a retry's backoff).
    sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("mode", sa.String(10), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("reason", sa.String(300), nullable=True),
    sa.Column("note", sa.String(1000), nullable=True),
    sa.Column("created_by", sa.String(36), nullable=True),
    sa.Column("call_id", sa.String(36), nullable=True),
    sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
    # While DISPATCHED: which replica dialed it and until when the call may stay silent.
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    # The line is free again (terminal call.status) though the outcome (call.ended) is still due.
    sa.Column("call_ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_call_tasks_status_scheduled_for", "status", "scheduled_for"),
    sa.Index("ix_call_tasks_lead_status", "lead_id", "status"),
)

# Every call attempt and how it ended: the answer history that ranks slots, and the breaker's feed.
call_attempts = sa.Table(
    "call_attempts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("lead_id", sa.String(36), nullable=False, index=True),
    sa.Column("task_id", sa.String(36), nullable=True),
    # call.status and call.ended both report a call's end: the call id lets only one count.
    sa.Column("call_id", sa.String(36), nullable=True, unique=True),
    # "dialer" (a call the platform placed) or "agent" (an outcome an agent entered).
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# One row per dispatcher: the replica holding it dials; the others take over once it expires.
dispatcher_lease = sa.Table(
    "dispatcher_lease",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# The internal calendar (CalendarPort): agents' bookings, i.e. their MANUAL call tasks.
calendar_events = sa.Table(
    "calendar_events",
    metadata,
    sa.Column("calendar_id", sa.String(64), primary_key=True),
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("lead_id", sa.String(36), nullable=True),
    sa.Column("task_id", sa.String(36), nullable=True),
    sa.Index("ix_calendar_events_calendar_start", "calendar_id", "start_at"),
)
