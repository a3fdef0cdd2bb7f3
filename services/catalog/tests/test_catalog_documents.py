"""Document upload, extraction, storage, download and deletion through the real app, DB and NATS."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from parley_contracts import (
    RPC_CATALOG_DOCUMENT_TEXT,
    DocumentDeleted,
    DocumentTextReply,
    DocumentTextRequest,
    DocumentUploaded,
)

from .conftest import TEST_MAX_UPLOAD_BYTES
from .samples import (
    PNG_BYTES,
    blank_pdf,
    corrupt_pdf,
    encrypted_pdf,
    flate_bomb_pdf,
    text_pdf,
    zip_bomb,
)

pytestmark = pytest.mark.integration

BROCHURE_HTML = b"""<!DOCTYPE html><html><head><title>Family Shield</title>
<style>body { color: red }</style><script>var secret = "not text";</script></head>
<body><h1>Family Shield</h1><p>Cover up to &pound;500,000.</p><ul><li>Free look: 30 days</li></ul>
<table><tr><th>Age</th><td>18-60</td></tr></table></body></html>"""


@pytest.fixture
async def product(catalog_app):
    category = await catalog_app.category()
    return await catalog_app.product(category["id"])


async def test_pdf_html_and_text_uploads_are_extracted_stored_and_downloadable(catalog_app, product):
    c, app = catalog_app.client, catalog_app
    pdf = text_pdf("Harborline Secure Term 30\nPolicy wording", "Claims are settled within 30 days")
    files = [
        ("C:\\Users\\me\\Wording (v2).pdf", pdf, "application/pdf"),
        ("brochure.html", BROCHURE_HTML, "text/html"),
        ("../../etc/notes", "Free look period: 30 days — café\r\n".encode(), "text/plain; charset=utf-8"),
    ]
    uploaded = []
    for filename, data, content_type in files:
        r = await app.upload(product["id"], filename, data, content_type)
        assert r.status_code == 201, r.text
        uploaded.append(r.json())
    wording, brochure, notes = uploaded
    assert (wording["filename"], wording["content_type"], wording["page_count"]) == (
        "Wording (v2).pdf",
        "application/pdf",
        2,
    )
    assert wording["sha256"] == hashlib.sha256(pdf).hexdigest() and wording["size"] == len(pdf)
    assert (
        wording["excerpt"] == "Harborline Secure Term 30\nPolicy wording\n\nClaims are settled within 30 days"
    )
    assert (
        brochure["excerpt"]
        == "Family Shield\nFamily Shield\nCover up to £500,000.\nFree look: 30 days\nAge | 18-60"
    )
    assert (notes["filename"], notes["content_type"]) == ("notes.txt", "text/plain")
    assert notes["excerpt"] == "Free look period: 30 days — café\n" and notes["text_chars"] == len(
        notes["excerpt"]
    )

    for document, (_, data, _) in zip(uploaded, files, strict=True):
        r = await c.get(document["download_url"], headers=app.agent)
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"].startswith(document["content_type"])
        assert r.headers["content-disposition"].startswith("attachment; filename=")
        assert r.headers["x-content-type-options"] == "nosniff"
    assert len(app.stored_files()) == 3

    listed = (await c.get(f"/api/products/{product['id']}/documents", headers=app.agent)).json()
    assert listed["total"] == 3
    by_category = (
        await c.get(f"/api/products/categories/{product['category_id']}/documents", headers=app.agent)
    ).json()
    assert {d["id"] for d in by_category["items"]} == {d["id"] for d in uploaded}
    assert all(d["product_name"] == product["name"] for d in by_category["items"])

    event = await app.last_event(DocumentUploaded)
    assert str(event.document_id) == notes["id"] and event.content_type == "text/plain"
    assert event.category_id == uuid.UUID(product["category_id"]) and event.text_chars == notes["text_chars"]


async def test_documents_follow_their_product_to_another_category(catalog_app, product):
    c, app = catalog_app.client, catalog_app
    assert (await app.upload(product["id"], "a.txt", b"Some wording", "text/plain")).status_code == 201
    other = await app.category("Savings")
    r = await c.patch(f"/api/products/{product['id']}", json={"category_id": other["id"]}, headers=app.admin)
    assert r.status_code == 200 and r.json()["category_name"] == "Savings"
    moved = (await c.get(f"/api/products/categories/{other['id']}/documents", headers=app.agent)).json()
    left = (
        await c.get(f"/api/products/categories/{product['category_id']}/documents", headers=app.agent)
    ).json()
    assert (moved["total"], left["total"]) == (1, 0)


async def test_an_encrypted_pdf_with_an_empty_user_password_is_readable(catalog_app, product):
    r = await catalog_app.upload(product["id"], "protected.pdf", encrypted_pdf(""), "application/pdf")
    assert r.status_code == 201 and r.json()["excerpt"] == "Secret policy wording"


@pytest.mark.parametrize(
    ("filename", "data", "content_type", "status", "fragment"),
    [
        ("broken.pdf", corrupt_pdf(), "application/pdf", 422, "damaged"),
        ("locked.pdf", encrypted_pdf("s3cret"), "application/pdf", 422, "password"),
        ("scan.pdf", blank_pdf(), "application/pdf", 422, "no extractable text"),
        ("bomb.pdf", flate_bomb_pdf(), "application/pdf", 422, "decompression bomb"),
        ("picture.pdf", PNG_BYTES, "application/pdf", 415, "png image"),
        ("photo.png", PNG_BYTES, "image/png", 415, "image/png"),
        ("brochure.pdf", zip_bomb(), "application/pdf", 415, "zip archive"),
        ("archive.zip", zip_bomb(), "application/octet-stream", 415, "zip archive"),
        ("wording.txt", text_pdf("hidden"), "text/plain", 415, "content is a pdf"),
        ("wording.pdf", b"Just some text", "application/pdf", 415, "not a pdf"),
        ("latin1.txt", "Prämie für Kinder".encode("latin-1"), "text/plain", 422, "not valid utf-8"),
        ("binary.txt", b"header\x00\x01\x02 binary", "text/plain", 415, "binary data"),
        ("late-binary.txt", b"a" * 9000 + b"\x00", "text/plain", 422, "binary data"),
        ("empty.txt", b"", "text/plain", 422, "empty"),
        ("blank.html", b"<html><body><script>x()</script></body></html>", "text/html", 422, "no text"),
    ],
)
async def test_unusable_files_are_refused_and_nothing_is_stored(
    catalog_app, product, filename, data, content_type, status, fragment
):
    r = await catalog_app.upload(product["id"], filename, data, content_type)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert fragment in r.json()["detail"].lower()
    await _assert_nothing_stored(catalog_app, product)


async def _assert_nothing_stored(app, product):
    listed = (await app.client.get(f"/api/products/{product['id']}/documents", headers=app.admin)).json()
    assert listed["total"] == 0
    assert app.stored_files() == []
    counts = await app.event_counts()
    assert "catalog.document.uploaded" not in counts


async def test_oversized_uploads_are_refused_while_streaming(catalog_app, product):
    app = catalog_app
    r = await app.upload(product["id"], "big.txt", b"a" * (TEST_MAX_UPLOAD_BYTES + 1), "text/plain")
    assert r.status_code == 413 and r.json()["max_bytes"] == TEST_MAX_UPLOAD_BYTES

    # A chunked body with no Content-Length: the server must stop reading at the limit, not at the end.
    boundary = "parleyboundary"
    chunk = b"b" * 16 * 1024
    total_chunks = 200
    sent = 0

    async def body():
        nonlocal sent
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        for _ in range(total_chunks):
            sent += 1
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await app.client.post(
        f"/api/products/{product['id']}/documents",
        content=body(),
        headers={**app.admin, "content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413
    assert sent < total_chunks // 2, sent
    r = await app.client.post(
        f"/api/products/{product['id']}/documents",
        content=b"x",
        headers={
            **app.admin,
            "content-type": "multipart/form-data; boundary=b",
            "content-length": str(10 * TEST_MAX_UPLOAD_BYTES),
        },
    )
    assert r.status_code == 413
    await _assert_nothing_stored(app, product)


async def test_malformed_upload_requests(catalog_app, product):
    c, app = catalog_app.client, catalog_app
    url = f"/api/products/{product['id']}/documents"
    r = await c.post(url, content=b"plain body", headers={**app.admin, "content-type": "text/plain"})
    assert r.status_code == 415
    r = await c.post(url, files={"other": ("a.txt", b"text", "text/plain")}, headers=app.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "file"]
    r = await c.post(
        url,
        files=[("file", ("a.txt", b"one", "text/plain")), ("file", ("b.txt", b"two", "text/plain"))],
        headers=app.admin,
    )
    assert r.status_code == 400
    r = await c.post(
        url, content=b"--x\r\ngarbage", headers={**app.admin, "content-type": "multipart/form-data"}
    )
    assert r.status_code == 400
    r = await app.upload(product["id"], "a.txt", b"text", "text/plain", headers=app.agent)
    assert r.status_code == 403
    r = await app.upload(str(uuid.uuid4()), "a.txt", b"text", "text/plain")
    assert r.status_code == 404
    await _assert_nothing_stored(app, product)


async def test_the_same_file_twice_is_a_conflict(catalog_app, product):
    first = await catalog_app.upload(product["id"], "a.txt", b"Wording", "text/plain")
    again = await catalog_app.upload(product["id"], "copy.txt", b"Wording", "text/plain")
    assert again.status_code == 409 and again.json()["document_id"] == first.json()["id"]
    assert len(catalog_app.stored_files()) == 1


async def test_deleting_documents_and_products_removes_files_and_emits(catalog_app, product):
    c, app = catalog_app.client, catalog_app
    one = (await app.upload(product["id"], "one.txt", b"One", "text/plain")).json()
    two = (await app.upload(product["id"], "two.txt", b"Two", "text/plain")).json()
    assert (await c.delete(f"/api/products/documents/{one['id']}", headers=app.agent)).status_code == 403
    assert (await c.delete(f"/api/products/documents/{one['id']}", headers=app.admin)).status_code == 204
    assert str((await app.last_event(DocumentDeleted)).document_id) == one["id"]
    assert (await c.get(one["download_url"], headers=app.admin)).status_code == 404
    assert len(app.stored_files()) == 1

    assert (await c.delete(f"/api/products/{product['id']}", headers=app.admin)).status_code == 204
    assert str((await app.last_event(DocumentDeleted)).document_id) == two["id"]
    assert app.stored_files() == []
    assert (await c.delete(f"/api/products/documents/{two['id']}", headers=app.admin)).status_code == 404


async def test_agents_cannot_reach_documents_of_inactive_products(catalog_app, product):
    c, app = catalog_app.client, catalog_app
    document = (await app.upload(product["id"], "one.txt", b"One", "text/plain")).json()
    await c.patch(f"/api/products/{product['id']}", json={"active": False}, headers=app.admin)
    assert (await c.get(document["download_url"], headers=app.agent)).status_code == 404
    listed = (
        await c.get(f"/api/products/categories/{product['category_id']}/documents", headers=app.agent)
    ).json()
    assert listed["total"] == 0
    assert (await c.get(document["download_url"], headers=app.admin)).status_code == 200


async def test_document_text_is_served_over_request_reply_in_pages(catalog_app, product):
    app = catalog_app
    text = "".join(f"Clause {i}: cover applies.\n" for i in range(400))
    document = (await app.upload(product["id"], "wording.txt", text.encode(), "text/plain")).json()
    bus = app.runtime.bus
    pieces, offset = [], 0
    while offset is not None:
        raw = await bus.request(
            RPC_CATALOG_DOCUMENT_TEXT,
            DocumentTextRequest(document_id=document["id"], offset=offset, limit=5000),
        )
        reply = DocumentTextReply.model_validate_json(raw)
        assert reply.found and reply.total_chars == len(text) and str(reply.product_id) == product["id"]
        pieces.append(reply.text)
        offset = reply.next_offset
    assert "".join(pieces) == text and len(pieces) == -(-len(text) // 5000)
    missing = DocumentTextReply.model_validate_json(
        await bus.request(RPC_CATALOG_DOCUMENT_TEXT, DocumentTextRequest(document_id=uuid.uuid4()))
    )
    assert not missing.found
