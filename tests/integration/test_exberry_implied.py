"""Exberry strategy instruments and implied orders: ExberryClient against the simulator."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deribit_client.exberry import ExberryClient, ExberryOrderBook
from deribit_client.exberry.models import Add, Executed, Party, Trade
from deribit_client.testing.exberry import ExberrySimulator
from tests.helpers import EXBERRY_KEY, next_event

SPREAD = {  # the documentation's example: InstAB buys 1 InstA and sells 1 InstB
    "symbol": "AB", "type": "Spread", "impliedOrders": True,
    "legs": [{"instrument": "A", "side": "Buy"}, {"instrument": "B", "side": "Sell"}],
}  # fmt: skip
STRIP = {  # buys B and C at prices averaging its own
    "symbol": "BC", "type": "StripAveragePrice", "impliedOrders": True,
    "legs": [{"instrument": "B", "side": "Buy"}, {"instrument": "C", "side": "Buy"}],
}  # fmt: skip


def spread_sim(**strategy: Any) -> ExberrySimulator:
    return ExberrySimulator(
        instruments=["A", "B", "AB"], tick_size=0.01, strategies=[SPREAD | strategy]
    )


def other(
    sim: ExberrySimulator, mp: str, instrument: str, side: str, qty: float, price: float
) -> int:
    """Place a limit order for another participant; its orderId."""
    mp_order_id = sum(1 for o in sim.orders.values() if o["_mp"] == mp) + 1
    placed = sim.place_order(mp, {
        "mpOrderId": mp_order_id, "orderType": "Limit", "side": side,
        "instrument": instrument, "quantity": qty, "price": price,
    })  # fmt: skip
    return int(placed[0]["orderId"])


def system_orders(sim: ExberrySimulator, instrument: str) -> list[tuple[str, float, float]]:
    """The implied orders on ``instrument``'s book: (side, price, quantity)."""
    return [
        (side, o["price"], o["remainingOpenQuantity"])
        for side, orders in sim.books[instrument].items()
        for o in orders
        if o["mpId"] == -1
    ]


async def records(stream: AsyncIterator[object], n: int) -> list[Trade]:
    got = [await next_event(stream) for _ in range(n)]
    assert all(isinstance(r, Trade) for r in got)
    return got  # type: ignore[return-value]


async def test_the_documented_implied_out_example() -> None:
    # Exberry's implied-orders page: InstA offers 5 at 10.05, InstAB is bid 4 at 0.02, so
    # the System offers 4 InstB at 10.03; a buyer of InstB there trades all three books.
    async with (
        spread_sim() as sim,
        ExberryClient(sim.url, **EXBERRY_KEY) as client,
        client.order_book_depth(trackingNumber=0) as book,
        client.trades(trackingNumber=0) as trades,
    ):
        other(sim, "mp1", "A", "Sell", 5, 10.05)
        desk = Party(id="desk-1", source="D", role=12)
        mine = await client.place_order(
            instrument="AB", side="Buy", quantity=4, price=0.02, mpOrderId=7,
            accountType="Client", parties=[desk],
        )  # fmt: skip
        assert system_orders(sim, "B") == [("Sell", 10.03, 4)]
        events = [await next_event(book) for _ in range(3)]
        implied = events[2]
        assert isinstance(implied, Add)
        assert (implied.instrument, implied.mpId, implied.side) == ("B", -1, "Sell")
        assert (implied.price, implied.quantity) == (10.03, 4)
        assert implied.mpOrderId is None  # the System's order has none
        buyer = other(sim, "mp5", "B", "Buy", 4, 10.03)

        strategy, leg_a, leg_b = await records(trades, 3)
        assert (strategy.instrument, strategy.side, strategy.price, strategy.quantity) == (
            "AB", "Buy", 0.02, 4,
        )  # fmt: skip
        assert strategy.multiLegReportingType == "MultiLegSecurity"
        assert (strategy.orderId, strategy.makerTaker) == (mine.orderId, "Taker")
        legs = ((leg_a, 1, "A", "Buy", 10.05), (leg_b, 2, "B", "Sell", 10.03))
        for leg, ref, instrument, side, price in legs:
            assert (leg.instrument, leg.side, leg.price, leg.quantity) == (
                instrument,
                side,
                price,
                4,
            )
            assert leg.multiLegReportingType == "IndividualLeg"
            assert leg.orderId is None  # the leg trade is the strategy order's, not an order's
            assert (leg.tradeLegRefId, leg.makerTaker) == (ref, "Taker")
            assert (leg.multiLegStrategyInstrument, leg.multiLegStrategyTradeId) == (
                "AB", strategy.tradeId,
            )  # fmt: skip
            assert (leg.multiLegStrategyOrderId, leg.multiLegStrategyMpOrderId) == (
                mine.orderId, 7,
            )  # fmt: skip
            assert leg.multiLegDifferentialPrice == 0.02
            assert (leg.accountType, leg.parties) == ("Client", [desk])  # the order's

        executed = [
            e for e in [await next_event(book) for _ in range(3)] if isinstance(e, Executed)
        ]
        by_instrument = {e.instrument: e for e in executed}
        # The side without an order is -1; the regular InstB order is the maker.
        ab, a, b = by_instrument["AB"], by_instrument["A"], by_instrument["B"]
        assert (ab.makerOrderId, ab.makerMpId, ab.takerOrderId) == (-1, -1, mine.orderId)
        assert (a.takerOrderId, a.takerMpId, a.executedPrice) == (-1, -1, 10.05)
        assert (b.makerOrderId, b.takerOrderId, b.takerMpId) == (buyer, implied.orderId, -1)
        assert system_orders(sim, "B") == []
        assert [o["remainingOpenQuantity"] for o in sim.books["A"]["Sell"]] == [1]


