"""Exberry streams through socket cuts, reconnects and server ends: resumed from their
tracking number, no duplicate, no silent loss, no loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deribit_client import ClientClosed, ConnectionLost, Gap, ReconnectPolicy
from deribit_client.exberry import ExberryClient, ExberryError, StreamDisconnected
from deribit_client.exberry.models import Add, BookEvent, ExecutionReport
from deribit_client.testing.exberry import ExberrySimulator
from deribit_client.transports import WebSocketConnector
from tests.helpers import EXBERRY_KEY, INSTANT, HeldOpens, next_event, retry_at_once, until


async def test_streams_resume_after_a_cut_without_duplicates_or_loss(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    seen: list[tuple[int | None, str]] = []
    async with exberry_client.order_book_depth() as book:
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        for n in range(3):
            await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=1, price=50.0 + n, mpOrderId=n + 1
            )
        for _ in range(3):
            event = await anext(book)
            assert isinstance(event, Add)
            seen.append((event.trackingNumber, type(event).__name__))
        exberry_sim.drop_connections()
        # While the socket is down another participant's order enters the book.
        order = {"mpOrderId": 1, "orderType": "Limit", "side": "Buy", "instrument": "BTC"}
        exberry_sim.place_order("other-mp", {**order, "quantity": 1, "price": 40.0})
        await until(lambda: exberry_client.reconnect_count == 1 and exberry_client.state == "ready")
        await exberry_client.place_order(
            instrument="BTC", side="Sell", quantity=5, orderType="Market", mpOrderId=99
        )
        rest: list[BookEvent] = []
        while len(rest) < 5:
            item = await asyncio.wait_for(anext(book), 5)
            assert not isinstance(item, Gap)  # nothing was lost: no gap
            rest.append(item)
    # The order placed during the outage arrives (replayed), the last event delivered
    # before the cut does not arrive twice, then four fills... (bids 52, 51, 50, 40).
    assert [type(e).__name__ for e in rest] == ["Add"] + ["Executed"] * 4
    assert isinstance(rest[0], Add)
    assert (rest[0].mpId, rest[0].price) == (exberry_sim.participant("other-mp").mp_id, 40.0)
    numbers = [n for n, _ in seen] + [getattr(e, "trackingNumber", None) for e in rest]
    assert numbers == sorted(numbers)


async def test_a_bot_retrying_at_once_while_reconnecting_lets_the_reconnect_run(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # A refused request that never suspended starved the event loop: a bot retrying at
    # once (no wait_ready) hung the program, the reconnect never ran.
    exberry_sim.drop_connections()
    await until(lambda: exberry_client.state == "reconnecting")

    async def attempt() -> None:
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=40.0, mpOrderId=7
        )

    refusals = await retry_at_once(attempt, cap=1_000_000)  # old behaviour: nothing else runs
    assert refusals >= 1
    assert exberry_client.state == "ready"


async def test_a_stream_that_failed_to_open_is_not_resumed_for_nobody(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, HeldOpens]
) -> None:
    # Entering the block was cancelled while writing: the caller never got the stream,
    # so no reconnect may open it again on the server.
    client, connector = held
    connector.hold = True
    opening = asyncio.ensure_future(client.trades().__aenter__())
    await connector.held.wait()
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    connector.hold = False
    reconnects = client.reconnect_count
    exberry_sim.drop_connections()
    await until(lambda: client.reconnect_count > reconnects and client.state == "ready")
    async with client.execution_reports():  # a stream opened after the resumes
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        kinds = [kind for peer in exberry_sim.peers for kind, _, _ in peer.streams.values()]
    assert kinds == ["executionReports"]


class _GatedConnects:
    """Connects to the simulator once ``gate`` is set (it is at first); ``waiting`` while
    a connect waits for it."""

    def __init__(self, url: str) -> None:
        self.inner = WebSocketConnector(url)
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = False

    async def connect(self) -> Any:
        self.waiting = True
        await self.gate.wait()
        self.waiting = False
        return await self.inner.connect()


@pytest.fixture
async def gated(
    exberry_sim: ExberrySimulator,
) -> AsyncIterator[tuple[ExberryClient, _GatedConnects]]:
    """A client whose next reconnect waits until the test opens the gate; the socket is
    cut and the reconnect waiting when the test starts."""
    connector = _GatedConnects(exberry_sim.url)
    async with ExberryClient(
        exberry_sim.url, **EXBERRY_KEY, connector=connector, reconnect=INSTANT, timeout=0.5
    ) as client:
        connector.gate.clear()
        exberry_sim.drop_connections()
        await until(lambda: connector.waiting)
        assert client.state == "reconnecting"
        yield client, connector


def server_streams(sim: ExberrySimulator) -> list[str]:
    return [kind for peer in sim.peers for kind, _, _ in peer.streams.values()]


async def test_a_stream_opened_while_reconnecting_opens_on_the_new_socket(
    exberry_sim: ExberrySimulator, gated: tuple[ExberryClient, _GatedConnects]
) -> None:
    client, connector = gated
    opening = asyncio.ensure_future(client.execution_reports())
    await until(lambda: client.live_streams == 1)
    assert not opening.done()
    connector.gate.set()
    async with await opening as reports:
        assert client.state == "ready"
        await until(lambda: server_streams(exberry_sim) == ["executionReports"])
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=7)
        assert await anext(reports) == Gap("v1/exchange.market/executionReports", "reconnected")
        report = await asyncio.wait_for(anext(reports), 5)
        assert isinstance(report, ExecutionReport)
        assert report.mpOrderId == 7
        opened = [q for q, _ in exberry_sim.calls if q.endswith("executionReports")]
        assert len(opened) == 1  # by the reconnect, once


async def test_a_stream_from_a_tracking_number_resumes_from_it_without_a_gap(
    exberry_sim: ExberrySimulator, gated: tuple[ExberryClient, _GatedConnects]
) -> None:
    # Nothing delivered yet, but the start the user asked for is known: nothing is lost.
    client, connector = gated
    opening = asyncio.ensure_future(client.execution_reports(trackingNumber=0))
    await until(lambda: client.live_streams == 1)
    connector.gate.set()
    async with await opening as reports:
        await until(lambda: server_streams(exberry_sim) == ["executionReports"])
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=8)
        report = await asyncio.wait_for(anext(reports), 5)
        assert isinstance(report, ExecutionReport)  # not a Gap
        assert report.mpOrderId == 8
        opened = [d for q, d in exberry_sim.calls if q.endswith("executionReports")]
        assert opened == [{"trackingNumber": 0}]  # by the reconnect, from where asked


async def test_a_stream_waits_for_a_reconnect_no_longer_than_the_timeout(
    exberry_sim: ExberrySimulator, gated: tuple[ExberryClient, _GatedConnects]
) -> None:
    client, connector = gated
    with pytest.raises(ConnectionLost, match=r"not reconnected within 0\.5 s"):
        await client.execution_reports()
    assert client.live_streams == 0
    connector.gate.set()
    await until(lambda: client.state == "ready")
    assert server_streams(exberry_sim) == []  # not opened for nobody


async def test_a_stream_whose_opening_write_broke_the_socket_opens_on_the_next(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, HeldOpens]
) -> None:
    client, connector = held
    connector.refuse = True
    async with client.trades():
        assert (client.state, client.reconnect_count) == ("ready", 1)
        await until(lambda: server_streams(exberry_sim) == ["trades"])
    assert client.live_streams == 0


async def test_a_stream_closed_while_the_reconnect_resumes_costs_no_other_stream(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, HeldOpens]
) -> None:
    client, connector = held
    trades = await client.trades()
    async with client.execution_reports() as reports, client.order_book_depth() as book:
        await until(lambda: len(server_streams(exberry_sim)) == 3)
        connector.hold = connector.after_writing = True
        exberry_sim.drop_connections()
        await connector.held.wait()  # the resume step is writing trades' opening
        await trades.close()
        connector.release.set()
        await until(lambda: client.state == "ready")
        await until(
            lambda: sorted(server_streams(exberry_sim)) == ["executionReports", "orderBookDepth"]
        )
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=1)
        assert isinstance(await next_event(reports), ExecutionReport)
        assert isinstance(await next_event(book), Add)


async def test_a_stream_opened_while_the_reconnect_resumes_is_opened_too(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, HeldOpens]
) -> None:
    client, connector = held
    async with client.trades():
        await until(lambda: len(server_streams(exberry_sim)) == 1)
        connector.hold = connector.after_writing = True
        exberry_sim.drop_connections()
        await connector.held.wait()  # the resume step is writing trades' opening
        opening = asyncio.ensure_future(client.execution_reports())
        await until(lambda: client.live_streams == 2)
        connector.release.set()
        async with await opening:
            await until(
                lambda: sorted(server_streams(exberry_sim)) == ["executionReports", "trades"]
            )


async def test_closing_ends_a_stream_waiting_for_the_reconnect(
    gated: tuple[ExberryClient, _GatedConnects],
) -> None:
    client, _ = gated
    opening = asyncio.ensure_future(client.trades())
    await until(lambda: client.live_streams == 1)
    await client.close()
    with pytest.raises(ClientClosed):
        await opening
    assert client.live_streams == 0


async def test_a_stream_ended_by_the_server_resumes_itself(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    async with exberry_client.execution_reports() as reports:
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=1
        )
        first = await anext(reports)
        assert await exberry_sim.fail_streams() == 1  # sig: 2 errorCode 2 "Stream disconnected"
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=2, mpOrderId=2
        )
        second = await asyncio.wait_for(anext(reports), 5)
        assert isinstance(second, ExecutionReport)
        assert isinstance(first, ExecutionReport)
        assert (first.mpOrderId, second.mpOrderId) == (1, 2)
    assert StreamDisconnected(2, "x").code == 2


async def gaps_until_the_end(stream: AsyncIterator[object]) -> None:
    """Read ``stream`` to its end, which must come within 5 s; only Gaps before it."""
    async with asyncio.timeout(5):
        async for item in stream:
            assert isinstance(item, Gap)


async def test_closing_a_failed_stream_after_a_reconnect_leaves_the_others_open(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # Sids restart on every socket: the failed stream's old sid is another stream's now.
    failed = await exberry_client.execution_reports()
    await until(lambda: any(p.streams for p in exberry_sim.peers))
    assert await exberry_sim.fail_streams(1200, "General error") == 1  # not resumable
    with pytest.raises(ExberryError, match="General error"):
        await gaps_until_the_end(failed)
    async with exberry_client.order_book_depth() as book:
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        exberry_sim.drop_connections()
        await until(lambda: exberry_client.reconnect_count == 1 and exberry_client.state == "ready")
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await failed.close()
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=1
        )
        assert isinstance(await next_event(book), Add)
    kinds = [kind for peer in exberry_sim.peers for kind, _, _ in peer.streams.values()]
    assert kinds == []


async def end_once_opened(sim: ExberrySimulator) -> None:
    """Wait until the stream is open on the server, then have the server end it."""
    await until(lambda: any(p.streams for p in sim.peers))
    assert await sim.fail_streams() == 1


async def test_a_stream_the_server_keeps_ending_fails_instead_of_looping(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    from deribit_client.exberry.client import MAX_QUICK_ENDS

    async with exberry_client.execution_reports() as reports:
        for _ in range(MAX_QUICK_ENDS + 1):  # the last one right away: the stream gives up
            await end_once_opened(exberry_sim)
        with pytest.raises(StreamDisconnected):
            await gaps_until_the_end(reports)
    opened = [q for q, _ in exberry_sim.calls if q.endswith("executionReports")]
    assert len(opened) == MAX_QUICK_ENDS + 1


async def test_a_stream_ended_often_but_delivering_between_is_not_given_up(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # Each end came within QUICK_END of opening, so the fourth failed the stream, though
    # every re-open had delivered the bot's fills: a venue ending streams every second
    # ended a working stream for good.
    from deribit_client.exberry.client import MAX_QUICK_ENDS

    async with exberry_client.execution_reports() as reports:
        for k in range(MAX_QUICK_ENDS + 2):
            await until(lambda: any(p.streams for p in exberry_sim.peers))
            await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=k + 1
            )
            report = await next_event(reports)
            assert isinstance(report, ExecutionReport)
            assert report.mpOrderId == k + 1
            assert await exberry_sim.fail_streams() == 1
        await until(lambda: any(p.streams for p in exberry_sim.peers))


@pytest.mark.parametrize("backoff", [60, 0.01])
async def test_a_stream_ended_at_once_again_waits_for_the_backoff(
    exberry_sim: ExberrySimulator, backoff: float
) -> None:
    # It was re-opened every round trip until it failed: a venue in trouble for a moment
    # failed every bot's execution reports within milliseconds.
    policy = ReconnectPolicy(initial_delay=backoff, max_delay=backoff, jitter=0)
    async with (
        ExberryClient(exberry_sim.url, **EXBERRY_KEY, reconnect=policy) as client,
        client.execution_reports() as reports,
    ):
        await end_once_opened(exberry_sim)  # re-opened at once
        await end_once_opened(exberry_sim)  # again at once: re-opened after the backoff
        if backoff == 60:
            # meanwhile still live; a reconnect opens it with the others
            assert await client.ping(7) == 7  # a round trip: the end was read, nothing sent
            assert client.live_streams == 1
            assert not any(p.streams for p in exberry_sim.peers)
            exberry_sim.drop_connections()
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=1)
        assert isinstance(await next_event(reports), ExecutionReport)
        opened = [q for q, _ in exberry_sim.calls if q.endswith("executionReports")]
        assert len(opened) == 3
    # leaving the block closes it on the server
    assert [kind for p in exberry_sim.peers for kind, _, _ in p.streams.values()] == []


async def test_a_stream_ended_while_the_reconnect_resumes_others_is_reopened(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, HeldOpens]
) -> None:
    # The client was not ready yet, so the stream failed instead of being re-opened.
    client, connector = held

    def reports_opened() -> int:
        return sum(q.endswith("executionReports") for q, _ in exberry_sim.calls)

    async with client.execution_reports() as reports, client.trades():
        await until(lambda: sum(len(p.streams) for p in exberry_sim.peers) == 2)
        exberry_sim.inject_error("v1/exchange.market/executionReports", 2, "Stream disconnected")
        connector.hold = True  # the resume step writes reports, then waits on trades
        exberry_sim.drop_connections()
        await connector.held.wait()
        # ended by the server and opened again while the resume step is still writing
        await until(lambda: reports_opened() == 3)
        connector.release.set()
        await until(lambda: client.reconnect_count == 1 and client.state == "ready")
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=1)
        assert isinstance(await next_event(reports), ExecutionReport)
        assert reports_opened() == 3


async def test_a_market_data_request_missing_a_member_is_not_resumed(
    exberry_sim: ExberrySimulator, md: ExberryClient
) -> None:
    # MD-API code 2 "Missing fields: ..." was taken for "Stream disconnected" and the
    # stream re-sent at once, about 5,000 times a second.
    stream = await md.stream("v1/exchange.marketdata/lightTickers", {"interval": 1000})
    with pytest.raises(ExberryError, match="Missing fields: symbols") as info:
        await asyncio.wait_for(anext(stream), 5)
    assert not isinstance(info.value, StreamDisconnected)
    assert [q for q, _ in exberry_sim.calls] == ["v1/exchange.marketdata/lightTickers"]


async def test_leaving_the_block_sends_sig_3(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    async with exberry_client.trades():
        await until(lambda: any(p.streams for p in exberry_sim.peers))
    await until(lambda: not any(p.streams for p in exberry_sim.peers))
    closes = [d for q, d in exberry_sim.calls if q == "v1/exchange.market/trades"]
    assert len(closes) == 2  # the open, then the sig: 3 (no d)


async def test_an_unknown_resume_point_restarts_live_with_a_gap(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # 1201 Wrong trackingNumber: nothing can be replayed, so the consumer is told.
    async with exberry_client.order_book_depth(trackingNumber=10**9) as book:
        marker = await asyncio.wait_for(anext(book), 5)
        assert marker == Gap("v2/exchange.market/orderBookDepth", "reconnected")
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=1
        )
        assert isinstance(await asyncio.wait_for(anext(book), 5), Add)


async def test_a_resume_point_the_venue_no_longer_holds_is_refused_not_skipped() -> None:
    # The simulator keeps the newest max_events events; a stream resuming from before them
    # must hear 1201 (and its consumer a Gap), not get the rest as if nothing were missing.
    async with (
        ExberrySimulator(max_events=3) as sim,
        ExberryClient(sim.url, **EXBERRY_KEY, reconnect=INSTANT) as client,
        client.order_book_depth() as book,
    ):
        await until(lambda: any(p.streams for p in sim.peers))
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=1)
        assert isinstance(await asyncio.wait_for(anext(book), 5), Add)
        sim.drop_connections()
        order = {"orderType": "Limit", "side": "Buy", "instrument": "BTC", "quantity": 1}
        for n in range(5):  # while the socket is down: more than the simulator keeps
            sim.place_order("other-mp", {**order, "mpOrderId": n + 1, "price": 2.0 + n})
        marker = await asyncio.wait_for(anext(book), 5)
        assert marker == Gap("v2/exchange.market/orderBookDepth", "reconnected")
