from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from qdrant_client import AsyncQdrantClient
from qdrant_client.http import models
from rag.adapters.qdrant_store import PAYLOAD_INDEXES, QdrantVectorStore, collection_name_for, point_id
from rag.domain.chunks import Chunk, ProductMetadata, document_chunk_id, product_chunk_id
from rag.domain.types import SearchFilters
from rag.domain.vector_store import EmbeddedChunk, IndexRun

DIM = 4
LIFE, HEALTH, MOTOR = UUID(int=1), UUID(int=2), UUID(int=3)
DOC_A, DOC_B = UUID(int=101), UUID(int=102)


def metadata(
    product_id: UUID, category: str, ages: tuple[int, int], premium: tuple[float, float] | None
) -> ProductMetadata:
    return ProductMetadata(
        product_id=product_id,
        product_name=f"Product {product_id.int}",
        category_name=category,
        insurer="Northwind",
        plan_type="standard",
        min_age=ages[0],
        max_age=ages[1],
        premium_min_monthly=premium[0] if premium else None,
        premium_max_monthly=premium[1] if premium else None,
        tags=("tag",),
    )


PRODUCTS = {
    LIFE: metadata(LIFE, "Life", (18, 60), (20.0, 90.0)),
    HEALTH: metadata(HEALTH, "Health", (0, 65), (45.0, 300.0)),
    MOTOR: metadata(MOTOR, "Motor", (21, 75), None),
}


def product_point(product_id: UUID, vector: list[float]) -> EmbeddedChunk:
    text = f"summary of product {product_id.int}"
    chunk = Chunk(product_chunk_id(product_id), "product", PRODUCTS[product_id], text, text)
    return EmbeddedChunk(chunk, vector)


def document_point(product_id: UUID, document_id: UUID, position: int, vector: list[float]) -> EmbeddedChunk:
    text = f"passage {position} of document {document_id.int}"
    chunk = Chunk(
        document_chunk_id(document_id, position),
        "document",
        PRODUCTS[product_id],
        text,
        f"context: {text}",
        document_id=document_id,
        position=position,
    )
    return EmbeddedChunk(chunk, vector)


def corpus() -> list[EmbeddedChunk]:
    return [
        product_point(LIFE, [1, 0, 0, 0]),
        product_point(HEALTH, [0, 1, 0, 0]),
        product_point(MOTOR, [0, 0, 1, 0]),
        document_point(LIFE, DOC_A, 0, [0.9, 0.1, 0, 0]),
        document_point(LIFE, DOC_A, 1, [0.8, 0.2, 0, 0]),
        document_point(HEALTH, DOC_B, 0, [0.1, 0.9, 0, 0]),
    ]


@pytest.fixture
async def store() -> AsyncIterator[QdrantVectorStore]:
    vector_store = QdrantVectorStore(
        AsyncQdrantClient(location=":memory:"),
        model_id="test-model",
        dimension=DIM,
        create_payload_indexes=False,
    )
    await vector_store.ensure_collection()
    await vector_store.upsert(corpus())
    yield vector_store
    await vector_store.close()


async def chunk_ids(
    store: QdrantVectorStore, filters: SearchFilters, query: list[float] | None = None
) -> set[str]:
    hits = await store.search(query or [1, 1, 1, 1], filters, k=100)
    return {hit.chunk_id for hit in hits}


def ids_of(*chunks: str) -> set[str]:
    return set(chunks)


P_LIFE, P_HEALTH, P_MOTOR = (product_chunk_id(p) for p in (LIFE, HEALTH, MOTOR))
A0, A1, B0 = document_chunk_id(DOC_A, 0), document_chunk_id(DOC_A, 1), document_chunk_id(DOC_B, 0)
EVERYTHING = {P_LIFE, P_HEALTH, P_MOTOR, A0, A1, B0}


async def test_search_ranks_by_cosine_and_returns_the_chunk(store: QdrantVectorStore) -> None:
    hits = await store.search([1, 0, 0, 0], SearchFilters(), k=3)

    assert [hit.chunk_id for hit in hits] == [P_LIFE, A0, A1]
    top = hits[0]
    assert top.product_id == LIFE
    assert top.kind == "product"
    assert top.document_id is None
    assert top.text == "summary of product 1"
    assert top.score == pytest.approx(1.0)
    assert top.metadata == {
        "product_name": "Product 1",
        "category_name": "Life",
        "insurer": "Northwind",
        "plan_type": "standard",
        "min_age": 18,
        "max_age": 60,
        "premium_min_monthly": 20.0,
        "premium_max_monthly": 90.0,
        "tags": ["tag"],
        "position": 0,
    }
    assert hits[1].document_id == DOC_A
    assert hits[1].kind == "document"


async def test_no_filters_reach_every_chunk(store: QdrantVectorStore) -> None:
    assert await chunk_ids(store, SearchFilters()) == EVERYTHING


