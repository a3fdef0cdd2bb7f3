"""Deterministic needs extraction from what the prospect said (offline mode, and the LLM's fallback).

The transcript is reduced to the prospect's statements (`transcript.prospect_speech`), numbers are
rewritten as digits (`numbers.normalize_numbers`), and each statement is cut into clauses so that a
negation ("no kids", "I don't need car insurance") or a cue ("budget", "cover") only acts on its own
clause. Each field has its own small reader below; every value it returns is a phrase the prospect
said or a fixed label for it, and the whole profile is then validated against the strict schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from parley_contracts import NeedsProfile

from .needs_schema import MAX_AMOUNT, MAX_DEPENDENTS, validate_needs
from .numbers import normalize_numbers
from .ports import NeedsExtraction
from .transcript import ProspectSpeech, TranscriptInput, prospect_speech
from .vocabulary import CoverageType

# ---------------------------------------------------------------------------------------------------
# Text preparation


@dataclass(frozen=True, slots=True)
class Clause:
    """One clause of a prospect statement: lowercase, numbers as digits, straight apostrophes."""

    text: str


_CLAUSE_BREAK = re.compile(
    r"[.!?;\n]+|,\s*(?:but|however|though)\b|\s+but\s+|,\s+(?=(?:so|and then)\b)", re.I
)


def prepare(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", " - ")
    return normalize_numbers(text).lower()


def clauses_of(speech: ProspectSpeech) -> list[Clause]:
    clauses: list[Clause] = []
    for statement in speech.statements:
        for part in _CLAUSE_BREAK.split(prepare(statement)):
            if part.strip():
                clauses.append(Clause(part.strip()))
    return clauses


def _any(patterns: Iterable[str], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        found = re.search(pattern, text)
        if found:
            return found
    return None


# A need is negated by "don't need", "not interested in", "already ...", "no car insurance", or by holding
# it already ("I have health insurance through work"): none of these is a new need.
_NEED_NEGATED = re.compile(
    r"(?:\b(?:don't|do not|dont|doesn't|does not|won't|never) (?:really )?(?:need|care)\b"
    r"|\bno need\b|\bnot (?:interested|looking|keen|worried|concerned|thinking)\b|\balready\b)[^,]*$"
    r"|\b(?:don't|do not|dont) want (?:any |a |an |the )?(?:[\w-]+ )?$"
    r"|\bno (?:[\w-]+ )?$"
    r"|\b(?:i|we) (?:have|has|got|hold) (?:a |an |some |the |my )?(?:[\w-]+ ){0,2}$"
)
# Urgency, risk and contact cues are negated only by a "not"/"don't" right before them ("not today").
_NEGATED = re.compile(r"\b(?:not|never|don't|do not|dont)\s+(?:[\w']+\s+){0,2}$")


def _need_negated(clause: str, position: int) -> bool:
    return bool(_NEED_NEGATED.search(clause[:position]))


def _negated(clause: str, position: int) -> bool:
    return bool(_NEGATED.search(clause[:position]))


# ---------------------------------------------------------------------------------------------------
# Coverage, goals, objections, urgency, risk: phrase tables

_COVERAGE_PHRASES: dict[CoverageType, tuple[str, ...]] = {
    CoverageType.LIFE: (
        r"\blife (?:insurance|cover|coverage|policy|plan)\b", r"\bterm (?:life|insurance|plan|policy|cover)\b",
        r"\bwhole life\b", r"\bdeath benefit\b", r"\bif (?:something|anything) (?:happens|happened|were to happen) to me\b",
        r"\bif i (?:die|died|pass away|passed away|were to die)\b", r"\bwhen i'm gone\b", r"\blife insured\b",
    ),
    CoverageType.HEALTH: (
        r"\bhealth (?:insurance|cover|coverage|plan|policy)\b", r"\bmedical (?:insurance|cover|bills|expenses|costs)\b",
        r"\bhospital", r"\bmediclaim\b", r"\bfamily floater\b", r"\bfloater\b", r"\bdoctor'?s? bills\b",
    ),
    CoverageType.CRITICAL_ILLNESS: (
        r"\bcritical illness", r"\bserious illness", r"\bcancer\b", r"\bheart attack\b", r"\bstroke\b",
    ),
    CoverageType.INVESTMENT: (
        r"\bulip\b", r"\binvest(?:ment|ments|ing)?\b", r"\bgrow (?:my|our|the) (?:money|savings|wealth)\b",
        r"\bwealth\b", r"\bmarket[- ]linked\b", r"\bsavings plan\b", r"\bsave (?:money|regularly)\b",
    ),
    CoverageType.CHILD_EDUCATION: (
        r"\beducation\b", r"\bcollege\b", r"\buniversity\b", r"\btuition\b", r"\bschool fees\b",
    ),
    CoverageType.RETIREMENT: (r"\bretire", r"\bpension\b", r"\bannuity\b", r"\bafter i stop working\b"),
    CoverageType.MOTOR: (
        r"\b(?:car|auto|motor|vehicle|bike|motorcycle) insurance\b", r"\bmy (?:new )?(?:car|vehicle|motorcycle)\b",
        r"\binsure (?:my|our|the) (?:car|vehicle|bike|motorcycle)\b",
    ),
    CoverageType.TRAVEL: (
        r"\btravel(?:l?ing)?\b", r"\btrip\b", r"\bvacation\b", r"\bholiday\b", r"\babroad\b", r"\boverseas\b",
    ),
    CoverageType.HOME: (
        r"\b(?:home|house|homeowners?|renters?|contents|property) insurance\b", r"\bhome cover\b",
        r"\binsure (?:my|our|the) (?:home|house|apartment|flat)\b", r"\bprotect (?:my|our) (?:home|house)\b",
        r"\bi rent\b", r"\brenting\b",
    ),
}  # fmt: skip

_GOAL_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("protect my family", (
        r"\b(?:protect|look after|take care of|provide for|secure) (?:my|our) (?:family|wife|husband|kids|children|loved ones)\b",
        r"\bfamily (?:is|will be|would be) (?:taken care of|okay|ok|protected|secure|fine)\b",
        r"\bif (?:something|anything) (?:happens|happened) to me\b", r"\bif i (?:die|pass away)\b",
    )),
    ("pay off the mortgage", (r"\bmortgage\b", r"\bhome loan\b")),
    ("replace my income", (r"\breplace (?:my )?income\b", r"\bincome replacement\b", r"\bwithout my (?:income|salary)\b")),
    ("save for my children's education", (r"\beducation\b", r"\bcollege\b", r"\buniversity\b", r"\btuition\b", r"\bschool fees\b")),
    ("retirement income", (r"\bretire", r"\bpension\b")),
    ("grow my wealth", (r"\bgrow (?:my|our|the) (?:money|savings|wealth)\b", r"\bwealth\b", r"\bhigher returns\b", r"\binvest")),
    ("guaranteed savings", (r"\bguaranteed\b", r"\bsafe (?:savings|returns)\b")),
    ("save on tax", (r"\btax(?:es)?\b",)),
    ("cover medical costs", (r"\b(?:medical|hospital|doctor'?s?) (?:bills|costs|expenses)\b",)),
    ("cover final expenses", (r"\bfuneral\b", r"\bfinal expenses\b", r"\bburial\b")),
)  # fmt: skip

_OBJECTION_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("too expensive", (
        r"\btoo (?:expensive|pricey|much)\b", r"\bcan't afford\b", r"\bcannot afford\b", r"\bcan not afford\b",
        r"\bout of my budget\b", r"\bcosts? too much\b",
    )),
    ("needs time to think", (
        r"\bneed (?:some )?time\b", r"\b(?:need|want|have) to think\b", r"\bthink (?:about it|it over)\b",
        r"\blet me think\b", r"\bnot sure yet\b", r"\bget back to you\b", r"\bsleep on it\b",
    )),
    ("wants to consult family", (
        r"\b(?:talk|speak|discuss|check|consult)(?: it)? (?:to|with) my (?:wife|husband|partner|spouse|family)\b",
        r"\bask my (?:wife|husband|partner|spouse)\b",
    )),
    ("distrusts insurers", (
        r"\bdon't trust\b", r"\bnever pay out\b", r"\bscam\b", r"\bclaims? (?:get|gets|are|is) (?:rejected|denied)\b",
    )),
    ("wants to compare options", (r"\bcompare\b", r"\bshop around\b", r"\bother quotes\b")),
    ("not interested", (r"\bnot interested\b",)),
    ("bad timing", (r"\bbad time\b", r"\bbusy right now\b", r"\bcall (?:me )?(?:back )?later\b")),
)  # fmt: skip

_URGENCY_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HIGH", (
        r"\basap\b", r"\bas soon as possible\b", r"\burgent(?:ly)?\b", r"\bright away\b", r"\bimmediately\b",
        r"\bthis week\b", r"\btoday\b", r"\btomorrow\b", r"\bright now\b", r"\bquickly\b",
    )),
    ("MEDIUM", (
        r"\bthis month\b", r"\bnext month\b", r"\bin a few weeks\b", r"\bsoon\b", r"\bwithin (?:a|1|2|3) months?\b",
        r"\bbefore the end of the year\b",
    )),
    ("LOW", (
        r"\bno rush\b", r"\bno hurry\b", r"\bnot in a hurry\b", r"\bjust (?:looking|exploring|browsing|curious)\b",
        r"\bnext year\b", r"\bsomeday\b", r"\beventually\b", r"\bnot urgent\b",
    )),
)  # fmt: skip

_RISK_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("low", (
        r"\blow risk\b", r"\bno risk\b", r"\bguaranteed\b", r"\bsafe\b", r"\bdon't want to lose\b",
        r"\bcan't afford to lose\b", r"\bconservative\b", r"\brisk[- ]averse\b", r"\bavoid risk\b",
        r"\bdon't like (?:risk|the stock market)\b", r"\bnot comfortable with (?:the )?(?:market|risk)\b",
    )),
    ("medium", (r"\bmoderate\b", r"\bbalanced\b", r"\bsome risk\b", r"\bmedium risk\b", r"\bbit of risk\b")),
    ("high", (
        r"\bhigh risk\b", r"\baggressive\b", r"\bcomfortable with (?:the )?(?:market|risk)\b", r"\bstock market\b",
        r"\bequities\b", r"\bhigher returns\b",
    )),
)  # fmt: skip

# Labels whose own phrases are negations ("not urgent", "don't like risk"): no negation check for them.
_SELF_NEGATING = {"LOW", "low"}


def _last_match(clauses: list[Clause], table: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    """The label of the latest un-negated phrase: a prospect may revise ("no rush... actually, asap")."""
    latest: str | None = None
    for clause in clauses:
        # Ordered by where the phrase ends, longer first: "as soon as possible" beats its "soon".
        hits = [
            (hit.end(), hit.end() - hit.start(), label)
            for label, patterns in table
            if (hit := _any(patterns, clause.text))
            and (label in _SELF_NEGATING or not _negated(clause.text, hit.start()))
        ]
        if hits:
            latest = max(hits)[2]
    return latest


def read_coverage_types(clauses: list[Clause]) -> list[str]:
    found: list[str] = []
    for clause in clauses:
        for coverage, patterns in _COVERAGE_PHRASES.items():
            for pattern in patterns:
                hit = re.search(pattern, clause.text)
                if hit and not _need_negated(clause.text, hit.start()) and coverage.value not in found:
                    found.append(coverage.value)
    return found


def read_goals(clauses: list[Clause]) -> list[str]:
    found: list[str] = []
    for clause in clauses:
        for label, patterns in _GOAL_PHRASES:
            hit = _any(patterns, clause.text)
            if hit and not _need_negated(clause.text, hit.start()) and label not in found:
                found.append(label)
    return found


def read_objections(clauses: list[Clause]) -> list[str]:
    found: list[str] = []
    for clause in clauses:
        for label, patterns in _OBJECTION_PHRASES:
            # An objection is often itself a negation ("I can't afford", "not interested"): no negation check.
            if _any(patterns, clause.text) and label not in found:
                found.append(label)
    return found


def read_urgency(clauses: list[Clause]) -> str | None:
    return _last_match(clauses, _URGENCY_PHRASES)


def read_risk_tolerance(clauses: list[Clause]) -> str | None:
    return _last_match(clauses, _RISK_PHRASES)


# ---------------------------------------------------------------------------------------------------
# Money and budget

_CURRENCY_WORDS: dict[str, str] = {
    "us$": "USD", "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP",
    "₹": "INR", "inr": "INR", "rs": "INR", "rs.": "INR", "rupee": "INR", "rupees": "INR",
}  # fmt: skip
_PERIOD_WORDS: dict[str, str] = {
    "month": "MONTHLY", "mo": "MONTHLY", "monthly": "MONTHLY",
    "year": "YEARLY", "yr": "YEARLY", "annum": "YEARLY", "annually": "YEARLY", "yearly": "YEARLY",
    "annual": "YEARLY", "quarter": "QUARTERLY", "quarterly": "QUARTERLY",
    "one-time": "SINGLE", "one time": "SINGLE", "single premium": "SINGLE", "lump sum": "SINGLE",
}  # fmt: skip

_MONEY = re.compile(
    r"(?P<pre>us\$|\$|€|£|₹|\brs\.?|\binr|\busd|\beur|\bgbp)?\s?"
    r"(?P<amount>\d+(?:\.\d+)?)(?![\d-]*\s*(?:%|percent|years?\b|yrs?\b|months? old|kids|children))"
    r"(?:\s?(?P<suf>dollars?|bucks|usd|euros?|eur|pounds?|quid|gbp|rupees?|inr|rs\b\.?))?"
    r"(?P<period>\s*(?:/\s*|per\s+|a\s+|an\s+|each\s+|every\s+)(?:month|mo|year|yr|annum|quarter)\b"
    r"|\s*,?\s*(?:monthly|yearly|annually|quarterly|one[- ]time|as a lump sum|single premium)\b)?"
)
_BUDGET_CUES = re.compile(
    r"\b(?:budget|afford|spend|spending|pay|paying|premium|premiums|can do|can manage|comfortable with"
    r"|no more than|not more than|up to|upto|max|maximum|at most|under|less than|below|tops|cost more than"
    r"|at least|minimum|somewhere)\b"
)
# Amounts that are income, debt or value, wherever the cue stands before them in the clause...
_NOT_BUDGET_CUES = re.compile(
    r"\b(?:income|earn|earning|earns|make|making|salary|mortgage|loan|debt|owe|worth|savings|saved|value"
    r"|costs? of|price of|paid off)\b"
)
# ...and cover amounts, when the cue comes right before the amount ("cover of $500,000").
_COVER_RIGHT_BEFORE = re.compile(
    r"\b(?:cover|coverage|covered|sum assured|sum insured|payout|benefit)\s+(?:[\w-]+\s+){0,2}$"
)
_AMOUNT_FOR_COVER_AFTER = re.compile(
    r"^\s*(?:(?:worth\s+)?(?:of|in)\s+)?(?:life\s+|term\s+)?(?:cover|coverage|insurance|protection|payout"
    r"|death benefit|sum assured)\b"
)
_LOWER_BOUND = re.compile(r"\b(?:at least|minimum|no less than|more than|over|from)\s*$")
_UPPER_BOUND = re.compile(
    r"\b(?:up to|upto|no more than|not more than|at most|max|maximum|under|less than|below|not over)\s*$"
)
_RANGE_JOIN = re.compile(r"^\s*(?:to|-|and|or)\s*(?:maybe\s+|about\s+)?$")


@dataclass(frozen=True, slots=True)
class MoneyMention:
    amount: float
    start: int
    end: int
    currency: str | None
    period: str | None


def money_mentions(clause: str) -> list[MoneyMention]:
    """Every amount of the clause with the currency and period written next to it, if any."""
    found: list[MoneyMention] = []
    for match in _MONEY.finditer(clause):
        currency_word = (match.group("pre") or match.group("suf") or "").strip()
        period_text = (match.group("period") or "").strip(" ,/").replace("per ", "").replace("each ", "")
        period_text = re.sub(r"^(?:a|an|every|as a)\s+", "", period_text)
        currency = _CURRENCY_WORDS.get(currency_word)
        period = _PERIOD_WORDS.get(period_text)
        found.append(MoneyMention(float(match.group("amount")), match.start(), match.end(), currency, period))
    return found


def _joined_ranges(
    clause: str, mentions: list[MoneyMention]
) -> list[tuple[MoneyMention, MoneyMention | None]]:
    """Mentions with ranges paired up: "between 100 and 200", "100 to 150 a month", "100-200 dollars"."""
    grouped: list[tuple[MoneyMention, MoneyMention | None]] = []
    index = 0
    while index < len(mentions):
        first = mentions[index]
        second = mentions[index + 1] if index + 1 < len(mentions) else None
        if second is not None and _RANGE_JOIN.match(clause[first.end : second.start]):
            grouped.append((first, second))
            index += 2
        else:
            grouped.append((first, None))
            index += 1
    return grouped


def _is_budget(clause: str, start: int, end: int, period: str | None) -> bool:
    if _AMOUNT_FOR_COVER_AFTER.search(clause[end:]) or _COVER_RIGHT_BEFORE.search(clause[:start]):
        return False
    before = clause[:start]
    budget_cue = max((m.end() for m in _BUDGET_CUES.finditer(before)), default=-1)
    other_cue = max((m.end() for m in _NOT_BUDGET_CUES.finditer(before)), default=-1)
    if budget_cue >= 0 or other_cue >= 0:
        return budget_cue > other_cue
    # No cue: an amount per period is the premium the prospect has in mind ("$200 a month is fine").
    return period is not None and not _NOT_BUDGET_CUES.search(clause[end:])


@dataclass(slots=True)
class _Budget:
    min: float | None = None
    max: float | None = None
    currency: str | None = None
    period: str | None = None


def _budget_of_clause(clause: str) -> _Budget | None:
    mentions = money_mentions(clause)
    # "around 200 dollars a month, maybe 250 tops": the clause's currency and period hold for each amount.
    currency = next((m.currency for m in reversed(mentions) if m.currency), None)
    period = next((m.period for m in reversed(mentions) if m.period), None)
    talks_budget = bool(_BUDGET_CUES.search(clause))
    stated: _Budget | None = None
    for first, second in _joined_ranges(clause, mentions):
        last = second or first
        # An amount counts when it carries a currency or a period, or when the clause talks budget.
        money_like = any(m.currency or m.period for m in (first, last)) or talks_budget
        if not money_like or not _is_budget(clause, first.start, last.end, last.period or first.period):
            continue
        if max(first.amount, last.amount) > MAX_AMOUNT:
            continue  # a mis-heard or garbled figure, not a premium anyone pays
        if second is not None:
            low, high = sorted((first.amount, second.amount))
            stated = _Budget(low, high, currency, period)
        elif not _UPPER_BOUND.search(clause[: first.start]) and _LOWER_BOUND.search(clause[: first.start]):
            stated = _Budget(min=first.amount, currency=currency, period=period)
        else:
            # A single amount is what the prospect is prepared to pay at most ("around 200", "200 tops").
            stated = _Budget(max=first.amount, currency=currency, period=period)
    return stated


def read_budget(clauses: list[Clause], default_currency: str) -> dict[str, Any] | None:
    """The latest budget stated; a lone bound completes an earlier opposite bound ("at least 100 ... 200 max")."""
    budget: _Budget | None = None
    for clause in clauses:
        stated = _budget_of_clause(clause.text)
        if stated is None:
            continue
        complements = (
            budget is not None
            and (stated.min is None) != (stated.max is None)
            and (budget.min is None) != (budget.max is None)
            and (stated.min is None) != (budget.min is None)
        )
        if complements and budget is not None:
            budget = _Budget(
                min=stated.min if stated.min is not None else budget.min,
                max=stated.max if stated.max is not None else budget.max,
                currency=stated.currency or budget.currency,
                period=stated.period or budget.period,
            )
        else:
            budget = stated
    if budget is None:
        return None
    if budget.min is not None and budget.max is not None and budget.min > budget.max:
        budget.min, budget.max = budget.max, budget.min
    return {
        "min": budget.min,
        "max": budget.max,
        "currency": budget.currency or default_currency,
        "period": budget.period or "MONTHLY",
    }


# ---------------------------------------------------------------------------------------------------
# Age

_SELF_AGE = (
    r"\b(?:i am|i'm|im)\s+(?:about |around |almost |nearly |just )?(\d{1,3})(?!\d)(?!\s*(?:%|percent|minutes?|hours?"
    r"|days?|weeks?|months?\b(?! old)|kids|children|dollars|bucks|miles|km|times|and a half))",
    r"\b(?:i am|i'm|im) an? (\d{1,3})[- ]year[- ]old\b",
    r"\bi (?:just )?turned (\d{1,3})\b",
    r"\bmy age is (\d{1,3})\b",
    r"\bi'll be (\d{1,3})\b",
)
_AGE_STANDALONE = re.compile(r"(?:^|[\s,])(\d{1,3})\s*(?:years?|yrs?)[- ]old\b")
_RELATIVE_WORD = re.compile(
    r"\b(?:wife|husband|spouse|partner|son|daughter|kid|kids|child|children|baby|mother|mom|mum|father|dad"
    r"|parents|brother|sister|twins|boy|girl)\b"
)


def read_age(clauses: list[Clause]) -> int | None:
    for clause in clauses:
        hit = _any(_SELF_AGE, clause.text)
        if hit and 16 <= int(hit.group(1)) <= 110:
            return int(hit.group(1))
    # "forty-two years old, married": an age with no relative named before it in its clause.
    for clause in clauses:
        for match in _AGE_STANDALONE.finditer(clause.text):
            if not _RELATIVE_WORD.search(clause.text[: match.start()]) and 16 <= int(match.group(1)) <= 110:
                return int(match.group(1))
    return None


# ---------------------------------------------------------------------------------------------------
# Dependents

_RELATION_OF_WORD: dict[str, str] = {
    "wife": "wife", "husband": "husband", "spouse": "spouse", "partner": "partner",
    "son": "son", "sons": "son", "daughter": "daughter", "daughters": "daughter",
    "kid": "child", "kids": "child", "child": "child", "children": "child", "baby": "child", "babies": "child",
    "twins": "child", "toddler": "child",
    "mother": "mother", "mom": "mother", "mum": "mother", "father": "father", "dad": "father",
    "parents": "parent",
}  # fmt: skip
RELATION_WORDS: dict[str, frozenset[str]] = {
    relation: frozenset(word for word, rel in _RELATION_OF_WORD.items() if rel == relation)
    for relation in set(_RELATION_OF_WORD.values())
}
_PLURALS = {"sons", "daughters", "kids", "children", "babies", "twins", "parents"}
_SPOUSES = ("wife", "husband", "spouse", "partner")
_MAX_CHILDREN = 10
_CHILDREN = ("child", "son", "daughter")
_ADJECTIVE = r"(?:(?:young|little|small|grown|grown-up|teenage|adult|elderly|old|aging|ageing|retired|lovely|beautiful)\s+)?"
_REL = (
    r"(wife|husband|spouse|partner|sons?|daughters?|kids?|child(?:ren)?|bab(?:y|ies)|twins|toddler"
    r"|mother|mom|mum|father|dad|parents)"
)
_MENTION = re.compile(r"(?:\b(?P<count>\d{1,2}|a|an|my|our|the)\s+)?" + _ADJECTIVE + r"\b" + _REL + r"\b")
_NO_RELATIVE = re.compile(
    r"\b(?:no|zero|without|don't have any|don't have|do not have any|do not have|dont have|haven't got"
    r"|never had|not)\s+(?:any\s+)?" + _ADJECTIVE + _REL + r"\b"
)
_MARRIED = re.compile(r"\b(?:i'm|i am|im|we're|we are)\s+(?:happily\s+)?married\b")
# A parent named in passing ("my father had a heart attack") is not a dependent; these cues make one.
_PARENT_DEPENDENCY = re.compile(
    r"\b(?:elderly|aging|ageing|old|retired|support|supporting|look after|looking after|take care of"
    r"|taking care of|depend|depends|dependent|live with|lives with|living with|cover|covered|insure|include"
    r"|care for)\b"
)
_NO_SPOUSE = re.compile(r"\b(?:i'm|i am|im)\s+(?:single|divorced|widowed|unmarried)\b|\bnot married\b")
_AGE_BEFORE = re.compile(r"(\d{1,2})[- ](years?|yrs?|months?)[- ]old\s+" + _ADJECTIVE + _REL + r"\b")
_AGE_AFTER = re.compile(
    _REL
    + r"(?:\s*,)?(?:\s+(?:is|are|who is|who are|who's|aged|age|(?:they|he|she) (?:is|are)|they're|he's|she's))?"
    r"\s*,?\s+(?:about\s+)?"
    r"(\d{1,3}(?:\s*(?:,|and|&)\s*\d{1,3})*)(?!\d)(?!\s*(?:kids|children|dollars|%|years? ago|times))"
)


@dataclass(slots=True)
class _Family:
    """Relatives as counted so far. Counts are the most any one mention implied, so repeats don't add up."""

    spouse: str | None = None
    spouse_age: int | None = None
    spouse_denied: bool = False
    # son / daughter: how many were named as such; child: how many children in all a mention implied.
    children: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_CHILDREN, 0))
    children_ages: dict[str, list[int]] = field(default_factory=lambda: {rel: [] for rel in _CHILDREN})
    children_denied: bool = False
    parents: list[str] = field(default_factory=list)  # mother / father
    parents_ages: list[int] = field(default_factory=list)

    def note(self, word: str, count_word: str | None) -> None:
        relation = _RELATION_OF_WORD[word]
        if relation in _SPOUSES:
            # "married" gives a spouse; a later "my wife" says which.
            if self.spouse in (None, "spouse"):
                self.spouse = relation
        elif relation in _CHILDREN:
            # "2 kids" -> 2, "twins" -> 2, "my kids" (a plural, not counted) -> at least 2, "a son" -> 1.
            plural_count = 2 if word in _PLURALS else 1
            count = int(count_word) if count_word and count_word.isdigit() else plural_count
            if count > _MAX_CHILDREN:
                return  # "20 children" is a school class, not the prospect's family
            self.children[relation] = max(self.children[relation], count)
        elif relation == "parent":
            self.parents.extend(parent for parent in ("mother", "father") if parent not in self.parents)
        elif relation not in self.parents:
            self.parents.append(relation)

    def note_ages(self, word: str, ages: list[int]) -> None:
        relation = _RELATION_OF_WORD[word]
        if relation in _SPOUSES:
            self.spouse_age = ages[0]
        elif relation in _CHILDREN:
            self.children_ages[relation].extend(ages)
        else:
            self.parents_ages.extend(ages)

    def entries(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        if self.spouse and not self.spouse_denied:
            entries.append({"relation": self.spouse, "age": self.spouse_age})
        if not self.children_denied or any(self.children_ages.values()):
            entries.extend(self._children_entries())
        parent_ages: list[int | None] = [*self.parents_ages, *([None] * len(self.parents))]
        entries.extend(
            {"relation": rel, "age": age} for rel, age in zip(self.parents, parent_ages, strict=False)
        )
        return entries[:MAX_DEPENDENTS]

    def _children_entries(self) -> list[dict[str, Any]]:
        named = self.children["son"] + self.children["daughter"]
        generic_ages = list(self.children_ages["child"])
        # Ages given for more children than were counted ("kids aged 3, 5 and 8") count the rest too.
        unnamed = max(self.children["child"] - named, len(generic_ages) - named, 0)
        children: list[dict[str, Any]] = []
        for relation, count in (("son", self.children["son"]), ("daughter", self.children["daughter"])):
            ages = self.children_ages[relation][:count]
            children.extend(
                {"relation": relation, "age": ages[i] if i < len(ages) else None} for i in range(count)
            )
        children.extend({"relation": "child", "age": None} for _ in range(unnamed))
        # Ages said of "the kids" go, in order, to the children whose age is not known yet.
        for child in children:
            if child["age"] is None and generic_ages:
                child["age"] = generic_ages.pop(0)
        return children


def read_dependents(clauses: list[Clause]) -> list[dict[str, Any]]:
    family = _Family()
    for clause in clauses:
        text = clause.text
        denied_spans = []
        for match in _NO_RELATIVE.finditer(text):
            denied_spans.append(match.span())
            relation = _RELATION_OF_WORD[match.group(1)]
            if relation in _SPOUSES:
                family.spouse_denied = True
            elif relation in _CHILDREN:
                family.children_denied = True
        if _NO_SPOUSE.search(text):
            family.spouse_denied = True
        if _MARRIED.search(text):
            family.note("spouse", None)
        parents_depend = bool(_PARENT_DEPENDENCY.search(text))
        for match in _MENTION.finditer(text):
            word = match.group(2)
            before = text[: match.start(2)]
            if any(start <= match.start(2) < end for start, end in denied_spans):
                continue
            if text[: match.start()].rstrip().endswith("'s") or re.search(r"\bex-?\s*$", before):
                continue  # someone else's relative ("my friend's kids") or a former spouse
            if word == "partner" and re.search(r"\bbusiness\s*$", before):
                continue
            if _RELATION_OF_WORD[word] in ("mother", "father", "parent") and not parents_depend:
                continue
            family.note(word, match.group("count"))
        for match in _AGE_BEFORE.finditer(text):
            family.note(match.group(3), None)
            family.note_ages(
                match.group(3), [0 if match.group(2).startswith("month") else int(match.group(1))]
            )
        for match in _AGE_AFTER.finditer(text):
            ages = [int(value) for value in re.findall(r"\d{1,3}", match.group(2)) if int(value) <= 120]
            if ages:
                family.note_ages(match.group(1), ages)
    return family.entries()


# ---------------------------------------------------------------------------------------------------
# Existing policy, health notes, contact mode, email

_NO_POLICY = (
    r"\b(?:no|don't have any|don't have an?|do not have any|do not have an?|dont have any|never had|haven't got"
    r"|haven't got any|without)\s+(?:existing\s+|current\s+|other\s+)?(?:\w+\s+)?(?:insurance|policy|policies"
    r"|cover|coverage)\b",
    r"\bnot (?:currently )?insured\b",
    r"\bno existing policy\b",
)
_HAS_POLICY = (
    r"\b(?:i|we)\s+(?:already\s+)?(?:have|has|got|hold)(?!\s+to\b)\s+(?:a|an|some|one|\d|the)?\s*"
    r"(?:[\w-]+\s+){0,3}?(?:insurance|policy|policies|cover|coverage)\b",
    r"\balready (?:have|got) (?:a |an |some )?(?:[\w-]+\s+){0,2}?(?:insurance|policy|policies|cover|coverage)\b",
    r"\balready (?:covered|insured)\b",
    r"\b(?:insurance|policy|cover|coverage|plan)\b.*\b(?:through|from|via) (?:my |the )?(?:work|job|employer|company)\b",
    r"\b(?:work|employer|job|company) (?:gives|provides|covers|pays for)\b",
    r"\bmy (?:current|existing|old) (?:policy|insurance|plan|cover)\b",
)


def read_existing_policy(speech: ProspectSpeech) -> dict[str, Any] | None:
    """The latest thing the prospect said about holding a policy, with their words as the details."""
    verdict: dict[str, Any] | None = None
    for statement in speech.statements:
        for part in _CLAUSE_BREAK.split(statement):
            text = prepare(part)
            if _any(_NO_POLICY, text):
                verdict = {"has_policy": False, "details": None}
            elif _any(_HAS_POLICY, text):
                verdict = {"has_policy": True, "details": part.strip()[:300]}
    return verdict


_HEALTH_CONDITIONS: tuple[tuple[str, str], ...] = (
    (r"\bdiabet(?:es|ic)\b", "diabetes"),
    (r"\b(?:high blood pressure|hypertension|blood pressure)\b", "high blood pressure"),
    (r"\basthma\b", "asthma"),
    (r"\bheart (?:condition|disease|problems?|attack|surgery)\b", "heart condition"),
    (r"\bcholesterol\b", "high cholesterol"),
    (r"\bcancer\b", "cancer"),
    (r"\bthyroid\b", "thyroid condition"),
    (r"\bstroke\b", "stroke"),
    (r"\bpregnant\b|\bexpecting a baby\b|\bbaby on the way\b", "pregnant"),
)
_NON_SMOKER = (
    r"\b(?:i|we) (?:don't|do not|dont|never) smoke\b",
    r"\bnon[- ]?smoker\b",
    r"\bnever smoked\b",
    r"\bnot a smoker\b",
)
_FORMER_SMOKER = (
    r"\b(?:quit|gave up|stopped) smoking\b",
    r"\bex[- ]smoker\b",
    r"\bformer smoker\b",
    r"\bused to smoke\b",
)
_SMOKER = (r"\bi (?:do )?smoke\b", r"\bi'm a smoker\b", r"\bi am a smoker\b", r"\bsmoke (?:a|\d) packs?\b")
_HEALTHY = (
    r"\bno (?:health|medical) (?:issues|problems|conditions)\b",
    r"\bin (?:good|great|perfect) health\b",
    r"\bi'm (?:pretty |very )?healthy\b",
    r"\bi am (?:pretty |very )?healthy\b",
)
_FAMILY_WORD = re.compile(
    r"\b(?:father|mother|dad|mom|mum|parents?|brother|sister|grand\w+|family|runs in)\b"
)
_CONDITION_NEGATED = re.compile(r"\b(?:no|not|never|don't have|do not have|free of|without)\s+(?:\w+\s+)?$")
# The prospect's own condition is stated as having it ("I have type 2 diabetes", "I'm diabetic",
# "my blood pressure"), not as a worry ("I'm worried about cancer").
_OWN_CONDITION = re.compile(
    r"\b(?:i have|i've got|i've had|i had|i got|i've|i suffer from|diagnosed with|i'm|i am|i take|i'm on|my)\b"
)
_WORRY = re.compile(r"\b(?:worried|worry|afraid|scared|concerned|fear|fears|risk of|avoid|prevent)\b")


def read_health_notes(clauses: list[Clause]) -> str | None:
    """Health facts the prospect volunteered, as short labels ("non-smoker; family history of cancer")."""
    notes: list[str] = []

    def note(label: str) -> None:
        if label not in notes:
            notes.append(label)

    for clause in clauses:
        text = clause.text
        if _any(_NON_SMOKER, text):
            note("non-smoker")
        elif _any(_FORMER_SMOKER, text):
            note("former smoker")
        elif _any(_SMOKER, text):
            note("smoker")
        for pattern, label in _HEALTH_CONDITIONS:
            hit = re.search(pattern, text)
            if not hit or _CONDITION_NEGATED.search(text[: hit.start()]):
                continue
            if _FAMILY_WORD.search(text):
                note(f"family history of {label}")
            elif _OWN_CONDITION.search(text[: hit.start()]) and not _WORRY.search(text[: hit.start()]):
                note(label)
        if _any(_HEALTHY, text):
            note("no known health conditions")
    own_conditions = [
        n for n in notes if n not in ("non-smoker", "former smoker", "smoker", "no known health conditions")
    ]
    if own_conditions and "no known health conditions" in notes:
        notes.remove("no known health conditions")  # a later detail beats a general "I'm healthy"
    return "; ".join(notes) if notes else None


_CONTACT_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("email", (
        r"\be-?mail (?:me|it|them|that|the details)\b", r"\b(?:by|via|over|through) e-?mail\b",
        r"\bprefer e-?mail\b", r"\be-?mail (?:is|would be|works) (?:best|better|fine|easiest|good|great)\b",
        r"\bcan e-?mail me\b", r"\bsend (?:it|them|that|this|everything|the details|details)?\s*to my e-?mail\b",
    )),
    ("sms", (r"\btext me\b", r"\bsms\b", r"\bsend (?:me )?a text\b", r"\b(?:by|via) text\b", r"\btexting is\b")),
    ("whatsapp", (r"\bwhats ?app\b",)),
    ("phone", (
        r"\bcall me\b", r"\bgive me a call\b", r"\bphone me\b", r"\b(?:by|over the) phone\b", r"\bring me\b",
        r"\bprefer (?:a )?(?:call|phone)\b",
    )),
)  # fmt: skip


