from __future__ import annotations

from uuid import UUID

from catalog.demo import html_to_text, load_demo_catalog
from parley_contracts import ProductSnapshot

catalog = load_demo_catalog()


def test_catalog_has_enough_products_and_categories() -> None:
    assert len(catalog.products) >= 15
    assert len({p.category_name for p in catalog.products}) >= 6
    assert {c.name for c in catalog.categories} == {p.category_name for p in catalog.products}


def test_every_product_has_every_field_of_spec_2b() -> None:
    for product in catalog.products:
        for name in ProductSnapshot.model_fields:
            if name in ("riders", "updated_at"):
                continue  # a product may honestly have no riders
            assert getattr(product, name) not in (None, "", [], {}), (product.name, name)
        assert 0 <= product.eligibility.min_age < product.eligibility.max_age <= 120
        assert product.premium_range is not None and 0 < product.premium_range.min < product.premium_range.max


def test_ids_and_names_are_unique_and_stable() -> None:
    assert (
        len({p.id for p in catalog.products})
        == len({p.name for p in catalog.products})
        == len(catalog.products)
    )
    # Seeds, tests and the evaluation set refer to these ids: they must never change.
    assert catalog.product_slugs["harborline-secure-term-30"] == UUID("b43a67b5-5508-5569-943b-dee140ef7871")
    assert catalog.product_by_slug("harborline-secure-term-30").name == "Harborline Secure Term 30"


def test_documents_belong_to_products_and_carry_concrete_facts() -> None:
    assert len({d.product_id for d in catalog.documents}) >= 8
    by_id = {p.id: p for p in catalog.products}
    for document in catalog.documents:
        product = by_id[document.product_id]
        assert document.category_id == product.category_id
        assert document.content_type in ("text/plain", "text/html")
        assert document.text.strip() and "<" not in document.text
        slug = next(slug for slug, product_id in catalog.product_slugs.items() if product_id == product.id)
        assert document.filename.startswith(slug)
    wording = catalog.documents_for(catalog.product_slugs["lumen-individual-health-plus"])[0].text
    assert "24 months" in wording and "within 15 days" in wording


def test_html_documents_are_reduced_to_their_visible_text() -> None:
    text = html_to_text(
        "<html><head><style>p{}</style><title>T</title></head><body><h1>Plan</h1><p>Cover &amp; care</p>"
        "<table><tr><td>Age</td><td>18 to 60</td></tr></table><script>x()</script></body></html>"
    )
    assert text == "T\nPlan\nCover & care\nAge | 18 to 60"
