"""Realistic prospectus inputs for tests, benches and local demos."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from parley_contracts import (
    BudgetRange,
    Dependent,
    Eligibility,
    ExistingPolicy,
    LeadSnapshot,
    NeedsProfile,
    PremiumPeriod,
    PremiumRange,
    ProductSnapshot,
    Recommendation,
    RecommendedProduct,
    Urgency,
)

from prospectus.domain.models import AgentContact, Branding, ProspectusInput


def stable_id(name: str) -> UUID:
    """The same UUID for the same name in every run, so failures are reproducible."""
    return uuid5(NAMESPACE_URL, f"https://parley.test/{name}")


def sample_products() -> list[ProductSnapshot]:
    life_category, health_category = stable_id("category/life"), stable_id("category/health")
    return [
        ProductSnapshot(
            id=stable_id("product/family-term-shield"),
            name="Family Term Shield",
            category_id=life_category,
            category_name="Life",
            insurer="Northwind Life",
            plan_type="term",
            eligibility=Eligibility(min_age=18, max_age=60),
            coverage_highlights=["Lump sum paid to your family on death", "Terminal illness benefit"],
            premium_range=PremiumRange(min=25, max=60, period=PremiumPeriod.MONTHLY, currency="USD"),
            cover_amount="USD 250,000 to 1,000,000",
            exclusions=[
                "Suicide within the first 12 months",
                "Death from undeclared pre-existing conditions",
            ],
            riders=["Accidental death benefit", "Waiver of premium"],
            claim_process=[
                "Call the insurer's claims line within 30 days",
                "Send the death certificate and policy number",
                "The insurer pays the nominee after review",
            ],
        ),
        ProductSnapshot(
            id=stable_id("product/health-plus-family"),
            name="Health Plus Family Floater",
            category_id=health_category,
            category_name="Health",
            insurer="Contoso Health",
            plan_type="health",
            eligibility=Eligibility(min_age=0, max_age=65),
            coverage_highlights=["Cashless treatment at network hospitals", "Day-care procedures"],
            premium_range=PremiumRange(min=480, max=1200.5, period=PremiumPeriod.YEARLY, currency="USD"),
            cover_amount="USD 50,000 per family per year",
            exclusions=["Cosmetic treatment", "Pre-existing conditions for the first 2 years"],
            riders=["Critical illness", "Maternity cover"],
            claim_process=[
                "Show your health card at a network hospital",
                "For other hospitals, file within 15 days",
            ],
        ),
        ProductSnapshot(
            id=stable_id("product/child-future-saver"),
            name="Child Future Saver",
            category_id=life_category,
            category_name="Life",
            insurer="Northwind Life",
            plan_type="endowment",
            eligibility=Eligibility(min_age=21, max_age=55),
            coverage_highlights=["Guaranteed payout at the child's 18th birthday"],
            premium_range=None,
            cover_amount=None,
            exclusions=[],
            riders=[],
            claim_process=[],
        ),
    ]


def sample_recommendation(products: list[ProductSnapshot]) -> Recommendation:
    rationales = {
        "Family Term Shield": "Fits your budget and gives your spouse and child a lump sum if you die.",
        "Health Plus Family Floater": "Covers the whole family under one plan, with cashless hospital care.",
        "Child Future Saver": "Builds a fund for your child's education.",
    }
    return Recommendation(
        items=[
            RecommendedProduct(
                product_id=product.id,
                name=product.name,
                category_name=product.category_name,
                insurer=product.insurer,
                score=0.9 - index * 0.1,
                rationale=rationales[product.name],
                key_benefits=product.coverage_highlights[:1] if index == 0 else [],
            )
            for index, product in enumerate(products)
        ],
        narrative="Two plans protect your family's income and health; a third saves for your child's future.",
        query="term life and health cover for a family of three, budget up to USD 60 per month",
    )


def sample_prospectus_input(
    *,
    lead_name: str = "Priya Raman",
    nothing_fits: bool = False,
    version: int = 1,
    branding: Branding | None = None,
) -> ProspectusInput:
    products = sample_products()
    recommendation = (
        Recommendation(
            nothing_fits=True,
            nothing_fits_reason="None of our plans accepts applicants over 70 for the cover you asked for.",
        )
        if nothing_fits
        else sample_recommendation(products)
    )
    return ProspectusInput(
        lead=LeadSnapshot(
            id=stable_id(f"lead/{lead_name}"),
            name=lead_name,
            phone="+15550100123",
            email="priya@example.com",
            timezone="Asia/Kolkata",
        ),
        needs=NeedsProfile(
            coverage_type=["term life", "health insurance"],
            budget_range=BudgetRange(min=30, max=60, currency="USD", period=PremiumPeriod.MONTHLY),
            dependents=[Dependent(relation="spouse", age=34), Dependent(relation="daughter", age=5)],
            goals=["protect the family's income", "pay for a good hospital if needed"],
            existing_policy=ExistingPolicy(has_policy=False),
            urgency=Urgency.MEDIUM,
            health_notes="Mild asthma",
            objections=["worried premiums will rise"],
        ),
        recommendation=recommendation,
        products=[] if nothing_fits else products,
        agent=AgentContact(
            name="Sam Okafor",
            email="sam.okafor@example.com",
            phone="+1 555 0100 200",
            title="Insurance advisor",
        ),
        branding=branding
        or Branding(company_name="Parley Insurance Brokers", footer_text="Licence no. 12345"),
        version=version,
        generated_at=datetime(2025, 11, 21, 20, 30, tzinfo=UTC),
    )
