"""Content sniffing, file names and extraction limits, without I/O."""

from __future__ import annotations

import pytest
from catalog.domain.content_types import DocumentKind, UnsupportedDocument, detect_kind
from catalog.domain.extraction import ExtractionLimits, UnreadableDocument, extract_text
from catalog.domain.filenames import content_disposition, safe_filename

from .samples import PNG_BYTES, text_pdf

LIMITS = ExtractionLimits(max_chars=10_000, max_pdf_pages=5, timeout_seconds=10)


@pytest.mark.parametrize(
    ("data", "declared", "filename", "kind"),
    [
        (text_pdf("x"), "application/pdf", "a.pdf", DocumentKind.PDF),
        (text_pdf("x"), "application/octet-stream", "a.bin", DocumentKind.PDF),
        (b"junk before\n" + text_pdf("x"), None, "a", DocumentKind.PDF),
        (b"  <!DOCTYPE html><p>x</p>", "", "upload", DocumentKind.HTML),
        (b"\xef\xbb\xbf<p>BOM first</p>", None, "upload", DocumentKind.HTML),
        (b"<b>bold</b>", None, "upload", DocumentKind.HTML),
        (b"<bogus> is not a tag we sniff", None, "upload", DocumentKind.TEXT),
        (b"plain words", None, "readme", DocumentKind.TEXT),
        (b"BMW cover notes", None, "notes", DocumentKind.TEXT),
        (b"plain words", None, "page.HTM", DocumentKind.HTML),
        (b"<p>markup shown as text</p>", "text/plain", "a.txt", DocumentKind.TEXT),
        (b"no markup", "Text/HTML; charset=UTF-8", "a", DocumentKind.HTML),
    ],
)
def test_kind_comes_from_the_bytes(data, declared, filename, kind):
    assert detect_kind(data, declared, filename) is kind


@pytest.mark.parametrize(
    ("data", "declared", "filename", "fragment"),
    [
        (PNG_BYTES, "application/pdf", "a.pdf", "png image"),
        (b"PK\x03\x04rest", None, "a.pdf", "zip archive"),
        (b"\x1f\x8b\x08\x00", "text/plain", "a.txt", "gzip"),
        (b"text", "application/msword", "a.doc", "application/msword"),
        (b"text", None, "a.pdf", "named .pdf"),
        (b"text", "application/pdf", "a.txt", "not a pdf"),
        (text_pdf("x"), "text/html", "a.html", "content is a pdf"),
        (b"\x00\x01\x02\x03", None, "a", "binary data"),
    ],
)
def test_unsupported_or_contradicting_files_are_refused(data, declared, filename, fragment):
    with pytest.raises(UnsupportedDocument) as refused:
        detect_kind(data, declared, filename)
    assert fragment in str(refused.value).lower()


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("../../etc/passwd", DocumentKind.TEXT, "passwd.txt"),
        ("C:\\Users\\me\\Policy Wording.PDF", DocumentKind.PDF, "Policy Wording.PDF"),
        ("brochure.html", DocumentKind.PDF, "brochure.html.pdf"),
        ("a<script>\u202e.txt", DocumentKind.TEXT, "a_script_.txt"),
        ("Prämie ½.txt", DocumentKind.TEXT, "Prämie 1_2.txt"),
        ("...", DocumentKind.HTML, "document.html"),
        (None, DocumentKind.PDF, "document.pdf"),
        ("x" * 300 + ".pdf", DocumentKind.PDF, "x" * 196 + ".pdf"),
    ],
)
def test_filenames_are_made_safe(raw, kind, expected):
    assert safe_filename(raw, kind) == expected


def test_content_disposition_carries_an_ascii_fallback_and_the_exact_name():
    assert content_disposition("Prämie 2025.pdf") == (
        "attachment; filename=\"Pr_mie 2025.pdf\"; filename*=UTF-8''Pr%C3%A4mie%202025.pdf"
    )


def test_html_text_skips_hidden_elements_and_keeps_blocks_apart():
    html = (
        b"<html><head><style>p{}</style><script>alert(1)</script></head><body><noscript>enable js</noscript>"
        b"<h2>Cover</h2><p>Up to &euro;1m</p><ul><li>one</li><li>two</li></ul><template>hidden</template>"
        b"</body></html>"
    )
    assert extract_text(DocumentKind.HTML, html, LIMITS).text == "Cover\nUp to €1m\none\ntwo"


def test_extraction_is_bounded_by_output_pages_and_time():
    with pytest.raises(UnreadableDocument, match="more than 10,000 characters"):
        extract_text(DocumentKind.PDF, text_pdf(*(["word " * 500] * 5)), LIMITS)
    with pytest.raises(UnreadableDocument, match="6 pages; at most 5"):
        extract_text(DocumentKind.PDF, text_pdf(*"abcdef"), LIMITS)
    with pytest.raises(UnreadableDocument, match="more than 10,000 characters"):
        extract_text(DocumentKind.HTML, b"<p>" + b"x" * 20_000 + b"</p>", LIMITS)
    with pytest.raises(UnreadableDocument, match="longer than 0 s"):
        extract_text(DocumentKind.PDF, text_pdf("slow"), ExtractionLimits(10_000, 5, timeout_seconds=0))


def test_plain_text_keeps_its_content_and_normalises_line_ends():
    extracted = extract_text(DocumentKind.TEXT, b"\xef\xbb\xbfline one\r\nline two\rend\n", LIMITS)
    assert (extracted.text, extracted.page_count) == ("line one\nline two\nend\n", None)
