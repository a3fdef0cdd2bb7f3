"""A fake OpenAI Realtime server that the real `openai` SDK connects to.

It is a real websocket server on 127.0.0.1 (random port) at `/v1/realtime`, speaking the GA event
protocol: `session.created` / `session.updated`, server VAD events, input transcription, responses
with `response.output_audio.delta` chunks, transcripts, function calls and `response.done` with usage.
It checks what real servers check and the bridge must get right: a bearer token, `session.type`,
one active response at a time, truncation within the audio actually generated, function outputs
that answer a known call. Replies are scripted per test; everything received is recorded; a
connection can be dropped or expired on demand.

    async with FakeRealtimeServer(replies=[AudioReply("Hello!")]) as server:
        client = server.openai_client()   # AsyncOpenAI pointed at the fake
        ...
        session = await server.session(0)
        await session.user_says("I need life cover")
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openai import AsyncOpenAI
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .audio import BYTES_PER_MS, mulaw_audio

REALTIME_PATH = "/v1/realtime"
DEFAULT_API_KEY = "sk-test-fake-realtime"


@dataclass
class AudioReply:
    """The bot says `transcript`, as `audio_ms` of audio in `chunk_ms` deltas."""

    transcript: str
    audio_ms: int = 400
    chunk_ms: int = 100
    # Pause between deltas; 0 sends them back to back, like the real service (faster than real time).
    chunk_interval_s: float = 0.0
    usage: dict[str, Any] | None = None
    # Optional tag per chunk (chunk index -> tag) so a bench can time each delta end to end.
    chunk_tag: Callable[[int], int] | None = None


@dataclass
class FunctionCallReply:
    """The bot calls a function, optionally after saying something in the same response."""

    name: str
    arguments: dict[str, Any] | str
    said_first: AudioReply | None = None
    usage: dict[str, Any] | None = None
    # False: the call shows up only in `response.output_item.done` / `response.done`, not as argument events.
    stream_arguments: bool = True


ScriptedReply = AudioReply | FunctionCallReply


def default_usage(reply: ScriptedReply) -> dict[str, Any]:
    """Plausible token counts: roughly 10 audio tokens per second of speech in, 20 out."""
    spoken = reply if isinstance(reply, AudioReply) else reply.said_first
    audio_out = math.ceil((spoken.audio_ms if spoken else 0) / 50)
    text_out = len(spoken.transcript.split()) if spoken else 20
    return {
        "total_tokens": 120 + audio_out + text_out,
        "input_tokens": 120,
        "output_tokens": audio_out + text_out,
        "input_token_details": {
            "text_tokens": 100,
            "audio_tokens": 20,
            "cached_tokens": 64,
            "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }


class FakeRealtimeServer:
    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        replies: Iterable[ScriptedReply] = (),
        default_reply: Callable[[], ScriptedReply] = lambda: AudioReply("Okay."),
        record_audio: bool = True,
        on_audio_append: Callable[[FakeRealtimeSession, str], None] | None = None,
        on_session: Callable[[FakeRealtimeSession], None] | None = None,
    ) -> None:
        self.api_key = api_key
        # Shared by all sessions, so a reconnected call continues the same script.
        self.replies: deque[ScriptedReply] = deque(replies)
        self.default_reply = default_reply
        self.record_audio = record_audio
        self.on_audio_append = on_audio_append
        self.on_session = on_session
        self.sessions: list[FakeRealtimeSession] = []
        self.rejected_handshakes = 0
        self.refuse_connections = False
        self.reject_session_updates = False
        self._server: Server | None = None
        self._session_added = asyncio.Condition()
        self._ids = itertools.count(1)

    # -------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        self._server = await serve(
            self._serve_connection, "127.0.0.1", 0, process_request=self._check_handshake, max_size=None
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeRealtimeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    @property
    def http_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def websocket_base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1"

    def openai_client(self) -> AsyncOpenAI:
        return AsyncOpenAI(
            api_key=self.api_key, base_url=self.http_base_url, websocket_base_url=self.websocket_base_url
        )

    async def session(self, index: int = 0, timeout: float = 5.0) -> FakeRealtimeSession:
        """The `index`-th session (connection) opened against this server, waiting for it if needed."""
        async with asyncio.timeout(timeout), self._session_added:
            await self._session_added.wait_for(lambda: len(self.sessions) > index)
        return self.sessions[index]

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def next_reply(self) -> ScriptedReply:
        return self.replies.popleft() if self.replies else self.default_reply()

    # -------------------------------------------------------------- connections

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refuse_connections:
            self.rejected_handshakes += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable\n")
        if urlsplit(request.path).path != REALTIME_PATH:
            self.rejected_handshakes += 1
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            self.rejected_handshakes += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid api key\n")
        return None

    async def _serve_connection(self, websocket: ServerConnection) -> None:
        assert websocket.request is not None
        query = parse_qs(urlsplit(websocket.request.path).query)
        session = FakeRealtimeSession(self, websocket, model=query.get("model", [""])[0])
        async with self._session_added:
            self.sessions.append(session)
            self._session_added.notify_all()
        if self.on_session is not None:
            self.on_session(session)
        await session.serve()


@dataclass
class ServerItem:
    """An item in the fake server's conversation (what it will truncate, and answer function calls of)."""

    id: str
    type: str
    role: str | None = None
    call_id: str | None = None
    audio_ms: float = 0.0


