"""Which sender and SMTP server an email uses: configuration, admin overrides, the dev mailbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from mailer.adapters.dev_mailbox import DevMailbox, DevSmtpServer, MailboxHandler
from mailer.adapters.smtp import SmtpSecurity, SmtpTransport
from mailer.outgoing import resolve_outgoing
from mailer.settings import MailerSettings
from pydantic import ValidationError


def settings(**overrides) -> MailerSettings:
    return MailerSettings(unsubscribe_secret="s" * 40, **overrides)


def smtp_config(outgoing):
    assert isinstance(outgoing.transport(), SmtpTransport)
    return outgoing.smtp


def test_configured_smtp_and_sender():
    outgoing = resolve_outgoing(
        settings(
            smtp_host="smtp.example.com", smtp_username="u", smtp_password="p", email_from="hello@example.com"
        ),
        {},
        None,
    )
    config = smtp_config(outgoing)
    assert (config.host, config.port, config.security, config.username) == (
        "smtp.example.com",
        587,
        SmtpSecurity.STARTTLS,
        "u",
    )
    assert outgoing.sender.from_address == "hello@example.com"
    assert outgoing.sender.unsubscribe_url == "http://127.0.0.1:8080/api/email/unsubscribe"


def test_admin_settings_override_and_never_get_this_services_credentials():
    outgoing = resolve_outgoing(
        settings(smtp_host="smtp.example.com", smtp_username="env-user", smtp_password="env-secret"),
        {
            "smtp_host": "relay.example.net",
            "smtp_port": 465,
            "smtp_security": "tls",
            "company_name": "Acme",
            "email_from": "acme@example.net",
            "brand_primary_color": "#aa3300",
        },
        None,
    )
    config = smtp_config(outgoing)
    assert (config.host, config.port, config.security) == ("relay.example.net", 465, SmtpSecurity.TLS)
    assert config.username is None and config.password is None
    assert (outgoing.sender.company_name, outgoing.sender.from_address, outgoing.sender.accent_color) == (
        "Acme",
        "acme@example.net",
        "#aa3300",
    )


def test_invalid_admin_values_fall_back_or_say_why_nothing_is_sent():
    outgoing = resolve_outgoing(
        settings(),
        {"smtp_host": "relay.example.net", "smtp_username": "only-user", "email_from": "not an address"},
        None,
    )
    assert outgoing.transport() is None and "SMTP settings are invalid" in (outgoing.problem or "")
    assert outgoing.sender.from_address == "no-reply@parley.localhost"


def test_without_smtp_the_dev_mailbox_or_nothing(tmp_path: Path):
    assert settings().uses_dev_mailbox and not settings(smtp_host="smtp.example.com").uses_dev_mailbox
    assert not settings(PARLEY_PROFILE="test").uses_dev_mailbox
    nothing = resolve_outgoing(settings(PARLEY_PROFILE="test"), {}, None)
    assert nothing.transport() is None and "no SMTP server is configured" in (nothing.problem or "")
    with DevSmtpServer(MailboxHandler(DevMailbox(tmp_path)), port=0) as server:
        config = smtp_config(resolve_outgoing(settings(), {}, server))
    assert (config.host, config.port, config.security) == ("127.0.0.1", server.port, SmtpSecurity.NONE)


def test_prod_needs_a_configured_unsubscribe_secret(tmp_path: Path):
    prod = {"PARLEY_PROFILE": "prod", "database_url": "postgresql+psycopg://db/mailer"}
    with pytest.raises(ValidationError, match="UNSUBSCRIBE_SECRET"):
        MailerSettings(**prod)
    secret_file = tmp_path / "unsubscribe.key"
    secret_file.write_text("from-a-file-" + "x" * 40 + "\n")
    assert (
        MailerSettings(**prod, unsubscribe_secret_file=secret_file)
        .unsubscribe_secret_value()
        .startswith("from-a")
    )


def test_dev_generates_one_secret_and_keeps_it(tmp_path: Path):
    first = MailerSettings(data_dir=tmp_path).unsubscribe_secret_value()
    assert len(first) >= 32 and MailerSettings(data_dir=tmp_path).unsubscribe_secret_value() == first
    assert (tmp_path / "unsubscribe.key").stat().st_mode & 0o777 == 0o600
