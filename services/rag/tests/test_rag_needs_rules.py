from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley_contracts import TranscriptLine
from rag.domain.needs_rules import RulesNeedsExtractor, find_emails
from rag.domain.needs_schema import NeedsProfileWire, to_wire_dict

read = RulesNeedsExtractor().read


def dependents(text: str) -> list[tuple[str, int | None]]:
    return [(d.relation, d.age) for d in read(text).dependents]


def budget(text: str) -> dict[str, Any] | None:
    found = read(text).budget_range
    return found.model_dump(mode="json") if found else None


FULL_CALL = """\
Bot: Hi, this is Parley calling about insurance. Is now a good time?
Prospect: Yes, sure.
Bot: What kind of cover are you looking for? Many people choose critical illness or a ULIP for $500 a month.
Prospect: I'm forty-two, married, with two kids aged five and eight. I want term life insurance so my family is taken care of if something happens to me.
Bot: What monthly budget do you have in mind?
Prospect: Around two hundred dollars a month, maybe two fifty tops.
Bot: Do you have any existing policy?
Prospect: No.
Bot: Do you smoke?
Prospect: No, never.
Bot: Can I email you the details?
Prospect: Yes, it's john dot smith at example dot com. But I need to talk to my wife first.
"""


def test_a_full_call_yields_the_prospects_needs() -> None:
    needs = read(FULL_CALL)
    assert needs.coverage_type == ["life"]
    assert needs.age == 42
    assert needs.budget_range is not None
    assert needs.budget_range.model_dump(mode="json") == {
        "min": None,
        "max": 250.0,
        "currency": "USD",
        "period": "MONTHLY",
    }
    assert [(d.relation, d.age) for d in needs.dependents] == [("wife", None), ("child", 5), ("child", 8)]
    assert needs.goals == ["protect my family"]
    assert needs.existing_policy is not None and needs.existing_policy.has_policy is False
    assert needs.health_notes == "non-smoker"
    assert needs.email == "john.smith@example.com"
    assert needs.preferred_contact_mode == "email"
    assert needs.objections == ["wants to consult family"]


def test_the_bots_words_are_never_attributed_to_the_prospect() -> None:
    needs = read(
        "Bot: Critical illness cover for $500 a month is popular with 45 year old parents. Are you married?\n"
        "Prospect: Hmm, tell me more.\n"
        "Agent: You could email me at sales at parley dot com.\n"
        "Prospect: Okay."
    )
    assert needs.coverage_type == []
    assert needs.budget_range is None
    assert needs.age is None
    assert needs.dependents == []
    assert needs.email is None


def test_transcript_lines_are_read_like_labelled_text() -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    lines = [
        TranscriptLine(speaker="bot", text="How old are you?", at=at),
        TranscriptLine(speaker="prospect", text="Fifty-five. I want a pension plan.", at=at),
    ]
    needs = read(lines)
    assert (needs.age, needs.coverage_type) == (55, ["retirement"])


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (
            "I can do two hundred dollars a month",
            {"min": None, "max": 200.0, "currency": "USD", "period": "MONTHLY"},
        ),
        (
            "My budget is fifteen hundred a year",
            {"min": None, "max": 1500.0, "currency": "USD", "period": "YEARLY"},
        ),
        (
            "Between $100 and $150 per month",
            {"min": 100.0, "max": 150.0, "currency": "USD", "period": "MONTHLY"},
        ),
        (
            "about 1.5 lakh rupees per annum",
            {"min": None, "max": 150000.0, "currency": "INR", "period": "YEARLY"},
        ),
        ("I could pay ₹2,000 monthly", {"min": None, "max": 2000.0, "currency": "INR", "period": "MONTHLY"}),
        ("no more than £80 a month", {"min": None, "max": 80.0, "currency": "GBP", "period": "MONTHLY"}),
        (
            "I'd spend 300 EUR quarterly",
            {"min": None, "max": 300.0, "currency": "EUR", "period": "QUARTERLY"},
        ),
        ("at least 50 bucks a month", {"min": 50.0, "max": None, "currency": "USD", "period": "MONTHLY"}),
        ("100-200 dollars a month", {"min": 100.0, "max": 200.0, "currency": "USD", "period": "MONTHLY"}),
        ("I can pay 2k a year", {"min": None, "max": 2000.0, "currency": "USD", "period": "YEARLY"}),
        (
            "at least 100 a month. But not more than 180 a month",
            {"min": 100.0, "max": 180.0, "currency": "USD", "period": "MONTHLY"},
        ),
    ],
)
def test_budgets_in_words_currencies_and_periods(said: str, expected: dict[str, Any]) -> None:
    assert budget(said) == expected


