"""The keyed path of the running service, against local protocol fakes of OpenAI: embeddings through
`/v1/embeddings`, needs extraction through strict structured output, and a model answer that invents a
fact is repaired before it is stored or announced."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from parley_contracts import CallEnded, NeedsExtracted, RecommendationsReady, TranscriptLine
from rag.domain.needs_rules import RulesNeedsExtractor
from rag.domain.needs_schema import NEEDS_SCHEMA_NAME, to_wire_dict
from rag.testing.openai_fake_embeddings import FakeOpenAIEmbeddings, serve_app
from servicekit.testing.openai_fake_chat import FakeOpenAIChat, FakeReply, RecordedRequest

from .conftest import AGENT_ID, tiny_catalog
from .test_rag_service import last_event

pytestmark = pytest.mark.integration

KEY = "sk-parley-test"
AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
CALL = [
    TranscriptLine(speaker="bot", text="Our plan is only $19 a month. What do you need?", at=AT),
    TranscriptLine(
        speaker="prospect", text="I'm 34 with two kids and want term life cover, about $80 a month.", at=AT
    ),
]


@pytest.fixture
def chat() -> Iterator[FakeOpenAIChat]:
    with FakeOpenAIChat(api_key=KEY) as server:
        yield server


async def test_keyed_service_embeds_via_openai_and_repairs_the_models_needs(
    make_rag: Any, chat: FakeOpenAIChat
) -> None:
    rules = RulesNeedsExtractor().read(CALL)
    # The model "hears" a $19 budget the prospect never stated (the bot said it) and invents a goal.
    answer = {
        **to_wire_dict(rules),
        "budget_range": {"min": None, "max": 19, "currency": "USD", "period": "MONTHLY"},
    }

    def responder(request: RecordedRequest) -> FakeReply:
        if (request.response_format or {}).get("json_schema", {}).get("name") == NEEDS_SCHEMA_NAME:
            return FakeReply.json(answer)
        return FakeReply.text("not json at all")  # the narrative: rejected, the template stands in

    chat.respond_with(responder)
    embeddings = FakeOpenAIEmbeddings(api_key=KEY)
    async with serve_app(embeddings.app()) as embeddings_url:
        keyed = {
            "openai_api_key": KEY,
            "openai_base_url": chat.base_url,
            "openai_embedding_base_url": embeddings_url,
            "openai_embedding_model": "text-embedding-3-small",
            "openai_embedding_dimensions": 256,
            "openai_max_retries": 0,
        }
        async with make_rag(None, **keyed) as app:
            assert app.engine.embedder.model_id == "openai:text-embedding-3-small"
            catalog = tiny_catalog()
            await app.index_products(*catalog.values())
            assert embeddings.requests and embeddings.requests[0].body["model"] == "text-embedding-3-small"

            lead_id = await app.lead(AGENT_ID)
            await app.publish(
                CallEnded(
                    call_id=uuid.uuid4(),
                    lead_id=lead_id,
                    mode="simulated",
                    outcome="ANSWERED",
                    transcript=CALL,
                )
            )

            async def recommended() -> bool:
                r = await app.client.get(f"/api/rag/leads/{lead_id}/recommendations", headers=app.agent)
                return r.status_code == 200

            await app.eventually(recommended)
            needs: NeedsExtracted = await last_event(app, NeedsExtracted)
            ready: RecommendationsReady = await last_event(app, RecommendationsReady)

    assert needs.extractor == "llm"
    # The invented $19 is not what the prospect said: the repair keeps the prospect's $80.
    assert needs.needs.budget_range is not None and needs.needs.budget_range.max == 80
    schemas = [r.response_format for r in chat.requests if r.response_format]
    assert any(f["json_schema"]["strict"] is True for f in schemas)
    assert ready.recommendation.items and ready.recommendation.items[0].name == "Secure Term 30"
    assert ready.recommendation.mode == "offline"  # the malformed narrative was not used
