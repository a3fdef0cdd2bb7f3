import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from servicekit.settings import Profile, ServiceSettings

from .adapters.smtp import SmtpSecurity
from .domain.unsubscribe import MIN_SECRET_BYTES


class MailerSettings(ServiceSettings):
    service_name: str = "mailer"
    port: int = 8107
    database_url: str = "sqlite+aiosqlite:///./var/data/mailer.db"

    # SMTP; admins can override host, port, security, username, password and sender in the gateway's
    # settings. With no SMTP host in the dev profile, the local mailbox below receives every email.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    smtp_validate_certs: bool = True

    # Who the email is from, and where its links point (the gateway's public address).
    email_from: str = "no-reply@parley.localhost"
    email_from_name: str | None = None
    company_name: str = Field(default="Parley Insurance", min_length=1, max_length=120)
    brand_primary_color: str = "#1F4E79"
    message_id_domain: str = "parley.localhost"
    public_base_url: str = "http://127.0.0.1:8080"
    unsubscribe_mailto: str | None = None
    # Who signs an email whose prospectus names no agent.
    company_contact_name: str = "Customer care team"
    company_contact_email: str = "care@parley.example.com"

    # Signs unsubscribe links. Required in prod; in dev/test one is generated once under DATA_DIR.
    unsubscribe_secret: SecretStr | None = None
    unsubscribe_secret_file: Path | None = None
    # Old secrets still accepted, so rotating the secret does not break links already sent.
    unsubscribe_previous_secrets: list[SecretStr] = []
    unsubscribe_link_days: int = Field(default=365, ge=1)

    # The local mailbox (dev profile without SMTP_HOST): a real SMTP listener on loopback.
    dev_mailbox_dir: Path | None = None
    dev_smtp_host: str = "127.0.0.1"
    dev_smtp_port: int = Field(default=2525, ge=0, le=65535)

    # The delivery worker: how often it looks for due emails when nothing woke it, how long a claimed
    # email is reserved for the worker sending it (longer than one send can take), and the retry
    # policy for transient failures.
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_lease_seconds: float = Field(default=120.0, gt=0)
    retry_max_attempts: int = Field(default=6, ge=1)
    retry_first_delay_seconds: float = Field(default=30.0, gt=0)
    retry_max_delay_seconds: float = Field(default=1800.0, gt=0)
    # How long to wait for the prospectus PDF and for the gateway's settings.
    prospectus_timeout_seconds: float = Field(default=10.0, gt=0)
    gateway_timeout_seconds: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _prod_signs_with_a_configured_secret(self) -> "MailerSettings":
        if (
            self.profile is Profile.PROD
            and self.unsubscribe_secret is None
            and self.unsubscribe_secret_file is None
        ):
            raise ValueError("PARLEY_PROFILE=prod requires UNSUBSCRIBE_SECRET or UNSUBSCRIBE_SECRET_FILE")
        return self

    @property
    def mailbox_dir(self) -> Path:
        return self.dev_mailbox_dir or self.data_dir / "mailbox"

    @property
    def uses_dev_mailbox(self) -> bool:
        return self.profile is Profile.DEV and not self.smtp_host

    @property
    def unsubscribe_url(self) -> str:
        return self.public_base_url.rstrip("/") + "/api/email/unsubscribe"

    def unsubscribe_secret_value(self) -> str:
        if self.unsubscribe_secret is not None:
            return self.unsubscribe_secret.get_secret_value()
        if self.unsubscribe_secret_file is not None:
            return self.unsubscribe_secret_file.read_text().strip()
        return _local_secret(self.data_dir / "unsubscribe.key")


def _local_secret(path: Path) -> str:
    """A dev/test secret kept beside the data, so links survive restarts of the same environment."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first; read theirs
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(MIN_SECRET_BYTES))
    return path.read_text().strip()
