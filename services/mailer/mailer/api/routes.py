"""`/api/email` routes: send a prospectus, the email log, and the unsubscribe link's landing point.

Agents only reach their own leads' emails: another agent's lead is a 404. Unsubscribing needs no
login: the signed token in the link is the proof."""

from __future__ import annotations

import uuid
from html import escape
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse
from servicekit.app import DbSession, Runtime
from servicekit.auth import CurrentPrincipal
from servicekit.errors import NotFound, ProblemError
from servicekit.pagination import Page, Pagination

from .. import service_layer as svc
from ..adapters import repository as repo
from ..delivery import DeliveryWorker
from ..domain.delivery import EmailStatus
from ..domain.unsubscribe import ExpiredTokenError, UnsubscribeClaim, UnsubscribeTokenError, UnsubscribeTokens
from ..settings import MailerSettings
from .schemas import EmailOut, SendEmailRequest

router = APIRouter(prefix="/api/email", tags=["email"])

Token = Annotated[
    str, Query(min_length=1, max_length=2000, description="the signed token from the email's link")
]
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    # The token is in this page's URL; nothing it links to should learn it.
    "Referrer-Policy": "no-referrer",
}


class InvalidUnsubscribeLink(ProblemError):
    status, title, type_slug = 400, "Invalid unsubscribe link", "invalid-unsubscribe-link"


class ExpiredUnsubscribeLink(ProblemError):
    status, title, type_slug = 410, "Unsubscribe link expired", "unsubscribe-link-expired"


@router.post("/send", response_model=EmailOut, status_code=status.HTTP_202_ACCEPTED)
async def send_email(data: SendEmailRequest, principal: CurrentPrincipal, runtime: Runtime) -> EmailOut:
    """Queue the lead's prospectus (the latest, or `prospectus_id`) for email; poll the log for its status."""
    worker: DeliveryWorker = runtime.extras["worker"]
    async with runtime.unit_of_work() as uow:
        record = await svc.request_email(uow, principal, data.lead_id, data.prospectus_id, data.to_email)
        worker.kick_after_commit(uow.session)
    return EmailOut.model_validate(record)


@router.get("/logs", response_model=Page[EmailOut])
async def email_logs(
    principal: CurrentPrincipal,
    session: DbSession,
    paging: Pagination,
    lead_id: uuid.UUID | None = None,
    status_: Annotated[EmailStatus | None, Query(alias="status")] = None,
) -> Page[EmailOut]:
    """The email log, newest first; an agent sees the emails of their own leads."""
    if lead_id is not None and await repo.get_lead(session, lead_id, principal) is None:
        raise NotFound("Lead not found.")
    items, total = await repo.list_emails(
        session, principal, lead_id=lead_id, status=status_, offset=paging.offset, limit=paging.page_size
    )
    return Page(
        items=[EmailOut.model_validate(i) for i in items],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_from_link(request: Request, token: Token, runtime: Runtime) -> HTMLResponse:
    """The link in every email: opts the lead out of email at once and confirms it on a page."""
    return await _unsubscribe(request, token, runtime)


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_one_click(request: Request, token: Token, runtime: Runtime) -> HTMLResponse:
    """RFC 8058 one-click: mail clients POST `List-Unsubscribe=One-Click` to the List-Unsubscribe URL."""
    return await _unsubscribe(request, token, runtime)


async def _unsubscribe(request: Request, token: str, runtime: Runtime) -> HTMLResponse:
    settings = runtime.settings
    assert isinstance(settings, MailerSettings)
    tokens: UnsubscribeTokens = runtime.extras["tokens"]
    try:
        claim = tokens.verify(token, now=repo.now())
    except UnsubscribeTokenError as exc:
        problem = ExpiredUnsubscribeLink if isinstance(exc, ExpiredTokenError) else InvalidUnsubscribeLink
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            # A person who clicked a link gets a page, not JSON.
            return HTMLResponse(
                _link_error_page(settings.company_name, str(exc)),
                status_code=problem.status,
                headers=PAGE_HEADERS,
            )
        raise problem(f"The {exc}.") from exc
    async with runtime.unit_of_work() as uow:
        await svc.unsubscribe(uow, claim)
    return HTMLResponse(_unsubscribed_page(settings.company_name, claim), headers=PAGE_HEADERS)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif;max-width:560px;margin:48px auto;padding:0 16px;'
        f'line-height:1.5;color:#1a1a1a"><h1 style="font-size:22px">{escape(title)}</h1>{body}</body></html>'
    )


def _masked(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


def _unsubscribed_page(company: str, claim: UnsubscribeClaim) -> str:
    return _page(
        "You are unsubscribed",
        (
            f"<p>{escape(company)} will not send more emails to {escape(_masked(claim.email))}.</p>"
            "<p>If this was a mistake, tell your agent and they can turn emails back on.</p>"
        ),
    )


def _link_error_page(company: str, reason: str) -> str:
    return _page(
        "This unsubscribe link cannot be used",
        (
            f"<p>The {escape(reason)}.</p>"
            f"<p>To stop emails from {escape(company)}, reply to any of our emails with the word "
            "&ldquo;unsubscribe&rdquo;, or tell your agent.</p>"
        ),
    )
