"""A Media Streams websocket endpoint on 127.0.0.1 for tests and benches.

It stands in for the service's media route and does what that route does, on the same stack
(Starlette websocket under uvicorn): accept, read up to `start`, hand the socket and `start` to a
callback that finds the call's bridge by the token and runs it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..adapters.twilio_media import TwilioProtocolError, TwilioStreamStart, read_stream_start

POLICY_VIOLATION = 1008
MEDIA_PATH = "/media"

StreamHandler = Callable[[WebSocket, TwilioStreamStart], Awaitable[None]]


class MediaStreamHarness:
    def __init__(self, on_stream: StreamHandler) -> None:
        self._on_stream = on_stream
        app = Starlette(routes=[WebSocketRoute(MEDIA_PATH, self._media_endpoint)])
        self._server = uvicorn.Server(
            uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=2)
        )
        self._socket: socket.socket | None = None
        self._serving: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        assert self._socket is not None, "harness not started"
        return f"ws://127.0.0.1:{self._socket.getsockname()[1]}{MEDIA_PATH}"

    async def start(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._serving = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._serving.done():
                await self._serving  # surfaces the startup error
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._serving is not None:
            self._server.should_exit = True
            await self._serving
            self._serving = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def __aenter__(self) -> MediaStreamHarness:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _media_endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            start = await read_stream_start(websocket)
        except WebSocketDisconnect:
            return
        except TwilioProtocolError:
            await websocket.close(POLICY_VIOLATION)
            return
        await self._on_stream(websocket, start)