class FakeRealtimeSession:
    """One connection: the server side of one Realtime session."""

    def __init__(self, server: FakeRealtimeServer, websocket: ServerConnection, *, model: str) -> None:
        self.server = server
        self.model = model
        self.received: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.appended_audio: list[str] = []
        self.appended_bytes = 0
        self.config: dict[str, Any] = {"type": "realtime", "model": model}
        self.conversation: list[ServerItem] = []
        self.truncations: list[dict[str, Any]] = []
        self.errors_sent: list[dict[str, Any]] = []
        self.active_response_id: str | None = None
        self.closed = asyncio.Event()
        self._websocket = websocket
        self._response_task: asyncio.Task[None] | None = None
        self._interrupting = False
        self._changed = asyncio.Event()  # replaced on every change; waiters re-check their condition
        self._items: dict[str, ServerItem] = {}

    # -------------------------------------------------------------- scripting

    async def send(self, event: dict[str, Any]) -> None:
        event.setdefault("event_id", self.server.next_id("event"))
        if self.server.record_audio or event["type"] != "response.output_audio.delta":
            self.sent.append(event)
        with contextlib.suppress(ConnectionClosed):  # the test may have dropped the connection
            await self._websocket.send(json.dumps(event))

    async def wait_for(
        self,
        event_type: str,
        *,
        predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
        count: int = 1,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The `count`-th client event of this type (matching `predicate`), waiting for it if needed."""

        def matching() -> list[dict[str, Any]]:
            return [e for e in self.received if e.get("type") == event_type and predicate(e)]

        await self._wait_until(lambda: len(matching()) >= count, timeout)
        return matching()[count - 1]

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e.get("type") == event_type]

    async def speech_started(self) -> str:
        """Server VAD hears the caller. Like the real server, this interrupts an active response."""
        item_id = self.server.next_id("item")
        await self.send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": self.appended_bytes // BYTES_PER_MS,
                "item_id": item_id,
            }
        )
        if self.active_response_id is not None and self._vad().get("interrupt_response", True):
            await self.cancel_response()
        return item_id

    async def user_says(self, transcript: str) -> str:
        """A whole caller turn: speech start/stop, commit, transcription, then the VAD-triggered response."""
        item_id = await self.speech_started()
        await self.finish_user_turn(item_id, transcript)
        return item_id

    async def finish_user_turn(self, item_id: str, transcript: str) -> None:
        """The caller stops talking: speech stopped, commit, transcription, and the VAD response."""
        audio_end_ms = self.appended_bytes // BYTES_PER_MS
        await self.send(
            {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": audio_end_ms, "item_id": item_id}
        )
        await self.send(
            {"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": None}
        )
        self._add_item(ServerItem(item_id, "message", role="user"))
        words = len(transcript.split())
        await self.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
                "usage": {
                    "type": "tokens",
                    "input_tokens": 12,
                    "output_tokens": words,
                    "total_tokens": 12 + words,
                },
            }
        )
        if self._vad().get("create_response", True):
            self.start_response()

    def start_response(self, reply: ScriptedReply | None = None) -> None:
        """Start generating a response (the next scripted reply unless one is given)."""
        if self.active_response_id is not None:
            raise RuntimeError("a response is already active")
        response_id = self.server.next_id("resp")
        self.active_response_id = response_id
        self._response_task = asyncio.create_task(
            self._respond(response_id, reply or self.server.next_reply())
        )
        self._notify()

    async def response_finished(self, timeout: float = 5.0) -> None:
        """Wait for the latest response to be done; if none has started yet, for the first one."""
        await self._wait_until(lambda: self._response_task is not None, timeout)
        assert self._response_task is not None
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._response_task)

    async def cancel_response(self) -> None:
        """Stop the active response the way the server does on barge-in or `response.cancel`."""
        task = self._response_task
        if task is None or task.done():
            return
        self._interrupting = True
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self._interrupting = False

    async def drop(self) -> None:
        """Kill the TCP connection without a closing handshake (network loss, server crash).

        A response in progress just stops: nothing more reaches the client, not even `response.done`.
        """
        self._websocket.transport.abort()
        await self.cancel_response()
        await self.closed.wait()

    async def expire(self) -> None:
        """The session hits its maximum duration: an error event, then the server closes."""
        await self.cancel_response()
        await self._send_error(
            "invalid_request_error", "session_expired", "Your session hit the maximum duration."
        )
        await self._websocket.close(1000, "session expired")
        await self.closed.wait()

    # -------------------------------------------------------------- protocol

    async def serve(self) -> None:
        await self.send({"type": "session.created", "session": dict(self.config)})
        try:
            async for raw in self._websocket:
                event = json.loads(raw)
                await self._handle(event)
        except ConnectionClosed:
            pass
        finally:
            if self._response_task is not None:
                self._response_task.cancel()
            self.closed.set()

    async def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "input_audio_buffer.append":
            await self._on_append(event)
            return
        self._remember(event)
        if kind == "session.update":
            await self._on_session_update(event)
        elif kind == "conversation.item.create":
            await self._on_item_create(event)
        elif kind == "conversation.item.truncate":
            await self._on_truncate(event)
        elif kind == "response.create":
            if self.active_response_id is not None:
                await self._send_error(
                    "invalid_request_error",
                    "conversation_already_has_active_response",
                    "Conversation already has an active response in progress.",
                    event,
                )
            else:
                self.start_response()
        elif kind == "response.cancel":
            await self.cancel_response()
        else:
            await self._send_error(
                "invalid_request_error", "unknown_event", f"Unknown event type {kind!r}.", event
            )

    def _remember(self, event: dict[str, Any]) -> None:
        self.received.append(event)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, condition: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                await self._changed.wait()

    async def _on_append(self, event: dict[str, Any]) -> None:
        payload = event.get("audio", "")
        try:
            self.appended_bytes += len(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError):
            await self._send_error(
                "invalid_request_error", "invalid_value", "audio is not valid base64", event
            )
            return
        if self.server.on_audio_append is not None:
            self.server.on_audio_append(self, payload)
        if self.server.record_audio:
            self.appended_audio.append(payload)
            self._remember(event)

    async def _on_session_update(self, event: dict[str, Any]) -> None:
        session = event.get("session") or {}
        if session.get("type") != "realtime" or self.server.reject_session_updates:
            await self._send_error(
                "invalid_request_error",
                "invalid_value",
                "session.update refused: session.type must be 'realtime'",
                event,
            )
            return
        _merge(self.config, session)
        await self.send({"type": "session.updated", "session": dict(self.config)})

    async def _on_item_create(self, event: dict[str, Any]) -> None:
        item = dict(event.get("item") or {})
        kind = item.get("type")
        if kind == "function_call_output":
            call_id = item.get("call_id")
            if not any(i.type == "function_call" and i.call_id == call_id for i in self.conversation):
                await self._send_error(
                    "invalid_request_error", "invalid_value", f"no function call {call_id!r}", event
                )
                return
        elif kind not in ("message", "function_call"):
            await self._send_error("invalid_request_error", "invalid_value", f"bad item type {kind!r}", event)
            return
        item.setdefault("id", self.server.next_id("item"))
        self._add_item(ServerItem(item["id"], kind, role=item.get("role"), call_id=item.get("call_id")))
        await self.send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
        await self.send({"type": "conversation.item.done", "previous_item_id": None, "item": item})

    async def _on_truncate(self, event: dict[str, Any]) -> None:
        item = self._items.get(event.get("item_id", ""))
        audio_end_ms = event.get("audio_end_ms", -1)
        if item is None or item.role != "assistant":
            await self._send_error("invalid_request_error", "invalid_value", "no such assistant item", event)
        elif not 0 <= audio_end_ms <= item.audio_ms:
            await self._send_error(
                "invalid_request_error",
                "invalid_value",
                "audio_end_ms is longer than the item's audio",
                event,
            )
        else:
            self.truncations.append(event)
            await self.send(
                {
                    "type": "conversation.item.truncated",
                    "item_id": item.id,
                    "content_index": 0,
                    "audio_end_ms": audio_end_ms,
                }
            )

    async def _respond(self, response_id: str, reply: ScriptedReply) -> None:
        output: list[dict[str, Any]] = []
        status = "completed"
        await self.send(
            {
                "type": "response.created",
                "response": {
                    "id": response_id,
                    "object": "realtime.response",
                    "status": "in_progress",
                    "output": [],
                },
            }
        )
        try:
            spoken = reply if isinstance(reply, AudioReply) else reply.said_first
            if spoken is not None:
                await self._speak(response_id, spoken, output)
            if isinstance(reply, FunctionCallReply):
                await self._call_function(response_id, reply, output)
        except asyncio.CancelledError:
            if not self._interrupting:
                raise
            status = "cancelled"
        finally:
            self.active_response_id = None
        await self.send(
            {
                "type": "response.done",
                "response": {
                    "id": response_id,
                    "object": "realtime.response",
                    "status": status,
                    "output": output,
                    "usage": reply.usage or default_usage(reply),
                },
            }
        )

    async def _speak(self, response_id: str, reply: AudioReply, output: list[dict[str, Any]]) -> None:
        item = ServerItem(self.server.next_id("item"), "message", role="assistant")
        self._add_item(item)
        index = len(output)
        base = {"response_id": response_id, "item_id": item.id, "output_index": index}
        message = {"id": item.id, "object": "realtime.item", "type": "message", "role": "assistant"}
        output.append(
            {**message, "status": "incomplete", "content": [{"type": "output_audio", "transcript": ""}]}
        )
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": response_id,
                "output_index": index,
                "item": {**message, "status": "in_progress", "content": []},
            }
        )
        await self.send(
            {
                "type": "response.content_part.added",
                **base,
                "content_index": 0,
                "part": {"type": "audio", "transcript": ""},
            }
        )
        transcript = reply.transcript
        try:
            chunks = math.ceil(reply.audio_ms / reply.chunk_ms)
            for index_in_item in range(chunks):
                chunk_ms = min(reply.chunk_ms, reply.audio_ms - index_in_item * reply.chunk_ms)
                tag = reply.chunk_tag(index_in_item) if reply.chunk_tag else None
                delta = base64.b64encode(mulaw_audio(chunk_ms, tag)).decode("ascii")
                item.audio_ms += chunk_ms
                await self.send(
                    {"type": "response.output_audio.delta", **base, "content_index": 0, "delta": delta}
                )
                if reply.chunk_interval_s:
                    await asyncio.sleep(reply.chunk_interval_s)
            await self.send({"type": "response.output_audio.done", **base, "content_index": 0})
        except asyncio.CancelledError:
            # Interrupted: the transcript covers what was generated so far, as the real server reports it.
            words = transcript.split()
            transcript = " ".join(words[: int(len(words) * item.audio_ms / max(reply.audio_ms, 1))])
            raise
        finally:
            output[index]["content"] = [{"type": "output_audio", "transcript": transcript}]
            await self.send(
                {
                    "type": "response.output_audio_transcript.done",
                    **base,
                    "content_index": 0,
                    "transcript": transcript,
                }
            )
        output[index]["status"] = "completed"
        await self.send(
            {
                "type": "response.content_part.done",
                **base,
                "content_index": 0,
                "part": {"type": "audio", "transcript": transcript},
            }
        )
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": response_id,
                "output_index": index,
                "item": output[index],
            }
        )

    async def _call_function(
        self, response_id: str, reply: FunctionCallReply, output: list[dict[str, Any]]
    ) -> None:
        arguments = reply.arguments if isinstance(reply.arguments, str) else json.dumps(reply.arguments)
        call_id = self.server.next_id("call")
        item = ServerItem(self.server.next_id("item"), "function_call", call_id=call_id)
        self._add_item(item)
        index = len(output)
        function_call = {
            "id": item.id,
            "object": "realtime.item",
            "type": "function_call",
            "status": "completed",
            "name": reply.name,
            "call_id": call_id,
            "arguments": arguments,
        }
        output.append(function_call)
        await self.send(
            {
                "type": "response.output_item.added",
                "response_id": response_id,
                "output_index": index,
                "item": {**function_call, "status": "in_progress", "arguments": ""},
            }
        )
        if reply.stream_arguments:
            await self.send(
                {
                    "type": "response.function_call_arguments.delta",
                    "response_id": response_id,
                    "item_id": item.id,
                    "output_index": index,
                    "call_id": call_id,
                    "delta": arguments,
                }
            )
            await self.send(
                {
                    "type": "response.function_call_arguments.done",
                    "response_id": response_id,
                    "item_id": item.id,
                    "output_index": index,
                    "call_id": call_id,
                    "name": reply.name,
                    "arguments": arguments,
                }
            )
        await self.send(
            {
                "type": "response.output_item.done",
                "response_id": response_id,
                "output_index": index,
                "item": function_call,
            }
        )

    async def _send_error(
        self, error_type: str, code: str, message: str, cause: dict[str, Any] | None = None
    ) -> None:
        error = {
            "type": error_type,
            "code": code,
            "message": message,
            "param": None,
            "event_id": (cause or {}).get("event_id"),
        }
        self.errors_sent.append(error)
        await self.send({"type": "error", "error": error})

    def _add_item(self, item: ServerItem) -> None:
        self.conversation.append(item)
        self._items[item.id] = item

    def _vad(self) -> dict[str, Any]:
        detection: dict[str, Any] = ((self.config.get("audio") or {}).get("input") or {}).get(
            "turn_detection"
        ) or {}
        return detection


def _merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    """`session.update` semantics: only the fields present change; nested objects merge."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
