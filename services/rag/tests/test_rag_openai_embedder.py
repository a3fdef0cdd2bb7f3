from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import numpy as np
import openai
import pytest
from rag.adapters.openai_embedder import OpenAIEmbedder
from rag.domain.embedding import Embedder, EmbeddingError
from rag.testing.openai_fake_embeddings import (
    DEFAULT_API_KEY,
    FakeOpenAIEmbeddings,
    InjectedError,
    hashed_bag_of_words,
    serve_app,
)


@pytest.fixture
def fake() -> FakeOpenAIEmbeddings:
    return FakeOpenAIEmbeddings()


@pytest.fixture
async def base_url(fake: FakeOpenAIEmbeddings) -> AsyncIterator[str]:
    async with serve_app(fake.app()) as url:
        yield url


def embedder(base_url: str, **overrides: object) -> OpenAIEmbedder:
    options: dict[str, object] = {
        "model": "text-embedding-3-small",
        "api_key": DEFAULT_API_KEY,
        "base_url": base_url,
        "max_retries": 0,
    }
    options.update(overrides)
    return OpenAIEmbedder(**options)  # type: ignore[arg-type]


async def test_documents_are_embedded_over_base64_in_input_order(
    fake: FakeOpenAIEmbeddings, base_url: str
) -> None:
    texts = ["Term life cover for a young family", "Hospital cash benefit", "Retirement savings plan"]

    vectors = await embedder(base_url).embed_documents(texts)

    (request,) = fake.requests
    assert request.authorization == f"Bearer {DEFAULT_API_KEY}"
    assert request.body["model"] == "text-embedding-3-small"
    assert request.body["input"] == texts
    assert request.body["encoding_format"] == "base64"
    expected = [hashed_bag_of_words(text, 1536).astype(np.float32) for text in texts]
    np.testing.assert_allclose(vectors, expected, atol=1e-7)


async def test_query_embedding_and_port_properties(fake: FakeOpenAIEmbeddings, base_url: str) -> None:
    client = embedder(base_url)

    vector = await client.embed_query("accidental death rider")

    assert isinstance(client, Embedder)
    assert client.model_id == "openai:text-embedding-3-small"
    assert client.dimension == len(vector) == 1536
    assert fake.requests[0].body["input"] == ["accidental death rider"]


async def test_requested_dimensions_are_sent_and_size_the_vectors(
    fake: FakeOpenAIEmbeddings, base_url: str
) -> None:
    client = embedder(base_url, model="text-embedding-3-large", dimensions=256)

    (vector,) = await client.embed_documents(["critical illness"])

    assert client.dimension == len(vector) == 256
    assert fake.requests[0].body["dimensions"] == 256


async def test_no_texts_make_no_request(fake: FakeOpenAIEmbeddings, base_url: str) -> None:
    assert await embedder(base_url).embed_documents([]) == []
    assert fake.requests == []


def test_a_model_of_unknown_size_needs_dimensions() -> None:
    with pytest.raises(ValueError, match="pass dimensions"):
        OpenAIEmbedder(model="my-local-embedder", api_key="k")
    assert OpenAIEmbedder(model="my-local-embedder", api_key="k", dimensions=768).dimension == 768


async def test_a_refused_key_is_an_embedding_error(base_url: str) -> None:
    with pytest.raises(EmbeddingError, match="Incorrect API key"):
        await embedder(base_url, api_key="sk-wrong").embed_query("x")


async def test_an_unknown_model_is_an_embedding_error(base_url: str) -> None:
    with pytest.raises(EmbeddingError, match="does not exist"):
        await embedder(base_url, model="text-embedding-9", dimensions=8).embed_query("x")


async def test_vectors_of_an_unexpected_size_are_refused(fake: FakeOpenAIEmbeddings, base_url: str) -> None:
    fake.models["text-embedding-3-small"] = 64

    with pytest.raises(EmbeddingError, match="expected size 1536"):
        await embedder(base_url).embed_documents(["a", "b"])


async def test_a_transient_server_error_is_retried(fake: FakeOpenAIEmbeddings, base_url: str) -> None:
    fake.fail_next(InjectedError(status=500, message="The server had an error"))

    vector = await embedder(base_url, max_retries=1).embed_query("claim process")

    assert len(vector) == 1536
    assert len(fake.requests) == 2


async def test_rate_limit_without_retries_left_is_an_embedding_error(
    fake: FakeOpenAIEmbeddings, base_url: str
) -> None:
    fake.fail_next(
        InjectedError(status=429, message="Rate limit reached", type="requests", code="rate_limit_exceeded")
    )

    with pytest.raises(EmbeddingError, match="Rate limit reached"):
        await embedder(base_url).embed_query("x")


async def test_fake_answers_the_openai_sdk_in_both_encodings(base_url: str) -> None:
    client = openai.AsyncOpenAI(api_key=DEFAULT_API_KEY, base_url=base_url, max_retries=0)

    as_float = await client.embeddings.create(
        model="text-embedding-ada-002", input="pension", encoding_format="float"
    )
    as_base64 = await client.embeddings.create(model="text-embedding-ada-002", input=["pension"])

    assert as_float.data[0].embedding == pytest.approx(as_base64.data[0].embedding, abs=1e-7)
    assert as_float.model == "text-embedding-ada-002"
    assert as_float.usage.prompt_tokens == 1
    await client.close()


async def test_fake_wire_format_and_errors(base_url: str) -> None:
    auth = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    async with httpx.AsyncClient(base_url=base_url, headers=auth) as http:
        ok = await http.post(
            "/embeddings",
            json={"model": "text-embedding-3-small", "input": ["a b", "c"], "encoding_format": "base64"},
        )
        body = ok.json()
        assert ok.status_code == 200
        assert body["object"] == "list"
        assert [item["index"] for item in body["data"]] == [0, 1]
        decoded = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype="<f4")
        assert decoded.shape == (1536,)
        assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}

        tokens = await http.post(
            "/embeddings", json={"model": "text-embedding-3-small", "input": [[1, 2], [3]]}
        )
        assert tokens.status_code == 200
        assert len(tokens.json()["data"]) == 2

        refusals = {
            "empty input": {"model": "text-embedding-3-small", "input": ""},
            "no model": {"input": "x"},
            "bad encoding": {"model": "text-embedding-3-small", "input": "x", "encoding_format": "int8"},
            "dimensions on ada": {"model": "text-embedding-ada-002", "input": "x", "dimensions": 8},
            "too many dimensions": {"model": "text-embedding-3-small", "input": "x", "dimensions": 4096},
            "too many inputs": {"model": "text-embedding-3-small", "input": ["x"] * 2049},
        }
        for case, payload in refusals.items():
            refused = await http.post("/embeddings", json=payload)
            assert refused.status_code == 400, case
            assert refused.json()["error"]["type"] == "invalid_request_error", case

        unauthorised = await http.post(
            "/embeddings",
            json={"model": "text-embedding-3-small", "input": "x"},
            headers={"Authorization": "Bearer no"},
        )
        assert unauthorised.status_code == 401
        assert unauthorised.json()["error"]["code"] == "invalid_api_key"


def test_hashed_vectors_rank_shared_words_higher() -> None:
    query = hashed_bag_of_words("hospital cover for my family", 512)
    close = hashed_bag_of_words("family hospital cover plan", 512)
    far = hashed_bag_of_words("motor accident claim form", 512)

    assert float(query @ close) > float(query @ far) + 0.3
    assert float(np.linalg.norm(query)) == pytest.approx(1.0)