async def test_category_filter_ignores_case_and_spaces(store: QdrantVectorStore) -> None:
    assert await chunk_ids(store, SearchFilters(category_names=[" health", "MOTOR"])) == {
        P_HEALTH,
        B0,
        P_MOTOR,
    }
    assert await chunk_ids(store, SearchFilters(category_names=["Travel"])) == set()


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (17, {P_HEALTH, B0}),
        (18, {P_LIFE, A0, A1, P_HEALTH, B0}),
        (60, EVERYTHING),
        (61, {P_HEALTH, B0, P_MOTOR}),
        (66, {P_MOTOR}),
        (80, set()),
    ],
)
async def test_age_must_fall_inside_the_eligibility_band(
    store: QdrantVectorStore, age: int, expected: set[str]
) -> None:
    assert await chunk_ids(store, SearchFilters(age=age)) == expected


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        (10.0, {P_MOTOR}),  # no stated premium: not known to exceed any budget
        (20.0, {P_LIFE, A0, A1, P_MOTOR}),
        (44.99, {P_LIFE, A0, A1, P_MOTOR}),
        (45.0, EVERYTHING),
    ],
)
async def test_budget_excludes_products_whose_cheapest_premium_exceeds_it(
    store: QdrantVectorStore, budget: float, expected: set[str]
) -> None:
    assert await chunk_ids(store, SearchFilters(max_monthly_premium=budget)) == expected


async def test_product_id_filter_and_combined_filters(store: QdrantVectorStore) -> None:
    assert await chunk_ids(store, SearchFilters(product_ids=[HEALTH, MOTOR])) == {P_HEALTH, B0, P_MOTOR}
    combined = SearchFilters(
        category_names=["life", "health"], age=62, max_monthly_premium=100, product_ids=[HEALTH]
    )
    assert await chunk_ids(store, combined) == {P_HEALTH, B0}


async def test_filters_apply_before_the_top_k_cut(store: QdrantVectorStore) -> None:
    # The query is closest to Life chunks; a post-filter over the top 2 would find no Motor chunk.
    hits = await store.search([1, 0, 0, 0], SearchFilters(category_names=["Motor"]), k=2)

    assert [hit.chunk_id for hit in hits] == [P_MOTOR]


async def test_empty_id_or_category_lists_match_nothing(store: QdrantVectorStore) -> None:
    assert await chunk_ids(store, SearchFilters(product_ids=[])) == set()
    assert await chunk_ids(store, SearchFilters(category_names=[])) == set()
    with pytest.raises(ValueError):
        await store.search([1, 0, 0, 0], SearchFilters(), k=0)


async def test_counts_by_kind(store: QdrantVectorStore) -> None:
    counts = await store.counts()

    assert (counts.total, counts.product_chunks, counts.document_chunks) == (6, 3, 3)


async def test_upsert_of_the_same_chunk_overwrites_its_point(store: QdrantVectorStore) -> None:
    await store.upsert(corpus())
    await store.upsert([product_point(LIFE, [0, 0, 0, 1])])

    assert (await store.counts()).total == 6
    assert (await store.search([0, 0, 0, 1], SearchFilters(), k=1))[0].chunk_id == P_LIFE


async def test_vectors_of_the_wrong_size_are_refused(store: QdrantVectorStore) -> None:
    with pytest.raises(ValueError, match="vector size 3"):
        await store.upsert([product_point(LIFE, [1, 0, 0])])


async def test_embedded_fingerprints_of_stored_chunks(store: QdrantVectorStore) -> None:
    fingerprints = await store.embedded_fingerprints([P_LIFE, A1, "product:missing"])

    assert fingerprints == {
        P_LIFE: corpus()[0].chunk.embedding_sha256,
        A1: corpus()[4].chunk.embedding_sha256,
    }


async def test_payload_updates_keep_the_vector_bit_for_bit(store: QdrantVectorStore) -> None:
    client = store._client
    (before,) = await client.retrieve(store.collection_name, [point_id(A0)], with_vectors=True)
    moved = Chunk(
        A0,
        "document",
        metadata(LIFE, "Life", (30, 40), (5.0, 6.0)),
        "passage 0 of document 101",
        "x",
        DOC_A,
        0,
    )

    await store.update_payloads([moved])

    (after,) = await client.retrieve(store.collection_name, [point_id(A0)], with_vectors=True)
    assert after.vector == before.vector
    assert after.payload is not None
    assert (after.payload["min_age"], after.payload["premium_min_monthly"]) == (30, 5.0)
    assert after.payload["embedding_sha256"] == moved.embedding_sha256


async def test_delete_product_takes_its_documents(store: QdrantVectorStore) -> None:
    await store.delete_product(LIFE)

    assert await chunk_ids(store, SearchFilters()) == {P_HEALTH, P_MOTOR, B0}


async def test_delete_document_from_a_position(store: QdrantVectorStore) -> None:
    await store.delete_document(DOC_A, from_position=1)
    assert await chunk_ids(store, SearchFilters()) == EVERYTHING - {A1}

    await store.delete_document(DOC_A)
    assert await chunk_ids(store, SearchFilters()) == EVERYTHING - {A0, A1}


