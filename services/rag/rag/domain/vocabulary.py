"""The coverage vocabulary shared by needs extraction, the strict schema and the recommender.

`NeedsProfile.coverage_type` holds these values. Catalog categories are named by admins, so a coverage
type is matched to categories by keywords in the category name instead of a fixed table: "Term Life" and
"Whole Life" both serve `life`, "Family Floater Health" serves `health`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum


class CoverageType(StrEnum):
    LIFE = "life"
    HEALTH = "health"
    CRITICAL_ILLNESS = "critical_illness"
    INVESTMENT = "investment"
    CHILD_EDUCATION = "child_education"
    RETIREMENT = "retirement"
    MOTOR = "motor"
    TRAVEL = "travel"
    HOME = "home"


# Words that, found in a category name, mark the category as serving the coverage type.
CATEGORY_KEYWORDS: dict[CoverageType, frozenset[str]] = {
    CoverageType.LIFE: frozenset({"life", "term"}),
    CoverageType.HEALTH: frozenset({"health", "medical", "floater", "mediclaim", "hospital"}),
    CoverageType.CRITICAL_ILLNESS: frozenset({"critical", "illness", "cancer"}),
    CoverageType.INVESTMENT: frozenset({"ulip", "investment", "savings", "wealth", "endowment"}),
    CoverageType.CHILD_EDUCATION: frozenset({"child", "children", "education"}),
    CoverageType.RETIREMENT: frozenset({"retirement", "pension", "annuity"}),
    CoverageType.MOTOR: frozenset({"motor", "car", "auto", "vehicle"}),
    CoverageType.TRAVEL: frozenset({"travel"}),
    CoverageType.HOME: frozenset({"home", "property", "renters", "householder", "homeowners"}),
}

# How each coverage type reads in a search query.
COVERAGE_QUERY_TERMS: dict[CoverageType, str] = {
    CoverageType.LIFE: "term life insurance",
    CoverageType.HEALTH: "health insurance for hospital and medical expenses",
    CoverageType.CRITICAL_ILLNESS: "critical illness cover paying a lump sum on diagnosis",
    CoverageType.INVESTMENT: "investment and savings plan",
    CoverageType.CHILD_EDUCATION: "child education plan for college",
    CoverageType.RETIREMENT: "retirement pension and annuity income",
    CoverageType.MOTOR: "motor car insurance",
    CoverageType.TRAVEL: "travel insurance abroad",
    CoverageType.HOME: "home insurance for building and contents",
}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.casefold()))


def coverage_types_of_category(category_name: str) -> set[CoverageType]:
    words = _words(category_name)
    return {coverage for coverage, keywords in CATEGORY_KEYWORDS.items() if words & keywords}


def categories_for(coverage_types: Iterable[str], category_names: Iterable[str]) -> list[str]:
    """The catalog categories serving any of `coverage_types`, in catalog order."""
    wanted = set(parse_coverage_types(coverage_types))
    return [name for name in category_names if coverage_types_of_category(name) & wanted]


def parse_coverage_types(values: Iterable[str]) -> list[CoverageType]:
    """Known coverage types among `values`, deduplicated in order; unknown values are left out."""
    seen: list[CoverageType] = []
    for value in values:
        if value in CoverageType._value2member_map_ and CoverageType(value) not in seen:
            seen.append(CoverageType(value))
    return seen
