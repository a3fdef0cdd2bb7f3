"""SQL for the voice bridge's tables: the lead projection, sessions, transcript lines, the event log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from parley_contracts import CallMode, CallOutcome, LeadSnapshot, NeedsProfile, TranscriptLine
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.call import CallFacts, EndCallReason
from ..domain.ports import EventLogEntry
from ..domain.redaction import redact_event
from .tables import call_events, leads, transcript_lines, voice_sessions


def as_utc(value: datetime) -> datetime:
    # SQLite and MariaDB hand back naive datetimes for timezone-aware columns; all we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


CallDirection = Literal["outbound", "inbound"]


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


class SessionStatus(StrEnum):
    WAITING_FOR_AGENT = "WAITING_FOR_AGENT"  # a scheduled rehearsal an agent has not started yet
    DIALING = "DIALING"  # a phone call placed (or being placed) that nobody has answered yet
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


# -- leads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadRecord:
    snapshot: LeadSnapshot
    deleted: bool

    @property
    def id(self) -> uuid.UUID:
        return self.snapshot.id

    @property
    def assigned_agent_id(self) -> uuid.UUID | None:
        return self.snapshot.assigned_agent_id

    @property
    def dnd(self) -> bool:
        return self.snapshot.consent_flags.dnd


async def get_lead(session: AsyncSession, lead_id: uuid.UUID) -> LeadRecord | None:
    row = (await session.execute(sa.select(leads).where(leads.c.id == str(lead_id)))).mappings().first()
    if row is None:
        return None
    return LeadRecord(LeadSnapshot.model_validate(row["snapshot"]), bool(row["deleted"]))


async def lead_version(session: AsyncSession, lead_id: uuid.UUID) -> tuple[bool, datetime | None] | None:
    """(deleted, updated_at) of the projected lead, locked for the update that follows; None if unknown."""
    query = sa.select(leads.c.deleted, leads.c.updated_at).where(leads.c.id == str(lead_id))
    row = (await session.execute(query.with_for_update())).first()
    if row is None:
        return None
    return bool(row.deleted), _utc_or_none(row.updated_at)


def _lead_values(snapshot: LeadSnapshot, *, deleted: bool) -> dict[str, Any]:
    return {
        "snapshot": snapshot.model_dump(mode="json"),
        "assigned_agent_id": str(snapshot.assigned_agent_id) if snapshot.assigned_agent_id else None,
        "dnd": snapshot.consent_flags.dnd,
        "phone": snapshot.phone[:20] if snapshot.phone else None,
        "deleted": deleted,
        "updated_at": snapshot.updated_at,
    }


async def insert_lead(session: AsyncSession, snapshot: LeadSnapshot) -> None:
    await session.execute(
        sa.insert(leads).values(id=str(snapshot.id), **_lead_values(snapshot, deleted=False))
    )


async def update_lead(session: AsyncSession, snapshot: LeadSnapshot, *, deleted: bool = False) -> None:
    await session.execute(
        sa.update(leads)
        .where(leads.c.id == str(snapshot.id))
        .values(**_lead_values(snapshot, deleted=deleted))
    )


async def mark_lead_deleted(session: AsyncSession, lead_id: uuid.UUID) -> None:
    await session.execute(sa.update(leads).where(leads.c.id == str(lead_id)).values(deleted=True))


async def mark_lead_dnd(session: AsyncSession, lead_id: uuid.UUID) -> None:
    """Refuse new calls at once after "don't call me again"; the lead.updated that follows agrees."""
    record = await get_lead(session, lead_id)
    if record is None:
        return
    flags = record.snapshot.consent_flags.model_copy(update={"dnd": True})
    snapshot = record.snapshot.model_copy(update={"consent_flags": flags})
    await session.execute(
        sa.update(leads)
        .where(leads.c.id == str(lead_id))
        .values(snapshot=snapshot.model_dump(mode="json"), dnd=True)
    )


async def find_lead_by_phone(session: AsyncSession, phone: str) -> LeadRecord | None:
    """The live lead with this number (the most recently updated one if an import left twins)."""
    query = (
        sa.select(leads.c.snapshot)
        .where(leads.c.phone == phone, leads.c.deleted.is_(False))
        .order_by(leads.c.updated_at.desc())
        .limit(1)
    )
    snapshot = await session.scalar(query)
    return None if snapshot is None else LeadRecord(LeadSnapshot.model_validate(snapshot), False)


async def save_needs(session: AsyncSession, lead_id: uuid.UUID, needs: NeedsProfile) -> None:
    await session.execute(
        sa.update(leads).where(leads.c.id == str(lead_id)).values(needs=needs.model_dump(mode="json"))
    )


async def known_needs(session: AsyncSession, lead_id: uuid.UUID) -> NeedsProfile | None:
    stored = await session.scalar(sa.select(leads.c.needs).where(leads.c.id == str(lead_id)))
    return None if stored is None else NeedsProfile.model_validate(stored)


# -- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceSession:
    id: uuid.UUID
    lead_id: uuid.UUID
    agent_id: uuid.UUID | None
    mode: CallMode
    status: SessionStatus
    direction: str
    task_id: uuid.UUID | None
    created_by: uuid.UUID | None
    twilio_call_sid: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    outcome: CallOutcome | None
    end_reason: str | None
    summary: str | None
    email_saved: str | None
    follow_up_at: datetime | None
    do_not_call: bool
    end_call_reason: EndCallReason | None
    usage: dict[str, Any] | None
    estimated_cost_usd: float | None
    # The stored persona the call was made with; None: the built-in one (or not started yet).
    persona_id: uuid.UUID | None = None

    @property
    def facts(self) -> CallFacts:
        return CallFacts(
            email_saved=self.email_saved,
            follow_up_at=self.follow_up_at,
            do_not_call=self.do_not_call,
            end_call_reason=self.end_call_reason,
        )


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(value)


def _session(row: sa.RowMapping) -> VoiceSession:
    return VoiceSession(
        id=uuid.UUID(row["id"]),
        lead_id=uuid.UUID(row["lead_id"]),
        agent_id=_uuid_or_none(row["agent_id"]),
        mode=row["mode"],
        status=SessionStatus(row["status"]),
        direction=row["direction"],
        task_id=_uuid_or_none(row["task_id"]),
        created_by=_uuid_or_none(row["created_by"]),
        twilio_call_sid=row["twilio_call_sid"],
        created_at=as_utc(row["created_at"]),
        started_at=_utc_or_none(row["started_at"]),
        ended_at=_utc_or_none(row["ended_at"]),
        outcome=CallOutcome(row["outcome"]) if row["outcome"] else None,
        end_reason=row["end_reason"],
        summary=row["summary"],
        email_saved=row["email_saved"],
        follow_up_at=_utc_or_none(row["follow_up_at"]),
        do_not_call=bool(row["do_not_call"]),
        end_call_reason=EndCallReason(row["end_call_reason"]) if row["end_call_reason"] else None,
        usage=row["usage"],
        estimated_cost_usd=row["estimated_cost_usd"],
        persona_id=_uuid_or_none(row["persona_id"]),
    )


async def insert_session(
    session: AsyncSession,
    *,
    session_id: uuid.UUID,
    lead: LeadRecord,
    mode: CallMode,
    status: SessionStatus,
    now: datetime,
    task_id: uuid.UUID | None = None,
    created_by: uuid.UUID | None = None,
    direction: CallDirection = "outbound",
    twilio_call_sid: str | None = None,
    persona_id: uuid.UUID | None = None,
) -> None:
    await session.execute(
        sa.insert(voice_sessions).values(
            id=str(session_id),
            lead_id=str(lead.id),
            agent_id=str(lead.assigned_agent_id) if lead.assigned_agent_id else None,
            mode=mode,
            status=status.value,
            direction=direction,
            twilio_call_sid=twilio_call_sid,
            task_id=str(task_id) if task_id else None,
            created_by=str(created_by) if created_by else None,
            created_at=now,
            started_at=now if status is SessionStatus.ACTIVE else None,
            do_not_call=False,
            persona_id=str(persona_id) if persona_id else None,
        )
    )


async def get_session(
    session: AsyncSession, session_id: uuid.UUID, *, for_update: bool = False
) -> VoiceSession | None:
    query = sa.select(voice_sessions).where(voice_sessions.c.id == str(session_id))
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return None if row is None else _session(row)


async def session_by_call_sid(session: AsyncSession, call_sid: str) -> VoiceSession | None:
    query = sa.select(voice_sessions).where(voice_sessions.c.twilio_call_sid == call_sid)
    row = (await session.execute(query)).mappings().first()
    return None if row is None else _session(row)


async def update_session(session: AsyncSession, session_id: uuid.UUID, **values: Any) -> None:
    for key, value in list(values.items()):
        if isinstance(value, StrEnum):
            values[key] = value.value
        elif isinstance(value, uuid.UUID):
            values[key] = str(value)
    await session.execute(
        sa.update(voice_sessions).where(voice_sessions.c.id == str(session_id)).values(**values)
    )


def _visible(agent_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    """Sessions of leads the agent owns now (any lead for an admin, i.e. `agent_id` None)."""
    if agent_id is None:
        return sa.true()
    owned = sa.select(leads.c.id).where(
        leads.c.assigned_agent_id == str(agent_id), leads.c.deleted.is_(False)
    )
    return voice_sessions.c.lead_id.in_(owned)


async def ended_calls(session: AsyncSession, lead_id: uuid.UUID, limit: int) -> list[VoiceSession]:
    """The lead's most recent finished calls, newest first (context for the bot on a callback)."""
    query = (
        sa.select(voice_sessions)
        .where(voice_sessions.c.lead_id == str(lead_id), voice_sessions.c.status == SessionStatus.ENDED.value)
        .order_by(voice_sessions.c.ended_at.desc())
        .limit(limit)
    )
    return [_session(row) for row in (await session.execute(query)).mappings().all()]


