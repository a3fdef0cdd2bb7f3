"""The ports the prospectus service depends on; adapters live in `prospectus.adapters`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from .models import ProspectusInput, RenderedProspectus


class ProspectusNotFoundError(LookupError):
    def __init__(self, lead_id: UUID, version: int | None = None) -> None:
        what = f"version {version} of the prospectus" if version is not None else "a prospectus"
        super().__init__(f"no {what} for lead {lead_id}")
        self.lead_id = lead_id
        self.version = version


class ProspectusRenderer(Protocol):
    """Input -> HTML and PDF. CPU-bound and synchronous: call it off the event loop."""

    def render(self, data: ProspectusInput) -> RenderedProspectus: ...


class RendererUnavailableError(RuntimeError):
    """The render could not run (e.g. its process died); worth trying again."""


class RenderExecutor(Protocol):
    """Runs a `ProspectusRenderer` off the event loop, as many renders at once as it was made for."""

    async def render(self, data: ProspectusInput) -> RenderedProspectus: ...


@dataclass(frozen=True)
class StoredProspectus:
    lead_id: UUID
    version: int
    pdf_location: str
    html_location: str
    pdf_bytes: int
    pdf_sha256: str


class ProspectusStore(Protocol):
    """Rendered files, versioned per lead. Versions are numbered by the caller (its database).

    `save` overwrites an existing version: the number is only committed in the caller's database
    after the files are saved, so a retry after a crash must be able to write the same version again.
    A reader sees a version either whole or not at all.

    An S3-compatible adapter (optional, not shipped) implements the same four methods with keys
    `<prefix>/<lead_id>/v<version>.pdf` and `.html`: a single PutObject is atomic, so it needs no
    temporary object; `Content-Type` is `application/pdf` / `text/html; charset=utf-8`; `versions`
    lists `<prefix>/<lead_id>/` and keeps versions whose PDF exists (the PDF is written last, as
    here); `delete_lead` deletes that prefix; a missing key raises `ProspectusNotFoundError`;
    `pdf_location` is `s3://<bucket>/<key>`, never a presigned URL (those expire).
    """

    async def save(self, lead_id: UUID, version: int, rendered: RenderedProspectus) -> StoredProspectus: ...

    async def read_pdf(self, lead_id: UUID, version: int) -> bytes: ...

    async def read_html(self, lead_id: UUID, version: int) -> str: ...

    async def versions(self, lead_id: UUID) -> list[int]: ...

    async def delete_lead(self, lead_id: UUID) -> int:
        """Remove every version of the lead's prospectus (the lead was deleted); returns files removed."""
        ...
