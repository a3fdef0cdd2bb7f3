"""Indexing service: keeps the vector index in step with the catalog, idempotently.

Every operation can be repeated (event redelivery, replay, scheduled full reindex) and leaves the same
points: chunk ids are stable, a chunk whose embedded text is unchanged keeps its stored vector (no
paid or slow re-embedding), and chunks the catalog no longer has are deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TypeVar
from uuid import UUID

from parley_contracts import ProductSnapshot, utcnow
from pydantic import BaseModel

from .chunks import Chunk, ProductMetadata, TextSplitter, build_document_chunks, build_product_chunk
from .embedding import Embedder
from .vector_store import EmbeddedChunk, IndexCounts, IndexRun, RunKind, VectorStore

# Chunks handled per round trip: bounds memory on a full reindex and suits both embedders
# (OpenAI takes up to 2048 inputs a request; the ONNX model batches internally).
WRITE_BATCH = 256

_T = TypeVar("_T")


def _batches(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


@dataclass(frozen=True, slots=True)
class DocumentText:
    """A catalog document's extracted text, as a full reindex receives it."""

    document_id: UUID
    product_id: UUID
    text: str


class IndexHealth(BaseModel):
    model_id: str
    dimension: int
    collection: str
    counts: IndexCounts
    last_full_reindex: IndexRun | None
    # The latest operation this process ran, of any kind (None since start-up).
    last_change: IndexRun | None


@dataclass
class _RunTally:
    kind: RunKind
    started_at: datetime
    written: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    products: int = 0
    documents: int = 0
    documents_skipped: int = 0
    run: IndexRun | None = None

    def close(self, finished_at: datetime, error: str | None = None) -> IndexRun:
        self.run = IndexRun(
            kind=self.kind,
            started_at=self.started_at,
            finished_at=finished_at,
            chunks_written=self.written,
            chunks_embedded=self.embedded,
            chunks_reused=self.reused,
            chunks_removed=self.removed,
            products=self.products,
            documents=self.documents,
            documents_skipped=self.documents_skipped,
            error=error,
        )
        return self.run

    @property
    def result(self) -> IndexRun:
        if self.run is None:
            raise RuntimeError("the run has not finished")
        return self.run


class Indexer:
    """Writes catalog products and documents into one `VectorStore` with one `Embedder`.

    Writes are serialised: each operation reads stored vectors, then writes, and two interleaved
    operations on the same product could otherwise resurrect chunks the other just removed.
    """

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        *,
        splitter: TextSplitter | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if embedder.dimension <= 0:
            raise ValueError("embedder dimension must be positive")
        self._embedder = embedder
        self._store = store
        self._splitter = splitter or TextSplitter()
        self._clock = clock
        self._lock = asyncio.Lock()
        self._collection_ready = False
        self._last_change: IndexRun | None = None

    async def index_product(self, product: ProductSnapshot) -> IndexRun:
        async with self._run("product") as tally:
            tally.products = 1
            await self._write([build_product_chunk(product)], tally)
            # Document chunks carry the product's filter fields too: a changed age band or premium
            # must reach them, without re-embedding their text.
            await self._store.update_product_metadata(ProductMetadata.from_snapshot(product))
        return tally.result

    async def index_document(self, product: ProductSnapshot, document_id: UUID, text: str) -> IndexRun:
        async with self._run("document") as tally:
            tally.documents = 1
            chunks = self._document_chunks(product, document_id, text)
            await self._write(chunks, tally)
            # A shorter new version leaves the old tail chunks behind: drop them.
            await self._store.delete_document(document_id, from_position=len(chunks))
        return tally.result

    async def remove_product(self, product_id: UUID) -> IndexRun:
        async with self._run("remove_product") as tally:
            tally.products = 1
            await self._store.delete_product(product_id)
        return tally.result

    async def remove_document(self, document_id: UUID) -> IndexRun:
        async with self._run("remove_document") as tally:
            tally.documents = 1
            await self._store.delete_document(document_id)
        return tally.result

    async def full_reindex(
        self, products: Iterable[ProductSnapshot], documents: Iterable[DocumentText]
    ) -> IndexRun:
        """Make the index hold exactly these products and documents, and nothing else.

        A document whose product is not among `products` is skipped (and counted as such).
        """
        by_id = {product.id: product for product in products}
        all_documents = list(documents)
        kept = [document for document in all_documents if document.product_id in by_id]
        async with self._run("full_reindex") as tally:
            tally.products = len(by_id)
            tally.documents = len(kept)
            tally.documents_skipped = len(all_documents) - len(kept)
            written: set[str] = set()

            def every_chunk() -> Iterator[Chunk]:
                for product in by_id.values():
                    yield build_product_chunk(product)
                for document in kept:
                    yield from self._document_chunks(
                        by_id[document.product_id], document.document_id, document.text
                    )

            # One stream, so embedding batches stay full across many short documents.
            await self._write(every_chunk(), tally, written)
            # Whatever was not just written is gone from the catalog (or a shorter document's old tail).
            tally.removed = await self._store.delete_all_except(written)
        await self._store.save_last_full_reindex(tally.result)
        return tally.result

    async def health(self) -> IndexHealth:
        await self._ensure_collection()
        return IndexHealth(
            model_id=self._embedder.model_id,
            dimension=self._embedder.dimension,
            collection=self._store.collection_name,
            counts=await self._store.counts(),
            last_full_reindex=await self._store.last_full_reindex(),
            last_change=self._last_change,
        )

    async def _ensure_collection(self) -> None:
        if not self._collection_ready:
            await self._store.ensure_collection()
            self._collection_ready = True

    @asynccontextmanager
    async def _run(self, kind: RunKind) -> AsyncIterator[_RunTally]:
        async with self._lock:
            tally = _RunTally(kind=kind, started_at=self._clock())
            try:
                await self._ensure_collection()
                yield tally
            except Exception as error:
                # Visible in health() until the next operation; the caller still gets the exception.
                self._last_change = tally.close(self._clock(), error=f"{type(error).__name__}: {error}")
                raise
            self._last_change = tally.close(self._clock())

    def _document_chunks(self, product: ProductSnapshot, document_id: UUID, text: str) -> list[Chunk]:
        return build_document_chunks(product, document_id, text, self._splitter)

    async def _write(
        self, chunks: Iterable[Chunk], tally: _RunTally, written: set[str] | None = None
    ) -> None:
        for batch in _batches(chunks, WRITE_BATCH):
            fingerprints = await self._store.embedded_fingerprints([chunk.chunk_id for chunk in batch])
            fresh = [chunk for chunk in batch if fingerprints.get(chunk.chunk_id) != chunk.embedding_sha256]
            unchanged = [
                chunk for chunk in batch if fingerprints.get(chunk.chunk_id) == chunk.embedding_sha256
            ]
            if fresh:
                vectors = await self._embedder.embed_documents([chunk.embedding_text for chunk in fresh])
                await self._store.upsert(
                    [EmbeddedChunk(chunk, vector) for chunk, vector in zip(fresh, vectors, strict=True)]
                )
            if unchanged:
                # Same embedded text, same vector: only the stored facts (position, metadata) may differ.
                await self._store.update_payloads(unchanged)
            tally.written += len(batch)
            if written is not None:
                written.update(chunk.chunk_id for chunk in batch)
            tally.embedded += len(fresh)
            tally.reused += len(unchanged)
