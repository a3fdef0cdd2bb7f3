"""A fake Twilio Media Streams client: it connects to the media websocket and behaves like Twilio.

It sends `connected`, `start` (stream/call SIDs, custom parameters such as the per-call token, mu-law
8 kHz media format), 20 ms `media` frames with sequence numbers, chunk numbers and timestamps, and
`stop`. It also plays back what it receives the way Twilio does: audio queues up, a `mark` is echoed
once the audio before it has played, and `clear` discards queued audio and echoes every pending mark.

Playback pace is chosen per test: "instant" (marks come straight back), "realtime" (8 bytes per
millisecond of wall clock), or "manual" (`await client.play(ms)` advances the playhead).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ..domain.playback import mulaw_base64_duration_ms
from .audio import FRAME_MS, mulaw_frame

PlaybackPace = Literal["instant", "realtime", "manual"]


def twilio_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class FakeTwilioMediaClient:
    def __init__(
        self,
        url: str,
        *,
        custom_parameters: dict[str, str] | None = None,
        playback: PlaybackPace = "instant",
        on_message: Callable[[dict[str, Any], float], None] | None = None,
        record: bool = True,
    ) -> None:
        self.url = url
        self.custom_parameters = custom_parameters or {}
        self.playback = playback
        self.stream_sid = twilio_sid("MZ")
        self.call_sid = twilio_sid("CA")
        self.account_sid = twilio_sid("AC")
        self.received: list[dict[str, Any]] = []
        self.media_received: list[str] = []
        self.marks_echoed: list[str] = []
        self.clears = 0
        self.closed = asyncio.Event()
        self._on_message = on_message
        self._record = record  # a bench turns this off: counting is enough, keeping every message is not
        self._websocket: ClientConnection | None = None
        self._sequence = itertools.count(1)
        self._chunk = itertools.count(1)
        self._started_at = 0.0
        # Twilio's outbound buffer: audio (ms still to play) and marks, in order.
        self._buffer: deque[tuple[Literal["audio", "mark"], float | str]] = deque()
        self._changed = asyncio.Event()  # replaced on every message; waiters re-check their condition
        self._buffer_changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -------------------------------------------------------------- driving the stream

    async def connect(self) -> None:
        """Open the websocket and send `connected` and `start`, as Twilio does when the call connects."""
        # Twilio does not negotiate permessage-deflate; neither does its stand-in.
        self._websocket = await connect(self.url, max_size=None, compression=None)
        self._started_at = time.monotonic()
        self._tasks.append(asyncio.create_task(self._receive()))
        if self.playback == "realtime":
            self._tasks.append(asyncio.create_task(self._play_in_real_time()))
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self._send(
            {
                "event": "start",
                "sequenceNumber": str(next(self._sequence)),
                "streamSid": self.stream_sid,
                "start": {
                    "streamSid": self.stream_sid,
                    "accountSid": self.account_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": self.custom_parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )

    async def send_frame(self, audio: bytes | None = None) -> str:
        """Send one 20 ms inbound frame (silence unless given); returns its base64 payload."""
        payload = base64.b64encode(audio if audio is not None else mulaw_frame()).decode("ascii")
        chunk = next(self._chunk)
        # Formatted rather than json.dumps'd: a bench sends thousands of these a second.
        await self._send_text(
            f'{{"event":"media","sequenceNumber":"{next(self._sequence)}","streamSid":"{self.stream_sid}",'
            f'"media":{{"track":"inbound","chunk":"{chunk}","timestamp":"{(chunk - 1) * FRAME_MS}",'
            f'"payload":"{payload}"}}}}'
        )
        return payload

    async def stream(self, frames: Iterable[bytes], *, paced: bool = True) -> list[str]:
        """Send frames one every 20 ms like a live call (or back to back); returns their payloads."""
        payloads = []
        next_at = time.monotonic()
        for frame in frames:
            payloads.append(await self.send_frame(frame))
            if paced:
                next_at += FRAME_MS / 1000
                await asyncio.sleep(max(next_at - time.monotonic(), 0))
        return payloads

    async def send_dtmf(self, digit: str) -> None:
        """The caller pressed a key (Twilio reports DTMF on the inbound track)."""
        await self._send(
            {
                "event": "dtmf",
                "sequenceNumber": str(next(self._sequence)),
                "streamSid": self.stream_sid,
                "dtmf": {"track": "inbound_track", "digit": digit},
            }
        )

    async def stop(self, timeout: float = 5.0) -> None:
        """The call ends: send `stop` and wait for the bridge to close the socket."""
        await self._send(
            {
                "event": "stop",
                "sequenceNumber": str(next(self._sequence)),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )
        async with asyncio.timeout(timeout):
            await self.closed.wait()
        await self.close()

    async def close(self) -> None:
        """Drop the socket without `stop` (what a network failure looks like) and stop background work."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._websocket is not None:
            await self._websocket.close()
        self.closed.set()

    async def play(self, ms: float) -> None:
        """Manual pace: Twilio plays `ms` of queued audio, echoing the marks it passes."""
        await self._advance(ms)

    async def wait_for(
        self,
        event: str,
        *,
        predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
        count: int = 1,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The `count`-th message of this kind from the bridge (matching `predicate`), waiting if needed."""

        def matching() -> list[dict[str, Any]]:
            return [m for m in self.received if m.get("event") == event and predicate(m)]

        async with asyncio.timeout(timeout):
            while len(matching()) < count:
                await self._changed.wait()
        return matching()[count - 1]

    def messages(self, event: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("event") == event]

    @property
    def queued_audio_ms(self) -> float:
        return sum(float(value) for kind, value in self._buffer if kind == "audio")

    # -------------------------------------------------------------- Twilio behaviour

    async def _receive(self) -> None:
        assert self._websocket is not None
        try:
            async for raw in self._websocket:
                arrived = time.monotonic()
                message = json.loads(raw)
                if self._on_message is not None:
                    self._on_message(message, arrived)
                await self._on_bridge_message(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def _on_bridge_message(self, message: dict[str, Any]) -> None:
        kind = message.get("event")
        if kind == "media":
            payload = message["media"]["payload"]
            self._buffer.append(("audio", mulaw_base64_duration_ms(payload)))
            if self._record:
                self.media_received.append(payload)
        elif kind == "mark":
            self._buffer.append(("mark", message["mark"]["name"]))
        elif kind == "clear":
            self.clears += 1
            pending_marks = [str(value) for kind_, value in self._buffer if kind_ == "mark"]
            self._buffer.clear()
            for name in pending_marks:
                await self._echo_mark(name)
        self._buffer_changed.set()
        if self._record:
            self.received.append(message)
            self._changed.set()
            self._changed = asyncio.Event()
        if self.playback == "instant":
            await self._advance(float("inf"))

    async def _advance(self, ms: float) -> None:
        budget = ms
        while self._buffer:
            kind, value = self._buffer[0]
            if kind == "mark":
                self._buffer.popleft()
                await self._echo_mark(str(value))
                continue
            remaining = float(value)
            if budget <= 0:
                break
            if remaining > budget:
                self._buffer[0] = ("audio", remaining - budget)
                break
            budget -= remaining
            self._buffer.popleft()

    async def _play_in_real_time(self) -> None:
        """Plays queued audio at 8 bytes per millisecond, waking only when a mark falls due or the queue
        changes (a tick per call would cost a hundred calls more CPU than the bridge under test)."""
        last = time.monotonic()
        while True:
            if not self._buffer:
                await self._buffer_changed.wait()
                self._buffer_changed.clear()
                last = time.monotonic()  # idle time plays nothing
                continue
            until_mark = self._ms_until_next_mark()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if until_mark is None else until_mark / 1000):
                    await self._buffer_changed.wait()
            self._buffer_changed.clear()
            now = time.monotonic()
            await self._advance((now - last) * 1000)
            last = now

    def _ms_until_next_mark(self) -> float | None:
        queued = 0.0
        for kind, value in self._buffer:
            if kind == "mark":
                return queued
            queued += float(value)
        return None

    async def _echo_mark(self, name: str) -> None:
        self.marks_echoed.append(name)
        await self._send_text(
            f'{{"event":"mark","sequenceNumber":"{next(self._sequence)}","streamSid":"{self.stream_sid}",'
            f'"mark":{{"name":{json.dumps(name)}}}}}'
        )

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_text(json.dumps(message))

    async def _send_text(self, text: str) -> None:
        assert self._websocket is not None, "connect() first"
        try:
            await self._websocket.send(text)
        except ConnectionClosed:
            self.closed.set()
