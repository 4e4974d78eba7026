"""A local Exberry order book: per-order events folded into price levels.

Load it from an ``order_book_state()`` snapshot, then apply the ``order_book_depth`` events
that follow the snapshot's ``last_tracking_number``; a :class:`~deribit_client.Gap` on the
stream marks it stale, and :meth:`ExberryOrderBook.resync` reloads it.
"""

from __future__ import annotations

import heapq
from typing import Any

from .._core.streams import Gap
from .._core.values import check_int
from .models import (
    Add,
    Cancelled,
    Executed,
    InstrumentStatus,
    Modified,
    NonDisplayTrade,
    OrderBookState,
)

__all__ = ["ExberryOrderBook"]

_RESIDUE = 1e-9
"""An order whose quantity left is at most this fraction of its size is gone: fills and
cancels subtract decimal quantities in binary floating point (1000000.3 - 1000000.1 - 0.2
leaves 4.7e-11), and no venue's quantity precision reaches a billionth of an order."""

_STATES = {
    v.casefold(): v
    for v in ("Trade", "Halt", "Opened", "Closed", "AuctionCall", "AuctionCrossing", "Active",
              "Disabled")
}  # fmt: skip
"""The state values in the field tables' spelling; the ``orderBookState`` sample writes
``TRADE``/``ACTIVE`` where events write ``Trade``/``Halt``."""


def _state(value: str | None) -> str | None:
    return None if value is None else _STATES.get(value.casefold(), value)