async def test_implied_in_orders_trade_the_legs_orders() -> None:
    async with (
        spread_sim() as sim,
        ExberryClient(sim.url, **EXBERRY_KEY) as client,
        client.execution_reports() as reports,
        client.trades() as trades,
    ):
        bid_a = other(sim, "mp1", "A", "Buy", 3, 10)
        ask_b = other(sim, "mp2", "B", "Sell", 2, 9.5)
        # Selling InstAB sells InstA and buys InstB: the bids of A, the offers of B.
        assert system_orders(sim, "AB") == [("Buy", 0.5, 2)]
        sold = await client.place_order(
            instrument="AB", side="Sell", quantity=5, price=0.4, mpOrderId=1
        )
        strategy, leg_a, leg_b = await records(trades, 3)
        # It trades at the implied order's price; the implied order rested: it is the
        # maker, the regular order and its leg trades the takers.
        assert (strategy.price, strategy.quantity, strategy.makerTaker) == (0.5, 2, "Taker")
        assert [(t.instrument, t.side, t.price, t.makerTaker) for t in (leg_a, leg_b)] == [
            ("A", "Sell", 10, "Taker"), ("B", "Buy", 9.5, "Taker"),
        ]  # fmt: skip
        assert {t.multiLegStrategyOrderId for t in (leg_a, leg_b)} == {sold.orderId}
        fill = await next_event(reports)
        assert getattr(fill, "lastFilledQuantity", None) == 2
        # The rest rests; with B's offer gone the System makes no bid.
        assert [o["remainingOpenQuantity"] for o in sim.books["AB"]["Sell"]] == [3]
        assert system_orders(sim, "AB") == []
        assert sim.orders[bid_a]["filledQuantity"] == 2
        assert sim.orders[ask_b]["status"] == "Executed"
        # Leg makers hear of plain trades.
        maker_side = [p for _, kind, owner, p in sim.events if kind == "trades" and owner == "mp1"]
        assert [(p["makerTaker"], p["multiLegReportingType"]) for p in maker_side] == [
            ("Maker", "SingleSecurity")
        ]


