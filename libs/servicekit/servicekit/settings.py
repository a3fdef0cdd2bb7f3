"""Settings every service shares, read from the environment (12-factor), with dev/test/prod profiles."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .db import is_sqlite

# Handlers in a transaction at once on a server database by default: each holds a pooled connection
# (the pool has 5 + 10 overflow) and may read through a second one, which leaves room for the API,
# the outbox relay and background workers.
SERVER_DB_HANDLER_CONCURRENCY = 5


class Profile(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and adds its own fields.

    The supervisor (and Kubernetes) give each service process its own environment, so names carry no
    service prefix: `DATABASE_URL` is this service's database.
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    profile: Profile = Field(default=Profile.DEV, alias="PARLEY_PROFILE")
    service_name: str = "service"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite+aiosqlite:///./var/data/service.db"
    database_echo: bool = False
    # Apply Alembic migrations on start (dev/test); in prod run `python -m <service> migrate` as a job.
    auto_migrate: bool = False
    nats_url: str = "nats://127.0.0.1:4222"
    # Prefix of every subject and stream, so environments (and test runs) can share one NATS server.
    bus_namespace: str = "parley"
    bus_max_deliver: int = 5
    bus_backoff_seconds: list[float] = [1.0, 5.0, 15.0, 60.0]
    bus_ack_wait_seconds: float = 30.0
    # How many event handlers of this process may be in their database transaction at once (across
    # all its consumers; a two-step handler's `prepare` is not counted). Unset: 1 on SQLite, whose
    # single writer gains nothing from more (they would only hold pooled connections waiting for its
    # lock), and SERVER_DB_HANDLER_CONCURRENCY on PostgreSQL/MariaDB.
    bus_handler_concurrency: int | None = Field(default=None, ge=1)
    outbox_poll_seconds: float = 0.5
    jwt_public_key: SecretStr | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "parley-gateway"
    jwt_audience: str = "parley"
    log_level: str = "INFO"
    log_json: bool = True
    otel_exporter: str = "none"  # none | console
    data_dir: Path = Path("./var/data")

    @model_validator(mode="after")
    def _prod_needs_real_infrastructure(self) -> ServiceSettings:
        if self.profile is Profile.PROD and self.database_url.startswith("sqlite"):
            raise ValueError("PARLEY_PROFILE=prod requires a server database (DATABASE_URL), not SQLite")
        return self

    def resolved_bus_handler_concurrency(self) -> int:
        if self.bus_handler_concurrency is not None:
            return self.bus_handler_concurrency
        return 1 if is_sqlite(self.database_url) else SERVER_DB_HANDLER_CONCURRENCY

    def public_key_pem(self) -> str:
        if self.jwt_public_key is not None:
            return self.jwt_public_key.get_secret_value()
        if self.jwt_public_key_file is not None:
            return self.jwt_public_key_file.read_text()
        raise RuntimeError("JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE must be set to verify tokens")
