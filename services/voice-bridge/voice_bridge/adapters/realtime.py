"""The OpenAI Realtime side of a call, GA protocol only, through the official `openai` SDK.

Audio is G.711 mu-law both ways (`audio/pcmu`), exactly what Twilio carries, so frames pass through
as the same base64 strings with no transcoding. Events travel as JSON text: audio appends are built
as strings and sent with the SDK's raw send, because running the SDK's per-event param transform 50
times a second per call is measurable CPU at a hundred calls; other client events are the SDK's own
TypedDicts, so their shape is type-checked against the SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Literal

from openai import AsyncOpenAI, OpenAIError
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime.audio_transcription_param import AudioTranscriptionParam
from openai.types.realtime.realtime_audio_config_input_param import RealtimeAudioConfigInputParam
from openai.types.realtime.realtime_audio_formats_param import AudioPCMU
from openai.types.realtime.realtime_client_event_param import RealtimeClientEventParam
from openai.types.realtime.realtime_tools_config_param import RealtimeToolsConfigParam
from openai.types.realtime.session_update_event_param import SessionUpdateEventParam
from pydantic import BaseModel, ConfigDict, Field
from websockets.exceptions import ConcurrencyError, ConnectionClosed, WebSocketException

from ..domain.tools import realtime_function_tools

log = logging.getLogger(__name__)

PCMU: AudioPCMU = {"type": "audio/pcmu"}


class ServerVad(BaseModel):
    """Server-side voice activity detection; it also interrupts the bot when the caller talks."""

    model_config = ConfigDict(frozen=True)

    threshold: float = Field(default=0.5, ge=0, le=1)
    prefix_padding_ms: int = Field(default=300, ge=0)
    silence_duration_ms: int = Field(default=500, ge=0)
    idle_timeout_ms: int | None = Field(default=None, gt=0)


class RealtimeSessionConfig(BaseModel):
    """Everything a Realtime session is configured with; the prompt comes from the persona."""

    model_config = ConfigDict(frozen=True)

    model: str = "gpt-realtime"
    instructions: str
    voice: str = "marin"
    transcription_model: str = "gpt-4o-mini-transcribe"
    transcription_language: str | None = None
    noise_reduction: Literal["near_field", "far_field"] | None = "near_field"
    turn_detection: ServerVad = ServerVad()


def session_update_event(config: RealtimeSessionConfig) -> SessionUpdateEventParam:
    vad = config.turn_detection
    transcription: AudioTranscriptionParam = {"model": config.transcription_model}
    if config.transcription_language:
        transcription["language"] = config.transcription_language
    audio_input: RealtimeAudioConfigInputParam = {
        "format": PCMU,
        "transcription": transcription,
        "turn_detection": {
            "type": "server_vad",
            "threshold": vad.threshold,
            "prefix_padding_ms": vad.prefix_padding_ms,
            "silence_duration_ms": vad.silence_duration_ms,
            "idle_timeout_ms": vad.idle_timeout_ms,
            "create_response": True,
            "interrupt_response": True,
        },
    }
    if config.noise_reduction:
        audio_input["noise_reduction"] = {"type": config.noise_reduction}
    tools: RealtimeToolsConfigParam = [*realtime_function_tools()]
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["audio"],
            "instructions": config.instructions,
            "audio": {"input": audio_input, "output": {"format": PCMU, "voice": config.voice}},
            "tools": tools,
            "tool_choice": "auto",
        },
    }


class RealtimeLinkClosed(Exception):
    """The Realtime websocket is gone (dropped, expired or closed)."""


class RealtimeUnavailable(Exception):
    """A Realtime session could not be opened and configured."""


class RealtimeLink:
    """One open, configured Realtime websocket."""

    def __init__(self, connection: AsyncRealtimeConnection) -> None:
        self._connection = connection
        # The effective configuration the server confirmed in `session.updated`.
        self.session: dict[str, Any] = {}

    async def send(self, event: RealtimeClientEventParam) -> None:
        await self._send_text(json.dumps(event))

    async def send_audio(self, payload: str) -> None:
        """Appends one base64 mu-law frame to the input buffer, payload passed through as received."""
        await self._send_text(f'{{"type":"input_audio_buffer.append","audio":{json.dumps(payload)}}}')

    async def receive(self) -> dict[str, Any]:
        """The next server event as a dict (parsed once; typed models are built only where needed)."""
        while True:
            try:
                raw = await self._connection.recv_bytes()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
                raise RealtimeLinkClosed(f"realtime socket closed ({code})") from exc
            try:
                event = json.loads(raw)
            except ValueError:
                event = None
            if isinstance(event, dict):
                return event
            log.warning("ignoring a realtime frame that is not a JSON object", extra={"bytes": len(raw)})

    async def close(self) -> None:
        # The server may still be streaming (audio of a response nobody will play). Unread messages make
        # websockets stop reading the socket (flow control), so the server's close frame would go unseen
        # and close() would stall for the full close timeout; discarding them lets the handshake finish.
        discard = asyncio.create_task(self._discard_incoming())
        try:
            await self._connection.close()
        except (WebSocketException, OSError) as exc:
            log.debug("realtime close failed", extra={"error": repr(exc)})
        finally:
            discard.cancel()
            await asyncio.gather(discard, return_exceptions=True)

    async def _discard_incoming(self) -> None:
        with contextlib.suppress(ConnectionClosed, ConcurrencyError):
            while True:
                await self._connection.recv_bytes()

    async def _send_text(self, text: str) -> None:
        try:
            await self._connection.send_raw(text)
        except ConnectionClosed as exc:
            raise RealtimeLinkClosed("realtime socket closed while sending") from exc


class RealtimeSessionRejected(Exception):
    """The server answered the session configuration with an error."""


class RealtimeConnector:
    """Opens Realtime sessions for calls, configured and ready for audio.

    One connector (and one `AsyncOpenAI` client) serves every call of the process; point the client at
    a fake with `base_url` / `websocket_base_url`.
    """

    def __init__(
        self, client: AsyncOpenAI, config: RealtimeSessionConfig, *, open_timeout_s: float = 10.0
    ) -> None:
        self._client = client
        self._config = config
        self._session_update = session_update_event(config)  # the same for every call of this connector
        self._open_timeout_s = open_timeout_s

    @property
    def config(self) -> RealtimeSessionConfig:
        return self._config

    async def open(self) -> RealtimeLink:
        """Connect, send `session.update` and wait for `session.updated`, so audio can flow right away."""
        try:
            async with asyncio.timeout(self._open_timeout_s):
                connection = await self._client.realtime.connect(model=self._config.model).enter()
                link = RealtimeLink(connection)
                try:
                    await link.send(self._session_update)
                    await _wait_until_configured(link)
                except BaseException:
                    await link.close()
                    raise
                return link
        except (TimeoutError, OSError, WebSocketException, OpenAIError, RealtimeLinkClosed) as exc:
            raise RealtimeUnavailable(f"could not open a realtime session: {exc!r}") from exc
        except RealtimeSessionRejected as exc:
            raise RealtimeUnavailable(str(exc)) from exc


async def _wait_until_configured(link: RealtimeLink) -> None:
    while True:
        event = await link.receive()
        kind = event.get("type")
        if kind == "session.updated":
            link.session = event.get("session") or {}
            return
        if kind == "error":
            raise RealtimeSessionRejected(f"session.update rejected: {event.get('error')}")
