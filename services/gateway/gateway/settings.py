from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from servicekit.settings import ServiceSettings

DEFAULT_SERVICE_URLS = {
    "leads": "http://127.0.0.1:8101",
    "catalog": "http://127.0.0.1:8102",
    "scheduler": "http://127.0.0.1:8103",
    "voice-bridge": "http://127.0.0.1:8104",
    "rag": "http://127.0.0.1:8105",
    "prospectus": "http://127.0.0.1:8106",
    "mailer": "http://127.0.0.1:8107",
}


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///./var/data/gateway.db"
    jwt_private_key: SecretStr | None = None
    jwt_private_key_file: Path | None = None
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    # Fernet key (urlsafe base64, 32 bytes) that encrypts secrets in the settings store.
    settings_encryption_key: SecretStr | None = None
    settings_encryption_key_file: Path | None = None
    # Which backing service owns each area; services that are not running answer 503.
    service_urls: dict[str, str] = DEFAULT_SERVICE_URLS
    proxy_timeout_seconds: float = 120.0
    login_rate_per_minute: int = 10
    critical_rate_per_minute: int = 30
    web_dist_dir: Path = Path("./web/dist")
    # The notification stream sends a comment after this much silence, so proxies keep it open.
    notification_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # ...and ends after this long (the browser reconnects by itself), so a stream does not outlive the
    # token it was opened with by much. uvicorn waits for open streams when it shuts down: this bounds it.
    notification_stream_max_seconds: float = Field(default=300.0, gt=0)

    def private_key_pem(self) -> str:
        if self.jwt_private_key is not None:
            return self.jwt_private_key.get_secret_value()
        if self.jwt_private_key_file is not None:
            return self.jwt_private_key_file.read_text()
        raise RuntimeError("JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE must be set to issue tokens")

    def encryption_key(self) -> bytes:
        if self.settings_encryption_key is not None:
            return self.settings_encryption_key.get_secret_value().encode()
        if self.settings_encryption_key_file is not None:
            return self.settings_encryption_key_file.read_text().strip().encode()
        raise RuntimeError("SETTINGS_ENCRYPTION_KEY or SETTINGS_ENCRYPTION_KEY_FILE must be set")
