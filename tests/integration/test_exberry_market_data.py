"""The Exberry Market Data API against the simulator: tickers, books, trades, candles,
instrument and calendar lists, intervals and refusals."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
from collections.abc import Callable
from typing import Any, cast

import msgspec
import pytest

from deribit_client import ClientError, Gap
from deribit_client.exberry import ExberryClient, ExberryError, Side
from deribit_client.exberry.models import (
    Candle,
    InstrumentListUpdate,
    MdInstrument,
    PartialOrderBook,
)
from deribit_client.testing.exberry import ExberrySimulator
from tests.helpers import NOON, next_event, until


async def test_light_tickers_carry_the_documented_members_and_the_days_figures(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # LightTicker had members named last/bid/ask/open/close where Exberry sends lastPrice,
    # bidPrice, askPrice, openingPrice, closingPrice: every price arrived as None.
    from deribit_client.exberry.models import LightTicker

    sim, client, now = timed

    def trade(price: float, quantity: float, n: int) -> None:
        order = {"instrument": "BTC", "quantity": quantity, "orderType": "Limit"}
        sim.place_order("other-mp", {**order, "mpOrderId": n, "side": "Sell", "price": price})
        sim.place_order("other-mp", {**order, "mpOrderId": n + 1, "side": "Buy", "price": price})

    now[0] = NOON - 86_400  # yesterday: its last trade is today's closing price
    trade(90.0, 1, 1)
    trade(95.0, 1, 3)
    now[0] = NOON
    trade(100.0, 2, 5)
    trade(110.5, 0.5, 7)
    trade(104.0, 1, 9)
    await client.place_order(instrument="BTC", side="Buy", quantity=3, price=99.0, mpOrderId=1)
    async with (
        ExberryClient(sim.url, public_token="sim-md-token") as md,
        md.light_tickers(symbols=["BTC", "ETH"]) as tickers,
    ):
        btc, eth = [await asyncio.wait_for(anext(tickers), 5) for _ in range(2)]
    assert isinstance(btc, LightTicker)
    assert isinstance(eth, LightTicker)
    midnight = int(NOON - 12 * 3600 - 60) * 1000  # the close at 23:59 began this day
    assert (btc.status, btc.bidPrice, btc.bidQuantity, btc.askPrice, btc.askQuantity) == (
        "Trading", 99.0, 3.0, None, 0.0,
    )  # fmt: skip
    assert (btc.closingPrice, btc.closingPriceTimestamp) == (95.0, midnight)
    assert (btc.openingPrice, btc.high, btc.low, btc.lastPrice, btc.lastQuantity) == (
        100.0, 110.5, 100.0, 104.0, 1.0,
    )  # fmt: skip
    assert (btc.volume, btc.quoteVolume, btc.lastPriceTimestamp) == (3.5, 359.25, NOON * 1000)
    assert [(v.type, v.volume) for v in btc.volumeTypes] == [("Matched", 3.5)]
    # Never traded: what the documentation's empty response carries, and nothing else.
    assert msgspec.structs.asdict(eth) == msgspec.structs.asdict(
        LightTicker(symbol="ETH", status="Trading", bidQuantity=0, askQuantity=0,
                    timeStamp=eth.timeStamp)
    )  # fmt: skip


async def test_candles_come_in_every_documented_interval(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # The simulator made one-minute bars whatever the timespan and multiplier, without
    # vwa, sent the current bar to a stream opened without `from`, and answered a
    # history range without bars with nothing.
    from deribit_client.exberry.models import Candle

    sim, _, now = timed
    sim.candle_interval = 0.05

    def trade(price: float, quantity: float, n: int) -> None:
        order = {"instrument": "BTC", "quantity": quantity, "orderType": "Limit"}
        sim.place_order("other-mp", {**order, "mpOrderId": n, "side": "Sell", "price": price})
        sim.place_order("other-mp", {**order, "mpOrderId": n + 1, "side": "Buy", "price": price})

    hour = int(NOON)  # 12:00:00 UTC
    for offset, price, quantity, n in ((-86_400, 80.0, 1, 1), (0, 100.0, 1, 3),
                                       (290, 102.0, 3, 5), (1000, 98.0, 2, 7)):  # fmt: skip
        now[0] = hour + offset
        trade(price, quantity, n)
    now[0] = hour + 1010
    async with ExberryClient(sim.url, public_token="sim-md-token") as md:

        async def bars(**kw: Any) -> list[tuple[Any, ...]]:
            got = await md.candles_history(symbol="BTC", **kw)
            return [(c.timeStamp, c.open, c.high, c.low, c.close, c.volume, c.vwa) for c in got]

        assert await bars(from_=hour, to=hour + 3600, timespan="MINUTE", multiplier=5) == [
            (hour * 1000, 100.0, 102.0, 100.0, 102.0, 4.0, 101.5),
            ((hour + 900) * 1000, 98.0, 98.0, 98.0, 98.0, 2.0, 98.0),
        ]
        assert await bars(from_=hour - 7200, to=hour + 7200, timespan="HOUR") == [
            (hour * 1000, 100.0, 102.0, 98.0, 98.0, 6.0, 100.33333333),
        ]
        # Aware datetimes go as their epoch seconds (they were refused as "not an int").
        paris = dt.timezone(dt.timedelta(hours=1))
        as_moments = {"from_": dt.datetime.fromtimestamp(hour - 7200, paris),
                      "to": dt.datetime.fromtimestamp(hour + 7200, dt.UTC)}  # fmt: skip
        assert await bars(**as_moments, timespan="HOUR") == await bars(
            from_=hour - 7200, to=hour + 7200, timespan="HOUR"
        )
        days = await bars(from_=dt.date(2026, 11, 23), to=20261124, timespan="DAY")
        assert [d[:2] for d in days] == [(20261123, 80.0), (20261124, 100.0)]
        # No bar in the range: the last one before it.
        assert await bars(from_=hour + 1200, to=hour + 1800) == [
            ((hour + 960) * 1000, 98.0, 98.0, 98.0, 98.0, 2.0, 98.0)
        ]
        async with (
            md.candles(symbol="BTC", timespan="MINUTE", multiplier=15) as live,
            md.candles(symbol="BTC", timespan="MINUTE", multiplier=15, from_=hour) as since,
        ):
            first, second = [await asyncio.wait_for(anext(since), 5) for _ in range(2)]
            assert isinstance(first, Candle)  # no Gap either
            assert isinstance(second, Candle)
            assert [(c.timeStamp, c.volume) for c in (first, second)] == [
                (hour * 1000, 4.0),
                ((hour + 900) * 1000, 2.0),
            ]
            now[0] = hour + 1020
            trade(99.0, 1, 9)
            # The stream without from_ hears of the bar only once it changes.
            for stream in (live, since):
                bar = await asyncio.wait_for(anext(stream), 5)
                assert isinstance(bar, Candle)
                assert (bar.timeStamp, bar.close, bar.volume) == ((hour + 900) * 1000, 99.0, 3.0)
        with pytest.raises(ClientError, match="no 5 HOUR candles: Exberry offers 1 MINUTE"):
            md.candles(symbol="BTC", timespan="HOUR", multiplier=5)
        with pytest.raises(ClientError, match="timespan must be one of"):
            md.candles(symbol="BTC", timespan="WEEK")  # type: ignore[arg-type]
        with pytest.raises(ClientError, match="from_ of DAY candles must be a date or"):
            await md.candles_history(symbol="BTC", from_=2026112, to=20261124, timespan="DAY")
        with pytest.raises(
            ClientError, match="to of DAY candles must be a date or a yyyyMMdd int, not a datetime"
        ):
            await md.candles_history(
                symbol="BTC", from_=20261123, to=as_moments["to"], timespan="DAY"
            )
        with pytest.raises(
            ClientError,
            match="from_ of HOUR candles must be epoch seconds or an aware datetime, not a date",
        ):
            md.candles(symbol="BTC", timespan="HOUR", from_=dt.date(2026, 11, 24))
        with pytest.raises(ClientError, match="from_ must be an aware datetime"):
            md.candles(symbol="BTC", from_=dt.datetime(2026, 11, 24, 12))
        with pytest.raises(ClientError, match="caAdjustments must be a bool"):
            await md.candles_history(symbol="BTC", from_=1, to=2, caAdjustments="yes")  # type: ignore[arg-type]
        # The auction price stream's interval is one of the table's, like the others'.
        with pytest.raises(ClientError, match="interval must be one of 100, 1000, 2000"):
            md.auction_indicative_ep(symbol="BTC", interval=400)  # type: ignore[arg-type]
        with pytest.raises(ExberryError) as wrong:
            await md.request("v1/exchange.marketdata/auctionIndicativeEP",
                             {"symbol": "BTC", "interval": "400"})  # fmt: skip
        assert (wrong.value.code, wrong.value.message) == (3, "Wrong interval")
        # What a client without these checks gets from the simulator.
        q = "v1/exchange.marketdata.history/candles"
        for d, code in (({"timespan": "HOUR", "multiplier": 5, "from": 1, "to": 2}, 3),
                        ({"from": 1, "to": 2}, 2), ({"timespan": "DAY", "to": 2}, 2)):  # fmt: skip
            with pytest.raises(ExberryError) as refused:
                await md.request(q, {"symbol": "BTC", **d})
            assert refused.value.code == code, d


class Symbol(enum.StrEnum):
    BTC = "BTC"


async def test_market_data_api_in_public_token_mode(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, md: ExberryClient
) -> None:
    from deribit_client.exberry.models import LightTicker, LiveTrade, PartialOrderBook

    trader = exberry_client
    assert [await md.ping(v) for v in (42, 0, -7)] == [42, 0, -7]  # echoed unchanged
    await trader.place_order(instrument="BTC", side="Sell", quantity=2, price=101.0, mpOrderId=1)
    await trader.place_order(instrument="BTC", side="Sell", quantity=1, price=101.0, mpOrderId=2)
    await trader.place_order(instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=3)
    async with (
        md.partial_order_book(symbol="BTC", levels=5) as book,
        md.light_tickers(symbols=[Symbol.BTC]) as tickers,  # a str subclass is a str
        md.live_trades(symbol="BTC") as trades,
    ):
        snapshot = await anext(book)
        assert isinstance(snapshot, PartialOrderBook)
        assert [(a.price, a.quantity, a.numberOfOrders) for a in snapshot.asks] == [(101.0, 3.0, 2)]
        assert [(lv.price, lv.quantity, lv.numberOfOrders) for lv in snapshot.bids] == [
            (99.0, 1.0, 1)
        ]
        ticker = await anext(tickers)
        assert isinstance(ticker, LightTicker)
        assert (ticker.bidPrice, ticker.askPrice) == (99.0, 101.0)
        await trader.place_order(
            instrument="BTC", side="Buy", quantity=1, orderType="Market", mpOrderId=4
        )
        trade = await asyncio.wait_for(anext(trades), 5)
        assert isinstance(trade, LiveTrade)
        assert (trade.price, trade.quantity, trade.makerSide) == (101.0, 1.0, "Sell")
        after = await asyncio.wait_for(anext(book), 5)
        assert isinstance(after, PartialOrderBook)
        assert after.asks[0].quantity == 2.0
    async with md.instrument_list() as listing:
        names = []
        async for item in listing:
            names.append(item.symbol)  # type: ignore[union-attr]
            if item.lastMessage == "Y":  # type: ignore[union-attr]
                break
    assert names == ["BTC", "ETH"]
    async with ExberryClient(exberry_sim.url, public_token="wrong") as bad:
        with pytest.raises(Exception, match="Invalid token"):
            await bad.request("v1/exchange.marketdata/getSettlementPrices", {"symbol": "BTC"})


async def test_a_live_trade_that_does_not_decode_is_a_gap_and_the_stream_goes_on(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, md: ExberryClient
) -> None:
    from deribit_client.exberry.models import LiveTrade

    await exberry_client.place_order(
        instrument="BTC", side="Sell", quantity=2, price=101.0, mpOrderId=1
    )
    async with md.live_trades(symbol="BTC") as trades:

        def opened() -> list[tuple[int, str]]:
            return [
                (sid, q)
                for peer in exberry_sim.peers
                for sid, (kind, q, _) in peer.streams.items()
                if kind == "md:liveTrades"
            ]

        await until(opened)
        [(sid, q)] = opened()
        await exberry_sim.send_raw(f'{{"q":"{q}","sid":{sid},"d":["not a price"]}}')
        assert await asyncio.wait_for(anext(trades), 5) == Gap(q, "malformed")
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, orderType="Market", mpOrderId=2
        )
        trade = await asyncio.wait_for(anext(trades), 5)
        assert isinstance(trade, LiveTrade)
        assert (trade.price, trade.quantity) == (101.0, 1.0)
    assert md.malformed == 1
    assert md.state == "ready"


def test_live_trades_accept_one_array_or_a_list_of_them() -> None:
    from deribit_client.exberry.client import _live_trades

    one = _live_trades([100.0, 2, "Buy", 1, "SingleSecurity"])
    many = _live_trades([[100.0, 2, "Buy", 1], [101.0, -2, "Sell", 2]])
    assert _live_trades([]) == []
    assert [(t.price, t.quantity) for t in one + many] == [(100.0, 2), (100.0, 2), (101.0, -2)]


async def test_market_data_reference_lists_candles_and_settlement(
    exberry_sim: ExberrySimulator,
    exberry_client: ExberryClient,
    md: ExberryClient,
) -> None:
    from deribit_client.exberry.models import (
        AuctionIndicativeEP,
        TickSizeTable,
        TradingCalendar,
    )

    trader = exberry_client
    await trader.place_order(instrument="ETH", side="Sell", quantity=1, price=10.0, mpOrderId=1)
    await trader.place_order(
        instrument="ETH", side="Buy", quantity=1, orderType="Market", mpOrderId=2
    )
    async with md.tick_size_list() as ticks, md.calendar_list() as calendars:
        table, calendar = await anext(ticks), await anext(calendars)
        assert isinstance(table, TickSizeTable)
        assert table.items[0].tickSize == 0.5
        assert isinstance(calendar, TradingCalendar)
        assert calendar.lastMessage == "Y"
    async with md.auction_indicative_ep(symbol="ETH", maxsize=1) as auction:
        assert isinstance(await anext(auction), AuctionIndicativeEP)
    # Like every other stream, these take a callback (they did not).
    delivered: list[object] = []
    async with (
        md.tick_size_list(callback=delivered.append),
        md.calendar_list(callback=delivered.append),
        md.auction_indicative_ep(symbol="ETH", callback=delivered.append),
    ):
        kinds = (TickSizeTable, TradingCalendar, AuctionIndicativeEP)
        await until(lambda: all(any(isinstance(i, k) for i in delivered) for k in kinds))
    async with md.candles(symbol="ETH", from_=0) as live:
        bar = await asyncio.wait_for(anext(live), 5)
        assert isinstance(bar, Candle)
        assert (bar.open, bar.close, bar.volume) == (10.0, 10.0, 1.0)
    assert bar.timeStamp is not None
    start = bar.timeStamp // 1000
    history = await md.candles_history(symbol="ETH", from_=start - 60, to=start + 60)
    assert history == [bar]
    prices = await md.settlement_prices(symbols=["ETH", "BTC"])
    assert [(p.symbol, p.price) for p in prices] == [("ETH", 10.0), ("BTC", None)]


async def test_market_data_wrong_symbols_and_intervals_are_told(
    exberry_sim: ExberrySimulator,
    exberry_client: ExberryClient,
    md: ExberryClient,
) -> None:
    from deribit_client.exberry.errors import ExberryError, ExberryUnavailable
    from deribit_client.exberry.models import LightTicker

    trader = exberry_client
    async with md.light_tickers(symbols=["BTC", "NOPE"], policy="error") as tickers:
        first, second = [await asyncio.wait_for(anext(tickers), 5) for _ in range(2)]
        assert isinstance(first, LightTicker)
        assert isinstance(second, LightTicker)
        # the samples' form (release notes 2023-02-08): the stream goes on for BTC
        assert (first.symbol, first.errorCode) == ("BTC", None)
        assert (second.symbol, second.errorCode, second.errorMessage) == (
            "NOPE",
            3,
            "Wrong symbol",
        )
        await trader.place_order(instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1)
        update = await asyncio.wait_for(anext(tickers), 5)
        assert (update.symbol, update.bidPrice) == ("BTC", 99.0)  # type: ignore[union-attr]
    # A wrong symbol on a one-symbol stream fails it with the documented code 3 (the
    # old simulator said 1, "unavailable": a bot retrying on that looped for ever).
    with pytest.raises(ExberryError, match="Wrong symbol NOPE") as wrong:
        async with md.partial_order_book(symbol="NOPE") as book:
            await asyncio.wait_for(anext(book), 5)
    assert wrong.value.code == 3
    assert not isinstance(wrong.value, ExberryUnavailable)
    # Values the API does not list: error 3 from the simulator (sent raw, past the
    # client's own check)
    partial, trades = "v1/exchange.marketdata/partialOrderBook", "v1/exchange.marketdata/liveTrades"
    unlisted: list[tuple[str, dict[str, Any], str]] = [
        (partial, {"symbol": "BTC", "interval": 500}, "Wrong interval"),
        (partial, {"symbol": "BTC", "levels": 7}, "Wrong levels"),
        (partial, {"symbol": "BTC", "decimals": -1}, "Wrong decimals"),
        # a negative limit sliced the trade log from its far end, 0 sent all of it
        (trades, {"symbol": "BTC", "limit": -1}, "Wrong limit"),
        (trades, {"symbol": "BTC", "limit": 0}, "Wrong limit"),
        (trades, {"symbol": "BTC", "limit": 10_001}, "Wrong limit"),
    ]
    for q, d, text in unlisted:
        with pytest.raises(ExberryError, match=text) as wrong:
            async with await md.stream(q, d) as raw:
                await asyncio.wait_for(anext(raw), 5)
        assert wrong.value.code == 3


async def test_market_data_values_the_api_does_not_list_are_refused_before_sending(
    exberry_sim: ExberrySimulator, md: ExberryClient
) -> None:
    # They went out as given; the venue's answer to them is undocumented.
    refused: list[tuple[Callable[[], object], str]] = [
        (lambda: md.partial_order_book(symbol="BTC", levels=7), "levels must be one of 1, 5"),  # type: ignore[arg-type]
        (lambda: md.partial_order_book(symbol="BTC", levels=True), "levels must be one of"),  # type: ignore[arg-type]
        (lambda: md.partial_order_book(symbol="BTC", interval=500), "interval must be one of"),  # type: ignore[arg-type]
        (lambda: md.partial_order_book(symbol="BTC", decimals=-1), "decimals must be an int >= 0"),
        (lambda: md.light_tickers(symbols=["BTC"], interval=10), "interval must be one of 100, "),  # type: ignore[arg-type]
        (lambda: md.light_tickers(symbols=["BTC"], scope="clob"), "scope must be one of 'CLOB'"),  # type: ignore[arg-type]
    ]
    for make, text in refused:
        with pytest.raises(ClientError, match=text):
            make()
    assert exberry_sim.calls == []


async def test_partial_order_book_decimals_aggregates_prices(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, md: ExberryClient
) -> None:
    levels: list[tuple[Side, float]] = [
        ("Buy", 99.0), ("Buy", 99.5), ("Buy", 98.5), ("Sell", 100.5), ("Sell", 101.0)
    ]  # fmt: skip
    for n, (side, price) in enumerate(levels, start=1):
        await exberry_client.place_order(
            instrument="BTC", side=side, quantity=n, price=price, mpOrderId=n
        )
    async with md.partial_order_book(symbol="BTC", decimals=0, levels=1) as book:
        snapshot = await asyncio.wait_for(anext(book), 5)
    assert isinstance(snapshot, PartialOrderBook)
    # bids round down and asks up, so the sides cannot cross; the levels that meet are
    # one level with their quantities and order counts summed
    assert [msgspec.structs.astuple(lv) for lv in snapshot.bids] == [(99.0, 3.0, 2)]
    assert [msgspec.structs.astuple(lv) for lv in snapshot.asks] == [(101.0, 9.0, 2)]


async def test_market_data_interval_holds_updates_and_sends_the_latest(
    exberry_sim: ExberrySimulator,
    exberry_client: ExberryClient,
    md: ExberryClient,
) -> None:
    from deribit_client.exberry.models import PartialOrderBook

    trader = exberry_client
    async with md.partial_order_book(symbol="BTC", interval=1000, policy="error") as book:
        assert (await asyncio.wait_for(anext(book), 5)).bids == []  # type: ignore[union-attr]
        for n, price in enumerate((99.0, 98.0, 97.0), start=1):
            await trader.place_order(
                instrument="BTC", side="Buy", quantity=1, price=price, mpOrderId=n
            )
        # the first change goes out at once, the next two wait for the interval to end
        # and leave as one update with the book as it is then
        first = await asyncio.wait_for(anext(book), 5)
        held = await asyncio.wait_for(anext(book), 5)
        assert isinstance(first, PartialOrderBook)
        assert isinstance(held, PartialOrderBook)
        assert [lv.price for lv in first.bids] == [99.0]
        assert [lv.price for lv in held.bids] == [99.0, 98.0, 97.0]
        assert len(book) == 0


async def test_instrument_lists_follow_status_changes_after_their_snapshot() -> None:
    # The lists never changed after their snapshot (the documentation sends "live
    # updates") and listed disabled instruments without a filter asking for them.
    instruments: list[str | dict[str, Any]] = [
        "BTC", "ETH", {"symbol": "OLD", "activityStatus": "DISABLED"}
    ]  # fmt: skip
    async with (
        ExberrySimulator(instruments=instruments) as sim,
        ExberryClient(sim.url, public_token="sim-md-token") as md,
        md.instrument_list() as listing,
        md.instrument_list_with_pagination() as paged,
        md.instrument_list_with_pagination(calendarId=1) as filtered,
    ):
        snapshot = [cast(MdInstrument, await next_event(listing)) for _ in range(2)]
        page = cast(InstrumentListUpdate, await next_event(paged))
        every = cast(InstrumentListUpdate, await next_event(filtered))
        sim.set_instrument_status("ETH", status="Disabled")
        disabled = cast(MdInstrument, await next_event(listing))
        paged_update = cast(InstrumentListUpdate, await next_event(paged))
        await next_event(filtered)
        sim.set_instrument_status("ETH", status="Active")  # the page stopped following it
        sim.set_instrument_status("BTC", status="Disabled")
        relisted = [cast(MdInstrument, await next_event(listing)) for _ in range(2)]
        last = cast(InstrumentListUpdate, await next_event(paged))
    assert [(i.symbol, i.lastMessage) for i in snapshot] == [("BTC", None), ("ETH", "Y")]
    assert [i.symbol for i in page.instruments] == ["BTC", "ETH"]
    assert [(i.symbol, i.activityStatus) for i in every.instruments] == [
        ("BTC", "ACTIVE"), ("ETH", "ACTIVE"), ("OLD", "DISABLED"),
    ]  # fmt: skip
    assert (disabled.symbol, disabled.activityStatus) == ("ETH", "DISABLED")
    assert paged_update.messageType == "update"
    assert paged_update.instrument is not None
    assert (paged_update.instrument.symbol, paged_update.instrument.activityStatus) == (
        "ETH", "DISABLED",
    )  # fmt: skip
    assert [(i.symbol, i.activityStatus) for i in relisted] == [
        ("ETH", "ACTIVE"), ("BTC", "DISABLED"),
    ]  # fmt: skip
    assert last.instrument is not None
    assert last.instrument.symbol == "BTC"
    assert sim.instrument_status["OLD"]["status"] == "Disabled"


async def test_instrument_lists_sort_by_symbol_whatever_its_case_and_page() -> None:
    # The simulator sorted case-sensitively and numbered instruments by that order, so
    # instrumentList's ids disagreed with the instrumentId of reports; it answered
    # instrumentListWithPagination with "not simulated".
    instruments: list[str | dict[str, Any]] = [
        "eth", "BTC", "ada", {"symbol": "BOND", "calendarId": 10}
    ]  # fmt: skip
    async with (
        ExberrySimulator(instruments=instruments, calendars=[{}, {"id": 10}]) as sim,
        ExberryClient(sim.url, public_token="sim-md-token") as md,
    ):
        async with md.instrument_list() as listing:
            items = [cast(MdInstrument, await next_event(listing)) for _ in instruments]
        assert [(i.symbol, i.id) for i in items] == [
            ("ada", 3), ("BOND", 4), ("BTC", 2), ("eth", 1),
        ]  # fmt: skip
        assert [i.lastMessage for i in items] == [None, None, None, "Y"]
        async with md.instrument_list_with_pagination(limit=2) as first:
            page = cast(InstrumentListUpdate, await next_event(first))
        assert page.messageType == "snapshot"
        assert [i.symbol for i in page.instruments] == ["ada", "BOND"]
        assert (page.count, page.fromSymbol) == (4, "BOND")
        async with md.instrument_list_with_pagination(fromSymbol=page.fromSymbol) as second:
            rest = cast(InstrumentListUpdate, await next_event(second))
        assert [i.symbol for i in rest.instruments] == ["BTC", "eth"]
        assert rest.count == 2
        async with md.instrument_list_with_pagination(calendarId=10) as calendar:
            bonds = cast(InstrumentListUpdate, await next_event(calendar))
        assert [(i.symbol, i.calendarId) for i in bonds.instruments] == [("BOND", 10)]
        with pytest.raises(ClientError, match="limit"):
            md.instrument_list_with_pagination(limit=0)
    async with (
        ExberrySimulator(instruments=[]) as empty,
        ExberryClient(empty.url, public_token="sim-md-token") as md,
        md.instrument_list() as listing,
    ):
        none = cast(MdInstrument, await next_event(listing))
        assert (none.symbol, none.lastMessage) == (None, "Y")  # the Empty message sample
