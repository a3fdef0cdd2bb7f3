"""Which phone line: the environment's credentials before the admin's, each part (Twilio, OpenAI) as a
whole from one place; what is missing; one line per configuration, kept while calls use it."""

from __future__ import annotations

from typing import Any

import pytest
from openai import AsyncOpenAI
from pydantic import SecretStr
from voice_bridge.domain.telephony import OutboundCall, PlacedCall
from voice_bridge.domain.webhooks import PublicUrls, TwilioSignatureVerifier
from voice_bridge.phone_line import (
    ENV_NAMES,
    MissingPhoneSettings,
    PhoneLine,
    PhoneLineConfig,
    PhoneLines,
    PhoneLineUnavailable,
)
from voice_bridge.settings import VoiceBridgeSettings

INFRASTRUCTURE: dict[str, Any] = {
    "twilio_webhook_base_url": "https://voice.example.com",
    "voice_signing_secrets": [SecretStr("phone-line-test-signing-secret-0123")],
}
INFRASTRUCTURE_NAMES = ("TWILIO_WEBHOOK_BASE_URL", "VOICE_SIGNING_SECRETS")
ENV_TWILIO: dict[str, Any] = {
    "twilio_account_sid": "AC" + "e" * 32,
    "twilio_auth_token": SecretStr("env-token"),
    "twilio_from_number": "+15550100000",
}
ADMIN: dict[str, Any] = {
    "twilio_account_sid": "AC" + "a" * 32,
    "twilio_auth_token": "admin-token",
    "twilio_from_number": "+15550100111",
    "openai_api_key": "sk-admin",
    "openai_base_url": "http://127.0.0.1:9/v1",
    "openai_realtime_model": "gpt-realtime-mini",
}


class Telephony:
    def __init__(self) -> None:
        self.closed = False

    async def place_call(self, call: OutboundCall) -> PlacedCall:
        raise AssertionError("not in these tests")

    async def hang_up(self, call_sid: str) -> None: ...

    async def fetch_status(self, call_sid: str) -> str:
        return "completed"

    async def play_voicemail(self, call_sid: str, twiml: str) -> None: ...

    async def aclose(self) -> None:
        self.closed = True


def build(config: PhoneLineConfig, urls: PublicUrls) -> PhoneLine:
    tokens = [token.get_secret_value() for token in config.twilio.webhook_auth_tokens]
    return PhoneLine(
        config,
        telephony=Telephony(),
        openai=AsyncOpenAI(api_key=config.openai.api_key.get_secret_value(), base_url="http://127.0.0.1:9"),
        verifier=TwilioSignatureVerifier(tokens, urls),
    )


class Admin:
    """The admin settings as the gateway gives them (None: it did not answer)."""

    def __init__(self, values: dict[str, Any] | None) -> None:
        self.values = values
        self.reads = 0

    async def read(self) -> dict[str, Any] | None:
        self.reads += 1
        return None if self.values is None else dict(self.values)


def lines(admin: Admin, **env: Any) -> PhoneLines:
    return PhoneLines(VoiceBridgeSettings(**env), None, build=build, read_admin=admin.read)


async def test_the_environments_credentials_win_and_the_gateway_is_not_asked() -> None:
    admin = Admin(ADMIN)
    config = await lines(admin, **INFRASTRUCTURE, **ENV_TWILIO, openai_api_key=SecretStr("sk-env")).resolve()
    assert isinstance(config, PhoneLineConfig)
    assert (config.twilio.source, config.openai.source) == ("env", "env")
    assert config.twilio.account_sid == ENV_TWILIO["twilio_account_sid"]
    assert config.openai.api_key.get_secret_value() == "sk-env" and config.openai.model == "gpt-realtime"
    assert admin.reads == 0


