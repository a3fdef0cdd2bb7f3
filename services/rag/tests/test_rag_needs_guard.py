from __future__ import annotations

import json
from typing import Any

import pytest
from rag.domain.needs_guard import Evidence, reconcile_needs
from rag.domain.needs_rules import RulesNeedsExtractor
from rag.domain.needs_schema import to_wire_dict
from rag.domain.transcript import prospect_speech

TRANSCRIPT = (
    "Bot: Tell me about yourself. Our plans start at 99 dollars.\n"
    "Prospect: I'm 42 and my wife is 40, we have a daughter aged 6. I want life cover and health insurance.\n"
    "Bot: Budget?\n"
    "Prospect: About two hundred dollars a month. I'm a non-smoker.\n"
    "Prospect: Email me at jane dot doe at example dot com."
)
SPEECH = prospect_speech(TRANSCRIPT)
EVIDENCE = Evidence.of(SPEECH)
RULES = RulesNeedsExtractor().read_speech(SPEECH)


def answer(**changes: Any) -> dict[str, Any]:
    """A faithful model answer, with `changes` applied."""
    return {**to_wire_dict(RULES), **changes}


def test_a_faithful_answer_passes_unchanged() -> None:
    profile, repairs = reconcile_needs(
        json.dumps(answer(goals=["protect my wife and daughter"])), EVIDENCE, RULES
    )
    assert repairs == []
    assert profile is not None and profile.goals == ["protect my wife and daughter"]
    assert profile.model_dump() == {**RULES.model_dump(), "goals": ["protect my wife and daughter"]}


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"a string"', "", "null"])
def test_an_answer_that_is_not_a_json_object_is_rejected(raw: str) -> None:
    profile, repairs = reconcile_needs(raw, EVIDENCE, RULES)
    assert profile is None
    assert repairs == ["model answer is not a JSON object"]


def test_an_email_the_prospect_never_said_is_replaced_by_the_one_they_did() -> None:
    profile, repairs = reconcile_needs(answer(email="invented@example.org"), EVIDENCE, RULES)
    assert profile is not None and profile.email == "jane.doe@example.com"
    assert any("invented@example.org" in r for r in repairs)


def test_an_age_the_prospect_never_said_falls_back_to_the_rules_value() -> None:
    profile, repairs = reconcile_needs(answer(age=37), EVIDENCE, RULES)
    assert profile is not None and profile.age == 42
    assert any("age 37" in r for r in repairs)


def test_a_budget_with_an_unsaid_amount_falls_back_but_a_period_conversion_is_accepted() -> None:
    made_up, repairs = reconcile_needs(
        answer(budget_range={"min": None, "max": 99, "currency": "USD", "period": "MONTHLY"}), EVIDENCE, RULES
    )
    assert made_up is not None and made_up.budget_range == RULES.budget_range
    assert repairs and "budget" in repairs[0]
    yearly, repairs = reconcile_needs(
        answer(budget_range={"min": None, "max": 2400, "currency": "USD", "period": "YEARLY"}),
        EVIDENCE,
        RULES,
    )
    assert repairs == []
    assert yearly is not None and yearly.budget_range is not None and yearly.budget_range.max == 2400


def test_schema_violations_are_repaired_field_by_field() -> None:
    profile, repairs = reconcile_needs(
        answer(
            coverage_type=["life", "pet insurance", "health"],
            age="forty-two",
            urgency="EXTREME",
            hobby="golf",
            dependents=[{"relation": "wife", "age": 40}, {"relation": "daughter", "age": 300}],
        ),
        EVIDENCE,
        RULES,
    )
    assert profile is not None
    assert profile.coverage_type == ["life", "health"]
    assert profile.age == 42
    assert profile.urgency is None
    assert [(d.relation, d.age) for d in profile.dependents] == [("wife", 40)]
    assert len(repairs) == 5
    assert any("unknown field 'hobby'" in r for r in repairs)


def test_missing_fields_take_the_rules_values() -> None:
    profile, repairs = reconcile_needs({"coverage_type": ["life"]}, EVIDENCE, RULES)
    assert profile is not None
    assert profile.coverage_type == ["life"]
    assert (profile.age, profile.email, profile.budget_range) == (RULES.age, RULES.email, RULES.budget_range)
    assert sum("missing field" in r for r in repairs) == 11


def test_relatives_never_mentioned_are_dropped_and_unsaid_ages_cleared() -> None:
    profile, repairs = reconcile_needs(
        answer(
            dependents=[
                {"relation": "spouse", "age": 40},
                {"relation": "daughter", "age": 7},
                {"relation": "son", "age": None},
                {"relation": "mother", "age": 70},
            ]
        ),
        EVIDENCE,
        RULES,
    )
    assert profile is not None
    assert [(d.relation, d.age) for d in profile.dependents] == [("spouse", 40), ("daughter", None)]
    assert len(repairs) == 3


def test_free_text_with_unsaid_figures_or_invented_health_facts_is_dropped() -> None:
    profile, repairs = reconcile_needs(
        answer(
            goals=["protect the family", "retire at 55"],
            objections=["premium above 300 dollars"],
            health_notes="diabetic since 2015, takes insulin",
        ),
        EVIDENCE,
        RULES,
    )
    assert profile is not None
    assert profile.goals == ["protect the family"]
    assert profile.objections == []
    assert profile.health_notes == RULES.health_notes == "non-smoker"
    assert len(repairs) == 3


def test_health_notes_in_the_prospects_words_are_kept() -> None:
    profile, repairs = reconcile_needs(answer(health_notes="Non-smoker"), EVIDENCE, RULES)
    assert repairs == []
    assert profile is not None and profile.health_notes == "Non-smoker"
