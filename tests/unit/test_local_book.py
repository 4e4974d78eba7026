"""The local order book: snapshots, changes, deletes, gaps, grouped snapshots, views."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deribit_client import ClientError, Gap, LocalOrderBook, decode_notification
from deribit_client.models import PriceLevel

CHANNEL = "book.BTC-PERPETUAL.100ms"


def note(data: dict[str, Any], channel: str = CHANNEL) -> Any:
    """A notification decoded the way subscribers receive it."""
    params = {"channel": channel, "data": data}
    frame = {"jsonrpc": "2.0", "method": "subscription", "params": params}
    return decode_notification(msgspec.json.encode(frame))


def snapshot(change_id: int, bids: list[Any], asks: list[Any]) -> Any:
    return note(
        {"type": "snapshot", "timestamp": change_id, "instrument_name": "BTC-PERPETUAL",
         "change_id": change_id, "bids": bids, "asks": asks}
    )  # fmt: skip


def change(prev: int, change_id: int, bids: list[Any], asks: list[Any] | None = None) -> Any:
    return note(
        {"type": "change", "timestamp": change_id, "instrument_name": "BTC-PERPETUAL",
         "prev_change_id": prev, "change_id": change_id, "bids": bids, "asks": asks or []}
    )  # fmt: skip


def test_snapshot_then_changes_new_change_delete() -> None:
    book = LocalOrderBook("BTC-PERPETUAL")
    assert not book.ready
    book.apply(snapshot(1, [["new", 100.0, 5], ["new", 99.5, 7]], [["new", 101.0, 3]]))
    assert bool(book.ready)  # bool(): mypy would keep the `not book.ready` narrowing
    assert book.best_bid() == PriceLevel(100.0, 5)
    assert book.best_ask() == PriceLevel(101.0, 3)
    book.apply(change(1, 2, [["change", 100.0, 2], ["new", 100.5, 1]], [["delete", 101.0, 0]]))
    assert book.bids() == [PriceLevel(100.5, 1), PriceLevel(100.0, 2), PriceLevel(99.5, 7)]
    assert book.bids(2) == [PriceLevel(100.5, 1), PriceLevel(100.0, 2)]
    assert book.asks() == []
    assert book.best_ask() is None
    assert book.spread() is None
    assert (book.change_id, book.changes) == (2, 1)


def test_views_take_a_depth_of_zero_or_more() -> None:
    book = LocalOrderBook()
    book.apply(
        snapshot(1, [["new", 100.0, 5], ["new", 99.5, 7]], [["new", 101.0, 3], ["new", 102.0, 1]])
    )
    assert book.bids(0) == book.asks(0) == []
    assert book.asks(5) == [PriceLevel(101.0, 3), PriceLevel(102.0, 1)]
    for depth in (-1, 1.5, "2", True):
        # asks(-1) once gave every level but the worst, bids(-1) none at all.
        with pytest.raises(ClientError, match="depth"):
            book.asks(depth)  # type: ignore[arg-type]
        with pytest.raises(ClientError, match="depth"):
            book.bids(depth)  # type: ignore[arg-type]


def test_a_gap_makes_it_stale_until_the_next_snapshot() -> None:
    book = LocalOrderBook()
    book.apply(snapshot(1, [["new", 100.0, 5]], [["new", 101.0, 3]]))
    book.apply(Gap(CHANNEL, "book_gap"))
    assert not book.ready
    book.apply(change(1, 2, [["new", 100.5, 1]]))  # cannot be placed: ignored
    assert book.bids() == [PriceLevel(100.0, 5)]
    book.apply(snapshot(9, [["new", 98.0, 4]], []))
    assert bool(book.ready)  # bool(): mypy would keep the `not book.ready` narrowing
    assert book.bids() == [PriceLevel(98.0, 4)]  # the snapshot replaced everything


def test_a_change_that_does_not_follow_is_a_gap_too() -> None:
    book = LocalOrderBook()
    book.apply(snapshot(1, [["new", 100.0, 5]], []))
    book.apply(change(7, 8, [["new", 100.5, 1]]))
    assert not book.ready
    assert book.bids() == [PriceLevel(100.0, 5)]


def test_grouped_snapshots_replace_the_book() -> None:
    book = LocalOrderBook()
    grouped = "book.BTC-PERPETUAL.none.10.100ms"
    data = {"timestamp": 1, "instrument_name": "BTC-PERPETUAL", "change_id": 3,
            "bids": [[100.0, 1.0], [99.0, 2.0]], "asks": [[101.0, 4.0]]}  # fmt: skip
    book.apply(note(data, grouped))
    book.apply(note({**data, "change_id": 4, "bids": [[98.0, 1.0]]}, grouped).data)
    assert book.bids() == [PriceLevel(98.0, 1.0)]
    assert book.spread() == 3.0


def test_other_instruments_and_other_items_are_refused() -> None:
    book = LocalOrderBook("ETH-PERPETUAL")
    with pytest.raises(ClientError, match="one LocalOrderBook per instrument"):
        book.apply(snapshot(1, [], []))
    with pytest.raises(ClientError, match=r"book\.\* items"):
        book.apply("nope")  # type: ignore[arg-type]


levels = st.lists(
    st.tuples(
        st.sampled_from(["bid", "ask"]),
        st.integers(90, 110).map(float),
        st.one_of(st.just(0.0), st.integers(1, 50).map(float)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(levels, min_size=1, max_size=8))
def test_any_sequence_of_changes_matches_a_plain_dict(batches: list[Any]) -> None:
    book = LocalOrderBook()
    book.apply(snapshot(0, [], []))
    expected: dict[str, dict[float, float]] = {"bid": {}, "ask": {}}
    for n, batch in enumerate(batches):
        sides: dict[str, list[Any]] = {"bid": [], "ask": []}
        for side, price, amount in batch:
            known = price in expected[side]
            action = "delete" if amount == 0 else ("change" if known else "new")
            sides[side].append([action, price, amount])
            if amount == 0:
                expected[side].pop(price, None)
            else:
                expected[side][price] = amount
        book.apply(change(n, n + 1, sides["bid"], sides["ask"]))
    bids = sorted(expected["bid"].items(), reverse=True)
    asks = sorted(expected["ask"].items())
    assert [(lv.price, lv.amount) for lv in book.bids()] == bids
    assert [(lv.price, lv.amount) for lv in book.asks()] == asks
    assert book.best_bid() == (PriceLevel(*bids[0]) if bids else None)
