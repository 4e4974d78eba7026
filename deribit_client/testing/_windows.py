"""Aggregated channel intervals: what one connection's ``100ms`` or ``agg2`` channel gathered
during a window, merged into the messages Deribit sends when the window ends.

A ``raw`` channel sends every event at once. An aggregated one (REFERENCE 5) sends at most
one message per window: the book's changes merged per price level (``new``/``change``/
``delete`` against what the last message left, ``change_id`` the last one merged and
``prev_change_id`` the one the connection saw before, so the chain still holds), the
latest ticker or perpetual state, every trade in one array, each order's latest state, and
one ``user.changes`` message per instrument. A grouped book is a full snapshot sent at the
end of every window, changed or not (:meth:`Windows.every`). Windows are per connection,
so a new subscriber's first message chains with the snapshot it got.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_PERIODS", "Windows"]

log = logging.getLogger("deribit_client.testing")

DEFAULT_PERIODS: dict[str, float] = {"100ms": 0.1, "agg2": 2.0}
"""Channel interval -> seconds one window gathers. REFERENCE 5 gives ``agg2`` only as a
coarser aggregation, "2 s" per Deribit's notifications article (?)."""


class _Latest:
    """Channels whose every message is a whole state: the last one wins."""

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data

    def merge(self, data: Any) -> bool:
        self.data = data
        return True

    def messages(self) -> list[Any]:
        return [self.data]


class _Trades:
    """``trades.*``, ``user.trades.*``, ``user.combo_trades.*``: one array of them all."""

    __slots__ = ("trades",)

    def __init__(self, data: Any) -> None:
        self.trades = list(data)

    def merge(self, data: Any) -> bool:
        self.trades.extend(data)
        return True

    def messages(self) -> list[Any]:
        return [self.trades]


def _by_id(into: dict[Any, Any], records: Any, key: str) -> None:
    # an update takes the place of the record it updates: each one once, in its latest state
    for record in records:
        into[record.get(key)] = record


class _Orders:
    """``user.orders.*`` (aggregated: arrays of orders): each order once, latest state."""

    __slots__ = ("orders",)

    def __init__(self, data: Any) -> None:
        self.orders: dict[Any, Any] = {}
        self.merge(data)

    def merge(self, data: Any) -> bool:
        _by_id(self.orders, data, "order_id")
        return True

    def messages(self) -> list[Any]:
        return [list(self.orders.values())]


class _Changes:
    """``user.changes.*``: per instrument, each order and position once in its latest
    state and every trade."""

    __slots__ = ("instruments",)

    def __init__(self, data: Any) -> None:
        # instrument -> (orders by id, trades, positions by instrument)
        self.instruments: dict[Any, tuple[dict[Any, Any], list[Any], dict[Any, Any]]] = {}
        self.merge(data)

    def merge(self, data: Any) -> bool:
        orders, trades, positions = self.instruments.setdefault(
            data.get("instrument_name"), ({}, [], {})
        )
        _by_id(orders, data.get("orders", ()), "order_id")
        trades.extend(data.get("trades", ()))
        _by_id(positions, data.get("positions", ()), "instrument_name")
        return True

    def messages(self) -> list[Any]:
        return [
            {
                "instrument_name": name,
                "orders": list(orders.values()),
                "trades": trades,
                "positions": list(positions.values()),
            }
            for name, (orders, trades, positions) in self.instruments.items()
        ]


class _BookChanges:
    """``book.{instrument}.{interval}``: the changes since the connection's last message,
    netted per price level."""

    __slots__ = ("first", "last", "sides")

    def __init__(self, data: Any) -> None:
        self.first = data  # its prev_change_id is the one the connection saw last
        self.last = data
        # side -> price -> (whether the level existed at the last message, amount or None)
        self.sides: dict[str, dict[float, tuple[bool, float | None]]] = {"bids": {}, "asks": {}}
        self._apply(data)

    def merge(self, data: Any) -> bool:
        if data.get("prev_change_id") != self.last.get("change_id"):
            return False  # an injected gap stays visible: it ends the window
        self.last = data
        self._apply(data)
        return True

    def _apply(self, data: Any) -> None:
        for side, levels in self.sides.items():
            for action, price, amount in data.get(side, ()):
                existed = levels[price][0] if price in levels else action != "new"
                levels[price] = (existed, None if action == "delete" else amount)

    def messages(self) -> list[Any]:
        netted = {}
        for side, levels in self.sides.items():
            actions = []
            for price in sorted(levels, reverse=side == "bids"):
                existed, amount = levels[price]
                if amount is not None:
                    actions.append(["change" if existed else "new", price, amount])
                elif existed:
                    actions.append(["delete", price, 0.0])
            netted[side] = actions
        if not netted["bids"] and not netted["asks"]:
            return []  # nothing moved on balance: the window stays open for the next change
        message = dict(self.last)
        message.update(netted, prev_change_id=self.first.get("prev_change_id"))
        return [message]


