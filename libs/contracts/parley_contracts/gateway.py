"""What the gateway answers on the internal bus (request/reply, not events)."""

from __future__ import annotations

from typing import Any

from .base import Contract


class GatewaySettingsRequest(Contract):
    """Request of `RPC_GATEWAY_SETTINGS`: the admin settings named in `keys` (every one when None)."""

    keys: list[str] | None = None


class GatewaySettingsReply(Contract):
    """Reply of `RPC_GATEWAY_SETTINGS`: each setting asked for, in clear (secrets too: the bus is
    internal). A setting no admin has set holds its default, or None when it has none. A failure is
    answered as `{"error": ...}` instead, which does not parse as this reply."""

    values: dict[str, Any]
