"""Reading needs out of a prospect's answers, one topic at a time, for the offline dialogue policy.

Every extractor takes normalised text (see `utterance.normalize`) and returns None when the answer
does not address its topic, so the policy can tell "no dependents" (an empty list) from "didn't say".
`asked` marks the answer to that very question: a bare "42" answers "how old are you?" but is not an
age when it turns up elsewhere, where an explicit "I'm 42" or "42 years old" is needed.
"""

from __future__ import annotations

import re

from parley_contracts import BudgetRange, Dependent, ExistingPolicy, Urgency
from parley_contracts.catalog import PremiumPeriod

_COVERAGE_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("term life", re.compile(r"\bterm\b")),
    ("life", re.compile(r"\blife (?:insurance|cover|policy|plan)|\blife\b(?! savings)")),
    ("critical illness", re.compile(r"\bcritical illness|\bcancer cover|\bserious illness")),
    ("health", re.compile(r"\bhealth|\bmedical|\bhospital")),
    ("income protection", re.compile(r"\bincome protection|\bdisability|\bcan'?t work|\bunable to work")),
    ("accident", re.compile(r"\baccident")),
    ("retirement", re.compile(r"\bretire|\bpension")),
    ("savings", re.compile(r"\bsavings? plan|\binvest|\bulip\b|\bendowment")),
    ("child education", re.compile(r"\b(?:child|children'?s?|kids'?) (?:education|college|school)")),
    ("home", re.compile(r"\bhome insurance|\bhouse|\bhome cover|\bcontents")),
    ("motor", re.compile(r"\bcar\b|\bmotor\b|\bauto\b|\bvehicle")),
    ("travel", re.compile(r"\btravel")),
)

_SPOUSE = re.compile(r"\b(wife|husband|partner|spouse|fianc[eé]e?)\b")
_CHILD_COUNT = re.compile(
    r"\b(\d+|a|one) (?:young |little |small )?(kids?|children|child|sons?|daughters?|boys?|girls?)\b"
)
_CHILD_MENTION = re.compile(r"\b(?:my|our) (kids|children|son|daughter|boy|girl|sons|daughters|baby)\b")
_PARENTS = re.compile(r"\b(?:my|our) (parents|mother|father|mum|mom|dad)\b")
_NO_DEPENDENTS = re.compile(
    r"\b(no ?one|nobody|no dependents|just me|only me|just myself|on my own|single|no kids|no children)\b"
)
_BARE_NO = re.compile(r"^(?:no|nope|nah|not really|none)\b")

_AGE_EXPLICIT = re.compile(
    r"\b(?:i'?m|i am|aged?|turning|turned) (\d{2,3})\b|\b(\d{2,3}) (?:years? old|yrs? old|years of age)\b"
)
_AGE_BARE = re.compile(r"\b(\d{2,3})\b")
_MIN_AGE, _MAX_AGE = 16, 100

_CURRENCY_SYMBOLS = {"$": "USD", "£": "GBP", "€": "EUR", "₹": "INR"}
_CURRENCY_WORDS = {
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "usd": "USD",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "gbp": "GBP",
    "euro": "EUR",
    "euros": "EUR",
    "eur": "EUR",
    "rupee": "INR",
    "rupees": "INR",
    "rs": "INR",
    "inr": "INR",
}
_AMOUNT = r"(\d[\d,]*(?:\.\d+)?)(k)?"
_CURRENCY_WORD = "|".join(_CURRENCY_WORDS)
_MONEY = re.compile(rf"([$£€₹])? ?{_AMOUNT} ?(?:({_CURRENCY_WORD})\b)?")
_SIDE = rf"([$£€₹])? ?{_AMOUNT} ?(?:{_CURRENCY_WORD})?"
_RANGES = (
    re.compile(rf"\bbetween {_SIDE} ?and {_SIDE}"),
    re.compile(rf"{_SIDE} ?(?:to|-) ?{_SIDE}"),
)
_UPPER_BOUND = re.compile(r"\b(under|below|less than|up to|no more than|max(?:imum)?|at most)\b")
_LOWER_BOUND = re.compile(r"\b(at least|over|more than|minimum|from)\b")
_PERIODS = (
    (
        PremiumPeriod.YEARLY,
        re.compile(r"\b(a|per|each|every) ?(year|annum)\b|\b(yearly|annually|annual)\b|/ ?(year|yr)\b"),
    ),
    (PremiumPeriod.QUARTERLY, re.compile(r"\b(a|per|each|every) quarter\b|\bquarterly\b")),
    (PremiumPeriod.MONTHLY, re.compile(r"\b(a|per|each|every) ?month\b|\bmonthly\b|/ ?(month|mo)\b")),
)

_HAS_POLICY = re.compile(
    r"\b(i have|i've got|we have|we've got|got|yes|yeah|through (?:my )?work|employer|existing|already)\b"
)
_NO_POLICY = re.compile(r"\b(no|none|nothing|don'?t have|do not have|haven'?t got|not yet|never had)\b")

_GOALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("protect family", re.compile(r"\bfamily|\bkids|\bchildren|\bwife|\bhusband|\bpartner|\bloved ones")),
    ("pay off mortgage", re.compile(r"\bmortgage|\bhome loan|\bdebts?\b|\bloans?\b")),
    ("retirement savings", re.compile(r"\bretire|\bpension")),
    ("children's education", re.compile(r"\beducation|\bcollege|\buniversity|\bschool fees")),
    ("medical costs", re.compile(r"\bmedical|\bhospital|\bhealth|\btreatment")),
    ("tax savings", re.compile(r"\btax")),
    ("peace of mind", re.compile(r"\bpeace of mind|\bworry|\bsecurity|\bsafe")),
    ("savings", re.compile(r"\bsav(e|ing)|\binvest|\bwealth")),
)

_URGENCY: tuple[tuple[Urgency, re.Pattern[str]], ...] = (
    (
        Urgency.HIGH,
        re.compile(r"\b(soon|asap|as soon as|urgent|right away|immediately|this month|this week|now)\b"),
    ),
    (
        Urgency.MEDIUM,
        re.compile(r"\b(next few months|couple of months|few months|this year|in a while|months)\b"),
    ),
    (
        Urgency.LOW,
        re.compile(r"\b(exploring|just looking|browsing|no rush|no hurry|not urgent|someday|eventually)\b"),
    ),
)


def coverage_types(text: str) -> list[str] | None:
    found = [name for name, pattern in _COVERAGE_KEYWORDS if pattern.search(text)]
    if "term life" in found and "life" in found:
        found.remove("life")
    return found or None


def dependents(text: str, *, asked: bool) -> list[Dependent] | None:
    found: list[Dependent] = []
    if _SPOUSE.search(text):
        found.append(Dependent(relation="spouse"))
    counted = False
    for count_word, _ in _CHILD_COUNT.findall(text):
        count = 1 if count_word in {"a", "one"} else min(int(count_word), 12)
        found.extend(Dependent(relation="child") for _ in range(count))
        counted = True
    if not counted and _CHILD_MENTION.search(text):
        found.append(Dependent(relation="child"))
    if match := _PARENTS.search(text):
        found.extend(Dependent(relation="parent") for _ in range(2 if match.group(1) == "parents" else 1))
    if found:
        return found
    if _NO_DEPENDENTS.search(text) or (asked and _BARE_NO.search(text)):
        return []
    return None


def age(text: str, *, asked: bool) -> int | None:
    match = _AGE_EXPLICIT.search(text)
    if match is not None:
        value = int(match.group(1) or match.group(2))
    elif asked and (bare := _AGE_BARE.search(text)) is not None:
        value = int(bare.group(1))
    else:
        return None
    return value if _MIN_AGE <= value <= _MAX_AGE else None


def _amount(number: str, thousands: str | None) -> float:
    value = float(number.replace(",", ""))
    return value * 1000 if thousands else value


def budget(text: str, *, asked: bool, default_currency: str = "USD") -> BudgetRange | None:
    period = next((period for period, pattern in _PERIODS if pattern.search(text)), None)
    for pattern in _RANGES:
        if (span := pattern.search(text)) is not None:
            symbol = span.group(1) or span.group(4)
            low, high = sorted((_amount(span.group(2), span.group(3)), _amount(span.group(5), span.group(6))))
            currency = _CURRENCY_SYMBOLS.get(symbol or "") or _currency_word(text) or default_currency
            return BudgetRange(min=low, max=high, currency=currency, period=period or PremiumPeriod.MONTHLY)
    ages = [match.span() for match in _AGE_EXPLICIT.finditer(text)]
    candidates = [
        match
        for match in _MONEY.finditer(text)
        if not any(start <= match.start() < end for start, end in ages)
        and _amount(match.group(2), match.group(3)) > 0
    ]
    marked = [match for match in candidates if match.group(1) or match.group(4)]
    # Outside the budget question only an amount marked as money (currency or period) counts.
    chosen = marked[0] if marked else (candidates[0] if candidates and (asked or period) else None)
    if chosen is None:
        return None
    symbol, number, thousands, word = chosen.groups()
    value = _amount(number, thousands)
    currency = _CURRENCY_SYMBOLS.get(symbol or "") or _CURRENCY_WORDS.get(word or "") or default_currency
    period = period or PremiumPeriod.MONTHLY
    if _LOWER_BOUND.search(text) and not _UPPER_BOUND.search(text):
        return BudgetRange(min=value, currency=currency, period=period)
    # "about 50", "under 50", "50": the most they would want to pay.
    return BudgetRange(max=value, currency=currency, period=period)


def _currency_word(text: str) -> str | None:
    match = re.search(rf"\b({_CURRENCY_WORD})\b", text)
    return _CURRENCY_WORDS[match.group(1)] if match else None


def existing_policy(text: str, raw: str, *, asked: bool) -> ExistingPolicy | None:
    has = _HAS_POLICY.search(text)
    has_not = _NO_POLICY.search(text)
    if has and has_not and not asked:
        return None
    if has and (has_not is None or has.start() < has_not.start()):
        # "I have one through work but nothing of my own": what comes first is the answer, and the
        # words themselves are the details.
        return ExistingPolicy(has_policy=True, details=raw.strip()[:300] or None)
    if has_not:
        return ExistingPolicy(has_policy=False)
    return None


def goals(text: str) -> list[str] | None:
    return [name for name, pattern in _GOALS if pattern.search(text)] or None


def urgency(text: str) -> Urgency | None:
    return next((level for level, pattern in _URGENCY if pattern.search(text)), None)
