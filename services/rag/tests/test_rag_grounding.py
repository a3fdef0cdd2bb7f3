from __future__ import annotations

from uuid import UUID

import pytest
from rag.domain.grounding import Figure, GroundingChecker, SourceProduct, figures_in, split_sentences

TERM = SourceProduct(
    UUID(int=1),
    "Harborline Secure Term 30",
    "Harborline Life",
    (
        "Harborline Secure Term 30: Term Life insurance. Eligibility: ages 18 to 60. Premium: USD 25 to 120 per month. "
        "Coverage highlights: Level death benefit; Premium fixed for the whole term; 50% of the cover paid early on terminal illness.",
        "Notify Harborline within 90 days of the death. Claims are settled within 30 days of receiving all documents.",
    ),
)
HEALTH = SourceProduct(
    UUID(int=2),
    "Lumen Individual Health Plus",
    "Lumen Health Cover",
    ("Hospitalisation cover up to $100,000 a year. Pre-existing conditions are covered after 24 months.",),
)
checker = GroundingChecker(
    products=[TERM, HEALTH],
    needs_texts=["age 42", "budget up to USD 200 per month"],
    other_product_names=["Cedar Growth ULIP"],
)


@pytest.mark.parametrize(
    ("text", "figures"),
    [
        ("$25 a month", [Figure(25, "money")]),
        ("USD 1,500 per year", [Figure(1500, "money")]),
        ("50% of the cover", [Figure(50, "percent")]),
        ("within 30 days", [Figure(30, "day")]),
        ("a 24-month wait", [Figure(24, "month")]),
        ("ages 18 to 60", [Figure(18, "plain"), Figure(60, "plain")]),
        ("two hundred dollars", [Figure(200, "money")]),
        ("the one plan that fits", []),
    ],
)
def test_figures_and_their_units(text: str, figures: list[Figure]) -> None:
    assert figures_in(text) == figures


@pytest.mark.parametrize(
    "sentence",
    [
        "Harborline Secure Term 30 costs from $25 a month.",
        "Claims are settled within 30 days of receiving all documents.",
        "It pays 50% of the cover early on terminal illness.",
        "It fits your budget of up to USD 200 per month, and you are 42.",
        "We think these options suit you well.",
        "Lumen Individual Health Plus covers pre-existing conditions after 24 months.",
    ],
)
def test_supported_sentences_are_kept(sentence: str) -> None:
    assert checker.problem(sentence) is None


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Harborline Secure Term 30 costs from $15 a month.", "figure(s) 15 (money)"),
        ("Claims are settled within 30 months.", "figure(s) 30 (month)"),
        ("It pays 30% of the cover early.", "figure(s) 30 (percent)"),
        ("It pays 90% of the cover early on terminal illness.", "figure(s) 90 (percent)"),
        ("Lumen Individual Health Plus covers pre-existing conditions after 30 days.", "figure(s) 30 (day)"),
        ("Lumen Individual Health Plus includes free dental care and gym membership.", "claim not found"),
        ("Cedar Growth ULIP would also be worth a look.", "'cedar growth ulip'"),
    ],
)
def test_unsupported_sentences_are_flagged_with_the_reason(sentence: str, reason: str) -> None:
    problem = checker.problem(sentence)
    assert problem is not None and reason in problem


def test_a_figure_of_one_product_does_not_support_a_sentence_about_another() -> None:
    assert checker.problem("Lumen Individual Health Plus settles claims within 30 days.") is not None
    assert checker.problem("Claims are settled within 30 days.", about=HEALTH.product_id) is not None
    assert checker.problem("Claims are settled within 30 days.", about=TERM.product_id) is None


def test_clean_removes_only_the_offending_sentences_and_reports_them() -> None:
    narrative = (
        "Harborline Secure Term 30 gives level cover. It costs just $9 a month! "
        "Claims are settled within 30 days of receiving all documents."
    )
    kept, dropped = checker.clean(narrative, "narrative")
    assert (
        kept
        == "Harborline Secure Term 30 gives level cover. Claims are settled within 30 days of receiving all documents."
    )
    assert [(d.sentence, d.where) for d in dropped] == [("It costs just $9 a month!", "narrative")]


def test_clean_all_scopes_each_rationale_to_its_product() -> None:
    narrative, rationales, report = checker.clean_all(
        "Both plans fit you.",
        {
            TERM.product_id: "Premium fixed for the whole term.",
            HEALTH.product_id: "Premium fixed for the whole term.",
        },
    )
    assert narrative == "Both plans fit you."
    assert rationales == {TERM.product_id: "Premium fixed for the whole term.", HEALTH.product_id: ""}
    assert [d.where for d in report.dropped] == [f"rationale:{HEALTH.product_id}"]
    assert not report.clean


def test_sentences_split_on_terminal_punctuation_not_on_decimals() -> None:
    assert split_sentences("It costs 1.5 lakh. Really? Yes!") == ["It costs 1.5 lakh.", "Really?", "Yes!"]
