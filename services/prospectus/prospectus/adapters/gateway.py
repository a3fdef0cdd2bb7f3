"""What the prospectus asks the gateway over NATS request/reply: an agent's profile and the
admin branding settings. Both are optional to a render: when the gateway does not answer in time,
the caller falls back to its configured defaults instead of failing the document."""

from __future__ import annotations

import logging
from typing import Any, TypeVar
from uuid import UUID

import nats.errors
from parley_contracts import RPC_GATEWAY_USER, GatewayUserReply, GatewayUserRequest
from pydantic import BaseModel, ValidationError
from servicekit.admin_settings import read_admin_settings
from servicekit.bus import Bus

log = logging.getLogger("prospectus.gateway")

ReplyT = TypeVar("ReplyT", bound=BaseModel)


class GatewayDirectory:
    def __init__(self, bus: Bus, timeout_seconds: float) -> None:
        self._bus = bus
        self._timeout = timeout_seconds

    async def user(self, user_id: UUID) -> GatewayUserReply | None:
        """The user's profile; None when unknown, deactivated, or the gateway did not answer."""
        reply = await self._ask(RPC_GATEWAY_USER, GatewayUserRequest(user_id=user_id), GatewayUserReply)
        if reply is None or not reply.found or reply.active is False:
            return None
        return reply

    async def settings(self, keys: list[str]) -> dict[str, Any]:
        """The admin settings among `keys` that are set; empty when the gateway did not answer."""
        overrides = await read_admin_settings(self._bus, keys, self._timeout, fallback="using defaults")
        return overrides or {}

    async def _ask(self, subject: str, request: BaseModel, reply_type: type[ReplyT]) -> ReplyT | None:
        try:
            raw = await self._bus.request(subject, request, timeout=self._timeout)
            return reply_type.model_validate_json(raw)
        except (TimeoutError, nats.errors.Error) as exc:
            log.warning("gateway did not answer %s (%s); using defaults", subject, type(exc).__name__)
        except ValidationError:
            # The gateway answers errors as {"error": ...}; the defaults serve just as well here.
            log.warning("gateway answered %s with an error: %s", subject, raw[:300].decode(errors="replace"))
        return None
