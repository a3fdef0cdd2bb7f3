"""Uploaded file names made safe to store, show and send back in a Content-Disposition header.

The stored file itself is named by the document id (see `DocumentStorage`), so a name never reaches a
path; it is still cleaned because it is echoed in headers, the console and downloads.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from urllib.parse import quote

from .content_types import DocumentKind, extensions_for

MAX_FILENAME_CHARS = 200
_ALLOWED_PUNCTUATION = frozenset(" ._-()+,")
_RUNS_OF_UNDERSCORES = re.compile(r"_{2,}")


def safe_filename(raw: str | None, kind: DocumentKind) -> str:
    """A printable name without path parts, ending in an extension that matches `kind`."""
    # Browsers on Windows send full paths; keep only the last part whichever separator was used.
    name = unicodedata.normalize("NFKC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch if ch.isalnum() or ch in _ALLOWED_PUNCTUATION else "_" for ch in name)
    cleaned = _RUNS_OF_UNDERSCORES.sub("_", cleaned).strip(" ._") or "document"
    stem, suffix = _split_extension(cleaned)
    if suffix.lower() not in extensions_for(kind):
        stem, suffix = cleaned, extensions_for(kind)[0]
    return stem[: MAX_FILENAME_CHARS - len(suffix)].rstrip(" .") + suffix


def _split_extension(name: str) -> tuple[str, str]:
    suffix = PurePosixPath(name).suffix
    return (name[: -len(suffix)], suffix) if suffix else (name, "")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 6266 / 5987 form."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
