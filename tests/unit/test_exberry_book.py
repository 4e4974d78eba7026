"""ExberryOrderBook folding book events over a snapshot (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deribit_client import ClientError
from deribit_client.exberry import ExberryOrderBook
from deribit_client.exberry.models import (
    Add,
    BookStateItem,
    Cancelled,
    Executed,
    InstrumentStatus,
    Modified,
    OrderBookState,
)


def loaded(last_tracking_number: int) -> ExberryOrderBook:
    book = ExberryOrderBook("BTC")
    resting = BookStateItem(
        messageType="Order", orderId=1, side="Sell", instrument="BTC", quantity=3.0, price=101.0
    )
    book.load(OrderBookState([resting], [], last_tracking_number))
    return book


def test_events_the_snapshot_already_holds_are_not_applied_twice() -> None:
    # After a Gap, resync() loads a snapshot while the stream keeps delivering what it had
    # queued: those events are in the snapshot already (order 1 was added with 5 and
    # filled by 2 before tracking number 10).
    book = loaded(10)
    book.apply(Add(instrument="BTC", orderId=1, side="Sell", quantity=5.0, price=101.0,
                   trackingNumber=8))  # fmt: skip
    book.apply(Executed(instrument="BTC", makerOrderId=1, executedQuantity=2.0, trackingNumber=9))
    book.apply(Modified(instrument="BTC", orderId=1, newQuantity=5.0, price=101.0,
                        trackingNumber=10))  # fmt: skip
    assert book.asks() == [(101.0, 3.0)]
    # Later events apply, several may share one number; an older one is a replay.
    book.apply(Executed(instrument="BTC", makerOrderId=1, executedQuantity=1.0, trackingNumber=11))
    book.apply(Executed(instrument="BTC", makerOrderId=1, executedQuantity=1.0, trackingNumber=11))
    book.apply(Executed(instrument="BTC", makerOrderId=1, executedQuantity=1.0, trackingNumber=9))
    assert book.asks() == [(101.0, 1.0)]
    assert book.last_tracking_number == 11
    book.apply(Cancelled(instrument="BTC", orderId=1, cancelledQuantity=1.0, trackingNumber=12))
    assert book.asks() == []


def test_an_order_added_again_replaces_itself_instead_of_counting_twice() -> None:
    book = loaded(10)
    book.apply(Add(instrument="BTC", orderId=1, side="Sell", quantity=2.0, price=102.0,
                   trackingNumber=11))  # fmt: skip
    assert book.asks() == [(102.0, 2.0)]


def test_a_level_goes_when_its_last_order_does_whatever_the_rounding() -> None:
    # Levels are sums of per-order quantities: (1000000.1 + 0.3) - 1000000.1 - 0.3 leaves
    # 4.7e-11 in floating point, which stayed on the book as a ghost level
    book = ExberryOrderBook("BTC")
    book.load(OrderBookState([], [], 1))
    book.apply(Add(instrument="BTC", orderId=1, side="Buy", quantity=1000000.1, price=99.0))
    book.apply(Add(instrument="BTC", orderId=2, side="Buy", quantity=0.3, price=99.0))
    book.apply(Cancelled(instrument="BTC", orderId=1, cancelledQuantity=1000000.1))
    book.apply(Executed(instrument="BTC", makerOrderId=2, executedQuantity=0.3))
    assert book.bids() == []
    assert book.best_bid is None


@given(st.lists(st.sampled_from([0.1, 0.2, 0.3, 1000000.1, 123456.789]), min_size=1, max_size=5),
       st.permutations(range(5)), st.booleans())  # fmt: skip
def test_a_level_empties_when_its_orders_leave_in_any_order(
    quantities: list[float], order: list[int], in_two_steps: bool
) -> None:
    book = ExberryOrderBook("BTC")
    book.load(OrderBookState([], [], 0))
    for order_id, qty in enumerate(quantities):
        book.apply(Add(instrument="BTC", orderId=order_id, side="Sell", quantity=qty, price=1.0))
    for order_id in (i for i in order if i < len(quantities)):
        qty = quantities[order_id]
        for part in (qty / 3, qty - qty / 3) if in_two_steps else (qty,):
            book.apply(Executed(instrument="BTC", makerOrderId=order_id, executedQuantity=part))
    assert book.asks() == []


_PRICES = st.sampled_from([99.0, 100.0])
_QUANTITIES = st.sampled_from([0.1, 0.2, 0.3, 7.0, 1000000.1, 123456.789])


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "cancel", "execute", "modify"]),
            st.integers(1, 4),  # order id
            st.sampled_from(["Buy", "Sell"]),
            _PRICES,
            _QUANTITIES,
        ),
        max_size=60,
    )
)
def test_levels_always_sum_the_orders_resting_at_them(events: list[Any]) -> None:
    book = ExberryOrderBook("BTC")
    book.load(OrderBookState([], [], 0))
    resting: dict[int, tuple[str, float, float]] = {}  # the model: orderId -> side, price, qty
    for kind, order_id, side, price, qty in events:
        entry = resting.get(order_id)
        if kind == "add":
            book.apply(
                Add(instrument="BTC", orderId=order_id, side=side, quantity=qty, price=price)
            )
            resting[order_id] = (side, price, qty)
        elif entry is None:
            continue
        elif kind == "modify":
            book.apply(Modified(instrument="BTC", orderId=order_id, newQuantity=qty, price=price))
            resting[order_id] = (entry[0], price, qty)
        else:
            taken = min(qty, entry[2])
            if kind == "cancel":
                book.apply(Cancelled(instrument="BTC", orderId=order_id, cancelledQuantity=taken))
            else:
                book.apply(
                    Executed(instrument="BTC", makerOrderId=order_id, executedQuantity=taken)
                )
            if taken < entry[2]:
                resting[order_id] = (entry[0], entry[1], entry[2] - taken)
            else:
                del resting[order_id]
        for side_name, levels in (("Buy", book.bids()), ("Sell", book.asks())):
            expected: dict[float, float] = {}
            for s, p, q in resting.values():
                if s == side_name:
                    expected[p] = expected.get(p, 0.0) + q
            assert [p for p, _ in levels] == sorted(expected, reverse=side_name == "Buy")
            for p, q in levels:
                assert q == pytest.approx(expected[p], rel=1e-9)


def test_quantities_keep_the_instruments_precision_when_given() -> None:
    # A level of 1.408113 filled by 1 read 0.40811299999999995: binary floating point,
    # where the venue's decimal arithmetic says 0.408113.
    def fill(book: ExberryOrderBook) -> list[tuple[float, float]]:
        book.load(OrderBookState([], [], 1))
        for n, quantity in enumerate((1.408113, 1.000001), 1):
            book.apply(Add(instrument="BTC", orderId=n, side="Buy", quantity=quantity,
                           price=99.0, trackingNumber=2))  # fmt: skip
        book.apply(Executed(instrument="BTC", makerOrderId=1, executedQuantity=1.0,
                            trackingNumber=3))  # fmt: skip
        book.apply(Cancelled(instrument="BTC", orderId=2, cancelledQuantity=1.000001,
                             trackingNumber=4))  # fmt: skip
        return book.bids()

    assert fill(ExberryOrderBook("BTC", quantity_precision=6)) == [(99.0, 0.408113)]
    assert fill(ExberryOrderBook("BTC")) != [(99.0, 0.408113)]  # what it was
    for bad in (-1, 2.0, True):
        with pytest.raises(ClientError, match="quantity_precision"):
            ExberryOrderBook("BTC", quantity_precision=bad)  # type: ignore[arg-type]


def test_the_instruments_state_follows_its_status_events_and_renames() -> None:
    # The book ignored InstrumentStatus: a halt went unnoticed, and after a rename every
    # event carried the new symbol, so the book silently stopped changing.
    book = ExberryOrderBook("BTC")
    assert (book.trading_status, book.market_status, book.status) == (None, None, None)
    states = BookStateItem(  # as the sample spells them
        messageType="InstrumentStatus",
        instrument="BTC",
        tradingStatus="TRADE",
        marketStatus="Opened",
        status="ACTIVE",
    )
    other = BookStateItem(messageType="InstrumentStatus", instrument="ETH", tradingStatus="Halt")
    book.load(OrderBookState([], [other, states], 5))
    assert (book.trading_status, book.market_status, book.status) == ("Trade", "Opened", "Active")
    book.apply(InstrumentStatus(instrument="ETH", tradingStatus="Halt", trackingNumber=6))
    book.apply(InstrumentStatus(instrument="BTC", tradingStatus="Halt", trackingNumber=7))
    assert (book.trading_status, book.market_status) == ("Halt", "Opened")  # only what changed
    book.apply(InstrumentStatus(instrument="XBT", previousSymbol="BTC", trackingNumber=8))
    book.apply(Add(instrument="XBT", orderId=1, side="Buy", quantity=1.0, price=99.0,
                   trackingNumber=9))  # fmt: skip
    assert (book.instrument, book.bids(), book.trading_status) == ("XBT", [(99.0, 1.0)], "Halt")
    book.apply(Add(instrument="BTC", orderId=2, side="Buy", quantity=1.0, price=98.0,
                   trackingNumber=10))  # fmt: skip
    assert book.bids() == [(99.0, 1.0)]  # the old symbol is another instrument now
