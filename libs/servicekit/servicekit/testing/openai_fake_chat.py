"""A local fake of OpenAI's `/v1/chat/completions`, speaking the real wire format, for tests.

Shared by every service that talks to a text model (rag's needs extraction and narrative through
LangChain, voice-bridge's simulated-call bot through the `openai` SDK); it has no dependency beyond the
standard library.

Real clients (the `openai` SDK, LangChain's `ChatOpenAI`) are pointed at `server.base_url`; each test
scripts the answers (a queue of replies, or a function of the request) and inspects the recorded
requests. What the fake checks is what the real API rejects and a test should notice:
- a missing or wrong `Authorization: Bearer` key (401), a body without `model` or `messages` (400);
- a `response_format` of type `json_schema` with `strict: true` (or a strict function tool) whose schema
  is not in strict form: every object needs `additionalProperties: false` and every property listed in
  `required` (400, with the API's wording).
Replies come back as a `chat.completion` object, or as `chat.completion.chunk` server-sent events when the
request has `stream: true` (with a usage chunk when `stream_options.include_usage` is set).

The server runs on 127.0.0.1 on a free port in a background thread, so sync and async clients both work:

    with FakeOpenAIChat() as fake:
        fake.enqueue(FakeReply.json({"answer": 42}))
        client = OpenAI(api_key=fake.api_key, base_url=fake.base_url)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FakeOpenAIChat", "FakeReply", "FakeToolCall", "RecordedRequest", "strict_schema_problems"]


@dataclass(frozen=True, slots=True)
class FakeToolCall:
    name: str
    # Sent as the JSON string the API sends; a str is sent verbatim (to script malformed arguments).
    arguments: dict[str, Any] | str


@dataclass(frozen=True, slots=True)
class FakeReply:
    """One scripted answer: an assistant message, or an API error when `status` is not 200."""

    content: str | None = None
    tool_calls: tuple[FakeToolCall, ...] = ()
    refusal: str | None = None
    finish_reason: str | None = None
    status: int = 200
    error_type: str = "invalid_request_error"
    error_code: str | None = None

    @classmethod
    def text(cls, content: str) -> FakeReply:
        return cls(content=content)

    @classmethod
    def json(cls, payload: Any) -> FakeReply:
        return cls(content=json.dumps(payload))

    @classmethod
    def tool_call(cls, name: str, arguments: dict[str, Any] | str) -> FakeReply:
        return cls(tool_calls=(FakeToolCall(name, arguments),))

    @classmethod
    def error(
        cls, status: int, message: str, error_type: str = "invalid_request_error", code: str | None = None
    ) -> FakeReply:
        return cls(content=message, status=status, error_type=error_type, error_code=code)

    @property
    def resolved_finish_reason(self) -> str:
        if self.finish_reason:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str | None:
        return self.body.get("model")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def response_format(self) -> dict[str, Any] | None:
        return self.body.get("response_format")

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The `schema` of a `json_schema` response format, if the request asked for one."""
        response_format = self.response_format or {}
        if response_format.get("type") != "json_schema":
            return None
        return response_format.get("json_schema", {}).get("schema")

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools", []))

    def message_text(self, role: str) -> str:
        """All text of the messages with `role`, joined (content parts included)."""
        parts: list[str] = []
        for message in self.messages:
            if message.get("role") != role:
                continue
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
        return "\n".join(parts)


Responder = Callable[[RecordedRequest], FakeReply]


def strict_schema_problems(schema: Any, path: str = "#") -> list[str]:
    """Why `schema` is not accepted by OpenAI's strict mode (empty when it is)."""
    problems: list[str] = []
    if not isinstance(schema, dict):
        return problems
    properties = schema.get("properties")
    if schema.get("type") == "object" or isinstance(properties, dict):
        if schema.get("additionalProperties") is not False:
            problems.append(
                f"In context={path}, 'additionalProperties' is required to be supplied and to be false."
            )
        if isinstance(properties, dict):
            missing = [key for key in properties if key not in schema.get("required", [])]
            if missing:
                problems.append(
                    f"In context={path}, 'required' is required to be supplied and to be an array including "
                    f"every key in properties. Missing {missing!r}."
                )
            for key, sub in properties.items():
                problems += strict_schema_problems(sub, f"{path}/properties/{key}")
    if "default" in schema:
        problems.append(f"In context={path}, 'default' is not permitted.")
    for keyword in ("anyOf", "allOf", "oneOf", "prefixItems"):
        for index, sub in enumerate(schema.get(keyword, []) or []):
            problems += strict_schema_problems(sub, f"{path}/{keyword}/{index}")
    if isinstance(schema.get("items"), dict):
        problems += strict_schema_problems(schema["items"], f"{path}/items")
    for keyword in ("$defs", "definitions"):
        for name, sub in (schema.get(keyword) or {}).items():
            problems += strict_schema_problems(sub, f"{path}/{keyword}/{name}")
    return problems


