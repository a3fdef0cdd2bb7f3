"""Test files made on the fly: PDFs written byte by byte (pypdf cannot draw text), bombs, images."""

from __future__ import annotations

import io
import zipfile
import zlib
from functools import cache

import pypdf

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file from object bodies (object n is objects[n-1]) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(content: bytes, *, compress: bool = False) -> bytes:
    if compress:
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream"
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def text_pdf(*pages: str) -> bytes:
    """One page per string, each line drawn in Helvetica."""
    page_numbers = [4 + 2 * i for i in range(len(pages))]
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % n for n in page_numbers), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for number, text in zip(page_numbers, pages, strict=True):
        lines = [
            line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in text.splitlines()
        ]
        drawn = b" T* ".join(b"(%s) Tj" % line.encode("latin-1") for line in lines)
        content = b"BT /F1 12 Tf 14 TL 72 720 Td " + drawn + b" ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % (number + 1)
        )
        objects.append(_stream(content))
    return _pdf(objects)


def flate_bomb_pdf(expanded_bytes: int = 40 * 1024 * 1024) -> bytes:
    """A one-page PDF whose small FlateDecode content stream expands to `expanded_bytes` of spaces."""
    compressor = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    packed = (
        b"".join(compressor.compress(block) for _ in range(expanded_bytes // len(block))) + compressor.flush()
    )
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents 5 0 R >>",
            _stream(packed, compress=True),
        ]
    )


def blank_pdf() -> bytes:
    """What a scanned document looks like to text extraction: pages without a text layer."""
    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def encrypted_pdf(user_password: str, text: str = "Secret policy wording") -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(text_pdf(text))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def corrupt_pdf() -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R\n" + bytes(range(256)) * 8 + b"\ntrailer\n<<>>\n"
    )


@cache
def zip_bomb(expanded_bytes: int = 64 * 1024 * 1024) -> bytes:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("policy.pdf", "w", force_zip64=True) as member,
    ):
        block = b"\x00" * (1024 * 1024)
        for _ in range(expanded_bytes // len(block)):
            member.write(block)
    return buffer.getvalue()
