"""Signed unsubscribe tokens: the link in every email that lets a lead opt out without logging in.

A token is `<payload>.<signature>`, both base64url without padding. The payload is compact JSON
`{"l": lead id, "e": email, "t": issued at (unix seconds)}`; the signature is HMAC-SHA256 over a
purpose label plus the payload, so a token minted for anything else never verifies here. The
token is bound to the lead and the address it was sent to: the unsubscribe handler opts out that
lead and can record which address asked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

_PURPOSE = b"parley.mailer.unsubscribe.v1:"
MIN_SECRET_BYTES = 32
# Clocks of the issuing and verifying replicas may disagree a little.
_CLOCK_SKEW = timedelta(minutes=5)


class UnsubscribeTokenError(ValueError):
    """The token cannot be used; the message says why (shown to the person who clicked)."""


class MalformedTokenError(UnsubscribeTokenError):
    pass


class TamperedTokenError(UnsubscribeTokenError):
    pass


class ExpiredTokenError(UnsubscribeTokenError):
    def __init__(self, issued_at: datetime, expired_at: datetime) -> None:
        super().__init__(f"unsubscribe link expired on {expired_at:%Y-%m-%d}")
        self.issued_at = issued_at
        self.expired_at = expired_at


@dataclass(frozen=True)
class UnsubscribeClaim:
    lead_id: UUID
    email: str
    issued_at: datetime


def _require_aware(moment: datetime) -> None:
    # A naive datetime's timestamp() silently means the host's local time.
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UnsubscribeTokens:
    """Issues and verifies tokens with the current secret; `previous_secrets` still verify, so the
    secret can be rotated without breaking links already sent."""

    def __init__(
        self,
        secret: str | bytes,
        *,
        max_age: timedelta = timedelta(days=365),
        previous_secrets: Sequence[str | bytes] = (),
    ) -> None:
        keys = [k.encode() if isinstance(k, str) else k for k in (secret, *previous_secrets)]
        if any(len(key) < MIN_SECRET_BYTES for key in keys):
            raise ValueError(f"unsubscribe secrets must be at least {MIN_SECRET_BYTES} bytes")
        if max_age <= timedelta(0):
            raise ValueError("max_age must be positive")
        self._keys = keys
        self._max_age = max_age

    def issue(self, lead_id: UUID, email: str, *, issued_at: datetime) -> str:
        _require_aware(issued_at)
        claims = {"l": str(lead_id), "e": email, "t": int(issued_at.timestamp())}
        payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{_b64encode(self._sign(self._keys[0], payload))}"

    def verify(self, token: str, *, now: datetime) -> UnsubscribeClaim:
        _require_aware(now)
        payload, separator, signature_text = token.strip().partition(".")
        if not separator or not payload or not signature_text:
            raise MalformedTokenError("unsubscribe link is incomplete")
        try:
            signature = _b64decode(signature_text)
        except (binascii.Error, ValueError):
            raise MalformedTokenError("unsubscribe link is damaged") from None
        if not any(hmac.compare_digest(signature, self._sign(key, payload)) for key in self._keys):
            raise TamperedTokenError("unsubscribe link is not valid (it was altered or not issued by us)")
        claim = self._decode_claims(payload)
        if claim.issued_at > now + _CLOCK_SKEW:
            raise MalformedTokenError("unsubscribe link has an issue time in the future")
        expires_at = claim.issued_at + self._max_age
        if now >= expires_at:
            raise ExpiredTokenError(claim.issued_at, expires_at)
        return claim

    @staticmethod
    def _sign(key: bytes, payload: str) -> bytes:
        return hmac.new(key, _PURPOSE + payload.encode(), hashlib.sha256).digest()

    @staticmethod
    def _decode_claims(payload: str) -> UnsubscribeClaim:
        # Reached only with a valid signature, so a failure here means our own format changed.
        try:
            claims = json.loads(_b64decode(payload))
            return UnsubscribeClaim(
                lead_id=UUID(claims["l"]),
                email=str(claims["e"]),
                issued_at=datetime.fromtimestamp(int(claims["t"]), tz=UTC),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise MalformedTokenError("unsubscribe link has unreadable contents") from error
