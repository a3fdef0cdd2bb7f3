"""rag use cases: keep the index and the catalog projection in step with catalog events, extract needs
and recommend after a call, and answer recommendation requests.

Handlers write inside the unit of work that also claims the inbox row, so a redelivered event has no
second effect on the database; index writes are idempotent by construction (stable chunk ids). After a
call, the slow part (needs extraction, retrieval, the recommendation) runs before that transaction and
only its results are written in it: a transaction held across it would keep SQLite's only write lock
(and a pooled connection) for the whole computation. Only the call's receipt is written before it, in
a short transaction of its own, so that meanwhile the call reads as pending rather than unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from parley_contracts import (
    CallEnded,
    DocumentDeleted,
    DocumentTextReply,
    DocumentTextRequest,
    DocumentUploaded,
    LeadSnapshot,
    NeedsExtracted,
    NeedsProfile,
    ProductDeleted,
    ProductUpserted,
    RecommendationsReady,
)
from servicekit.db import Database
from servicekit.messaging import UnitOfWork, WriteStep
from sqlalchemy.exc import IntegrityError

from .adapters import repository as repo
from .adapters.repository import SqlProductFacts
from .adapters.vector_retriever import EmbeddingRetriever
from .ai import TextAi
from .domain.embedding import Embedder
from .domain.indexer import Indexer, IndexHealth
from .domain.recommend import RecommendationOutcome, Recommender
from .domain.types import ChunkHit, SearchFilters
from .domain.vector_store import IndexRun, VectorStore

log = logging.getLogger("rag.service")

# Fetches one page of a document's text from the catalog (RPC_CATALOG_DOCUMENT_TEXT).
DocumentPageFetcher = Callable[[DocumentTextRequest], Awaitable[DocumentTextReply]]


class DocumentUnavailable(RuntimeError):
    """The catalog did not hand over the document's text (no answer, or an inconsistent one)."""


async def fetch_document_text(
    fetch: DocumentPageFetcher, document_id: UUID, page_chars: int, max_pages: int = 10_000
) -> DocumentTextReply | None:
    """The whole text (all pages joined) in one reply; None when the catalog no longer has it."""
    offset = 0
    parts: list[str] = []
    first: DocumentTextReply | None = None
    for _ in range(max_pages):
        page = await fetch(DocumentTextRequest(document_id=document_id, offset=offset, limit=page_chars))
        if not page.found:
            return None
        first = first or page
        parts.append(page.text)
        if page.next_offset is None:
            return first.model_copy(update={"text": "".join(parts), "next_offset": None})
        if page.next_offset <= offset:
            raise DocumentUnavailable(f"catalog paging did not advance at offset {offset}")
        offset = page.next_offset
    raise DocumentUnavailable(f"document {document_id} has more than {max_pages} pages")


@dataclass
class RagEngine:
    """The per-process adapters: one embedder, one vector store, the indexer over them."""

    db: Database
    embedder: Embedder
    store: VectorStore
    indexer: Indexer
    retriever: EmbeddingRetriever
    facts: SqlProductFacts
    ai: TextAi

    @classmethod
    def build(cls, db: Database, embedder: Embedder, store: VectorStore, ai: TextAi) -> RagEngine:
        return cls(
            db=db,
            embedder=embedder,
            store=store,
            indexer=Indexer(embedder, store),
            retriever=EmbeddingRetriever(embedder, store),
            facts=SqlProductFacts(db),
            ai=ai,
        )

    async def recommend(self, needs: NeedsProfile, top_k: int | None = None) -> RecommendationOutcome:
        recommender = Recommender(self.retriever, self.facts, await self.ai.narrator())
        return await recommender.recommend(needs, top_k)

    async def search(self, query: str, filters: SearchFilters, k: int) -> list[ChunkHit]:
        return await self.retriever.search(query, filters, k)

    async def health(self) -> IndexHealth:
        return await self.indexer.health()

    async def full_reindex(self) -> IndexRun:
        """Rebuild the index from the local catalog projection (nothing is asked of the catalog)."""
        async with self.db.session() as session:
            products = await repo.all_products(session)
            documents = await repo.documents_of_known_products(session)
        run = await self.indexer.full_reindex(products, documents)
        async with self.db.transaction() as session:
            await repo.mark_documents_indexed(session, [d.document_id for d in documents])
        log.info(
            "full reindex: %d products, %d documents, %d chunks (%d embedded, %d removed)",
            run.products, run.documents, run.chunks_written, run.chunks_embedded, run.chunks_removed,
        )  # fmt: skip
        return run

    async def reindex_if_empty(self) -> IndexRun | None:
        health = await self.indexer.health()
        async with self.db.session() as session:
            known = await repo.count_products(session)
        if health.counts.total == 0 and known > 0:
            return await self.full_reindex()
        return None


# -- catalog events -----------------------------------------------------------------------------


