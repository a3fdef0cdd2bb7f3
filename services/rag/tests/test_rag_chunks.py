from __future__ import annotations

import itertools
import re
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley_contracts import Eligibility, PremiumPeriod, PremiumRange, ProductSnapshot
from rag.domain.chunks import (
    ProductMetadata,
    TextSplitter,
    build_document_chunks,
    build_product_chunk,
    format_amount,
    product_summary,
)

PRODUCT_ID = UUID("7b0c2f1e-1d3a-4c55-9d1e-2f7f6c1b9a01")
DOCUMENT_ID = UUID("0e6a3f0b-8c11-4d0e-a1f2-5b9d7e3c4a10")


def make_product(**overrides: object) -> ProductSnapshot:
    fields: dict[str, object] = {
        "id": PRODUCT_ID,
        "name": "SecureLife Term 20",
        "category_id": uuid4(),
        "category_name": "Life",
        "insurer": "Northwind Assurance",
        "plan_type": "term",
        "eligibility": Eligibility(min_age=18, max_age=60, notes="Non-smokers get a lower rate."),
        "premium_range": PremiumRange(min=240, max=1200, period=PremiumPeriod.YEARLY, currency="USD"),
        "cover_amount": "USD 250,000 to 1,000,000",
        "coverage_highlights": ["Lump sum on death during the term", "Terminal illness benefit"],
        "exclusions": ["Suicide in the first year"],
        "riders": ["Accidental death rider"],
        "claim_process": ["Notify within 30 days", "Submit the death certificate"],
        "tags": ["family", "income protection"],
        "features": {
            "term_years": 20,
            "renewable": False,
            "payout": {"mode": "lump sum"},
            "options": ["a", "b"],
        },
        "description": "Affordable protection for young families.",
    }
    fields.update(overrides)
    return ProductSnapshot.model_validate(fields)


def test_product_summary_states_every_catalog_field_as_written() -> None:
    summary = product_summary(make_product())

    assert summary.startswith("SecureLife Term 20: Life insurance, term plan by Northwind Assurance.")
    for expected in (
        "Tags: family, income protection.",
        "Eligibility: ages 18 to 60. Non-smokers get a lower rate.",
        "Premium: USD 240 to 1,200 per year.",
        "Cover amount: USD 250,000 to 1,000,000.",
        "Affordable protection for young families.",
        "Coverage highlights: Lump sum on death during the term; Terminal illness benefit.",
        "Riders: Accidental death rider.",
        "Exclusions: Suicide in the first year.",
        "Claim process: Notify within 30 days; Submit the death certificate.",
        "Features: term years: 20; renewable: no; payout / mode: lump sum; options: a, b.",
    ):
        assert expected in summary


def test_product_summary_adds_no_figure_the_catalog_does_not_state() -> None:
    # The premium is yearly: a derived monthly amount (20, 100) must not appear in the cited text.
    figures = set(re.findall(r"\d[\d,]*(?:\.\d+)?", product_summary(make_product())))

    assert figures == {"18", "60", "240", "1,200", "250,000", "1,000,000", "30", "20"}


def test_product_summary_leaves_out_what_the_catalog_does_not_have() -> None:
    bare = make_product(
        premium_range=None,
        cover_amount=None,
        coverage_highlights=[],
        exclusions=[],
        riders=[],
        claim_process=[],
        tags=[],
        features={},
        description=None,
        eligibility=Eligibility(),
    )

    assert product_summary(bare) == (
        "SecureLife Term 20: Life insurance, term plan by Northwind Assurance.\nEligibility: ages 0 to 120."
    )


def test_product_chunk_has_a_stable_id_and_the_filter_metadata() -> None:
    chunk = build_product_chunk(make_product())

    assert chunk.chunk_id == f"product:{PRODUCT_ID}"
    assert chunk.kind == "product"
    assert chunk.document_id is None
    assert chunk.embedding_text == chunk.text
    assert chunk.product == ProductMetadata(
        product_id=PRODUCT_ID,
        product_name="SecureLife Term 20",
        category_name="Life",
        insurer="Northwind Assurance",
        plan_type="term",
        min_age=18,
        max_age=60,
        premium_min_monthly=20.0,
        premium_max_monthly=100.0,
        tags=("family", "income protection"),
    )
    assert build_product_chunk(make_product()) == chunk


def test_metadata_without_premium_has_no_monthly_range() -> None:
    metadata = ProductMetadata.from_snapshot(make_product(premium_range=None))

    assert (metadata.premium_min_monthly, metadata.premium_max_monthly) == (None, None)


