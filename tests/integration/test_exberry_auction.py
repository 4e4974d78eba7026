"""Exberry auctions and the trading calendar: ExberryClient against the bundled
simulator's call phase, uncross, scheduled auctions and end of day (the simulator only
ever traded continuously, and its days never ended)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from deribit_client.exberry import ExberryClient, ExberryOrderBook, MarketStateError
from deribit_client.exberry.errors import OrderValidationError
from deribit_client.exberry.models import (
    Add,
    AuctionIndicativeEP,
    CalendarEndOfDay,
    Cancelled,
    Executed,
    ExecutionReport,
    InstrumentStatus,
    MarketSide,
    PartialOrderBook,
    Trade,
)
from deribit_client.testing._exberry_rules import Fail
from deribit_client.testing.exberry import SIM_API_KEY, ExberrySimulator
from tests.helpers import INSTANT, NOON

SELL = {"orderType": "Limit", "side": "Sell", "instrument": "BTC", "timeInForce": "GTC"}


async def collect(stream: AsyncIterator[Any], last: Callable[[Any], bool]) -> list[Any]:
    """The items of ``stream`` up to the first for which ``last`` is true (5 s at most)."""
    items: list[Any] = []
    async with asyncio.timeout(5):
        async for item in stream:
            items.append(item)
            if last(item):
                return items
    raise AssertionError("the stream ended")


def market_status(status: str) -> Callable[[Any], bool]:
    return lambda e: isinstance(e, InstrumentStatus) and e.marketStatus == status


async def test_an_auction_collects_orders_then_uncrosses_at_one_price(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    sim, client = exberry_sim, exberry_client
    sim.place_order("other-mp", {**SELL, "mpOrderId": 1, "quantity": 2, "price": 101.0})
    sim.place_order("other-mp", {**SELL, "mpOrderId": 2, "quantity": 1, "price": 103.0})
    await client.place_order(instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1)
    # A stop buy waits for a trade at 100.5 or above (none yet).
    await client.place_order(instrument="BTC", side="Buy", quantity=1, orderType="Stop",
                             stopPrice=100.5, mpOrderId=2)  # fmt: skip
    book = ExberryOrderBook("BTC")
    state = await client.order_book_state()
    book.load(state)
    async with (
        ExberryClient(sim.url, public_token="sim-md-token") as md,
        client.order_book_depth(trackingNumber=state.last_tracking_number) as depth,
        client.execution_reports() as reports,
    ):
        await client.order_book_state()  # the streams are open once a later request is answered
        sim.start_auction("BTC")
        order: dict[str, Any] = {"instrument": "BTC", "side": "Buy", "quantity": 1}
        refusals: list[tuple[dict[str, Any], int, str]] = [
            ({"price": 100.0, "timeInForce": "FOK"}, 1030, "Only GTC, GTD, IOC, GAA, DAY limit"),
            ({"orderType": "Stop", "stopPrice": 100.0}, 1030, "limit orders are allowed"),
            ({"price": 100.0, "timeInForce": "IOC", "minQuantity": 1}, 1033, "continuous"),
        ]
        for terms, code, text in refusals:
            with pytest.raises(OrderValidationError, match=text) as info:
                await client.place_order(mpOrderId=10 + code, **order, **terms)
            assert info.value.code == code
        # In the call phase nothing trades: a GAA buy at 102 and an IOC one at 100 rest,
        # and so does another participant's market sell (with no price).
        gaa = await client.place_order(instrument="BTC", side="Buy", quantity=4, price=102.0,
                                       timeInForce="GAA", mpOrderId=3)  # fmt: skip
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=100.0,
                                 timeInForce="IOC", mpOrderId=4)  # fmt: skip
        market = {"orderType": "Market", "side": "Sell", "instrument": "BTC", "quantity": 1}
        sim.place_order("other-mp", {**market, "timeInForce": "IOC", "mpOrderId": 3})
        async with md.partial_order_book(symbol="BTC", levels=5, interval=100) as levels:
            snapshot = await asyncio.wait_for(anext(levels), 5)
        assert isinstance(snapshot, PartialOrderBook)
        assert (snapshot.marketBids, snapshot.marketAsks) == (None, MarketSide(1.0, 1))
        assert [(lv.price, lv.quantity) for lv in snapshot.bids] == [(102, 4), (100, 1), (99, 1)]
        async with md.auction_indicative_ep(symbol="BTC", interval=100) as indicative:
            price = await asyncio.wait_for(anext(indicative), 5)
        # At 101 and at 102 three trade and one is left to buy: a buy surplus takes the
        # higher price.
        assert isinstance(price, AuctionIndicativeEP)
        assert (price.indicativePrice, price.pairedQuantity, price.imbalanceQuantity,
                price.imbalanceSide) == (102, 3, 1, "Buy")  # fmt: skip
        await client.order_book_state()
        called = await collect(depth, lambda e: isinstance(e, AuctionIndicativeEP)
                               and e.pairedQuantity == 3)  # fmt: skip
        sim.set_instrument_status("BTC", marketStatus="Opened")
        crossed = await collect(depth, lambda e: isinstance(e, Executed) and e.executedPrice == 103)
        mine = await collect(
            reports, lambda r: r.messageType == "Executed" and r.orderId != gaa.orderId
        )

    kinds = [type(e).__name__ for e in called if not isinstance(e, AuctionIndicativeEP)]
    assert kinds == ["InstrumentStatus", "Add", "Add", "Add"]
    assert [e.price for e in called if isinstance(e, Add)] == [102, 100, None]
    assert all(e.trackingNumber is None for e in called if isinstance(e, AuctionIndicativeEP))
    # The crossing: both trades at 102, what GAA and IOC orders left cancelled, the market
    # open, then the stop triggered by the auction's price takes the 103 offer.
    assert market_status("AuctionCrossing")(crossed[0])
    trades = [(e.executedQuantity, e.executedPrice) for e in crossed if isinstance(e, Executed)]
    assert trades == [(1, 102), (2, 102), (1, 103)]
    assert [e.cancelledQuantity for e in crossed if isinstance(e, Cancelled)] == [1, 1]
    assert any(market_status("Opened")(e) for e in crossed)
    for event in called + crossed:
        book.apply(event)
    assert (book.bids(), book.asks(), book.market_status) == ([(99.0, 1.0)], [], "Opened")
    assert all(isinstance(r, ExecutionReport) for r in mine)
    gaa_reports = [r for r in mine if r.orderId == gaa.orderId]
    assert {r.marketModel for r in gaa_reports} == {"A"}
    fills = [r for r in gaa_reports if r.messageType == "Executed"]
    assert [(r.lastFilledQuantity, r.tradingMode) for r in fills] == [(1, "IA"), (2, "IA")]
    reasons = [(r.mpOrderId, r.cancelReason) for r in mine if r.messageType == "Cancelled"]
    assert reasons == [(3, "Expiration"), (4, "ImmediateOrder")]
    assert mine[-1].tradingMode == "CT"  # the stop traded after the auction
    # Auction prices are real time only: a replay of the stream holds none of them.
    async with client.order_book_depth(trackingNumber=0) as replay:
        await client.order_book_state()
        everything = await collect(replay, market_status("Opened"))
    assert not any(isinstance(e, AuctionIndicativeEP) for e in everything)


async def test_auction_states_refuse_what_the_phase_does_not_take(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    sim, client = exberry_sim, exberry_client
    with pytest.raises(OrderValidationError, match="GAA is allowed only during auction"):
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=99.0,
                                 timeInForce="GAA", mpOrderId=1)  # fmt: skip
    sim.start_auction("BTC", allowedTimeInForces=["GTC", "GAA"])
    with pytest.raises(OrderValidationError, match="Only GTC, GAA limit orders are allowed in"):
        await client.place_order(instrument="BTC", side="Buy", quantity=1, orderType="Market",
                                 mpOrderId=2)  # fmt: skip
    placed = await client.place_order(instrument="BTC", side="Sell", quantity=1, price=99.0,
                                      timeInForce="GAA", mpOrderId=3)  # fmt: skip
    await client.place_order(instrument="ETH", side="Buy", quantity=1, orderType="Market",
                             mpOrderId=4)  # the other instrument trades on  # fmt: skip
    sim.set_instrument_status("BTC", marketStatus="AuctionCrossing")
    with pytest.raises(MarketStateError, match="crossing") as info:
        await client.cancel_order(instrument="BTC", orderId=placed.orderId)
    assert info.value.code == 1030
    with pytest.raises(ValueError, match="in an auction already"):
        sim.start_auction("BTC")
    with pytest.raises(ValueError, match="eventsModes must be a list of LIT, INDICATIVE_PRICE"):
        sim.start_auction("ETH", eventsModes=["DARK"])
    # Closed without an uncross: the GAA order lapses, nothing trades.
    async with client.execution_reports() as reports:
        await client.order_book_state()
        sim.set_instrument_status("BTC", marketStatus="Closed")
        lapsed = await collect(reports, lambda r: r.messageType == "Cancelled")
    assert (lapsed[-1].orderId, lapsed[-1].cancelReason) == (placed.orderId, "Expiration")
    assert sim.instrument_status["BTC"]["marketStatus"] == "Closed"


@pytest.fixture
async def calendar() -> AsyncIterator[tuple[ExberrySimulator, ExberryClient, list[float]]]:
    """A simulator whose calendar holds a dark auction at 12:30 UTC for a minute and an
    auction of 30 s when a halt ends, on a clock the test moves (``now[0]``, from
    noon), and a token client."""
    now = [NOON]
    auctions = [
        {"startTimes": ["12:30:00"], "duration": 60_000, "allowedTimeInForces": ["GTC", "GAA"],
         "eventsModes": ["INDICATIVE_PRICE"]},
        {"trigger": "Resume", "duration": 30_000},
    ]  # fmt: skip
    async with (
        ExberrySimulator(
            clock=lambda: now[0], tokens={"tok"}, calendars=[{"auctions": auctions}]
        ) as sim,
        ExberryClient(sim.url, token="tok", reconnect=INSTANT) as client,
    ):
        yield sim, client, now


async def test_calendar_auctions_start_and_uncross_on_time(
    calendar: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    sim, client, now = calendar
    async with (
        ExberryClient(sim.url, public_token="sim-md-token") as md,
        md.calendar_list() as calendars,
    ):
        listed = await asyncio.wait_for(anext(calendars), 5)
    assert [(a.trigger, a.startTimes, a.duration) for a in listed.auctions] == [  # type: ignore[union-attr]
        ("TimeBased", ["12:30:00"], 60_000),
        ("Resume", [], 30_000),
    ]
    state = await client.order_book_state()
    async with client.order_book_depth(trackingNumber=state.last_tracking_number) as depth:
        await client.order_book_state()
        now[0] = NOON + 30 * 60  # 12:30: the scheduled auction starts at the next request
        await client.order_book_state()
        started = await collect(depth, lambda e: market_status("AuctionCall")(e)
                                and e.instrument == "ETH")  # fmt: skip
        assert [e.instrument for e in started] == ["BTC", "ETH"]  # every open instrument
        gaa = await client.place_order(instrument="BTC", side="Buy", quantity=2, price=100.0,
                                       timeInForce="GAA", mpOrderId=1)  # fmt: skip
        sim.place_order("other-mp", {**SELL, "mpOrderId": 1, "quantity": 1, "price": 99.5})
        # Dark: the book hears of neither order, only of the indicative price.
        assert (await client.order_book_state()).orders == []
        heard = await collect(depth, lambda e: isinstance(e, AuctionIndicativeEP)
                              and e.instrument == "BTC" and e.pairedQuantity == 1)  # fmt: skip
        assert not any(isinstance(e, Add) for e in heard)
        now[0] = NOON + 31 * 60  # the minute is over: it uncrosses at the next request
        await client.order_book_state()
        crossed = await collect(
            depth, lambda e: market_status("Opened")(e) and e.instrument == "BTC"
        )
        kinds = [type(e).__name__ for e in crossed if getattr(e, "instrument", "") == "BTC"]
        # The crossing, both orders revealed, the trade, what the GAA order left, open.
        assert kinds == ["InstrumentStatus", "Add", "Add", "Executed", "Cancelled",
                         "InstrumentStatus"]  # fmt: skip
        trade = next(e for e in crossed if isinstance(e, Executed))
        assert (trade.makerOrderId, trade.executedPrice, trade.executedQuantity) == (
            gaa.orderId,
            100,
            1,
        )
        # A halt ends with the calendar's Resume auction: unscheduled, UA.
        sim.set_instrument_status("BTC", tradingStatus="Halt")
        sim.set_instrument_status("BTC", tradingStatus="Trade")
        assert sim.instrument_status["BTC"]["marketStatus"] == "AuctionCall"
        async with client.execution_reports() as reports:
            await client.order_book_state()
            await client.place_order(instrument="BTC", side="Buy", quantity=1, price=101.0,
                                     mpOrderId=2)  # fmt: skip
            sim.place_order("other-mp", {**SELL, "mpOrderId": 2, "quantity": 1, "price": 101.0})
            added = await collect(reports, lambda r: r.messageType == "Add")
            now[0] += 30
            await client.order_book_state()
            filled = await collect(reports, lambda r: r.messageType == "Executed")
    assert (added[-1].marketModel, filled[-1].tradingMode) == ("UA", "UA")
    assert sim.instrument_status["BTC"]["marketStatus"] == "Opened"


async def test_a_halt_holds_an_auction_until_trading_resumes(
    calendar: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    sim, client, now = calendar
    sim.start_auction("ETH", duration=1_000)
    await client.place_order(instrument="ETH", side="Buy", quantity=1, price=10.0, mpOrderId=1)
    sim.place_order("other-mp", {**SELL, "instrument": "ETH", "mpOrderId": 1, "quantity": 1,
                                 "price": 10.0})  # fmt: skip
    sim.set_instrument_status("ETH", tradingStatus="Halt")
    now[0] += 5
    await client.order_book_state()
    assert sim.instrument_status["ETH"]["marketStatus"] == "AuctionCall"  # held: no cross
    sweeps = 0
    sweep = sim.expire_orders

    def counted() -> int:
        nonlocal sweeps
        sweeps += 1
        return sweep()

    sim.expire_orders = counted  # type: ignore[method-assign]
    for _ in range(100):  # an overdue end was re-armed at once, for ever: a busy loop
        await asyncio.sleep(0)
    assert sweeps == 0
    async with client.execution_reports() as reports:
        await client.order_book_state()
        sim.set_instrument_status("ETH", tradingStatus="Trade")  # the end is overdue: now
        filled = await collect(reports, lambda r: r.messageType == "Executed")
    assert (filled[-1].lastFilledPrice, filled[-1].tradingMode) == (10, "IA")
    assert sim.instrument_status["ETH"] == {
        "tradingStatus": "Trade",
        "marketStatus": "Opened",
        "status": "Active",
    }


async def test_the_trading_day_ends_with_calendar_end_of_day_events(
    calendar: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # The calendar's day never ended: no CalendarEndOfDay on either stream, and
    # calendar_list had no lastEodDate.
    sim, client, now = calendar
    sim.ledger.open_account("trader:tok", 36, balances={44: 10})
    sim.place_order("other-mp", {**SELL, "mpOrderId": 1, "quantity": 1, "price": 100.0})
    await client.place_order(instrument="BTC", side="Buy", quantity=1, price=100.0,
                             mpOrderId=2)  # a position to keep  # fmt: skip
    day = await client.place_order(instrument="BTC", side="Buy", quantity=1, price=90.0,
                                   timeInForce="DAY", mpOrderId=1)  # fmt: skip
    state = await client.order_book_state()
    async with (
        client.order_book_depth(trackingNumber=state.last_tracking_number) as depth,
        client.trades() as trades,
        ExberryClient(sim.url, public_token="sim-md-token") as md,
    ):
        await client.order_book_state()
        now[0] = NOON + 12 * 3600 + 30  # 00:00:30: the day closed at 23:59
        await client.order_book_state()
        closed = await collect(depth, lambda e: isinstance(e, CalendarEndOfDay))
        record = await asyncio.wait_for(anext(trades), 5)
        now[0] += 3 * 86_400  # three closes passed at once: one end of day, the last
        await client.order_book_state()
        later = await collect(depth, lambda e: isinstance(e, CalendarEndOfDay))
        async with md.calendar_list() as calendars:
            listed = await asyncio.wait_for(anext(calendars), 5)
    cancelled = [e for e in closed if isinstance(e, Cancelled)]
    assert [e.orderId for e in cancelled] == [day.orderId]  # the DAY order went first
    eod = closed[-1]
    assert (eod.calendarId, eod.calendarName, eod.eodDate) == (1, "Always", "2026-11-24")
    assert isinstance(record, Trade)
    assert (record.actionType, record.eodDate) == ("CalendarEndOfDay", "2026-11-24")
    assert record.trackingNumber == eod.trackingNumber  # one action, as the samples show
    assert [e.eodDate for e in later if isinstance(e, CalendarEndOfDay)] == ["2026-11-27"]
    assert listed.lastEodDate == "2026-11-27"  # type: ignore[union-attr]
    # The same close ends the day for positions and the ledger's holdings.
    kept = await client.mp_positions(reportType="MP", eodDateFrom="2026-11-24")
    assert [(p.eodDate, p.netPosition) for p in kept.positions if p.eodDate] == [
        ("2026-11-24", 1), ("2026-11-27", 1)
    ]  # fmt: skip
    holdings = await client.mp_holdings_summary(eodDateFrom="2026-11-24")
    assert [(h.eodDate, h.eodHoldings) for h in holdings.holdings] == [
        ("2026-11-24", 10), ("2026-11-27", 10)
    ]  # fmt: skip


async def test_icebergs_and_hidden_orders_cross_with_all_they_hold(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    sim, client = exberry_sim, exberry_client
    iceberg = {"displayMethod": "DisplayQuantity", "displayQuantity": 2}
    sim.place_order("other-mp", {**SELL, "mpOrderId": 1, "quantity": 3, "price": 99.5,
                                 "displayMethod": "Hidden"})  # fmt: skip
    book = ExberryOrderBook("BTC")
    state = await client.order_book_state()
    book.load(state)
    async with client.order_book_depth(trackingNumber=state.last_tracking_number) as depth:
        sim.start_auction("BTC")
        await client.place_order(instrument="BTC", side="Buy", quantity=5, price=100.0,
                                 mpOrderId=1)  # fmt: skip
        sim.place_order("other-mp", {**SELL, **iceberg, "mpOrderId": 2, "quantity": 10,
                                     "price": 100.0})  # fmt: skip
        # At 100 the buy takes the older hidden offer (a NonDisplayTrade: the book never
        # showed it), then, as the older order, 2 of the iceberg's slice of 2, which
        # then shows a fresh slice.
        sim.set_instrument_status("BTC", marketStatus="Opened")
        await client.order_book_state()
        events: list[Any] = []
        while book.last_tracking_number != sim._tracking:
            events.append(await asyncio.wait_for(anext(depth), 5))
            book.apply(events[-1])
    venue = ExberryOrderBook("BTC")
    venue.load(await client.order_book_state())
    assert (book.bids(), book.asks()) == (venue.bids(), venue.asks()) == ([], [(100.0, 2.0)])
    trades = [(type(e).__name__, e.executedQuantity) for e in events if hasattr(e, "matchId")]
    assert trades == [("NonDisplayTrade", 3), ("Executed", 2)]
    left = next(o for o in sim.orders.values() if o["mpOrderId"] == 2)
    assert (left["remainingOpenQuantity"], left["status"]) == (8, "Active")


def random_order(rnd: random.Random, n: int, auction: bool) -> dict[str, Any]:
    """An order a busy market might send: limit orders (some icebergs or hidden, on
    the phase's times in force) and market orders."""
    order: dict[str, Any] = {"mpOrderId": n, "side": rnd.choice(["Buy", "Sell"]),
                             "instrument": "BTC", "quantity": rnd.choice([1, 2, 3, 5])}  # fmt: skip
    if rnd.random() < 0.15:
        return {**order, "orderType": "Market", "timeInForce": "IOC"}
    tifs = ["GTC", "GTC", "GAA", "IOC", "DAY"] if auction else ["GTC", "IOC"]
    order.update(orderType="Limit", price=rnd.choice([98.5, 99, 99.5, 100, 100.5, 101, 101.5]),
                 timeInForce=rnd.choice(tifs))  # fmt: skip
    if order["timeInForce"] == "GTC" and rnd.random() < 0.6:
        if order["quantity"] > 1 and rnd.random() < 0.5:
            order.update(displayMethod="DisplayQuantity", displayQuantity=1)
        else:
            order.update(displayMethod="Hidden")
    return order


@pytest.mark.parametrize("seed", range(30))
async def test_after_any_auction_the_streamed_book_is_the_venues_and_uncrossed(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, seed: int
) -> None:
    sim, client, rnd = exberry_sim, exberry_client, random.Random(seed)
    book = ExberryOrderBook("BTC")
    state = await client.order_book_state()
    book.load(state)
    async with client.order_book_depth(trackingNumber=state.last_tracking_number) as depth:
        for n in range(40):
            if n == 15:
                modes = rnd.choice([["LIT", "INDICATIVE_PRICE"], ["INDICATIVE_PRICE"]])
                sim.start_auction("BTC", eventsModes=modes)
            mp = rnd.choice(["a", "b", "c"])
            try:
                sim.place_order(mp, random_order(rnd, n, auction=n >= 15))
                resting = [o for o in sim.orders.values() if o["status"] == "Active"]
                if n >= 15 and resting and rnd.random() < 0.2:  # a cancel or a replace
                    o = rnd.choice(resting)
                    d = {"instrument": "BTC", "orderId": o["orderId"]}
                    if rnd.random() < 0.5:
                        sim.cancel_order(o["_mp"], d)
                    else:
                        sim.replace_order(o["_mp"], {**d, "quantity": o["quantity"] + 1,
                                                     "price": o["price"]})  # fmt: skip
            except Fail:
                pass  # refused (a self-trade, a full book...): the venue's answer
        sim.set_instrument_status("BTC", marketStatus="Opened")
        await client.order_book_state()
        while book.last_tracking_number != sim._tracking:
            book.apply(await asyncio.wait_for(anext(depth), 5))
    venue = ExberryOrderBook("BTC")
    venue.load(await client.order_book_state())
    assert (book.bids(), book.asks()) == (venue.bids(), venue.asks())
    resting = [o for side in sim.books["BTC"].values() for o in side]
    buys = [o["price"] for o in resting if o["side"] == "Buy"]
    sells = [o["price"] for o in resting if o["side"] == "Sell"]
    assert not (buys and sells and max(buys) >= min(sells))  # hidden orders included
    assert not [o for o in resting if o["timeInForce"] in ("GAA", "IOC")]


async def test_trade_reports_wait_for_an_open_instrument(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # Trade reports were taken whatever the instrument's state (and an unknown alleged
    # trade was "100 Missing or invalid parameter" where the table says 1100).
    from deribit_client.exberry import NotFound

    sim, client = exberry_sim, exberry_client
    me, other = sim.participant(SIM_API_KEY), sim.participant("other-mp")
    terms: dict[str, Any] = {"instrument": "BTC", "type": "Block", "price": 100.25,
                             "quantity": 2, "buy": {"mpName": me.mp_name},
                             "sell": {"mpName": other.mp_name}}  # fmt: skip
    alleged = await client.create_trade_report(flow="AllegedSystemMatch", externalTradeId=1,
                                               **terms)  # fmt: skip
    for state, text in (
        ({"tradingStatus": "Halt"}, "Instrument trading is halt"),
        ({"tradingStatus": "Trade", "marketStatus": "AuctionCall"}, "during auction call"),
        ({"marketStatus": "AuctionCrossing"}, "during crossing"),
        ({"marketStatus": "Closed"}, "Market is closed"),
    ):
        sim.set_instrument_status("BTC", **state)
        with pytest.raises(MarketStateError, match=text) as info:
            await client.create_trade_report(flow="LockedIn", externalTradeId=2, **terms)
        assert info.value.code == 102
        with pytest.raises(MarketStateError, match=text):
            await client.cancel_alleged_trade_report(
                instrument="BTC", allegedTradeId=alleged.allegedTradeId or 0
            )
    sim.set_instrument_status("BTC", marketStatus="Opened")
    made = await client.create_trade_report(flow="LockedIn", externalTradeId=2, **terms)
    assert made.tradeId is not None
    with pytest.raises(NotFound, match="Alleged trade not found for that instrument") as gone:
        await client.cancel_alleged_trade_report(
            instrument="ETH", allegedTradeId=alleged.allegedTradeId or 0
        )
    assert gone.value.code == 1100


WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
NINE_TO_FIVE = {"marketOpen": "09:00", "marketClose": "17:00", "tradingDays": WEEKDAYS}


def statuses(events: list[Any]) -> list[tuple[str | None, str | None]]:
    return [(e.instrument, e.marketStatus) for e in events if isinstance(e, InstrumentStatus)]


async def test_the_market_opens_and_closes_as_its_calendar_says() -> None:
    # The simulator's one calendar never closed: a bot could not meet "Market is
    # closed", an opening, or a weekend.
    now = [NOON - 3 * 3600 - 60]  # Tuesday 08:59
    async with (
        ExberrySimulator(clock=lambda: now[0], tokens={"tok"}, calendars=[NINE_TO_FIVE]) as sim,
        ExberryClient(sim.url, token="tok", reconnect=INSTANT) as client,
    ):
        with pytest.raises(MarketStateError, match="Market is closed"):
            await client.place_order(instrument="BTC", side="Buy", quantity=1, price=90.0,
                                     mpOrderId=1)  # fmt: skip
        state = await client.order_book_state()
        async with client.order_book_depth(trackingNumber=state.last_tracking_number) as depth:
            await client.order_book_state()
            now[0] += 60  # 09:00
            await client.order_book_state()
            opened = await collect(depth, lambda e: market_status("Opened")(e)
                                   and e.instrument == "ETH")  # fmt: skip
            day = await client.place_order(instrument="BTC", side="Buy", quantity=1, price=90.0,
                                           timeInForce="DAY", mpOrderId=1)  # fmt: skip
            now[0] = NOON + 5 * 3600  # 17:00
            await client.order_book_state()
            closed = await collect(depth, lambda e: market_status("Closed")(e)
                                   and e.instrument == "ETH")  # fmt: skip
            now[0] += 3 * 86_400 + 16 * 3600  # Saturday 09:00: no session
            await client.order_book_state()
            with pytest.raises(MarketStateError, match="Market is closed"):
                await client.place_order(instrument="BTC", side="Buy", quantity=1, price=90.0,
                                         mpOrderId=2)  # fmt: skip
            now[0] += 2 * 86_400  # Monday 09:00
            await client.order_book_state()
            monday = await collect(depth, lambda e: market_status("Opened")(e)
                                   and e.instrument == "ETH")  # fmt: skip
    assert statuses(opened) == [("BTC", "Opened"), ("ETH", "Opened")]
    # The DAY order expires, the day ends, then the market closes.
    kinds = [type(e).__name__ for e in closed]
    assert kinds == ["Add", "Cancelled", "CalendarEndOfDay", "InstrumentStatus",
                     "InstrumentStatus"]  # fmt: skip
    assert closed[1].orderId == day.orderId
    assert closed[2].eodDate == "2026-11-24"
    # Friday's end of day came before the weekend; Monday opens.
    assert [e.eodDate for e in monday if isinstance(e, CalendarEndOfDay)] == ["2026-11-27"]
    assert statuses(monday) == [("BTC", "Opened"), ("ETH", "Opened")]


async def test_an_opening_auction_and_one_past_the_close() -> None:
    now = [NOON - 3 * 3600 - 10 * 60]  # Tuesday 08:50
    calendars = [{**NINE_TO_FIVE, "auctions": [
        {"startTimes": ["08:55:00", "16:58:00"], "duration": 300_000},
    ]}]  # fmt: skip
    async with (
        ExberrySimulator(clock=lambda: now[0], tokens={"tok"}, calendars=calendars) as sim,
        ExberryClient(sim.url, token="tok", reconnect=INSTANT) as client,
    ):
        state = await client.order_book_state()
        async with client.order_book_depth(trackingNumber=state.last_tracking_number) as depth:
            await client.order_book_state()
            now[0] += 5 * 60  # 08:55: the closed market's opening auction
            await client.order_book_state()
            called = await collect(depth, lambda e: market_status("AuctionCall")(e)
                                   and e.instrument == "ETH")  # fmt: skip
            await client.place_order(instrument="BTC", side="Buy", quantity=1, price=100.0,
                                     timeInForce="GAA", mpOrderId=1)  # fmt: skip
            sim.place_order("other-mp", {**SELL, "mpOrderId": 1, "quantity": 1, "price": 100.0})
            now[0] += 5 * 60  # 09:00: it uncrosses into the open market
            await client.order_book_state()
            crossed = await collect(depth, lambda e: market_status("Opened")(e)
                                    and e.instrument == "ETH")  # fmt: skip
            now[0] = NOON + 4 * 3600 + 58 * 60  # 16:58: an auction the close falls in
            await client.order_book_state()
            await collect(
                depth, lambda e: market_status("AuctionCall")(e) and e.instrument == "ETH"
            )
            now[0] += 2 * 60  # 17:00: the day ends, the auction goes on
            await client.order_book_state()
            ended = await collect(depth, lambda e: isinstance(e, CalendarEndOfDay))
            assert sim.instrument_status["BTC"]["marketStatus"] == "AuctionCall"
            now[0] += 3 * 60  # 17:03: it uncrosses into the closed market
            await client.order_book_state()
            after = await collect(depth, lambda e: market_status("Closed")(e)
                                  and e.instrument == "ETH")  # fmt: skip
    assert statuses(called) == [("BTC", "AuctionCall"), ("ETH", "AuctionCall")]
    assert [e.executedPrice for e in crossed if isinstance(e, Executed)] == [100]
    assert ("BTC", "Opened") in statuses(crossed)
    assert not statuses(ended)
    assert statuses(after) == [
        ("BTC", "AuctionCrossing"), ("BTC", "Closed"),
        ("ETH", "AuctionCrossing"), ("ETH", "Closed"),
    ]  # fmt: skip


async def test_stop_orders_trigger_only_on_trades_since_the_open() -> None:
    # "Order will be immediately injected only in case there was an order book execution
    # since last time market opened": yesterday's last trade does not trigger.
    now = [NOON]
    async with (
        ExberrySimulator(clock=lambda: now[0], tokens={"tok"}, calendars=[NINE_TO_FIVE]) as sim,
        ExberryClient(sim.url, token="tok", reconnect=INSTANT) as client,
    ):
        sim.place_order("other-mp", {**SELL, "mpOrderId": 1, "quantity": 1, "price": 100.0})
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=100.0,
                                 mpOrderId=1)  # fmt: skip
        now[0] += 86_400  # Wednesday noon: the market closed and opened since
        stop = await client.place_order(instrument="BTC", side="Buy", quantity=1,
                                        orderType="Stop", stopPrice=99.5, mpOrderId=2)  # fmt: skip
        held, _ = await client.mass_order_status()
        sim.place_order("other-mp", {**SELL, "mpOrderId": 2, "quantity": 2, "price": 100.0})
        sim.place_order("third-mp", {**SELL, "side": "Buy", "mpOrderId": 1, "quantity": 1,
                                     "price": 100.0})  # fmt: skip
        left, _ = await client.mass_order_status()
    assert [(o.orderId, o.status) for o in held] == [(stop.orderId, "Suspended")]
    assert left == []  # today's trade triggered it: it bought the other unit


async def test_instruments_follow_their_own_calendars() -> None:
    now = [NOON + 4 * 3600]  # Tuesday 16:00
    bonds = {"id": 2, "name": "Bonds", "marketOpen": "08:00", "marketClose": "16:30"}
    async with (
        ExberrySimulator(
            clock=lambda: now[0],
            tokens={"tok"},
            instruments=["BTC", {"symbol": "BOND", "calendarId": 2}],
            calendars=[{}, bonds],
        ) as sim,
        ExberryClient(sim.url, token="tok", reconnect=INSTANT) as client,
        ExberryClient(sim.url, public_token="sim-md-token") as md,
        md.calendar_list() as listing,
    ):
        listed = [await asyncio.wait_for(anext(listing), 5) for _ in range(2)]
        for n, symbol in enumerate(("BTC", "BOND"), 8):  # a position in each
            sim.place_order("other-mp", {**SELL, "instrument": symbol, "mpOrderId": n,
                                         "quantity": 1, "price": 90.0})  # fmt: skip
            await client.place_order(instrument=symbol, side="Buy", quantity=1, price=90.0,
                                     mpOrderId=n)  # fmt: skip
        state = await client.order_book_state()
        async with client.order_book_depth(trackingNumber=state.last_tracking_number) as depth:
            await client.order_book_state()
            now[0] += 30 * 60  # 16:30: the bonds' day ends
            await client.order_book_state()
            closed = await collect(depth, market_status("Closed"))
            await client.place_order(instrument="BTC", side="Buy", quantity=1, price=90.0,
                                     mpOrderId=1)  # fmt: skip
            with pytest.raises(MarketStateError, match="Market is closed"):
                await client.place_order(instrument="BOND", side="Buy", quantity=1, price=90.0,
                                         mpOrderId=2)  # fmt: skip
        kept = await client.mp_positions(reportType="MP", eodDateFrom="2026-11-24")
        update = await asyncio.wait_for(anext(listing), 5)  # the calendar changed
    assert [(c.id, c.name, c.marketClose, c.lastMessage) for c in listed] == [  # type: ignore[union-attr]
        (1, "Always", "23:59", None), (2, "Bonds", "16:30", "Y"),
    ]  # fmt: skip
    assert (update.id, update.lastEodDate, update.lastMessage) == (2, "2026-11-24", None)  # type: ignore[union-attr]
    eod = [(e.calendarId, e.calendarName) for e in closed if isinstance(e, CalendarEndOfDay)]
    assert eod == [(2, "Bonds")]
    assert statuses(closed) == [("BOND", "Closed")]
    assert [(p.instrument, p.eodDate) for p in kept.positions if p.eodDate] == [
        ("BOND", "2026-11-24")
    ]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"instruments": [{"symbol": "BOND", "calendarId": 7}]}, "calendarId"),
        ({"calendars": [{}, {}]}, "two calendars with id 1"),
        ({"calendars": []}, "needs a calendar"),
        ({"calendars": [{"marketOpen": "9"}]}, "marketOpen"),
    ],
)
def test_a_calendar_setup_the_simulator_cannot_run_is_refused(
    arguments: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        ExberrySimulator(**arguments)
