"""Compact HMAC-signed tokens that bind a purpose, a subject id and an expiry.

Used for the per-call media-stream token and for the voicemail callback link. The layout is binary
rather than JSON so a token stays short enough for a TwiML `<Parameter>` and a link read out in a
voicemail:

    version (1) | subject UUID (16) | expiry, unix seconds (4) | nonce (0..n)  ++  HMAC-SHA256 (16)

The MAC key is derived per purpose from the configured secret, so a token minted for one purpose
(a callback link) never verifies as another (a media stream), even though both share one secret.
Several secrets may be configured: the first signs, all verify, which lets operators rotate keys
without breaking tokens already in flight.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

_VERSION = 1
_HEADER = struct.Struct(">B16sI")
_MAC_BYTES = 16  # 128-bit truncated HMAC-SHA256 (RFC 2104 §5 allows truncation to >= half the output)
_MIN_SECRET_BYTES = 32
_MAX_NONCE_BYTES = 32


class TokenPurpose(StrEnum):
    MEDIA_STREAM = "media-stream"
    CALLBACK_LINK = "callback-link"


class TokenRejection(StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    WRONG_SUBJECT = "wrong_subject"
    REPLAYED = "replayed"
    UNKNOWN = "unknown"


class TokenRejected(Exception):
    """The token must not be honoured. `reason` is safe to log; the token itself is not."""

    def __init__(self, reason: TokenRejection) -> None:
        super().__init__(f"token rejected: {reason.value}")
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    subject: UUID
    expires_at: datetime
    nonce: bytes


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


class SignedTokenCodec:
    """Encodes and verifies tokens for one purpose."""

    def __init__(self, secrets: Sequence[bytes], purpose: TokenPurpose) -> None:
        if not secrets:
            raise ValueError("at least one signing secret is required")
        for secret in secrets:
            if len(secret) < _MIN_SECRET_BYTES:
                raise ValueError(f"signing secrets must be at least {_MIN_SECRET_BYTES} bytes")
        label = f"parley/{purpose.value}".encode()
        self._keys = [hmac.new(secret, label, hashlib.sha256).digest() for secret in secrets]

    def encode(self, subject: UUID, expires_at: datetime, nonce: bytes = b"") -> str:
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        if len(nonce) > _MAX_NONCE_BYTES:
            raise ValueError(f"nonce longer than {_MAX_NONCE_BYTES} bytes")
        body = _HEADER.pack(_VERSION, subject.bytes, int(expires_at.timestamp())) + nonce
        return _b64encode(body + self._mac(self._keys[0], body))

    def decode(self, token: str, now: datetime) -> TokenClaims:
        """Verify signature and expiry; raise TokenRejected otherwise."""
        try:
            raw = _b64decode(token)
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise TokenRejected(TokenRejection.MALFORMED) from exc
        if len(raw) < _HEADER.size + _MAC_BYTES or len(raw) > _HEADER.size + _MAX_NONCE_BYTES + _MAC_BYTES:
            raise TokenRejected(TokenRejection.MALFORMED)
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if not any(hmac.compare_digest(mac, self._mac(key, body)) for key in self._keys):
            raise TokenRejected(TokenRejection.BAD_SIGNATURE)
        version, subject, expiry = _HEADER.unpack(body[: _HEADER.size])
        if version != _VERSION:
            raise TokenRejected(TokenRejection.MALFORMED)
        expires_at = datetime.fromtimestamp(expiry, UTC)
        if now >= expires_at:
            raise TokenRejected(TokenRejection.EXPIRED)
        return TokenClaims(subject=UUID(bytes=subject), expires_at=expires_at, nonce=body[_HEADER.size :])

    @staticmethod
    def _mac(key: bytes, body: bytes) -> bytes:
        return hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
