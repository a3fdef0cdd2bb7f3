"""What the mailer asks other services over NATS request/reply: the prospectus PDF to attach (from
the prospectus service, which keeps the only copy of its files) and the admin settings (from the
gateway) that override the SMTP and sender configuration."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import nats.errors
from parley_contracts import RPC_PROSPECTUS_PDF, ProspectusPdfReply, ProspectusPdfRequest
from pydantic import ValidationError
from servicekit.admin_settings import read_admin_settings
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


async def gateway_settings(bus: Bus, keys: list[str], timeout_seconds: float) -> dict[str, Any]:
    """The admin settings among `keys` that are set; empty when the gateway does not answer."""
    overrides = await read_admin_settings(
        bus, keys, timeout_seconds, fallback="using this service's configuration"
    )
    return overrides or {}
