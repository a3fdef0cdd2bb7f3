"""Embedders for tests, built once per process: loading the ONNX model costs about a second."""

from __future__ import annotations

import functools

from rag.adapters.onnx_embedder import OnnxMiniLMEmbedder


@functools.cache
def shared_minilm_embedder() -> OnnxMiniLMEmbedder:
    """The offline embedder shared by every test module (wrap it in a session-scoped fixture)."""
    return OnnxMiniLMEmbedder()
