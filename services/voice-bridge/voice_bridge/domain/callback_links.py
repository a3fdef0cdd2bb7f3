"""Signed callback links left in voicemails (spec 001: "callback token, 7-day expiry").

A link carries the lead id and an expiry under an HMAC, so the callback page can trust which lead it is
for, and an edited link (another lead's id, a later expiry) is refused. Links are reusable until they
expire: a prospect may open one twice.

A signed token is ~50 characters, fine in an email or SMS but impossible to take down from a voicemail.
So each link also gets a short code (8 Crockford base32 characters, no I/L/O/U to mishear) that maps
to the signed token in a `ShortLinkStore`. Resolving a short code still verifies the token it maps to,
so the store only has to keep the mapping, not be trusted for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit
from uuid import UUID

from parley_contracts import utcnow

from .signed_tokens import SignedTokenCodec, TokenClaims, TokenPurpose, TokenRejected, TokenRejection

DEFAULT_CALLBACK_LINK_TTL = timedelta(days=7)

SHORT_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SHORT_CODE_LENGTH = 8
# Crockford's decoding rules: letters people confuse with digits read as those digits.
_CODE_SYNONYMS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_MAX_CODE_ATTEMPTS = 5


class ShortLinkStore(Protocol):
    """Maps short codes to signed tokens until they expire; shared by every replica in production."""

    async def put(self, code: str, token: str, expires_at: datetime) -> bool:
        """Store the mapping; False (and no change) if `code` is already taken."""
        ...

    async def get(self, code: str) -> str | None: ...


@dataclass(frozen=True)
class CallbackLink:
    url: str  # signed link for email, SMS and the console
    short_url: str  # what the voicemail reads out
    code: str
    expires_at: datetime


class CallbackLinks:
    def __init__(
        self,
        signing_secrets: Sequence[bytes],
        link_base_url: str,
        short_links: ShortLinkStore,
        *,
        ttl: timedelta = DEFAULT_CALLBACK_LINK_TTL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        parts = urlsplit(link_base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("link_base_url must be an absolute http(s) URL without query or fragment")
        self._codec = SignedTokenCodec(signing_secrets, TokenPurpose.CALLBACK_LINK)
        self._base = link_base_url.rstrip("/")
        self._short_links = short_links
        self._ttl = ttl
        self._clock = clock

    async def issue(self, lead_id: UUID) -> CallbackLink:
        expires_at = self._clock() + self._ttl
        token = self._codec.encode(lead_id, expires_at)
        for _ in range(_MAX_CODE_ATTEMPTS):
            code = "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH))
            if await self._short_links.put(code, token, expires_at):
                return CallbackLink(
                    url=f"{self._base}/{token}",
                    short_url=f"{self._base}/{code}",
                    code=code,
                    expires_at=expires_at,
                )
        raise RuntimeError("could not allocate a free callback short code")

    async def resolve(self, code_or_token: str) -> TokenClaims:
        """Claims behind a link's last path segment, short code or signed token.

        Raises TokenRejected when the token is forged, edited or expired, or the code is unknown.
        """
        if len(code_or_token) == SHORT_CODE_LENGTH:
            code = code_or_token.upper().translate(_CODE_SYNONYMS)
            token = await self._short_links.get(code)
            if token is None:
                raise TokenRejected(TokenRejection.UNKNOWN)
        else:
            token = code_or_token
        return self._codec.decode(token, self._clock())
