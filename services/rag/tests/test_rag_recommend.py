from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from catalog.demo import load_demo_catalog
from parley_contracts import NeedsProfile, ProductSnapshot
from pydantic import SecretStr
from rag.adapters.llm_narrative import LlmNarrativeWriter
from rag.adapters.openai_chat import ChatModelSettings, build_chat_model
from rag.adapters.product_facts import InMemoryProductFacts
from rag.domain.chunks import build_document_chunks, product_chunk_id, product_summary
from rag.domain.recommend import Recommender, RecommenderSettings, plan_search
from rag.domain.types import ChunkHit, SearchFilters
from servicekit.testing.openai_fake_chat import FakeOpenAIChat, FakeReply

CATALOG = load_demo_catalog()
FACTS = InMemoryProductFacts(CATALOG.products)


def product(slug: str) -> ProductSnapshot:
    return CATALOG.product_by_slug(slug)


def hits_for(slug: str, score: float) -> list[ChunkHit]:
    """The product's summary chunk and its document passages, as the index would return them."""
    item = product(slug)
    hits = [
        ChunkHit(
            chunk_id=product_chunk_id(item.id),
            product_id=item.id,
            kind="product",
            text=product_summary(item),
            score=score,
        )
    ]
    for document in CATALOG.documents_for(item.id):
        for chunk in build_document_chunks(item, document.id, document.text):
            hits.append(
                ChunkHit(
                    chunk_id=chunk.chunk_id,
                    product_id=item.id,
                    kind="document",
                    document_id=document.id,
                    text=chunk.text,
                    score=score - 0.05,
                )
            )
    return hits


