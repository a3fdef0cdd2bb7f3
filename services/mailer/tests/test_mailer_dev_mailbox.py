from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import aiosmtplib
import pytest
from mailer.adapters.dev_mailbox import DevMailbox, DevSmtpServer, MailboxHandler, MailboxMessageNotFoundError
from mailer.testing.smtp import free_tcp_port

RECEIVED = datetime(2025, 11, 22, 9, 30, tzinfo=UTC)


def simple_message(subject: str, *, attachment: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Parley <no-reply@parley.example.com>"
    message["To"] = "Priya Raman <priya@example.com>"
    message["Subject"] = subject
    message["Date"] = "Sat, 22 Nov 2025 09:30:00 +0000"
    message.set_content("Plain body")
    message.add_alternative("<p>HTML body</p>", subtype="html")
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="prospectus-v1.pdf"
        )
    return message.as_bytes()


def store(
    mailbox: DevMailbox, subject: str, *, at: datetime = RECEIVED, attachment: bytes | None = None
) -> str:
    return mailbox.store(
        simple_message(subject, attachment=attachment),
        mail_from="no-reply@parley.example.com",
        rcpt_tos=["priya@example.com"],
        received_at=at,
    )


def test_listing_is_newest_first_with_the_summary_fields(mailbox):
    older = store(mailbox, "First", at=RECEIVED)
    newer = store(mailbox, "Second", at=RECEIVED + timedelta(seconds=1), attachment=b"%PDF-1.7")
    first, second = mailbox.list_messages()
    assert (first.id, second.id) == (newer, older)
    assert first.subject == "Second"
    assert first.sender == "Parley <no-reply@parley.example.com>"
    assert first.recipients == ("Priya Raman <priya@example.com>",)
    assert first.date == datetime(2025, 11, 22, 9, 30, tzinfo=UTC)
    assert first.has_attachments is True
    assert second.has_attachments is False
    assert first.size == (mailbox.directory / f"{newer}.eml").stat().st_size
    assert [m.id for m in mailbox.list_messages(limit=1)] == [newer]


def test_opening_a_message_gives_headers_bodies_and_attachment_names(mailbox):
    message_id = store(mailbox, "Your options", attachment=b"%PDF-1.7 body")
    opened = mailbox.open_message(message_id)
    headers = dict(opened.headers)
    assert headers["Subject"] == "Your options"
    assert headers["Return-Path"] == "<no-reply@parley.example.com>"
    assert headers["Delivered-To"] == "priya@example.com"
    assert opened.text == "Plain body\n"
    assert opened.html == "<p>HTML body</p>\n"
    (attachment,) = opened.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "prospectus-v1.pdf",
        "application/pdf",
        len(b"%PDF-1.7 body"),
    )


@pytest.mark.parametrize(
    "message_id", ["../../etc/passwd", "20251122T093000000000Z-0123456789ab/../x", "", "nope"]
)
def test_ids_that_are_not_mailbox_ids_are_not_found(mailbox, message_id):
    store(mailbox, "Present")
    with pytest.raises(MailboxMessageNotFoundError):
        mailbox.open_message(message_id)
    with pytest.raises(MailboxMessageNotFoundError):
        mailbox.read_raw(message_id)


def test_a_well_formed_but_unknown_id_is_not_found(mailbox):
    with pytest.raises(MailboxMessageNotFoundError):
        mailbox.open_message("20251122T093000000000Z-0123456789ab")


def test_an_empty_or_missing_mailbox_lists_nothing_and_ignores_stray_files(tmp_path):
    assert DevMailbox(tmp_path / "never-created").list_messages() == []
    (tmp_path / ".incoming-abc").write_bytes(b"half a message")
    (tmp_path / "notes.eml").write_bytes(b"Subject: not ours\r\n\r\n")
    assert DevMailbox(tmp_path).list_messages() == []


async def test_the_listener_stores_what_an_smtp_client_sends(mail_server, mailbox):
    await aiosmtplib.send(
        simple_message("Over SMTP"),
        sender="a@parley.example.com",
        recipients=["x@example.com", "y@example.com"],
        hostname=mail_server.host,
        port=mail_server.port,
    )
    (summary,) = mailbox.list_messages()
    headers = mailbox.open_message(summary.id).headers
    assert summary.subject == "Over SMTP"
    assert [value for name, value in headers if name == "Delivered-To"] == ["x@example.com", "y@example.com"]


async def test_listener_binds_the_configured_port(mailbox):
    port = free_tcp_port()
    with DevSmtpServer(MailboxHandler(mailbox), host="127.0.0.1", port=port) as server:
        assert (server.host, server.port) == ("127.0.0.1", port)
        await aiosmtplib.send(
            simple_message("Fixed port"),
            sender="a@parley.example.com",
            recipients=["x@example.com"],
            hostname="127.0.0.1",
            port=port,
        )
    assert [m.subject for m in mailbox.list_messages()] == ["Fixed port"]


def test_port_zero_reports_the_port_it_got(mail_server):
    assert mail_server.port > 0
