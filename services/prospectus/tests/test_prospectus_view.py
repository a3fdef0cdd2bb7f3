from datetime import UTC, datetime

from prospectus.domain.models import Branding
from prospectus.domain.view import NOT_STATED, build_view
from prospectus.domain.wording import RANGE_DASH
from prospectus.testing.factories import sample_prospectus_input


def test_each_row_carries_only_its_own_product_facts():
    data = sample_prospectus_input()
    view = build_view(data)
    assert [row.product_id for row in view.products] == [str(i.product_id) for i in data.recommendation.items]
    for row, item in zip(view.products, data.recommendation.items, strict=True):
        product = data.product(item.product_id)
        assert row.name == product.name
        assert row.insurer == product.insurer
        assert row.exclusions == tuple(product.exclusions)
        assert row.riders == tuple(product.riders)
        assert row.rationale == item.rationale


def test_row_wording_for_premium_cover_and_eligibility():
    term, health, saver = build_view(sample_prospectus_input()).products
    assert term.premium == f"USD 25 {RANGE_DASH} 60 per month"
    assert health.premium == f"USD 480 {RANGE_DASH} 1,200.50 per year"
    assert term.cover == "USD 250,000 to 1,000,000"
    assert term.eligibility == f"Ages 18{RANGE_DASH}60"
    # Missing facts are said to be missing, not filled in.
    assert saver.premium == "On request"
    assert saver.cover == NOT_STATED


def test_key_benefits_prefer_the_recommenders_pick_then_the_catalog():
    data = sample_prospectus_input()
    term, health, _ = build_view(data).products
    assert term.key_benefits == tuple(data.recommendation.items[0].key_benefits)
    assert data.recommendation.items[1].key_benefits == []
    assert health.key_benefits == tuple(data.products[1].coverage_highlights)


def test_document_date_is_the_leads_local_date():
    data = sample_prospectus_input()  # 2025-11-21 20:30 UTC is already the 22nd in Asia/Kolkata
    assert build_view(data).document_date == "22 November 2025"
    elsewhere = data.model_copy(
        update={"lead": data.lead.model_copy(update={"timezone": "America/New_York"})}
    )
    assert build_view(elsewhere).document_date == "21 November 2025"


def test_unknown_timezone_falls_back_to_utc():
    data = sample_prospectus_input()
    data = data.model_copy(
        update={
            "lead": data.lead.model_copy(update={"timezone": "Mars/Olympus_Mons"}),
            "generated_at": datetime(2025, 1, 31, 23, 59, tzinfo=UTC),
        }
    )
    assert build_view(data).document_date == "31 January 2025"


def test_claim_faq_lists_the_catalogs_claim_steps_per_product():
    data = sample_prospectus_input()
    claims = next(entry for entry in build_view(data).faq if entry.question == "How do I make a claim?")
    # Child Future Saver has no claim steps on file, so it gets no (invented) list.
    assert [group.label for group in claims.lists] == ["Family Term Shield", "Health Plus Family Floater"]
    assert claims.lists[0].items == tuple(data.products[0].claim_process)


def test_claim_faq_without_steps_points_to_the_policy_documents_and_agent():
    data = sample_prospectus_input()
    data = data.model_copy(
        update={"products": [p.model_copy(update={"claim_process": []}) for p in data.products]}
    )
    claims = next(entry for entry in build_view(data).faq if entry.question == "How do I make a claim?")
    assert claims.lists == ()
    assert "policy documents" in claims.paragraphs[0]
    assert data.agent.name in claims.paragraphs[0]


def test_nothing_fits_variant_has_no_products_and_explains_why():
    view = build_view(sample_prospectus_input(nothing_fits=True))
    assert view.nothing_fits
    assert view.products == ()
    assert view.nothing_fits_reason.startswith("None of our plans")
    assert view.faq[0].question == "Why are no products suggested?"
    assert not any("premium" in entry.question.lower() for entry in view.faq)


def test_next_steps_name_the_agent_and_how_to_reach_them():
    data = sample_prospectus_input()
    steps = " ".join(build_view(data).next_steps)
    assert data.agent.email in steps
    assert data.agent.phone is not None and data.agent.phone in steps
    without_phone = data.model_copy(update={"agent": data.agent.model_copy(update={"phone": None})})
    assert " or on " not in " ".join(build_view(without_phone).next_steps)


def test_disclaimers_cover_advice_underwriting_and_company_notices():
    branding = Branding(
        company_name="Acme", legal_notices=["Acme Brokers Ltd is licensed by the regulator, no. 42"]
    )
    disclaimers = build_view(sample_prospectus_input(branding=branding)).disclaimers
    text = " ".join(disclaimers)
    assert "not financial advice" in text
    assert "indicative and subject to underwriting" in text
    assert disclaimers[-1] == "Acme Brokers Ltd is licensed by the regulator, no. 42"


def test_empty_needs_are_acknowledged_not_left_blank():
    data = sample_prospectus_input()
    data = data.model_copy(
        update={
            "needs": data.needs.model_copy(
                update={
                    "coverage_type": [],
                    "budget_range": None,
                    "dependents": [],
                    "goals": [],
                    "existing_policy": None,
                    "urgency": None,
                }
            )
        }
    )
    (sentence,) = build_view(data).needs_sentences
    assert "did not record specific needs" in sentence
