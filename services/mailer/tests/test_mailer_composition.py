from datetime import UTC, datetime
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
from mailer.domain.composition import (
    AgentSignature,
    MissingRecipientError,
    ProspectusEmail,
    SenderIdentity,
    compose_prospectus_email,
    first_name,
)
from mailer.domain.headers import HeaderInjectionError, InvalidEmailAddressError, to_wire_bytes
from mailer.domain.unsubscribe import UnsubscribeTokens
from parley_contracts import LeadSnapshot, Recommendation, RecommendedProduct
from pydantic import ValidationError

NOW = datetime(2025, 11, 22, 9, 30, tzinfo=UTC)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
TOKENS = UnsubscribeTokens("unsubscribe-secret-for-tests-0123456789")
SENDER = SenderIdentity(
    company_name="Parley Insurance Brokers",
    from_address="no-reply@parley.example.com",
    message_id_domain="parley.example.com",
    unsubscribe_url="https://parley.example.com/api/email/unsubscribe",
    unsubscribe_mailto="unsubscribe@parley.example.com",
)


def product(name: str, benefits: list[str] | None = None) -> RecommendedProduct:
    return RecommendedProduct(
        product_id=uuid4(),
        name=name,
        category_name="Life",
        insurer="Northwind Life",
        score=0.8,
        rationale="fits",
        key_benefits=benefits or [],
    )


def prospectus_email(**overrides) -> ProspectusEmail:
    values = {
        "email_id": uuid4(),
        "lead": LeadSnapshot(id=uuid4(), name="Priya Raman", phone="+15550100123", email="priya@example.com"),
        "recommendation": Recommendation(
            items=[product("Family Term Shield", ["Lump sum paid to your family"]), product("Health Plus")]
        ),
        "agent": AgentSignature(
            name="Sam Okafor", email="sam@parley.example.com", phone="+1 555 0100", title="Advisor"
        ),
        "prospectus_pdf": PDF,
        "prospectus_version": 3,
    }
    return ProspectusEmail(**{**values, **overrides})


def compose(email: ProspectusEmail | None = None, sender: SenderIdentity = SENDER):
    return compose_prospectus_email(email or prospectus_email(), sender, TOKENS, now=NOW)


def test_envelope_headers():
    email = prospectus_email()
    composed = compose(email)
    message = composed.message
    assert message["From"] == "Parley Insurance Brokers <no-reply@parley.example.com>"
    assert message["To"] == "Priya Raman <priya@example.com>"
    assert message["Reply-To"] == "Sam Okafor <sam@parley.example.com>"
    assert message["Subject"] == composed.subject == "Your insurance options from Parley Insurance Brokers"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"] == composed.message_id == f"<{email.email_id}@parley.example.com>"
    assert composed.to_address == "priya@example.com"


def test_the_message_id_is_the_same_on_every_retry():
    email = prospectus_email()
    assert compose(email).message_id == compose(email).message_id


def test_one_click_unsubscribe_headers_carry_a_token_for_this_lead_and_address():
    email = prospectus_email()
    message = compose(email).message
    https_part, mailto_part = (part.strip() for part in str(message["List-Unsubscribe"]).split(","))
    assert mailto_part == "<mailto:unsubscribe@parley.example.com?subject=unsubscribe>"
    url = urlsplit(https_part.strip("<>"))
    assert (url.scheme, url.netloc, url.path) == ("https", "parley.example.com", "/api/email/unsubscribe")
    (token,) = parse_qs(url.query)["token"]
    claim = TOKENS.verify(token, now=NOW)
    assert (claim.lead_id, claim.email) == (email.lead.id, "priya@example.com")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_list_unsubscribe_goes_on_the_wire_unencoded():
    wire = to_wire_bytes(compose().message)
    (line,) = [line for line in wire.split(b"\r\n") if line.startswith(b"List-Unsubscribe:")]
    assert line.startswith(b"List-Unsubscribe: <https://parley.example.com/api/email/unsubscribe?token=")
    assert b"=?utf-8?" not in line
    assert b"\n" not in wire.replace(b"\r\n", b"")


def test_unsubscribe_url_keeps_its_own_query_parameters():
    sender = SENDER.model_copy(update={"unsubscribe_url": "https://parley.example.com/u?tenant=acme"})
    url = urlsplit(str(compose(sender=sender).message["List-Unsubscribe"]).split(",")[0].strip("<> "))
    query = parse_qs(url.query)
    assert query["tenant"] == ["acme"]
    assert len(query["token"]) == 1


def test_without_a_mailto_only_the_https_link_is_offered():
    sender = SENDER.model_copy(update={"unsubscribe_mailto": None})
    header = str(compose(sender=sender).message["List-Unsubscribe"])
    assert header.startswith("<https://") and "mailto:" not in header


