"""What an uploaded file really is, decided from its bytes; the declared Content-Type is only a hint.

Accepted: PDF, HTML and plain text. A declaration that contradicts the bytes (PNG bytes sent as
`application/pdf`, a PDF sent as `text/plain`) is refused rather than guessed around, because it is
either a mistake the uploader should see or an attempt to slip something past the checks.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath


class DocumentKind(StrEnum):
    """The accepted kinds; each value is the content type the file is stored and served with."""

    PDF = "application/pdf"
    HTML = "text/html"
    TEXT = "text/plain"


class UnsupportedDocument(ValueError):
    """The file is not a PDF, HTML or text document, or its bytes contradict its declared type."""


# Declared types that say nothing about the content (browsers send these for unknown extensions).
_GENERIC_DECLARATIONS = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
)
_DECLARED_KINDS: dict[str, DocumentKind] = {
    "application/pdf": DocumentKind.PDF,
    "application/x-pdf": DocumentKind.PDF,
    "text/html": DocumentKind.HTML,
    "application/xhtml+xml": DocumentKind.HTML,
    "text/plain": DocumentKind.TEXT,
    "text/markdown": DocumentKind.TEXT,
}
_EXTENSION_KINDS: dict[str, DocumentKind] = {
    ".pdf": DocumentKind.PDF,
    ".html": DocumentKind.HTML,
    ".htm": DocumentKind.HTML,
    ".xhtml": DocumentKind.HTML,
    ".txt": DocumentKind.TEXT,
    ".text": DocumentKind.TEXT,
    ".md": DocumentKind.TEXT,
}

# Signatures of common binary formats, so a refusal can say what the file actually is. Short ASCII
# signatures (BMP's "BM", "MZ") are left out: real text starts with them, and the binary-byte check
# still refuses those formats.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"PK\x03\x04", "ZIP archive (or a DOCX/XLSX/ODT file)"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"PK\x07\x08", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x28\xb5\x2f\xfd", "Zstandard archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Microsoft Office file"),
    (b"{\\rtf", "RTF document"),
    (b"\x7fELF", "executable"),
)
# The PDF specification lets readers accept the header anywhere in the first 1024 bytes.
_PDF_HEADER_WINDOW = 1024
_PDF_MAGIC = b"%PDF-"
# Bytes that never occur in text (WHATWG MIME sniffing's "binary data bytes").
_BINARY_BYTE = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_SNIFF_WINDOW = 8192
# WHATWG's HTML sniffing patterns: the file starts (after whitespace) with one of these tags.
_HTML_OPENERS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<br",
    b"<p",
    b"<!--",
)
_UTF8_BOM = b"\xef\xbb\xbf"


def base_type(content_type: str | None) -> str:
    """`Text/HTML; charset=utf-8` -> `text/html`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def first_binary_byte(data: bytes) -> int | None:
    """Offset of the first byte that cannot occur in text, if any."""
    match = _BINARY_BYTE.search(data)
    return match.start() if match else None


def _binary_format(head: bytes) -> str | None:
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    return None


def _looks_like_html(head: bytes) -> bool:
    start = head.removeprefix(_UTF8_BOM).lstrip(b" \t\r\n\x0c").lower()
    for opener in _HTML_OPENERS:
        if start.startswith(opener):
            following = start[len(opener) : len(opener) + 1]
            # The tag name must end here: `<b>` or `<b ` is HTML, `<bogus` is not.
            if following in (b" ", b">") or opener == b"<!--":
                return True
    return False


def detect_kind(data: bytes, declared_type: str | None, filename: str) -> DocumentKind:
    """The document's kind from its bytes, checked against what the uploader declared."""
    declared = base_type(declared_type)
    if declared not in _GENERIC_DECLARATIONS and declared not in _DECLARED_KINDS:
        raise UnsupportedDocument(f"Only PDF, HTML and plain-text documents are accepted, not {declared}.")
    declared_kind = _DECLARED_KINDS.get(declared)
    head = data[:_SNIFF_WINDOW]
    if _PDF_MAGIC in data[:_PDF_HEADER_WINDOW]:
        if declared_kind not in (None, DocumentKind.PDF):
            raise UnsupportedDocument(f"The file was declared as {declared} but its content is a PDF.")
        return DocumentKind.PDF
    if (binary := _binary_format(head)) is not None:
        raise UnsupportedDocument(
            f"The file is a {binary}; only PDF, HTML and plain-text documents are accepted."
        )
    if declared_kind is DocumentKind.PDF:
        raise UnsupportedDocument(f"The file was declared as {declared} but its content is not a PDF.")
    if first_binary_byte(head) is not None:
        raise UnsupportedDocument(
            "The file holds binary data; only PDF, HTML and plain-text documents are accepted."
        )
    if declared_kind is not None:
        return declared_kind
    by_extension = _EXTENSION_KINDS.get(PurePosixPath(filename.lower()).suffix)
    if by_extension is DocumentKind.PDF:
        raise UnsupportedDocument("The file is named .pdf but its content is not a PDF.")
    if by_extension is not None:
        return by_extension
    return DocumentKind.HTML if _looks_like_html(head) else DocumentKind.TEXT


def extensions_for(kind: DocumentKind) -> tuple[str, ...]:
    """File extensions that fit `kind`; the first is the one to add when a name has none of them."""
    return tuple(ext for ext, ext_kind in _EXTENSION_KINDS.items() if ext_kind is kind)