class StubRetriever:
    """Returns the scripted hits whatever the filters: proves the recommender re-checks eligibility."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.hits = [hit for slug, score in scores.items() for hit in hits_for(slug, score)]
        self.calls: list[tuple[str, SearchFilters, int]] = []

    async def search(self, query: str, filters: SearchFilters, k: int) -> list[ChunkHit]:
        self.calls.append((query, filters, k))
        return sorted(self.hits, key=lambda h: -h.score)[:k]


TERM_SCORES = {
    "meridian-family-shield-term": 0.62,
    "harborline-secure-term-30": 0.64,
    "bluestone-senior-term-15": 0.60,
}


def needs(**fields: Any) -> NeedsProfile:
    return NeedsProfile.model_validate(fields)


async def recommend(scores: dict[str, float], profile: NeedsProfile, **kwargs: Any) -> Any:
    retriever = StubRetriever(scores)
    outcome = await Recommender(retriever, FACTS, **kwargs).recommend(profile)
    return outcome, retriever


def slugs(outcome: Any) -> list[str]:
    by_id = {pid: slug for slug, pid in CATALOG.product_slugs.items()}
    return [by_id[item.product_id] for item in outcome.recommendation.items]


def test_search_plan_turns_needs_into_query_and_filters() -> None:
    plan = plan_search(
        needs(
            coverage_type=["life", "critical_illness"],
            age=42,
            goals=["protect my family"],
            budget_range={"max": 1200, "currency": "USD", "period": "YEARLY"},
        ),
        [c.name for c in CATALOG.categories],
        RecommenderSettings(),
    )
    assert plan.filters.category_names == ["Term Life", "Critical Illness"]
    assert plan.filters.age == 42
    # USD 1,200 a year is 100 a month; "clearly beyond budget" starts 20% above it.
    assert plan.filters.max_monthly_premium == pytest.approx(120)
    assert plan.query.startswith("term life insurance; critical illness cover")
    assert "protect my family" in plan.query and "budget up to USD 1,200 per year" in plan.query


async def test_products_outside_the_age_band_never_appear_even_if_retrieved() -> None:
    outcome, retriever = await recommend(TERM_SCORES, needs(coverage_type=["life"], age=32))
    assert "bluestone-senior-term-15" not in slugs(outcome)
    assert [e.name for e in outcome.excluded] == ["Bluestone Senior Term 15"]
    assert "accepts ages 50 to 70, the prospect is 32" in outcome.excluded[0].reasons
    assert retriever.calls[0][1] == SearchFilters(category_names=["Term Life"], age=32)


@pytest.mark.parametrize(("budget", "appears"), [(21.0, True), (20.6, False)])
async def test_a_premium_more_than_20_percent_over_budget_never_appears(budget: float, appears: bool) -> None:
    # Harborline's cheapest premium is USD 25 a month: 19% over 21, 21% over 20.6.
    outcome, _ = await recommend(
        {"harborline-secure-term-30": 0.6},
        needs(
            coverage_type=["life"],
            age=30,
            budget_range={"max": budget, "currency": "USD", "period": "MONTHLY"},
        ),
    )
    assert ("harborline-secure-term-30" in slugs(outcome)) is appears
    assert outcome.recommendation.nothing_fits is not appears


async def test_nothing_fits_says_why_and_lists_nothing() -> None:
    outcome, retriever = await recommend(TERM_SCORES, needs(coverage_type=["life"], age=80))
    recommendation = outcome.recommendation
    assert recommendation.nothing_fits and recommendation.items == [] and recommendation.narrative == ""
    assert recommendation.nothing_fits_reason == (
        "Nothing in the catalog fits: no Term Life product accepts applicants aged 80 (entry ages range from 18 to 70)."
    )
    # The diagnosis searched again without the age and budget filters.
    assert retriever.calls[1][1] == SearchFilters(category_names=["Term Life"])


async def test_nothing_fits_when_no_category_serves_the_coverage() -> None:
    life_only = InMemoryProductFacts([p for p in CATALOG.products if p.category_name == "Term Life"])
    outcome = await Recommender(StubRetriever(TERM_SCORES), life_only).recommend(
        needs(coverage_type=["motor"])
    )
    assert outcome.recommendation.nothing_fits_reason == "The catalog has no products for motor."


async def test_low_risk_prospects_are_not_offered_high_risk_products() -> None:
    scores = {"cedar-growth-ulip": 0.7, "harborline-guaranteed-savings": 0.5}
    risky, _ = await recommend(scores, needs(coverage_type=["investment"], age=40, risk_tolerance="high"))
    careful, _ = await recommend(scores, needs(coverage_type=["investment"], age=40, risk_tolerance="low"))
    assert slugs(risky)[0] == "cedar-growth-ulip"
    assert slugs(careful) == ["harborline-guaranteed-savings"]


async def test_family_fit_ranks_the_family_product_first_at_similar_relevance() -> None:
    profile = dict(coverage_type=["life"], age=35, goals=["protect my family"])
    family, _ = await recommend(
        TERM_SCORES, needs(**profile, dependents=[{"relation": "wife"}, {"relation": "child"}])
    )
    single, _ = await recommend(TERM_SCORES, needs(**profile))
    assert slugs(family)[0] == "meridian-family-shield-term"
    assert slugs(single)[0] == "harborline-secure-term-30"
    scores = [item.score for item in family.recommendation.items]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)


async def test_each_wanted_coverage_type_gets_its_best_product() -> None:
    scores = {**TERM_SCORES, "lumen-family-floater-care": 0.30}
    outcome, _ = await recommend(
        scores, needs(coverage_type=["life", "health"], age=35, dependents=[{"relation": "wife"}])
    )
    assert "lumen-family-floater-care" in slugs(outcome)
    assert len(slugs(outcome)) == 3


@pytest.mark.parametrize(("top_k", "count"), [(None, 3), (1, 1), (9, 5)])
async def test_top_k_defaults_to_3_and_is_capped_at_5(top_k: int | None, count: int) -> None:
    scores = {slug: 0.5 for slug in CATALOG.product_slugs}
    outcome = await Recommender(StubRetriever(scores), FACTS).recommend(needs(age=40), top_k=top_k)
    assert len(outcome.recommendation.items) == count


async def test_items_carry_rationale_key_benefits_and_citations_from_the_catalog() -> None:
    outcome, _ = await recommend(
        TERM_SCORES,
        needs(
            coverage_type=["life"],
            age=32,
            dependents=[{"relation": "wife"}],
            budget_range={"max": 60, "currency": "USD", "period": "MONTHLY"},
        ),
    )
    item = outcome.recommendation.items[0]
    meridian = product("meridian-family-shield-term")
    assert (
        item.product_id == meridian.id
        and item.insurer == "Meridian Mutual"
        and item.category_name == "Term Life"
    )
    assert set(item.key_benefits) <= set(meridian.coverage_highlights) and len(item.key_benefits) == 3
    assert "Eligibility: ages 21 to 55; you are 32." in item.rationale
    assert (
        "Premiums start at USD 35 per month, within your budget of up to USD 60 per month." in item.rationale
    )
    citations = item.citations
    assert citations[0].chunk_id == product_chunk_id(meridian.id) and citations[0].source == "product"
    assert citations[0].excerpt.startswith("Meridian Family Shield Term: Term Life insurance")
    assert 1 <= len(citations[1:]) <= 2 and {c.source for c in citations[1:]} == {"document"}
    assert all(c.product_id == meridian.id and len(c.excerpt) <= 301 for c in citations)
    assert citations[1].document_id == CATALOG.documents_for(meridian.id)[0].id


async def test_the_offline_narrative_states_only_traceable_facts() -> None:
    outcome, _ = await recommend(
        TERM_SCORES, needs(coverage_type=["life"], age=32, goals=["protect my family"])
    )
    recommendation = outcome.recommendation
    assert recommendation.mode == "offline"
    assert outcome.grounding.clean
    assert recommendation.narrative.startswith(
        "Based on what you told us (life cover; age 32; protect my family)"
    )
    assert "Harborline Secure Term 30 from Harborline Life:" in recommendation.narrative


async def test_a_budget_in_another_currency_is_not_compared_and_the_outcome_says_so() -> None:
    outcome, retriever = await recommend(
        TERM_SCORES,
        needs(
            coverage_type=["life"], age=30, budget_range={"max": 1, "currency": "INR", "period": "MONTHLY"}
        ),
    )
    assert retriever.calls[0][1].max_monthly_premium is None
    assert len(outcome.recommendation.items) == 2
    assert outcome.notes == (
        "The budget is in INR and premiums are in USD: the budget was not used to filter products.",
    )


async def test_a_product_deleted_since_indexing_is_skipped() -> None:
    facts = InMemoryProductFacts(CATALOG.products)
    facts.remove(product("harborline-secure-term-30").id)
    outcome = await Recommender(StubRetriever(TERM_SCORES), facts).recommend(
        needs(coverage_type=["life"], age=30)
    )
    assert slugs(outcome) == ["meridian-family-shield-term"]


# -- keyed mode: the narrative comes from an LLM behind the OpenAI protocol fake ------------------------------


@pytest.fixture
def fake() -> Iterator[FakeOpenAIChat]:
    with FakeOpenAIChat() as server:
        yield server


def llm_writer(fake: FakeOpenAIChat) -> LlmNarrativeWriter:
    settings = ChatModelSettings(
        model="gpt-4o-mini", api_key=SecretStr(fake.api_key), base_url=fake.base_url, max_retries=0
    )
    return LlmNarrativeWriter(build_chat_model(settings))


def narrative_answer(narrative: str, rationales: Sequence[tuple[str, str]]) -> FakeReply:
    return FakeReply.json(
        {
            "narrative": narrative,
            "rationales": [
                {"product_id": str(product(slug).id), "rationale": text} for slug, text in rationales
            ],
        }
    )


async def test_llm_narrative_loses_the_sentence_with_an_invented_figure(fake: FakeOpenAIChat) -> None:
    fake.enqueue(
        narrative_answer(
            "Meridian Family Shield Term covers you and your spouse in one policy. "
            "It also pays a $50,000 bonus after 10 claim-free years. "
            "Harborline Secure Term 30 keeps the premium fixed for the whole term.",
            [
                (
                    "meridian-family-shield-term",
                    "Child cover of $10,000 per child is included at no extra cost.",
                ),
                ("harborline-secure-term-30", "It pays 75% of the cover early on terminal illness."),
            ],
        )
    )
    profile = needs(coverage_type=["life"], age=32, dependents=[{"relation": "wife"}, {"relation": "child"}])
    outcome, _ = await recommend(TERM_SCORES, profile, narrator=llm_writer(fake))
    recommendation = outcome.recommendation
    assert recommendation.mode == "llm"
    assert recommendation.narrative == (
        "Meridian Family Shield Term covers you and your spouse in one policy. "
        "Harborline Secure Term 30 keeps the premium fixed for the whole term."
    )
    meridian, harborline = recommendation.items
    assert meridian.rationale == "Child cover of $10,000 per child is included at no extra cost."
    # Every sentence of Harborline's model rationale failed: the catalog-only rationale stands in.
    assert harborline.rationale.startswith(
        "Harborline Secure Term 30 is a Term Life plan (term) from Harborline Life."
    )
    dropped = {(d.where, d.sentence) for d in outcome.grounding.dropped}
    assert dropped == {
        ("narrative", "It also pays a $50,000 bonus after 10 claim-free years."),
        (f"rationale:{harborline.product_id}", "It pays 75% of the cover early on terminal illness."),
    }
    # The model was given the sources it may use, and asked for strict JSON.
    (request,) = fake.requests
    assert request.response_format is not None and request.response_format["json_schema"]["strict"] is True
    assert "Child cover of $10,000 per child" in request.message_text("user")


async def test_llm_narrative_naming_an_excluded_product_loses_that_sentence(fake: FakeOpenAIChat) -> None:
    fake.enqueue(
        narrative_answer(
            "Harborline Secure Term 30 is a solid choice. Bluestone Senior Term 15 is another option for you.",
            [],
        )
    )
    outcome, _ = await recommend(
        TERM_SCORES, needs(coverage_type=["life"], age=32), narrator=llm_writer(fake)
    )
    assert outcome.recommendation.narrative == "Harborline Secure Term 30 is a solid choice."
    assert "bluestone senior term 15" in outcome.grounding.dropped[0].reason


@pytest.mark.parametrize(
    "reply",
    [
        FakeReply.text("Here are your plans: ..."),
        FakeReply.json({"story": "x"}),
        FakeReply.error(503, "overloaded", "server_error"),
    ],
)
async def test_unusable_llm_narrative_falls_back_to_the_template(
    fake: FakeOpenAIChat, reply: FakeReply
) -> None:
    fake.enqueue(reply)
    profile = needs(coverage_type=["life"], age=32)
    keyed, _ = await recommend(TERM_SCORES, profile, narrator=llm_writer(fake))
    offline, _ = await recommend(TERM_SCORES, profile)
    assert keyed.recommendation.mode == "offline"
    assert keyed.recommendation.narrative == offline.recommendation.narrative
    assert [i.rationale for i in keyed.recommendation.items] == [
        i.rationale for i in offline.recommendation.items
    ]
