"""Retrieval benchmark: indexing throughput and filtered query latency at 1k and 10k chunks.

    .venv/bin/python bench/rag_retrieval.py [--sizes 1000 10000] [--queries 60]

Builds a synthetic but realistic catalog (products over eight categories, each with a policy
wording document of waiting periods, claims, exclusions and riders), runs a full reindex into a fresh
Qdrant local-mode directory with the offline MiniLM embedder, then times needs-style queries:
embedding the query plus the filtered search (category, age, budget), as the recommender runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from parley_contracts import Eligibility, PremiumPeriod, PremiumRange, ProductSnapshot
from rag.adapters.onnx_embedder import OnnxMiniLMEmbedder
from rag.adapters.qdrant_store import QdrantVectorStore
from rag.domain.chunks import TextSplitter
from rag.domain.indexer import DocumentText, Indexer
from rag.domain.types import SearchFilters

CATEGORIES = {
    "Life": ("term", ["death benefit", "family protection", "income replacement"]),
    "Health": ("family floater", ["hospitalisation", "cashless", "medical bills"]),
    "Critical Illness": ("fixed benefit", ["cancer", "heart attack", "lump sum on diagnosis"]),
    "Motor": ("comprehensive", ["car", "third party", "own damage"]),
    "Travel": ("single trip", ["medical abroad", "trip cancellation", "lost baggage"]),
    "Home": ("buildings and contents", ["fire", "burglary", "flood"]),
    "Retirement": ("annuity", ["pension", "guaranteed income", "retirement savings"]),
    "Accident": ("personal accident", ["disability", "accidental death", "fracture"]),
}
INSURERS = ["Northwind Assurance", "Contoso Health", "Fabrikam General", "Tailspin Life", "Litware Mutual"]
PARAGRAPHS = [
    "Waiting periods. Pre-existing conditions are covered after {a} months of continuous cover. Specific "
    "conditions such as {cond} carry a waiting period of {b} months. Accidental injuries are covered from the "
    "first day of the policy. A waiting period restarts if the policy lapses for more than {c} days.",
    "Making a claim. Tell us within {c} days of the event by phone or through the app. Send the claim form, "
    "the original bills and the report of the treating doctor. For cashless treatment at a network provider, "
    "ask for pre-authorisation {b} hours before a planned admission. Claims are settled within {a} working days.",
    "Exclusions. We do not pay for {cond} arising from self-inflicted injury, the use of alcohol or drugs, "
    "participation in hazardous sports, war or nuclear risks. Cosmetic treatment is excluded unless it follows "
    "an accident covered by this policy. Losses in the first {b} days are excluded unless caused by an accident.",
    "Riders. The {rider} rider adds {a} percent to the sum assured for a small extra premium. It can be added at "
    "any renewal up to age {age}. The waiver of premium rider keeps the policy in force if you cannot work for "
    "more than {c} days because of illness or injury.",
    "Renewal and premiums. Premiums are payable {period} and are guaranteed for {b} years. A grace period of {c} "
    "days applies to every payment. A no-claim bonus of {a} percent of the sum insured is added for each year "
    "without a claim, up to a maximum of {d} percent.",
    "Free look and cancellation. You may return the policy within {c} days of receiving it and get a refund of "
    "the premium less the cost of cover already given. After that, cancellation refunds follow the short-period "
    "scale in the schedule, and no refund is due once a claim has been paid in the policy year.",
]
CONDITIONS = [
    "cataract",
    "hernia",
    "joint replacement",
    "kidney stones",
    "asthma",
    "diabetes",
    "hypertension",
]
RIDERS = ["accidental death", "critical illness", "hospital cash", "premium waiver", "family income"]
QUERIES = [
    ("money for my wife and two kids if I die", "Life"),
    ("who pays my hospital bills if I am admitted?", "Health"),
    ("a lump sum if I get cancer", "Critical Illness"),
    ("cover for my car after an accident", "Motor"),
    ("medical emergency while on holiday abroad", "Travel"),
    ("protect my house against fire and burglary", "Home"),
    ("steady income after I retire", "Retirement"),
    ("what if I break a leg and cannot work", "Accident"),
    ("how long is the waiting period for pre-existing diseases?", None),
    ("how do I make a claim and how fast is it paid?", None),
]


def make_product(rng: random.Random, index: int) -> ProductSnapshot:
    category = rng.choice(list(CATEGORIES))
    plan_type, tags = CATEGORIES[category]
    min_age = rng.choice([0, 18, 21, 25, 40, 50])
    low = rng.choice([8, 15, 25, 40, 60, 120])
    return ProductSnapshot(
        id=UUID(int=index + 1),
        name=f"{rng.choice(['Secure', 'Care', 'Shield', 'Prime', 'Family', 'Golden'])}"
        f"{rng.choice(['Plus', 'Max', 'One', 'Guard', 'Start'])} {category} {index}",
        category_id=UUID(int=10_000 + list(CATEGORIES).index(category)),
        category_name=category,
        insurer=rng.choice(INSURERS),
        plan_type=plan_type,
        eligibility=Eligibility(min_age=min_age, max_age=rng.choice([60, 65, 70, 75, 85])),
        premium_range=PremiumRange(min=low, max=low * rng.choice([3, 5, 8]), period=PremiumPeriod.MONTHLY),
        coverage_highlights=[f"Covers {tag}" for tag in tags],
        exclusions=["Self-inflicted injury", "War and nuclear risks"],
        riders=rng.sample(RIDERS, 2),
        claim_process=["Notify the insurer", "Submit documents", "Settlement"],
        tags=tags,
        features={"sum_insured": rng.choice([50_000, 100_000, 500_000]), "renewable": rng.random() > 0.3},
    )


def make_document(rng: random.Random, product: ProductSnapshot, paragraphs: int) -> str:
    blocks = []
    for _ in range(paragraphs):
        template = rng.choice(PARAGRAPHS)
        blocks.append(
            template.format(
                a=rng.randint(2, 48),
                b=rng.randint(2, 36),
                c=rng.choice([7, 15, 30, 45, 90]),
                d=rng.choice([50, 100]),
                age=rng.choice([55, 60, 65]),
                cond=rng.choice(CONDITIONS),
                rider=rng.choice(RIDERS),
                period=rng.choice(["monthly", "quarterly", "yearly"]),
            )
        )
    return f"{product.name} policy wording.\n\n" + "\n\n".join(blocks)


def make_catalog(target_chunks: int, seed: int) -> tuple[list[ProductSnapshot], list[DocumentText]]:
    """Products with one document each, adding products until the chunk count reaches the target."""
    rng = random.Random(seed)
    splitter = TextSplitter()
    products: list[ProductSnapshot] = []
    documents: list[DocumentText] = []
    chunks = 0
    while chunks < target_chunks:
        product = make_product(rng, len(products))
        budget = target_chunks - chunks - 1
        text = make_document(rng, product, paragraphs=rng.randint(8, 16))
        passages = splitter.split(text)
        if len(passages) > budget:
            text = "\n\n".join(passages[:budget])
            passages = splitter.split(text)
        products.append(product)
        chunks += 1
        if passages:
            documents.append(DocumentText(UUID(int=1_000_000 + len(products)), product.id, text))
            chunks += len(passages)
    return products, documents


@dataclass
class Row:
    chunks: int
    index_seconds: float
    query_ms: list[float]
    search_ms: list[float]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def bench_size(embedder: OnnxMiniLMEmbedder, size: int, queries: int, workdir: Path) -> Row:
    products, documents = make_catalog(size, seed=size)
    store = QdrantVectorStore.open(
        model_id=embedder.model_id, dimension=embedder.dimension, path=workdir / str(size)
    )
    indexer = Indexer(embedder, store)
    started = time.perf_counter()
    run = await indexer.full_reindex(products, documents)
    index_seconds = time.perf_counter() - started

    rng = random.Random(7)
    query_ms: list[float] = []
    search_ms: list[float] = []
    for n in range(queries):
        text, category = QUERIES[n % len(QUERIES)]
        filters = SearchFilters(
            category_names=[category] if category else None,
            age=rng.randint(20, 70),
            max_monthly_premium=rng.choice([30.0, 80.0, 200.0]),
        )
        started = time.perf_counter()
        vector = await embedder.embed_query(text)
        searched = time.perf_counter()
        await store.search(vector, filters, k=8)
        done = time.perf_counter()
        query_ms.append((done - started) * 1000)
        search_ms.append((done - searched) * 1000)
    await store.close()
    return Row(run.chunks_written, index_seconds, query_ms, search_ms)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()

    embedder = OnnxMiniLMEmbedder()
    await embedder.embed_query("warm up")
    rows = []
    with tempfile.TemporaryDirectory(prefix="parley-rag-bench-") as workdir:
        for size in args.sizes:
            rows.append(await bench_size(embedder, size, args.queries, Path(workdir)))

    print(f"offline embedder {embedder.model_id}, Qdrant local mode, {args.queries} queries per size (k=8)")
    header = (
        f"{'chunks':>7} | {'index s':>8} | {'chunks/s':>8} | {'query p50 ms':>12} | {'query p95 ms':>12} | "
        f"{'search p50 ms':>13} | {'search p95 ms':>13}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.chunks:>7} | {row.index_seconds:>8.1f} | {row.chunks / row.index_seconds:>8.1f} | "
            f"{percentile(row.query_ms, 0.5):>12.1f} | {percentile(row.query_ms, 0.95):>12.1f} | "
            f"{percentile(row.search_ms, 0.5):>13.1f} | {percentile(row.search_ms, 0.95):>13.1f}"
        )
    print("query = embed the query text + filtered search (category, age, budget); search = the search alone")
    print(f"mean query ms over all sizes: {statistics.fmean(ms for row in rows for ms in row.query_ms):.1f}")


if __name__ == "__main__":
    asyncio.run(main())
