"""The WebSocket transport against servers that misbehave at the socket level: a frame too
large to take, a handshake that never finishes, a peer that never answers a close. Each
ends in a clear error or a released socket, never a hang or a leaked session."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from deribit_client import ConnectionLost, DeribitClient
from deribit_client.transports import WebSocketTransport
from tests.helpers import loopback

Handler = Callable[[web.WebSocketResponse], Awaitable[None]]


class Server:
    """A loopback WebSocket server whose behaviour on each connection a test chooses."""

    def __init__(self, behave: Handler) -> None:
        self.behave = behave
        self.url = ""

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        await self.behave(ws)
        return ws


@asynccontextmanager
async def serve(behave: Handler) -> AsyncIterator[Server]:
    """Run a :class:`Server` with ``behave`` on loopback for the ``async with`` body."""
    server = Server(behave)
    app = web.Application()
    app.router.add_get("/ws/api/v2", server.handle)
    async with loopback(app) as port:
        server.url = f"ws://127.0.0.1:{port}/ws/api/v2"
        yield server


async def answer_too_large(ws: web.WebSocketResponse) -> None:
    """Answers every request with 17 MiB: over the 16 MiB the transport takes."""
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            await ws.send_str('{"jsonrpc":"2.0","result":"' + "x" * (17 << 20) + '"}')


@pytest.fixture
async def oversized() -> AsyncIterator[Server]:
    async with serve(answer_too_large) as server:
        yield server


async def test_a_frame_over_the_size_limit_fails_the_call_with_the_reason(
    oversized: Server,
) -> None:
    async with DeribitClient(url=oversized.url, heartbeat_interval=None) as client:
        with pytest.raises(ConnectionLost, match=r"WebSocket error.*size"):
            await client.public.test()


async def never_answer_a_close(ws: web.WebSocketResponse) -> None:
    """Sends a frame, then reads nothing more: a close frame from the client goes unanswered."""
    await ws.send_str("{}")
    await asyncio.Event().wait()


@pytest.fixture
async def deaf() -> AsyncIterator[Server]:
    async with serve(never_answer_a_close) as server:
        yield server


async def test_abort_drops_a_link_whose_peer_never_answers_a_close(deaf: Server) -> None:
    transport = await WebSocketTransport.connect(deaf.url)
    assert transport.payload(await transport.receive()) == b"{}"
    async with asyncio.timeout(1):  # aborting does not wait out the 2 s close grace
        await transport.abort()
    assert transport.closed


@pytest.fixture
async def silent_tcp() -> AsyncIterator[tuple[str, asyncio.Queue[asyncio.Event]]]:
    """A TCP server that accepts and never answers the WebSocket upgrade; for each accepted
    connection it queues an event set once the client has closed it."""
    accepted: asyncio.Queue[asyncio.Event] = asyncio.Queue()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        gone = asyncio.Event()
        await accepted.put(gone)
        await reader.read()  # until the client closes the socket
        gone.set()
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/ws/api/v2", accepted
    finally:
        server.close()


async def test_a_connect_cancelled_mid_handshake_releases_its_socket_and_session(
    silent_tcp: tuple[str, asyncio.Queue[asyncio.Event]],
) -> None:
    url, accepted = silent_tcp
    leaks: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: leaks.append(context))
    try:
        connecting = asyncio.create_task(WebSocketTransport.connect(url))
        gone = await accepted.get()
        connecting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await connecting
        async with asyncio.timeout(1):
            await gone.wait()
        del connecting
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert [c["message"] for c in leaks] == []