async def unfinished_phone_sessions(session: AsyncSession) -> list[VoiceSession]:
    query = sa.select(voice_sessions).where(
        voice_sessions.c.mode == "phone", voice_sessions.c.status != SessionStatus.ENDED.value
    )
    return [_session(row) for row in (await session.execute(query)).mappings().all()]


async def list_sessions(
    session: AsyncSession,
    *,
    visible_to: uuid.UUID | None,
    lead_id: uuid.UUID | None,
    status: SessionStatus | None,
    offset: int,
    limit: int,
) -> tuple[list[VoiceSession], int]:
    where = [_visible(visible_to)]
    if lead_id is not None:
        where.append(voice_sessions.c.lead_id == str(lead_id))
    if status is not None:
        where.append(voice_sessions.c.status == status.value)
    total = await session.scalar(sa.select(sa.func.count()).select_from(voice_sessions).where(*where))
    query = (
        sa.select(voice_sessions)
        .where(*where)
        .order_by(voice_sessions.c.created_at.desc(), voice_sessions.c.id)
        .offset(offset)
        .limit(limit)
    )
    rows = (await session.execute(query)).mappings().all()
    return [_session(row) for row in rows], int(total or 0)


# -- transcript and event log -----------------------------------------------------------------


@dataclass(frozen=True)
class StoredLine:
    seq: int
    line: TranscriptLine


