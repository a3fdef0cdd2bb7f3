"""How email leaves: the sender identity and the transport, from this service's settings with the
admin's overrides (gateway settings) on top, or the local dev mailbox when no SMTP server is set."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, ValidationError

from .adapters.dev_mailbox import DevSmtpServer
from .adapters.smtp import SmtpConfig, SmtpSecurity, SmtpTransport
from .domain.composition import SenderIdentity
from .domain.sending import EmailTransport
from .settings import MailerSettings

log = logging.getLogger("mailer.outgoing")

# Admin settings (gateway) that override this service's configuration when set.
OVERRIDABLE = [
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_password",
    "smtp_security",
    "email_from",
    "company_name",
    "brand_primary_color",
]


@dataclass(frozen=True)
class Outgoing:
    sender: SenderIdentity
    # None when no SMTP server is configured (or its settings are invalid); `problem` says why.
    smtp: SmtpConfig | None
    problem: str | None = None

    def transport(self) -> EmailTransport | None:
        return SmtpTransport(self.smtp) if self.smtp else None


def configured_sender(settings: MailerSettings) -> SenderIdentity:
    """The sender from this service's settings alone; built at startup so a bad value fails fast."""
    return _sender(settings, {})


def resolve_outgoing(
    settings: MailerSettings, overrides: dict[str, Any], dev_server: DevSmtpServer | None
) -> Outgoing:
    try:
        sender = _sender(settings, overrides)
    except ValidationError as exc:
        log.warning(
            "admin sender settings are invalid (%s); using the configured sender", exc.errors()[0]["msg"]
        )
        sender = configured_sender(settings)
    try:
        config = _smtp_config(settings, overrides, dev_server)
    except ValidationError as exc:
        return Outgoing(sender, None, f"the SMTP settings are invalid: {exc.errors()[0]['msg']}")
    if config is None:
        return Outgoing(sender, None, "no SMTP server is configured (SMTP_HOST or the admin settings)")
    return Outgoing(sender, config)


def _sender(settings: MailerSettings, overrides: dict[str, Any]) -> SenderIdentity:
    return SenderIdentity(
        company_name=overrides.get("company_name", settings.company_name),
        from_address=overrides.get("email_from", settings.email_from),
        from_name=settings.email_from_name,
        message_id_domain=settings.message_id_domain,
        unsubscribe_url=settings.unsubscribe_url,
        unsubscribe_mailto=settings.unsubscribe_mailto,
        accent_color=overrides.get("brand_primary_color", settings.brand_primary_color),
    )


def _smtp_config(
    settings: MailerSettings, overrides: dict[str, Any], dev_server: DevSmtpServer | None
) -> SmtpConfig | None:
    if overrides.get("smtp_host"):
        # An admin-configured server is taken whole: this service's credentials are never offered to
        # a host it was not configured for. Only the port and security fall back (the gateway
        # answers its own defaults for those anyway).
        password = overrides.get("smtp_password")
        return SmtpConfig(
            host=overrides["smtp_host"],
            port=overrides.get("smtp_port", settings.smtp_port),
            security=overrides.get("smtp_security", settings.smtp_security),
            username=overrides.get("smtp_username"),
            password=SecretStr(password) if password else None,
            timeout_seconds=settings.smtp_timeout_seconds,
            validate_certs=settings.smtp_validate_certs,
        )
    if settings.smtp_host:
        return SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_seconds=settings.smtp_timeout_seconds,
            validate_certs=settings.smtp_validate_certs,
        )
    if dev_server is not None:
        return SmtpConfig(
            host=dev_server.host,
            port=dev_server.port,
            security=SmtpSecurity.NONE,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    return None
