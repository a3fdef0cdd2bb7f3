"""The prospectus as plain values ready for a template: every sentence decided here, none in HTML.

Keeping the wording out of the template makes it testable without rendering, and keeps the
template a layout that can only print values (autoescaped), never compute them.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parley_contracts import ProductSnapshot, RecommendedProduct

from .models import AgentContact, Branding, ProspectusInput
from .wording import format_age_range, format_premium, summarize_needs

NOT_STATED = "Not stated"


@dataclass(frozen=True)
class ProductRow:
    """One product in the comparison table; every value comes from the catalog snapshot or the
    recommendation for that product, so the row is traceable to `product_id`."""

    product_id: str
    name: str
    insurer: str
    category: str
    plan_type: str
    premium: str
    cover: str
    eligibility: str
    key_benefits: tuple[str, ...]
    exclusions: tuple[str, ...]
    riders: tuple[str, ...]
    rationale: str


@dataclass(frozen=True)
class LabelledList:
    label: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class FaqEntry:
    question: str
    paragraphs: tuple[str, ...]
    lists: tuple[LabelledList, ...] = ()


@dataclass(frozen=True)
class ProspectusView:
    title: str
    lead_name: str
    document_date: str
    version: int
    intro: str
    needs_sentences: tuple[str, ...]
    narrative: str
    nothing_fits: bool
    nothing_fits_reason: str
    products: tuple[ProductRow, ...]
    next_steps: tuple[str, ...]
    faq: tuple[FaqEntry, ...]
    disclaimers: tuple[str, ...]
    agent: AgentContact
    branding: Branding


def build_view(data: ProspectusInput) -> ProspectusView:
    agent = data.agent
    rows = (
        ()
        if data.nothing_fits
        else tuple(_product_row(item, data.product(item.product_id)) for item in data.recommendation.items)
    )
    needs_sentences = tuple(summarize_needs(data.needs)) or (
        "We did not record specific needs during our conversation, so please tell us if we missed anything.",
    )
    if data.nothing_fits:
        intro = (
            "Thank you for taking the time to talk with us. Below is a summary of what you told us. "
            "We looked carefully through the products we offer and did not find one that fits your needs "
            "well enough to suggest it."
        )
        next_steps = _nothing_fits_next_steps(agent)
        faq = (_faq_why_nothing_fits(), *_common_faq(agent))
    else:
        intro = (
            "Thank you for taking the time to talk with us. Below is a summary of what you told us, "
            "followed by the products that match it best, side by side."
        )
        next_steps = _next_steps(agent)
        faq = _product_faq(data, agent) + _common_faq(agent)
    return ProspectusView(
        title="Your insurance summary" if data.nothing_fits else "Your insurance options",
        lead_name=data.lead.name.strip(),
        document_date=_local_date(data),
        version=data.version,
        intro=intro,
        needs_sentences=needs_sentences,
        narrative=data.recommendation.narrative.strip(),
        nothing_fits=data.nothing_fits,
        nothing_fits_reason=(data.recommendation.nothing_fits_reason or "").strip(),
        products=rows,
        next_steps=next_steps,
        faq=faq,
        disclaimers=_disclaimers(data),
        agent=agent,
        branding=data.branding,
    )


def _product_row(item: RecommendedProduct, product: ProductSnapshot) -> ProductRow:
    eligibility = product.eligibility
    return ProductRow(
        product_id=str(product.id),
        name=product.name,
        insurer=product.insurer,
        category=product.category_name,
        plan_type=product.plan_type,
        premium=format_premium(product.premium_range),
        cover=product.cover_amount or NOT_STATED,
        eligibility=format_age_range(eligibility.min_age, eligibility.max_age),
        # The recommender picks the benefits relevant to this lead; without them, the catalog's list.
        key_benefits=tuple(item.key_benefits or product.coverage_highlights),
        exclusions=tuple(product.exclusions),
        riders=tuple(product.riders),
        rationale=item.rationale.strip(),
    )


def _local_date(data: ProspectusInput) -> str:
    """The generation date as the lead would read it, in their timezone."""
    try:
        zone = ZoneInfo(data.lead.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = data.generated_at.astimezone(zone)
    return f"{local.day} {local:%B %Y}"


def _how_to_reach(agent: AgentContact) -> str:
    return f"{agent.name} at {agent.email}" + (f" or on {agent.phone}" if agent.phone else "")


def _next_steps(agent: AgentContact) -> tuple[str, ...]:
    return (
        "Take your time to read this summary and the insurer's policy documents for any plan you like.",
        f"If you have questions, or your situation has changed, contact {_how_to_reach(agent)}.",
        f"When you are ready to apply, {agent.name} will help you complete the insurer's application. "
        "The insurer confirms the final premium and terms after underwriting.",
        "There is no obligation to buy: nothing happens until you decide to apply.",
    )


def _nothing_fits_next_steps(agent: AgentContact) -> tuple[str, ...]:
    return (
        f"If we misunderstood something, or your needs change, contact {_how_to_reach(agent)} "
        "and we will look again.",
        "You may also want to speak to an independent financial adviser about options outside our range.",
    )


def _faq_why_nothing_fits() -> FaqEntry:
    return FaqEntry(
        question="Why are no products suggested?",
        paragraphs=(
            "We only suggest a product when its published terms match what you told us, for example "
            "your age, the cover you want and your budget. Suggesting a product that does not fit "
            "would not be in your interest.",
        ),
    )


def _product_faq(data: ProspectusInput, agent: AgentContact) -> tuple[FaqEntry, ...]:
    claim_steps = tuple(
        LabelledList(label=product.name, items=tuple(product.claim_process))
        for product in (data.product(item.product_id) for item in data.recommendation.items)
        if product.claim_process
    )
    claim_intro = (
        "The insurer handles claims. These are the main steps for each plan, from the insurer's information:"
        if claim_steps
        else f"The insurer handles claims and describes the process in its policy documents; {agent.name} "
        "can walk you through it."
    )
    return (
        FaqEntry(
            question="Are the premiums in this document final?",
            paragraphs=(
                "No. They are indicative ranges from the insurer's published information. The insurer sets "
                "the final premium after underwriting; it can depend on your age, health, lifestyle and the "
                "cover you choose.",
            ),
        ),
        FaqEntry(
            question="Can I change my mind after buying a policy?",
            paragraphs=(
                "Many policies have a free-look (cooling-off) period after you receive the policy documents, "
                "during which you can cancel. How long it lasts and whether anything is deducted depends on "
                "the insurer and local regulations, so please check the policy documents.",
            ),
        ),
        FaqEntry(question="How do I make a claim?", paragraphs=(claim_intro,), lists=claim_steps),
        FaqEntry(
            question="What is not covered?",
            paragraphs=(
                "Every policy has exclusions. The main exclusions we hold for each plan are in the comparison "
                "table; the insurer's policy wording has the complete list.",
            ),
        ),
    )


def _common_faq(agent: AgentContact) -> tuple[FaqEntry, ...]:
    return (
        FaqEntry(
            question="Do I have to decide now?",
            paragraphs=(
                "No. Take the time you need; if your circumstances change, let us know and we will look again.",
            ),
        ),
        FaqEntry(
            question="How do I stop receiving emails from you?",
            paragraphs=(
                f"Use the unsubscribe link in our email, or tell {agent.name}, and we will stop emailing you.",
            ),
        ),
    )


def _disclaimers(data: ProspectusInput) -> tuple[str, ...]:
    standard = (
        "This document summarises information for you; it is not financial advice. Please make sure a "
        "product is right for you before you apply, and seek independent advice if you are unsure.",
        "Premiums shown are indicative and subject to underwriting. The insurer sets the final premium and "
        "terms.",
        "Product details are a summary of the information in our catalog on the date of this document. The "
        "insurer's policy wording is the contract and takes precedence over this summary.",
        "This summary was prepared with the help of automated tools, based on your conversation with our "
        "virtual assistant. If anything does not match what you told us, please let us know.",
    )
    return standard + tuple(notice for notice in data.branding.legal_notices if notice.strip())