@pytest.mark.parametrize(
    "said",
    [
        "I want half a million, so $500,000 of cover",
        "I earn 80k a year",
        "Our mortgage is $300,000",
        "I'd like a cover of $250,000",
        "I have 2 kids and I'm 40",
    ],
)
def test_amounts_that_are_not_a_premium_budget_are_not_taken_as_one(said: str) -> None:
    assert budget(said) is None


def test_an_income_before_a_budget_in_the_same_sentence_is_ignored() -> None:
    assert budget("I make $5,000 a month, so maybe $150 a month for this") == {
        "min": None,
        "max": 150.0,
        "currency": "USD",
        "period": "MONTHLY",
    }


def test_a_budget_right_after_the_cover_wanted_is_still_a_budget() -> None:
    assert budget("We want term life cover, about $80 a month") == {
        "min": None,
        "max": 80.0,
        "currency": "USD",
        "period": "MONTHLY",
    }


def test_the_latest_budget_wins() -> None:
    assert budget("I thought $300 a month. Actually my budget is $200 a month.")["max"] == 200.0  # type: ignore[index]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("I have a wife and two kids", [("wife", None), ("child", None), ("child", None)]),
        ("My husband is 45 and my kids are 10 and 12", [("husband", 45), ("child", 10), ("child", 12)]),
        (
            "We have a son and a daughter; my daughter is 5 and my son is twelve",
            [("son", 12), ("daughter", 5)],
        ),
        ("a 6-month-old baby", [("child", 0)]),
        ("my three children, aged 3, 5 and 8", [("child", 3), ("child", 5), ("child", 8)]),
        ("I look after my elderly parents", [("mother", None), ("father", None)]),
        ("My mother lives with me, she is 72", [("mother", None)]),
        ("no kids, I'm single", []),
        ("I don't have children and I'm not married", []),
        ("my friend's kids are lovely", []),
        ("my ex-wife has the house", []),
        ("my business partner handles that", []),
        ("My father had a heart attack", []),
    ],
)
def test_relatives_their_counts_ages_and_negations(said: str, expected: list[tuple[str, int | None]]) -> None:
    assert dependents(said) == expected


def test_a_parent_age_is_kept_when_the_parent_is_a_dependent() -> None:
    assert dependents("I support my parents, they are 70 and 74") == [("mother", 70), ("father", 74)]


@pytest.mark.parametrize(
    ("said", "age"),
    [
        ("I'm 42", 42),
        ("I am forty-two years old", 42),
        ("I'm a 35-year-old teacher", 35),
        ("I just turned fifty", 50),
        ("Thirty eight years old, married", 38),
        ("I'm 5 minutes from home", None),
        ("I'm 100 percent sure", None),
        ("my daughter is 5 years old", None),
    ],
)
def test_the_prospects_own_age(said: str, age: int | None) -> None:
    assert read(said).age == age


@pytest.mark.parametrize(
    ("said", "coverage"),
    [
        ("I want life insurance and something for my kids' college", ["life", "child_education"]),
        ("Health cover for the family, maybe a family floater", ["health"]),
        ("I'm worried about cancer", ["critical_illness"]),
        ("I want to grow my money, maybe a ULIP", ["investment"]),
        ("I plan to retire at 60, a pension would be good", ["retirement"]),
        ("I need car insurance for my new car", ["motor"]),
        ("We're going abroad on vacation", ["travel"]),
        ("I want home insurance", ["home"]),
        ("I don't need car insurance, just life cover", ["life"]),
        ("I already have health insurance through work, but I want term life", ["life"]),
        ("Not interested in investments. Term plan only", ["life"]),
    ],
)
def test_coverage_types_from_the_vocabulary_with_negations(said: str, coverage: list[str]) -> None:
    assert read(said).coverage_type == coverage


@pytest.mark.parametrize(
    ("said", "has_policy", "details"),
    [
        ("I have no existing policy", False, None),
        ("We don't have any insurance", False, None),
        (
            "I already have health insurance through work.",
            True,
            "I already have health insurance through work",
        ),
        ("My employer provides some cover", True, "My employer provides some cover"),
        ("I have to think about the policy", None, None),
        ("I want to buy a policy", None, None),
    ],
)
def test_existing_policy(said: str, has_policy: bool | None, details: str | None) -> None:
    found = read(said).existing_policy
    if has_policy is None:
        assert found is None
    else:
        assert found is not None and (found.has_policy, found.details) == (has_policy, details)


