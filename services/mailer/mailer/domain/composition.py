"""Composing the prospectus email: short personal body (text + HTML), the PDF, opt-out headers."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from parley_contracts import LeadSnapshot, Recommendation, RecommendedProduct
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .body import EmailBody
from .headers import BUILD_POLICY, CompositionError, mailbox, single_line
from .unsubscribe import UnsubscribeTokens

MAX_PRODUCT_LINES = 3
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "dame"})


class MissingRecipientError(CompositionError):
    pass


class SenderIdentity(BaseModel):
    """Who the email is from and where its opt-out links point; one per deployment (settings)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company_name: str = Field(min_length=1, max_length=120)
    from_address: str
    # Display name in From; the company name when not set.
    from_name: str | None = None
    # Right-hand side of the Message-IDs we generate: a domain we own.
    message_id_domain: str
    # The public unsubscribe endpoint, e.g. https://parley.example.com/api/email/unsubscribe.
    unsubscribe_url: str
    # Mailbox that accepts "unsubscribe" emails, offered in List-Unsubscribe next to the URL.
    unsubscribe_mailto: str | None = None
    accent_color: str = "#1F4E79"

    @model_validator(mode="after")
    def _header_safe(self) -> SenderIdentity:
        # Fail at startup, not on the first send.
        mailbox(self.from_name or self.company_name, self.from_address, "from")
        if self.unsubscribe_mailto is not None:
            mailbox("", self.unsubscribe_mailto, "unsubscribe mailto")
        return self

    @field_validator("message_id_domain")
    @classmethod
    def _hostname(cls, value: str) -> str:
        if not _HOSTNAME.fullmatch(value):
            raise ValueError("message_id_domain must be a host name such as parley.example.com")
        return value

    @field_validator("unsubscribe_url")
    @classmethod
    def _https_or_local(cls, value: str) -> str:
        single_line(value, "unsubscribe_url")
        parts = urlsplit(value)
        # RFC 8058 one-click needs HTTPS; plain HTTP is only for the local dev stack.
        if not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname))
        ):
            raise ValueError("unsubscribe_url must be an https:// URL (http:// only on localhost)")
        if parts.fragment or "token" in dict(parse_qsl(parts.query)):
            raise ValueError("unsubscribe_url must not carry a fragment or a token parameter")
        return value

    @field_validator("accent_color")
    @classmethod
    def _hex_colour(cls, value: str) -> str:
        if not _HEX_COLOUR.fullmatch(value):
            raise ValueError("accent_color must be a hex colour like #1F4E79")
        return value


