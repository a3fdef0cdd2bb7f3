"""The phone line: which Twilio account and OpenAI key phone calls use now, and the clients for them.

The credentials come from this service's environment first, else from the admin settings an admin
entered in the console (read from the gateway, cached for `AI_SETTINGS_CACHE_SECONDS`), like the text
model's key (`servicekit.admin_settings`). Each part comes as a whole from one place:

- Twilio (account SID, auth token, caller id): the environment's when any of `TWILIO_ACCOUNT_SID`,
  `TWILIO_AUTH_TOKEN` or `TWILIO_FROM_NUMBER` is set (with `TWILIO_API_KEY_SID` and
  `TWILIO_WEBHOOK_AUTH_TOKENS`), else the admin's `twilio_account_sid`, `twilio_auth_token`,
  `twilio_from_number`;
- OpenAI Realtime: `OPENAI_API_KEY` with `OPENAI_BASE_URL` and `OPENAI_REALTIME_MODEL` when set, else
  the admin's `openai_api_key`, `openai_base_url` and `openai_realtime_model` (the service's where unset).

Where Twilio reaches the service (`TWILIO_WEBHOOK_BASE_URL`), the secrets that sign media tokens and
callback links (`VOICE_SIGNING_SECRETS`), the Twilio API host and the Realtime websocket URL are
infrastructure, read from the environment only. Without them the phone stays off.

A `PhoneLine` is one configuration's clients (Twilio REST, OpenAI, the webhook verifier). A call keeps
the line it started on to its end: an admin changing the credentials mid-call only changes the line
new calls get. The line before the current one is kept for verifying webhooks (Twilio signs them with
the account's current auth token, which during a change may be either); older ones are closed when
their last call ends. When the gateway cannot be asked, the last admin settings read stay in use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openai import AsyncOpenAI
from pydantic import SecretStr
from servicekit.admin_settings import AdminSettings, CachedAdminSettings
from servicekit.bus import Bus
from servicekit.errors import ServiceUnavailable

from .adapters.twilio_rest import TwilioRestTelephony
from .domain.telephony import E164, Telephony
from .domain.webhooks import PublicUrls, TwilioSignatureVerifier
from .settings import VoiceBridgeSettings

log = logging.getLogger(__name__)

PHONE_LINE_KEYS = (
    "twilio_account_sid",
    "twilio_auth_token",
    "twilio_from_number",
    "openai_api_key",
    "openai_base_url",
    "openai_realtime_model",
)
# The environment variable that stands in for each admin setting.
ENV_NAMES = {
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_from_number": "TWILIO_FROM_NUMBER",
    "openai_api_key": "OPENAI_API_KEY",
}
# What a usable value of an admin setting looks like, for one that is set but unusable.
VALID_FORMS = {"twilio_from_number": "an E.164 number like +15551234567"}

Source = Literal["env", "gateway"]


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: SecretStr  # or an API key's secret with `api_key_sid`
    api_key_sid: str | None
    from_number: str
    # Webhooks are signed with the account's auth token (both, during a rotation).
    webhook_auth_tokens: tuple[SecretStr, ...]
    api_base_url: str
    source: Source


@dataclass(frozen=True)
class RealtimeAccount:
    api_key: SecretStr
    base_url: str | None
    websocket_base_url: str | None
    model: str
    source: Source


@dataclass(frozen=True)
class PhoneLineConfig:
    twilio: TwilioAccount
    openai: RealtimeAccount


@dataclass(frozen=True)
class MissingPhoneSettings:
    """Why there is no phone line: settings only the environment can give, credentials the admin
    settings (or the environment) can, values that are set but unusable."""

    environment: tuple[str, ...] = ()
    admin: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    admin_unreadable: bool = False

    @property
    def names(self) -> list[str]:
        return [*self.environment, *self.admin, *self.invalid]

    def message(self) -> str:
        needs: list[str] = []
        if self.environment:
            needs.append(f"{', '.join(self.environment)} in the voice service's environment")
        if self.admin:
            env = ", ".join(ENV_NAMES[key] for key in self.admin)
            needs.append(f"{', '.join(self.admin)} in the admin settings (or {env} in the environment)")
        needs += [f"{key} to {VALID_FORMS[key]}" for key in self.invalid]
        text = "Phone calls are not available on this deployment (no Twilio line is configured): set " + (
            "; ".join(needs)
        )
        if self.admin_unreadable:
            text += " (the admin settings could not be read from the gateway)"
        return text + ". Use a simulated call instead."


class PhoneLineUnavailable(Exception):
    """No phone line now; the 503 names what is missing."""

    def __init__(self, missing: MissingPhoneSettings) -> None:
        super().__init__(missing.message())
        self.missing = missing
        self.code = "phone_unavailable"

    def as_problem(self) -> ServiceUnavailable:
        return ServiceUnavailable(str(self), code=self.code, missing=self.missing.names)


class PhoneLine:
    """One configuration's clients, shared by the calls placed (or answered) while it was current."""

    def __init__(
        self,
        config: PhoneLineConfig,
        *,
        telephony: Telephony,
        openai: AsyncOpenAI,
        verifier: TwilioSignatureVerifier,
    ) -> None:
        self.config = config
        self.telephony = telephony
        self.openai = openai
        self.verifier = verifier
        self.calls = 0  # live calls on this line
        self.retired = False  # superseded and no longer trusted for new webhooks: closed once idle
        self.closed = False

    @property
    def from_number(self) -> str:
        return self.config.twilio.from_number

    @property
    def realtime_model(self) -> str:
        return self.config.openai.model

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        closing = getattr(self.telephony, "aclose", None)
        try:
            if closing is not None:
                await closing()
            await self.openai.close()
        except Exception as exc:  # best effort: a client that will not close is garbage all the same
            log.warning("phone line clients did not close cleanly: %r", exc)


