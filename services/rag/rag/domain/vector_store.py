"""The vector store port: where chunks and their vectors live, and the filtered similarity search."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

from pydantic import BaseModel

from .chunks import Chunk, ProductMetadata
from .types import ChunkHit, SearchFilters


@dataclass(frozen=True, slots=True)
class EmbeddedChunk:
    chunk: Chunk
    vector: list[float]


class IndexCounts(BaseModel):
    total: int
    product_chunks: int
    document_chunks: int


RunKind = Literal["full_reindex", "product", "document", "remove_product", "remove_document"]


class IndexRun(BaseModel):
    """What one indexing operation did; the last full reindex is kept with the index itself."""

    kind: RunKind
    started_at: datetime
    finished_at: datetime
    chunks_written: int = 0
    chunks_embedded: int = 0
    # Chunks whose text was unchanged, so their stored vector was kept instead of re-embedded.
    chunks_reused: int = 0
    # Chunks deleted because the catalog no longer has them (a full reindex's clean-up).
    chunks_removed: int = 0
    products: int = 0
    documents: int = 0
    # Documents named in a full reindex whose product was not in it: nothing to attach them to.
    documents_skipped: int = 0
    # Why the operation failed (None when it succeeded).
    error: str | None = None


class VectorStore(Protocol):
    """One collection of chunk vectors for one embedding model (`model_id`, `dimension`).

    Implementations apply every `SearchFilters` constraint inside the store, never after a top-k cut,
    so k eligible chunks come back even when most of the index is ineligible.
    """

    @property
    def collection_name(self) -> str: ...

    async def ensure_collection(self) -> None: ...

    async def upsert(self, chunks: Sequence[EmbeddedChunk]) -> None: ...

    async def embedded_fingerprints(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """chunk id -> `Chunk.embedding_sha256` of its stored vector, for those of `chunk_ids` stored."""
        ...

    async def update_payloads(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite what is stored with these chunks, keeping their vectors bit for bit."""
        ...

    async def update_product_metadata(self, metadata: ProductMetadata) -> None:
        """Rewrite the product facts on every stored chunk of `metadata.product_id` (no re-embedding)."""
        ...

    async def delete_product(self, product_id: UUID) -> None:
        """Delete the product's summary and all its document chunks."""
        ...

    async def delete_document(self, document_id: UUID, from_position: int = 0) -> None:
        """Delete the document's chunks at `from_position` and after (all of them by default)."""
        ...

    async def delete_all_except(self, chunk_ids: Collection[str]) -> int:
        """Delete every stored chunk not named: what a full reindex no longer has. Returns how many."""
        ...

    async def search(
        self, query_vector: Sequence[float], filters: SearchFilters, k: int
    ) -> list[ChunkHit]: ...

    async def counts(self) -> IndexCounts: ...

    async def save_last_full_reindex(self, run: IndexRun) -> None: ...

    async def last_full_reindex(self) -> IndexRun | None: ...

    async def close(self) -> None: ...
