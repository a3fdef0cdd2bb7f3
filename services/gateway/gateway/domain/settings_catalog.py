"""The admin-configurable settings: which exist, which are secrets, what values they accept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError


@dataclass(frozen=True)
class SettingSpec:
    key: str
    description: str
    secret: bool = False
    type_: Any = str
    choices: tuple[str, ...] | None = None
    default: Any = None


SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec("openai_api_key", "OpenAI API key (text, embeddings, Realtime)", secret=True),
        SettingSpec("openai_base_url", "OpenAI-compatible API base URL", default="https://api.openai.com/v1"),
        SettingSpec(
            "openai_text_model",
            "Text LLM for extraction, recommendation, prospectus",
            choices=("gpt-4.1-mini", "gpt-4.1", "gpt-4o-mini", "gpt-4o", "gpt-5-mini", "gpt-5"),
            default="gpt-4.1-mini",
        ),
        SettingSpec(
            "openai_realtime_model",
            "Realtime voice model",
            choices=("gpt-realtime", "gpt-realtime-mini"),
            default="gpt-realtime",
        ),
        SettingSpec(
            "openai_realtime_voice",
            "Realtime voice",
            choices=("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"),
            default="marin",
        ),
        SettingSpec(
            "openai_embedding_model",
            "Embedding model for the vector index",
            choices=("text-embedding-3-small", "text-embedding-3-large"),
            default="text-embedding-3-small",
        ),
        SettingSpec("twilio_account_sid", "Twilio account SID"),
        SettingSpec("twilio_auth_token", "Twilio auth token", secret=True),
        SettingSpec("twilio_from_number", "Caller id (E.164) for outbound calls"),
        SettingSpec("smtp_host", "SMTP server host"),
        SettingSpec("smtp_port", "SMTP server port", type_=int, default=587),
        SettingSpec("smtp_username", "SMTP username"),
        SettingSpec("smtp_password", "SMTP password", secret=True),
        SettingSpec(
            "smtp_security",
            "SMTP transport security",
            choices=("starttls", "tls", "none"),
            default="starttls",
        ),
        SettingSpec("email_from", "From address of outgoing email"),
        SettingSpec("company_name", "Company name on prospectuses and emails", default="Parley Insurance"),
        SettingSpec("brand_primary_color", "Brand colour (#RRGGBB)", default="#1f4e79"),
        SettingSpec("max_call_attempts", "Attempts before a lead is no longer retried", type_=int, default=5),
    )
}


class InvalidSetting(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def validate_value(key: str, value: Any) -> Any:
    spec = SETTINGS.get(key)
    if spec is None:
        raise InvalidSetting(key, "unknown setting")
    if value is None:
        return None  # clears the setting
    try:
        value = TypeAdapter(spec.type_).validate_python(value, strict=spec.type_ is not str)
    except ValidationError as exc:
        raise InvalidSetting(key, exc.errors()[0]["msg"]) from exc
    if isinstance(value, str):
        value = value.strip()
        if len(value) > 4000:
            raise InvalidSetting(key, "longer than 4000 characters")
        if any(ch in value for ch in "\r\n\x00"):
            raise InvalidSetting(key, "must be a single line")
    if spec.choices and value not in spec.choices:
        raise InvalidSetting(key, f"must be one of {', '.join(spec.choices)}")
    if key == "brand_primary_color" and not (
        len(value) == 7 and value.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in value[1:])
    ):
        raise InvalidSetting(key, "must look like #1f4e79")
    return value


def mask(secret: str) -> str:
    """Enough to recognise which key is set, never enough to use it."""
    return "••••" + secret[-4:] if len(secret) >= 12 else "••••"
