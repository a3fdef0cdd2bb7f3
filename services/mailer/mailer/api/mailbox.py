"""`/api/dev/mailbox`: what the local dev mailbox received. Only while it runs (dev profile without
SMTP_HOST); anywhere else the area does not exist (404). Any signed-in user may look: a dev tool."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from servicekit.app import Runtime
from servicekit.auth import CurrentPrincipal
from servicekit.errors import NotFound
from servicekit.pagination import Page, Pagination

from ..adapters.dev_mailbox import DevMailbox, MailboxMessageNotFoundError
from .schemas import MailboxAttachmentOut, MailboxMessageOut, MailboxSummaryOut

router = APIRouter(prefix="/api/dev/mailbox", tags=["dev mailbox"])


def running_mailbox(runtime: Runtime, _principal: CurrentPrincipal) -> DevMailbox:
    mailbox: DevMailbox | None = runtime.extras.get("dev_mailbox")
    if mailbox is None:
        raise NotFound("The local mailbox only runs in the dev profile when no SMTP server is configured.")
    return mailbox


Mailbox = Annotated[DevMailbox, Depends(running_mailbox)]


@router.get("", response_model=Page[MailboxSummaryOut])
async def list_messages(mailbox: Mailbox, paging: Pagination) -> Page[MailboxSummaryOut]:
    """Received messages, newest first."""
    summaries = await asyncio.to_thread(mailbox.list_messages)
    window = summaries[paging.offset : paging.offset + paging.page_size]
    return Page(
        items=[MailboxSummaryOut.model_validate(s, from_attributes=True) for s in window],
        total=len(summaries),
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/{message_id}", response_model=MailboxMessageOut)
async def open_message(message_id: str, mailbox: Mailbox) -> MailboxMessageOut:
    """Headers, text and HTML bodies, and attachment names of one message."""
    try:
        message = await asyncio.to_thread(mailbox.open_message, message_id)
    except MailboxMessageNotFoundError as exc:
        raise NotFound("No such message in the local mailbox.") from exc
    return MailboxMessageOut(
        id=message.id,
        headers=list(message.headers),
        text=message.text,
        html=message.html,
        attachments=[
            MailboxAttachmentOut.model_validate(a, from_attributes=True) for a in message.attachments
        ],
    )