def build_phone_line(config: PhoneLineConfig, urls: PublicUrls) -> PhoneLine:
    """Twilio over its REST API and OpenAI Realtime, for one configuration."""
    twilio, openai = config.twilio, config.openai
    return PhoneLine(
        config,
        telephony=TwilioRestTelephony(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token.get_secret_value(),
            api_key_sid=twilio.api_key_sid,
            api_base_url=twilio.api_base_url,
        ),
        openai=AsyncOpenAI(
            api_key=openai.api_key.get_secret_value(),
            base_url=openai.base_url,
            websocket_base_url=openai.websocket_base_url,
        ),
        verifier=TwilioSignatureVerifier([t.get_secret_value() for t in twilio.webhook_auth_tokens], urls),
    )


LineBuilder = Callable[[PhoneLineConfig, PublicUrls], PhoneLine]
# Reads the admin settings `PHONE_LINE_KEYS` (None: the gateway could not say).
AdminReader = Callable[[], Awaitable[AdminSettings | None]]


class PhoneLines:
    """The current phone line, resolved from the environment and the admin settings, built once per
    configuration and rebuilt when it changes."""

    def __init__(
        self,
        settings: VoiceBridgeSettings,
        bus: Bus | None,
        *,
        build: LineBuilder = build_phone_line,
        read_admin: AdminReader | None = None,
    ) -> None:
        self._settings = settings
        self._build = build
        self._read_admin = read_admin or (
            CachedAdminSettings(
                bus,
                PHONE_LINE_KEYS,
                timeout=settings.gateway_timeout_seconds,
                cache_seconds=settings.ai_settings_cache_seconds,
                fallback="the phone line keeps the last settings read, or the environment's",
            ).read
        )
        self._last_admin: AdminSettings | None = None
        self._urls = (
            PublicUrls(settings.twilio_webhook_base_url) if settings.twilio_webhook_base_url else None
        )
        self._current: PhoneLine | None = None
        self._previous: PhoneLine | None = None
        self._closing: set[asyncio.Task[None]] = set()

    # -- which configuration ------------------------------------------------------------------

    async def resolve(self) -> PhoneLineConfig | MissingPhoneSettings:
        s = self._settings
        twilio_from_env = bool(s.twilio_account_sid or s.twilio_auth_token or s.twilio_from_number)
        openai_from_env = bool(s.openai_api_key and s.openai_api_key.get_secret_value())
        admin: AdminSettings = {}
        unreadable = False
        if not (twilio_from_env and openai_from_env):
            read = await self._admin_settings()
            unreadable, admin = read is None, read or {}
        gaps = _Gaps(environment=s.phone_infrastructure_missing())
        twilio = self._env_twilio(gaps) if twilio_from_env else self._admin_twilio(admin, gaps)
        realtime = self._env_realtime() if openai_from_env else self._admin_realtime(admin, gaps)
        if twilio is None or realtime is None or gaps.environment:
            return MissingPhoneSettings(
                tuple(gaps.environment),
                tuple(gaps.admin),
                tuple(gaps.invalid),
                unreadable and bool(gaps.admin),
            )
        return PhoneLineConfig(twilio, realtime)

    def _env_twilio(self, gaps: _Gaps) -> TwilioAccount | None:
        s = self._settings
        sid, token, number = s.twilio_account_sid, s.twilio_auth_token, s.twilio_from_number
        for key, value in (
            ("twilio_account_sid", sid),
            ("twilio_auth_token", token),
            ("twilio_from_number", number),
        ):
            if not value:
                gaps.environment.append(ENV_NAMES[key])
        if not (sid and token and number):
            return None
        webhook_tokens = tuple(s.twilio_webhook_auth_tokens) or (token,)
        return TwilioAccount(
            sid, token, s.twilio_api_key_sid, number, webhook_tokens, s.twilio_api_base_url, "env"
        )

    def _admin_twilio(self, admin: AdminSettings, gaps: _Gaps) -> TwilioAccount | None:
        sid, token, number = (
            _text(admin, key) for key in ("twilio_account_sid", "twilio_auth_token", "twilio_from_number")
        )
        for key, value in (
            ("twilio_account_sid", sid),
            ("twilio_auth_token", token),
            ("twilio_from_number", number),
        ):
            if not value:
                gaps.admin.append(key)
        if number and not E164.match(number):
            gaps.invalid.append("twilio_from_number")
            return None
        if not (sid and token and number):
            return None
        secret = SecretStr(token)
        return TwilioAccount(
            sid, secret, None, number, (secret,), self._settings.twilio_api_base_url, "gateway"
        )

    def _env_realtime(self) -> RealtimeAccount:
        s = self._settings
        assert s.openai_api_key is not None
        return RealtimeAccount(
            s.openai_api_key, s.openai_base_url, s.openai_websocket_base_url, s.openai_realtime_model, "env"
        )

    def _admin_realtime(self, admin: AdminSettings, gaps: _Gaps) -> RealtimeAccount | None:
        s = self._settings
        api_key = _text(admin, "openai_api_key")
        if api_key is None:
            gaps.admin.append("openai_api_key")
            return None
        return RealtimeAccount(
            SecretStr(api_key),
            _text(admin, "openai_base_url") or s.openai_base_url,
            s.openai_websocket_base_url,  # infrastructure (a proxy): the environment's only
            _text(admin, "openai_realtime_model") or s.openai_realtime_model,
            "gateway",
        )

    async def _admin_settings(self) -> AdminSettings | None:
        values = await self._read_admin()
        if values is None:
            return self._last_admin  # the gateway could not say: what it said last still holds
        self._last_admin = values
        return values

    # -- the line -------------------------------------------------------------------------------

    async def current(self) -> PhoneLine:
        """The line new calls go out on; PhoneLineUnavailable says what is missing."""
        resolved = await self.resolve()
        if isinstance(resolved, MissingPhoneSettings):
            raise PhoneLineUnavailable(resolved)
        if self._current is not None and self._current.config == resolved:
            return self._current
        assert self._urls is not None  # resolved only with the infrastructure configured
        if self._previous is not None and self._previous.config == resolved:
            line = self._previous  # changed back
            self._previous = self._current
        else:
            line = self._build(resolved, self._urls)
            self._retire(self._previous)
            self._previous = self._current
        if self._current is not None:
            log.info(
                "phone line changed (Twilio from %s, OpenAI from %s): new calls use it, live calls keep theirs",
                resolved.twilio.source,
                resolved.openai.source,
            )
        self._current = line
        return line

    async def current_or_none(self) -> PhoneLine | None:
        try:
            return await self.current()
        except PhoneLineUnavailable:
            return None

    async def missing(self) -> PhoneLineUnavailable:
        """Why there is no phone line (for a deployment without the infrastructure for one)."""
        resolved = await self.resolve()
        if isinstance(resolved, MissingPhoneSettings):
            return PhoneLineUnavailable(resolved)
        raise RuntimeError("the phone line is configured")

    def known(self) -> list[PhoneLine]:
        """The current line and the one before it: webhooks signed for either are Twilio's."""
        return [line for line in (self._current, self._previous) if line is not None]

    # -- the lines' lifetimes -------------------------------------------------------------------

    def acquire(self, line: PhoneLine) -> None:
        """A call starts on `line`: it stays open until the call is released."""
        line.calls += 1

    def release(self, line: PhoneLine) -> None:
        line.calls -= 1
        if line.retired and line.calls <= 0:
            self._close_later(line)

    def _retire(self, line: PhoneLine | None) -> None:
        if line is None or line is self._current:
            return
        line.retired = True
        if line.calls <= 0:
            self._close_later(line)

    def _close_later(self, line: PhoneLine) -> None:
        task = asyncio.ensure_future(line.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Shutdown, after every call has ended."""
        for line in self.known():
            self._close_later(line)
        self._current = self._previous = None
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


@dataclass
class _Gaps:
    environment: list[str] = field(default_factory=list)
    admin: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def _text(values: dict[str, Any], key: str) -> str | None:
    value = values.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def distinct(lines: Sequence[PhoneLine | None]) -> list[PhoneLine]:
    """Each line once, in order."""
    seen: list[PhoneLine] = []
    for line in lines:
        if line is not None and all(line is not other for other in seen):
            seen.append(line)
    return seen