async def test_each_part_comes_whole_from_one_place() -> None:
    # Twilio from the environment, OpenAI from the admin settings (with the admin's model and URL).
    config = await lines(Admin(ADMIN), **INFRASTRUCTURE, **ENV_TWILIO).resolve()
    assert isinstance(config, PhoneLineConfig)
    assert (config.twilio.source, config.openai.source) == ("env", "gateway")
    assert config.twilio.from_number == ENV_TWILIO["twilio_from_number"]
    assert (config.openai.base_url, config.openai.model) == ("http://127.0.0.1:9/v1", "gpt-realtime-mini")
    # The admin's Twilio account is not mixed with part of the environment's.
    missing = await lines(Admin(ADMIN), **INFRASTRUCTURE, twilio_from_number="+15550100000").resolve()
    assert missing == MissingPhoneSettings(environment=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"))
    # The admin's OpenAI key with the service's model where the admin set none.
    partial = dict(ADMIN, openai_realtime_model=None, openai_base_url="")
    config = await lines(Admin(partial), **INFRASTRUCTURE, openai_base_url="http://127.0.0.1:8/v1").resolve()
    assert isinstance(config, PhoneLineConfig)
    assert (config.openai.base_url, config.openai.model) == ("http://127.0.0.1:8/v1", "gpt-realtime")


async def test_what_is_missing() -> None:
    missing = await lines(Admin({})).resolve()
    assert isinstance(missing, MissingPhoneSettings)
    assert missing.names == [*INFRASTRUCTURE_NAMES, *ENV_NAMES]  # the env names' keys: every credential
    assert not missing.admin_unreadable and "Twilio" in missing.message()
    # Complete credentials do not make up for the infrastructure.
    missing = await lines(Admin(ADMIN)).resolve()
    assert isinstance(missing, MissingPhoneSettings) and missing.names == list(INFRASTRUCTURE_NAMES)
    missing = await lines(Admin(None), **INFRASTRUCTURE).resolve()
    assert isinstance(missing, MissingPhoneSettings) and missing.admin_unreadable
    with pytest.raises(PhoneLineUnavailable) as raised:
        await lines(Admin(dict(ADMIN, twilio_from_number="0100")), **INFRASTRUCTURE).current()
    assert raised.value.missing.invalid == ("twilio_from_number",) and "E.164" in str(raised.value)


async def test_the_last_admin_settings_hold_while_the_gateway_is_unavailable() -> None:
    admin = Admin(ADMIN)
    phone_lines = lines(admin, **INFRASTRUCTURE)
    line = await phone_lines.current()
    admin.values = None  # the gateway is down
    assert await phone_lines.current() is line
    admin.values = {}  # an admin cleared the settings: that is an answer
    assert await phone_lines.current_or_none() is None


async def test_one_line_per_configuration_kept_while_calls_use_it() -> None:
    admin = Admin(ADMIN)
    phone_lines = lines(admin, **INFRASTRUCTURE)
    first = await phone_lines.current()
    assert await phone_lines.current() is first  # unchanged: the same clients
    phone_lines.acquire(first)  # a call on it

    admin.values = dict(ADMIN, twilio_auth_token="second-token")
    second = await phone_lines.current()
    assert second is not first and phone_lines.known() == [second, first]

    admin.values = dict(ADMIN, twilio_auth_token="third-token")
    third = await phone_lines.current()
    assert phone_lines.known() == [third, second]
    assert first.retired and not first.closed  # its call is still live
    phone_lines.release(first)
    await phone_lines.aclose()
    assert first.closed and second.closed and third.closed
    assert isinstance(first.telephony, Telephony) and first.telephony.closed


async def test_changing_back_reuses_the_previous_line() -> None:
    admin = Admin(ADMIN)
    phone_lines = lines(admin, **INFRASTRUCTURE)
    first = await phone_lines.current()
    admin.values = dict(ADMIN, openai_api_key="sk-other")
    second = await phone_lines.current()
    admin.values = ADMIN
    assert await phone_lines.current() is first and phone_lines.known() == [first, second]
    await phone_lines.aclose()
