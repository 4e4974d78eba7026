"""A client that stops reading delays no other client of a simulator, and is dropped once its
backlog passes the limit, as the venues drop a slow reader."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from deribit_client import ConnectionLost, DeribitClient, Gap, Notification
from deribit_client.exberry import ExberryClient
from deribit_client.exberry.models import ExecutionReport
from deribit_client.testing import DeribitSimulator
from deribit_client.testing.exberry import SIM_API_KEY, SIM_API_SECRET, ExberrySimulator
from tests.helpers import INSTANT, tick, until

TICKER = "ticker.BTC-PERPETUAL.100ms"
BLOB = "x" * 60_000  # large frames fill the socket buffers in a few hundred sends
LIMIT = 256 * 1024


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def fill(send: Callable[[], Awaitable[object]], backlog: Callable[[], int]) -> None:
    """Send to a reader that stopped until the kernel holds no more for it (1 MiB waits on
    top). Before each connection had its own buffer, the send that found the stuck socket's
    buffers full waited for it, and every other client with it: here, for ever."""
    async with asyncio.timeout(60):
        while backlog() < 1 << 20:
            await send()
            await asyncio.sleep(0)  # a loop turn: the transport hands the kernel what it takes


async def read_to_close(ws: aiohttp.ClientWebSocketResponse) -> tuple[list[str], aiohttp.WSMessage]:
    """What a stuck reader finds when it reads again: the frames, then how it ended."""
    frames: list[str] = []
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return frames, msg
        frames.append(msg.data)


async def test_deribit_simulator_drops_a_reader_that_stopped_without_delaying_others(
    http: aiohttp.ClientSession,
) -> None:
    async with DeribitSimulator() as sim, DeribitClient(url=sim.url) as client:
        sim.max_backlog = None
        stuck = await http.ws_connect(sim.ws_url)
        subscribe = {"channels": ["announcements"]}
        await stuck.send_json(
            {"jsonrpc": "2.0", "id": 1, "method": "public/subscribe", "params": subscribe}
        )
        assert json.loads((await stuck.receive()).data)["result"] == ["announcements"]
        (session,) = (s for s in sim.sessions if "announcements" in s.channels)
        outbox = session.outbox
        assert outbox is not None
        async with client.subscribe(TICKER) as sub:
            # ``stuck`` reads nothing from here on.
            await fill(lambda: sim.publish("announcements", {"body": BLOB}), lambda: outbox.backlog)
            await sim.publish(TICKER, tick(7))
            item = await asyncio.wait_for(anext(sub), 5)
            assert isinstance(item, Notification)
            assert item.data.timestamp == 7  # the other client is served at once
            assert sim.slow_disconnects == 0
            # the ticker's window let the kernel take more of the stuck backlog: refill it
            await fill(lambda: sim.publish("announcements", {"body": BLOB}), lambda: outbox.backlog)
            sim.max_backlog = LIMIT  # applies to open connections at their next frame
            await sim.publish("announcements", {"body": BLOB})
            assert sim.slow_disconnects == 1
        frames, end = await read_to_close(stuck)
        assert frames  # what it was sent before the limit, in order, then the reason
        assert all(json.loads(f)["params"]["data"] == {"body": BLOB} for f in frames)
        assert (end.type, end.data, end.extra) == (
            aiohttp.WSMsgType.CLOSE,
            1008,
            "connection_too_slow",
        )
        await stuck.close()


async def test_a_close_reason_reaches_last_error_and_the_client_reconnects() -> None:
    async with DeribitSimulator() as sim, DeribitClient(url=sim.url, reconnect=INSTANT) as client:
        await client.public.get_time()
        sim.drop_connections(reason="connection_too_slow")
        await until(lambda: client.reconnect_count == 1 and client.state == "ready")
        error = client.last_error
        assert isinstance(error, ConnectionLost)
        assert "code 1008, reason 'connection_too_slow'" in str(error)
        assert await client.public.get_time() > 0


async def test_exberry_simulator_drops_a_reader_that_stopped_without_delaying_others(
    http: aiohttp.ClientSession,
) -> None:
    async with (
        ExberrySimulator() as sim,
        ExberryClient(sim.url, api_key=SIM_API_KEY, secret=SIM_API_SECRET) as trader,
    ):
        sim.max_backlog = None
        stuck = await http.ws_connect(sim.url)
        md = {"q": "v1/exchange.marketdata/lightTickers", "sid": 1, "token": "sim-md-token"}
        await stuck.send_json({**md, "d": {"symbols": ["BTC"]}})
        assert json.loads((await stuck.receive()).data)["sid"] == 1  # the snapshot
        (peer,) = (p for p in sim.peers if p.mp is None)  # the one without a session
        # ``stuck`` reads nothing from here on (raw frames reach every socket).
        blob = json.dumps({"blob": BLOB})
        await fill(lambda: sim.send_raw(blob), lambda: peer.outbox.backlog)
        placed = await asyncio.wait_for(
            trader.place_order(instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1),
            5,
        )
        assert placed.orderId  # the trader is served at once
        sim.max_backlog = LIMIT
        await sim.send_raw(blob)
        assert sim.slow_disconnects == 1
        frames, end = await read_to_close(stuck)
        too_slow = "Your connection is slow, please reduce data consumed"
        failure = json.loads(frames[-1])
        assert (failure["sig"], failure["sid"], failure["d"]) == (
            2,
            1,
            {"errorCode": 100, "errorMessage": too_slow},
        )
        assert (end.type, end.data, end.extra) == (aiohttp.WSMsgType.CLOSE, 1008, too_slow)
        await stuck.close()


async def test_exberry_close_reason_reaches_last_error_and_streams_resume() -> None:
    async with (
        ExberrySimulator() as sim,
        ExberryClient(
            sim.url, api_key=SIM_API_KEY, secret=SIM_API_SECRET, reconnect=INSTANT
        ) as trader,
        trader.execution_reports() as reports,
    ):
        sim.drop_connections(reason="maintenance")
        await until(lambda: trader.reconnect_count == 1 and trader.state == "ready")
        assert "code 1008, reason 'maintenance'" in str(trader.last_error)
        await trader.place_order(instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1)
        gap = await asyncio.wait_for(anext(reports), 5)
        assert isinstance(gap, Gap)
        assert gap.reason == "reconnected"
        added = await asyncio.wait_for(anext(reports), 5)
        assert isinstance(added, ExecutionReport)
        assert (added.messageType, added.mpOrderId) == ("Add", 1)
