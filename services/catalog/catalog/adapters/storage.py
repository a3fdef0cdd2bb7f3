"""Where original document files live: the `DocumentStorage` port and its local-directory adapter.

Keys are made by the service from document ids (`documents/<uuid>`), never from user input.

An S3-compatible adapter (the production option in spec 000 §8) implements the same three methods:
`save` = PUT Object, `load` = GET Object (a missing key raises `StoredFileMissing`), `delete` = DELETE
Object (idempotent). It is not built yet; `LocalDirectoryStorage` on a shared volume is the default.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[a-z0-9-]+(/[a-z0-9-]+)*$")


class StoredFileMissing(LookupError):
    """The database names a file that the storage does not hold."""


class DocumentStorage(Protocol):
    async def save(self, key: str, data: bytes) -> None: ...

    async def load(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None:
        """Remove the file; a key that is already gone is not an error."""


def storage_key(document_id: uuid.UUID) -> str:
    return f"documents/{document_id}"


class LocalDirectoryStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    async def save(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file and a crash leaves no partial one.
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        try:
            partial.write_bytes(data)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    async def load(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise StoredFileMissing(key) from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
