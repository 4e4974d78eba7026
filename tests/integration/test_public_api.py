"""Typed public methods and the generic call, against the simulator, over both transports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import aiohttp
import pytest

from deribit_client import (
    ClientClosed,
    ConnectionLost,
    DeribitClient,
    HTTPStatusError,
    InvalidRequestError,
    NotFoundError,
    OrderOutcomeUnknown,
    RateLimitError,
    RequestTimeout,
    ResponseDecodeError,
    ServiceUnavailableError,
    TransportError,
    UnsupportedOperation,
)
from deribit_client.models import Instrument, OrderBook, Ticker
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from deribit_client.transports import HttpTransport
from tests.helpers import KEY, until


@pytest.fixture(params=["websocket", "http"])
async def client(request: Any, sim: DeribitSimulator) -> AsyncIterator[DeribitClient]:
    async with DeribitClient(url=sim.url, transport=request.param, timeout=5) as c:
        yield c


async def test_typed_public_methods(client: DeribitClient, sim: DeribitSimulator) -> None:
    assert abs(await client.public.get_time() - sim.now_ms()) < 60_000
    assert (await client.public.test()).version == "1.2.26"
    status = await client.public.status()
    assert status.is_locked is False
    instruments = await client.public.get_instruments("BTC", kind="future")
    assert instruments
    assert all(i.kind == "future" for i in instruments)
    assert {"BTC-PERPETUAL"} <= {i.instrument_name for i in instruments}
    perp = await client.public.get_instrument("BTC-PERPETUAL")
    assert (perp.tick_size, perp.contract_size, perp.settlement_period) == (0.5, 10.0, "perpetual")
    ticker = await client.public.ticker("BTC-PERPETUAL")
    assert isinstance(ticker, Ticker)
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    assert ticker.best_bid_price < ticker.best_ask_price
    book = await client.public.get_order_book("BTC-PERPETUAL", depth=5)
    assert isinstance(book, OrderBook)
    assert len(book.bids) == 5
    assert book.bids[0][0] == ticker.best_bid_price
    assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)
    assert [c.currency for c in await client.public.get_currencies()][:2] == ["BTC", "ETH"]
    assert (await client.public.get_index_price("btc_usd")).index_price > 0
    option = next(i for i in await client.public.get_instruments("ETH", kind="option"))
    greeks = (await client.public.ticker(option.instrument_name)).greeks
    assert greeks is not None
    assert greeks.delta is not None


async def test_generic_call_and_metadata(client: DeribitClient) -> None:
    raw = await client.call("public/get_instrument", {"instrument_name": "ETH-PERPETUAL"})
    assert raw["instrument_name"] == "ETH-PERPETUAL"
    typed = await client.call(
        "public/get_instruments", {"currency": "ETH"}, result_type=list[Instrument]
    )
    assert all(isinstance(i, Instrument) for i in typed)
    meta = await client.call_with_meta("public/get_time")
    assert isinstance(meta.result, int)
    assert meta.us_in is not None
    assert meta.us_out is not None
    assert meta.us_diff == meta.us_out - meta.us_in
    assert meta.testnet is True


async def test_an_unhashable_result_type_gets_its_reply(client: DeribitClient) -> None:
    # Annotated metadata may be any object, a dict or a list included: such a type cannot
    # key a cache, and its reply once went unmatched until the call timed out.
    tagged = Annotated[list[Instrument], {"source": "deribit"}]
    async with asyncio.timeout(5):
        for _ in range(2):  # a second call finds nothing cached either
            got = await client.call(
                "public/get_instruments", {"currency": "ETH"}, result_type=tagged
            )
            assert got
            assert all(isinstance(i, Instrument) for i in got)


class _Picky:
    """A result type that decodes itself, and fails as user code may: with any exception."""

    @classmethod
    def _from_json(cls, obj: Any) -> _Picky:
        raise KeyError("missing")


async def test_a_result_type_failing_in_its_own_decoder_is_a_decode_error(
    client: DeribitClient,
) -> None:
    # The reply arrived: it must not be reported as lost (a timeout; for an order, an
    # unknown outcome).
    async with asyncio.timeout(5):
        with pytest.raises(ResponseDecodeError, match="KeyError"):
            await client.call("public/get_time", result_type=_Picky)
        assert await client.public.get_time() > 0


async def test_server_errors_are_typed(client: DeribitClient, sim: DeribitSimulator) -> None:
    with pytest.raises(InvalidRequestError) as bad:
        await client.public.get_instrument("NOPE-PERPETUAL")
    assert bad.value.code == 10020
    with pytest.raises(InvalidRequestError) as missing:
        await client.call("public/ticker", {})
    assert missing.value.data == {"reason": "required", "param": "instrument_name"}
    with pytest.raises(ServiceUnavailableError):
        await client.public.test(expected_result="exception")
    sim.inject_error("public/get_time", 10028, "too_many_requests")
    with pytest.raises(RateLimitError) as limited:
        await client.public.get_time()
    assert limited.value.retryable
    sim.inject_error("public/status", 13020, "not_found", {"wait": 1})
    with pytest.raises(NotFoundError):
        await client.public.status()
    assert await client.public.get_time() > 0  # one-shot faults are gone


async def test_timeout_leaves_nothing_pending(client: DeribitClient, sim: DeribitSimulator) -> None:
    sim.delay("public/get_time", 0.3)
    with pytest.raises(RequestTimeout):
        await client.public.get_time(timeout=0.05)
    assert client.pending_count == 0
    assert await client.public.status()


async def test_thousand_concurrent_calls_shuffled_by_the_server(sim: DeribitSimulator) -> None:
    # A burst far beyond Deribit's credits (the limiter would rightly spread it over ~45 s,
    # and the simulator refuse it): this test is about matching 1,000 shuffled replies.
    sim.rate_limits.enabled = False
    async with DeribitClient(url=sim.url, transport="websocket", rate_limit=False) as client:
        names = sorted(sim.market.instruments)
        wanted = [names[n % len(names)] for n in range(1000)]
        sim.shuffle_replies(1000)
        tickers = await asyncio.gather(*(client.public.ticker(name) for name in wanted))
        assert [t.instrument_name for t in tickers] == wanted
        assert client.pending_count == 0


async def test_dropped_connection_fails_waiters_promptly(sim: DeribitSimulator) -> None:
    async with DeribitClient(url=sim.url, transport="websocket", timeout=30) as client:
        sim.delay("public/get_time", 10, times=None)
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiters = [asyncio.create_task(client.public.get_time()) for _ in range(20)]
        await until(lambda: len([c for c in sim.calls if c[0] == "public/get_time"]) == 20)
        sim.drop_connections()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, ConnectionLost) for r in results)
        assert loop.time() - started < 5  # far below the 30 s call timeout
        assert len([c for c in sim.calls if c[0] == "public/get_time"]) == 20  # nothing re-sent


async def test_auto_falls_back_to_http_when_websocket_refused(
    sim: DeribitSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.refuse_websocket = True
    with caplog.at_level(logging.WARNING, logger="deribit_client"):
        async with DeribitClient(url=sim.url) as client:
            assert client.transport_kind == "http"
            assert client.fallback_reason is not None
            assert "503" in client.fallback_reason
            assert (await client.public.ticker("BTC-PERPETUAL")).instrument_name == "BTC-PERPETUAL"
    assert any("falling back to HTTP" in r.getMessage() for r in caplog.records)


async def test_a_websocket_lost_while_connecting_is_no_reason_to_fall_back(
    sim: DeribitSimulator,
) -> None:
    # The venue took the WebSocket; the network then dropped it during the handshake
    # calls. Falling back would end subscriptions for the client's whole life.
    sim.delay("public/auth", 30)
    client = DeribitClient(url=sim.url, client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET)
    connecting = asyncio.ensure_future(client.connect())
    await until(lambda: any(method == "public/auth" for method, _ in sim.calls))
    sim.drop_connections()
    with pytest.raises(ConnectionLost):
        await connecting
    assert client.fallback_reason is None
    assert client.transport_mode == "auto"
    await client.close()


async def test_websocket_only_mode_does_not_fall_back(sim: DeribitSimulator) -> None:
    sim.refuse_websocket = True
    with pytest.raises(TransportError, match="cannot open WebSocket"):
        async with DeribitClient(url=sim.url, transport="websocket"):
            pass


async def test_subscribe_and_ws_only_methods_over_http_fail_before_io(
    sim: DeribitSimulator,
) -> None:
    async with DeribitClient(url=sim.url, transport="http") as client:
        with pytest.raises(UnsupportedOperation, match="WebSocket"):
            await client.subscribe("ticker.BTC-PERPETUAL.100ms")
        with pytest.raises(UnsupportedOperation, match="WebSocket"):
            await client.public.hello("bot", "1.0")
        with pytest.raises(UnsupportedOperation, match=r"client\.subscribe"):
            await client.call("public/subscribe", {"channels": ["ticker.BTC-PERPETUAL.100ms"]})
    assert sim.calls == []


async def test_http_status_without_json_body_is_a_transport_error() -> None:
    from aiohttp import web

    async def too_many(request: web.Request) -> web.Response:
        if request.match_info["tail"].endswith("private/buy"):
            return web.Response(status=502, text="Bad Gateway")
        return web.Response(status=429, text="Too Many Requests")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", too_many)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with DeribitClient(url=f"http://127.0.0.1:{port}", transport="http") as client:
            with pytest.raises(HTTPStatusError) as info:
                await client.public.get_time()
            assert info.value.status == 429
        async with DeribitClient(
            url=f"http://127.0.0.1:{port}",
            transport="http",
            http_auth="basic",
            client_id="id",
            client_secret="secret",
        ) as trader:
            # A gateway error may hide a processed order: its outcome is unknown.
            with pytest.raises(OrderOutcomeUnknown) as unknown:
                await trader.call("private/buy", {"instrument_name": "X", "label": "gw"})
            assert unknown.value.label == "gw"
            assert isinstance(unknown.value.__cause__, HTTPStatusError)
    finally:
        await runner.cleanup()


async def test_unreachable_server_over_http_is_a_transport_error() -> None:
    async with DeribitClient(url="http://127.0.0.1:9", transport="http") as client:
        with pytest.raises(TransportError, match="cannot connect"):
            await client.public.get_time()


async def test_a_burst_of_http_calls_stays_within_deribits_connections_per_ip(
    sim: DeribitSimulator,
) -> None:
    # Deribit refuses a 33rd connection from one IP with 429; 60 calls at once must not
    # open 60 connections.
    sim.delay("public/get_time", 0.2, times=None)
    async with DeribitClient(url=sim.url, transport="http") as client:
        times = await asyncio.gather(*(client.public.get_time() for _ in range(60)))
    assert all(isinstance(t, int) for t in times)


async def test_an_http_transport_on_its_own_session_stays_within_the_limit_too(
    sim: DeribitSimulator,
) -> None:
    # The transport is a public seam: used without a client, its own session is capped.
    sim.delay("public/get_time", 0.2, times=None)
    transport = HttpTransport(sim.http_url)
    body = b'{"jsonrpc":"2.0","id":1,"method":"public/get_time"}'
    try:
        replies = await asyncio.gather(
            *(transport.request("public/get_time", body, timeout=5) for _ in range(60))
        )
    finally:
        await transport.close()
    assert all(b'"result"' in reply for reply in replies)


@pytest.mark.parametrize("capped_by", ["max_connections", "session"])
async def test_an_http_call_waiting_for_a_free_connection_is_not_sent(
    sim: DeribitSimulator, capped_by: str
) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as users_own:
        pool: dict[str, Any] = (
            {"max_connections": 1} if capped_by == "max_connections" else {"session": users_own}
        )
        async with DeribitClient(url=sim.url, transport="http", timeout=1, **pool, **KEY) as trader:
            sim.delay("public/get_time", 1.5)
            slow = asyncio.create_task(trader.public.get_time())  # holds the only connection
            await until(lambda: sim.calls[-1][0] == "public/get_time")
            # The order waits for a connection that is not freed in time: it was never
            # sent, which is a plain error (safe to retry), not an unknown outcome.
            with pytest.raises(TransportError, match="not sent") as refused:
                await trader.private.buy("BTC-PERPETUAL", amount=10, type="market", label="q")
            assert not isinstance(refused.value, OrderOutcomeUnknown)
            with pytest.raises(RequestTimeout):
                await slow
    assert "private/buy" not in [method for method, _ in sim.calls]


async def test_calls_before_connect_and_after_close_are_refused(sim: DeribitSimulator) -> None:
    client = DeribitClient(url=sim.url)
    with pytest.raises(Exception, match="not connected"):
        await client.public.get_time()
    async with client:
        pass
    with pytest.raises(ClientClosed, match="closed"):
        await client.public.get_time()
    with pytest.raises(ClientClosed):
        await client.connect()


async def test_simulator_answers_get_with_query_params(sim: DeribitSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{sim.http_url}/public/get_order_book?instrument_name=BTC-PERPETUAL&depth=1"
        async with session.get(url) as resp:
            body = await resp.json()
    assert resp.status == 200
    assert body["result"]["instrument_name"] == "BTC-PERPETUAL"
    assert len(body["result"]["bids"]) == 1
