"""The grounding check: a narrative may only state what its cited sources state.

Sources are the catalog facts and retrieved passages of the recommended products, plus the prospect's
own needs (so "within your budget of $250" is fine). A sentence is checked when it carries a figure,
names a product or insurer, or uses a claim word ("covers", "waiting period", "premium"...):
- every figure must occur in the sources with a compatible unit: "$500" needs 500 as money or as a bare
  number, "30 days" needs 30 days or a bare 30, never 30 months or 30%;
- a product or insurer it names must be one of the recommended ones, and when it names one, its figures
  and words are checked against that product's sources only;
- most of its content words must occur in those sources (a stem match), so an invented benefit
  ("free dental care") is caught even without a figure.
Sentences that fail are removed and reported; the rest is kept verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from .numbers import NumberSpan, find_numbers

# Share of a checked sentence's content words that must occur in its sources.
MIN_WORD_SUPPORT = 0.6

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_CLAIM_WORDS = re.compile(
    r"\b(?:cover(?:s|ed|age)?|include[sd]?|including|pays?|paid|payouts?|premiums?|waiting|exclu\w*|riders?"
    r"|claims?|benefits?|cashless|guarantee\w*|eligib\w*|lump sum|maturity|refund\w*|bonus|hospitals?"
    r"|network|discounts?|free|tax\w*|returns?|lock-in|withdraw\w*|deductible|co-?pay\w*|limit)\b",
    re.I,
)
# Words that carry no checkable fact: the connective tissue of a recommendation, and opinions
# ("a solid choice") that make no claim about the product's terms.
# fmt: off
_GLUE_WORDS = frozenset({
    "about", "above", "accepts", "aged", "ages", "also", "among", "applicants", "based", "because", "been",
    "below", "best", "both", "choice", "choices", "consider", "considering", "cost", "costs", "could",
    "does", "each", "either", "even", "every", "excellent", "fit", "fits", "from", "good", "great", "have",
    "help", "helps", "here", "ideal", "into", "just", "like", "look", "looking", "made", "make", "many",
    "match", "matches", "matching", "might", "more", "most", "much", "need", "needs", "offer", "offers",
    "option", "options", "other", "over", "plan", "plans", "policies", "policy", "price", "priced",
    "prices", "product", "products", "provide", "provides", "reasonable", "recommend", "recommendation",
    "recommended", "sensible", "should", "since", "slightly", "solid", "some", "start", "starts", "strong",
    "such", "suggest", "suitable", "suited", "suits", "than", "that", "their", "them", "then", "there",
    "these", "they", "this", "those", "through", "told", "under", "upon", "very", "want", "well", "were",
    "what", "when", "where", "which", "while", "will", "with", "within", "worth", "would", "your", "yours",
})
# fmt: on
_CURRENCY_BEFORE = re.compile(r"(?:\$|€|£|₹|\b(?:usd|eur|gbp|inr|rs\.?))\s*$", re.I)
_CURRENCY_AFTER = re.compile(r"^\s*(?:dollars?|usd|euros?|eur|pounds?|gbp|rupees?|inr)\b", re.I)
_PERCENT_AFTER = re.compile(r"^\s*(?:%|percent|per cent)", re.I)
_DURATION_AFTER = re.compile(r"^[\s-]*(day|week|month|year)s?\b", re.I)


@dataclass(frozen=True, slots=True)
class Figure:
    value: float
    # "money", "percent", "day", "week", "month", "year", or "plain" (a bare number).
    unit: str

    def matches(self, other: Figure) -> bool:
        """Same value, and units that can be the same: a bare number may be written without its unit
        ("USD 25 to 120": 120 is money too), except a percentage, which a bare number rarely is."""
        if self.unit == "percent" or other.unit == "percent":
            units_agree = self.unit == other.unit or self.unit == "plain"
        else:
            units_agree = self.unit == other.unit or "plain" in (self.unit, other.unit)
        return units_agree and abs(self.value - other.value) < 0.005


def _unit_of(text: str, span: NumberSpan) -> str:
    before, after = text[: span.start], text[span.end :]
    if _PERCENT_AFTER.match(after):
        return "percent"
    if _CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(after):
        return "money"
    duration = _DURATION_AFTER.match(after)
    return duration.group(1).lower() if duration else "plain"


def figures_in(text: str) -> list[Figure]:
    """The figures of `text`; a lone "one" is left out (more often "the one plan" than a quantity)."""
    return [
        Figure(span.value, _unit_of(text, span))
        for span in find_numbers(text)
        if not (span.spelled and span.word_count == 1 and span.value == 1)
    ]


def _without_names(text: str, names: Sequence[str]) -> str:
    """`text` without product names: the 30 of "Secure Term 30" is a name, not a figure to match."""
    for name in names:
        text = re.sub(re.escape(name), " ", text, flags=re.I)
    return text


def _stem(word: str) -> str:
    return word[:5]


def _content_stems(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 4 and w not in _GLUE_WORDS}


def split_sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCE_END.split(text.strip()) if sentence.strip()]


@dataclass(frozen=True, slots=True)
class _Corpus:
    figures: tuple[Figure, ...]
    stems: frozenset[str]

    @classmethod
    def of(cls, texts: Iterable[str], names: Sequence[str]) -> _Corpus:
        figures: list[Figure] = []
        stems: set[str] = set()
        for text in texts:
            figures.extend(figures_in(_without_names(text, names)))
            stems |= _content_stems(text)
        return cls(tuple(figures), frozenset(stems))

    def merged(self, other: _Corpus) -> _Corpus:
        return _Corpus(self.figures + other.figures, self.stems | other.stems)


@dataclass(frozen=True, slots=True)
class SourceProduct:
    product_id: UUID
    name: str
    insurer: str
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DroppedSentence:
    sentence: str
    reason: str
    # "narrative", or "rationale:<product id>".
    where: str


@dataclass(frozen=True, slots=True)
class GroundingReport:
    dropped: tuple[DroppedSentence, ...] = ()

    @property
    def clean(self) -> bool:
        return not self.dropped


@dataclass(slots=True)
class GroundingChecker:
    """Checks sentences against the recommended products' sources and the prospect's needs."""

    products: Sequence[SourceProduct]
    needs_texts: Sequence[str]
    # Names of catalog products that are not recommended (e.g. retrieved but ineligible): naming one fails.
    other_product_names: Iterable[str] = ()
    _by_product: dict[UUID, _Corpus] = field(init=False)
    _needs: _Corpus = field(init=False)
    _all: _Corpus = field(init=False)
    _foreign_names: tuple[str, ...] = field(init=False)
    _names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self._foreign_names = tuple(
            n.lower()
            for n in self.other_product_names
            if n.lower() not in {p.name.lower() for p in self.products}
        )
        self._names = (*(p.name for p in self.products), *self._foreign_names)
        self._needs = _Corpus.of(self.needs_texts, self._names)
        self._by_product = {
            p.product_id: _Corpus.of((p.name, p.insurer, *p.texts), self._names) for p in self.products
        }
        everything = self._needs
        for corpus in self._by_product.values():
            everything = everything.merged(corpus)
        self._all = everything

    def _named_products(self, sentence: str) -> list[SourceProduct]:
        lowered = sentence.lower()
        return [p for p in self.products if p.name.lower() in lowered or p.insurer.lower() in lowered]

    def problem(self, sentence: str, about: UUID | None = None) -> str | None:
        """Why `sentence` is not supported, or None when it is (or states nothing checkable).

        `about` scopes the check to one product's sources (a rationale speaks of its own product only).
        """
        lowered = sentence.lower()
        foreign = next((name for name in self._foreign_names if name in lowered), None)
        if foreign:
            return f"names {foreign!r}, which is not among the recommended products"
        named = self._named_products(sentence)
        figures = figures_in(_without_names(sentence, self._names))
        if not (figures or named or _CLAIM_WORDS.search(sentence)):
            return None
        scope = {p.product_id for p in named} | ({about} if about in self._by_product else set())
        corpus = self._needs
        for product_id in scope:
            corpus = corpus.merged(self._by_product[product_id])
        if not scope:
            corpus = self._all
        unsupported = [f for f in figures if not any(f.matches(source) for source in corpus.figures)]
        if unsupported:
            shown = ", ".join(
                f"{f.value:g}" + ("" if f.unit == "plain" else f" ({f.unit})") for f in unsupported
            )
            return f"figure(s) {shown} not found in the cited sources"
        name_stems = (
            set().union(*(_content_stems(f"{p.name} {p.insurer}") for p in named)) if named else set()
        )
        stems = _content_stems(sentence) - name_stems
        if stems:
            support = len(stems & corpus.stems) / len(stems)
            if support < MIN_WORD_SUPPORT:
                missing = sorted(stems - corpus.stems)
                return f"claim not found in the cited sources (unsupported words: {', '.join(missing)})"
        return None

    def clean(self, text: str, where: str, about: UUID | None = None) -> tuple[str, list[DroppedSentence]]:
        """`text` without its unsupported sentences, and those sentences with the reasons."""
        kept: list[str] = []
        dropped: list[DroppedSentence] = []
        for sentence in split_sentences(text):
            reason = self.problem(sentence, about)
            if reason is None:
                kept.append(sentence)
            else:
                dropped.append(DroppedSentence(sentence, reason, where))
        return " ".join(kept), dropped

    def clean_all(
        self, narrative: str, rationales: Mapping[UUID, str]
    ) -> tuple[str, dict[UUID, str], GroundingReport]:
        narrative_kept, dropped = self.clean(narrative, "narrative")
        rationales_kept: dict[UUID, str] = {}
        for product_id, rationale in rationales.items():
            kept, dropped_here = self.clean(rationale, f"rationale:{product_id}", about=product_id)
            rationales_kept[product_id] = kept
            dropped.extend(dropped_here)
        return narrative_kept, rationales_kept, GroundingReport(tuple(dropped))
