"""Needs -> the few catalog products a careful adviser would put forward, with reasons and sources.

1. Plan: the needs become a query (summarised needs and constraints) and hard `SearchFilters`:
   categories serving the wanted coverage, the prospect's age, and a monthly premium ceiling of the
   budget plus `budget_tolerance`.
2. Retrieve chunks with those filters, group them by product, and re-check every product against the
   catalog's current facts (`ProductFacts`), since an index can lag behind the catalog: a product whose
   age band excludes the prospect, or whose cheapest premium is "clearly" beyond budget (more than
   `budget_tolerance`, 20%, above the budget's maximum, compared per month) never appears; nor does a
   product the catalog marks as high risk for a prospect who wants low risk (suitability).
3. Rank by a weighted score (weights in `RankingWeights`), give each wanted coverage type its best
   product first, and keep the top `top_k`.
4. Write rationales and a narrative (template offline, LLM when configured), and pass them through the
   grounding check; sentences it cannot trace to the cited sources are removed and reported.
When nothing is eligible the recommendation says so, with the reason, and lists no product.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from parley_contracts import (
    BudgetRange,
    Citation,
    NeedsProfile,
    ProductSnapshot,
    Recommendation,
    RecommendedProduct,
)
from parley_contracts.catalog import PERIODS_PER_YEAR

from .chunks import product_chunk_id, product_summary
from .grounding import GroundingChecker, GroundingReport, SourceProduct
from .narrative import (
    TemplateNarrativeWriter,
    describe_budget,
    describe_needs,
    premium_phrase,
    template_narrative,
    template_rationale,
)
from .ports import NarrativeSource, NarrativeWriter, ProductFacts, Retriever
from .types import ChunkHit, SearchFilters
from .vocabulary import COVERAGE_QUERY_TERMS, categories_for, coverage_types_of_category, parse_coverage_types


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """How the rerank score is made; each part is in [0, 1] and the weights add up to 1.

    - similarity: the product's best chunk score relative to the best candidate's (retrieval relevance);
    - coverage: 1 when the product's category serves a wanted coverage type (0.5 when none was named);
    - budget: 1 when the cheapest premium is within budget, falling to 0 at the tolerance (0.5 when the
      budget is unknown or in another currency);
    - profile: the share of the prospect's situation keywords (family, goals, risk, age band, health)
      that the product's tags, plan type and highlights speak to (0.5 when there are none).
    """

    similarity: float = 0.40
    coverage: float = 0.25
    budget: float = 0.15
    profile: float = 0.20


@dataclass(frozen=True, slots=True)
class RecommenderSettings:
    default_items: int = 3
    max_items: int = 5
    budget_tolerance: float = 0.20
    candidate_chunks: int = 60
    # Document passages cited per product, besides its catalog summary.
    cited_passages: int = 2
    excerpt_chars: int = 300
    # Budgets in another currency cannot be compared with premiums: no conversion rates are assumed.
    catalog_currency: str = "USD"
    weights: RankingWeights = field(default_factory=RankingWeights)


@dataclass(frozen=True, slots=True)
class SearchPlan:
    query: str
    filters: SearchFilters
    wanted_categories: tuple[str, ...]
    # Wanted coverage types no catalog category serves.
    unserved_coverage: tuple[str, ...]
    budget_monthly_max: float | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Exclusion:
    product_id: UUID
    name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecommendationOutcome:
    recommendation: Recommendation
    filters: SearchFilters
    excluded: tuple[Exclusion, ...]
    grounding: GroundingReport
    notes: tuple[str, ...]


def budget_monthly_max(budget: BudgetRange | None) -> float | None:
    """The budget's ceiling per month, converted like `PremiumRange.monthly()` so the two compare."""
    if budget is None or budget.max is None:
        return None
    return budget.max * PERIODS_PER_YEAR[budget.period] / 12