async def test_delete_all_except_keeps_only_what_is_named(store: QdrantVectorStore) -> None:
    removed = await store.delete_all_except([P_LIFE, P_HEALTH, B0, "doc:never-stored:0"])

    assert removed == 3
    assert await chunk_ids(store, SearchFilters()) == {P_LIFE, P_HEALTH, B0}
    assert await store.delete_all_except([]) == 3
    assert (await store.counts()).total == 0


async def test_product_metadata_update_reaches_document_chunks(store: QdrantVectorStore) -> None:
    older_only = metadata(LIFE, "Senior Life", (50, 85), None)

    await store.update_product_metadata(older_only)

    assert await chunk_ids(store, SearchFilters(age=80, category_names=["senior life"])) == {P_LIFE, A0, A1}
    hit = (await store.search([1, 0, 0, 0], SearchFilters(), k=1))[0]
    assert hit.text == "summary of product 1"
    assert hit.metadata["premium_min_monthly"] is None


def test_collection_names_are_keyed_by_model_and_dimension() -> None:
    name = collection_name_for("parley_chunks", "all-MiniLM-L6-v2-onnx-int8", 384)

    assert name.startswith("parley_chunks__all-minilm-l6-v2-onnx-int8-")
    assert name.endswith("__384")
    assert name == collection_name_for("parley_chunks", "all-MiniLM-L6-v2-onnx-int8", 384)
    assert collection_name_for("p", "openai:text-embedding-3-small", 1536) != collection_name_for(
        "p", "openai/text-embedding-3-small", 1536
    )
    assert collection_name_for("p", "m", 256) != collection_name_for("p", "m", 512)


def test_point_ids_are_stable_uuids_of_the_chunk_id() -> None:
    assert point_id("product:1") == point_id("product:1")
    assert point_id("product:1") != point_id("product:2")
    assert UUID(point_id("doc:x:0")).version == 5


async def test_models_get_separate_collections_on_one_client() -> None:
    client = AsyncQdrantClient(location=":memory:")
    small = QdrantVectorStore(client, model_id="model-a", dimension=DIM, create_payload_indexes=False)
    large = QdrantVectorStore(client, model_id="model-b", dimension=8, create_payload_indexes=False)
    await small.ensure_collection()
    await large.ensure_collection()
    await small.upsert(corpus())

    assert (await small.counts()).total == 6
    assert (await large.counts()).total == 0
    await client.close()


async def test_a_collection_of_another_size_is_refused() -> None:
    client = AsyncQdrantClient(location=":memory:")
    store = QdrantVectorStore(client, model_id="m", dimension=DIM, create_payload_indexes=False)
    await client.create_collection(
        store.collection_name, vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE)
    )

    with pytest.raises(RuntimeError, match="size 3, not 4"):
        await store.ensure_collection()
    await client.close()


class RecordingClient(AsyncQdrantClient):
    """An in-memory client that notes the payload indexes asked for (a server would build them)."""

    def __init__(self) -> None:
        super().__init__(location=":memory:")
        self.indexed: dict[str, Any] = {}

    async def create_payload_index(self, collection_name: str, field_name: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.indexed[field_name] = kwargs["field_schema"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return await super().create_payload_index(collection_name, field_name, **kwargs)


async def test_server_mode_indexes_every_filtered_field() -> None:
    client = RecordingClient()
    store = QdrantVectorStore(client, model_id="m", dimension=DIM)

    await store.ensure_collection()
    await store.ensure_collection()  # idempotent on restart

    assert client.indexed == PAYLOAD_INDEXES
    assert {"product_id", "document_id", "category_key", "min_age", "max_age", "premium_min_monthly"} <= set(
        client.indexed
    )
    await client.close()


def test_open_needs_exactly_one_of_path_or_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        QdrantVectorStore.open(model_id="m", dimension=DIM)
    with pytest.raises(ValueError):
        QdrantVectorStore.open(model_id="m", dimension=DIM, path=tmp_path, url="http://127.0.0.1:6333")


async def test_local_store_persists_and_has_a_single_owner(tmp_path: Path) -> None:
    run = IndexRun(
        kind="full_reindex",
        started_at=datetime(2025, 1, 2, 3, 4, tzinfo=UTC),
        finished_at=datetime(2025, 1, 2, 3, 5, tzinfo=UTC),
        chunks_written=6,
        products=3,
    )
    first = QdrantVectorStore.open(model_id="m", dimension=DIM, path=tmp_path / "qdrant")
    await first.ensure_collection()
    assert await first.last_full_reindex() is None
    await first.upsert(corpus())
    await first.save_last_full_reindex(run)

    with pytest.raises(RuntimeError, match="already accessed"):
        QdrantVectorStore.open(model_id="m", dimension=DIM, path=tmp_path / "qdrant")
    await first.close()

    reopened = QdrantVectorStore.open(model_id="m", dimension=DIM, path=tmp_path / "qdrant")
    await reopened.ensure_collection()
    assert (await reopened.counts()).total == 6
    assert await reopened.last_full_reindex() == run
    assert await chunk_ids(reopened, SearchFilters(age=17)) == {P_HEALTH, B0}
    await reopened.close()
