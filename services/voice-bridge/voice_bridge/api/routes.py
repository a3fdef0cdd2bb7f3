"""`/api/voice` routes. Agents only ever see their own leads' sessions: anything else is a 404."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import CurrentPrincipal
from servicekit.pagination import Page, Pagination

from .. import service_layer as svc
from ..adapters import repository as repo
from ..adapters.repository import SessionStatus
from ..context import voice_calls_of
from .schemas import LineOut, MessageIn, SessionIn, SessionOut, TranscriptOut, TurnOut

router = APIRouter(prefix="/api/voice", tags=["voice"])


@router.post("/sessions", status_code=status.HTTP_201_CREATED, response_model=TurnOut)
async def start_session(body: SessionIn, principal: CurrentPrincipal, runtime: Runtime) -> TurnOut:
    """Start a call with a lead. Simulated calls start at once with the bot's opening line."""
    session, lines = await voice_calls_of(runtime).start(principal, body.lead_id, body.mode)
    reply = " ".join(item.line.text for item in lines if item.line.speaker == "bot")
    return TurnOut(
        session=SessionOut.of(session), reply=reply, lines=[LineOut.of(x) for x in lines], ended=False
    )


@router.post("/sessions/{session_id}/messages", response_model=TurnOut)
async def post_message(
    session_id: uuid.UUID, body: MessageIn, principal: CurrentPrincipal, runtime: Runtime
) -> TurnOut:
    """One prospect message in a simulated call; the answer is the bot's reply after its tools ran."""
    session, lines, reply = await voice_calls_of(runtime).message(principal, session_id, body.text)
    return TurnOut(
        session=SessionOut.of(session),
        reply=reply,
        lines=[LineOut.of(x) for x in lines],
        ended=session.status is SessionStatus.ENDED,
    )


@router.post("/sessions/{session_id}/stop", response_model=SessionOut)
async def stop_session(session_id: uuid.UUID, principal: CurrentPrincipal, runtime: Runtime) -> SessionOut:
    return SessionOut.of(await voice_calls_of(runtime).stop(principal, session_id))


@router.get("/sessions", response_model=Page[SessionOut])
async def list_sessions(
    principal: CurrentPrincipal,
    db: DbSession,
    pagination: Pagination,
    lead_id: uuid.UUID | None = None,
    status: SessionStatus | None = None,
) -> Page[SessionOut]:
    if lead_id is not None:
        await svc.visible_lead(db, principal, lead_id)
    found, total = await repo.list_sessions(
        db,
        visible_to=None if principal.is_admin else principal.user_id,
        lead_id=lead_id,
        status=status,
        offset=pagination.offset,
        limit=pagination.page_size,
    )
    return Page(
        items=[SessionOut.of(s) for s in found],
        total=total,
        page=pagination.page,
        page_size=pagination.page_size,
    )


@router.get("/sessions/{session_id}", response_model=SessionOut)
async def get_session(session_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> SessionOut:
    session, _ = await svc.visible_session(db, principal, session_id)
    return SessionOut.of(session)


@router.get("/sessions/{session_id}/transcript", response_model=TranscriptOut)
async def get_transcript(session_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> TranscriptOut:
    session, _ = await svc.visible_session(db, principal, session_id)
    lines = await repo.transcript(db, session.id)
    return TranscriptOut(session_id=session.id, lines=[LineOut.of(x) for x in lines])