_RELATION_KEYWORDS: dict[str, tuple[str, ...]] = {
    "spouse": ("spouse", "joint", "couples", "family", "married"),
    "child": ("children", "child", "family", "kids"),
    "parent": ("parents", "senior", "elderly", "family"),
}
_RELATION_GROUP = {
    "wife": "spouse", "husband": "spouse", "partner": "spouse", "spouse": "spouse",
    "child": "child", "son": "child", "daughter": "child",
    "mother": "parent", "father": "parent", "parent": "parent", "grandparent": "parent",
}  # fmt: skip
_RISK_KEYWORDS = {
    "low": ("guaranteed", "low risk"),
    "medium": ("balanced",),
    "high": ("market linked", "high risk"),
}
_GOAL_STOPWORDS = frozenset({"my", "the", "for", "and", "save", "cover", "to", "of", "a", "our"})


def situation_keywords(needs: NeedsProfile) -> list[str]:
    """What about the prospect a product's tags can speak to: family, goals, risk appetite, age band."""
    keywords: list[str] = []
    groups = {_RELATION_GROUP.get(d.relation) for d in needs.dependents} - {None}
    for group in sorted(g for g in groups if g):
        keywords.extend(_RELATION_KEYWORDS[group])
    if not needs.dependents and needs.coverage_type:
        keywords.extend(("individual", "single"))
    for goal in needs.goals:
        keywords.extend(
            w for w in re.findall(r"[a-z]+", goal.lower()) if w not in _GOAL_STOPWORDS and len(w) > 3
        )
    if needs.risk_tolerance:
        keywords.extend(_RISK_KEYWORDS[needs.risk_tolerance])
    if needs.age is not None and needs.age >= 50:
        keywords.extend(("senior", "over 50"))
    if needs.health_notes and "family history" in needs.health_notes:
        keywords.append("family history")
    return list(dict.fromkeys(keywords))


def _product_vocabulary(product: ProductSnapshot) -> str:
    return " ".join([*product.tags, product.plan_type, *product.coverage_highlights]).lower()


def matched_situation(product: ProductSnapshot, keywords: Sequence[str]) -> list[str]:
    """The product's tags that meet the prospect's situation, in the catalog's words."""
    wanted = {k for k in keywords}
    return [
        tag for tag in product.tags if tag.lower() in wanted or any(k in tag.lower().split() for k in wanted)
    ]


def build_query(needs: NeedsProfile) -> str:
    """Summarised needs first (what is embedded best), then the constraints."""
    coverage = parse_coverage_types(needs.coverage_type)
    parts = [COVERAGE_QUERY_TERMS[c] for c in coverage] or ["insurance plan"]
    for phrase in describe_needs(needs):
        if phrase not in parts:
            parts.append(phrase)
    if needs.health_notes:
        parts.append(f"health: {needs.health_notes}")
    return "; ".join(parts)


def plan_search(
    needs: NeedsProfile, category_names: Sequence[str], settings: RecommenderSettings
) -> SearchPlan:
    coverage = parse_coverage_types(needs.coverage_type)
    wanted_categories = categories_for(coverage, category_names)
    unserved = tuple(c.value for c in coverage if not categories_for([c], category_names))
    notes: list[str] = []
    budget_max = budget_monthly_max(needs.budget_range)
    if (
        budget_max is not None
        and needs.budget_range
        and needs.budget_range.currency != settings.catalog_currency
    ):
        notes.append(
            f"The budget is in {needs.budget_range.currency} and premiums are in {settings.catalog_currency}: "
            "the budget was not used to filter products."
        )
        budget_max = None
    filters = SearchFilters(
        category_names=list(wanted_categories) or None,
        age=needs.age,
        max_monthly_premium=budget_max * (1 + settings.budget_tolerance) if budget_max is not None else None,
    )
    return SearchPlan(
        build_query(needs), filters, tuple(wanted_categories), unserved, budget_max, tuple(notes)
    )


def is_high_risk(product: ProductSnapshot) -> bool:
    """Whether the catalog marks the product as high risk (tag "high risk" or feature `risk: high`)."""
    return (
        "high risk" in (tag.lower() for tag in product.tags)
        or str(product.features.get("risk", "")).lower() == "high"
    )


