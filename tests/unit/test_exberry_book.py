"""ExberryOrderBook folding book events over a snapshot (no I/O)."""

from __future__ import annotations

from deribit_client.exberry import ExberryOrderBook
from deribit_client.exberry.models import (
    Add,
    BookStateItem,
    Cancelled,
    Executed,
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