def test_text_and_html_alternatives_and_the_pdf_attachment():
    composed = compose()
    parsed = message_from_bytes(to_wire_bytes(composed.message), policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, attachment = parsed.iter_parts()
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "application/pdf"
    assert (
        attachment.get_filename()
        == composed.attachment_filename
        == "parley-insurance-brokers-prospectus-v3.pdf"
    )
    assert attachment.get_payload(decode=True) == PDF


def test_body_greets_by_first_name_and_lists_products_and_signature():
    parsed = message_from_bytes(to_wire_bytes(compose().message), policy=policy.default)
    # Parsed from the wire, lines end in CRLF.
    text = parsed.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert text.startswith("Hi Priya,\n")
    assert "- Family Term Shield (Northwind Life): Lump sum paid to your family" in text
    # Without a benefit from the recommender, the line names the category, not an invented benefit.
    assert "- Health Plus (Northwind Life): Life cover" in text
    assert "Sam Okafor\nAdvisor, Parley Insurance Brokers\nsam@parley.example.com\n+1 555 0100" in text
    assert "Unsubscribe: https://parley.example.com/api/email/unsubscribe?token=" in text
    assert "<p>Hi Priya,</p>" in html
    assert "<li>Family Term Shield (Northwind Life): Lump sum paid to your family</li>" in html
    assert 'href="https://parley.example.com/api/email/unsubscribe?token=' in html


def test_at_most_three_product_lines_then_a_count():
    items = [product(f"Plan {n}", [f"Benefit {n}"]) for n in range(1, 6)]
    email = prospectus_email(recommendation=Recommendation(items=items))
    text = compose(email).message.get_body(preferencelist=("plain",)).get_content()
    assert [line for line in text.splitlines() if line.startswith("- ")] == [
        "- Plan 1 (Northwind Life): Benefit 1",
        "- Plan 2 (Northwind Life): Benefit 2",
        "- Plan 3 (Northwind Life): Benefit 3",
        "- and 2 more options in the attached summary",
    ]


def test_nothing_fits_variant():
    email = prospectus_email(recommendation=Recommendation(nothing_fits=True, nothing_fits_reason="age"))
    composed = compose(email)
    text = composed.message.get_body(preferencelist=("plain",)).get_content()
    assert composed.subject == "Your insurance summary from Parley Insurance Brokers"
    assert "did not find a plan in our current range" in text
    assert "\n- " not in text


def test_untrusted_text_is_escaped_in_html():
    lead = LeadSnapshot(id=uuid4(), name="<b>Eve</b>", phone="+1", email="eve@example.com")
    email = prospectus_email(
        lead=lead, recommendation=Recommendation(items=[product('<img src="http://x/p.png">')])
    )
    html = compose(email).message.get_body(preferencelist=("html",)).get_content()
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert '<img src="http://x/p.png">' not in html and "&lt;img src=&quot;http://x/p.png&quot;&gt;" in html


def test_explicit_recipient_overrides_the_leads_address():
    composed = compose(prospectus_email(to_email="priya.work@example.org"))
    assert composed.to_address == "priya.work@example.org"
    assert composed.message["To"].addresses[0].addr_spec == "priya.work@example.org"


def test_no_address_at_all_is_a_composition_error():
    lead = LeadSnapshot(id=uuid4(), name="Priya", phone="+1")
    with pytest.raises(MissingRecipientError):
        compose(prospectus_email(lead=lead))


@pytest.mark.parametrize(
    "overrides",
    [
        {
            "lead": LeadSnapshot(
                id=uuid4(), name="Priya\r\nBcc: victim@example.net", phone="+1", email="p@example.com"
            )
        },
        {"lead": LeadSnapshot(id=uuid4(), name="Priya\nX-Injected: 1", phone="+1", email="p@example.com")},
        {"to_email": "p@example.com\r\nBcc: victim@example.net"},
        {"agent": AgentSignature(name="Sam\r\nBcc: victim@example.net", email="sam@parley.example.com")},
    ],
)
def test_header_injection_is_rejected(overrides):
    with pytest.raises(HeaderInjectionError):
        compose(prospectus_email(**overrides))


@pytest.mark.parametrize(
    "address", ["priya", "priya@", "@example.com", "pri ya@example.com", "Priya <p@example.com>"]
)
def test_invalid_recipient_addresses_are_rejected(address):
    with pytest.raises(InvalidEmailAddressError):
        compose(prospectus_email(to_email=address))


def test_sender_settings_cannot_inject_headers_either():
    with pytest.raises(ValidationError, match="line break"):
        SENDER.model_validate({**SENDER.model_dump(), "company_name": "Acme\r\nBcc: victim@example.net"})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("unsubscribe_url", "http://parley.example.com/api/email/unsubscribe"),
        ("unsubscribe_url", "https://parley.example.com/u?token=fixed"),
        ("unsubscribe_url", "javascript:alert(1)"),
        ("message_id_domain", "parley example.com"),
        ("from_address", "not-an-address"),
        ("accent_color", "red;background:url(x)"),
    ],
)
def test_sender_identity_is_validated(field, value):
    with pytest.raises(ValidationError):
        SenderIdentity.model_validate({**SENDER.model_dump(), field: value})


def test_plain_http_unsubscribe_is_allowed_on_loopback_for_the_dev_stack():
    for url in ("http://127.0.0.1:8080/api/email/unsubscribe", "http://localhost:8080/api/email/unsubscribe"):
        assert (
            SenderIdentity.model_validate({**SENDER.model_dump(), "unsubscribe_url": url}).unsubscribe_url
            == url
        )


def test_now_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone"):
        compose_prospectus_email(prospectus_email(), SENDER, TOKENS, now=datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Priya Raman", "Priya"),
        ("Dr. Priya Raman", "Priya"),
        ("  mrs   Ann  Lee ", "Ann"),
        ("Dr.", None),
        ("", None),
    ],
)
def test_first_name(name, expected):
    assert first_name(name) == expected


def test_greeting_without_a_usable_name():
    lead = LeadSnapshot(id=uuid4(), name="Mr.", phone="+1", email="x@example.com")
    text = compose(prospectus_email(lead=lead)).message.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Hello,\n")
