import asyncio
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from uuid import uuid4

import aiosmtplib
import pytest
from aiosmtpd.smtp import AuthResult
from mailer.adapters.dev_mailbox import DevSmtpServer, MailboxHandler
from mailer.adapters.smtp import SmtpConfig, SmtpSecurity, SmtpTransport, classify_smtp_error
from mailer.domain.composition import (
    AgentSignature,
    ProspectusEmail,
    SenderIdentity,
    compose_prospectus_email,
)
from mailer.domain.headers import HeaderInjectionError
from mailer.domain.sending import PermanentSendError, TransientSendError
from mailer.domain.unsubscribe import UnsubscribeTokens
from mailer.testing.smtp import RecipientRejectingHandler, free_tcp_port
from parley_contracts import LeadSnapshot, Recommendation, RecommendedProduct

NOW = datetime(2025, 11, 22, 9, 30, tzinfo=UTC)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 200 + b"\n%%EOF\n"
TOKENS = UnsubscribeTokens("unsubscribe-secret-for-tests-0123456789")
SENDER = SenderIdentity(
    company_name="Parley Insurance Brokers",
    from_address="no-reply@parley.example.com",
    message_id_domain="parley.example.com",
    unsubscribe_url="https://parley.example.com/api/email/unsubscribe",
    unsubscribe_mailto="unsubscribe@parley.example.com",
)


def composed(lead_name: str = "Priya Raman", to_email: str = "priya@example.com"):
    email = ProspectusEmail(
        email_id=uuid4(),
        lead=LeadSnapshot(id=uuid4(), name=lead_name, phone="+15550100123", email=to_email),
        recommendation=Recommendation(
            items=[
                RecommendedProduct(
                    product_id=uuid4(),
                    name="Family Term Shield",
                    category_name="Life",
                    insurer="Northwind Life",
                    score=0.9,
                    rationale="fits",
                )
            ]
        ),
        agent=AgentSignature(name="Sam Okafor", email="sam@parley.example.com"),
        prospectus_pdf=PDF,
        prospectus_version=1,
    )
    return compose_prospectus_email(email, SENDER, TOKENS, now=NOW)


def plain(server: DevSmtpServer, **overrides) -> SmtpTransport:
    config = {
        "host": server.host,
        "port": server.port,
        "security": SmtpSecurity.NONE,
        "timeout_seconds": 5,
        **overrides,
    }
    return SmtpTransport(SmtpConfig(**config))


async def test_a_composed_email_arrives_whole(mail_server, mailbox):
    email = composed()
    result = await plain(mail_server).send(email.message)

    assert result.provider_message_id == email.message_id
    assert "stored as" in result.provider_response
    (summary,) = mailbox.list_messages()
    received = message_from_bytes(mailbox.read_raw(summary.id), policy=policy.default)
    assert received["Message-ID"] == email.message_id
    assert received["Subject"] == email.subject
    assert received["List-Unsubscribe"] == email.message["List-Unsubscribe"]
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received["Return-Path"] == "<no-reply@parley.example.com>"
    assert received["Delivered-To"] == "priya@example.com"
    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == email.attachment_filename
    assert attachment.get_payload(decode=True) == PDF


async def test_envelope_sender_can_differ_from_the_from_header(mail_server, mailbox):
    await plain(mail_server, envelope_from="bounces@parley.example.com").send(composed().message)
    received = message_from_bytes(mailbox.read_raw(mailbox.list_messages()[0].id), policy=policy.default)
    assert received["Return-Path"] == "<bounces@parley.example.com>"
    assert received["From"] == "Parley Insurance Brokers <no-reply@parley.example.com>"


async def test_server_down_is_transient_then_the_same_message_goes_once_it_is_up(mailbox):
    port = free_tcp_port()
    transport = SmtpTransport(
        SmtpConfig(host="127.0.0.1", port=port, security=SmtpSecurity.NONE, timeout_seconds=5)
    )
    email = composed()
    with pytest.raises(TransientSendError) as down:
        await transport.send(email.message)
    assert down.value.permanent is False
    assert mailbox.list_messages() == []

    with DevSmtpServer(MailboxHandler(mailbox), port=port):
        result = await transport.send(email.message)
    assert result.provider_message_id == email.message_id
    assert [m.subject for m in mailbox.list_messages()] == [email.subject]


async def test_a_550_reply_is_permanent():
    handler = RecipientRejectingHandler("550 5.1.1 <priya@example.com>: Recipient address rejected")
    with DevSmtpServer(handler, port=0) as server, pytest.raises(PermanentSendError) as refused:
        await plain(server).send(composed().message)
    assert refused.value.smtp_code == 550
    assert "Recipient address rejected" in refused.value.reason
    assert handler.rejected == ["priya@example.com"]