@pytest.mark.parametrize(
    ("said", "notes"),
    [
        ("I don't smoke and I'm healthy", "non-smoker; no known health conditions"),
        ("I quit smoking last year", "former smoker"),
        ("I smoke a pack a day", "smoker"),
        ("I have type 2 diabetes and high blood pressure", "diabetes; high blood pressure"),
        ("My father had a heart attack at 50", "family history of heart condition"),
        ("I'm worried about cancer", None),
        ("I'm not diabetic", None),
        ("I want term life cover", None),
    ],
)
def test_health_notes_only_when_volunteered(said: str, notes: str | None) -> None:
    assert read(said).health_notes == notes


@pytest.mark.parametrize(
    ("said", "objections"),
    [
        ("Honestly it sounds too expensive", ["too expensive"]),
        ("I can't afford that right now, I need to think about it", ["too expensive", "needs time to think"]),
        ("I'll have to talk to my wife", ["wants to consult family"]),
        ("I want to compare other quotes", ["wants to compare options"]),
        ("Insurers never pay out", ["distrusts insurers"]),
    ],
)
def test_objections(said: str, objections: list[str]) -> None:
    assert read(said).objections == objections


@pytest.mark.parametrize(
    ("said", "urgency"),
    [
        ("I need this as soon as possible", "HIGH"),
        ("sometime next month is fine", "MEDIUM"),
        ("No rush, just looking", "LOW"),
        ("Not today, no rush at all", "LOW"),
        ("No rush. Actually, my baby is due, I need it asap", "HIGH"),
    ],
)
def test_urgency_latest_cue_wins(said: str, urgency: str) -> None:
    assert read(said).urgency == urgency


@pytest.mark.parametrize(
    ("said", "mode"),
    [
        ("Please email me the details", "email"),
        ("Just text me", "sms"),
        ("WhatsApp is easiest for me", "whatsapp"),
        ("Call me in the evening", "phone"),
        ("Don't call me, email is better", "email"),
        ("Sure", None),
    ],
)
def test_preferred_contact_mode(said: str, mode: str | None) -> None:
    assert read(said).preferred_contact_mode == mode


@pytest.mark.parametrize(
    ("said", "risk"),
    [
        ("I want something guaranteed, low risk", "low"),
        ("I don't like risk", "low"),
        ("A balanced approach", "medium"),
        ("I'm comfortable with the stock market", "high"),
        ("I'm not comfortable with the market", "low"),
    ],
)
def test_risk_tolerance(said: str, risk: str) -> None:
    assert read(said).risk_tolerance == risk


@pytest.mark.parametrize(
    ("said", "emails"),
    [
        ("it's John.Smith@Example.com.", ["john.smith@example.com"]),
        ("john dot smith at example dot com", ["john.smith@example.com"]),
        ("mary underscore jones at mail dash box dot co dot uk", ["mary_jones@mail-box.co.uk"]),
        ("I'm at home dot", []),
        ("first a@b.io then correct it to c@d.io", ["a@b.io", "c@d.io"]),
    ],
)
def test_emails_written_or_spelled_out(said: str, emails: list[str]) -> None:
    assert find_emails(said) == emails


def test_the_last_email_given_is_the_prospects_email() -> None:
    assert read("It's a@b.io. Sorry, I mean c@d.io").email == "c@d.io"


def test_output_conforms_to_the_strict_schema() -> None:
    NeedsProfileWire.model_validate(to_wire_dict(read(FULL_CALL)))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300))
def test_any_text_gives_a_schema_valid_profile_without_errors(text: str) -> None:
    NeedsProfileWire.model_validate(to_wire_dict(read(text)))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "I'm",
                "forty",
                "two",
                "kids",
                "no",
                "$",
                "200",
                "a month",
                "wife",
                "don't",
                "smoke",
                "at",
                "dot",
                "com",
                "budget",
                "between",
                "and",
                "lakh",
                "hundred",
                "aged",
                "5",
                ",",
                ".",
                "travel",
                "not",
            ]
        ),
        max_size=40,
    )
)
def test_word_salad_of_cue_words_never_breaks_the_extractor(words: list[str]) -> None:
    NeedsProfileWire.model_validate(to_wire_dict(read(" ".join(words))))
