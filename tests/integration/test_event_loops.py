"""A client belongs to the event loop it connected on. Used from another one (a second
``asyncio.run()``, a pytest fixture on another loop) it refuses clearly instead of hanging
or failing inside aiohttp, and ``close()`` never hangs on tasks of a loop that is gone."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Literal

import pytest

from deribit_client import ClientClosed, ClientError, DeribitClient, ReconnectPolicy
from deribit_client.exberry import ExberryClient
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from deribit_client.testing.exberry import ExberrySimulator
from tests.helpers import until

Client = DeribitClient | ExberryClient
Simulator = DeribitSimulator | ExberrySimulator
# Generous: only a hang would reach it (close() used to wait for ever).
LIMIT = 10.0


@pytest.fixture
def served() -> Iterator[Callable[[Simulator], str]]:
    """Serves simulators from a loop of their own, on a thread, so that clients can be
    used from one ``asyncio.run()`` after another; gives each one's URL."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started: list[Simulator] = []

    def serve(sim: Simulator) -> str:
        asyncio.run_coroutine_threadsafe(sim.__aenter__(), loop).result(LIMIT)
        started.append(sim)
        return sim.url

    yield serve
    for sim in started:
        asyncio.run_coroutine_threadsafe(sim.__aexit__(None, None, None), loop).result(LIMIT)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(LIMIT)
    loop.close()


TRANSPORTS: dict[str, Literal["auto", "websocket", "http"]] = {
    "deribit-websocket": "websocket",
    "deribit-auto": "auto",
    "deribit-http": "http",
}
VENUES = [*TRANSPORTS, "exberry"]


def client_of(venue: str, serve: Callable[[Simulator], str]) -> Client:
    if venue == "exberry":
        return ExberryClient(serve(ExberrySimulator(tokens={"a"})), token="a")
    return DeribitClient(
        url=serve(DeribitSimulator()),
        client_id=SIM_CLIENT_ID,
        client_secret=SIM_CLIENT_SECRET,
        transport=TRANSPORTS[venue],
    )


async def a_call(client: Client) -> object:
    if isinstance(client, ExberryClient):
        return await client.order_book_state()
    return await client.public.get_time()


async def a_stream(client: Client) -> object:
    if isinstance(client, ExberryClient):
        async with client.order_book_depth() as stream:
            return await anext(stream)
    async with client.subscribe("ticker.BTC-PERPETUAL.100ms") as sub:
        return await anext(sub)


def refused(attempt: Awaitable[Any]) -> str:
    """What ``attempt`` raised; it must be a ClientError (and no hang)."""

    async def run() -> str:
        with pytest.raises(ClientError) as info:
            await asyncio.wait_for(attempt, LIMIT)
        return str(info.value)

    return asyncio.run(run())


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_client_left_open_by_an_ended_asyncio_run_refuses_clearly_and_closes_at_once(
    venue: str, served: Callable[[Simulator], str]
) -> None:
    left_open(venue, client_of(venue, served))
    # What the ended loop left open (aiohttp's pool over HTTP) is only collected: here, so
    # aiohttp's ResourceWarnings about it are not blamed on a later test.
    gc.collect()


def left_open(venue: str, client: Client) -> None:
    """Connect ``client`` in one ``asyncio.run()`` that ends with it open, then use and
    close it from later ones."""

    async def first() -> None:
        await client.connect()
        await a_call(client)  # and no close(): asyncio.run() ends with the client open

    asyncio.run(first())
    # The ended loop cancelled the client's tasks: that is not a lost connection to come
    # back from (a reconnect task there would never run again). HTTP has no task to lose.
    assert client.state == ("ready" if venue == "deribit-http" else "failed")

    for attempt in (a_call(client), client.wait_ready()):
        assert "another event loop (the one it connected on, now closed)" in refused(attempt)
    if venue != "deribit-http":
        assert "another event loop" in refused(a_stream(client))

    async def close() -> None:
        await asyncio.wait_for(client.close(), LIMIT)

    asyncio.run(close())  # nothing of the ended loop can run again: close() drops it
    assert client.state == "closed"

    async def after() -> None:
        with pytest.raises(ClientClosed):
            await a_call(client)

    asyncio.run(after())


@pytest.mark.parametrize("venue", VENUES)
def test_a_client_of_a_loop_still_open_is_closed_on_that_loop_only(
    venue: str, served: Callable[[Simulator], str]
) -> None:
    client = client_of(venue, served)
    home = asyncio.new_event_loop()
    try:
        home.run_until_complete(client.connect())
        assert "another event loop" in refused(client.wait_ready())
        # Its tasks would never be awaited from here: close() says where to call it.
        assert "another event loop (the one it connected on);" in refused(client.close())
        assert client.state == "ready"
        home.run_until_complete(a_call(client))  # still whole on its own loop
        home.run_until_complete(client.close())
        assert client.state == "closed"
    finally:
        home.close()


def test_a_public_read_while_reconnecting_takes_no_http_detour_from_another_loop() -> None:
    # With transport="auto", read-only public calls go over HTTP while the WebSocket
    # reconnects; from another loop that detour would use the client's loop's session.
    home = asyncio.new_event_loop()
    sim = DeribitSimulator()
    home.run_until_complete(sim.__aenter__())
    client = DeribitClient(
        url=sim.url, reconnect=ReconnectPolicy(initial_delay=60, max_delay=60, jitter=0)
    )

    async def start() -> None:
        await client.connect()
        sim.drop_connections()
        await until(lambda: client.state == "reconnecting")

    try:
        home.run_until_complete(start())
        assert "another event loop (the one it connected on);" in refused(a_call(client))
        assert client.state == "reconnecting"
    finally:
        home.run_until_complete(client.close())
        home.run_until_complete(sim.__aexit__(None, None, None))
        home.close()
