from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from servicekit.testing.openai_fake_chat import (
    FakeOpenAIChat,
    FakeReply,
    RecordedRequest,
    strict_schema_problems,
)

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]


@pytest.fixture
def fake() -> Iterator[FakeOpenAIChat]:
    with FakeOpenAIChat() as server:
        yield server


def client(fake: FakeOpenAIChat, api_key: str | None = None) -> OpenAI:
    return OpenAI(api_key=api_key or fake.api_key, base_url=fake.base_url, max_retries=0)


def test_scripted_replies_are_served_in_order_and_requests_recorded(fake: FakeOpenAIChat) -> None:
    fake.enqueue(FakeReply.text("first"), FakeReply.json({"n": 2}))
    first = client(fake).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    second = client(fake).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
    assert first.choices[0].message.content == "first"
    assert first.choices[0].finish_reason == "stop"
    assert json.loads(second.choices[0].message.content or "") == {"n": 2}
    assert first.usage is not None and first.usage.total_tokens > 0
    recorded = fake.requests
    assert [r.model for r in recorded] == ["gpt-4o-mini", "gpt-4o-mini"]
    assert recorded[0].message_text("user") == "hello"
    assert recorded[0].headers["authorization"] == f"Bearer {fake.api_key}"


async def test_a_responder_function_answers_from_the_request(fake: FakeOpenAIChat) -> None:
    fake.respond_with(lambda request: FakeReply.text(request.message_text("user").upper()))
    async_client = AsyncOpenAI(api_key=fake.api_key, base_url=fake.base_url, max_retries=0)
    reply = await async_client.chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "HELLO"


def test_tool_calls_come_back_in_the_wire_format(fake: FakeOpenAIChat) -> None:
    fake.enqueue(FakeReply.tool_call("lookupProducts", {"needs": {"coverage_type": ["life"]}}))
    reply = client(fake).chat.completions.create(
        model="m",
        messages=MESSAGES,  # type: ignore[arg-type]
        tools=[
            {"type": "function", "function": {"name": "lookupProducts", "parameters": {"type": "object"}}}
        ],
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = (choice.message.tool_calls or [])[0]
    assert call.type == "function"
    assert call.function.name == "lookupProducts"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"needs": {"coverage_type": ["life"]}}  # type: ignore[union-attr]
    assert fake.requests[0].tools[0]["function"]["name"] == "lookupProducts"


def test_streaming_sends_chunks_tool_call_fragments_and_usage(fake: FakeOpenAIChat) -> None:
    fake.enqueue(
        FakeReply(content="Hello there, friend", tool_calls=FakeReply.tool_call("f", {"a": 1}).tool_calls)
    )
    stream = client(fake).chat.completions.create(
        model="m",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},  # type: ignore[arg-type]
    )
    content, arguments, finish, usage = "", "", None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            content += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                arguments += (call.function.arguments if call.function else "") or ""
            finish = choice.finish_reason or finish
    assert content == "Hello there, friend"
    assert json.loads(arguments) == {"a": 1}
    assert finish == "tool_calls"
    assert usage is not None and usage.total_tokens > 0


def test_an_unknown_model_is_answered_404_when_a_model_check_is_set() -> None:
    with FakeOpenAIChat(model_check=lambda model: model.startswith("gpt-")) as fake:
        fake.enqueue(FakeReply.text("ok"))
        with pytest.raises(openai.NotFoundError) as error:
            client(fake).chat.completions.create(model="llama", messages=MESSAGES)  # type: ignore[arg-type]
        assert error.value.code == "model_not_found"
        reply = client(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        assert reply.choices[0].message.content == "ok"


def test_wrong_api_key_is_rejected_like_the_api_does(fake: FakeOpenAIChat) -> None:
    with pytest.raises(openai.AuthenticationError) as error:
        client(fake, api_key="sk-wrong").chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    assert error.value.code == "invalid_api_key"


def test_scripted_errors_reach_the_client_with_their_status(fake: FakeOpenAIChat) -> None:
    fake.enqueue(FakeReply.error(429, "Rate limit reached", "requests", "rate_limit_exceeded"))
    with pytest.raises(openai.RateLimitError):
        client(fake).chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]


def test_an_empty_script_answers_500_instead_of_inventing_a_reply(fake: FakeOpenAIChat) -> None:
    with pytest.raises(openai.InternalServerError):
        client(fake).chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]


def test_a_non_strict_schema_in_strict_mode_is_rejected_with_a_400(fake: FakeOpenAIChat) -> None:
    fake.enqueue(FakeReply.json({"a": 1}))
    loose = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
        "required": ["a"],
    }
    with pytest.raises(openai.BadRequestError) as error:
        client(fake).chat.completions.create(
            model="m",
            messages=MESSAGES,  # type: ignore[arg-type]
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "thing", "strict": True, "schema": loose},
            },
        )
    assert "Invalid schema for response_format 'thing'" in str(error.value)
    assert fake.pending_replies == 1


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            "additionalProperties",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "required": [],
                "additionalProperties": False,
            },
            "Missing ['a']",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "default": "x"}},
                "required": ["a"],
                "additionalProperties": False,
            },
            "'default'",
        ),
        (
            {
                "type": "object",
                "properties": {"x": {"$ref": "#/$defs/X"}},
                "required": ["x"],
                "additionalProperties": False,
                "$defs": {
                    "X": {
                        "type": "object",
                        "properties": {"y": {"type": "integer"}},
                        "additionalProperties": False,
                    }
                },
            },
            "$defs/X",
        ),
    ],
)
def test_strict_schema_problems_are_found_anywhere_in_the_schema(
    schema: dict[str, object], problem: str
) -> None:
    assert any(problem in p for p in strict_schema_problems(schema))


def test_recorded_request_exposes_the_json_schema() -> None:
    request = RecordedRequest(
        "POST",
        "/v1/chat/completions",
        {},
        {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "n", "schema": {"type": "object"}},
            }
        },
    )
    assert request.json_schema == {"type": "object"}
