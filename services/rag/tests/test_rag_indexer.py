from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from parley_contracts import Eligibility, PremiumPeriod, PremiumRange, ProductSnapshot
from qdrant_client import AsyncQdrantClient
from rag.adapters.onnx_embedder import OnnxMiniLMEmbedder
from rag.adapters.openai_embedder import OpenAIEmbedder
from rag.adapters.qdrant_store import QdrantVectorStore
from rag.domain.chunks import TextSplitter, document_chunk_id, product_chunk_id
from rag.domain.embedding import EmbeddingError
from rag.domain.indexer import DocumentText, Indexer
from rag.domain.types import SearchFilters
from rag.testing.embedders import shared_minilm_embedder
from rag.testing.openai_fake_embeddings import DEFAULT_API_KEY, FakeOpenAIEmbeddings, serve_app

CATEGORY = UUID(int=900)
TERM_LIFE, FAMILY_HEALTH, CAR, SENIOR = UUID(int=1), UUID(int=2), UUID(int=3), UUID(int=4)
HEALTH_WORDING, LIFE_GUIDE = UUID(int=101), UUID(int=102)


def product(product_id: UUID, **fields: Any) -> ProductSnapshot:
    return ProductSnapshot.model_validate({"id": product_id, "category_id": CATEGORY, **fields})


CATALOG = [
    product(
        TERM_LIFE,
        name="SecureLife Term 20",
        category_name="Life",
        insurer="Northwind Assurance",
        plan_type="term",
        eligibility=Eligibility(min_age=18, max_age=60),
        premium_range=PremiumRange(min=20, max=90, period=PremiumPeriod.MONTHLY),
        coverage_highlights=["Lump sum paid to your family if you die during the term"],
        tags=["death benefit", "income protection"],
    ),
    product(
        FAMILY_HEALTH,
        name="CarePlus Family Floater",
        category_name="Health",
        insurer="Contoso Health",
        plan_type="family floater",
        eligibility=Eligibility(min_age=0, max_age=65),
        premium_range=PremiumRange(min=45, max=300, period=PremiumPeriod.MONTHLY),
        coverage_highlights=[
            "Hospitalisation expenses for the whole family",
            "Cashless treatment at network hospitals",
        ],
        tags=["hospital", "medical bills"],
    ),
    product(
        CAR,
        name="DriveSafe Comprehensive",
        category_name="Motor",
        insurer="Fabrikam General",
        plan_type="comprehensive",
        eligibility=Eligibility(min_age=21, max_age=75),
        coverage_highlights=["Own damage and third-party liability after a car accident"],
        tags=["car", "vehicle"],
    ),
    product(
        SENIOR,
        name="Golden Years Pension",
        category_name="Retirement",
        insurer="Northwind Assurance",
        plan_type="annuity",
        eligibility=Eligibility(min_age=50, max_age=85),
        premium_range=PremiumRange(min=1200, max=6000, period=PremiumPeriod.YEARLY),
        coverage_highlights=["Guaranteed monthly income for life after you retire"],
        tags=["pension", "retirement income"],
    ),
]
BY_ID = {p.id: p for p in CATALOG}

HEALTH_TEXT = "\n\n".join(
    [
        "Waiting periods. Pre-existing diseases are covered after a waiting period of 36 months from the first "
        "policy start date. Specific illnesses such as cataract and hernia have a waiting period of 24 months. "
        + "Accidents are covered from day one without any waiting period. "
        * 3,
        "Cashless claims. Show your health card at a network hospital and the insurer settles the bill directly. "
        "For planned treatment, request pre-authorisation at least 48 hours before admission. " * 3,
        "Reimbursement claims. Submit the discharge summary, original bills and prescriptions within 30 days of "
        "discharge. The claim is settled within 15 working days of receiving all documents. " * 3,
    ]
)
LIFE_TEXT = (
    "How to claim. The nominee informs the insurer, fills the claim form and submits the death certificate "
    "with the policy document. Claims are paid within 30 days. " * 4
)


