"""A local fake of OpenAI's `POST /v1/embeddings`, speaking the real wire format, for tests.

It checks what the real endpoint checks (bearer key, known model, input shapes, `dimensions` only on
text-embedding-3 models, `encoding_format` float or base64) and answers with OpenAI's JSON, errors
included. Vectors are deterministic feature-hashed bags of words, so texts sharing words score higher
than unrelated ones and a retrieval test over the keyed path still means something.

    fake = FakeOpenAIEmbeddings()
    async with serve_app(fake.app()) as base_url:   # http://127.0.0.1:<port>/v1
        ...

`serve_app` runs any ASGI app on a free loopback port, so other fakes (chat completions, ...) can
share it, and `FakeOpenAIEmbeddings.routes()` mounts this endpoint into a bigger fake app.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

DEFAULT_API_KEY = "sk-parley-test"
NATIVE_DIMENSIONS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
MAX_INPUTS = 2048
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class RecordedRequest:
    body: dict[str, Any]
    authorization: str | None


@dataclass
class InjectedError:
    status: int
    message: str
    type: str = "server_error"
    code: str | None = None


def hashed_bag_of_words(text: str, dimension: int) -> np.ndarray:
    """A unit vector: each lower-cased word adds ±1 at a position picked by its hash."""
    vector = np.zeros(dimension, dtype=np.float64)
    words = _WORD.findall(text.lower()) or [text]
    for word in words:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimension
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    if norm == 0:
        # Words cancelled out exactly; any fixed unit vector keeps the answer valid.
        vector[0], norm = 1.0, 1.0
    return vector / norm


def _error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class FakeOpenAIEmbeddings:
    api_key: str = DEFAULT_API_KEY
    models: dict[str, int] = field(default_factory=lambda: dict(NATIVE_DIMENSIONS))
    requests: list[RecordedRequest] = field(default_factory=list)
    _errors: list[InjectedError] = field(default_factory=list)

    def fail_next(self, error: InjectedError) -> None:
        """The next request gets this error (with `retry-after-ms: 1`, so SDK retries stay fast)."""
        self._errors.append(error)

    def routes(self) -> list[Route]:
        return [Route("/v1/embeddings", self.handle, methods=["POST"])]

    def app(self) -> Starlette:
        return Starlette(routes=self.routes())

    async def handle(self, request: Request) -> JSONResponse:
        authorization = request.headers.get("authorization")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        self.requests.append(RecordedRequest(body=body, authorization=authorization))
        if authorization != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        if self._errors:
            injected = self._errors.pop(0)
            return _error(
                injected.status,
                injected.message,
                type_=injected.type,
                code=injected.code,
                headers={"retry-after-ms": "1"},
            )
        return self._answer(body)

    def _answer(self, body: Any) -> JSONResponse:
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        model = body.get("model")
        if not isinstance(model, str):
            return _error(400, "you must provide a model parameter", param="model")
        if model not in self.models:
            return _error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        texts = _inputs(body.get("input"))
        if texts is None:
            return _error(
                400,
                "'input' must be a non-empty string, array of strings, or array of tokens.",
                param="input",
            )
        if len(texts) > MAX_INPUTS:
            return _error(400, f"'input' must have at most {MAX_INPUTS} elements.", param="input")
        dimension = self.models[model]
        requested = body.get("dimensions")
        if requested is not None:
            if not model.startswith("text-embedding-3"):
                return _error(400, "This model does not support specifying dimensions.", param="dimensions")
            if not isinstance(requested, int) or not 1 <= requested <= dimension:
                return _error(400, f"'dimensions' must be between 1 and {dimension}.", param="dimensions")
            dimension = requested
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            return _error(400, "'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
        data = []
        for index, text in enumerate(texts):
            vector = hashed_bag_of_words(text, dimension)
            embedding: str | list[float] = (
                base64.b64encode(vector.astype("<f4").tobytes()).decode()
                if encoding == "base64"
                else [float(v) for v in vector.astype(np.float32)]
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(_WORD.findall(text.lower())) or 1 for text in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _inputs(raw: Any) -> list[str] | None:
    """The inputs as texts (token arrays are hashed as their ids), or None when OpenAI would refuse them."""
    if isinstance(raw, str):
        return [raw] if raw else None
    if not isinstance(raw, list) or not raw:
        return None
    if all(isinstance(item, str) and item for item in raw):
        return list(raw)
    if all(isinstance(item, int) for item in raw):
        return [" ".join(map(str, raw))]
    if all(isinstance(item, list) and item and all(isinstance(t, int) for t in item) for item in raw):
        return [" ".join(map(str, item)) for item in raw]
    return None


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp) -> AsyncIterator[str]:
    """Run `app` with uvicorn on 127.0.0.1 at a free port; yields the OpenAI-style base URL (`.../v1`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raises why the server could not start, if it raised
                raise RuntimeError("the fake server stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        await task
        sock.close()
