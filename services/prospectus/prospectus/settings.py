import os
from pathlib import Path

from pydantic import Field
from servicekit.settings import ServiceSettings


def default_render_concurrency() -> int:
    """Two renders at once where two cores are available to this process, else one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(2, cores or 1)


class ProspectusSettings(ServiceSettings):
    service_name: str = "prospectus"
    port: int = 8106
    database_url: str = "sqlite+aiosqlite:///./var/data/prospectus.db"
    # Rendered files: <files_dir>/<lead_id>/v<version>.pdf|.html. Defaults to <DATA_DIR>/prospectus.
    files_dir: Path | None = None

    # Branding and the contact printed when the lead has no agent (or the gateway does not answer);
    # admins override company_name and brand_primary_color in the gateway's settings.
    company_name: str = Field(default="Parley Insurance", min_length=1, max_length=120)
    brand_primary_color: str = "#1F4E79"
    brand_footer_text: str = Field(default="", max_length=300)
    brand_legal_notices: list[str] = []
    company_contact_name: str = "Customer care team"
    company_contact_email: str = "care@parley.example.com"
    company_contact_phone: str | None = None
    agent_title: str = "Insurance agent"
    # How long a render waits for the gateway's user and settings answers before using the defaults.
    gateway_timeout_seconds: float = Field(default=2.0, gt=0)

    # The render worker: how often it looks for queued versions when nothing woke it, how long a
    # claimed render may take before another replica may take it over, and how often and how far
    # apart a render whose inputs have not arrived yet (lead, catalog products) is tried again.
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    render_lease_seconds: float = Field(default=300.0, gt=0)
    render_max_attempts: int = Field(default=5, ge=1)
    render_retry_seconds: float = Field(default=5.0, gt=0)
    # Versions rendered at once by this process: that many worker loops, and as many child processes
    # (WeasyPrint holds the GIL, so only processes use more cores); 1 renders in a thread instead.
    render_concurrency: int = Field(default_factory=default_render_concurrency, ge=1)

    @property
    def store_dir(self) -> Path:
        return self.files_dir or self.data_dir / "prospectus"
