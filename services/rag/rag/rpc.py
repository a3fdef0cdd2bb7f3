"""Request/reply on the internal bus: rag answers the voice bot's `lookupProducts`, and asks the
catalog for a document's text."""

from __future__ import annotations

from parley_contracts import (
    RPC_CATALOG_DOCUMENT_TEXT,
    RPC_LOOKUP_PRODUCTS,
    DocumentTextReply,
    DocumentTextRequest,
    LookupProductsRequest,
    Recommendation,
)
from pydantic import ValidationError
from servicekit.bus import Bus

from .service_layer import DocumentPageFetcher, DocumentUnavailable, RagEngine


def register(bus: Bus, engine: RagEngine) -> None:
    async def lookup_products(request: LookupProductsRequest) -> Recommendation:
        outcome = await engine.recommend(request.needs, request.top_k)
        return outcome.recommendation

    bus.respond(RPC_LOOKUP_PRODUCTS, LookupProductsRequest, lookup_products)


def document_page_fetcher(bus: Bus, timeout_seconds: float) -> DocumentPageFetcher:
    async def fetch(request: DocumentTextRequest) -> DocumentTextReply:
        raw = await bus.request(RPC_CATALOG_DOCUMENT_TEXT, request, timeout=timeout_seconds)
        try:
            return DocumentTextReply.model_validate_json(raw)
        except ValidationError as error:
            # The catalog answers failures as {"error": ...}: retried by the consumer's backoff.
            raise DocumentUnavailable(f"catalog answered: {raw[:300].decode(errors='replace')}") from error

    return fetch
