"""The telephony port: what the call flow needs from a phone carrier, without the carrier's SDK."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class OutboundCall:
    to: str
    from_: str
    twiml: str
    status_callback_url: str
    amd_callback_url: str
    # Seconds to let the phone ring before giving up (Twilio reports no-answer). 30 s stops before most
    # carriers divert to voicemail themselves, which AMD handles less reliably than a direct answer.
    ring_timeout_seconds: int = 30
    time_limit_seconds: int = 30 * 60

    def __post_init__(self) -> None:
        for number in (self.to, self.from_):
            if not E164.match(number):
                raise ValueError("phone numbers must be E.164, like +15551234567")
        if not 5 <= self.ring_timeout_seconds <= 600:
            raise ValueError("ring_timeout_seconds must be between 5 and 600")
        if self.time_limit_seconds <= 0:
            raise ValueError("time_limit_seconds must be positive")


@dataclass(frozen=True)
class PlacedCall:
    call_sid: str
    status: str


class TelephonyError(Exception):
    """The carrier refused or could not be reached. `retryable` says whether the same request may
    succeed later (network trouble, 5xx, rate limit) or never will (bad number, bad credentials)."""

    def __init__(self, message: str, *, retryable: bool, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.status = status


class CallNotInProgress(TelephonyError):
    """The call has already ended, so it can no longer be redirected."""

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message, retryable=False, code=code, status=status)


class Telephony(Protocol):
    async def place_call(self, call: OutboundCall) -> PlacedCall:
        """Start an outbound call; progress arrives later on the status and AMD callbacks."""
        ...

    async def hang_up(self, call_sid: str) -> None:
        """End the call whatever its state. Idempotent: a call that already ended is not an error."""
        ...

    async def fetch_status(self, call_sid: str) -> str:
        """The call's current status as the carrier has it, for reconciling a call whose status webhooks
        went missing (they are not retried): fold it into `CallProgress.apply_status` like a callback."""
        ...

    async def play_voicemail(self, call_sid: str, twiml: str) -> None:
        """Replace what the live call is doing with `twiml` (a `<Say>…<Hangup/>` voicemail drop).

        Raises CallNotInProgress if the call ended meanwhile (the machine hung up first).
        """
        ...
