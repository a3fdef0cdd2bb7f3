"""SMTP test doubles: a listener handler that refuses, a free-port helper, a recording transport."""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Iterable
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailer.domain.sending import SendError, SendResult


class RecipientRejectingHandler:
    """aiosmtpd handler answering every RCPT TO with `reply`, e.g. "550 5.1.1 User unknown"."""

    def __init__(self, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        self.reply = reply
        self.rejected: list[str] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        self.rejected.append(address)
        return self.reply


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for "the server is down" tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class RecordingTransport:
    """An in-memory `EmailTransport`: raises the scripted errors first, then accepts and records."""

    def __init__(self, failures: Iterable[SendError] = ()) -> None:
        self.sent: list[EmailMessage] = []
        self.attempts = 0
        self._failures = deque(failures)

    async def send(self, message: EmailMessage) -> SendResult:
        self.attempts += 1
        if self._failures:
            raise self._failures.popleft()
        self.sent.append(message)
        return SendResult(provider_message_id=str(message["Message-ID"]), provider_response="250 recorded")