async def test_implied_orders_follow_the_best_orders_and_the_market() -> None:
    sim = spread_sim()
    first = other(sim, "mp1", "A", "Buy", 1, 10)
    other(sim, "mp2", "B", "Sell", 4, 9.5)
    assert system_orders(sim, "AB") == [("Buy", 0.5, 1)]
    other(sim, "mp3", "A", "Buy", 2, 10)  # more at the best bid
    assert system_orders(sim, "AB") == [("Buy", 0.5, 3)]
    other(sim, "mp3", "A", "Buy", 1, 10.25)  # a better one alone makes the price
    assert system_orders(sim, "AB") == [("Buy", 0.75, 1)]
    hidden = {"mpOrderId": 9, "orderType": "Limit", "side": "Buy", "instrument": "A",
              "quantity": 5, "price": 10.5, "displayMethod": "Hidden"}  # fmt: skip
    sim.place_order("mp4", hidden)  # shows nothing: implies nothing
    assert system_orders(sim, "AB") == [("Buy", 0.75, 1)]
    sim.cancel_order("mp1", {"instrument": "A", "orderId": first})
    assert system_orders(sim, "AB") == [("Buy", 0.75, 1)]
    # Only while every instrument of the strategy trades continuously.
    sim.start_auction("B")
    assert system_orders(sim, "AB") == []
    sim.set_instrument_status("B", marketStatus="Opened")
    assert system_orders(sim, "AB") == [("Buy", 0.75, 1)]
    sim.set_instrument_status("AB", tradingStatus="Halt")
    assert system_orders(sim, "AB") == []
    withdrawn = [
        p for _, kind, _, p in sim.events
        if kind == "orderBookDepth" and p["messageType"] == "Cancelled" and p["mpId"] == -1
    ]  # fmt: skip
    assert withdrawn
    assert all("mpOrderId" not in p for p in withdrawn)
    # Without impliedOrders a strategy trades on its own book only.
    plain = spread_sim(impliedOrders=False)
    other(plain, "mp1", "A", "Buy", 1, 10)
    other(plain, "mp2", "B", "Sell", 4, 9.5)
    assert system_orders(plain, "AB") == []


async def test_a_local_book_follows_books_with_implied_orders() -> None:
    async with (
        spread_sim() as sim,
        ExberryClient(sim.url, **EXBERRY_KEY) as client,
        client.order_book_depth() as stream,
    ):
        local = {symbol: ExberryOrderBook(symbol) for symbol in ("A", "B", "AB")}
        state = await client.order_book_state()
        for book in local.values():
            book.load(state)
        actions = [
            ("mp1", "A", "Sell", 5, 10.05), ("mp2", "AB", "Buy", 4, 0.02),
            ("mp3", "B", "Buy", 1, 10.03), ("mp2", "AB", "Buy", 2, 0.03),
            ("mp1", "A", "Buy", 2, 9.9), ("mp4", "B", "Sell", 6, 9.8),
            ("mp4", "AB", "Sell", 1, 0.1), ("mp3", "B", "Buy", 9, 10.1),
        ]  # fmt: skip
        for action in actions:
            other(sim, *action)
        sent = [
            t for t, kind, _, _ in sim.events
            if kind == "orderBookDepth" and t > (state.last_tracking_number or 0)
        ]  # fmt: skip
        shown = [p for t, kind, _, p in sim.events if kind == "orderBookDepth" and t in sent]
        assert any(p["messageType"] == "Add" and p["mpId"] == -1 for p in shown)
        for _ in sent:
            event = await next_event(stream)
            for book in local.values():
                book.apply(event)
        for symbol, book in local.items():
            for side, levels in (("Buy", book.bids()), ("Sell", book.asks())):
                expected: dict[float, float] = {}
                for o in sim.books[symbol][side]:
                    left = expected.get(o["price"], 0) + o["remainingOpenQuantity"]
                    expected[o["price"]] = round(left, 6)
                assert dict(levels) == expected, (symbol, side)