class _ApiError(Exception):
    def __init__(
        self, status: int, message: str, error_type: str = "invalid_request_error", code: str | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAIChat:
    """The fake server. Use as a context manager, or call `start()` and `close()`."""

    def __init__(
        self, api_key: str = "sk-fake-test-key", model_check: Callable[[str], bool] | None = None
    ) -> None:
        self.api_key = api_key
        self._model_check = model_check
        self._replies: deque[FakeReply] = deque()
        self._responder: Responder | None = None
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -----------------------------------------------------------------------------------

    def enqueue(self, *replies: FakeReply) -> None:
        """Answers for the next requests, in order (used before any `respond_with` function)."""
        with self._lock:
            self._replies.extend(replies)

    def respond_with(self, responder: Responder | None) -> None:
        """Answer every request (once the queue is empty) with `responder(request)`."""
        with self._lock:
            self._responder = responder

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def pending_replies(self) -> int:
        with self._lock:
            return len(self._replies)

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeOpenAIChat:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-openai-chat", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAIChat:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- request handling --------------------------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> FakeReply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
            responder = self._responder
        if responder is None:
            raise _ApiError(500, "fake: no scripted reply left for this request", "server_error")
        return responder(request)

    def _check(self, request: RecordedRequest) -> None:
        if request.path.rstrip("/") != "/v1/chat/completions" or request.method != "POST":
            raise _ApiError(404, f"Invalid URL ({request.method} {request.path})")
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            raise _ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        if not isinstance(request.body.get("model"), str):
            raise _ApiError(400, "you must provide a model parameter")
        if self._model_check and not self._model_check(request.body["model"]):
            raise _ApiError(
                404, f"The model `{request.body['model']}` does not exist.", code="model_not_found"
            )
        if not request.messages:
            raise _ApiError(400, "[] is too short - 'messages'")
        response_format = request.response_format or {}
        if response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema") or {}
            if not spec.get("name"):
                raise _ApiError(400, "Missing required parameter: 'response_format.json_schema.name'.")
            if spec.get("strict"):
                problems = strict_schema_problems(spec.get("schema"))
                if problems:
                    raise _ApiError(
                        400,
                        f"Invalid schema for response_format '{spec['name']}': {problems[0]}",
                        code="invalid_json_schema",
                    )
        for tool in request.tools:
            function = tool.get("function") or {}
            if function.get("strict"):
                problems = strict_schema_problems(function.get("parameters"))
                if problems:
                    raise _ApiError(
                        400,
                        f"Invalid schema for function '{function.get('name')}': {problems[0]}",
                        code="invalid_function_parameters",
                    )

    def _completion(self, request: RecordedRequest, reply: FakeReply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": reply.refusal}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": arguments}}
                for call_id, call, arguments in self._tool_calls(reply)
            ]
        prompt_tokens = sum(_approx_tokens(json.dumps(m)) for m in request.messages)
        completion_tokens = _approx_tokens(json.dumps(message))
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reply.resolved_finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _tool_calls(self, reply: FakeReply) -> Iterator[tuple[str, FakeToolCall, str]]:
        for call in reply.tool_calls:
            arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            yield f"call_fake_{next(self._ids)}", call, arguments

    def _chunks(self, request: RecordedRequest, reply: FakeReply) -> Iterator[dict[str, Any]]:
        """The reply as the API streams it: role first, then content and tool-call fragments, then the end."""
        base = {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.model,
            "system_fingerprint": "fp_fake",
        }

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {
                **base,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        content = reply.content or ""
        step = max(1, len(content) // 3)
        for start in range(0, len(content), step):
            yield chunk({"content": content[start : start + step]})
        for index, (call_id, call, arguments) in enumerate(self._tool_calls(reply)):
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
            half = len(arguments) // 2
            for fragment in (arguments[:half], arguments[half:]):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        yield chunk({}, reply.resolved_finish_reason)
        if (request.body.get("stream_options") or {}).get("include_usage"):
            completion = self._completion(request, reply)
            yield {**base, "choices": [], "usage": completion["usage"]}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # tests stay quiet
                return

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    self._send_error(_ApiError(400, "We could not parse the JSON body of your request."))
                    return
                request = RecordedRequest(
                    method=self.command,
                    path=self.path.split("?")[0],
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body if isinstance(body, dict) else {},
                )
                with fake._lock:
                    fake._requests.append(request)
                try:
                    fake._check(request)
                    reply = fake._next_reply(request)
                except _ApiError as error:
                    self._send_error(error)
                    return
                if reply.status != 200:
                    self._send_error(
                        _ApiError(reply.status, reply.content or "", reply.error_type, reply.error_code)
                    )
                elif request.body.get("stream"):
                    self._send_stream(fake._chunks(request, reply))
                else:
                    self._send_json(200, fake._completion(request, reply))

            def _send_json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-request-id", f"req_fake_{next(fake._ids)}")
                self.end_headers()
                self.wfile.write(data)

            def _send_error(self, error: _ApiError) -> None:
                payload = {
                    "error": {
                        "message": error.message,
                        "type": error.error_type,
                        "param": None,
                        "code": error.code,
                    }
                }
                self._send_json(error.status, payload)

            def _send_stream(self, chunks: Iterator[dict[str, Any]]) -> None:
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for item in chunks:
                    self.wfile.write(f"data: {json.dumps(item)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler
