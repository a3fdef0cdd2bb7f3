"""Plain-language text built only from catalog facts and the prospect's stated needs (offline mode).

The sentences reuse the catalog's own wording and figures (as the product summary chunk states them)
so that the grounding check can trace every one of them; nothing here is derived or estimated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from parley_contracts import BudgetRange, NeedsProfile, ProductSnapshot

from .chunks import format_amount
from .ports import NarrativeDraft, NarrativeSource
from .vocabulary import CoverageType, parse_coverage_types

# The catalog summary chunk's wording (chunks.product_summary), so template sentences match their source.
_PERIOD_PHRASE = {
    "MONTHLY": "per month",
    "QUARTERLY": "per quarter",
    "YEARLY": "per year",
    "SINGLE": "as a single premium",
}
_COVERAGE_LABEL: dict[CoverageType, str] = {
    CoverageType.LIFE: "life cover",
    CoverageType.HEALTH: "health cover",
    CoverageType.CRITICAL_ILLNESS: "critical illness cover",
    CoverageType.INVESTMENT: "investment and savings",
    CoverageType.CHILD_EDUCATION: "child education savings",
    CoverageType.RETIREMENT: "retirement income",
    CoverageType.MOTOR: "motor cover",
    CoverageType.TRAVEL: "travel cover",
    CoverageType.HOME: "home cover",
}
_RELATION_PLURAL = {"child": "children", "son": "sons", "daughter": "daughters", "parent": "parents"}


def describe_budget(budget: BudgetRange) -> str | None:
    period = _PERIOD_PHRASE[budget.period.value]
    if budget.min is not None and budget.max is not None and budget.min != budget.max:
        return f"{budget.currency} {format_amount(budget.min)} to {format_amount(budget.max)} {period}"
    if budget.max is not None:
        return f"up to {budget.currency} {format_amount(budget.max)} {period}"
    if budget.min is not None:
        return f"at least {budget.currency} {format_amount(budget.min)} {period}"
    return None


def describe_family(needs: NeedsProfile) -> str | None:
    counts = Counter(d.relation for d in needs.dependents)
    parts = []
    for relation, count in counts.items():
        ages = [str(d.age) for d in needs.dependents if d.relation == relation and d.age is not None]
        label = relation if count == 1 else f"{count} {_RELATION_PLURAL.get(relation, relation + 's')}"
        parts.append(f"{label} (aged {' and '.join(ages)})" if ages else label)
    return ", ".join(parts) if parts else None


def describe_needs(needs: NeedsProfile) -> list[str]:
    """The needs as short phrases: "life cover", "age 42", "budget up to USD 250 per month", ..."""
    phrases = [_COVERAGE_LABEL[c] for c in parse_coverage_types(needs.coverage_type)]
    if needs.age is not None:
        phrases.append(f"age {needs.age}")
    family = describe_family(needs)
    if family:
        phrases.append(f"family: {family}")
    budget = describe_budget(needs.budget_range) if needs.budget_range else None
    if budget:
        phrases.append(f"budget {budget}")
    phrases.extend(needs.goals)
    if needs.risk_tolerance:
        phrases.append(f"{needs.risk_tolerance} risk tolerance")
    return phrases


def premium_phrase(product: ProductSnapshot) -> str | None:
    premium = product.premium_range
    if premium is None:
        return None
    return f"{premium.currency} {format_amount(premium.min)} {_PERIOD_PHRASE[premium.period.value]}"


def template_rationale(
    product: ProductSnapshot, needs: NeedsProfile, within_budget: bool | None, matched_tags: Sequence[str]
) -> str:
    """Why this product: what it is, who it accepts, its price against the budget, what fits the prospect.

    `within_budget` is None when the budget cannot be compared (none stated, or another currency).
    """
    sentences = [
        f"{product.name} is a {product.category_name} plan ({product.plan_type}) from {product.insurer}."
    ]
    eligibility = f"Eligibility: ages {product.eligibility.min_age} to {product.eligibility.max_age}"
    sentences.append(f"{eligibility}; you are {needs.age}." if needs.age is not None else f"{eligibility}.")
    premium = premium_phrase(product)
    budget = describe_budget(needs.budget_range) if needs.budget_range else None
    if premium and budget and within_budget is not None:
        relation = "within" if within_budget else "slightly above"
        sentences.append(f"Premiums start at {premium}, {relation} your budget of {budget}.")
    elif premium:
        sentences.append(f"Premiums start at {premium}.")
    if matched_tags:
        sentences.append(f"Relevant to you: {', '.join(matched_tags)}.")
    return " ".join(sentences)


class TemplateNarrativeWriter:
    """The offline narrative: an introduction from the needs, then each product's first highlight."""

    async def write(self, needs: NeedsProfile, sources: Sequence[NarrativeSource]) -> NarrativeDraft:
        return NarrativeDraft(narrative=template_narrative(needs, sources), mode="offline")


def template_narrative(needs: NeedsProfile, sources: Sequence[NarrativeSource]) -> str:
    if not sources:
        return ""
    summary = "; ".join(describe_needs(needs))
    # No count: "these 3 products" would be a figure the sources do not state.
    subject = "this catalog product fits" if len(sources) == 1 else "these catalog products fit"
    intro = (
        f"Based on what you told us ({summary}), {subject} best."
        if summary
        else f"{subject.capitalize()} best."
    )
    lines = [intro]
    for source in sources:
        product = source.product
        benefit = source.key_benefits[0] if source.key_benefits else product.description
        lines.append(
            f"{product.name} from {product.insurer}: {benefit.rstrip('.')}."
            if benefit
            else f"{product.name}."
        )
    return " ".join(lines)