async def append_lines(
    session: AsyncSession, session_id: uuid.UUID, lines: list[TranscriptLine]
) -> list[StoredLine]:
    if not lines:
        return []
    last = await session.scalar(
        sa.select(sa.func.max(transcript_lines.c.seq)).where(transcript_lines.c.session_id == str(session_id))
    )
    start = int(last or 0) + 1
    stored = [StoredLine(start + index, line) for index, line in enumerate(lines)]
    await session.execute(
        sa.insert(transcript_lines),
        [
            {
                "session_id": str(session_id),
                "seq": item.seq,
                "speaker": item.line.speaker,
                "text": item.line.text,
                "at": item.line.at,
            }
            for item in stored
        ],
    )
    return stored


async def transcript(session: AsyncSession, session_id: uuid.UUID) -> list[StoredLine]:
    query = (
        sa.select(transcript_lines)
        .where(transcript_lines.c.session_id == str(session_id))
        .order_by(transcript_lines.c.seq)
    )
    rows = (await session.execute(query)).mappings().all()
    return [
        StoredLine(row["seq"], TranscriptLine(speaker=row["speaker"], text=row["text"], at=as_utc(row["at"])))
        for row in rows
    ]


async def record_event(session: AsyncSession, session_id: uuid.UUID, entry: EventLogEntry) -> None:
    await session.execute(
        sa.insert(call_events).values(
            session_id=str(session_id),
            at=entry.at,
            source=entry.source,
            direction=entry.direction,
            type=entry.type[:80],
            data=redact_event(entry.data),
        )
    )
