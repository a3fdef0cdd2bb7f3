"""Admin settings: what an admin entered in the console, read from the gateway over the bus.

The gateway keeps the admin settings (secrets encrypted at rest) and answers `RPC_GATEWAY_SETTINGS`
with their values in clear. A service whose configuration an admin may override asks for the keys it
uses and falls back to its own configuration when the gateway cannot tell:

- `read_admin_settings` asks once: the settings that have a value, or None when the gateway did not
  answer (down, no responder, timeout, no bus) or answered something unreadable. It never raises, and
  logs each failure once, saying what the service does instead.
- `CachedAdminSettings` remembers an answer (or the lack of one) for a while, so a busy path asks the
  gateway at most once per period and a gateway that is down costs one timeout per period.
- `TextModelSource` is the text model rule rag and voice-bridge share: the service's own
  `OPENAI_API_KEY` first (with its model and base URL), else the admin's key, else None (offline).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import nats.errors
from parley_contracts import RPC_GATEWAY_SETTINGS, GatewaySettingsReply, GatewaySettingsRequest
from pydantic import SecretStr, ValidationError

from .bus import Bus

log = logging.getLogger(__name__)

AdminSettings = dict[str, Any]


async def read_admin_settings(
    bus: Bus | None,
    keys: Sequence[str],
    timeout: float,
    *,
    fallback: str = "using this service's own configuration",
    unavailable_level: int = logging.WARNING,
) -> AdminSettings | None:
    """The admin settings among `keys` that have a value (unset or empty ones are left out), or None
    when the gateway cannot say within `timeout` seconds. A failure is logged once: at
    `unavailable_level` when the gateway did not answer, as a warning when its answer was unreadable;
    `fallback` says what the caller does instead."""
    if bus is None:
        return None
    if not bus.connected:
        log.log(unavailable_level, "admin settings unavailable (the bus is not connected): %s", fallback)
        return None
    try:
        raw = await bus.request(
            RPC_GATEWAY_SETTINGS, GatewaySettingsRequest(keys=list(keys)), timeout=timeout
        )
    except (TimeoutError, nats.errors.Error) as error:
        log.log(unavailable_level, "admin settings unavailable (%s): %s", type(error).__name__, fallback)
        return None
    try:
        reply = GatewaySettingsReply.model_validate_json(raw)
    except ValidationError:
        # E.g. {"error": ...} from a responder that failed. Not logged: the answer may hold secrets.
        log.warning("admin settings answer unreadable: %s", fallback)
        return None
    wanted = set(keys)
    return {key: value for key, value in reply.values.items() if key in wanted and value not in (None, "")}


class CachedAdminSettings:
    """`read_admin_settings` for a fixed set of keys, remembered for `cache_seconds` (the lack of an
    answer too, except while the bus is not connected). Concurrent readers of an expired entry share
    one request."""

    def __init__(
        self,
        bus: Bus | None,
        keys: Sequence[str],
        *,
        timeout: float,
        cache_seconds: float,
        fallback: str = "using this service's own configuration",
        unavailable_level: int = logging.INFO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self.keys = tuple(keys)
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._fallback = fallback
        self._unavailable_level = unavailable_level
        self._clock = clock
        self._cached: tuple[float, AdminSettings | None] | None = None
        self._lock = asyncio.Lock()

    async def read(self) -> AdminSettings | None:
        async with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._cache_seconds:
                return self._cached[1]
            values = await read_admin_settings(
                self._bus,
                self.keys,
                self._timeout,
                fallback=self._fallback,
                unavailable_level=self._unavailable_level,
            )
            if self._bus is None or self._bus.connected:
                # A bus not connected yet (start-up hooks run before it starts) is no answer to keep.
                self._cached = (now, values)
            return values

    def forget(self) -> None:
        """The next `read` asks the gateway again."""
        self._cached = None


# -- the text model -----------------------------------------------------------------------------

TEXT_MODEL_KEYS = ("openai_api_key", "openai_base_url", "openai_text_model")


@dataclass(frozen=True, slots=True)
class TextModelConfig:
    api_key: SecretStr
    model: str
    base_url: str | None
    source: Literal["env", "gateway"]


class TextModelSettings(Protocol):
    """The settings a service with a text model has (rag's and voice-bridge's use the same names)."""

    @property
    def openai_api_key(self) -> SecretStr | None: ...
    @property
    def openai_text_model(self) -> str: ...
    @property
    def openai_base_url(self) -> str | None: ...
    @property
    def ai_settings_cache_seconds(self) -> float: ...
    @property
    def gateway_timeout_seconds(self) -> float: ...


class TextModelSource:
    """The text model to use now: the service's own key (env) first, with its model and base URL; else
    the key an admin set, with the admin's model and base URL where set (the service's otherwise),
    cached for `cache_seconds`; else None, which means offline mode."""

    def __init__(
        self,
        bus: Bus | None,
        *,
        api_key: SecretStr | None,
        model: str,
        base_url: str | None,
        cache_seconds: float,
        timeout: float,
        fallback: str = "offline text AI",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._env = (
            TextModelConfig(api_key, model, base_url, "env")
            if api_key is not None and api_key.get_secret_value()
            else None
        )
        self._model = model
        self._base_url = base_url
        self._admin = CachedAdminSettings(
            bus, TEXT_MODEL_KEYS, timeout=timeout, cache_seconds=cache_seconds, fallback=fallback, clock=clock
        )

    @classmethod
    def from_settings(
        cls,
        settings: TextModelSettings,
        bus: Bus | None,
        *,
        fallback: str = "offline text AI",
        clock: Callable[[], float] = time.monotonic,
    ) -> TextModelSource:
        return cls(
            bus,
            api_key=settings.openai_api_key,
            model=settings.openai_text_model,
            base_url=settings.openai_base_url,
            cache_seconds=settings.ai_settings_cache_seconds,
            timeout=settings.gateway_timeout_seconds,
            fallback=fallback,
            clock=clock,
        )

    async def config(self) -> TextModelConfig | None:
        if self._env is not None:
            return self._env
        values = await self._admin.read()
        key = None if values is None else values.get("openai_api_key")
        if values is None or not isinstance(key, str) or not key:
            return None
        model = values.get("openai_text_model")
        base_url = values.get("openai_base_url")
        return TextModelConfig(
            SecretStr(key),
            model if isinstance(model, str) and model else self._model,
            base_url if isinstance(base_url, str) and base_url else self._base_url,
            "gateway",
        )
