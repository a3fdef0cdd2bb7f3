"""Text extraction from uploaded documents, bounded in output size, pages and time.

CPU-bound and synchronous: the service runs `extract_text` in a worker thread. Every failure a file can
cause is an `UnreadableDocument` with a message for the uploader, never a crash: pypdf raises many
different exception types on malformed input, so PDF parsing is wrapped whole.

Decompression bombs are stopped twice: pypdf's own per-stream decoding limits are tightened for the
duration of the call (its configuration is a context variable, so this touches no other thread), and
the extracted text is counted as it grows, page by page or chunk by chunk, against `max_chars`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from html.parser import HTMLParser
from io import BytesIO

import pypdf
from pypdf import PasswordType
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

from .content_types import DocumentKind, first_binary_byte

# No legitimate page content stream comes near this once decoded; pypdf's default is 75 MB.
MAX_DECODED_STREAM_BYTES = 16 * 1024 * 1024
_HTML_FEED_CHARS = 64 * 1024


class UnreadableDocument(ValueError):
    """The file is of an accepted kind but no usable text can be taken from it."""


@dataclass(frozen=True)
class ExtractionLimits:
    max_chars: int
    max_pdf_pages: int
    timeout_seconds: float


@dataclass(frozen=True)
class ExtractedText:
    text: str
    page_count: int | None


class _Budget:
    """Output size and wall-clock allowance of one extraction."""

    def __init__(self, limits: ExtractionLimits) -> None:
        self._limits = limits
        self._deadline = time.monotonic() + limits.timeout_seconds

    def check(self, chars_so_far: int) -> None:
        if chars_so_far > self._limits.max_chars:
            raise UnreadableDocument(
                f"The document holds more than {self._limits.max_chars:,} characters of text; "
                "split it into smaller files."
            )
        if time.monotonic() > self._deadline:
            raise UnreadableDocument(
                f"Extracting the text took longer than {self._limits.timeout_seconds:g} s; "
                "the file is too large or too complex."
            )


def extract_text(kind: DocumentKind, data: bytes, limits: ExtractionLimits) -> ExtractedText:
    budget = _Budget(limits)
    if kind is DocumentKind.PDF:
        text, pages = _pdf_text(data, limits.max_pdf_pages, budget)
        if not text.strip():
            raise UnreadableDocument(
                "The PDF has no extractable text (it is probably scanned images); "
                "upload a PDF with a text layer (run OCR first)."
            )
        return ExtractedText(text, pages)
    decoded = _decode_utf8(data)
    budget.check(len(decoded))
    text = _html_text(decoded, budget) if kind is DocumentKind.HTML else decoded
    if not text.strip():
        raise UnreadableDocument("The document has no text.")
    return ExtractedText(text, None)


def _decode_utf8(data: bytes) -> str:
    if (offset := first_binary_byte(data)) is not None:
        raise UnreadableDocument(f"The file holds binary data (byte {offset}); it is not a text document.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(
            f"The file is not valid UTF-8 (byte {exc.start}); save it as UTF-8."
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _pdf_text(data: bytes, max_pages: int, budget: _Budget) -> tuple[str, int]:
    decode_limits = pypdf.apply_configuration(
        zlib_maximum_output_length=MAX_DECODED_STREAM_BYTES,
        lzw_maximum_output_length=MAX_DECODED_STREAM_BYTES,
        run_length_maximum_output_length=MAX_DECODED_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_DECODED_STREAM_BYTES,
        stream_decoding_work_maximum_length=4 * MAX_DECODED_STREAM_BYTES,
    )
    try:
        with decode_limits:
            reader = pypdf.PdfReader(BytesIO(data))
            # An empty user password only restricts permissions (printing, copying); the text is readable.
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise FileNotDecryptedError("needs a password")
            page_count = len(reader.pages)
            if page_count > max_pages:
                raise UnreadableDocument(f"The PDF has {page_count} pages; at most {max_pages} are accepted.")
            pages: list[str] = []
            chars = 0
            for page in reader.pages:
                # NUL is never text, and PostgreSQL cannot store it.
                text = (page.extract_text() or "").replace("\x00", "").strip()
                chars += len(text)
                budget.check(chars)
                if text:
                    pages.append(text)
    except UnreadableDocument:
        raise
    except FileNotDecryptedError as exc:
        raise UnreadableDocument("The PDF is password-protected; upload a copy without a password.") from exc
    except DependencyError as exc:
        raise UnreadableDocument("The PDF is encrypted with a method this service cannot open.") from exc
    except LimitReachedError as exc:
        raise UnreadableDocument(
            "The PDF expands to far more data than its size suggests (a decompression bomb?); it was refused."
        ) from exc
    except Exception as exc:
        raise UnreadableDocument(
            "The PDF is damaged or not a valid PDF, so its text cannot be read."
        ) from exc
    return "\n\n".join(pages), page_count


class _VisibleText(HTMLParser):
    """Collects the text a reader sees; block-level tags end a line so list items and cells stay apart."""

    _BLOCK_TAGS = frozenset(
        {
            "address",
            "article",
            "aside",
            "blockquote",
            "br",
            "dd",
            "div",
            "dl",
            "dt",
            "figcaption",
            "footer",
            "form",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "li",
            "main",
            "nav",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "title",
            "tr",
            "ul",
        }
    )
    _CELL_TAGS = frozenset({"td", "th"})
    _HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.chars = 0
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN_TAGS:
            self._hidden_depth += 1
        elif tag in self._BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in self._CELL_TAGS:
            self.parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in self._BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self.parts.append(data)
            self.chars += len(data)

    def text(self) -> str:
        lines = (" ".join(line.split()).strip(" |") for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def _html_text(html: str, budget: _Budget) -> str:
    parser = _VisibleText()
    for start in range(0, len(html), _HTML_FEED_CHARS):
        parser.feed(html[start : start + _HTML_FEED_CHARS])
        budget.check(parser.chars)
    parser.close()
    return parser.text()
