"""Persistence of the email log and the projections. Queries an agent can reach take the principal
and scope by the lead's owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from parley_contracts import LeadSnapshot
from servicekit.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.delivery import EmailStatus
from .tables import emails, leads, prospectuses


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


def _visible(principal: Principal | None) -> sa.ColumnElement[bool]:
    if principal is None or principal.is_admin:
        return sa.true()
    return leads.c.assigned_agent_id == str(principal.user_id)


async def get_lead(
    session: AsyncSession, lead_id: uuid.UUID, principal: Principal | None = None
) -> LeadRecord | None:
    """A known, not deleted lead, visible to `principal` (everyone when None)."""
    row = (
        (
            await session.execute(
                sa.select(leads).where(
                    leads.c.id == str(lead_id),
                    leads.c.deleted.is_(False),
                    leads.c.snapshot.is_not(None),
                    _visible(principal),
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return LeadRecord(
        LeadSnapshot.model_validate(row["snapshot"]),
        row["email"],
        row["email_opt_out"] or row["unsubscribed"],
        row["dnd"],
    )


async def is_lead_deleted(session: AsyncSession, lead_id: uuid.UUID) -> bool:
    return bool(await session.scalar(sa.select(leads.c.deleted).where(leads.c.id == str(lead_id))))


async def upsert_lead_snapshot(session: AsyncSession, snapshot: LeadSnapshot) -> None:
    """Keep the newest snapshot: created and updated arrive on separate consumers, in any order."""
    current = (
        await session.execute(
            sa.select(leads.c.deleted, leads.c.snapshot_updated_at).where(leads.c.id == str(snapshot.id))
        )
    ).first()
    stamp = snapshot.updated_at or snapshot.created_at
    values: dict[str, Any] = {
        "snapshot": snapshot.model_dump(mode="json"),
        "snapshot_updated_at": stamp,
        "assigned_agent_id": str(snapshot.assigned_agent_id) if snapshot.assigned_agent_id else None,
        "email": snapshot.email,
        "email_opt_out": snapshot.consent_flags.email_opt_out,
        "dnd": snapshot.consent_flags.dnd,
    }
    if snapshot.consent_flags.email_opt_out:
        values["unsubscribed"] = False  # leads has the opt-out now; its flag rules from here on
    if current is None:
        await session.execute(sa.insert(leads).values(id=str(snapshot.id), **values))
        return
    stored_stamp = aware(current.snapshot_updated_at)
    if current.deleted or (stored_stamp is not None and stamp is not None and stamp < stored_stamp):
        return
    await session.execute(sa.update(leads).where(leads.c.id == str(snapshot.id)).values(**values))


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
    tombstone = {"snapshot": None, "email": None, "assigned_agent_id": None, "deleted": True}
    updated = await session.execute(sa.update(leads).where(leads.c.id == str(lead_id)).values(**tombstone))
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(sa.insert(leads).values(id=str(lead_id), **tombstone))


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
        owned = sa.select(leads.c.id).where(leads.c.assigned_agent_id == str(principal.user_id))
        conditions.append(emails.c.lead_id.in_(owned))
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


async def claim_due_email(session: AsyncSession, lease: timedelta) -> dict[str, Any] | None:
    """Atomically reserve the most overdue email for this worker (safe with several replicas).

    The conditional UPDATE is the claim: of two replicas racing for a row, one updates it and the
    other matches nothing and tries the next candidate. The lease moves next_attempt_at ahead, so
    nobody else takes the email meanwhile, and a worker that dies leaves it due again afterwards.
    """
    stamp = now()
    due = sa.and_(emails.c.status == EmailStatus.QUEUED.value, emails.c.next_attempt_at <= stamp)
    candidates = (
        (
            await session.execute(
                sa.select(emails.c.id).where(due).order_by(emails.c.next_attempt_at).limit(10)
            )
        )
        .scalars()
        .all()
    )
    for email_id in candidates:
        token = str(uuid.uuid4())
        result = await session.execute(
            sa.update(emails)
            .where(emails.c.id == email_id, due)
            .values(claim_token=token, next_attempt_at=stamp + lease, updated_at=stamp)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            row = (await session.execute(sa.select(emails).where(emails.c.id == email_id))).mappings().one()
            return email_out(row)
    return None


async def finish_claim(session: AsyncSession, email_id: str, claim_token: str, **values: Any) -> bool:
    """Record an attempt's outcome if this worker still holds the claim (False: it was taken over)."""
    result = await session.execute(
        sa.update(emails)
        .where(
            emails.c.id == email_id,
            emails.c.claim_token == claim_token,
            emails.c.status == EmailStatus.QUEUED.value,
        )
        .values(claim_token=None, updated_at=now(), **values)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
