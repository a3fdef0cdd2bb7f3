"""`GET /api/rag/calls/{call_id}` over real NATS and a real database: one call's own needs and
recommendation (with rationale and the documents cited), its pending state while they are computed,
and the same scoping as the lead's recommendations."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from parley_contracts import (
    RPC_CATALOG_DOCUMENT_TEXT,
    CallEnded,
    DocumentTextReply,
    DocumentTextRequest,
    DocumentUploaded,
    ProductSnapshot,
    TranscriptLine,
)
from rag.adapters.tables import inbox
from rag.domain.ports import NeedsExtraction
from rag.domain.transcript import TranscriptInput
from sqlalchemy import func, select

from .conftest import AGENT_ID, RagApp, tiny_catalog

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

FAMILY_LIFE = "I'm 34, married with two kids, and I want term life cover for about $80 a month."
FAMILY_HEALTH = (
    "I'm 40 and I need health insurance that covers hospital stays for my wife and kids, about $100 a month."
)
NINETY_FIVE = "I'm 95 and I want life cover for my funeral."

TERM_DOCUMENT = (
    "Secure Term 30 policy terms. The level death benefit is paid to your family if you die within the "
    "term. Premiums stay fixed for the whole term and the policy can be converted to whole life cover."
)


def ended(lead_id: uuid.UUID, prospect_says: str) -> CallEnded:
    """A call.ended as the voice bridge publishes it after a simulated call."""
    return CallEnded(
        call_id=uuid.uuid4(),
        lead_id=lead_id,
        assigned_agent_id=AGENT_ID,
        mode="simulated",
        outcome="ANSWERED",
        duration_seconds=42.0,
        transcript=[
            TranscriptLine(speaker="bot", text="Hi! What kind of cover are you looking for?", at=AT),
            TranscriptLine(speaker="prospect", text=prospect_says, at=AT),
        ],
        summary="The prospect described the cover they want.",
    )


async def index_document(app: RagApp, product: ProductSnapshot, filename: str, text: str) -> uuid.UUID:
    """Uploads a document of an indexed product the way the catalog does: the event, then its text over
    the catalog's RPC (answered here), until the document's chunks are in the index."""
    document_id = uuid.uuid4()
    nc = await nats.connect(app.runtime.bus.url)

    async def document_text(msg: Any) -> None:
        request = DocumentTextRequest.model_validate_json(msg.data)
        reply = DocumentTextReply(
            found=True, document_id=document_id, product_id=product.id, filename=filename,
            text=text[request.offset : request.offset + request.limit], total_chars=len(text),
        )  # fmt: skip
        await msg.respond(reply.model_dump_json().encode())

    await nc.subscribe(app.runtime.bus.subject(RPC_CATALOG_DOCUMENT_TEXT), cb=document_text)
    await nc.flush()
    try:
        await app.publish(
            DocumentUploaded(
                document_id=document_id, product_id=product.id, category_id=product.category_id,
                filename=filename, content_type="text/plain", text_chars=len(text),
            )
        )  # fmt: skip

        async def indexed() -> bool:
            return (await app.engine.health()).counts.document_chunks > 0

        await app.eventually(indexed)
    finally:
        await nc.close()
    return document_id


async def results(app: RagApp, call_id: uuid.UUID, headers: dict[str, str] | None = None) -> Any:
    r = await app.client.get(f"/api/rag/calls/{call_id}", headers=headers or app.agent)
    assert r.status_code == 200, r.text
    return r.json()


async def finished(app: RagApp, call_id: uuid.UUID) -> Any:
    """The call's results once they are no longer pending."""
    body: dict[str, Any] = {}

    async def done() -> bool:
        r = await app.client.get(f"/api/rag/calls/{call_id}", headers=app.agent)
        if r.status_code != 200:
            return False  # its call.ended has not arrived yet
        body.update(r.json())
        return body["status"] != "pending"

    await app.eventually(done)
    return body


def item_names(body: dict[str, Any]) -> list[str]:
    return [item["name"] for item in body["recommendation"]["items"]]


