from parley_contracts import (
    BudgetRange,
    Dependent,
    ExistingPolicy,
    NeedsProfile,
    PremiumPeriod,
    PremiumRange,
    Urgency,
)
from prospectus.domain.wording import (
    RANGE_DASH,
    format_amount,
    format_budget,
    format_premium,
    join_words,
    summarize_needs,
)


def test_amounts_drop_decimals_only_when_whole():
    assert format_amount(1200) == "1,200"
    assert format_amount(25.5) == "25.50"
    assert format_amount(1234567.891) == "1,234,567.89"


def test_premium_range_names_currency_and_period():
    assert format_premium(PremiumRange(min=25, max=60, currency="USD")) == f"USD 25 {RANGE_DASH} 60 per month"
    assert format_premium(PremiumRange(min=480, max=480, period=PremiumPeriod.YEARLY, currency="EUR")) == (
        "EUR 480 per year"
    )
    assert format_premium(PremiumRange(min=5000, max=8000, period=PremiumPeriod.SINGLE)) == (
        f"USD 5,000 {RANGE_DASH} 8,000 paid once (single premium)"
    )


def test_missing_premium_is_never_invented():
    assert format_premium(None) == "On request"


def test_budget_wording_follows_the_bounds_given():
    assert format_budget(BudgetRange(min=30, max=60)) == "between USD 30 and USD 60 per month"
    assert format_budget(BudgetRange(max=60, period=PremiumPeriod.QUARTERLY)) == "up to USD 60 per quarter"
    assert format_budget(BudgetRange(min=100, currency="INR")) == "from INR 100 per month"
    assert format_budget(BudgetRange(min=50, max=50)) == "about USD 50 per month"
    assert format_budget(BudgetRange()) is None


def test_join_words():
    assert join_words([]) == ""
    assert join_words(["a"]) == "a"
    assert join_words(["a", "b"]) == "a and b"
    assert join_words(["a", "b", "c"]) == "a, b and c"


def test_needs_summary_is_sentences_in_plain_words():
    needs = NeedsProfile(
        coverage_type=["term life"],
        dependents=[Dependent(relation="spouse", age=34), Dependent(relation="son")],
        budget_range=BudgetRange(max=40),
        goals=["pay off the mortgage.", "  "],
        existing_policy=ExistingPolicy(has_policy=True, details="Group cover through work"),
        urgency=Urgency.HIGH,
        risk_tolerance="low",
        preferred_contact_mode="email",
    )
    assert summarize_needs(needs) == [
        "You are interested in term life cover.",
        "You would like the cover to look after your spouse (aged 34) and your son.",
        "Your budget is up to USD 40 per month.",
        "What matters most to you: pay off the mortgage.",
        "You already have a policy: Group cover through work.",
        "You would like to have cover in place as soon as possible.",
        "You prefer options with low investment risk.",
        "You prefer to be contacted by email.",
    ]


def test_cover_is_not_said_twice_when_the_lead_named_the_product():
    sentences = summarize_needs(NeedsProfile(coverage_type=["health insurance", "life"]))
    assert sentences == ["You are interested in health insurance and life."]


def test_health_notes_and_objections_stay_out_of_the_document():
    needs = NeedsProfile(health_notes="Type 2 diabetes", objections=["too expensive"])
    assert summarize_needs(needs) == []


def test_no_existing_policy_is_stated_plainly():
    assert summarize_needs(NeedsProfile(existing_policy=ExistingPolicy(has_policy=False))) == [
        "You do not have an existing policy."
    ]
