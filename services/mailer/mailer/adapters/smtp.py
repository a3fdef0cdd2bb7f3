"""`EmailTransport` over SMTP with aiosmtplib: STARTTLS, implicit TLS or plain; optional AUTH."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import getaddresses
from enum import StrEnum

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from mailer.domain.headers import mailbox, to_wire_bytes
from mailer.domain.sending import PermanentSendError, SendError, SendResult, TransientSendError


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  # plain connect, then upgrade; refuses to continue unencrypted (port 587)
    TLS = "tls"  # TLS from the first byte (port 465)
    NONE = "none"  # no encryption: only for the local dev mailbox


class SmtpConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    validate_certs: bool = True
    # MAIL FROM, where bounces go; the From header's address when not set.
    envelope_from: str | None = None
    # The name we announce in EHLO; aiosmtplib uses the machine's FQDN when not set.
    local_hostname: str | None = None

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> SmtpConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both SMTP username and password, or neither")
        if self.envelope_from is not None:
            mailbox("", self.envelope_from, "envelope_from")
        return self


class SmtpTransport:
    """Implements `EmailTransport`. One connection per message: prospectus emails are few and a
    fresh connection never trips over a server-side idle timeout."""

    def __init__(self, config: SmtpConfig, *, tls_context: ssl.SSLContext | None = None) -> None:
        self._config = config
        # Custom trust (a private CA); the system store when None.
        self._tls_context = tls_context

    async def send(self, message: EmailMessage) -> SendResult:
        message_id = message["Message-ID"]
        if not message_id:
            raise ValueError("a message needs a Message-ID before it is sent; it is the provider message id")
        recipients = [
            address
            for _, address in getaddresses(
                message.get_all("To", []) + message.get_all("Cc", []) + message.get_all("Bcc", [])
            )
        ]
        sender = self._config.envelope_from or next(
            (a for _, a in getaddresses(message.get_all("From", []))), ""
        )
        if not recipients or not sender:
            raise PermanentSendError("message has no recipient or no sender address")
        config = self._config
        try:
            refused, response = await aiosmtplib.send(
                to_wire_bytes(message),
                sender=sender,
                recipients=recipients,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password.get_secret_value() if config.password else None,
                use_tls=config.security is SmtpSecurity.TLS,
                start_tls=config.security is SmtpSecurity.STARTTLS,
                validate_certs=config.validate_certs,
                tls_context=self._tls_context,
                timeout=config.timeout_seconds,
                local_hostname=config.local_hostname,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise classify_smtp_error(error) from error
        # Some recipients accepted: the message is sent and must not be retried (that would
        # duplicate it for the others); the refusals are kept in the log line.
        refusals = "; ".join(f"{rcpt}: {reply.code} {reply.message}" for rcpt, reply in refused.items())
        return SendResult(
            provider_message_id=str(message_id),
            provider_response=f"{response} (refused {refusals})" if refusals else response,
        )


def classify_smtp_error(error: aiosmtplib.SMTPException | OSError) -> SendError:
    """Map what aiosmtplib raised to transient (retry later) or permanent (give up)."""
    if _caused_by_certificate(error):
        return PermanentSendError(f"SMTP server certificate rejected: {error}")
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refusals = error.recipients
        reason = (
            "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refusals) or "all recipients refused"
        )
        code = refusals[0].code if refusals else None
        cls: type[SendError] = (
            PermanentSendError if any(_is_permanent(r.code) for r in refusals) else TransientSendError
        )
        return cls(f"recipient refused: {reason}", smtp_code=code)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        cls = PermanentSendError if _is_permanent(error.code) else TransientSendError
        return cls(f"SMTP server replied {error.code} {error.message}", smtp_code=error.code)
    if isinstance(
        error, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPTimeoutError | aiosmtplib.SMTPServerDisconnected
    ):
        return TransientSendError(f"SMTP server unreachable: {error}")
    if isinstance(error, aiosmtplib.SMTPException):
        # What remains are capability mismatches (no STARTTLS, no AUTH, no SMTPUTF8): configuration.
        return PermanentSendError(f"SMTP session not possible with this configuration: {error}")
    return TransientSendError(f"network error talking to SMTP server: {error}")


def _is_permanent(code: int) -> bool:
    # 5xx is a permanent negative reply (RFC 5321 §4.2.1); 4xx and anything unexpected may clear.
    return 500 <= code < 600


def _caused_by_certificate(error: BaseException) -> bool:
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return False
