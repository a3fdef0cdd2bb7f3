"""The local development mailbox: a real SMTP listener that keeps every message as an .eml file.

`make up` points the mailer's SMTP transport at it (security NONE), so the whole sending path runs
for real, and a newcomer can list and open what was sent (`/api/dev/mailbox`). Tests use the same
listener as "a real SMTP server". Never expose it beyond loopback: it accepts mail for anyone.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Self
from uuid import uuid4

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# <UTC receive time>-<random>: sorts by arrival, and is the only shape `open` accepts, so an id
# can never name a path outside the mailbox directory.
_MESSAGE_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{12}$")
_PARSER = BytesParser(policy=policy.default)


class MailboxMessageNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class MailboxSummary:
    id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    date: datetime | None
    has_attachments: bool
    size: int


@dataclass(frozen=True)
class MailboxAttachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class MailboxMessage:
    id: str
    headers: tuple[tuple[str, str], ...]
    text: str | None
    html: str | None
    attachments: tuple[MailboxAttachment, ...]


class DevMailbox:
    """A directory of .eml files, newest last by name. Safe for one writer and many readers:
    files appear whole (written to a temporary name, then renamed)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def store(self, raw: bytes, *, mail_from: str, rcpt_tos: Sequence[str], received_at: datetime) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = f"{received_at.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{uuid4().hex[:12]}"
        # What a delivering MTA would add: the envelope, which the headers alone may not show (Bcc).
        trace = f"Return-Path: <{mail_from}>\r\n" + "".join(f"Delivered-To: {rcpt}\r\n" for rcpt in rcpt_tos)
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(trace.encode("utf-8") + raw)
            os.replace(temporary, self._path(message_id))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return message_id

    def list_messages(self, *, limit: int | None = None) -> list[MailboxSummary]:
        """Newest first."""
        if not self.directory.is_dir():
            return []
        ids = sorted(
            (p.stem for p in self.directory.glob("*.eml") if _MESSAGE_ID.fullmatch(p.stem)), reverse=True
        )
        return [self._summary(message_id) for message_id in ids[:limit]]

    def open_message(self, message_id: str) -> MailboxMessage:
        message = self._parse(message_id)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        return MailboxMessage(
            id=message_id,
            headers=tuple((name, str(value)) for name, value in message.items()),
            text=text.get_content() if isinstance(text, EmailMessage) else None,
            html=html.get_content() if isinstance(html, EmailMessage) else None,
            attachments=tuple(
                MailboxAttachment(
                    filename=part.get_filename(),
                    content_type=part.get_content_type(),
                    size=len(part.get_payload(decode=True) or b""),
                )
                for part in message.iter_attachments()
            ),
        )

    def read_raw(self, message_id: str) -> bytes:
        try:
            return self._path(message_id).read_bytes()
        except FileNotFoundError:
            raise MailboxMessageNotFoundError(message_id) from None

    def _path(self, message_id: str) -> Path:
        if not _MESSAGE_ID.fullmatch(message_id):
            raise MailboxMessageNotFoundError(message_id)
        return self.directory / f"{message_id}.eml"

    def _parse(self, message_id: str) -> EmailMessage:
        message = _PARSER.parsebytes(self.read_raw(message_id))
        assert isinstance(message, EmailMessage)  # guaranteed by policy.default
        return message

    def _summary(self, message_id: str) -> MailboxSummary:
        message = self._parse(message_id)
        date_header = message["Date"]
        return MailboxSummary(
            id=message_id,
            sender=str(message.get("From", "")),
            recipients=tuple(str(address) for address in message.get_all("To", [])),
            subject=str(message.get("Subject", "")),
            date=getattr(date_header, "datetime", None),
            has_attachments=any(True for _ in message.iter_attachments()),
            size=self._path(message_id).stat().st_size,
        )


class MailboxHandler:
    """aiosmtpd handler: accepts every message and stores it in a `DevMailbox`."""

    def __init__(self, mailbox: DevMailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message_id = await asyncio.to_thread(
            self.mailbox.store,
            content,
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            received_at=datetime.now(UTC),
        )
        return f"250 2.0.0 Ok: stored as {message_id}"


class _EphemeralPortController(Controller):
    """aiosmtpd's Controller, plus port 0: it asks the OS for a free port and reports the real one."""

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class DevSmtpServer:
    """An SMTP listener on its own thread and event loop, so it serves callers on any loop.

    `smtp_options` go to `aiosmtpd.smtp.SMTP` (e.g. `tls_context` to offer STARTTLS,
    `authenticator` and `auth_require_tls` for AUTH); `ssl_context` makes it implicit TLS.
    """

    def __init__(
        self,
        handler: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 2525,
        ssl_context: ssl.SSLContext | None = None,
        **smtp_options: Any,
    ) -> None:
        self._controller = _EphemeralPortController(
            handler, hostname=host, port=port, ssl_context=ssl_context, **smtp_options
        )

    @property
    def host(self) -> str:
        return str(self._controller.hostname)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
