"""The transport port: hand a composed message to a provider; failures say whether to retry."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    # The Message-ID we generated; it identifies the email at every hop, whatever the provider.
    provider_message_id: str
    # What the provider said on acceptance (e.g. "2.0.0 Ok: queued as 4F2A1"), for the email log.
    provider_response: str = ""


class SendError(Exception):
    """A message was not accepted. `smtp_code` is the provider's reply code when there was one."""

    permanent: bool = False

    def __init__(self, reason: str, *, smtp_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.smtp_code = smtp_code


class TransientSendError(SendError):
    """Worth retrying later: the server was unreachable or answered 4xx (try again later)."""


class PermanentSendError(SendError):
    """Retrying the same message cannot succeed: 5xx replies, invalid recipient, bad configuration."""

    permanent = True


class EmailTransport(Protocol):
    """Sends one composed message (see `mailer.domain.composition`) to the recipients in its headers.

    Raises `TransientSendError` or `PermanentSendError`, never a provider-specific exception.

    A SendGrid adapter (optional, not shipped) implements the same port over the v3 API: POST
    `https://api.sendgrid.com/v3/mail/send` with `Authorization: Bearer <key>`; `personalizations`
    from To, `from` / `reply_to` / `subject` from the headers, `content` from the text and HTML
    parts, `attachments` base64-encoded with type and filename, and `headers` carrying Message-ID,
    List-Unsubscribe and List-Unsubscribe-Post unchanged. 202 Accepted -> `SendResult` with our
    Message-ID (SendGrid's `X-Message-Id` as `provider_response`); 429 and 5xx -> transient; other
    4xx (bad key, invalid address, payload too large) -> permanent. Bounces arrive later through
    SendGrid's event webhook and move the email to BOUNCED.
    """

    async def send(self, message: EmailMessage) -> SendResult: ...
