"""Offline evaluation of recommendations on the demo catalog: `python -m rag.eval`.

Indexes the demo catalog (`catalog.demo`) with the offline embedder into a Qdrant local-mode store in a
temporary directory, runs every case of the evaluation set (`tests/eval/cases.json`: needs profiles or
call transcripts, each with the products a careful adviser would pick) through the offline recommender,
and prints a table with:
- hit@3: share of cases with adviser picks where at least one of the first 3 products is a pick;
- precision@3: over the same cases, the share of the (at most 3) products returned that are picks;
- nothing-fits: share of cases with no eligible product that were answered "nothing fits";
- eligibility violations: recommended products whose age band excludes the prospect, or whose cheapest
  premium is more than 20% above the budget (checked here independently of the recommender's own rule);
- ungrounded sentences: narrative or rationale sentences the grounding check had to remove (the offline
  template states only catalog facts, so this should stay 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog.demo import DemoCatalog, load_demo_catalog
from parley_contracts import NeedsProfile, ProductSnapshot
from parley_contracts.catalog import PERIODS_PER_YEAR

from rag.adapters.onnx_embedder import OnnxMiniLMEmbedder
from rag.adapters.product_facts import InMemoryProductFacts
from rag.adapters.qdrant_store import QdrantVectorStore
from rag.adapters.vector_retriever import EmbeddingRetriever
from rag.domain.indexer import DocumentText, Indexer
from rag.domain.needs_rules import RulesNeedsExtractor
from rag.domain.recommend import Recommender

DEFAULT_CASES = Path(__file__).resolve().parents[1] / "tests" / "eval" / "cases.json"
K = 3
# The eligibility oracle's budget rule, stated here on its own: "clearly beyond budget" is 20% over.
BUDGET_TOLERANCE = 0.20


@dataclass(frozen=True, slots=True)
class EvalCase:
    id: str
    relevant: tuple[str, ...]
    needs: NeedsProfile | None = None
    transcript: str | None = None


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: EvalCase
    returned: tuple[str, ...]
    nothing_fits: bool
    violations: tuple[str, ...]
    ungrounded_sentences: int

    @property
    def hit(self) -> bool:
        return bool(set(self.returned[:K]) & set(self.case.relevant))

    @property
    def precision(self) -> float:
        top = self.returned[:K]
        return len(set(top) & set(self.case.relevant)) / len(top) if top else 0.0


@dataclass(frozen=True, slots=True)
class EvalReport:
    results: tuple[CaseResult, ...]

    @property
    def with_picks(self) -> list[CaseResult]:
        return [r for r in self.results if r.case.relevant]

    @property
    def without_picks(self) -> list[CaseResult]:
        return [r for r in self.results if not r.case.relevant]

    @property
    def hit_at_3(self) -> float:
        scored = self.with_picks
        return sum(r.hit for r in scored) / len(scored) if scored else 0.0

    @property
    def precision_at_3(self) -> float:
        scored = self.with_picks
        return sum(r.precision for r in scored) / len(scored) if scored else 0.0

    @property
    def nothing_fits_accuracy(self) -> float:
        scored = self.without_picks
        return sum(r.nothing_fits for r in scored) / len(scored) if scored else 1.0

    @property
    def eligibility_violations(self) -> int:
        return sum(len(r.violations) for r in self.results)

    @property
    def ungrounded_sentences(self) -> int:
        return sum(r.ungrounded_sentences for r in self.results)


def load_cases(path: Path = DEFAULT_CASES) -> list[EvalCase]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [
        EvalCase(
            id=entry["id"],
            relevant=tuple(entry["relevant"]),
            needs=NeedsProfile.model_validate(entry["needs"]) if "needs" in entry else None,
            transcript=entry.get("transcript"),
        )
        for entry in raw["cases"]
    ]


def eligibility_violations(product: ProductSnapshot, needs: NeedsProfile) -> list[str]:
    """The oracle: what makes recommending `product` to this prospect wrong, whatever the ranking."""
    found = []
    if needs.age is not None and not product.eligibility.min_age <= needs.age <= product.eligibility.max_age:
        found.append(
            f"{product.name}: age {needs.age} outside {product.eligibility.min_age}-{product.eligibility.max_age}"
        )
    budget, premium = needs.budget_range, product.premium_range
    if budget and budget.max is not None and premium and premium.currency == budget.currency:
        budget_monthly = budget.max * PERIODS_PER_YEAR[budget.period] / 12
        if premium.monthly()[0] > budget_monthly * (1 + BUDGET_TOLERANCE):
            found.append(
                f"{product.name}: premium from {premium.monthly()[0]:.2f}/month over budget {budget_monthly:.2f}"
            )
    return found


async def evaluate(cases: Sequence[EvalCase], recommender: Recommender, catalog: DemoCatalog) -> EvalReport:
    slug_of = {product_id: slug for slug, product_id in catalog.product_slugs.items()}
    extractor = RulesNeedsExtractor()
    results = []
    for case in cases:
        needs = case.needs if case.needs is not None else extractor.read(case.transcript or "")
        outcome = await recommender.recommend(needs, top_k=K)
        items = outcome.recommendation.items
        violations = [
            v for item in items for v in eligibility_violations(catalog.product(item.product_id), needs)
        ]
        results.append(
            CaseResult(
                case=case,
                returned=tuple(slug_of.get(item.product_id, str(item.product_id)) for item in items),
                nothing_fits=outcome.recommendation.nothing_fits,
                violations=tuple(violations),
                ungrounded_sentences=len(outcome.grounding.dropped),
            )
        )
    return EvalReport(tuple(results))


async def run_offline_eval(cases: Sequence[EvalCase], workdir: Path) -> EvalReport:
    """Index the demo catalog offline (ONNX MiniLM + Qdrant local mode in `workdir`) and evaluate."""
    catalog = load_demo_catalog()
    embedder = OnnxMiniLMEmbedder()
    store = QdrantVectorStore.open(model_id=embedder.model_id, dimension=embedder.dimension, path=workdir)
    try:
        documents = [DocumentText(doc.id, doc.product_id, doc.text) for doc in catalog.documents]
        await Indexer(embedder, store).full_reindex(catalog.products, documents)
        recommender = Recommender(EmbeddingRetriever(embedder, store), InMemoryProductFacts(catalog.products))
        return await evaluate(cases, recommender, catalog)
    finally:
        await store.close()


def format_report(report: EvalReport) -> str:
    width = max(len(r.case.id) for r in report.results)
    lines = [
        f"{'case':<{width}}  {'hit@3':>5}  {'p@3':>4}  {'viol':>4}  returned (first {K})",
        "-" * (width + 60),
    ]
    for r in report.results:
        hit = ("yes" if r.hit else "NO") if r.case.relevant else ("ok" if r.nothing_fits else "NO")
        precision = f"{r.precision:.2f}" if r.case.relevant else "-"
        returned = ", ".join(r.returned[:K]) or "(nothing fits)"
        lines.append(f"{r.case.id:<{width}}  {hit:>5}  {precision:>4}  {len(r.violations):>4}  {returned}")
    lines += [
        "-" * (width + 60),
        f"cases: {len(report.results)} ({len(report.with_picks)} with adviser picks, "
        f"{len(report.without_picks)} with nothing eligible)",
        f"hit@3: {report.hit_at_3:.3f}",
        f"precision@3: {report.precision_at_3:.3f}",
        f"nothing-fits answered correctly: {report.nothing_fits_accuracy:.3f}",
        f"eligibility violations: {report.eligibility_violations}",
        f"ungrounded sentences removed: {report.ungrounded_sentences}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="evaluation set (JSON)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="parley-rag-eval-") as workdir:
        report = asyncio.run(run_offline_eval(load_cases(args.cases), Path(workdir)))
    print(format_report(report))
    return 1 if report.eligibility_violations else 0


if __name__ == "__main__":
    sys.exit(main())