def read_contact_mode(clauses: list[Clause]) -> str | None:
    return _last_match(clauses, _CONTACT_PHRASES)


_MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_SPOKEN_SEPARATORS = {"dot": ".", "period": ".", "underscore": "_", "dash": "-", "hyphen": "-"}
_TLDS = r"(?:com|net|org|io|co|uk|us|in|de|fr|es|it|nl|info|biz|edu|gov|me|ai|ca|au)"
_SPOKEN_EMAIL = re.compile(
    r"\b([a-z0-9]+(?:\s+(?:dot|period|underscore|dash|hyphen)\s+[a-z0-9]+)*)"
    r"\s+at\s+"
    r"([a-z0-9]+(?:\s+(?:dot|dash|hyphen)\s+[a-z0-9]+)*\s+dot\s+" + _TLDS + r"(?:\s+dot\s+" + _TLDS + r")?)\b"
)


def _unspeak(spoken: str) -> str:
    return "".join(_SPOKEN_SEPARATORS.get(word, word) for word in spoken.split())


def find_emails(text: str) -> list[str]:
    """Addresses written out or spelled ("john dot smith at example dot com"), lowercase, in order."""
    lowered = text.lower()
    found = [match.group().rstrip(".") for match in _EMAIL.finditer(lowered)]
    for match in _SPOKEN_EMAIL.finditer(lowered):
        address = f"{_unspeak(match.group(1))}@{_unspeak(match.group(2))}"
        if _EMAIL.fullmatch(address):
            found.append(address)
    found = [address for address in found if len(address) <= _MAX_EMAIL_LENGTH]
    positions = {address: lowered.find(address.split("@")[0]) for address in found}
    return sorted(dict.fromkeys(found), key=lambda address: positions[address])


# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RulesNeedsExtractor:
    """The `NeedsExtractor` of offline mode: the rules above, pure and deterministic."""

    # Currency of amounts said without one ("about two hundred a month").
    default_currency: str = "USD"

    async def extract(self, transcript: TranscriptInput) -> NeedsExtraction:
        return NeedsExtraction(self.read(transcript), extractor="rules")

    def read(self, transcript: TranscriptInput) -> NeedsProfile:
        return self.read_speech(prospect_speech(transcript))

    def read_speech(self, speech: ProspectSpeech) -> NeedsProfile:
        clauses = clauses_of(speech)
        emails = find_emails(speech.text)
        profile = {
            "coverage_type": read_coverage_types(clauses),
            "budget_range": read_budget(clauses, self.default_currency),
            "dependents": read_dependents(clauses),
            "goals": read_goals(clauses),
            "existing_policy": read_existing_policy(speech),
            "urgency": read_urgency(clauses),
            "objections": read_objections(clauses),
            "health_notes": read_health_notes(clauses),
            "preferred_contact_mode": read_contact_mode(clauses),
            "age": read_age(clauses),
            # The last address given wins: prospects correct a misheard address.
            "email": emails[-1] if emails else None,
            "risk_tolerance": read_risk_tolerance(clauses),
        }
        return validate_needs(profile)
