"""Voice-bridge settings from the environment."""

from __future__ import annotations

from pathlib import Path

from parley_calltime import CallingRulesSettings
from pydantic import Field, SecretStr, field_validator, model_validator
from servicekit.settings import ServiceSettings

from .domain.usage import TokenPrices


class VoiceBridgeSettings(ServiceSettings, CallingRulesSettings):
    """Legal calling hours (CALLING_HOURS_*, CALLING_DAYS, CALLING_RULES by country) come from
    `CallingRulesSettings`, read the same way as the scheduler's: a call placed from the API is held to
    the rules the scheduler plans with."""

    service_name: str = "voice-bridge"
    port: int = 8104
    database_url: str = "sqlite+aiosqlite:///./var/data/voice-bridge.db"

    # A tool call (rag lookup, an outbox write) that takes longer than this gets a polite spoken fallback.
    tool_timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    # How long `lookupProducts` waits for rag's reply over NATS request/reply.
    lookup_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # Longest prospect message accepted in a simulated call.
    max_message_chars: int = Field(default=2000, ge=1, le=20_000)

    # -- simulated calls' bot: the text model (chat completions with the phone bot's prompt and tools)
    # when `openai_api_key` (below) is set, or else the key an admin set in the gateway's settings (asked
    # over RPC, cached briefly); without either, the offline dialogue policy. Same names as rag's.
    openai_text_model: str = "gpt-4o-mini"
    # Per request; a prospect is waiting for the reply, so fail over to a polite apology soon.
    openai_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    openai_max_retries: int = Field(default=1, ge=0, le=5)
    ai_settings_cache_seconds: float = Field(default=30.0, ge=0)
    gateway_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    # -- phone calls: on when the public URL and signing secrets are set here, and Twilio and OpenAI
    # credentials either here or in the admin settings (see `phone_line`; these win when set) ---------
    twilio_account_sid: str | None = None
    # The auth token, or an API key's secret when `twilio_api_key_sid` is set (Twilio's advice for prod).
    twilio_auth_token: SecretStr | None = None
    twilio_api_key_sid: str | None = None
    # Webhooks are always signed with the account's auth token, also when calls are placed with an API
    # key; during a token rotation both the primary and the secondary token must verify.
    twilio_webhook_auth_tokens: list[SecretStr] = Field(default_factory=list)
    twilio_from_number: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")
    twilio_api_base_url: str = "https://api.twilio.com"
    # Where Twilio reaches this service (webhooks, the media websocket), e.g. https://voice.example.com:
    # route `/twilio/*` and `/callback/*` there. Signatures are checked against this URL, not the request's.
    twilio_webhook_base_url: str | None = None
    # Where the voicemail's callback link points (the console's callback page); defaults to the public URL.
    callback_link_base_url: str | None = None
    # Signs per-call media-stream tokens and voicemail callback links. Several: the first signs, all verify.
    voice_signing_secrets: list[SecretStr] = Field(default_factory=list)
    # Or a file with one secret per line (compose and Kubernetes secret files), read at start-up.
    voice_signing_secret_file: Path | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    # The Realtime websocket's base URL when it is not derived from `openai_base_url` (a proxy, a fake).
    openai_websocket_base_url: str | None = None
    openai_realtime_model: str = "gpt-realtime"
    openai_transcription_model: str = "gpt-4o-mini-transcribe"
    # USD per million tokens of the Realtime model, for each call's estimated cost (prices change, so
    # the operator sets them; unset: usage is stored, cost is not). JSON: {"text_input": 4, ...}.
    realtime_token_prices: TokenPrices | None = None
    # Calls this process bridges at once; more are refused (the scheduler retries them later).
    max_concurrent_calls: int = Field(default=50, ge=1, le=1000)
    ring_timeout_seconds: int = Field(default=30, ge=5, le=600)
    max_call_seconds: int = Field(default=30 * 60, ge=60, le=4 * 3600)
    # After the media stream ends, how long to wait for Twilio's final status before asking its API.
    final_status_wait_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator(
        "twilio_account_sid",
        "twilio_api_key_sid",
        "twilio_from_number",
        "twilio_webhook_base_url",
        "callback_link_base_url",
        "openai_base_url",
        "openai_websocket_base_url",
        "voice_signing_secret_file",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # Compose and Kubernetes pass unset optional variables as empty strings.
        return None if value == "" else value

    @model_validator(mode="after")
    def _secrets_from_file(self) -> VoiceBridgeSettings:
        if self.voice_signing_secret_file is not None and not self.voice_signing_secrets:
            lines = self.voice_signing_secret_file.read_text().splitlines()
            self.voice_signing_secrets = [SecretStr(line.strip()) for line in lines if line.strip()]
        return self

    def phone_infrastructure_missing(self) -> list[str]:
        """What phone calls need that only this environment can give (never admin settings): where
        Twilio reaches the service, and the secrets that sign media tokens and callback links."""
        missing = []
        if not self.twilio_webhook_base_url:
            missing.append("TWILIO_WEBHOOK_BASE_URL")
        if not self.voice_signing_secrets:
            missing.append("VOICE_SIGNING_SECRETS")
        return missing
