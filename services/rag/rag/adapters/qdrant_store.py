"""Qdrant adapter of the vector store port: local mode on disk (embedded default) or a Qdrant server.

One collection per embedding model: its name carries the model id and the vector dimension, so a new
model starts an empty collection (to be filled by a full reindex) instead of mixing vector spaces.

Local mode locks its directory: exactly one `QdrantVectorStore` (one process) may own a path. Create
one per service process and share it between the indexer and the search path.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ApiException, UnexpectedResponse

from rag.domain.chunks import Chunk, ProductMetadata
from rag.domain.types import ChunkHit, SearchFilters
from rag.domain.vector_store import EmbeddedChunk, IndexCounts, IndexRun

log = logging.getLogger(__name__)

# Point ids are uuid5(chunk id): writing the same chunk twice overwrites one point.
_POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:parley:rag:chunk")
_WRITE_BATCH = 256
_SCROLL_PAGE = 1024
_LAST_FULL_REINDEX_KEY = "last_full_reindex"

# Every field a filter or a delete selects on. A Qdrant server needs these indexes to filter fast
# (and to plan filtered HNSW search); local mode scans payloads and ignores them.
PAYLOAD_INDEXES: dict[str, models.PayloadSchemaType] = {
    "product_id": models.PayloadSchemaType.KEYWORD,
    "document_id": models.PayloadSchemaType.KEYWORD,
    "kind": models.PayloadSchemaType.KEYWORD,
    "category_key": models.PayloadSchemaType.KEYWORD,
    "min_age": models.PayloadSchemaType.INTEGER,
    "max_age": models.PayloadSchemaType.INTEGER,
    "premium_min_monthly": models.PayloadSchemaType.FLOAT,
    "position": models.PayloadSchemaType.INTEGER,
}

# Payload fields handed back to the caller as ChunkHit.metadata.
_HIT_METADATA_FIELDS = (
    "product_name",
    "category_name",
    "insurer",
    "plan_type",
    "min_age",
    "max_age",
    "premium_min_monthly",
    "premium_max_monthly",
    "tags",
    "position",
)


def collection_name_for(prefix: str, model_id: str, dimension: int) -> str:
    """`<prefix>__<model slug>-<hash>__<dimension>`: readable, and distinct for distinct model ids.

    The short hash of the exact id keeps ids that slug alike (`a:b`, `a/b`) in separate collections.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:8]
    return f"{prefix}__{slug}-{digest}__{dimension}"


def point_id(chunk_id: str) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, chunk_id))


def category_key(category_name: str) -> str:
    """Category match ignores case and surrounding spaces ("Health " finds "health")."""
    return category_name.strip().casefold()


def _metadata_payload(metadata: ProductMetadata) -> dict[str, Any]:
    return {
        "product_id": str(metadata.product_id),
        "product_name": metadata.product_name,
        "category_name": metadata.category_name,
        "category_key": category_key(metadata.category_name),
        "insurer": metadata.insurer,
        "plan_type": metadata.plan_type,
        "min_age": metadata.min_age,
        "max_age": metadata.max_age,
        "premium_min_monthly": metadata.premium_min_monthly,
        "premium_max_monthly": metadata.premium_max_monthly,
        "tags": list(metadata.tags),
    }


def _chunk_payload(chunk: Chunk) -> dict[str, Any]:
    return {
        "chunk_id": chunk.chunk_id,
        "kind": chunk.kind,
        "document_id": str(chunk.document_id) if chunk.document_id else None,
        "position": chunk.position,
        "text": chunk.text,
        "embedding_sha256": chunk.embedding_sha256,
        **_metadata_payload(chunk.product),
    }


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


