from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from rag.adapters.llm_needs import LlmNeedsExtractor
from rag.adapters.openai_chat import ChatModelSettings, build_chat_model
from rag.domain.needs_rules import RulesNeedsExtractor
from rag.domain.needs_schema import NEEDS_SCHEMA_NAME, to_wire_dict
from servicekit.testing.openai_fake_chat import FakeOpenAIChat, FakeReply, strict_schema_problems

TRANSCRIPT = (
    "Bot: Hello! Our critical illness plan is only $19 a month. How can I help?\n"
    "Prospect: I'm 38, my husband and I have two kids. We want term life cover, about $80 a month.\n"
    "Bot: Can I email you?\n"
    "Prospect: Sure, it's ana dot lee at example dot com."
)
RULES = RulesNeedsExtractor().read(TRANSCRIPT)


@pytest.fixture
def fake() -> Iterator[FakeOpenAIChat]:
    with FakeOpenAIChat() as server:
        yield server


def extractor(fake: FakeOpenAIChat) -> LlmNeedsExtractor:
    settings = ChatModelSettings(
        model="gpt-4o-mini", api_key=SecretStr(fake.api_key), base_url=fake.base_url, max_retries=0
    )
    return LlmNeedsExtractor(build_chat_model(settings))


def model_answer(**changes: Any) -> dict[str, Any]:
    return {**to_wire_dict(RULES), "goals": ["protect the kids"], "urgency": "MEDIUM", **changes}


async def test_structured_extraction_uses_the_strict_schema_and_returns_the_models_profile(
    fake: FakeOpenAIChat,
) -> None:
    fake.enqueue(FakeReply.json(model_answer()))
    result = await extractor(fake).extract(TRANSCRIPT)

    assert result.extractor == "llm"
    assert result.repairs == ()
    assert result.needs.goals == ["protect the kids"]
    assert result.needs.urgency == "MEDIUM"
    assert result.needs.email == "ana.lee@example.com"
    (request,) = fake.requests
    assert request.response_format is not None
    assert request.response_format["type"] == "json_schema"
    assert request.response_format["json_schema"]["name"] == NEEDS_SCHEMA_NAME
    assert request.response_format["json_schema"]["strict"] is True
    assert strict_schema_problems(request.json_schema) == []
    assert request.body.get("temperature") == 0
    # The model sees who said what, so it can tell the bot's $19 from the prospect's $80.
    assert "BOT: Hello! Our critical illness plan is only $19 a month." in request.message_text("user")
    assert "PROSPECT: I'm 38" in request.message_text("user")


async def test_malformed_json_is_rejected_and_the_rules_profile_used(fake: FakeOpenAIChat) -> None:
    fake.enqueue(FakeReply.text('{"coverage_type": ["life"], "age": 38'))
    result = await extractor(fake).extract(TRANSCRIPT)
    assert result.extractor == "rules"
    assert result.needs == RULES
    assert result.repairs == ("model answer is not a JSON object",)


async def test_hallucinated_values_are_repaired_from_the_transcript(fake: FakeOpenAIChat) -> None:
    fake.enqueue(
        FakeReply.json(
            model_answer(
                email="ana@lee-family.net",
                age=39,
                budget_range={"min": None, "max": 19, "currency": "USD", "period": "MONTHLY"},
                coverage_type=["life", "critical_illness"],
                dependents=[{"relation": "husband", "age": 41}, {"relation": "child", "age": None}],
                favourite_colour="blue",
            )
        )
    )
    result = await extractor(fake).extract(TRANSCRIPT)
    needs = result.needs
    assert result.extractor == "llm"
    assert needs.email == "ana.lee@example.com"
    assert needs.age == 38
    assert needs.budget_range is not None and needs.budget_range.max == 80
    assert [(d.relation, d.age) for d in needs.dependents] == [("husband", None), ("child", None)]
    # A coverage type is a judgement the schema bounds to the vocabulary; it is kept.
    assert needs.coverage_type == ["life", "critical_illness"]
    assert len(result.repairs) == 5


@pytest.mark.parametrize(
    "reply",
    [
        FakeReply.error(500, "The server had an error", "server_error"),
        FakeReply.error(401, "Incorrect API key provided.", code="invalid_api_key"),
        FakeReply(refusal="I can't help with that."),
    ],
)
async def test_no_usable_answer_falls_back_to_the_rules(fake: FakeOpenAIChat, reply: FakeReply) -> None:
    fake.enqueue(reply)
    result = await extractor(fake).extract(TRANSCRIPT)
    assert result.extractor == "rules"
    assert result.needs == RULES
    assert result.repairs and result.repairs[0].startswith("LLM unavailable")