def eligibility_problems(
    product: ProductSnapshot, needs: NeedsProfile, plan: SearchPlan, settings: RecommenderSettings
) -> list[str]:
    """Why the product must not be recommended (empty when it may be)."""
    problems: list[str] = []
    if plan.wanted_categories and product.category_name not in plan.wanted_categories:
        problems.append(f"category {product.category_name} is not one the prospect asked for")
    age = needs.age
    if age is not None and not product.eligibility.min_age <= age <= product.eligibility.max_age:
        problems.append(
            f"accepts ages {product.eligibility.min_age} to {product.eligibility.max_age}, the prospect is {age}"
        )
    if needs.risk_tolerance == "low" and is_high_risk(product):
        problems.append("its value depends on the markets, and the prospect wants low risk")
    premium = product.premium_range
    budget_max = plan.budget_monthly_max
    if (
        premium is not None
        and budget_max is not None
        and premium.currency == settings.catalog_currency
        and premium.monthly()[0] > budget_max * (1 + settings.budget_tolerance)
    ):
        problems.append(
            f"cheapest premium {premium_phrase(product)} is more than "
            f"{settings.budget_tolerance:.0%} above the budget"
        )
    return problems


def _budget_fit(product: ProductSnapshot, plan: SearchPlan, settings: RecommenderSettings) -> float | None:
    """1 within budget, falling linearly to 0 at the tolerance; None when there is nothing to compare."""
    if plan.budget_monthly_max is None or product.premium_range is None:
        return None
    if product.premium_range.currency != settings.catalog_currency or plan.budget_monthly_max <= 0:
        return None
    cheapest = product.premium_range.monthly()[0]
    if cheapest <= plan.budget_monthly_max:
        return 1.0
    over = (cheapest - plan.budget_monthly_max) / plan.budget_monthly_max
    return max(0.0, 1 - over / settings.budget_tolerance) if settings.budget_tolerance > 0 else 0.0


@dataclass(slots=True)
class _Candidate:
    product: ProductSnapshot
    hits: list[ChunkHit]
    score: float = 0.0
    budget_fit: float | None = None
    matched_tags: list[str] = field(default_factory=list)

    @property
    def best_similarity(self) -> float:
        return max(hit.score for hit in self.hits)


def _score(
    candidates: list[_Candidate], needs: NeedsProfile, plan: SearchPlan, settings: RecommenderSettings
) -> None:
    weights = settings.weights
    top_similarity = max((c.best_similarity for c in candidates), default=0.0)
    wanted = set(parse_coverage_types(needs.coverage_type))
    keywords = situation_keywords(needs)
    for candidate in candidates:
        product = candidate.product
        similarity = max(0.0, candidate.best_similarity) / top_similarity if top_similarity > 0 else 0.0
        coverage = (
            (1.0 if coverage_types_of_category(product.category_name) & wanted else 0.0) if wanted else 0.5
        )
        candidate.budget_fit = _budget_fit(product, plan, settings)
        budget = candidate.budget_fit if candidate.budget_fit is not None else 0.5
        vocabulary = _product_vocabulary(product)
        profile = sum(1 for k in keywords if k in vocabulary) / len(keywords) if keywords else 0.5
        candidate.matched_tags = matched_situation(product, keywords)
        candidate.score = round(
            weights.similarity * similarity
            + weights.coverage * coverage
            + weights.budget * budget
            + weights.profile * profile,
            4,
        )


def _select(candidates: list[_Candidate], needs: NeedsProfile, count: int) -> list[_Candidate]:
    """Best first, but each wanted coverage type gets its best product before any type gets a second."""
    ranked = sorted(candidates, key=lambda c: (-c.score, c.product.name))
    chosen: list[_Candidate] = []
    for coverage in parse_coverage_types(needs.coverage_type):
        best = next(
            (
                c
                for c in ranked
                if coverage in coverage_types_of_category(c.product.category_name) and c not in chosen
            ),
            None,
        )
        if best is not None and len(chosen) < count:
            chosen.append(best)
    chosen.extend(c for c in ranked if c not in chosen)
    return sorted(chosen[:count], key=lambda c: (-c.score, c.product.name))


def _excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "…"


