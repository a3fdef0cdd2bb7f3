"""What the gateway answers on the internal bus (request/reply, not events)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from .base import Contract


class GatewaySettingsRequest(Contract):
    """Request of `RPC_GATEWAY_SETTINGS`: the admin settings named in `keys` (every one when None)."""

    keys: list[str] | None = None


class GatewaySettingsReply(Contract):
    """Reply of `RPC_GATEWAY_SETTINGS`: each setting asked for, in clear (secrets too: the bus is
    internal). A setting no admin has set holds its default, or None when it has none. A failure is
    answered as `{"error": ...}` instead, which does not parse as this reply."""

    values: dict[str, Any]


class GatewayUserRequest(Contract):
    """Request of `RPC_GATEWAY_USER`: one user's public profile."""

    user_id: UUID


class GatewayUserReply(Contract):
    """Reply of `RPC_GATEWAY_USER`; `found` is False (and nothing else set) for an unknown user."""

    found: bool
    id: UUID | None = None
    name: str | None = None
    email: str | None = None
    role: str | None = None
    active: bool | None = None
