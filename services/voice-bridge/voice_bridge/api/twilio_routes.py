"""What Twilio calls: status and answering-machine callbacks, inbound calls, the media websocket; and
the callback page a voicemail's link opens.

Every webhook must carry a valid `X-Twilio-Signature` for the public URL it was sent to, made with the
auth token of the call's Twilio account (or of the current line); anything else, and callbacks about
calls that are not ours, get 403. Without the phone's infrastructure (public URL, signing secrets) these
routes do not exist (404). They are not part of the public API, so they stay out of its schema.
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request, Response, WebSocket, status
from fastapi.responses import HTMLResponse
from parley_contracts import FollowupRequested, utcnow
from servicekit.app import Runtime
from servicekit.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge
from servicekit.runtime import ServiceRuntime

from ..adapters import repository as repo
from ..context import voice_calls_of
from ..domain.call_state import UnknownCallStatus
from ..domain.signed_tokens import TokenRejected
from ..domain.tools import FOLLOW_UP_EARLIEST, FOLLOW_UP_LATEST
from ..domain.webhooks import (
    AMD_CALLBACK_PATH,
    CALL_ID_PARAM,
    INBOUND_VOICE_PATH,
    MEDIA_STREAM_PATH,
    STATUS_CALLBACK_PATH,
)
from ..phone_calls import CALLBACK_LINK_PATH, CallRefused, PhoneCalls

router = APIRouter(include_in_schema=False)

_MAX_WEBHOOK_BYTES = 64 * 1024


def _phone(runtime: ServiceRuntime) -> PhoneCalls:
    phone = voice_calls_of(runtime).phone
    if phone is None:
        raise NotFound("no phone line is configured on this deployment")
    return phone


async def _signed_form(
    request: Request, phone: PhoneCalls, call_id: uuid.UUID | None = None
) -> dict[str, str]:
    length = request.headers.get("content-length") or "0"
    if not length.isdigit():
        raise BadRequest("invalid Content-Length")
    if int(length) > _MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(f"a Twilio webhook is at most {_MAX_WEBHOOK_BYTES} bytes")
    form = await request.form()
    items = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    signature = request.headers.get("X-Twilio-Signature")
    if not await phone.verified(request.url.path, request.url.query, items, signature, call_id):
        raise Forbidden("the request is not signed by Twilio")
    return dict(items)


def _call_id(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.query_params.get(CALL_ID_PARAM, ""))
    except ValueError:
        return None


async def _call_callback(request: Request, runtime: ServiceRuntime, kind: str) -> Response:
    """A status or AMD callback about one of our calls (its id is in the signed URL's query)."""
    phone = _phone(runtime)
    call_id = _call_id(request)
    form = await _signed_form(request, phone, call_id)
    if call_id is None:
        raise Forbidden("not a call of ours")
    apply = phone.on_status if kind == "status" else phone.on_amd
    try:
        known = await apply(call_id, form)
    except UnknownCallStatus as error:
        raise BadRequest(str(error)) from error
    if not known:
        raise Forbidden("not a call of ours")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(STATUS_CALLBACK_PATH, status_code=status.HTTP_204_NO_CONTENT)
async def status_callback(request: Request, runtime: Runtime) -> Response:
    return await _call_callback(request, runtime, "status")


@router.post(AMD_CALLBACK_PATH, status_code=status.HTTP_204_NO_CONTENT)
async def amd_callback(request: Request, runtime: Runtime) -> Response:
    return await _call_callback(request, runtime, "amd")


@router.post(INBOUND_VOICE_PATH)
async def inbound_call(request: Request, runtime: Runtime) -> Response:
    phone = _phone(runtime)
    form = await _signed_form(request, phone)
    try:
        twiml = await phone.on_inbound(form)
    except CallRefused as refused:
        raise refused.as_problem() from refused
    return Response(twiml, media_type="text/xml")


@router.websocket(MEDIA_STREAM_PATH)
async def media_stream(websocket: WebSocket) -> None:
    runtime: ServiceRuntime = websocket.app.state.runtime
    phone = voice_calls_of(runtime).phone
    if phone is None:
        await websocket.close(1008)
        return
    await phone.serve_media(websocket)


# -- the voicemail's callback link -----------------------------------------------------------------

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto; line-height: 1.5">
<h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status_code)


async def _link_lead(runtime: ServiceRuntime, phone: PhoneCalls, code: str) -> repo.LeadRecord | None:
    try:
        claims = await phone.callback_links.resolve(code)
    except TokenRejected:
        return None
    async with runtime.db.session() as session:
        lead = await repo.get_lead(session, claims.subject)
    return None if lead is None or lead.deleted else lead


_EXPIRED = "<p>This link has expired or is not valid. Please call us back at the number in our message.</p>"


@router.get(CALLBACK_LINK_PATH + "/{code}", response_class=HTMLResponse)
async def callback_page(code: str, runtime: Runtime) -> HTMLResponse:
    phone = _phone(runtime)
    lead = await _link_lead(runtime, phone, code)
    if lead is None:
        return _page("Link expired", _EXPIRED, status.HTTP_404_NOT_FOUND)
    form = (
        f"<p>Hello {html.escape(lead.snapshot.name.split()[0] if lead.snapshot.name else '')}, pick a time "
        f"for {html.escape((await phone.persona_for(None)).persona.company)} to call you back (your local time, "
        f"{html.escape(lead.snapshot.timezone)}).</p>"
        f'<form method="post"><input type="datetime-local" name="at" required> '
        f'<button type="submit">Call me then</button></form>'
    )
    return _page("Choose a callback time", form)


@router.post(CALLBACK_LINK_PATH + "/{code}", response_class=HTMLResponse)
async def book_callback(code: str, request: Request, runtime: Runtime) -> HTMLResponse:
    phone = _phone(runtime)
    lead = await _link_lead(runtime, phone, code)
    if lead is None:
        return _page("Link expired", _EXPIRED, status.HTTP_404_NOT_FOUND)
    raw = str((await request.form()).get("at") or "")
    try:
        zone = ZoneInfo(lead.snapshot.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        at = datetime.fromisoformat(raw).replace(tzinfo=zone)
    except ValueError:
        return _page("Choose a callback time", "<p>Please pick a date and time.</p>", 400)
    now = utcnow()
    if not now + FOLLOW_UP_EARLIEST <= at <= now + FOLLOW_UP_LATEST:
        return _page(
            "Choose a callback time", "<p>Please pick a time from a few minutes to six months ahead.</p>", 400
        )
    async with runtime.unit_of_work() as uow:
        await uow.emit(
            FollowupRequested(
                lead_id=lead.id,
                assigned_agent_id=lead.assigned_agent_id,
                at=at,
                reason="The prospect booked a callback from the voicemail link.",
            )
        )
    when = html.escape(at.strftime("%A %d %B at %H:%M"))
    return _page("Thank you", f"<p>We will call you on {when}. Talk soon!</p>")