class ExberryOrderBook:
    """Price levels of one instrument, kept from Exberry's per-order book events.

    Args:
        instrument: the symbol to follow (events of other instruments are ignored).
        quantity_precision: the instrument's ``quantityPrecision`` (``instrument_list``):
            quantities are then kept rounded to it, as the venue's decimal arithmetic
            keeps them (``2.408113``, not ``2.4081129999999997`` after a fill of ``1``).
            ``None``: binary floating point as it comes.

    Attributes:
        stale: True after a Gap until the next :meth:`load`: levels may be wrong.
        last_tracking_number: the newest event applied.
        trading_status: ``Trade`` or ``Halt`` (``None`` until a snapshot or event tells).
        market_status: ``Opened``, ``Closed``, ``AuctionCall`` or ``AuctionCrossing``.
        status: ``Active`` or ``Disabled``. Exberry refuses orders while the instrument
            is halted, closed, disabled or crossing (``MarketStateError``); in an
            auction's call (``AuctionCall``) it takes only the auction's times in force,
            and orders rest without trading until the crossing. The three
            follow ``InstrumentStatus`` events, in the field tables' spelling whatever
            the case Exberry sent. A renamed instrument (``previousSymbol``) is followed
            under its new symbol (:attr:`instrument`).
    """

    def __init__(self, instrument: str, quantity_precision: int | None = None) -> None:
        self.instrument = instrument
        self._places = (
            None
            if quantity_precision is None
            else check_int("quantity_precision", quantity_precision, 0)
        )
        # orderId -> side, price, quantity left, quantity it rested with
        self._orders: dict[int, tuple[str, float, float, float]] = {}
        self._levels: dict[str, dict[float, float]] = {"Buy": {}, "Sell": {}}
        # orders resting at each level: a level goes with its last order, not when its
        # float sum reaches zero (which rounding may never let it do)
        self._counts: dict[str, dict[float, int]] = {"Buy": {}, "Sell": {}}
        self.stale = True
        self.last_tracking_number: int | None = None
        self.trading_status: str | None = None
        self.market_status: str | None = None
        self.status: str | None = None
        # True until an event newer than the snapshot applies: events sharing the newest
        # number are new then, but those sharing the snapshot's number it holds already.
        self._at_snapshot = False

    def load(self, state: OrderBookState) -> None:
        """Replace the book with a snapshot (its resting orders of this instrument)."""
        self._orders.clear()
        for side in self._levels:
            self._levels[side].clear()
            self._counts[side].clear()
        for order in state.orders:
            if order.instrument == self.instrument and order.orderId is not None:
                self._add(order.orderId, order.side or "", order.price, order.quantity)
        for item in state.instruments:
            if item.instrument == self.instrument:
                self._set_states(item)
        self.last_tracking_number = state.last_tracking_number
        self._at_snapshot = True
        self.stale = False

    def apply(self, event: Any) -> None:
        """Fold one stream item (a book event or a Gap) into the book."""
        if type(event) is Gap:
            self.stale = True
            return
        if getattr(event, "instrument", self.instrument) != self.instrument:
            if type(event) is not InstrumentStatus or event.previousSymbol != self.instrument:
                return
            self.instrument = event.instrument or self.instrument  # renamed: follow it
        number = getattr(event, "trackingNumber", None)
        if number is not None:
            last = self.last_tracking_number
            if last is not None and (number < last or (number == last and self._at_snapshot)):
                # Held by the snapshot already (the stream delivers what it queued before
                # a resync's load), or replayed: applying it again would count it twice.
                return
            self.last_tracking_number = number
            self._at_snapshot = False
        if type(event) is Add:
            if event.orderId is not None:
                self._add(event.orderId, event.side or "", event.price, event.quantity)
        elif type(event) is Cancelled:
            if event.orderId is not None:
                self._reduce(event.orderId, event.cancelledQuantity)
        elif type(event) is Executed or type(event) is NonDisplayTrade:
            if event.makerOrderId is not None and type(event) is Executed:
                self._reduce(event.makerOrderId, event.executedQuantity)
            if event.takerOrderId in self._orders:
                # A resting order trading as the taker: replaced to a crossing price (a new
                # order is not on the book until its Add, after its fills).
                self._reduce(event.takerOrderId, event.executedQuantity)
        elif type(event) is InstrumentStatus:
            self._set_states(event)
        elif type(event) is Modified and event.orderId is not None:
            entry = self._orders.get(event.orderId)
            if entry is not None:
                self._reduce(event.orderId, None)
                self._add(event.orderId, entry[0], event.price, event.newQuantity)

    def _set_states(self, item: Any) -> None:
        """Take the states ``item`` carries (an event carries only those that changed)."""
        if item.tradingStatus is not None:
            self.trading_status = _state(item.tradingStatus)
        if item.marketStatus is not None:
            self.market_status = _state(item.marketStatus)
        if item.status is not None:
            self.status = _state(item.status)

    async def resync(self, client: Any) -> None:
        """Reload from ``client.order_book_state()`` (after a Gap)."""
        self.load(await client.order_book_state())

    # -- views ----------------------------------------------------------------------------

    def bids(self, depth: int | None = None) -> list[tuple[float, float]]:
        """``(price, quantity)`` levels, best (highest) first; ``depth`` (>= 0) limits how
        many."""
        levels = self._levels["Buy"].items()
        if depth is None:
            return sorted(levels, reverse=True)
        return heapq.nlargest(check_int("depth", depth, 0), levels)

    def asks(self, depth: int | None = None) -> list[tuple[float, float]]:
        """``(price, quantity)`` levels, best (lowest) first; ``depth`` (>= 0) limits how
        many."""
        levels = self._levels["Sell"].items()
        if depth is None:
            return sorted(levels)
        return heapq.nsmallest(check_int("depth", depth, 0), levels)

    @property
    def best_bid(self) -> tuple[float, float] | None:
        """The highest bid level, if any."""
        levels = self._levels["Buy"]
        return (p := max(levels), levels[p]) if levels else None

    @property
    def best_ask(self) -> tuple[float, float] | None:
        """The lowest ask level, if any."""
        levels = self._levels["Sell"]
        return (p := min(levels), levels[p]) if levels else None

    # -- internals ------------------------------------------------------------------------

    def _add(self, order_id: int, side: str, price: float | None, qty: float | None) -> None:
        if order_id in self._orders:
            self._reduce(order_id, None)  # added again: the newer entry replaces it
        if price is None or qty is None or side not in self._levels or qty <= 0.0:
            return  # market orders in auctions carry no price: not a visible level
        self._orders[order_id] = (side, price, qty, qty)
        levels, counts = self._levels[side], self._counts[side]
        levels[price] = self._exact(levels.get(price, 0.0) + qty)
        counts[price] = counts.get(price, 0) + 1

    def _reduce(self, order_id: int, qty: float | None) -> None:
        """Take ``qty`` (None: all) off an order and its level."""
        entry = self._orders.get(order_id)
        if entry is None:
            return
        side, price, left, size = entry
        rest = 0.0 if qty is None else self._exact(left - qty)
        levels = self._levels[side]
        if rest > size * _RESIDUE:
            self._orders[order_id] = (side, price, rest, size)
            levels[price] = self._exact(levels[price] - (left - rest))
            return
        del self._orders[order_id]
        counts = self._counts[side]
        if counts[price] == 1:
            del counts[price], levels[price]
        else:
            counts[price] -= 1
            levels[price] = self._exact(levels[price] - left)

    def _exact(self, quantity: float) -> float:
        """``quantity`` rounded to the instrument's precision, if given."""
        return quantity if self._places is None else round(quantity, self._places)
