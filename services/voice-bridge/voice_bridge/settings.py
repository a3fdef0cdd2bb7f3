"""Voice-bridge settings from the environment."""

from __future__ import annotations

from pydantic import Field
from servicekit.settings import ServiceSettings


class VoiceBridgeSettings(ServiceSettings):
    service_name: str = "voice-bridge"
    port: int = 8104
    database_url: str = "sqlite+aiosqlite:///./var/data/voice-bridge.db"

    # A tool call (rag lookup, an outbox write) that takes longer than this gets a polite spoken fallback.
    tool_timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    # How long `lookupProducts` waits for rag's reply over NATS request/reply.
    lookup_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Longest prospect message accepted in a simulated call.
    max_message_chars: int = Field(default=2000, ge=1, le=20_000)
