"""The embedding port: every embedder (offline ONNX, OpenAI) turns texts into unit-length vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class EmbeddingError(RuntimeError):
    """An embedder could not produce vectors (provider refused, unreachable, or answered malformed)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one fixed `dimension`, all from the model named `model_id`.

    `model_id` and `dimension` key the vector collection, so vectors of different models never mix.
    Vectors come back L2-normalised, in the order of the input texts.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def embed_query(self, text: str) -> list[float]: ...
