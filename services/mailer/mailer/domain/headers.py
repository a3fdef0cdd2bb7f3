"""Header values that cannot smuggle in headers, and addresses that parse."""

from __future__ import annotations

import copy
import email.policy
import re
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage

# CR/LF would start a new header (Bcc: ...); the other C0 controls and DEL have no place in a
# name, subject or address either, so all of them are refused rather than silently dropped.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

# Messages are built 7-bit clean (quoted-printable/base64 bodies), so no relay needs 8BITMIME.
BUILD_POLICY = email.policy.SMTP.clone(cte_type="7bit")
# On the wire, headers fold at the 998-octet hard limit instead of 78: the standard policy would
# RFC 2047-encode a long unbroken URL, and an encoded List-Unsubscribe is one no client can use.
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)


class CompositionError(ValueError):
    """The email cannot be built from this data; resending the same data will fail again."""


class HeaderInjectionError(CompositionError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} contains a line break or control character")
        self.field = field


class InvalidEmailAddressError(CompositionError):
    def __init__(self, field: str, address: str) -> None:
        super().__init__(f"{field} is not a valid email address: {address!r}")
        self.field = field
        self.address = address


def single_line(value: str, field: str) -> str:
    """The value, trimmed, if it is safe as (part of) a header; otherwise HeaderInjectionError."""
    if _CONTROL_CHARACTERS.search(value):
        raise HeaderInjectionError(field)
    return value.strip()


def mailbox(display_name: str, address: str, field: str) -> Address:
    """A `Name <user@domain>` mailbox, with both parts checked."""
    name = single_line(display_name, f"{field} name")
    spec = single_line(address, f"{field} address")
    try:
        parsed = Address(display_name=name, addr_spec=spec)
    except (ValueError, IndexError, HeaderParseError) as error:
        # The stdlib parser signals bad addresses with several exception types.
        raise InvalidEmailAddressError(field, spec) from error
    if not parsed.username or not parsed.domain or parsed.addr_spec != spec:
        raise InvalidEmailAddressError(field, spec)
    return parsed


def to_wire_bytes(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, long headers unencoded, Bcc removed."""
    # A shallow copy is enough: deleting a header rebinds the copy's header list, not the original's.
    outgoing = copy.copy(message)
    del outgoing["Bcc"]
    del outgoing["Resent-Bcc"]
    return outgoing.as_bytes(policy=WIRE_POLICY)
