"""The Exberry simulator's matching engine under random trading (every order type, time in
force, display method and self-trade prevention, with auctions, halts and expiries between
them): after each action the book holds only open orders, is never crossed while trading
continuously, every fill is a trade its owner was told of, and the book stream folded by
the client's ``ExberryOrderBook`` shows the levels the book shows."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from deribit_client.exberry import ExberryOrderBook
from deribit_client.exberry.decode import decode_frame
from deribit_client.testing._exberry_rules import Fail, visible
from deribit_client.testing.exberry import ExberrySimulator
from tests.helpers import NOON

TRADERS = ("a", "b", "c")
OPEN = ("Active", "Suspended")
EXPECTED_REFUSALS = {1001, 1009, 1019, 1030, 1031, 1033}
"""Order terms the engine's state refuses (stop replaces, halts, auction phases); any other
code, or any other exception, is a finding."""

quarters = st.integers(1, 24).map(lambda n: n / 4)
prices = st.integers(197, 203).map(lambda n: n / 2)  # few levels: orders meet
terms = st.fixed_dictionaries({
    "orderType": st.sampled_from(
        ["Limit"] * 5 + ["Market", "MarketToLimit", "Stop", "StopLimit", "MIT", "LIT"]
    ),
    "side": st.sampled_from(["Buy", "Sell"]),
    "quantity": quarters, "price": prices, "stopPrice": prices,
    "timeInForce": st.sampled_from(["GTC", "GTC", "IOC", "FOK", "DAY", "GTD", "GAA"]),
    "display": st.sampled_from([None, None, "DisplayQuantity", "Random", "Hidden"]),
    "sizes": st.tuples(quarters, quarters),
    "stpAction": st.sampled_from(
        [None, None, "CancelIncomingOrder", "CancelRestingOrder", "CancelBothOrders"]
    ),
    "minQuantity": st.one_of(st.none(), quarters),
    "expires_in": st.sampled_from([10, 600, 7200]),
    "wait": st.sampled_from([1, 30, 3600, 6 * 3600]),
    "auction": st.sampled_from([{}, {"duration": 60_000}, {"allowedTimeInForces": ["GTC"]}]),
})  # fmt: skip
ACTIONS = ["place"] * 8 + [
    "cancel", "replace", "mass", "auction", "open", "halt", "trade", "trade", "time"
]  # fmt: skip
steps = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.sampled_from(TRADERS), terms, st.integers(0, 9)),
    min_size=20,
    max_size=60,
)


def order_of(t: dict[str, Any], mp_order_id: int, now: float) -> dict[str, Any]:
    """The ``placeOrder`` members a step's terms make: market and stop orders IOC or FOK,
    the display method on resting limit orders only, minQuantity on IOC only."""
    kind, tif = t["orderType"], t["timeInForce"]
    if kind in ("Market", "Stop", "MIT"):
        tif = "FOK" if tif == "FOK" else "IOC"
    d = {"instrument": "BTC", "orderType": kind, "side": t["side"], "quantity": t["quantity"],
         "mpOrderId": mp_order_id, "timeInForce": tif}  # fmt: skip
    if kind in ("Limit", "StopLimit", "LIT"):
        d["price"] = t["price"]
    if kind in ("Stop", "StopLimit", "MIT", "LIT"):
        d["stopPrice"] = t["stopPrice"]
    if tif == "GTD":
        d["expiryDate"] = int(now) + t["expires_in"]
    if t["display"] and kind == "Limit" and tif in ("GTC", "GTD", "DAY"):
        d["displayMethod"] = t["display"]
        low, high = sorted(min(size, t["quantity"]) for size in t["sizes"])
        if t["display"] == "DisplayQuantity":
            d["displayQuantity"] = low
        elif t["display"] == "Random":
            d["displayLowQuantity"], d["displayHighQuantity"] = low, high
    if t["stpAction"] and (tif not in ("IOC", "FOK") or t["stpAction"] == "CancelIncomingOrder"):
        d["stpAction"] = t["stpAction"]
    if tif == "IOC" and t["minQuantity"] is not None:
        d["minQuantity"] = min(t["minQuantity"], t["quantity"])
    return d


def act(
    sim: ExberrySimulator, now: list[float], step: tuple[str, str, dict[str, Any], int]
) -> None:
    action, mp, t, pick = step
    mine = [o for o in sim.orders.values() if o["_mp"] == mp and o["status"] in OPEN]
    if action == "place" or (action in ("cancel", "replace") and not mine):
        sim.place_order(mp, order_of(t, len(sim.orders) + 1, now[0]))
    elif action == "cancel":
        sim.cancel_order(mp, {"instrument": "BTC", "orderId": mine[pick % len(mine)]["orderId"]})
    elif action == "replace":
        order = mine[pick % len(mine)]
        d = {"instrument": "BTC", "orderId": order["orderId"],
             "quantity": order["filledQuantity"] + t["quantity"]}  # fmt: skip
        if order["price"] is not None:
            d["price"] = t["price"]
        if order["stopPrice"] is not None:
            d["stopPrice"] = order["stopPrice"]
        sim.replace_order(mp, d)
    elif action == "mass":
        sim.mass_cancel(mp, {"instrument": "BTC"})
    elif action == "auction":
        if "BTC" not in sim._running and sim.instrument_status["BTC"]["tradingStatus"] == "Trade":
            sim.start_auction("BTC", **t["auction"])
    elif action == "open":
        sim.set_instrument_status("BTC", marketStatus="Opened")
    elif action in ("halt", "trade"):
        sim.set_instrument_status("BTC", tradingStatus="Halt" if action == "halt" else "Trade")
    else:
        now[0] += t["wait"]
        sim.expire_orders()


def check(sim: ExberrySimulator) -> None:
    book = sim.books["BTC"]
    for order in book["Buy"] + book["Sell"]:
        assert order["status"] == "Active", order
        assert order["remainingOpenQuantity"] > 0, order
    if "BTC" not in sim._running:  # an auction's call phase rests crossing orders
        bids = [o["price"] for o in book["Buy"] if o["price"] is not None]
        asks = [o["price"] for o in book["Sell"] if o["price"] is not None]
        assert not bids or not asks or max(bids) < min(asks), (bids, asks)
    filled: defaultdict[int, Decimal] = defaultdict(Decimal)
    for _, kind, owner, trade in sim.events:
        if kind == "trades" and owner is not None:
            filled[trade["orderId"]] += Decimal(repr(trade["quantity"]))
    for order in sim.orders.values():
        assert filled[order["orderId"]] == Decimal(repr(order["filledQuantity"])), order
        if order["status"] in OPEN:
            left = Decimal(repr(order["filledQuantity"])) + Decimal(
                repr(order["remainingOpenQuantity"])
            )
            assert left == Decimal(repr(order["quantity"])), order
        if order["timeInForce"] == "FOK":
            assert order["filledQuantity"] in (0, order["quantity"]), order


def shown_levels(sim: ExberrySimulator, side: str) -> list[tuple[float, float]]:
    """The levels of ``side`` the book shows, best first: what each order displays (not
    hidden ones, nor an auction's market orders)."""
    levels: defaultdict[float, Decimal] = defaultdict(Decimal)
    for order in sim.books["BTC"][side]:
        if order["displayMethod"] != "Hidden" and order["price"] is not None:
            levels[order["price"]] += Decimal(repr(visible(order)))
    return sorted(((p, float(q)) for p, q in levels.items() if q), reverse=side == "Buy")


def follow(sim: ExberrySimulator, book: ExberryOrderBook, applied: int) -> int:
    """Fold the book stream's events after the first ``applied`` into ``book``, as a
    client receives them; returns how many events there are now."""
    events = list(sim.events)
    for _, kind, _, payload in events[applied:]:
        if kind == "orderBookDepth":
            frame = {"q": "v2/exchange.market/orderBookDepth", "sid": 1, "d": payload}
            book.apply(decode_frame(msgspec.json.encode(frame)).item)
    return len(events)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_random_trading_keeps_the_book_open_uncrossed_and_every_fill_traded(
    script: list[tuple[str, str, dict[str, Any], int]],
) -> None:
    now = [NOON]  # the default calendar trades around the clock
    sim = ExberrySimulator(clock=lambda: now[0])
    book, applied = ExberryOrderBook("BTC", quantity_precision=6), 0
    refusals = Counter[int]()
    for step in script:
        try:
            act(sim, now, step)
        except Fail as refused:
            refusals[refused.code] += 1
        assert set(refusals) <= EXPECTED_REFUSALS, refusals
        check(sim)
        applied = follow(sim, book, applied)
        if "BTC" not in sim._running:  # a dark auction's orders reach the stream at its end
            assert book.bids() == shown_levels(sim, "Buy")
            assert book.asks() == shown_levels(sim, "Sell")
