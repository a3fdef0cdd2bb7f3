"""What the mailer asks other services over NATS request/reply: the prospectus PDF to attach (from
the prospectus service, which keeps the only copy of its files) and the admin settings (from the
gateway) that override the SMTP and sender configuration."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import nats.errors
from parley_contracts import (
    RPC_GATEWAY_SETTINGS,
    RPC_PROSPECTUS_PDF,
    ProspectusPdfReply,
    ProspectusPdfRequest,
)
from pydantic import BaseModel, ConfigDict, ValidationError
from servicekit.bus import Bus

log = logging.getLogger("mailer.remote")


class ProspectusUnavailableError(Exception):
    """The prospectus service did not answer usefully; the email waits for its next attempt."""


async def fetch_prospectus(
    bus: Bus, lead_id: uuid.UUID, prospectus_id: uuid.UUID, timeout_seconds: float
) -> ProspectusPdfReply:
    request = ProspectusPdfRequest(lead_id=lead_id, prospectus_id=prospectus_id)
    try:
        raw = await bus.request(RPC_PROSPECTUS_PDF, request, timeout=timeout_seconds)
    except (TimeoutError, nats.errors.Error) as exc:
        raise ProspectusUnavailableError(
            f"the prospectus service did not answer ({type(exc).__name__})"
        ) from exc
    try:
        return ProspectusPdfReply.model_validate_json(raw)
    except ValidationError as exc:
        # The responder answers its own failures as {"error": ...}.
        raise ProspectusUnavailableError(
            f"the prospectus service answered with an error: {raw[:300].decode(errors='replace')}"
        ) from exc


class _SettingsRequest(BaseModel):
    keys: list[str]


class _SettingsReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    values: dict[str, Any]


async def gateway_settings(bus: Bus, keys: list[str], timeout_seconds: float) -> dict[str, Any]:
    """The admin settings among `keys` that are set; empty when the gateway does not answer."""
    try:
        raw = await bus.request(RPC_GATEWAY_SETTINGS, _SettingsRequest(keys=keys), timeout=timeout_seconds)
        reply = _SettingsReply.model_validate_json(raw)
    except (TimeoutError, nats.errors.Error, ValidationError) as exc:
        log.warning(
            "no admin settings from the gateway (%s); using this service's configuration", type(exc).__name__
        )
        return {}
    return {key: value for key, value in reply.values.items() if value not in (None, "")}
