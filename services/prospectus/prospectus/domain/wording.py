"""Turning structured facts into plain English: amounts, premium ranges, lists, the needs summary."""

from __future__ import annotations

from collections.abc import Sequence

from parley_contracts import BudgetRange, Dependent, NeedsProfile, PremiumPeriod, PremiumRange, Urgency

_PERIOD_WORDS: dict[PremiumPeriod, str] = {
    PremiumPeriod.MONTHLY: "per month",
    PremiumPeriod.QUARTERLY: "per quarter",
    PremiumPeriod.YEARLY: "per year",
    PremiumPeriod.SINGLE: "paid once (single premium)",
}

_URGENCY_SENTENCES: dict[Urgency, str] = {
    Urgency.HIGH: "You would like to have cover in place as soon as possible.",
    Urgency.MEDIUM: "You are planning to arrange cover in the near future.",
    Urgency.LOW: "There is no rush: you would like to take your time and compare options.",
}

_RISK_SENTENCES: dict[str, str] = {
    "low": "You prefer options with low investment risk.",
    "medium": "You are comfortable with a moderate level of investment risk.",
    "high": "You are comfortable with higher investment risk for the chance of higher returns.",
}

_CONTACT_MODE_WORDS: dict[str, str] = {
    "phone": "by phone",
    "email": "by email",
    "sms": "by text message",
    "whatsapp": "on WhatsApp",
}

# Between the two ends of a range ("USD 25 to 60" typeset): an en dash, not a hyphen.
RANGE_DASH = "\u2013"

# Words that already name the kind of product, so "cover" is not appended twice.
_PRODUCT_NOUNS = ("cover", "insurance", "plan", "policy", "protection", "assurance")


def format_amount(amount: float) -> str:
    """1200 -> '1,200'; 25.5 -> '25.50' (no decimals when the amount is whole)."""
    return f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"


def format_premium(premium: PremiumRange | None) -> str:
    if premium is None:
        return "On request"
    if premium.min == premium.max:
        amount = format_amount(premium.min)
    else:
        amount = f"{format_amount(premium.min)} {RANGE_DASH} {format_amount(premium.max)}"
    return f"{premium.currency} {amount} {_PERIOD_WORDS[premium.period]}"


def format_budget(budget: BudgetRange) -> str | None:
    """'between USD 30 and USD 60 per month', 'up to ...', 'from ...', or None when no amount was given."""
    period = _PERIOD_WORDS[budget.period]
    low = f"{budget.currency} {format_amount(budget.min)}" if budget.min is not None else None
    high = f"{budget.currency} {format_amount(budget.max)}" if budget.max is not None else None
    if low and high:
        return f"about {high} {period}" if budget.min == budget.max else f"between {low} and {high} {period}"
    if high:
        return f"up to {high} {period}"
    if low:
        return f"from {low} {period}"
    return None


def format_age_range(min_age: int, max_age: int) -> str:
    return f"Ages {min_age}{RANGE_DASH}{max_age}"


def join_words(items: Sequence[str]) -> str:
    """['a'] -> 'a'; ['a', 'b'] -> 'a and b'; ['a', 'b', 'c'] -> 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _describe_dependent(dependent: Dependent) -> str:
    relation = dependent.relation.strip()
    return f"your {relation}" if dependent.age is None else f"your {relation} (aged {dependent.age})"


def summarize_needs(needs: NeedsProfile) -> list[str]:
    """The needs profile as sentences addressed to the lead, in the order a person would say them.

    Health notes and objections are left out on purpose: the document is emailed, and health
    details are sensitive data that the email does not need; objections are notes for the agent.
    """
    sentences: list[str] = []
    cover = [item.strip() for item in needs.coverage_type if item.strip()]
    if cover:
        names_product = any(item.lower().endswith(_PRODUCT_NOUNS) for item in cover)
        sentences.append(f"You are interested in {join_words(cover)}{'' if names_product else ' cover'}.")
    if needs.dependents:
        people = [_describe_dependent(d) for d in needs.dependents]
        sentences.append(f"You would like the cover to look after {join_words(people)}.")
    budget = format_budget(needs.budget_range) if needs.budget_range else None
    if budget:
        sentences.append(f"Your budget is {budget}.")
    goals = [goal.strip().rstrip(".") for goal in needs.goals if goal.strip()]
    if goals:
        sentences.append(f"What matters most to you: {join_words(goals)}.")
    if needs.existing_policy is not None:
        if not needs.existing_policy.has_policy:
            sentences.append("You do not have an existing policy.")
        elif needs.existing_policy.details:
            sentences.append(
                f"You already have a policy: {needs.existing_policy.details.strip().rstrip('.')}."
            )
        else:
            sentences.append("You already have a policy.")
    if needs.urgency is not None:
        sentences.append(_URGENCY_SENTENCES[needs.urgency])
    if needs.risk_tolerance is not None:
        sentences.append(_RISK_SENTENCES[needs.risk_tolerance])
    if needs.preferred_contact_mode is not None:
        sentences.append(f"You prefer to be contacted {_CONTACT_MODE_WORDS[needs.preferred_contact_mode]}.")
    return sentences