def key_benefits(product: ProductSnapshot, query: str, limit: int = 3) -> list[str]:
    """The coverage highlights most related to the query (catalog order breaks ties), verbatim."""
    query_words = set(re.findall(r"[a-z]+", query.lower()))

    def overlap(highlight: str) -> int:
        return len(set(re.findall(r"[a-z]+", highlight.lower())) & query_words)

    ordered = sorted(enumerate(product.coverage_highlights), key=lambda item: (-overlap(item[1]), item[0]))
    return [highlight for _, highlight in ordered[:limit]]


class Recommender:
    def __init__(
        self,
        retriever: Retriever,
        products: ProductFacts,
        narrator: NarrativeWriter | None = None,
        settings: RecommenderSettings | None = None,
    ) -> None:
        self._retriever = retriever
        self._products = products
        self._narrator: NarrativeWriter = narrator or TemplateNarrativeWriter()
        self._settings = settings or RecommenderSettings()

    async def recommend(self, needs: NeedsProfile, top_k: int | None = None) -> RecommendationOutcome:
        settings = self._settings
        count = max(1, min(top_k or settings.default_items, settings.max_items))
        plan = plan_search(needs, await self._products.category_names(), settings)
        if plan.unserved_coverage and not plan.wanted_categories:
            reason = f"The catalog has no products for {', '.join(plan.unserved_coverage)}."
            return self._nothing_fits(plan, reason, excluded=())

        hits = await self._retriever.search(plan.query, plan.filters, settings.candidate_chunks)
        candidates, excluded = await self._eligible_candidates(hits, needs, plan)
        if not candidates:
            return self._nothing_fits(plan, await self._why_nothing_fits(needs, plan), excluded)

        _score(candidates, needs, plan, settings)
        chosen = _select(candidates, needs, count)
        sources = [self._narrative_source(c, needs, plan) for c in chosen]
        draft = await self._narrator.write(needs, sources)
        rationales = {s.product.id: draft.rationales.get(s.product.id) or s.rationale for s in sources}

        checker = GroundingChecker(
            products=[self._source_product(c) for c in chosen],
            needs_texts=describe_needs(needs),
            other_product_names=[e.name for e in excluded]
            + [c.product.name for c in candidates if c not in chosen],
        )
        narrative, rationales, report = checker.clean_all(draft.narrative, rationales)
        # The template stands in where every sentence of the model's text failed; it is checked too.
        dropped = list(report.dropped)
        for source in sources:
            if not rationales[source.product.id]:
                product_id = source.product.id
                rationales[product_id], rejected = checker.clean(
                    source.rationale, f"rationale:{product_id}", product_id
                )
                dropped.extend(rejected)
        if not narrative and draft.narrative:
            narrative, rejected = checker.clean(template_narrative(needs, sources), "narrative")
            dropped.extend(rejected)
        report = GroundingReport(tuple(dropped))

        items = [
            RecommendedProduct(
                product_id=c.product.id,
                name=c.product.name,
                category_name=c.product.category_name,
                insurer=c.product.insurer,
                score=c.score,
                rationale=rationales[c.product.id],
                key_benefits=list(source.key_benefits),
                citations=self._citations(c),
            )
            for c, source in zip(chosen, sources, strict=True)
        ]
        recommendation = Recommendation(items=items, narrative=narrative, query=plan.query, mode=draft.mode)
        return RecommendationOutcome(recommendation, plan.filters, tuple(excluded), report, plan.notes)

    async def _eligible_candidates(
        self, hits: Sequence[ChunkHit], needs: NeedsProfile, plan: SearchPlan
    ) -> tuple[list[_Candidate], list[Exclusion]]:
        by_product: dict[UUID, list[ChunkHit]] = defaultdict(list)
        for hit in hits:
            by_product[hit.product_id].append(hit)
        facts = await self._products.get_many(list(by_product))
        candidates: list[_Candidate] = []
        excluded: list[Exclusion] = []
        for product_id, product_hits in by_product.items():
            product = facts.get(product_id)
            if product is None:
                continue  # deleted from the catalog since it was indexed
            problems = eligibility_problems(product, needs, plan, self._settings)
            if problems:
                excluded.append(Exclusion(product.id, product.name, tuple(problems)))
            else:
                candidates.append(_Candidate(product, sorted(product_hits, key=lambda h: -h.score)))
        return candidates, excluded

    async def _why_nothing_fits(self, needs: NeedsProfile, plan: SearchPlan) -> str:
        """The constraint that excluded everything, stated with the catalog's own figures."""
        relaxed = SearchFilters(category_names=plan.filters.category_names)
        hits = await self._retriever.search(plan.query, relaxed, self._settings.candidate_chunks)
        products = list((await self._products.get_many(list({h.product_id for h in hits}))).values())
        scope = " or ".join(plan.wanted_categories) if plan.wanted_categories else "catalog"
        if not products:
            return f"The catalog has no {scope} products."
        reasons: list[str] = []
        age = needs.age
        if age is not None:
            in_band = [p for p in products if p.eligibility.min_age <= age <= p.eligibility.max_age]
            if not in_band:
                oldest = max(p.eligibility.max_age for p in products)
                youngest = min(p.eligibility.min_age for p in products)
                reasons.append(
                    f"no {scope} product accepts applicants aged {age} (entry ages range from "
                    f"{youngest} to {oldest})"
                )
            products = in_band
        ceiling = plan.filters.max_monthly_premium
        priced = [
            p
            for p in products
            if p.premium_range and p.premium_range.currency == self._settings.catalog_currency
        ]
        if ceiling is not None and needs.budget_range is not None and priced:
            cheapest = min(priced, key=lambda p: p.premium_range.monthly()[0] if p.premium_range else 0.0)
            if cheapest.premium_range and cheapest.premium_range.monthly()[0] > ceiling:
                reasons.append(
                    f"the lowest {scope} premium, {premium_phrase(cheapest)} ({cheapest.name}), is more than "
                    f"{self._settings.budget_tolerance:.0%} above your budget of "
                    f"{describe_budget(needs.budget_range)}"
                )
        if not reasons:
            reasons.append(f"no {scope} product meets all of the stated needs together (age, budget, risk)")
        return "Nothing in the catalog fits: " + "; ".join(reasons) + "."

    def _nothing_fits(
        self, plan: SearchPlan, reason: str, excluded: Iterable[Exclusion]
    ) -> RecommendationOutcome:
        recommendation = Recommendation(nothing_fits=True, nothing_fits_reason=reason, query=plan.query)
        return RecommendationOutcome(
            recommendation, plan.filters, tuple(excluded), GroundingReport(), plan.notes
        )

    def _narrative_source(
        self, candidate: _Candidate, needs: NeedsProfile, plan: SearchPlan
    ) -> NarrativeSource:
        product = candidate.product
        within = None if candidate.budget_fit is None else candidate.budget_fit >= 1.0
        return NarrativeSource(
            product=product,
            passages=tuple(h for h in candidate.hits if h.kind == "document")[
                : self._settings.cited_passages
            ],
            rationale=template_rationale(product, needs, within, candidate.matched_tags),
            key_benefits=tuple(key_benefits(product, plan.query)),
        )

    def _source_product(self, candidate: _Candidate) -> SourceProduct:
        passages = [h.text for h in candidate.hits]
        return SourceProduct(
            candidate.product.id,
            candidate.product.name,
            candidate.product.insurer,
            (product_summary(candidate.product), *passages),
        )

    def _citations(self, candidate: _Candidate) -> list[Citation]:
        product = candidate.product
        summary_hit = next((h for h in candidate.hits if h.chunk_id == product_chunk_id(product.id)), None)
        summary_text = summary_hit.text if summary_hit else product_summary(product)
        citations = [
            Citation(
                product_id=product.id,
                chunk_id=product_chunk_id(product.id),
                source="product",
                excerpt=_excerpt(summary_text, self._settings.excerpt_chars),
            )
        ]
        passages = [h for h in candidate.hits if h.kind == "document"][: self._settings.cited_passages]
        citations.extend(
            Citation(
                product_id=product.id,
                chunk_id=h.chunk_id,
                source="document",
                document_id=h.document_id,
                excerpt=_excerpt(h.text, self._settings.excerpt_chars),
            )
            for h in passages
        )
        return citations


__all__ = [
    "Exclusion",
    "RankingWeights",
    "RecommendationOutcome",
    "Recommender",
    "RecommenderSettings",
    "SearchPlan",
    "build_query",
    "eligibility_problems",
    "plan_search",
]
