"""Implied orders in the Exberry simulator, driven at random: whatever participants do,
books stay uncrossed, the System's orders are what the books imply, trades add up."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from deribit_client.testing.exberry import ExberrySimulator
from tests.integration.test_exberry_implied import SPREAD, STRIP

STRATEGIES = [SPREAD, STRIP]  # B is a leg of both: one's trades take the other's bases
PRICES = {
    "A": (9, 9.5, 10, 10.5), "B": (9, 9.5, 10), "C": (9, 9.5, 10, 10.5),
    "AB": (-0.5, 0, 0.5, 1), "BC": (9, 9.5, 10),
}  # fmt: skip
SIDES = {"Buy": 1, "Sell": -1}

step = st.tuples(
    st.sampled_from(["mp1", "mp2", "mp3"]),
    st.sampled_from(sorted(PRICES)),
    st.sampled_from(["Buy", "Sell"]),
    st.integers(1, 4),
    st.integers(0, 3),  # the price's index
    st.sampled_from(["GTC", "GTC", "IOC", "cancel", "iceberg"]),
)


def act(sim: ExberrySimulator, n: int, action: tuple[str, str, str, int, int, str]) -> None:
    mp, instrument, side, qty, at, kind = action
    prices = PRICES[instrument]
    if kind == "cancel":
        mine = [o for o in sim.orders.values() if o["_mp"] == mp and o["status"] == "Active"]
        if mine:
            order = mine[at % len(mine)]
            sim.cancel_order(mp, {"instrument": order["instrument"], "orderId": order["orderId"]})
        return
    d: dict[str, Any] = {
        "mpOrderId": n, "orderType": "Limit", "side": side, "instrument": instrument,
        "quantity": qty + 1 if kind == "iceberg" else qty, "price": prices[at % len(prices)],
        "timeInForce": "IOC" if kind == "IOC" else "GTC",
    }  # fmt: skip
    if kind == "iceberg":
        d |= {"displayMethod": "DisplayQuantity", "displayQuantity": 1}
    sim.place_order(mp, d)


def best(orders: list[dict[str, Any]]) -> float | None:
    return orders[0]["price"] if orders else None


def check(sim: ExberrySimulator) -> None:
    books = sim.books
    # No book is left crossed: implied orders trade or are not made.
    for symbol, book in books.items():
        bid, ask = best(book["Buy"]), best(book["Sell"])
        assert bid is None or ask is None or bid < ask, symbol

    # The System's bid on AB is A's best shown bid minus B's best shown offer.
    def shown(symbol: str, side: str) -> tuple[float, float] | None:
        visible = [o for o in books[symbol][side] if o["mpId"] != -1 and o["_shown"] != 0]
        if not visible:
            return None
        price = visible[0]["price"]
        at = [o for o in visible if o["price"] == price]
        return price, sum(
            o["remainingOpenQuantity"] if o["_shown"] is None else o["_shown"] for o in at
        )

    implied_bids = [o for o in books["AB"]["Buy"] if o["mpId"] == -1]
    a, b = shown("A", "Buy"), shown("B", "Sell")
    if implied_bids:
        assert a is not None
        assert b is not None
        (order,) = implied_bids
        assert order["price"] == a[0] - b[0]
        assert order["remainingOpenQuantity"] == min(a[1], b[1])
    elif a is not None and b is not None:
        # Not made only when it would cross a resting implied offer.
        offers = [o["price"] for o in books["AB"]["Sell"] if o["mpId"] == -1]
        assert offers
        assert min(offers) <= a[0] - b[0]


def check_trades(sim: ExberrySimulator) -> None:
    records = [(owner, p) for _, kind, owner, p in sim.events if kind == "trades"]
    # Every leg instrument's trades have a buyer and a seller.
    volume: dict[str, Decimal] = defaultdict(Decimal)
    for _, p in records:
        if p["instrument"] in ("A", "B", "C"):
            volume[p["instrument"]] += SIDES[p["side"]] * Decimal(repr(p["quantity"]))
    assert all(v == 0 for v in volume.values()), volume
    # A strategy trade's legs: one per leg, its quantity, prices that make its price.
    strategy_trades = {
        p["tradeId"]: p for _, p in records if p["multiLegReportingType"] == "MultiLegSecurity"
    }
    legs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for owner, p in records:
        if p["multiLegReportingType"] == "IndividualLeg":
            legs[p["multiLegStrategyTradeId"]].append(p)
            parent = strategy_trades[p["multiLegStrategyTradeId"]]
            assert owner == sim.orders[p["multiLegStrategyOrderId"]]["_mp"]
            assert p["multiLegDifferentialPrice"] == parent["price"]
    for trade_id, allocated in legs.items():
        parent = strategy_trades[trade_id]
        allocated.sort(key=lambda p: p["tradeLegRefId"])
        assert [p["quantity"] for p in allocated] == [parent["quantity"]] * 2
        strategy = sim.strategies[parent["instrument"]]
        sides = strategy.leg_sides(parent["side"])
        assert [p["side"] for p in allocated] == list(sides)
        prices = [Decimal(repr(p["price"])) for p in allocated]
        assert strategy.price(prices) == Decimal(repr(parent["price"]))
    # Each order filled what its records say.
    filled: dict[int, Decimal] = defaultdict(Decimal)
    for _, p in records:
        if "orderId" in p:
            filled[p["orderId"]] += Decimal(repr(p["quantity"]))
    for order in sim.orders.values():
        assert Decimal(repr(order["filledQuantity"])) == filled[order["orderId"]]


@settings(max_examples=120, deadline=None)
@given(st.lists(step, min_size=10, max_size=40))
def test_implied_orders_keep_the_books_consistent(steps: list[Any]) -> None:
    sim = ExberrySimulator(instruments=["A", "B", "C", "AB", "BC"], strategies=STRATEGIES)
    for n, action in enumerate(steps, 1):
        act(sim, n, action)
        check(sim)
    check_trades(sim)
