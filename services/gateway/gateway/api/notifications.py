"""`/api/notifications`: the caller's own notifications, marking them read, and a live stream (SSE).

Another user's notification is a 404, as if it did not exist."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from servicekit.app import DbSession, Runtime
from servicekit.auth import CurrentPrincipal
from servicekit.errors import NotFound
from servicekit.pagination import Pagination
from servicekit.runtime import ServiceRuntime

from .. import notifications as svc
from ..adapters.notification_hub import NotificationHub
from ..domain.notifications import Notification
from .deps import Hub, Settings
from .schemas import NotificationPage, ReadAllOut

router = APIRouter(prefix="/api/notifications", tags=["notifications"])

# How soon a browser reconnects once the stream ends (its lifetime is up, or the gateway restarts).
RECONNECT_MS = 3000


@router.get("", response_model=NotificationPage)
async def list_notifications(
    principal: CurrentPrincipal, session: DbSession, paging: Pagination, unread_only: bool = False
) -> NotificationPage:
    items, total, unread = await svc.list_page(
        session, principal.user_id, unread_only=unread_only, offset=paging.offset, limit=paging.page_size
    )
    return NotificationPage(
        items=items, total=total, page=paging.page, page_size=paging.page_size, unread=unread
    )


@router.post("/read-all", response_model=ReadAllOut)
async def read_all(principal: CurrentPrincipal, runtime: Runtime) -> ReadAllOut:
    async with runtime.db.transaction() as session:
        marked = await svc.mark_all_read(session, principal.user_id)
    return ReadAllOut(marked_read=marked)


@router.post("/{notification_id}/read", response_model=Notification)
async def read_one(notification_id: uuid.UUID, principal: CurrentPrincipal, runtime: Runtime) -> Notification:
    async with runtime.db.transaction() as session:
        notification = await svc.mark_read(session, principal.user_id, notification_id)
    if notification is None:
        raise NotFound("Notification not found.")
    return notification


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": 'Server-sent events: first `unread` (`{"unread": n}`), then a `notification` '
            "(the stored notification) for each new one; a comment line after each silent heartbeat "
            "interval. The stream ends after a while and the browser reconnects.",
        }
    },
)
async def stream(
    principal: CurrentPrincipal, runtime: Runtime, hub: Hub, settings: Settings
) -> StreamingResponse:
    events = _events(
        runtime,
        hub,
        principal.user_id,
        heartbeat=settings.notification_heartbeat_seconds,
        lifetime=settings.notification_stream_max_seconds,
    )
    # no-transform and X-Accel-Buffering: proxies must pass each event on at once, not buffer them.
    headers = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


async def _events(
    runtime: ServiceRuntime, hub: NotificationHub, user_id: uuid.UUID, *, heartbeat: float, lifetime: float
) -> AsyncIterator[str]:
    """Ends when the client goes (the server cancels it), when its lifetime is up, or when the client
    is too slow to keep up; no database connection is held between events."""
    clock = asyncio.get_running_loop()
    # Listening before counting: a notification committed in between is not missed (it may be both
    # counted and sent; the console refetches the list on `notification` anyway).
    with hub.listen(str(user_id)) as listener:
        async with runtime.db.session() as session:
            unread = await svc.unread_count(session, user_id)
        yield f"retry: {RECONNECT_MS}\n" + _event("unread", json.dumps({"unread": unread}))
        ends = clock.time() + lifetime
        while (left := ends - clock.time()) > 0:
            try:
                async with asyncio.timeout(min(heartbeat, left)):
                    data = await listener.next()
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if data is None:
                return
            yield _event("notification", data)
