"""Checks an LLM's needs profile against the transcript before anything downstream sees it.

A model answer is untrusted input. It is first held to the strict schema field by field (a bad field is
replaced by the rules extractor's value, a bad list item is dropped, an unknown field is ignored), then
every value that can be checked against what the prospect said is checked: the email and the age must
have been said, budget amounts must be amounts the prospect named (or the same amount per another
period), a relative must have been mentioned, and free text (goals, objections, policy details, health
notes) may not carry figures the prospect never said. Unsupported values fall back to the rules
extractor's, which only ever reads the prospect's own words. Every repair is reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from parley_contracts import NeedsProfile
from pydantic import ValidationError

from .needs_rules import RELATION_WORDS, find_emails
from .needs_schema import NeedsProfileWire, to_wire_dict, validate_needs
from .numbers import find_numbers
from .transcript import ProspectSpeech

# Words that show a relation was spoken of, beyond the relation's own word forms.
_RELATION_EVIDENCE: dict[str, frozenset[str]] = {
    "spouse": frozenset({"spouse", "wife", "husband", "partner", "married"}),
    "child": RELATION_WORDS["child"] | RELATION_WORDS["son"] | RELATION_WORDS["daughter"],
    "parent": RELATION_WORDS["mother"] | RELATION_WORDS["father"] | {"parent", "parents"},
    "grandparent": frozenset(
        {"grandparent", "grandparents", "grandmother", "grandfather", "grandma", "grandpa"}
    ),
    "sibling": frozenset({"sibling", "siblings", "brother", "brothers", "sister", "sisters"}),
}
# Period conversions a model may legitimately apply to a stated budget (a month <-> a year, a quarter).
_PERIOD_FACTORS = (1.0, 12.0, 4.0, 3.0)
# fmt: off
_STOPWORDS = frozenset({
    "the", "and", "for", "with", "that", "this", "have", "from", "your", "about", "would", "like", "want",
    "need", "some", "they", "them", "their", "there", "what", "when", "which", "will", "just", "into", "also",
    "very", "really", "been", "being", "were", "does",
})
# fmt: on
_MAX_REPAIR_ROUNDS = 50


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the prospect said, in the forms the checks compare against."""

    text: str
    numbers: frozenset[float]
    emails: frozenset[str]
    words: frozenset[str]

    @classmethod
    def of(cls, speech: ProspectSpeech) -> Evidence:
        text = speech.text.lower()
        return cls(
            text=text,
            numbers=frozenset(round(span.value, 2) for span in find_numbers(text)),
            emails=frozenset(find_emails(text)),
            words=frozenset(re.findall(r"[a-z]+", text)),
        )

    def said_number(self, value: float) -> bool:
        return round(value, 2) in self.numbers

    def said_amount(self, value: float) -> bool:
        return any(
            self.said_number(value * factor) or self.said_number(value / factor) for factor in _PERIOD_FACTORS
        )

    def unsaid_figures(self, text: str) -> list[float]:
        return [span.value for span in find_numbers(text) if not self.said_number(span.value)]

    def shares_content_with(self, text: str) -> bool:
        """At least one content word of `text` (compared by 5-letter stem) was said: not made up wholesale."""
        said = {_stem(word) for word in self.words if _is_content(word)}
        return any(_stem(word) in said for word in re.findall(r"[a-z]+", text.lower()) if _is_content(word))


def _is_content(word: str) -> bool:
    return len(word) >= 4 and word not in _STOPWORDS


def _stem(word: str) -> str:
    """Crude, but enough to match "smoker" with "smoke" and "diabetic" with "diabetes"."""
    return word[:5]


def parse_model_answer(answer: object) -> dict[str, Any] | None:
    """The answer as a JSON object, or None when it is not one (invalid JSON, a list, a string...)."""
    if isinstance(answer, str | bytes):
        try:
            answer = json.loads(answer)
        except ValueError:
            return None
    return dict(answer) if isinstance(answer, dict) else None


