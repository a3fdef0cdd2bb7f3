"""`/api/voice` routes. Agents only ever see their own leads' sessions: anything else is a 404."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import CurrentPrincipal, connection_principal, same_origin
from servicekit.errors import NotFound, Unauthorized
from servicekit.pagination import Page, Pagination
from servicekit.runtime import ServiceRuntime

from .. import service_layer as svc
from ..adapters import repository as repo
from ..adapters.repository import SessionStatus
from ..context import voice_calls_of
from ..transcript_hub import CallFinished, FollowerTooSlow, LiveItem
from .schemas import LineOut, MessageIn, SessionIn, SessionOut, TranscriptOut, TurnOut

router = APIRouter(prefix="/api/voice", tags=["voice"])


@router.post("/sessions", status_code=status.HTTP_201_CREATED, response_model=TurnOut)
async def start_session(body: SessionIn, principal: CurrentPrincipal, runtime: Runtime) -> TurnOut:
    """Start a call with a lead, in the persona named by `persona_id` (the default persona otherwise; an
    unknown one is a 422). Simulated calls start at once with the bot's opening line. A phone call outside
    legal calling hours is a 409 (`outside_calling_hours`, or `timezone_needed` while the lead's timezone
    is unknown) unless an admin sets `override_calling_hours` (an agent doing so gets a 403)."""
    session, lines = await voice_calls_of(runtime).start(
        principal,
        body.lead_id,
        body.mode,
        body.persona_id,
        override_calling_hours=body.override_calling_hours,
    )
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


# -- the live transcript ----------------------------------------------------------------------

LIVE_UNAUTHENTICATED = 4401  # as HTTP 401: no or a bad token; log in (again) and reconnect
LIVE_REFUSED = 4403  # policy: someone else's or an unknown session (never told apart), or a foreign Origin
LIVE_TOO_SLOW = 1013  # "try again later": the client fell behind; a reconnect resumes from the stored lines


def _live_message(item: LiveItem) -> dict[str, Any]:
    if isinstance(item, CallFinished):
        return {"type": "ended", "outcome": item.outcome, "reason": item.reason}
    return {"type": "line", **LineOut.of(item).model_dump(mode="json")}


async def _send_feed(websocket: WebSocket, feed: AsyncIterator[LiveItem]) -> None:
    async for item in feed:
        await websocket.send_json(_live_message(item))


async def _until_disconnect(websocket: WebSocket) -> None:
    # The client has nothing to say; reading is how its going away is noticed.
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


@router.websocket("/sessions/{session_id}/live")
async def live_transcript(websocket: WebSocket, session_id: str) -> None:
    """The session's transcript as it happens: the lines stored so far, then each new line once stored,
    then `ended`, after which the server closes normally (1000). Every message is a JSON object:
    `{"type": "line", "seq", "speaker", "text", "at"}` (`seq` orders lines and never repeats) or
    `{"type": "ended", "outcome", "reason"}`.

    Authenticates like the HTTP API: the bearer header or the access cookie (browsers send the cookie).
    Closes with 4401 without valid credentials, 4403 for a session the caller may not see or that does
    not exist, and 1013 when the client reads too slowly to keep up (reconnecting loses nothing)."""
    await websocket.accept()
    if not same_origin(websocket):
        await websocket.close(LIVE_REFUSED, "origin not allowed")
        return
    try:
        principal = connection_principal(websocket)
    except Unauthorized:
        await websocket.close(LIVE_UNAUTHENTICATED, "authentication required")
        return
    runtime: ServiceRuntime = websocket.app.state.runtime
    try:
        sid = uuid.UUID(session_id)
        async with runtime.db.session() as db:
            await svc.visible_session(db, principal, sid)
    except (ValueError, NotFound):
        await websocket.close(LIVE_REFUSED, "voice session not found")
        return
    async with voice_calls_of(runtime).hub.following(runtime.db, sid) as feed:
        sender = asyncio.create_task(_send_feed(websocket, feed))
        watcher = asyncio.create_task(_until_disconnect(websocket))
        done, _ = await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
    if watcher in done or sender.cancelled():
        return  # the client went away
    failure = sender.exception()
    if isinstance(failure, WebSocketDisconnect):
        return
    if failure is not None and not isinstance(failure, FollowerTooSlow):
        raise failure
    code, reason = (1000, "ended") if failure is None else (LIVE_TOO_SLOW, "too slow; reconnect to resume")
    with suppress(WebSocketDisconnect, RuntimeError):  # the client may be going away at the same time
        await websocket.close(code, reason)