_Merge = _Latest | _Trades | _Orders | _Changes | _BookChanges


def _merge_for(channel: str) -> Callable[[Any], _Merge]:
    parts = channel.split(".")
    family = parts[1] if parts[0] == "user" else parts[0]
    if parts[0] == "book" and len(parts) == 3:
        return _BookChanges
    if family in ("trades", "combo_trades"):
        return _Trades
    if parts[0] == "user" and family == "orders":
        return _Orders
    if parts[0] == "user" and family == "changes":
        return _Changes
    return _Latest  # ticker, perpetual (and a grouped book whose interval sends at once)


class Windows:
    """One connection's open windows: :meth:`add` gathers a channel's event, and ``send``
    gets the merged messages (``send(channel, data)``) when the window ends."""

    __slots__ = ("_open", "_periodic", "_send", "_timers")

    def __init__(self, send: Callable[[str, Any], None]) -> None:
        self._send = send
        self._open: dict[str, _Merge] = {}
        # channel -> (seconds of its next window or None, the message its windows end with)
        self._periodic: dict[str, tuple[Callable[[], float | None], Callable[[], Any]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def add(self, channel: str, data: Any, period: float) -> None:
        """Gather ``data`` for ``channel``; its window ends ``period`` seconds after the
        event that opened it."""
        window = self._open.get(channel)
        if window is not None and not window.merge(data):
            self.flush(channel)
            window = None
        if window is None:
            self._open[channel] = _merge_for(channel)(data)
        if channel not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[channel] = loop.call_later(period, self.flush, channel)

    def every(
        self, channel: str, period: Callable[[], float | None], build: Callable[[], Any]
    ) -> None:
        """End each of ``channel``'s windows with ``build()``, whatever happened during it
        (grouped books: a full snapshot once per interval), or with the latest message a
        test published on it by hand. ``period()`` gives the next window's seconds; None
        stops it (the interval now sends every event at once)."""
        self.discard(channel)
        self._periodic[channel] = (period, build)
        self._start_period(channel)

    def _start_period(self, channel: str) -> None:
        seconds = self._periodic[channel][0]()
        if seconds is None:
            del self._periodic[channel]
        else:
            loop = asyncio.get_running_loop()
            self._timers[channel] = loop.call_later(seconds, self.flush, channel)

    def flush(self, channel: str) -> None:
        """End ``channel``'s window now and send what it gathered."""
        timer = self._timers.pop(channel, None)
        if timer is not None:
            timer.cancel()
        window = self._open.pop(channel, None)
        periodic = self._periodic.get(channel)
        if periodic is not None:
            # A message published by hand stands for this window's (the latest wins).
            try:
                data = periodic[1]() if window is None else window.messages()[-1]
            except Exception:  # a failing channel stops alone, not the connection
                log.exception("simulator could not build %s", channel)
                del self._periodic[channel]
                return
            self._send(channel, data)
            self._start_period(channel)
            return
        if window is None:
            return
        messages = window.messages()
        if not messages:
            self._open[channel] = window  # kept until something moves
        for data in messages:
            self._send(channel, data)

    def flush_all(self) -> None:
        """End every window now."""
        for channel in {**self._open, **self._periodic}:  # a channel once, even in both
            self.flush(channel)

    def discard(self, channel: str) -> None:
        """Forget ``channel``'s window (unsubscribed, or a new snapshot starts it over)."""
        self._open.pop(channel, None)
        self._periodic.pop(channel, None)
        timer = self._timers.pop(channel, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        """Forget every window (the connection ended)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._open.clear()
        self._periodic.clear()
