"""Real `CallBridge`s between a fake Twilio and a fake Realtime server, all on 127.0.0.1.

    async with BridgeRig(replies=[AudioReply("Hi, this is Ava from Parley.")]) as rig:
        call = await rig.place_call()
        await call.twilio.wait_for("media")
        summary = await call.hang_up()

The bridge talks to the fake Realtime server through the real `openai` SDK, and to the fake Twilio
client through a Starlette websocket under uvicorn, exactly the stack the service runs.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import uuid4

from starlette.websockets import WebSocket

from ..adapters.realtime import RealtimeConnector, RealtimeSessionConfig
from ..adapters.twilio_media import TwilioStreamStart
from ..call_bridge import BridgeSettings, CallBridge
from ..domain.call import CallContext, CallSummary
from ..domain.ports import ToolBackend
from .fake_realtime import FakeRealtimeServer, FakeRealtimeSession, ScriptedReply
from .fake_twilio import FakeTwilioMediaClient, PlaybackPace
from .media_stream_harness import POLICY_VIOLATION, MediaStreamHarness
from .recording_ports import InMemoryCallJournal, ScriptedToolBackend

TEST_INSTRUCTIONS = "You are Ava, a friendly insurance assistant. Be brief."


@dataclass
class RigCall:
    call: CallContext
    bridge: CallBridge
    twilio: FakeTwilioMediaClient
    realtime: FakeRealtimeSession
    journal: InMemoryCallJournal
    _summary: asyncio.Future[CallSummary]

    async def summary(self, timeout: float = 5.0) -> CallSummary:
        """The summary `run` returned once the call ended."""
        async with asyncio.timeout(timeout):
            return await asyncio.shield(self._summary)

    async def hang_up(self, timeout: float = 5.0) -> CallSummary:
        """Twilio ends the stream (`stop`); returns the bridge's summary."""
        await self.twilio.stop(timeout)
        return await self.summary(timeout)


class BridgeRig:
    def __init__(
        self,
        *,
        replies: Iterable[ScriptedReply] = (),
        tools: ToolBackend | None = None,
        settings: BridgeSettings | None = None,
        session_config: RealtimeSessionConfig | None = None,
        playback: PlaybackPace = "instant",
        realtime_server: FakeRealtimeServer | None = None,
    ) -> None:
        self.realtime_server = realtime_server or FakeRealtimeServer(replies=replies)
        self.tools = tools or ScriptedToolBackend()
        self.settings = settings or BridgeSettings(realtime_retry_backoff_s=0.01)
        self.session_config = session_config or RealtimeSessionConfig(instructions=TEST_INSTRUCTIONS)
        self.playback = playback
        self.harness = MediaStreamHarness(self._serve_stream)
        self.connector: RealtimeConnector | None = None
        self._waiting: dict[str, tuple[CallBridge, asyncio.Future[CallSummary]]] = {}
        self._placing = asyncio.Lock()
        self._bridges: list[CallBridge] = []
        self._twilio_clients: list[FakeTwilioMediaClient] = []

    async def __aenter__(self) -> BridgeRig:
        await self.realtime_server.start()
        self.connector = RealtimeConnector(self.realtime_server.openai_client(), self.session_config)
        await self.harness.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for bridge in self._bridges:
            await bridge.close()
        for twilio in self._twilio_clients:
            await twilio.close()
        await self.harness.stop()
        await self.realtime_server.stop()

    def new_bridge(self, call: CallContext | None = None) -> tuple[CallBridge, InMemoryCallJournal]:
        assert self.connector is not None, "use `async with BridgeRig()`"
        journal = InMemoryCallJournal()
        bridge = CallBridge(
            call or CallContext(call_id=uuid4(), lead_id=uuid4()),
            self.connector,
            self.tools,
            journal,
            self.settings,
        )
        self._bridges.append(bridge)
        return bridge, journal

    async def place_call(self, *, call: CallContext | None = None, prewarm: bool = True) -> RigCall:
        """A bridge for a new call, pre-warmed like while the phone rings, then Twilio's stream connects."""
        bridge, journal = self.new_bridge(call)
        # Sessions are matched to calls by order of creation, so calls are placed one at a time.
        async with self._placing:
            sessions_before = len(self.realtime_server.sessions)
            if prewarm:
                await bridge.prewarm()
            twilio, summary = await self.connect_twilio(bridge)
            realtime = await self.realtime_server.session(sessions_before)
        return RigCall(bridge.call, bridge, twilio, realtime, journal, summary)

    async def connect_twilio(
        self, bridge: CallBridge
    ) -> tuple[FakeTwilioMediaClient, asyncio.Future[CallSummary]]:
        """Twilio opens the media stream for `bridge`'s call; the future resolves to what `run` returns."""
        token = secrets.token_urlsafe(16)
        summary: asyncio.Future[CallSummary] = asyncio.get_running_loop().create_future()
        self._waiting[token] = (bridge, summary)
        twilio = FakeTwilioMediaClient(
            self.harness.url, custom_parameters={"token": token}, playback=self.playback
        )
        self._twilio_clients.append(twilio)
        await twilio.connect()
        return twilio, summary

    async def _serve_stream(self, websocket: WebSocket, start: TwilioStreamStart) -> None:
        waiting = self._waiting.pop(start.custom_parameters.get("token", ""), None)
        if waiting is None:
            await websocket.close(POLICY_VIOLATION)
            return
        bridge, summary = waiting
        try:
            summary.set_result(await bridge.run(websocket, start))
        except Exception as exc:
            summary.set_exception(exc)
            raise
