"""The only way WeasyPrint may load a resource while rendering a prospectus.

Documents are built from untrusted text (lead names, notes, product copy). Escaping keeps that
text from becoming markup, and this fetcher is the second wall: whatever reaches the renderer,
it never touches the network (no SSRF, no tracking pixels, no slow remote hosts in the render
path) and never reads files outside the template directory.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint import URLFetcher
from weasyprint.urls import URLFetcherResponse

logger = logging.getLogger(__name__)


class RefusedResourceError(ValueError):
    """A resource the renderer may not load. WeasyPrint skips it (e.g. an image is left out)."""


class LocalOnlyUrlFetcher(URLFetcher):
    """Allows `data:` URIs and files inside `allowed_dir`; refuses every other URL."""

    def __init__(self, allowed_dir: Path) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self._allowed_dir = allowed_dir.resolve()

    def fetch(self, url: str, headers: dict[str, Any] | None = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            # urllib's data: handler decodes in memory; nothing else is reachable through it.
            return super().fetch(url, headers)
        if scheme == "file":
            return self._fetch_allowed_file(url)
        raise self._refuse(url, "only data: URIs and template files may be loaded")

    def _fetch_allowed_file(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        # urllib would hand file://<remote host>/... to its FTP handler: only local paths are files.
        if parts.netloc not in ("", "localhost"):
            raise self._refuse(url, "file URL names a remote host")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self._allowed_dir) or not path.is_file():
            raise self._refuse(url, "file is outside the template directory")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": media_type})

    @staticmethod
    def _refuse(url: str, why: str) -> RefusedResourceError:
        shown = url if len(url) <= 200 else f"{url[:200]}…"
        logger.warning("prospectus renderer refused %s: %s", shown, why)
        return RefusedResourceError(f"{why}: {shown}")
