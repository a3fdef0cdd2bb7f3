"""What the service layer plugs into a call bridge."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from parley_contracts import NeedsProfile, Recommendation, TranscriptLine
from pydantic import BaseModel, ConfigDict

from .call import CallContext


class TwilioMediaSocket(Protocol):
    """The Twilio Media Streams websocket, already accepted. A Starlette `WebSocket` fits as it is.

    `receive_text` raises when the socket is gone (Starlette raises `WebSocketDisconnect`); the bridge
    treats any failure there as the caller's side hanging up.
    """

    async def receive_text(self) -> str: ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000) -> None: ...


class ToolBackend(Protocol):
    """The services behind the bot's tools (rag, leads, scheduler over NATS in production).

    Every method gets the call's own context; arguments have already been validated. Raising (or taking
    longer than the bridge's tool timeout) is safe: the bot apologises and the call carries on.
    """

    async def lookup_products(self, call: CallContext, needs: NeedsProfile) -> Recommendation: ...

    async def save_email(self, call: CallContext, email: str) -> None: ...

    async def schedule_follow_up(self, call: CallContext, at: datetime, note: str | None) -> None: ...

    async def mark_do_not_call(self, call: CallContext) -> None: ...

    async def confirm_timezone(self, call: CallContext, timezone: str, said: str | None) -> None: ...


EventSource = Literal["twilio", "realtime", "bridge"]
EventDirection = Literal["in", "out", "internal"]


class EventLogEntry(BaseModel):
    """One protocol event, redacted: no audio payloads, e-mail addresses and phone numbers masked."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    source: EventSource
    direction: EventDirection
    type: str
    data: dict[str, Any]


class CallJournal(Protocol):
    """Persistence for what happens during a call, written off the audio path.

    Calls arrive in order from one background task per call, so a slow store delays the journal, never
    the audio. Exceptions are logged and the entry is skipped.
    """

    async def record_transcript_line(self, call: CallContext, line: TranscriptLine) -> None: ...

    async def record_event(self, call: CallContext, entry: EventLogEntry) -> None: ...