def test_embedding_fingerprint_follows_the_embedded_text_only() -> None:
    chunk = build_product_chunk(make_product())
    renamed = build_product_chunk(make_product(name="SecureLife Term 25"))

    assert chunk.embedding_sha256 == build_product_chunk(make_product()).embedding_sha256
    assert renamed.embedding_sha256 != chunk.embedding_sha256


@pytest.mark.parametrize(("value", "text"), [(20, "20"), (1500, "1,500"), (20.5, "20.50"), (0.0, "0")])
def test_amounts_are_written_as_people_write_them(value: float, text: str) -> None:
    assert format_amount(value) == text


def paragraph(sentences: int, seed: int) -> str:
    return " ".join(
        f"Clause {seed}.{n} says the insurer pays hospital costs after a waiting period of {n + 2} months."
        for n in range(sentences)
    )


def test_document_chunks_have_positions_ids_and_product_context() -> None:
    text = "\n\n".join(paragraph(6, seed) for seed in range(5))

    chunks = build_document_chunks(make_product(), DOCUMENT_ID, text)

    assert len(chunks) > 3
    assert [chunk.chunk_id for chunk in chunks] == [f"doc:{DOCUMENT_ID}:{n}" for n in range(len(chunks))]
    assert [chunk.position for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.kind == "document"
        assert chunk.document_id == DOCUMENT_ID
        assert chunk.product.product_id == PRODUCT_ID
        assert chunk.embedding_text == f"SecureLife Term 20 (Life, Northwind Assurance): {chunk.text}"


def test_passages_close_at_paragraph_breaks_once_long_enough() -> None:
    # Paragraphs of ~560 chars: each fills a passage, and none is cut mid-paragraph.
    paragraphs = [paragraph(6, seed) for seed in range(4)]
    assert all(500 <= len(p) <= 800 for p in paragraphs)

    passages = TextSplitter(overlap_chars=0).split("\n\n".join(paragraphs))

    assert passages == paragraphs


def test_consecutive_passages_overlap_by_whole_sentences() -> None:
    passages = TextSplitter().split(paragraph(40, seed=1))

    assert len(passages) > 3
    for before, after in itertools.pairwise(passages):
        last_sentence = re.findall(r"Clause [^.]*\.\d+[^.]*\.", before)[-1]
        assert after.startswith(last_sentence)


def test_overlong_sentences_and_words_are_cut_to_the_limit() -> None:
    splitter = TextSplitter(max_chars=100, min_chars=60, overlap_chars=20)
    run_on = " ".join(["premium"] * 60)
    url = "https://example.com/" + "x" * 250

    passages = splitter.split(f"{run_on}\n\n{url}")

    assert all(len(p) <= 100 for p in passages)
    assert "".join(p for p in passages if "x" in p).count("x") >= 250


def test_pdf_line_wraps_are_joined_and_blank_text_has_no_chunks() -> None:
    splitter = TextSplitter()

    assert splitter.split("The waiting period\nis two years.\r\n\r\n  Claims are paid\tin 30 days.  ") == [
        "The waiting period is two years.\nClaims are paid in 30 days."
    ]
    assert splitter.split(" \n\n\t ") == []
    assert build_document_chunks(make_product(), DOCUMENT_ID, "") == []


@pytest.mark.parametrize(
    ("max_chars", "min_chars", "overlap_chars"), [(0, 0, 0), (500, 600, 100), (800, 500, 500), (800, 500, -1)]
)
def test_splitter_rejects_inconsistent_sizes(max_chars: int, min_chars: int, overlap_chars: int) -> None:
    with pytest.raises(ValueError):
        TextSplitter(max_chars=max_chars, min_chars=min_chars, overlap_chars=overlap_chars)


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=25)
sentences = st.lists(words, min_size=1, max_size=30).map(lambda ws: " ".join(ws) + ".")
paragraphs = st.lists(sentences, min_size=1, max_size=12).map(" ".join)
documents = st.lists(paragraphs, min_size=1, max_size=8).map("\n\n".join)


@settings(max_examples=150, deadline=None)
@given(text=documents, max_chars=st.integers(min_value=120, max_value=900))
def test_passages_respect_the_limit_and_lose_no_word(text: str, max_chars: int) -> None:
    splitter = TextSplitter(max_chars=max_chars, min_chars=max_chars * 2 // 3, overlap_chars=max_chars // 6)

    passages = splitter.split(text)

    assert passages
    assert all(0 < len(p) <= max_chars for p in passages)
    # Reading the passages in order, minus the overlap, gives back every word in order.
    source = text.split()
    remaining = iter(word for p in passages for word in p.split())
    assert all(any(word == seen for seen in remaining) for word in source)
    assert splitter.split(text) == passages