def build_search_filter(filters: SearchFilters) -> models.Filter | None:
    """The hard constraints as one Qdrant filter (None when there are none).

    An empty `category_names` or `product_ids` list matches nothing; callers check that before
    searching (see `QdrantVectorStore.search`), since Qdrant has no "match none" condition.
    """
    must: list[models.Condition] = []
    if filters.category_names is not None:
        keys = sorted({category_key(name) for name in filters.category_names})
        must.append(models.FieldCondition(key="category_key", match=models.MatchAny(any=keys)))
    if filters.age is not None:
        must.append(models.FieldCondition(key="min_age", range=models.Range(lte=filters.age)))
        must.append(models.FieldCondition(key="max_age", range=models.Range(gte=filters.age)))
    if filters.max_monthly_premium is not None:
        # A product without a stated premium is not known to exceed the budget, so it stays.
        must.append(
            models.Filter(
                should=[
                    models.FieldCondition(
                        key="premium_min_monthly", range=models.Range(lte=filters.max_monthly_premium)
                    ),
                    models.IsEmptyCondition(is_empty=models.PayloadField(key="premium_min_monthly")),
                ]
            )
        )
    if filters.product_ids is not None:
        ids = sorted(str(product_id) for product_id in filters.product_ids)
        must.append(models.FieldCondition(key="product_id", match=models.MatchAny(any=ids)))
    return models.Filter(must=must) if must else None


