"""OpenAI embeddings through LangChain (`langchain-openai`), for when an API key is configured."""

from __future__ import annotations

from collections.abc import Sequence

import openai
from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr

from rag.domain.embedding import EmbeddingError

# Output sizes of OpenAI's embedding models when no `dimensions` is requested.
NATIVE_DIMENSIONS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder:
    """The `Embedder` port on OpenAI's `/v1/embeddings` (or any server speaking its protocol).

    `dimensions` asks a text-embedding-3 model for shorter vectors; it is required for a model
    whose native size is not known here, since the collection is sized before the first call.
    """

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str | None = None,
        dimensions: int | None = None,
        timeout_seconds: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        dimension = dimensions or NATIVE_DIMENSIONS.get(model)
        if dimension is None:
            raise ValueError(f"unknown output size of embedding model {model!r}: pass dimensions")
        self._model = model
        self._dimension = dimension
        self._client = OpenAIEmbeddings(
            model=model,
            openai_api_key=SecretStr(api_key),
            openai_api_base=base_url,
            dimensions=dimensions,
            # Send raw strings: the length check would tokenise with tiktoken, which downloads its
            # vocabulary at run time. Chunks are far below the model's 8k-token context anyway.
            check_embedding_ctx_length=False,
            request_timeout=timeout_seconds,
            max_retries=max_retries,
        )

    @property
    def model_id(self) -> str:
        return f"openai:{self._model}"

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        try:
            vectors = await self._client.aembed_documents(list(texts))
        except openai.OpenAIError as error:
            raise EmbeddingError(f"OpenAI embeddings failed: {error}") from error
        if len(vectors) != len(texts) or any(len(vector) != self._dimension for vector in vectors):
            raise EmbeddingError(
                f"OpenAI returned {len(vectors)} vectors for {len(texts)} texts, expected size {self._dimension}"
            )
        return vectors

    async def embed_query(self, text: str) -> list[float]:
        (vector,) = await self.embed_documents([text])
        return vector