class AgentSignature(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    email: str
    phone: str | None = None
    title: str | None = None


class ProspectusEmail(BaseModel):
    """One prospectus email to one lead."""

    model_config = ConfigDict(frozen=True)

    # The email log id: also the Message-ID's left part, so every retry carries the same Message-ID.
    email_id: UUID
    lead: LeadSnapshot
    # Overrides the lead's address (captured later, or an agent's correction).
    to_email: str | None = None
    recommendation: Recommendation
    agent: AgentSignature
    prospectus_pdf: bytes = Field(min_length=1)
    prospectus_version: int = Field(ge=1)


@dataclass(frozen=True)
class ComposedEmail:
    message: EmailMessage
    message_id: str
    to_address: str
    subject: str
    attachment_filename: str


def compose_prospectus_email(
    email: ProspectusEmail, sender: SenderIdentity, tokens: UnsubscribeTokens, *, now: datetime
) -> ComposedEmail:
    """Build the message; raises `CompositionError` (permanent: the data must change first)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    address = email.to_email or email.lead.email
    if not address:
        raise MissingRecipientError(f"lead {email.lead.id} has no email address")
    to = mailbox(email.lead.name, address, "to")
    from_ = mailbox(sender.from_name or sender.company_name, sender.from_address, "from")
    reply_to = mailbox(email.agent.name, email.agent.email, "reply-to")
    company = single_line(sender.company_name, "company name")
    nothing_fits = email.recommendation.nothing_fits or not email.recommendation.items
    subject = f"Your insurance {'summary' if nothing_fits else 'options'} from {company}"
    unsubscribe_url = _with_token(
        sender.unsubscribe_url, tokens.issue(email.lead.id, to.addr_spec, issued_at=now)
    )
    message_id = f"<{email.email_id}@{sender.message_id_domain}>"
    filename = f"{_slug(company) or 'prospectus'}-prospectus-v{email.prospectus_version}.pdf"

    message = EmailMessage(policy=BUILD_POLICY)
    message["From"] = from_
    message["To"] = to
    message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    unsubscribe_targets = [f"<{unsubscribe_url}>"]
    if sender.unsubscribe_mailto:
        unsubscribe_targets.append(f"<mailto:{sender.unsubscribe_mailto}?subject=unsubscribe>")
    message["List-Unsubscribe"] = ", ".join(unsubscribe_targets)
    # RFC 8058: mail clients may POST "List-Unsubscribe=One-Click" to the https URL above.
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    body = _body(email, company, nothing_fits, unsubscribe_url)
    message.set_content(body.plain_text())
    message.add_alternative(body.html(sender.accent_color), subtype="html")
    message.add_attachment(email.prospectus_pdf, maintype="application", subtype="pdf", filename=filename)
    return ComposedEmail(
        message=message,
        message_id=message_id,
        to_address=to.addr_spec,
        subject=subject,
        attachment_filename=filename,
    )


def first_name(full_name: str) -> str | None:
    """'Dr. Priya Raman' -> 'Priya'; None when there is no usable name."""
    words = full_name.split()
    while words and words[0].rstrip(".").lower() in _HONORIFICS:
        words.pop(0)
    return words[0] if words else None


def product_line(item: RecommendedProduct) -> str:
    """One line per product: its name, insurer and the first benefit the recommender picked."""
    headline = item.key_benefits[0] if item.key_benefits else f"{item.category_name} cover"
    return f"{item.name} ({item.insurer}): {headline}"


def _body(email: ProspectusEmail, company: str, nothing_fits: bool, unsubscribe_url: str) -> EmailBody:
    name = first_name(email.lead.name)
    items = email.recommendation.items
    if nothing_fits:
        opening: tuple[str, ...] = (
            "Thank you for talking with us. As promised, I have attached a summary of our conversation.",
            "We did not find a plan in our current range that fits your needs well enough to suggest it; "
            "the summary explains why and what you can do next.",
        )
        highlights: tuple[str, ...] = ()
    else:
        opening = (
            "Thank you for talking with us. As promised, I have attached your personal summary of the "
            "insurance options that match what you told us:",
        )
        highlights = tuple(product_line(item) for item in items[:MAX_PRODUCT_LINES])
        if len(items) > MAX_PRODUCT_LINES:
            more = len(items) - MAX_PRODUCT_LINES
            highlights += (f"and {more} more option{'s' if more > 1 else ''} in the attached summary",)
    closing = (
        *(
            ()
            if nothing_fits
            else (
                "The summary compares premiums, cover, benefits and exclusions side by side. Premiums are "
                "indicative until the insurer confirms them after underwriting.",
            )
        ),
        "There is no rush and no obligation. If you have any questions, just reply to this email.",
    )
    agent = email.agent
    role = ", ".join(part for part in (agent.title, company) if part)
    return EmailBody(
        greeting=f"Hi {name}," if name else "Hello,",
        opening=opening,
        highlights=highlights,
        closing=closing,
        sign_off="Kind regards,",
        signature=tuple(line for line in (agent.name, role, agent.email, agent.phone) if line),
        footer=f"You are receiving this email because you asked {company} to send you information after your call.",
        unsubscribe_url=unsubscribe_url,
    )


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("token", token)])
    return urlunsplit(parts._replace(query=query))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