class QdrantVectorStore:
    def __init__(
        self,
        client: AsyncQdrantClient,
        *,
        model_id: str,
        dimension: int,
        collection_prefix: str = "parley_chunks",
        create_payload_indexes: bool = True,
    ) -> None:
        self._client = client
        self._dimension = dimension
        self._collection = collection_name_for(collection_prefix, model_id, dimension)
        self._create_payload_indexes = create_payload_indexes

    @classmethod
    def open(
        cls,
        *,
        model_id: str,
        dimension: int,
        path: Path | str | None = None,
        url: str | None = None,
        api_key: str | None = None,
        collection_prefix: str = "parley_chunks",
        timeout: int = 30,
    ) -> QdrantVectorStore:
        """A store on a Qdrant server (`url`) or in local mode on disk (`path`): exactly one of them."""
        if (path is None) == (url is None):
            raise ValueError("give exactly one of path (local mode) or url (Qdrant server)")
        if url is not None:
            client = AsyncQdrantClient(url=url, api_key=api_key, timeout=timeout)
        else:
            client = AsyncQdrantClient(path=str(path))
        return cls(
            client,
            model_id=model_id,
            dimension=dimension,
            collection_prefix=collection_prefix,
            create_payload_indexes=url is not None,
        )

    @property
    def collection_name(self) -> str:
        return self._collection

    async def ensure_collection(self) -> None:
        if await self._client.collection_exists(self._collection):
            await self._check_dimension()
        else:
            try:
                await self._client.create_collection(
                    self._collection,
                    vectors_config=models.VectorParams(size=self._dimension, distance=models.Distance.COSINE),
                )
            except UnexpectedResponse as error:
                # Another replica created it between our check and our create: that is the goal reached.
                if error.status_code != 409:
                    raise
        if self._create_payload_indexes:
            for field, schema in PAYLOAD_INDEXES.items():
                await self._client.create_payload_index(self._collection, field, field_schema=schema)

    async def _check_dimension(self) -> None:
        info = await self._client.get_collection(self._collection)
        params = info.config.params.vectors
        size = params.size if isinstance(params, models.VectorParams) else None
        if size != self._dimension:
            raise RuntimeError(
                f"collection {self._collection} holds vectors of size {size}, not {self._dimension}"
            )

    async def upsert(self, chunks: Sequence[EmbeddedChunk]) -> None:
        for start in range(0, len(chunks), _WRITE_BATCH):
            points = []
            for embedded in chunks[start : start + _WRITE_BATCH]:
                if len(embedded.vector) != self._dimension:
                    raise ValueError(
                        f"{embedded.chunk.chunk_id}: vector size {len(embedded.vector)} != {self._dimension}"
                    )
                points.append(
                    models.PointStruct(
                        id=point_id(embedded.chunk.chunk_id),
                        vector=embedded.vector,
                        payload=_chunk_payload(embedded.chunk),
                    )
                )
            await self._client.upsert(self._collection, points=points, wait=True)

    async def embedded_fingerprints(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(chunk_ids), _WRITE_BATCH):
            records = await self._client.retrieve(
                self._collection,
                ids=[point_id(chunk_id) for chunk_id in chunk_ids[start : start + _WRITE_BATCH]],
                with_payload=models.PayloadSelectorInclude(include=["chunk_id", "embedding_sha256"]),
                with_vectors=False,
            )
            for record in records:
                payload = record.payload or {}
                found[payload["chunk_id"]] = payload["embedding_sha256"]
        return found

    async def update_payloads(self, chunks: Sequence[Chunk]) -> None:
        # Payload-only writes: upserting a stored vector again would re-normalise it, drifting its last bits.
        for start in range(0, len(chunks), _WRITE_BATCH):
            await self._client.batch_update_points(
                self._collection,
                update_operations=[
                    models.OverwritePayloadOperation(
                        overwrite_payload=models.SetPayload(
                            payload=_chunk_payload(chunk), points=[point_id(chunk.chunk_id)]
                        )
                    )
                    for chunk in chunks[start : start + _WRITE_BATCH]
                ],
                wait=True,
            )

    async def update_product_metadata(self, metadata: ProductMetadata) -> None:
        await self._client.set_payload(
            self._collection,
            payload=_metadata_payload(metadata),
            points=models.Filter(must=[_match("product_id", str(metadata.product_id))]),
            wait=True,
        )

    async def delete_product(self, product_id: UUID) -> None:
        await self._delete(models.Filter(must=[_match("product_id", str(product_id))]))

    async def delete_document(self, document_id: UUID, from_position: int = 0) -> None:
        await self._delete(
            models.Filter(
                must=[
                    _match("document_id", str(document_id)),
                    models.FieldCondition(key="position", range=models.Range(gte=from_position)),
                ]
            )
        )

    async def delete_all_except(self, chunk_ids: Collection[str]) -> int:
        # One unfiltered pass over the point ids: a filter per product or document would make local
        # mode scan every payload once per product.
        keep = {point_id(chunk_id) for chunk_id in chunk_ids}
        stale: list[models.ExtendedPointId] = []
        offset: models.ExtendedPointId | None = None
        while True:
            records, offset = await self._client.scroll(
                self._collection, limit=_SCROLL_PAGE, offset=offset, with_payload=False, with_vectors=False
            )
            stale.extend(record.id for record in records if str(record.id) not in keep)
            if offset is None:
                break
        for start in range(0, len(stale), _WRITE_BATCH):
            await self._client.delete(
                self._collection,
                points_selector=models.PointIdsList(points=stale[start : start + _WRITE_BATCH]),
                wait=True,
            )
        return len(stale)

    async def _delete(self, selection: models.Filter) -> None:
        await self._client.delete(
            self._collection, points_selector=models.FilterSelector(filter=selection), wait=True
        )

    async def search(self, query_vector: Sequence[float], filters: SearchFilters, k: int) -> list[ChunkHit]:
        if k < 1:
            raise ValueError("k must be at least 1")
        if filters.category_names == [] or filters.product_ids == []:
            return []
        response = await self._client.query_points(
            self._collection,
            query=list(query_vector),
            query_filter=build_search_filter(filters),
            limit=k,
            with_payload=True,
        )
        hits = []
        for point in response.points:
            payload = point.payload or {}
            hits.append(
                ChunkHit(
                    chunk_id=payload["chunk_id"],
                    product_id=UUID(payload["product_id"]),
                    kind=payload["kind"],
                    document_id=UUID(payload["document_id"]) if payload.get("document_id") else None,
                    text=payload["text"],
                    score=point.score,
                    metadata={field: payload.get(field) for field in _HIT_METADATA_FIELDS},
                )
            )
        return hits

    async def counts(self) -> IndexCounts:
        total = await self._client.count(self._collection, exact=True)
        products = await self._client.count(
            self._collection, count_filter=models.Filter(must=[_match("kind", "product")]), exact=True
        )
        return IndexCounts(
            total=total.count, product_chunks=products.count, document_chunks=total.count - products.count
        )

    async def save_last_full_reindex(self, run: IndexRun) -> None:
        # Kept with the collection, so it survives restarts and goes away with the index it describes.
        # Collection metadata needs Qdrant >= 1.16: an older server loses this record, not the reindex.
        try:
            await self._client.update_collection(
                self._collection, metadata={_LAST_FULL_REINDEX_KEY: run.model_dump(mode="json")}
            )
        except (ApiException, UnexpectedResponse):
            log.warning("could not record the full reindex on collection %s", self._collection, exc_info=True)

    async def last_full_reindex(self) -> IndexRun | None:
        info = await self._client.get_collection(self._collection)
        recorded = (info.config.metadata or {}).get(_LAST_FULL_REINDEX_KEY)
        return IndexRun.model_validate(recorded) if recorded else None

    async def close(self) -> None:
        await self._client.close()
