"""The rag service end to end over real NATS and a real database: catalog events feed the index,
call.ended yields needs and recommendations, the lookup RPC answers, the API is scoped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import nats
import pytest
from parley_contracts import (
    RPC_CATALOG_DOCUMENT_TEXT,
    RPC_LOOKUP_PRODUCTS,
    CallEnded,
    DocumentDeleted,
    DocumentTextReply,
    DocumentTextRequest,
    DocumentUploaded,
    Event,
    LeadSnapshot,
    LeadUpdated,
    LookupProductsRequest,
    NeedsExtracted,
    NeedsProfile,
    ProductDeleted,
    Recommendation,
    RecommendationsReady,
    TranscriptLine,
)
from rag.adapters.tables import inbox
from servicekit.testing.leads import answer_lead_snapshots
from sqlalchemy import func, select

from .conftest import AGENT2_ID, AGENT_ID, RagApp, tiny_catalog

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def transcript(*lines: tuple[str, str]) -> list[TranscriptLine]:
    return [TranscriptLine(speaker=speaker, text=text, at=AT) for speaker, text in lines]  # type: ignore[arg-type]


FAMILY_CALL = transcript(
    ("bot", "Hi! What kind of cover are you looking for?"),
    ("prospect", "I'm 34, married with two kids, and I want term life cover for about $80 a month."),
)


async def last_event(app: RagApp, event_type: type[Event]) -> Any:
    await app.published()
    bus = app.runtime.bus
    message = await bus.js.get_last_msg(bus.stream_name(event_type.subject), bus.subject(event_type.subject))
    return event_type.model_validate_json(message.data)


async def search(app: RagApp, q: str, **params: Any) -> list[dict[str, Any]]:
    r = await app.client.get("/api/rag/search", params={"q": q, **params}, headers=app.agent)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_product_events_are_indexed_searchable_and_deleted(rag_app: RagApp) -> None:
    catalog = tiny_catalog()
    await rag_app.index_products(*catalog.values())

    hits = await search(rag_app, "hospital stays for my family")
    assert hits and hits[0]["product_id"] == str(catalog["health"].id)
    # Metadata filters apply inside the search: a 70-year-old only finds the seniors' product.
    senior = await search(rag_app, "life cover", age=70)
    assert {h["product_id"] for h in senior} == {str(catalog["senior_life"].id)}
    cheap = await search(rag_app, "life cover", max_monthly_premium=50, category="Term Life")
    assert {h["product_id"] for h in cheap} == {str(catalog["term"].id)}

    health = (await rag_app.client.get("/api/rag/index/health", headers=rag_app.agent)).json()
    assert health["counts"]["product_chunks"] == 3 and health["products_known"] == 3
    assert health["model_id"] == rag_app.engine.embedder.model_id

    await rag_app.publish(ProductDeleted(product_id=catalog["health"].id))

    async def gone() -> bool:
        return (await rag_app.engine.health()).counts.product_chunks == 2

    await rag_app.eventually(gone)
    assert str(catalog["health"].id) not in {h["product_id"] for h in await search(rag_app, "hospital")}


async def test_documents_are_fetched_page_by_page_indexed_and_removed(make_rag: Any, minilm: Any) -> None:
    async with make_rag(minilm, document_text_page_chars=1000) as app:
        await _document_lifecycle(app)


async def _document_lifecycle(rag_app: RagApp) -> None:
    product = tiny_catalog()["term"]
    document_id = uuid.uuid4()
    text = ("The waiver of premium rider keeps the policy in force after a disability. " * 40).strip()
    asked: list[int] = []

    nc = await nats.connect(rag_app.runtime.bus.url)

    async def document_text(msg: Any) -> None:
        request = DocumentTextRequest.model_validate_json(msg.data)
        asked.append(request.offset)
        end = request.offset + request.limit
        reply = DocumentTextReply(
            found=True, document_id=document_id, product_id=product.id, filename="terms.txt",
            text=text[request.offset : end], total_chars=len(text),
            next_offset=end if end < len(text) else None,
        )  # fmt: skip
        await msg.respond(reply.model_dump_json().encode())

    await nc.subscribe(rag_app.runtime.bus.subject(RPC_CATALOG_DOCUMENT_TEXT), cb=document_text)
    await nc.flush()
    try:
        # The document arrives before its product: it is kept, then indexed once the product is known.
        await rag_app.publish(
            DocumentUploaded(
                document_id=document_id, product_id=product.id, category_id=product.category_id,
                filename="terms.txt", content_type="text/plain", text_chars=len(text),
            )
        )  # fmt: skip
        await rag_app.eventually(lambda: _pages_done(asked, len(text), rag_app))
        await rag_app.index_products(product)

        async def has_document_chunks() -> bool:
            return (await rag_app.engine.health()).counts.document_chunks > 0

        await rag_app.eventually(has_document_chunks)
    finally:
        await nc.close()
    assert asked[0] == 0 and len(asked) > 1  # several pages, all fetched
    hits = await search(rag_app, "waiver of premium after disability")
    assert any(h["document_id"] == str(document_id) for h in hits)

    await rag_app.publish(DocumentDeleted(document_id=document_id, product_id=product.id))

    async def no_document_chunks() -> bool:
        return (await rag_app.engine.health()).counts.document_chunks == 0

    await rag_app.eventually(no_document_chunks)


async def _pages_done(asked: list[int], total: int, app: RagApp) -> bool:
    from rag.adapters import repository as repo

    async with app.runtime.db.session() as session:
        return await repo.count_documents(session) == 1


async def test_call_ended_emits_needs_and_eligible_recommendations_once(rag_app: RagApp) -> None:
    catalog = tiny_catalog()
    await rag_app.index_products(*catalog.values())
    lead_id = await rag_app.lead(AGENT_ID)
    call = CallEnded(
        call_id=uuid.uuid4(),
        lead_id=lead_id,
        mode="simulated",
        outcome="ANSWERED",
        transcript=FAMILY_CALL,
        email_permission=True,
    )
    await rag_app.publish(call)

    async def recommended() -> bool:
        r = await rag_app.client.get(f"/api/rag/leads/{lead_id}/recommendations", headers=rag_app.agent)
        return r.status_code == 200

    await rag_app.eventually(recommended)
    needs_event: NeedsExtracted = await last_event(rag_app, NeedsExtracted)
    assert needs_event.call_id == call.call_id and needs_event.assigned_agent_id == AGENT_ID
    assert needs_event.needs.age == 34 and "life" in needs_event.needs.coverage_type
    assert needs_event.extractor == "rules"
    ready: RecommendationsReady = await last_event(rag_app, RecommendationsReady)
    assert ready.call_id == call.call_id and ready.email_permission is True
    names = [item.name for item in ready.recommendation.items]
    assert names and names[0] == "Secure Term 30"
    # The seniors' product (60+) is never offered to a 34-year-old.
    assert "Golden Years Life" not in names

    # The same call replayed (a new event id, as a replay with a new consumer would deliver) changes nothing.
    replayed = call.model_copy(update={"event_id": uuid.uuid4()})
    await rag_app.publish(replayed)

    async def handled() -> bool:
        async with rag_app.runtime.db.session() as session:
            seen = await session.scalar(
                select(func.count()).select_from(inbox).where(inbox.c.event_id == str(replayed.event_id))
            )
        return seen == 1

    await rag_app.eventually(handled)
    await rag_app.published()
    again: RecommendationsReady = await last_event(rag_app, RecommendationsReady)
    assert again.event_id == ready.event_id

    other = await rag_app.client.get(f"/api/rag/leads/{lead_id}/recommendations", headers=rag_app.agent2)
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")


async def test_lookup_rpc_answers_with_a_recommendation(rag_app: RagApp) -> None:
    catalog = tiny_catalog()
    await rag_app.index_products(*catalog.values())
    nc = await nats.connect(rag_app.runtime.bus.url)
    try:
        request = LookupProductsRequest(
            lead_id=uuid.uuid4(), needs=NeedsProfile(coverage_type=["health"], age=40), top_k=3
        )
        reply = await nc.request(
            rag_app.runtime.bus.subject(RPC_LOOKUP_PRODUCTS), request.model_dump_json().encode(), timeout=10
        )
        nobody = LookupProductsRequest(
            lead_id=uuid.uuid4(), needs=NeedsProfile(coverage_type=["life"], age=95)
        )
        empty = await nc.request(
            rag_app.runtime.bus.subject(RPC_LOOKUP_PRODUCTS), nobody.model_dump_json().encode(), timeout=10
        )
    finally:
        await nc.close()
    recommendation = Recommendation.model_validate_json(reply.data)
    assert [item.name for item in recommendation.items] == ["Family Health Shield"]
    assert recommendation.items[0].citations
    nothing = Recommendation.model_validate_json(empty.data)
    assert nothing.nothing_fits and not nothing.items and nothing.nothing_fits_reason


async def test_recommendations_api_is_scoped_to_the_agents_leads(rag_app: RagApp) -> None:
    catalog = tiny_catalog()
    await rag_app.index_products(*catalog.values())
    mine = await rag_app.lead(AGENT_ID)
    body = {"needs": {"coverage_type": ["life"], "age": 70}, "top_k": 2}

    r = await rag_app.client.post(
        "/api/rag/recommendations", json={**body, "lead_id": str(mine)}, headers=rag_app.agent
    )
    assert r.status_code == 200, r.text
    assert [i["name"] for i in r.json()["recommendation"]["items"]] == ["Golden Years Life"]
    assert r.json()["filters"]["age"] == 70

    for headers, lead in ((rag_app.agent2, mine), (rag_app.agent, uuid.uuid4())):
        denied = await rag_app.client.post(
            "/api/rag/recommendations", json={**body, "lead_id": str(lead)}, headers=headers
        )
        assert denied.status_code == 404
        assert denied.headers["content-type"].startswith("application/problem+json")
    assert (
        await rag_app.client.post("/api/rag/recommendations", json=body, headers=rag_app.agent2)
    ).status_code == 200
    admin = await rag_app.client.post(
        "/api/rag/recommendations", json={**body, "lead_id": str(mine)}, headers=rag_app.admin
    )
    assert admin.status_code == 200

    # Reassigning the lead moves its visibility.
    await rag_app.publish(
        LeadUpdated(lead=LeadSnapshot(id=mine, name="Ana", phone="+15550100", assigned_agent_id=AGENT2_ID))
    )

    async def moved() -> bool:
        r = await rag_app.client.post(
            "/api/rag/recommendations", json={**body, "lead_id": str(mine)}, headers=rag_app.agent2
        )
        return r.status_code == 200

    await rag_app.eventually(moved)


async def test_a_lead_created_a_moment_ago_is_usable_at_once(rag_app: RagApp) -> None:
    """Its lead.created has not arrived: rag asks leads who owns it, and the owner rule still holds."""
    await rag_app.index_products(*tiny_catalog().values())
    fresh, later, theirs = (
        LeadSnapshot(id=uuid.uuid4(), name="Ana", phone="+15550100", assigned_agent_id=agent)
        for agent in (AGENT_ID, AGENT_ID, AGENT2_ID)
    )
    asked = await answer_lead_snapshots(rag_app.runtime, fresh, later, theirs)
    body = {"needs": {"coverage_type": ["life"], "age": 70}, "top_k": 2}

    def recommend(lead_id: uuid.UUID) -> Any:
        return rag_app.client.post(
            "/api/rag/recommendations", json={**body, "lead_id": str(lead_id)}, headers=rag_app.agent
        )

    r = await recommend(fresh.id)
    assert r.status_code == 200, r.text
    assert r.json()["lead_id"] == str(fresh.id) and asked == [fresh.id]
    # Projected now: the next request does not ask again.
    assert (await recommend(fresh.id)).status_code == 200 and asked == [fresh.id]
    # The lead's page finds the lead at once; what it lacks is a recommendation, not the lead.
    latest = await rag_app.client.get(f"/api/rag/leads/{later.id}/recommendations", headers=rag_app.agent)
    assert latest.status_code == 404 and latest.json()["detail"] == "No recommendation for this lead yet."
    assert asked == [fresh.id, later.id]

    # Another agent's lead is fetched once but stays a 404; an unknown one is a 404 too.
    for lead_id in (theirs.id, uuid.uuid4()):
        for denied in (
            await recommend(lead_id),
            await rag_app.client.get(f"/api/rag/leads/{lead_id}/recommendations", headers=rag_app.agent),
        ):
            assert denied.status_code == 404 and denied.json()["detail"] == "Lead not found."
            assert denied.headers["content-type"].startswith("application/problem+json")
    assert asked.count(theirs.id) == 1


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("post", "/api/rag/recommendations", {"needs": {"age": 300}}, 422),
        ("post", "/api/rag/recommendations", {"needs": {}, "top_k": 0}, 422),
        ("post", "/api/rag/recommendations", {"needs": {}, "lead_id": "not-a-uuid"}, 422),
        ("post", "/api/rag/recommendations", {}, 422),
        ("get", "/api/rag/search?q=", None, 422),
        ("get", "/api/rag/search?q=life&age=-1", None, 422),
        ("get", "/api/rag/search?q=life&k=500", None, 422),
        ("get", "/api/rag/search?q=life&max_monthly_premium=abc", None, 422),
        ("get", "/api/rag/leads/nope/recommendations", None, 422),
        ("get", "/api/rag/calls/nope", None, 422),
        ("get", "/api/rag/calls/6f1c2b9e-0d4a-4c1e-9a57-3b2f0e8c1d7", None, 422),
    ],
)
async def test_bad_input_is_a_problem_not_a_crash(
    rag_app: RagApp, method: str, path: str, payload: Any, status: int
) -> None:
    kwargs: dict[str, Any] = {"headers": rag_app.agent}
    if payload is not None:
        kwargs["json"] = payload
    r = await getattr(rag_app.client, method)(path, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_the_api_needs_a_token_and_reindex_needs_an_admin(rag_app: RagApp) -> None:
    assert (await rag_app.client.get("/api/rag/search", params={"q": "life"})).status_code == 401
    assert (await rag_app.client.post("/api/rag/index/reindex", headers=rag_app.agent)).status_code == 403
    await rag_app.index_products(*tiny_catalog().values())
    r = await rag_app.client.post("/api/rag/index/reindex", headers=rag_app.admin)
    assert r.status_code == 200 and r.json()["products"] == 3 and r.json()["chunks_embedded"] == 0