def _conform_to_schema(
    proposed: dict[str, Any], fallback: dict[str, Any], repairs: list[str]
) -> dict[str, Any]:
    """Repairs `proposed` until it passes the strict schema, one failing field or list item at a time."""
    data = dict(proposed)
    for _ in range(_MAX_REPAIR_ROUNDS):
        try:
            NeedsProfileWire.model_validate(data)
            return data
        except ValidationError as error:
            first = error.errors()[0]
            loc = first["loc"]
            name = str(loc[0]) if loc else ""
            if first["type"] == "extra_forbidden":
                data.pop(name, None)
                repairs.append(f"ignored unknown field {name!r}")
            elif first["type"] == "missing":
                data[name] = fallback[name]
                repairs.append(f"missing field {name!r}: used the rules value")
            elif len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data.get(name), list):
                dropped = data[name][loc[1]]
                data[name] = [item for i, item in enumerate(data[name]) if i != loc[1]]
                repairs.append(f"dropped invalid {name} item {dropped!r}: {first['msg']}")
            elif name in fallback:
                data[name] = fallback[name]
                repairs.append(f"invalid {name!r} ({first['msg']}): used the rules value")
            else:
                break
    # Could not be repaired field by field (should not happen): nothing of the answer is kept.
    repairs.append("answer could not be repaired to the schema: used the rules profile")
    return dict(fallback)


def _check_text_items(name: str, items: Iterable[str], evidence: Evidence, repairs: list[str]) -> list[str]:
    kept = []
    for item in items:
        unsaid = evidence.unsaid_figures(item)
        if unsaid:
            repairs.append(f"dropped {name} item {item!r}: figures {unsaid} were not said by the prospect")
        else:
            kept.append(item)
    return kept


def _check_grounding(
    data: dict[str, Any], fallback: dict[str, Any], evidence: Evidence, repairs: list[str]
) -> None:
    email = data.get("email")
    if email is not None and email.lower() not in evidence.emails and email.lower() not in evidence.text:
        data["email"] = fallback["email"]
        repairs.append(f"email {email!r} was not said by the prospect: used the rules value")

    age = data.get("age")
    if age is not None and not evidence.said_number(age):
        data["age"] = fallback["age"]
        repairs.append(f"age {age} was not said by the prospect: used the rules value")

    budget = data.get("budget_range")
    if budget is not None:
        unsaid = [
            v for v in (budget.get("min"), budget.get("max")) if v is not None and not evidence.said_amount(v)
        ]
        if unsaid:
            data["budget_range"] = fallback["budget_range"]
            repairs.append(f"budget amounts {unsaid} were not said by the prospect: used the rules value")

    dependents = []
    for dependent in data.get("dependents", []):
        relation = dependent["relation"]
        said = _RELATION_EVIDENCE.get(
            relation, RELATION_WORDS.get(relation, frozenset({relation})) | {relation}
        )
        if relation != "other" and not (said & evidence.words):
            repairs.append(f"dropped dependent {relation!r}: no such relative was mentioned")
            continue
        if dependent.get("age") is not None and not evidence.said_number(dependent["age"]):
            repairs.append(f"age {dependent['age']} of {relation!r} was not said: cleared")
            dependent = {**dependent, "age": None}
        dependents.append(dependent)
    data["dependents"] = dependents

    data["goals"] = _check_text_items("goals", data.get("goals", []), evidence, repairs)
    data["objections"] = _check_text_items("objections", data.get("objections", []), evidence, repairs)

    policy = data.get("existing_policy")
    if policy is not None and policy.get("details") and evidence.unsaid_figures(policy["details"]):
        data["existing_policy"] = {**policy, "details": None}
        repairs.append("existing policy details carried figures the prospect did not say: cleared")

    notes = data.get("health_notes")
    if notes is not None and (evidence.unsaid_figures(notes) or not evidence.shares_content_with(notes)):
        data["health_notes"] = fallback["health_notes"]
        repairs.append(
            f"health notes {notes!r} are not supported by what the prospect said: used the rules value"
        )


def reconcile_needs(
    answer: object, evidence: Evidence, fallback: NeedsProfile
) -> tuple[NeedsProfile | None, list[str]]:
    """The model's answer made schema-valid and grounded, with the repairs made.

    Returns None (and the reason) when the answer is not a JSON object at all: nothing in it can be used.
    """
    proposed = parse_model_answer(answer)
    if proposed is None:
        return None, ["model answer is not a JSON object"]
    repairs: list[str] = []
    fallback_data = to_wire_dict(fallback)
    data = _conform_to_schema(proposed, fallback_data, repairs)
    _check_grounding(data, fallback_data, evidence, repairs)
    return validate_needs(data), repairs
