"""Per-call media-stream tokens.

The TwiML that connects a call to our media websocket carries a token in `<Parameter name="token">`
(Twilio forbids query strings on the stream URL and delivers custom parameters in the `start`
message). The bridge redeems the token when that `start` message arrives: it must be signed by us,
unexpired and never seen before, and it names the call it was minted for. A leaked TwiML document or a
captured `start` frame therefore cannot attach a second listener to a live call. The bridge should also
check that the `start` message's `callSid` is the one Twilio gave that call.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from parley_contracts import utcnow

from .signed_tokens import SignedTokenCodec, TokenPurpose, TokenRejected, TokenRejection

_NONCE_BYTES = 12


class ReplayStore(Protocol):
    """Remembers single-use token ids until they expire.

    `claim` must be atomic across every process that redeems tokens: with several bridge replicas
    the store is shared (a database row with a unique key, or a NATS KV `create`).
    """

    async def claim(self, token_id: str, expires_at: datetime) -> bool:
        """Record `token_id`; True the first time, False if it was already claimed."""
        ...


class MediaStreamTokens:
    def __init__(
        self,
        signing_secrets: Sequence[bytes],
        replay_store: ReplayStore,
        *,
        ttl: timedelta = timedelta(minutes=10),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        # The TTL has to cover ringing (up to the ring timeout) plus answering-machine detection,
        # since the token is minted when the call is placed and redeemed when the stream starts.
        self._codec = SignedTokenCodec(signing_secrets, TokenPurpose.MEDIA_STREAM)
        self._replay_store = replay_store
        self._ttl = ttl
        self._clock = clock

    def issue(self, call_id: UUID) -> str:
        return self._codec.encode(call_id, self._clock() + self._ttl, secrets.token_bytes(_NONCE_BYTES))

    async def redeem(self, token: str, *, expected_call_id: UUID | None = None) -> UUID:
        """Accept the token once and return the call it was minted for; raise TokenRejected otherwise.

        The media websocket learns the token from the stream's `start` message, before it knows which
        call it carries, so the call id comes out of the token. When the caller already knows the call
        (an inbound call answered on this connection), `expected_call_id` pins it.
        """
        claims = self._codec.decode(token, self._clock())
        if expected_call_id is not None and claims.subject != expected_call_id:
            raise TokenRejected(TokenRejection.WRONG_SUBJECT)
        if not await self._replay_store.claim(f"media:{claims.nonce.hex()}", claims.expires_at):
            raise TokenRejected(TokenRejection.REPLAYED)
        return claims.subject
