"""Persistence of the email log and the projections. Queries an agent can reach take the principal
and scope by the lead's owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from parley_contracts import LeadSnapshot
from servicekit.auth import Principal
from servicekit.leased_jobs import LeasedJobs
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.delivery import EmailStatus
from .tables import emails, lead_projection, leads, prospectuses


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    # SQLite and MariaDB hand back naive datetimes for timezone-aware columns; all we store is UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- leads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadRecord:
    snapshot: LeadSnapshot
    email: str | None
    email_opt_out: bool
    dnd: bool


async def get_lead(
    session: AsyncSession, lead_id: uuid.UUID, principal: Principal | None = None
) -> LeadRecord | None:
    """A known, not deleted lead, visible to `principal` (everyone when None)."""
    query = lead_projection.select_lead(lead_id, principal).where(
        leads.c.deleted.is_(False), leads.c.snapshot.is_not(None)
    )
    row = (await session.execute(query)).mappings().first()
    if row is None:
        return None
    return LeadRecord(
        LeadSnapshot.model_validate(row["snapshot"]),
        row["email"],
        row["email_opt_out"] or row["unsubscribed"],
        row["dnd"],
    )


async def is_lead_deleted(session: AsyncSession, lead_id: uuid.UUID) -> bool:
    return await lead_projection.is_deleted(session, lead_id)


async def upsert_lead_snapshot(session: AsyncSession, snapshot: LeadSnapshot) -> None:
    values: dict[str, Any] = {
        "snapshot": snapshot.model_dump(mode="json"),
        "email": snapshot.email,
        "email_opt_out": snapshot.consent_flags.email_opt_out,
        "dnd": snapshot.consent_flags.dnd,
    }
    if snapshot.consent_flags.email_opt_out:
        values["unsubscribed"] = False  # leads has the opt-out now; its flag rules from here on
    await lead_projection.apply_snapshot(session, snapshot, values)


async def record_unsubscribe(session: AsyncSession, lead_id: uuid.UUID) -> bool:
    """Stop email to the lead here at once, until leads confirms; False if it already was stopped."""
    result = await session.execute(
        sa.update(leads)
        .where(leads.c.id == str(lead_id), leads.c.email_opt_out.is_(False), leads.c.unsubscribed.is_(False))
        .values(unsubscribed=True)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def forget_lead(session: AsyncSession, lead_id: uuid.UUID) -> None:
    """Keep only a tombstone of a deleted lead. Its email log stays: it records what was sent."""
    await session.execute(sa.delete(prospectuses).where(prospectuses.c.lead_id == str(lead_id)))
    await lead_projection.forget(session, lead_id, {"snapshot": None, "email": None})


# -- prospectuses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProspectusRecord:
    id: uuid.UUID
    lead_id: uuid.UUID
    version: int


async def add_prospectus(
    session: AsyncSession, prospectus_id: uuid.UUID, lead_id: uuid.UUID, version: int, generated_at: datetime
) -> None:
    if await session.scalar(sa.select(prospectuses.c.id).where(prospectuses.c.id == str(prospectus_id))):
        return
    await session.execute(
        sa.insert(prospectuses).values(
            id=str(prospectus_id), lead_id=str(lead_id), version=version, generated_at=generated_at
        )
    )


async def find_prospectus(
    session: AsyncSession, lead_id: uuid.UUID, prospectus_id: uuid.UUID | None
) -> ProspectusRecord | None:
    """The lead's prospectus `prospectus_id`, or its latest when None."""
    query = sa.select(prospectuses).where(prospectuses.c.lead_id == str(lead_id))
    if prospectus_id is not None:
        query = query.where(prospectuses.c.id == str(prospectus_id))
    row = (await session.execute(query.order_by(prospectuses.c.version.desc()).limit(1))).mappings().first()
    if row is None:
        return None
    return ProspectusRecord(uuid.UUID(row["id"]), uuid.UUID(row["lead_id"]), row["version"])


# -- the email log ---------------------------------------------------------------------------


def email_out(row: sa.RowMapping) -> dict[str, Any]:
    data = dict(row)
    for key in ("next_attempt_at", "created_at", "updated_at", "sent_at"):
        data[key] = aware(data[key])
    return data


async def find_by_key(session: AsyncSession, idempotency_key: str) -> dict[str, Any] | None:
    row = (
        (await session.execute(sa.select(emails).where(emails.c.idempotency_key == idempotency_key)))
        .mappings()
        .first()
    )
    return email_out(row) if row else None


async def queue_email(
    session: AsyncSession,
    *,
    email_id: uuid.UUID,
    lead_id: uuid.UUID,
    prospectus_id: uuid.UUID | None,
    version: int | None,
    to_email: str | None,
    idempotency_key: str,
    requested_by: uuid.UUID | None,
) -> dict[str, Any]:
    stamp = now()
    await session.execute(
        sa.insert(emails).values(
            id=str(email_id),
            lead_id=str(lead_id),
            prospectus_id=str(prospectus_id) if prospectus_id else None,
            version=version,
            to_email=to_email,
            status=EmailStatus.QUEUED.value,
            attempts=0,
            next_attempt_at=stamp,
            idempotency_key=idempotency_key,
            requested_by=str(requested_by) if requested_by else None,
            created_at=stamp,
            updated_at=stamp,
        )
    )
    row = (await session.execute(sa.select(emails).where(emails.c.id == str(email_id)))).mappings().one()
    return email_out(row)


async def list_emails(
    session: AsyncSession,
    principal: Principal,
    *,
    lead_id: uuid.UUID | None,
    status: EmailStatus | None,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    conditions: list[sa.ColumnElement[bool]] = []
    if not principal.is_admin:
        conditions.append(emails.c.lead_id.in_(lead_projection.visible_ids(principal)))
    if lead_id is not None:
        conditions.append(emails.c.lead_id == str(lead_id))
    if status is not None:
        conditions.append(emails.c.status == status.value)
    where = sa.and_(sa.true(), *conditions)
    total = await session.scalar(sa.select(sa.func.count()).select_from(emails).where(where))
    rows = (
        await session.execute(
            sa.select(emails)
            .where(where)
            .order_by(emails.c.created_at.desc(), emails.c.id)
            .offset(offset)
            .limit(limit)
        )
    ).mappings()
    return [email_out(r) for r in rows], int(total or 0)


# An email is sent under a lease (servicekit.leased_jobs). It stays QUEUED while claimed (its outcome
# sets the status), so one whose worker died is due again once the lease has passed.
delivery_jobs = LeasedJobs(
    emails,
    claimable=emails.c.status == EmailStatus.QUEUED.value,
    claimed=emails.c.status == EmailStatus.QUEUED.value,
    stamp_column="updated_at",
)