@pytest.mark.parametrize("reply", ["451 4.7.1 Greylisted, try again later", "452 4.2.2 Mailbox full"])
async def test_a_4xx_reply_is_transient(reply):
    with (
        DevSmtpServer(RecipientRejectingHandler(reply), port=0) as server,
        pytest.raises(TransientSendError) as deferred,
    ):
        await plain(server).send(composed().message)
    assert deferred.value.smtp_code == int(reply[:3])


async def test_a_server_that_never_greets_times_out_as_transient():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # hold the connection open, say nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        transport = SmtpTransport(
            SmtpConfig(host="127.0.0.1", port=port, security=SmtpSecurity.NONE, timeout_seconds=0.5)
        )
        with pytest.raises(TransientSendError):
            await transport.send(composed().message)
    finally:
        server.close()


async def test_header_injection_never_reaches_the_server(mail_server, mailbox):
    with pytest.raises(HeaderInjectionError):
        composed(lead_name="Priya\r\nBcc: victim@example.net")
    assert mailbox.list_messages() == []


async def test_starttls_upgrades_before_sending(tls, mailbox):
    with DevSmtpServer(
        MailboxHandler(mailbox), port=0, tls_context=tls.server, require_starttls=True
    ) as server:
        transport = SmtpTransport(
            SmtpConfig(host=server.host, port=server.port, security=SmtpSecurity.STARTTLS, timeout_seconds=5),
            tls_context=tls.client,
        )
        await transport.send(composed().message)
    assert len(mailbox.list_messages()) == 1


async def test_starttls_required_but_not_offered_is_permanent_and_sends_nothing(mail_server, mailbox):
    transport = SmtpTransport(
        SmtpConfig(
            host=mail_server.host, port=mail_server.port, security=SmtpSecurity.STARTTLS, timeout_seconds=5
        )
    )
    with pytest.raises(PermanentSendError, match="STARTTLS"):
        await transport.send(composed().message)
    assert mailbox.list_messages() == []


async def test_implicit_tls(tls, mailbox):
    with DevSmtpServer(MailboxHandler(mailbox), port=0, ssl_context=tls.server) as server:
        config = SmtpConfig(host=server.host, port=server.port, security=SmtpSecurity.TLS, timeout_seconds=5)
        await SmtpTransport(config, tls_context=tls.client).send(composed().message)
        # The system trust store does not know the test certificate: a configuration error.
        with pytest.raises(PermanentSendError, match="certificate"):
            await SmtpTransport(config).send(composed().message)
    assert len(mailbox.list_messages()) == 1


class Credentials:
    def __init__(self, username: str, password: str) -> None:
        self.expected = (username.encode(), password.encode())

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        supplied = (auth_data.login, auth_data.password)
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=supplied == self.expected, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_auth_with_good_and_bad_credentials(mailbox):
    with DevSmtpServer(
        MailboxHandler(mailbox),
        port=0,
        authenticator=Credentials("parley", "s3cret"),
        auth_required=True,
        auth_require_tls=False,
    ) as server:
        await plain(server, username="parley", password="s3cret").send(composed().message)
        with pytest.raises(PermanentSendError) as rejected:
            await plain(server, username="parley", password="wrong").send(composed().message)
    assert rejected.value.smtp_code == 535
    assert len(mailbox.list_messages()) == 1


def test_credentials_come_in_pairs():
    with pytest.raises(ValueError, match="both"):
        SmtpConfig(host="smtp.example.com", username="parley")


def test_envelope_sender_must_be_a_plain_address():
    with pytest.raises(ValueError, match="line break"):
        SmtpConfig(host="smtp.example.com", envelope_from="bounces@parley.example.com\r\nRCPT TO:<x@y>")


async def test_a_message_without_message_id_is_a_programming_error(mail_server):
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["To"] = "b@example.com"
    with pytest.raises(ValueError, match="Message-ID"):
        await plain(mail_server).send(message)


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (aiosmtplib.SMTPConnectError("refused"), TransientSendError, None),
        (aiosmtplib.SMTPConnectTimeoutError("timeout"), TransientSendError, None),
        (aiosmtplib.SMTPServerDisconnected("gone"), TransientSendError, None),
        (aiosmtplib.SMTPConnectResponseError(421, "too busy"), TransientSendError, 421),
        (aiosmtplib.SMTPConnectResponseError(554, "no service"), PermanentSendError, 554),
        (aiosmtplib.SMTPSenderRefused(553, "sender not allowed", "a@b"), PermanentSendError, 553),
        (aiosmtplib.SMTPDataError(450, "try later"), TransientSendError, 450),
        (aiosmtplib.SMTPDataError(552, "too big"), PermanentSendError, 552),
        (
            aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "later", "a@b")]),
            TransientSendError,
            450,
        ),
        (
            aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b")]),
            PermanentSendError,
            550,
        ),
        (aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported"), PermanentSendError, None),
        (ConnectionResetError("reset by peer"), TransientSendError, None),
    ],
)
def test_error_classification(error, expected, code):
    classified = classify_smtp_error(error)
    assert type(classified) is expected
    assert classified.smtp_code == code
