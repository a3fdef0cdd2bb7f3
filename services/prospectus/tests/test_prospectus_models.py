import base64
from uuid import uuid4

import pytest
from prospectus.domain.models import MAX_LOGO_BYTES, Branding, ProspectusInput, logo_data_uri
from prospectus.testing.factories import sample_prospectus_input
from pydantic import ValidationError

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.mark.parametrize(
    "colour", ["red", "#12345", "#1F4E79; } body { background: url(http://x) }", "1F4E79"]
)
def test_primary_colour_must_be_a_plain_hex_colour(colour):
    with pytest.raises(ValidationError):
        Branding(company_name="Acme", primary_color=colour)


def test_short_and_long_hex_colours_are_accepted():
    assert Branding(company_name="Acme", primary_color="#fa0").primary_color == "#fa0"
    assert Branding(company_name="Acme", primary_color="#FFAA00").primary_color == "#FFAA00"


@pytest.mark.parametrize(
    ("primary", "text"),
    [("#1F4E79", "#FFFFFF"), ("#000", "#FFFFFF"), ("#FFD700", "#111111"), ("#fff", "#111111")],
)
def test_text_on_primary_colour_keeps_contrast(primary, text):
    assert Branding(company_name="Acme", primary_color=primary).text_on_primary_color == text


@pytest.mark.parametrize(
    "logo",
    [
        "http://127.0.0.1/logo.png",
        "file:///etc/passwd",
        "data:text/html;base64,PGgxPmhpPC9oMT4=",
        'data:image/png;base64,iVBOR" onerror="alert(1)',
    ],
)
def test_logo_must_be_an_embedded_image(logo):
    with pytest.raises(ValidationError):
        Branding(company_name="Acme", logo_data_uri=logo)


def test_logo_file_bytes_become_a_data_uri_of_the_sniffed_type():
    uri = logo_data_uri(PNG_1x1)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == PNG_1x1
    assert Branding(company_name="Acme", logo_data_uri=uri).logo_data_uri == uri
    svg = logo_data_uri(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')
    assert svg.startswith("data:image/svg+xml;base64,")


def test_logo_that_is_not_an_image_or_too_large_is_refused():
    with pytest.raises(ValueError, match="PNG, JPEG"):
        logo_data_uri(b"%PDF-1.7 not an image")
    with pytest.raises(ValueError, match="limit"):
        logo_data_uri(PNG_1x1 + b"\0" * MAX_LOGO_BYTES)


def test_every_recommended_product_needs_its_catalog_snapshot():
    valid = sample_prospectus_input()
    dropped = valid.products[1]
    with pytest.raises(ValidationError, match=str(dropped.id)):
        ProspectusInput.model_validate(
            {**valid.model_dump(), "products": [p.model_dump() for p in valid.products if p.id != dropped.id]}
        )


def test_snapshots_of_products_not_recommended_are_allowed():
    valid = sample_prospectus_input()
    extra = valid.products[0].model_copy(update={"id": uuid4(), "name": "Unrelated"})
    data = ProspectusInput.model_validate({**valid.model_dump(), "products": [*valid.products, extra]})
    assert len(data.products) == 4


def test_nothing_fits_when_flagged_or_when_no_items():
    assert sample_prospectus_input(nothing_fits=True).nothing_fits
    assert not sample_prospectus_input().nothing_fits
    empty = sample_prospectus_input()
    empty = empty.model_copy(update={"recommendation": empty.recommendation.model_copy(update={"items": []})})
    assert empty.nothing_fits


def test_version_starts_at_one():
    with pytest.raises(ValidationError):
        ProspectusInput.model_validate({**sample_prospectus_input().model_dump(), "version": 0})
