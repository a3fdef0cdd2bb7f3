"""Rendered prospectuses on the local filesystem: `<root>/<lead_id>/v<version>.pdf|.html`."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from uuid import UUID

from prospectus.domain.models import RenderedProspectus
from prospectus.domain.ports import ProspectusNotFoundError, StoredProspectus

_PDF_NAME = re.compile(r"^v([1-9][0-9]*)\.pdf$")


class LocalDirectoryStore:
    """Implements `ProspectusStore` on a directory (the default; mount a volume in production).

    Each file is written to a temporary name in the same directory, fsynced and renamed over the
    target, so a reader (or a crash) never sees half a file. The PDF is written after the HTML, and
    a version exists once its PDF does, so a version is listed only when both files are complete.
    """

    def __init__(self, root: Path) -> None:
        self._root = root

    def pdf_path(self, lead_id: UUID, version: int) -> Path:
        return self._lead_dir(lead_id) / f"v{_checked(version)}.pdf"

    def html_path(self, lead_id: UUID, version: int) -> Path:
        return self._lead_dir(lead_id) / f"v{_checked(version)}.html"

    async def save(self, lead_id: UUID, version: int, rendered: RenderedProspectus) -> StoredProspectus:
        return await asyncio.to_thread(self._save, lead_id, version, rendered)

    async def read_pdf(self, lead_id: UUID, version: int) -> bytes:
        return await asyncio.to_thread(self._read, lead_id, version, self.pdf_path(lead_id, version))

    async def read_html(self, lead_id: UUID, version: int) -> str:
        content = await asyncio.to_thread(self._read, lead_id, version, self.html_path(lead_id, version))
        return content.decode("utf-8")

    async def versions(self, lead_id: UUID) -> list[int]:
        return await asyncio.to_thread(self._versions, lead_id)

    async def delete_lead(self, lead_id: UUID) -> int:
        return await asyncio.to_thread(self._delete_lead, lead_id)

    def _lead_dir(self, lead_id: UUID) -> Path:
        # str(UUID) is canonical hex-and-dashes: it cannot climb out of the root.
        return self._root / str(lead_id)

    def _save(self, lead_id: UUID, version: int, rendered: RenderedProspectus) -> StoredProspectus:
        html_path, pdf_path = self.html_path(lead_id, version), self.pdf_path(lead_id, version)
        html_path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(html_path, rendered.html.encode("utf-8"))
        _write_atomically(pdf_path, rendered.pdf)
        return StoredProspectus(
            lead_id=lead_id,
            version=version,
            pdf_location=str(pdf_path),
            html_location=str(html_path),
            pdf_bytes=len(rendered.pdf),
            pdf_sha256=hashlib.sha256(rendered.pdf).hexdigest(),
        )

    def _read(self, lead_id: UUID, version: int, path: Path) -> bytes:
        # Only complete versions are readable, even the HTML of a version whose PDF is still missing.
        if not self.pdf_path(lead_id, version).is_file():
            raise ProspectusNotFoundError(lead_id, version)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ProspectusNotFoundError(lead_id, version) from None

    def _versions(self, lead_id: UUID) -> list[int]:
        lead_dir = self._lead_dir(lead_id)
        if not lead_dir.is_dir():
            return []
        found = (_PDF_NAME.fullmatch(entry.name) for entry in lead_dir.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def _delete_lead(self, lead_id: UUID) -> int:
        lead_dir = self._lead_dir(lead_id)
        if not lead_dir.is_dir():
            return 0
        removed = sum(1 for entry in lead_dir.iterdir() if entry.is_file())
        shutil.rmtree(lead_dir)
        return removed


def _checked(version: int) -> int:
    if version < 1:
        raise ValueError(f"prospectus versions start at 1, got {version}")
    return version


def _write_atomically(target: Path, content: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # The rename itself is only durable once the directory entry is on disk.
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