async def test_each_call_of_a_lead_returns_its_own_needs_and_cited_recommendation(rag_app: RagApp) -> None:
    catalog = tiny_catalog()
    await rag_app.index_products(*catalog.values())
    document_id = await index_document(rag_app, catalog["term"], "secure-term-30-terms.txt", TERM_DOCUMENT)
    lead_id = await rag_app.lead(AGENT_ID)

    life_call = ended(lead_id, FAMILY_LIFE)
    await rag_app.publish(life_call)
    life = await finished(rag_app, life_call.call_id)
    health_call = ended(lead_id, FAMILY_HEALTH)
    await rag_app.publish(health_call)
    health = await finished(rag_app, health_call.call_id)

    assert life["call_id"] == str(life_call.call_id) and life["lead_id"] == str(lead_id)
    assert life["status"] == "ready" and life["extractor"] == "rules"
    assert life["needs"]["age"] == 34 and life["needs"]["coverage_type"] == ["life"]
    assert life["extracted_at"] and life["recommended_at"]
    assert item_names(life)[0] == "Secure Term 30"
    term = life["recommendation"]["items"][0]
    assert term["rationale"].strip()
    assert term["citations"] and all(c["product_id"] == str(catalog["term"].id) for c in term["citations"])
    # The claims are traced to the uploaded document, by its id, with the passage they came from.
    cited = [c for c in term["citations"] if c["source"] == "document"]
    assert cited and {c["document_id"] for c in cited} == {str(document_id)}
    assert all(c["excerpt"] and c["excerpt"] in " ".join(TERM_DOCUMENT.split()) for c in cited)

    # The second call of the same lead has its own needs and products; the first keeps its own.
    assert health["status"] == "ready" and health["needs"]["age"] == 40
    assert health["needs"]["coverage_type"] == ["health"]
    assert item_names(health) == ["Family Health Shield"]
    assert await results(rag_app, life_call.call_id) == life
    latest = await rag_app.client.get(f"/api/rag/leads/{lead_id}/recommendations", headers=rag_app.agent)
    assert latest.json()["call_id"] == str(health_call.call_id)


async def test_a_call_nothing_fits_says_so_with_the_reason(rag_app: RagApp) -> None:
    await rag_app.index_products(*tiny_catalog().values())
    call = ended(await rag_app.lead(AGENT_ID), NINETY_FIVE)
    await rag_app.publish(call)

    body = await finished(rag_app, call.call_id)
    assert body["status"] == "nothing_fits" and body["needs"]["age"] == 95
    assert body["recommendation"]["nothing_fits"] is True and body["recommendation"]["items"] == []
    assert "95" in body["recommendation"]["nothing_fits_reason"]


class GatedExtractor:
    """The real extractor, held back until the test opens the gate: the call is mid-computation."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.started = asyncio.Event()
        self.gate = asyncio.Event()

    async def extract(self, transcript: TranscriptInput) -> NeedsExtraction:
        self.started.set()
        await self.gate.wait()
        extraction: NeedsExtraction = await self.inner.extract(transcript)
        return extraction


async def test_a_call_is_pending_while_its_needs_and_recommendation_are_computed(
    rag_app: RagApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    await rag_app.index_products(*tiny_catalog().values())
    gated = GatedExtractor(await rag_app.engine.ai.needs_extractor())

    async def needs_extractor() -> GatedExtractor:
        return gated

    monkeypatch.setattr(rag_app.engine.ai, "needs_extractor", needs_extractor)
    lead_id = await rag_app.lead(AGENT_ID)
    call = ended(lead_id, FAMILY_LIFE)
    await rag_app.publish(call)

    await asyncio.wait_for(gated.started.wait(), timeout=15)
    try:
        pending = await results(rag_app, call.call_id)
        assert pending == {
            "call_id": str(call.call_id),
            "lead_id": str(lead_id),
            "status": "pending",
            "needs": None,
            "extractor": None,
            "extracted_at": None,
            "recommendation": None,
            "recommended_at": None,
        }
    finally:
        gated.gate.set()
    done = await finished(rag_app, call.call_id)
    assert done["status"] == "ready" and item_names(done)[0] == "Secure Term 30"


async def test_a_call_is_not_found_for_another_agent_or_when_rag_never_got_it(rag_app: RagApp) -> None:
    await rag_app.index_products(*tiny_catalog().values())
    call = ended(await rag_app.lead(AGENT_ID), FAMILY_LIFE)
    # A call that ended with nothing said: no needs will ever come of it, so it is not "pending".
    silent = call.model_copy(update={"event_id": uuid.uuid4(), "call_id": uuid.uuid4(), "transcript": []})
    await rag_app.publish(silent, call)
    await finished(rag_app, call.call_id)

    async def silent_handled() -> bool:
        async with rag_app.runtime.db.session() as session:
            seen = await session.scalar(
                select(func.count()).select_from(inbox).where(inbox.c.event_id == str(silent.event_id))
            )
        return seen == 1

    await rag_app.eventually(silent_handled)

    admin = await results(rag_app, call.call_id, rag_app.admin)
    assert admin["status"] == "ready"
    details = set()
    for headers, call_id in (
        (rag_app.agent2, call.call_id),
        (rag_app.agent, uuid.uuid4()),
        (rag_app.agent, silent.call_id),
        (rag_app.admin, uuid.uuid4()),
    ):
        r = await rag_app.client.get(f"/api/rag/calls/{call_id}", headers=headers)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        details.add(r.json()["detail"])
    # Another agent's call reads exactly like a call that does not exist.
    assert details == {"Call not found."}
