"""Request/reply the catalog answers on the internal bus.

`rpc.catalog.document_text`: a document's extracted text, for the rag service to index after
`catalog.document.uploaded` (events stay small; the text can be megabytes). Paged by characters so a
reply stays well under NATS's default 1 MB message limit.
"""

from __future__ import annotations

from parley_contracts import RPC_CATALOG_DOCUMENT_TEXT, DocumentTextReply, DocumentTextRequest
from servicekit.runtime import ServiceRuntime

from .adapters import repository as repo


async def register(runtime: ServiceRuntime) -> None:
    async def document_text(request: DocumentTextRequest) -> DocumentTextReply:
        async with runtime.db.session() as session:
            document = await repo.get_document(session, request.document_id)
            text = await repo.get_document_text(session, request.document_id) if document else None
        if document is None or text is None:
            return DocumentTextReply(found=False, document_id=request.document_id)
        end = request.offset + request.limit
        return DocumentTextReply(
            found=True,
            document_id=document.id,
            product_id=document.product_id,
            category_id=document.category_id,
            filename=document.filename,
            content_type=document.content_type,
            text=text[request.offset : end],
            total_chars=len(text),
            next_offset=end if end < len(text) else None,
        )

    runtime.bus.respond(RPC_CATALOG_DOCUMENT_TEXT, DocumentTextRequest, document_text)