class CountingEmbedder:
    """Wraps an embedder to see which texts were (re-)embedded; can be told to fail."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.embedded: list[str] = []
        self.failing = False

    @property
    def model_id(self) -> str:
        return str(self.inner.model_id)

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if self.failing:
            raise EmbeddingError("provider unavailable")
        self.embedded.extend(texts)
        return list(await self.inner.embed_documents(texts))

    async def embed_query(self, text: str) -> list[float]:
        return list(await self.inner.embed_query(text))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture(scope="session")
def minilm() -> OnnxMiniLMEmbedder:
    return shared_minilm_embedder()


@pytest.fixture
async def client() -> AsyncIterator[AsyncQdrantClient]:
    qdrant = AsyncQdrantClient(location=":memory:")
    yield qdrant
    await qdrant.close()


@pytest.fixture
def embedder(minilm: OnnxMiniLMEmbedder) -> CountingEmbedder:
    return CountingEmbedder(minilm)


@pytest.fixture
def store(client: AsyncQdrantClient, embedder: CountingEmbedder) -> QdrantVectorStore:
    return QdrantVectorStore(
        client, model_id=embedder.model_id, dimension=embedder.dimension, create_payload_indexes=False
    )


@pytest.fixture
def indexer(embedder: CountingEmbedder, store: QdrantVectorStore) -> Indexer:
    return Indexer(embedder, store, clock=Clock())


async def snapshot(client: AsyncQdrantClient, store: QdrantVectorStore) -> dict[str, Any]:
    points, _ = await client.scroll(store.collection_name, limit=10_000, with_payload=True, with_vectors=True)
    return {str(point.id): (point.payload, point.vector) for point in points}


async def search(
    indexer_embedder: CountingEmbedder, store: QdrantVectorStore, query: str, k: int = 3, **filters: Any
) -> list[str]:
    vector = await indexer_embedder.embed_query(query)
    return [hit.chunk_id for hit in await store.search(vector, SearchFilters(**filters), k)]


async def test_indexed_products_are_found_by_meaning(
    indexer: Indexer, embedder: CountingEmbedder, store: QdrantVectorStore
) -> None:
    for item in CATALOG:
        run = await indexer.index_product(item)
        assert (run.kind, run.chunks_written, run.chunks_embedded, run.chunks_reused) == ("product", 1, 1, 0)

    assert (await search(embedder, store, "who pays my hospital bills?", k=1)) == [
        product_chunk_id(FAMILY_HEALTH)
    ]
    assert (await search(embedder, store, "money for my kids if I pass away", k=1)) == [
        product_chunk_id(TERM_LIFE)
    ]
    assert (await search(embedder, store, "income once I stop working", k=1)) == [product_chunk_id(SENIOR)]
    # The hard filters hold whatever the query says.
    assert product_chunk_id(TERM_LIFE) not in await search(embedder, store, "life cover", k=4, age=70)
    # Golden Years costs 100 a month at least; DriveSafe states no premium, so it is not excluded.
    assert set(await search(embedder, store, "pension", k=4, max_monthly_premium=50)) == {
        product_chunk_id(p) for p in (TERM_LIFE, FAMILY_HEALTH, CAR)
    }


async def test_indexing_the_same_product_twice_changes_nothing(
    indexer: Indexer, embedder: CountingEmbedder, client: AsyncQdrantClient, store: QdrantVectorStore
) -> None:
    await indexer.index_product(CATALOG[0])
    before = await snapshot(client, store)

    again = await indexer.index_product(CATALOG[0])

    assert (again.chunks_embedded, again.chunks_reused) == (0, 1)
    assert await snapshot(client, store) == before
    assert len(embedder.embedded) == 1


async def test_document_passages_are_indexed_with_product_context(
    indexer: Indexer, embedder: CountingEmbedder, store: QdrantVectorStore
) -> None:
    run = await indexer.index_document(BY_ID[FAMILY_HEALTH], HEALTH_WORDING, HEALTH_TEXT)
    expected_chunks = TextSplitter().split(HEALTH_TEXT)

    assert (run.kind, run.documents, run.chunks_written) == ("document", 1, len(expected_chunks))
    assert all(
        text.startswith("CarePlus Family Floater (Health, Contoso Health): ") for text in embedder.embedded
    )
    vector = await embedder.embed_query("how long before a pre-existing illness is covered?")
    (hit,) = await store.search(vector, SearchFilters(), k=1)
    assert hit.chunk_id == document_chunk_id(HEALTH_WORDING, 0)
    assert hit.document_id == HEALTH_WORDING
    assert hit.product_id == FAMILY_HEALTH
    assert "waiting period of 36 months" in hit.text
    assert not hit.text.startswith("CarePlus")


async def test_a_shorter_new_version_of_a_document_leaves_no_old_tail(
    indexer: Indexer, embedder: CountingEmbedder, store: QdrantVectorStore
) -> None:
    await indexer.index_document(BY_ID[FAMILY_HEALTH], HEALTH_WORDING, HEALTH_TEXT)
    long_version = TextSplitter().split(HEALTH_TEXT)
    embedder.embedded.clear()
    shorter = "\n\n".join(HEALTH_TEXT.split("\n\n")[:2])
    short_version = TextSplitter().split(shorter)
    assert len(short_version) < len(long_version)
    assert short_version[0] == long_version[0] and short_version[1] != long_version[1]

    run = await indexer.index_document(BY_ID[FAMILY_HEALTH], HEALTH_WORDING, shorter)

    assert (await store.counts()).document_chunks == run.chunks_written == len(short_version)
    # The unchanged first passage kept its vector; only the changed one was embedded.
    assert (run.chunks_reused, run.chunks_embedded) == (1, 1)
    assert embedder.embedded == [f"CarePlus Family Floater (Health, Contoso Health): {short_version[1]}"]


async def test_product_changes_reach_its_document_chunks_without_re_embedding_them(
    indexer: Indexer, embedder: CountingEmbedder, store: QdrantVectorStore
) -> None:
    await indexer.index_product(BY_ID[TERM_LIFE])
    await indexer.index_document(BY_ID[TERM_LIFE], LIFE_GUIDE, LIFE_TEXT)
    embedder.embedded.clear()
    older = BY_ID[TERM_LIFE].model_copy(update={"eligibility": Eligibility(min_age=40, max_age=80)})

    run = await indexer.index_product(older)

    assert run.chunks_embedded == 1  # the summary states the ages, so it is re-embedded
    assert embedder.embedded[0].startswith("SecureLife Term 20")
    found = await search(embedder, store, "how does my family claim?", k=10, age=75)
    assert document_chunk_id(LIFE_GUIDE, 0) in found
    assert await search(embedder, store, "how does my family claim?", k=10, age=30) == []


async def test_removing_documents_and_products(indexer: Indexer, store: QdrantVectorStore) -> None:
    await indexer.index_product(BY_ID[TERM_LIFE])
    await indexer.index_document(BY_ID[TERM_LIFE], LIFE_GUIDE, LIFE_TEXT)
    await indexer.index_product(BY_ID[FAMILY_HEALTH])
    await indexer.index_document(BY_ID[FAMILY_HEALTH], HEALTH_WORDING, HEALTH_TEXT)

    removed = await indexer.remove_document(HEALTH_WORDING)
    counts = await store.counts()
    assert removed.kind == "remove_document"
    assert (counts.product_chunks, counts.document_chunks) == (2, len(TextSplitter().split(LIFE_TEXT)))

    await indexer.remove_product(TERM_LIFE)
    counts = await store.counts()
    assert (counts.total, counts.product_chunks) == (1, 1)


async def test_full_reindex_leaves_exactly_the_catalog(
    indexer: Indexer, embedder: CountingEmbedder, client: AsyncQdrantClient, store: QdrantVectorStore
) -> None:
    stale_product = product(
        UUID(int=77), name="Withdrawn Plan", category_name="Life", insurer="Gone Ltd", plan_type="term"
    )
    await indexer.index_product(stale_product)
    await indexer.index_document(stale_product, UUID(int=177), "An old brochure for a withdrawn plan.")
    await indexer.index_document(BY_ID[TERM_LIFE], UUID(int=178), "A deleted leaflet about life cover.")
    # The health wording had a longer version: its extra tail chunks must go too.
    longer = HEALTH_TEXT + "\n\n" + LIFE_TEXT
    await indexer.index_document(BY_ID[FAMILY_HEALTH], HEALTH_WORDING, longer)
    tail = len(TextSplitter().split(longer)) - len(TextSplitter().split(HEALTH_TEXT))
    assert tail > 0
    documents = [
        DocumentText(HEALTH_WORDING, FAMILY_HEALTH, HEALTH_TEXT),
        DocumentText(LIFE_GUIDE, TERM_LIFE, LIFE_TEXT),
        DocumentText(UUID(int=999), UUID(int=998), "A document of a product the catalog no longer has."),
    ]

    run = await indexer.full_reindex(CATALOG, documents)

    doc_chunks = len(TextSplitter().split(HEALTH_TEXT)) + len(TextSplitter().split(LIFE_TEXT))
    assert (run.kind, run.products, run.documents, run.documents_skipped) == ("full_reindex", 4, 2, 1)
    assert run.chunks_written == 4 + doc_chunks
    assert run.chunks_removed == 3 + tail
    counts = await store.counts()
    assert (counts.product_chunks, counts.document_chunks) == (4, doc_chunks)
    hits = await store.search(await embedder.embed_query("withdrawn plan brochure"), SearchFilters(), k=50)
    assert {hit.product_id for hit in hits} == set(BY_ID)
    assert {hit.document_id for hit in hits if hit.document_id} == {HEALTH_WORDING, LIFE_GUIDE}

    before = await snapshot(client, store)
    embedder.embedded.clear()
    again = await indexer.full_reindex(CATALOG, documents[:2])
    assert (again.chunks_embedded, again.chunks_reused, again.chunks_removed) == (0, run.chunks_written, 0)
    assert embedder.embedded == []
    assert await snapshot(client, store) == before


async def test_health_reports_counts_model_and_runs(indexer: Indexer, store: QdrantVectorStore) -> None:
    empty = await indexer.health()
    assert (empty.counts.total, empty.last_full_reindex, empty.last_change) == (0, None, None)
    assert empty.model_id == "all-MiniLM-L6-v2-onnx-int8"
    assert empty.dimension == 384
    assert empty.collection == store.collection_name

    full = await indexer.full_reindex(CATALOG, [DocumentText(LIFE_GUIDE, TERM_LIFE, LIFE_TEXT)])
    change = await indexer.index_product(CATALOG[1])
    health = await indexer.health()

    assert health.counts.total == 4 + len(TextSplitter().split(LIFE_TEXT))
    assert health.last_full_reindex == full
    assert health.last_change == change
    assert full.started_at < full.finished_at <= change.started_at


async def test_a_failed_operation_is_visible_and_changes_nothing(
    indexer: Indexer, embedder: CountingEmbedder, client: AsyncQdrantClient, store: QdrantVectorStore
) -> None:
    await indexer.index_product(CATALOG[0])
    before = await snapshot(client, store)
    embedder.failing = True

    with pytest.raises(EmbeddingError):
        await indexer.full_reindex(CATALOG, [])

    health = await indexer.health()
    assert health.last_change is not None
    assert health.last_change.kind == "full_reindex"
    assert health.last_change.error == "EmbeddingError: provider unavailable"
    assert health.last_full_reindex is None
    assert await snapshot(client, store) == before


async def test_keyed_path_indexes_and_searches_through_openai_embeddings(client: AsyncQdrantClient) -> None:
    fake = FakeOpenAIEmbeddings()
    async with serve_app(fake.app()) as base_url:
        openai_embedder = OpenAIEmbedder(
            model="text-embedding-3-small", api_key=DEFAULT_API_KEY, base_url=base_url, max_retries=0
        )
        store = QdrantVectorStore(
            client, model_id=openai_embedder.model_id, dimension=1536, create_payload_indexes=False
        )
        indexer = Indexer(openai_embedder, store)

        run = await indexer.full_reindex(CATALOG, [DocumentText(HEALTH_WORDING, FAMILY_HEALTH, HEALTH_TEXT)])
        vector = await openai_embedder.embed_query("cashless treatment at network hospitals")
        hits = await store.search(vector, SearchFilters(age=30), k=1)

    assert run.chunks_embedded == run.chunks_written
    # One request per write batch, not per chunk.
    assert len(fake.requests) == 2
    assert store.collection_name.endswith("__1536")
    assert hits[0].product_id == FAMILY_HEALTH
