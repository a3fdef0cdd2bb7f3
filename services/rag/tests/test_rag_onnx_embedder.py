from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rag.adapters.onnx_embedder import DIMENSION, MODEL_FILE, OnnxMiniLMEmbedder, PackagedFile, verify_sha256
from rag.domain.embedding import Embedder, EmbeddingError
from rag.testing.embedders import shared_minilm_embedder

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text())["entries"]


@pytest.fixture(scope="session")
def minilm() -> OnnxMiniLMEmbedder:
    return shared_minilm_embedder()


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_it_is_an_embedder_of_384_dimensions(minilm: OnnxMiniLMEmbedder) -> None:
    assert isinstance(minilm, Embedder)
    assert minilm.model_id == "all-MiniLM-L6-v2-onnx-int8"
    assert minilm.dimension == DIMENSION == 384


async def test_vectors_match_the_original_fp32_model(minilm: OnnxMiniLMEmbedder) -> None:
    # Reference: the original safetensors weights run in numpy (tests/fixtures/make_minilm_reference.py),
    # covering accents, upper case, blank input and truncation at 256 tokens.
    vectors = await minilm.embed_documents([entry["text"] for entry in REFERENCE])

    similarities = [
        cosine(vector, entry["embedding"]) for vector, entry in zip(vectors, REFERENCE, strict=True)
    ]
    assert min(similarities) > 0.995, similarities
    assert sorted(similarities)[1] > 0.999, similarities


def test_tokens_are_those_of_the_original_tokenizer_at_256(minilm: OnnxMiniLMEmbedder) -> None:
    for entry in REFERENCE:
        assert minilm._tokenizer.encode(entry["text"]).ids == entry["token_ids"]
    assert max(len(entry["token_ids"]) for entry in REFERENCE) == 256


async def test_paraphrases_score_higher_than_unrelated_sentences(minilm: OnnxMiniLMEmbedder) -> None:
    pairs = [
        ("My family gets money if I die", "Life insurance pays a death benefit to your beneficiaries"),
        ("Who pays when I am in hospital?", "The plan covers inpatient hospitalisation expenses"),
        ("I want to save money for my retirement", "A pension plan that builds income for when you retire"),
        (
            "How do I make a claim after a car crash?",
            "Steps to file a motor insurance claim after an accident",
        ),
    ]
    unrelated = ["The recipe needs two cups of flour", "Our football team won the match on Sunday"]
    texts = [text for pair in pairs for text in pair] + unrelated
    vectors = dict(zip(texts, await minilm.embed_documents(texts), strict=True))

    for question, answer in pairs:
        related = cosine(vectors[question], vectors[answer])
        others = [cosine(vectors[question], vectors[other]) for _, other in pairs if other != answer]
        assert related > max(others) + 0.1, (question, related, others)
        assert related > max(cosine(vectors[question], vectors[u]) for u in unrelated) + 0.2


async def test_vectors_are_unit_length_and_in_input_order(minilm: OnnxMiniLMEmbedder) -> None:
    texts = [
        "short",
        "a considerably longer sentence about critical illness cover and riders",
        "mid length text",
    ]

    batch = np.array(await minilm.embed_documents(texts))
    one_by_one = np.array([await minilm.embed_query(text) for text in texts])

    assert batch.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    # Padding next to longer texts does not change a text's vector.
    np.testing.assert_allclose(batch, one_by_one, atol=1e-5)


async def test_batches_smaller_than_the_input_keep_order(minilm: OnnxMiniLMEmbedder) -> None:
    small_batches = OnnxMiniLMEmbedder(batch_size=2, intra_op_threads=1)
    texts = [f"policy number {n} covers {'dental ' * n}care" for n in range(7)]

    np.testing.assert_allclose(
        await small_batches.embed_documents(texts), await minilm.embed_documents(texts), atol=1e-5
    )


async def test_text_past_256_tokens_is_truncated(minilm: OnnxMiniLMEmbedder) -> None:
    long_text = " ".join(["The rider doubles the sum assured on accidental death."] * 40)

    vectors = await minilm.embed_documents(
        [long_text, long_text + " Completely different ending about cats."]
    )

    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


async def test_no_texts_no_vectors(minilm: OnnxMiniLMEmbedder) -> None:
    assert await minilm.embed_documents([]) == []


def test_a_model_file_other_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    tampered = tmp_path / "model.onnx"
    tampered.write_bytes(b"not the model")

    with pytest.raises(EmbeddingError, match="sha256"):
        verify_sha256(tampered, MODEL_FILE.sha256)
    with pytest.raises(EmbeddingError, match="cannot read"):
        verify_sha256(tmp_path / "missing.onnx", MODEL_FILE.sha256)


def test_a_missing_model_package_is_a_clear_error() -> None:
    with pytest.raises(EmbeddingError, match="needs the parley-no-such-wheel package"):
        PackagedFile("parley-no-such-wheel", "x/model.onnx", MODEL_FILE.sha256).locate()


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        OnnxMiniLMEmbedder(batch_size=0)
