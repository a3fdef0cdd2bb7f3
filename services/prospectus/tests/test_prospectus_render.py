import base64
import io
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jinja2 import UndefinedError
from markupsafe import escape
from prospectus.adapters.renderer import WeasyPrintRenderer
from prospectus.adapters.url_fetcher import LocalOnlyUrlFetcher, RefusedResourceError
from prospectus.domain.models import Branding, logo_data_uri
from prospectus.domain.wording import RANGE_DASH
from prospectus.testing.factories import sample_prospectus_input
from pypdf import PdfReader

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class RecordingHttpServer:
    """A real HTTP server on 127.0.0.1 that records every request path it receives."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorded.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(PNG_1x1)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "RecordingHttpServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def http_server() -> Iterator[RecordingHttpServer]:
    with RecordingHttpServer() as server:
        yield server


@pytest.fixture(scope="module")
def renderer() -> WeasyPrintRenderer:
    return WeasyPrintRenderer()


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    # Table cells wrap; compare on single-spaced text.
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_recording_server_is_reachable(http_server):
    """Guards the no-fetch assertions below: the server would have recorded a request."""
    import urllib.request

    with urllib.request.urlopen(f"{http_server.base_url}/probe") as response:
        assert response.status == 200
    assert http_server.requests == ["/probe"]


def test_pdf_holds_the_lead_products_and_premiums(renderer):
    data = sample_prospectus_input()
    rendered = renderer.render(data)
    assert rendered.pdf.startswith(b"%PDF-")
    assert rendered.page_count == len(PdfReader(io.BytesIO(rendered.pdf)).pages) >= 2
    text = pdf_text(rendered.pdf)
    assert "Dear Priya Raman," in text
    for product in data.products:
        assert product.name in text
    assert f"USD 25 {RANGE_DASH} 60 per month" in text
    assert f"USD 480 {RANGE_DASH} 1,200.50 per year" in text
    assert "not financial advice" in text
    assert "Sam Okafor" in text and "sam.okafor@example.com" in text
    assert "Licence no. 12345" in text
    assert "Page 1 of" in text


def test_html_rows_are_traceable_to_product_ids(renderer):
    data = sample_prospectus_input()
    page = renderer.render_html(data)
    rows = re.findall(r'<tr id="product-([0-9a-f-]+)" data-product-id="\1">', page)
    assert rows == [str(item.product_id) for item in data.recommendation.items]


def test_stored_html_is_self_contained(renderer):
    page = renderer.render_html(sample_prospectus_input())
    assert "<link" not in page
    assert "--primary: #1F4E79;" in page
    assert "Content-Security-Policy" in page


def test_nothing_fits_variant(renderer):
    rendered = renderer.render(sample_prospectus_input(nothing_fits=True))
    text = pdf_text(rendered.pdf)
    assert "Dear Priya Raman," in text
    assert "Why we are not suggesting a product" in text
    assert "None of our plans accepts applicants over 70" in text
    assert "Products side by side" not in text
    assert "data-product-id" not in rendered.html


def test_injected_markup_in_a_lead_name_is_text_not_markup(renderer, http_server):
    hostile = f'Eve <img src="{http_server.base_url}/pixel.png"><script>alert(1)</script>'
    rendered = renderer.render(sample_prospectus_input(lead_name=hostile))
    assert '<img src="http' not in rendered.html
    assert "<script>" not in rendered.html
    assert str(escape(hostile)) in rendered.html
    # The PDF shows what the lead typed, literally.
    assert f'Dear Eve <img src="{http_server.base_url}/pixel.png">' in pdf_text(rendered.pdf)
    assert http_server.requests == []


def test_untrusted_product_and_recommendation_text_is_escaped(renderer):
    data = sample_prospectus_input()
    hostile = '<a href="javascript:alert(1)">click</a>'
    products = [data.products[0].model_copy(update={"exclusions": [hostile]}), *data.products[1:]]
    items = [
        data.recommendation.items[0].model_copy(update={"rationale": hostile}),
        *data.recommendation.items[1:],
    ]
    data = data.model_copy(
        update={
            "products": products,
            "recommendation": data.recommendation.model_copy(update={"items": items}),
        }
    )
    page = renderer.render_html(data)
    assert hostile not in page
    assert page.count(str(escape(hostile))) == 2


def test_a_template_referencing_remote_urls_fetches_nothing(tmp_path, http_server):
    remote = http_server.base_url
    (tmp_path / "prospectus.html.j2").write_text(
        f"""<html><head>
        <link rel="stylesheet" href="{remote}/style.css">
        <style>@import url("{remote}/import.css"); body {{ background: url("{remote}/bg.png"); }}
        @font-face {{ font-family: Remote; src: url("{remote}/font.woff2"); }}</style>
        </head><body><p>Dear {{{{ view.lead_name }}}},</p>
        <img src="{remote}/logo.png"><object data="{remote}/object.svg"></object>
        <svg xmlns="http://www.w3.org/2000/svg"><image href="{remote}/svg-image.png" width="5" height="5"/></svg>
        </body></html>"""
    )
    rendered = WeasyPrintRenderer(template_dir=tmp_path).render(sample_prospectus_input())
    assert "Dear Priya Raman," in pdf_text(rendered.pdf)
    assert http_server.requests == []


def test_templates_fail_loudly_on_undefined_values(tmp_path):
    (tmp_path / "prospectus.html.j2").write_text("<p>{{ view.no_such_field }}</p>")
    with pytest.raises(UndefinedError):
        WeasyPrintRenderer(template_dir=tmp_path).render_html(sample_prospectus_input())


def test_logo_from_branding_is_embedded_in_the_pdf(renderer):
    branding = Branding(company_name="Acme", logo_data_uri=logo_data_uri(PNG_1x1), primary_color="#0a7")
    rendered = renderer.render(sample_prospectus_input(branding=branding))
    first_page = PdfReader(io.BytesIO(rendered.pdf)).pages[0]
    assert len(first_page.images) == 1
    assert "--primary: #0a7;" in rendered.html


def test_fetcher_serves_data_uris_and_template_files(tmp_path):
    (tmp_path / "mark.png").write_bytes(PNG_1x1)
    fetcher = LocalOnlyUrlFetcher(tmp_path)
    response = fetcher.fetch(f"data:image/png;base64,{base64.b64encode(PNG_1x1).decode()}")
    assert response.read() == PNG_1x1
    response = fetcher.fetch((tmp_path / "mark.png").as_uri())
    assert response.read() == PNG_1x1
    assert response.content_type == "image/png"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.com/x.png",
        "ftp://example.com/x.png",
        "file://example.com/etc/passwd",
        "file:///etc/passwd",
    ],
)
def test_fetcher_refuses_the_network_and_files_elsewhere(tmp_path, url):
    with pytest.raises(RefusedResourceError):
        LocalOnlyUrlFetcher(tmp_path).fetch(url)


def test_fetcher_refuses_paths_that_climb_out_of_the_template_dir(tmp_path):
    allowed = tmp_path / "templates"
    allowed.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    fetcher = LocalOnlyUrlFetcher(allowed)
    with pytest.raises(RefusedResourceError):
        fetcher.fetch(f"{allowed.as_uri()}/../secret.txt")
    (allowed / "link.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(RefusedResourceError):
        fetcher.fetch((allowed / "link.txt").as_uri())
