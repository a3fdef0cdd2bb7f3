"""The `Retriever` port over the vector index: embed the query, then the store's filtered search."""

from __future__ import annotations

from rag.domain.embedding import Embedder
from rag.domain.types import ChunkHit, SearchFilters
from rag.domain.vector_store import VectorStore


class EmbeddingRetriever:
    def __init__(self, embedder: Embedder, store: VectorStore) -> None:
        self._embedder = embedder
        self._store = store

    async def search(self, query: str, filters: SearchFilters, k: int) -> list[ChunkHit]:
        vector = await self._embedder.embed_query(query)
        return await self._store.search(vector, filters, k)
