"""A local Deribit order book maintained from a ``book.*`` subscription.

::

    book = LocalOrderBook("BTC-PERPETUAL")
    async with client.subscribe(channels.book("BTC-PERPETUAL", "100ms")) as sub:
        async for item in sub:
            book.apply(item)
            if book.ready:
                print(book.best_bid(), book.best_ask(), book.bids(5))

The first message of a ``book.{instrument}.{interval}`` stream is a snapshot, then come
changes (``new``/``change``/``delete`` triples). The SDK checks ``prev_change_id``: on a gap
the subscriber gets ``Gap(reason="book_gap")`` and a fresh snapshot follows (``reconnected``
and ``resync`` markers likewise). The book goes :attr:`~LocalOrderBook.stale` at any Gap and
ignores changes until the next snapshot, so it never shows levels that may be wrong.
Grouped books (``book.{i}.{group}.{depth}.{interval}``) send full ``[price, amount]``
snapshots, each of which replaces the book.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from typing import Any

from ._core.streams import Gap
from ._core.values import check_int
from ._errors import ClientError
from ._rpc.wire import Notification
from .models import BookChange, BookLevel, BookSnapshot, PriceLevel

__all__ = ["LocalOrderBook"]


class _Side:
    """One side: amount by price plus the prices in ascending order (for cheap views)."""

    __slots__ = ("amounts", "prices")

    def __init__(self) -> None:
        self.amounts: dict[float, float] = {}
        self.prices: list[float] = []

    def apply(self, levels: tuple[BookLevel, ...]) -> None:
        """Apply ``new``/``change``/``delete`` levels (a delete, or an amount of 0, removes
        the price whatever amount it carries). The per-change hot path: one loop, locals."""
        amounts = self.amounts
        prices = self.prices
        for level in levels:
            price = level.price
            amount = level.amount
            if amount <= 0.0 or level.action == "delete":  # 0.0: a float-to-float compare
                if amounts.pop(price, None) is not None:
                    del prices[bisect_left(prices, price)]
                continue
            if price not in amounts:
                insort(prices, price)
            amounts[price] = amount

    def load(self, levels: Iterable[tuple[float, float]]) -> None:
        """Replace the side (one sort, not an insertion per level)."""
        self.amounts = {price: amount for price, amount in levels if amount > 0}
        self.prices = sorted(self.amounts)


class LocalOrderBook:
    """Price levels of one instrument, kept from ``book.*`` notifications.

    Args:
        instrument_name: the instrument to follow; messages of other instruments raise
            ``ClientError`` (one book per instrument). ``None`` takes the first one seen.

    Attributes:
        stale: True until the first snapshot and after any Gap until the next one.
        change_id: the ``change_id`` of the newest message applied.
        timestamp: its timestamp (ms).
        changes: change messages applied since the book was created.
    """

    __slots__ = ("_asks", "_bids", "change_id", "changes", "instrument_name", "stale", "timestamp")

    def __init__(self, instrument_name: str | None = None) -> None:
        self.instrument_name = instrument_name
        self._bids = _Side()
        self._asks = _Side()
        self.stale = True
        self.change_id: int | None = None
        self.timestamp: int | None = None
        self.changes = 0

    def __repr__(self) -> str:
        state = "stale" if self.stale else f"change_id={self.change_id}"
        return (
            f"LocalOrderBook({self.instrument_name!r}, {state}, bids={len(self._bids.prices)}, "
            f"asks={len(self._asks.prices)})"
        )

    @property
    def ready(self) -> bool:
        """Whether the levels are current (a snapshot applied and no gap since)."""
        return not self.stale

    def apply(self, item: Notification[Any] | BookChange | BookSnapshot | Gap) -> None:
        """Fold one subscription item into the book: a notification of a ``book.*``
        channel (or its ``data``), or a :class:`~deribit_client.Gap` marker."""
        # One function for the hot case (a change), which is checked first: this runs for
        # every book message, usually from inside the read loop.
        data = item.data if type(item) is Notification else item
        if type(data) is BookChange:
            if data.instrument_name != self.instrument_name:
                self._check_instrument(data.instrument_name)
            if data.type == "snapshot":
                self._bids.load(_amounts(data.bids))
                self._asks.load(_amounts(data.asks))
            elif self.stale:
                return  # changes before a snapshot, or after a gap, cannot be placed
            elif data.prev_change_id != self.change_id:
                self.stale = True  # the SDK marks gaps; this guards direct use too
                return
            else:
                self.changes += 1
                self._bids.apply(data.bids)
                self._asks.apply(data.asks)
        elif type(data) is Gap:
            self.stale = True
            return
        elif type(data) is BookSnapshot:
            self._check_instrument(data.instrument_name)
            self._bids.load((level.price, level.amount) for level in data.bids)
            self._asks.load((level.price, level.amount) for level in data.asks)
        else:
            raise ClientError(f"LocalOrderBook.apply() takes book.* items, not {data!r}")
        self.change_id = data.change_id
        self.timestamp = data.timestamp
        self.stale = False

    def _check_instrument(self, name: str) -> None:
        if self.instrument_name is None:
            self.instrument_name = name
        elif name != self.instrument_name:
            raise ClientError(
                f"a book of {self.instrument_name} got a message of {name}: use one "
                "LocalOrderBook per instrument"
            )

    # -- views ------------------------------------------------------------------------

    def best_bid(self) -> PriceLevel | None:
        """The highest bid, or ``None`` when the side is empty."""
        prices = self._bids.prices
        return PriceLevel(prices[-1], self._bids.amounts[prices[-1]]) if prices else None

    def best_ask(self) -> PriceLevel | None:
        """The lowest ask, or ``None`` when the side is empty."""
        prices = self._asks.prices
        return PriceLevel(prices[0], self._asks.amounts[prices[0]]) if prices else None

    def bids(self, depth: int | None = None) -> list[PriceLevel]:
        """Bid levels, best (highest) first; ``depth`` (>= 0) limits how many."""
        prices = self._bids.prices
        start = 0 if depth is None else max(len(prices) - check_int("depth", depth, 0), 0)
        amounts = self._bids.amounts
        return [PriceLevel(p, amounts[p]) for p in reversed(prices[start:])]

    def asks(self, depth: int | None = None) -> list[PriceLevel]:
        """Ask levels, best (lowest) first; ``depth`` (>= 0) limits how many."""
        end = None if depth is None else check_int("depth", depth, 0)
        amounts = self._asks.amounts
        return [PriceLevel(p, amounts[p]) for p in self._asks.prices[:end]]

    def spread(self) -> float | None:
        """Best ask minus best bid, or ``None`` when a side is empty."""
        bid, ask = self._bids.prices, self._asks.prices
        return ask[0] - bid[-1] if bid and ask else None


def _amounts(levels: tuple[BookLevel, ...]) -> Iterator[tuple[float, float]]:
    """``(price, amount)`` of each level; a ``delete`` is amount 0 whatever it carries."""
    for level in levels:
        yield level.price, 0.0 if level.action == "delete" else level.amount
