"""leads: where the timezone came from, every candidate zone, the phone's country; defaulted UTC re-derived

Before this revision a lead created without a timezone got "UTC", so the dialer planned its calls in
UTC (08:00 UTC is 03:00 in New York). Every lead whose timezone is UTC is taken as defaulted (a
person is not in "UTC"; the column could not say whether it was typed) and gets the zone its phone
number, then its location, says. Other timezones were given: they stay, marked `given`.

Each lead changed here is announced with a lead.updated in the outbox, in this same transaction, so
the scheduler re-plans its pending calls and every projection learns the new fields.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08 02:00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from parley_calltime import derive_timezone
from parley_contracts import LeadSnapshot, LeadUpdated, TimezoneSource

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_FIELDS = ("timezone", "timezone_source", "timezone_candidates", "country")


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("timezone_source", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("timezone_candidates", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))

    connection = op.get_bind()
    metadata = sa.MetaData()
    leads = sa.Table("leads", metadata, autoload_with=connection)
    outbox = sa.Table("outbox", metadata, autoload_with=connection)
    stamp = datetime.now(UTC)
    last_id = ""
    while True:
        rows = (
            connection.execute(
                sa.select(leads).where(leads.c.id > last_id).order_by(leads.c.id).limit(_BATCH)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        last_id = rows[-1]["id"]
        events = []
        for row in rows:
            defaulted = row["timezone"] == "UTC"
            decision = derive_timezone(
                phone=row["phone"], given=None if defaulted else row["timezone"], location=row["location"]
            )
            values = {
                "timezone": decision.timezone,
                "timezone_source": decision.source.value,
                "timezone_candidates": list(decision.candidates),
                "country": decision.country,
                "updated_at": stamp,
            }
            connection.execute(sa.update(leads).where(leads.c.id == row["id"]).values(**values))
            before = {"timezone": row["timezone"], "timezone_source": None, "timezone_candidates": None}
            snapshot = LeadSnapshot.model_validate({**row, **values, "created_at": _aware(row["created_at"])})
            changed = [name for name in _FIELDS if name not in before or before[name] != values[name]]
            event = LeadUpdated(
                lead=snapshot,
                changed=changed,
                before={name: before.get(name) for name in changed},
            )
            events.append(
                {
                    "event_id": str(event.event_id),
                    "subject": event.subject,
                    "payload": event.to_json(),
                    "headers": {"Nats-Msg-Id": str(event.event_id), "Parley-Subject": event.subject},
                    "created_at": stamp,
                    "attempts": 0,
                }
            )
            if defaulted and decision.source is not TimezoneSource.GIVEN:
                connection.execute(
                    sa.table(
                        "lead_activities",
                        sa.column("id"),
                        sa.column("lead_id"),
                        sa.column("type"),
                        sa.column("summary"),
                        sa.column("payload", sa.JSON),
                        sa.column("actor_id"),
                        sa.column("source_event_id"),
                        sa.column("occurred_at"),
                    )
                    .insert()
                    .values(
                        id=str(uuid.uuid4()),
                        lead_id=row["id"],
                        type="LEAD",
                        summary=_summary(decision.timezone, decision.source, decision.candidates),
                        payload={"from": "UTC", **{name: values[name] for name in _FIELDS}},
                        actor_id=None,
                        source_event_id=None,
                        occurred_at=stamp,
                    )
                )
        connection.execute(outbox.insert(), events)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _summary(zone: str, source: TimezoneSource, candidates: Sequence[str]) -> str:
    if source is TimezoneSource.UNKNOWN:
        return "Timezone was defaulted to UTC; the number maps to no zone: timezone needed"
    if len(candidates) > 1:
        return f"Timezone was defaulted to UTC; the number could be in {len(candidates)} zones (shown: {zone})"
    return f"Timezone was defaulted to UTC; set to {zone} ({source.value.replace('_', ' ')})"


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("country")
        batch.drop_column("timezone_candidates")
        batch.drop_column("timezone_source")