def test_strategies_are_checked() -> None:
    make = functools.partial(ExberrySimulator, instruments=["A", "B", "AB"])
    for spec, message in (
        (SPREAD | {"symbol": "XY"}, "one of the instruments"),
        (SPREAD | {"type": "Butterfly"}, "type must be one of"),
        (SPREAD | {"legs": [{"instrument": "A", "side": "Buy"}]}, "two or more"),
        (
            SPREAD
            | {"legs": [{"instrument": "A", "side": "Buy"}, {"instrument": "B", "side": "Buy"}]},
            "buys one leg and sells",
        ),
        (SPREAD | {"type": "StripAveragePrice"}, "all its legs on one side"),
        (
            SPREAD
            | {"legs": [{"instrument": "AB", "side": "Buy"}, {"instrument": "B", "side": "Sell"}]},
            "another instrument",
        ),
        (SPREAD | {"impliedOrders": "yes"}, "impliedOrders must be"),
    ):
        with pytest.raises(ValueError, match=message):
            make(strategies=[spec])
    nested = SPREAD | {"symbol": "ABB", "legs": [{"instrument": "AB", "side": "Buy"},
                                                 {"instrument": "B", "side": "Sell"}]}  # fmt: skip
    with pytest.raises(ValueError, match="no strategy's leg"):
        ExberrySimulator(instruments=["A", "B", "AB", "ABB"], strategies=[SPREAD, nested])
    with pytest.raises(ValueError, match="defined once"):
        make(strategies=[SPREAD, SPREAD])
    sim = make(strategies=[SPREAD])
    with pytest.raises(ValueError, match="strategy instrument or a leg of one"):
        sim.ledger.settle_trades("A", base="GOLD", quote="USD")


def test_average_strips_imply_only_prices_on_the_tick() -> None:
    sim = ExberrySimulator(instruments=["B", "C", "BC"], strategies=[STRIP])  # tick 0.5
    other(sim, "mp1", "B", "Buy", 3, 10)
    other(sim, "mp2", "C", "Buy", 2, 9)
    assert system_orders(sim, "BC") == [("Buy", 9.5, 2)]
    other(sim, "mp2", "C", "Buy", 2, 9.5)  # averages 9.75: off the 0.5 tick
    assert system_orders(sim, "BC") == []
    # Out of the strip and B into C: a strip bid of 10 with B offered at 10.5 bids C 9.5.
    other(sim, "mp3", "BC", "Buy", 1, 10)
    other(sim, "mp4", "B", "Sell", 1, 10.5)
    assert ("Buy", 9.5, 1) in system_orders(sim, "C")


def test_implied_orders_never_trade_with_each_other() -> None:
    # B is a leg of two strategies whose implied out orders on B would cross: the one
    # that would trade with the other is not made.
    sim = ExberrySimulator(instruments=["A", "B", "C", "AB", "BC"], strategies=[SPREAD, STRIP])
    other(sim, "mp1", "A", "Sell", 1, 10)
    other(sim, "mp2", "AB", "Buy", 1, 0.5)
    assert system_orders(sim, "B") == [("Sell", 9.5, 1)]
    other(sim, "mp3", "C", "Sell", 1, 10)
    other(sim, "mp4", "BC", "Buy", 1, 10)  # would bid B at 2 x 10 - 10 = 10
    assert system_orders(sim, "B") == [("Sell", 9.5, 1)]
    assert not [p for _, kind, _, p in sim.events if kind == "trades"]


def test_a_taker_passes_an_implied_order_whose_bases_another_took() -> None:
    # Two spreads of the same legs both offer B out of A's one offer: the first to
    # trade takes it; the second is withdrawn and the buyer goes on to the next price.
    twin = SPREAD | {"symbol": "AB2"}
    sim = ExberrySimulator(instruments=["A", "B", "AB", "AB2"], strategies=[SPREAD, twin])
    other(sim, "mp1", "A", "Sell", 1, 10)
    first = other(sim, "mp2", "AB", "Buy", 1, 0.5)
    second = other(sim, "mp3", "AB2", "Buy", 1, 0.5)
    assert system_orders(sim, "B") == [("Sell", 9.5, 1), ("Sell", 9.5, 1)]
    ask = other(sim, "mp5", "B", "Sell", 1, 10)
    buyer = other(sim, "mp4", "B", "Buy", 2, 10)
    assert sim.orders[buyer]["status"] == "Executed"
    assert (sim.orders[first]["status"], sim.orders[second]["status"]) == ("Executed", "Active")
    assert sim.orders[ask]["status"] == "Executed"
    assert sim.books["B"] == {"Buy": [], "Sell": []}