async def product_upserted(engine: RagEngine, event: ProductUpserted, uow: UnitOfWork) -> None:
    product = event.product
    known_at = await repo.product_source_updated_at(uow.session, product.id)
    if known_at is not None and product.updated_at is not None and product.updated_at < known_at:
        log.info("skipping an older snapshot of product %s", product.id)
        return
    await repo.save_product(uow.session, product)
    await engine.indexer.index_product(product)
    # Documents that arrived before their product (or of a reactivated product) are indexed now.
    waiting = await repo.product_documents(uow.session, product.id, unindexed_only=True)
    for document in waiting:
        await engine.indexer.index_document(product, document.id, document.text)
    await repo.mark_documents_indexed(uow.session, [d.id for d in waiting])


async def product_deleted(engine: RagEngine, event: ProductDeleted, uow: UnitOfWork) -> None:
    await repo.delete_product(uow.session, event.product_id)
    await engine.indexer.remove_product(event.product_id)


async def document_uploaded(
    engine: RagEngine, fetch: DocumentPageFetcher, page_chars: int, event: DocumentUploaded, uow: UnitOfWork
) -> None:
    reply = await fetch_document_text(fetch, event.document_id, page_chars)
    if reply is None:
        # Deleted since: its catalog.document.deleted event does (or did) the removal.
        log.info("document %s is gone from the catalog; nothing to index", event.document_id)
        return
    product_id = reply.product_id or event.product_id
    product = await repo.get_product(uow.session, product_id)
    if product is not None:
        await engine.indexer.index_document(product, event.document_id, reply.text)
    await repo.save_document(
        uow.session, event.document_id, product_id, reply.filename or event.filename, reply.text,
        indexed=product is not None,
    )  # fmt: skip


async def document_deleted(engine: RagEngine, event: DocumentDeleted, uow: UnitOfWork) -> None:
    await repo.delete_document(uow.session, event.document_id)
    await engine.indexer.remove_document(event.document_id)


# -- lead ownership -----------------------------------------------------------------------------


async def lead_changed(uow: UnitOfWork, snapshot: LeadSnapshot) -> None:
    await repo.save_lead_owner(uow.session, snapshot.id, snapshot.assigned_agent_id)


async def lead_deleted(uow: UnitOfWork, lead_id: UUID) -> None:
    await repo.delete_lead_owner(uow.session, lead_id)


# -- after a call -------------------------------------------------------------------------------


async def call_ended(engine: RagEngine, event: CallEnded) -> WriteStep:
    """Needs from the transcript and a recommendation for them, computed with no transaction open;
    the step returned stores and announces both (outbox) in the transaction that claims the event.

    A redelivery may compute again; only one write commits (the inbox claim shares its transaction).
    A call without a transcript gets no receipt: there will never be needs or a recommendation for it.
    """
    async with engine.db.session() as session:
        if await repo.call_handled(session, event.call_id):
            return _nothing  # a replay with a new consumer: this call's needs and recommendation exist
    if not any(line.text.strip() for line in event.transcript):
        log.info("call %s ended without a transcript; no needs to extract", event.call_id)
        return _nothing
    # Committed before the slow part, so the call reads as pending (not unknown) while it runs.
    with contextlib.suppress(IntegrityError):  # a concurrent delivery of the call recorded it first
        async with engine.db.transaction() as session:
            await repo.record_call_received(session, event.lead_id, event.call_id)
    extractor = await engine.ai.needs_extractor()
    extraction = await extractor.extract(event.transcript)
    # Reads the product facts through its own short sessions: no transaction of ours is open.
    outcome = await engine.recommend(extraction.needs)

    async def store(uow: UnitOfWork) -> None:
        if await repo.call_handled(uow.session, event.call_id):
            return  # the same call under another event id was stored while this one was computed
        owner = await repo.lead_owner(uow.session, event.lead_id)
        agent_id = owner.assigned_agent_id if owner is not None else event.assigned_agent_id
        await repo.save_needs(
            uow.session, event.lead_id, event.call_id, extraction.needs, extraction.extractor,
            extraction.repairs,
        )  # fmt: skip
        await uow.emit(
            NeedsExtracted(
                lead_id=event.lead_id,
                call_id=event.call_id,
                assigned_agent_id=agent_id,
                needs=extraction.needs,
                extractor=extraction.extractor,
            )
        )
        await repo.save_recommendation(
            uow.session, event.lead_id, event.call_id, extraction.needs, outcome.recommendation
        )
        await uow.emit(
            RecommendationsReady(
                lead_id=event.lead_id,
                call_id=event.call_id,
                assigned_agent_id=agent_id,
                needs=extraction.needs,
                recommendation=outcome.recommendation,
                email_permission=event.email_permission,
            )
        )

    return store


async def _nothing(_uow: UnitOfWork) -> None:
    """The write step of an event with nothing to store (its inbox claim is still recorded)."""


# -- background ---------------------------------------------------------------------------------


async def reindex_periodically(engine: RagEngine, interval_seconds: float) -> None:
    """The scheduled full reindex; a failure is logged (and shown in index health), never fatal."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await engine.full_reindex()
        except Exception:
            log.exception("scheduled full reindex failed")
