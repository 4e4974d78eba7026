"""One socket of the Exberry simulator: its session, its open streams and what they
hold back (the Market Data API's interval throttles)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec

from ._outbox import Outbox

__all__ = ["Peer", "Throttle"]

_encode = msgspec.json.encode


class Throttle:
    """A Market Data API stream with an ``interval``: each symbol's update goes out at
    most once per interval, carrying the latest state when it does."""

    __slots__ = ("due", "period", "send", "sent")

    def __init__(self, interval_ms: int, send: Callable[[str], None]) -> None:
        self.period = interval_ms / 1000
        self.send = send  # sends a symbol's update as the state is then
        self.sent: dict[str, float] = {}  # symbol -> loop time of its last update
        self.due: dict[str, asyncio.TimerHandle] = {}  # symbol -> its held update

    def update(self, symbol: str) -> None:
        """Send ``symbol``'s update now, or when its interval since the last one ends."""
        if symbol in self.due:
            return  # the held update reads the state when it goes: it has this change too
        loop = asyncio.get_running_loop()
        wait = self.sent.get(symbol, -self.period) + self.period - loop.time()
        if wait <= 0:
            self._send(symbol)
        else:
            self.due[symbol] = loop.call_later(wait, self._send, symbol)

    def _send(self, symbol: str) -> None:
        self.due.pop(symbol, None)
        self.sent[symbol] = asyncio.get_running_loop().time()
        self.send(symbol)

    def cancel(self) -> None:
        for handle in self.due.values():
            handle.cancel()
        self.due.clear()


class Peer:
    """One socket: its session and its open streams (sid -> stream kind)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.mp: str | None = None
        # sid -> (kind, q, tracking number when opened: live events come after it; 0 for
        # the Market Data API's, which has none)
        self.streams: dict[int, tuple[str, str, int]] = {}
        self.md: dict[int, dict[str, Any]] = {}  # sid -> Market Data API request
        self.throttles: dict[int, Throttle] = {}  # sid -> its interval's held updates
        self.balances: dict[int, tuple[str, int]] = {}  # sid -> (q, ledger account streamed)
        self.candles: dict[int, dict[str, Any]] = {}  # sid -> the newest candle it was sent
        self.listed: dict[int, set[str]] = {}  # sid -> the symbols a page's updates follow
        # sid -> (kind, q, instrument) of the broker API's orders and balance streams
        self.broker: dict[int, tuple[str, str, str | None]] = {}

    def write(self, message: dict[str, Any]) -> None:
        """Encode ``message`` and write it now (never waiting for the peer to read)."""
        self.outbox.put(_encode(message))

    def end(self, sid: int) -> tuple[str, str, int] | None:
        """Forget the stream on ``sid`` (ended by either side); returns what it was."""
        self.md.pop(sid, None)
        self.balances.pop(sid, None)
        self.candles.pop(sid, None)
        self.listed.pop(sid, None)
        throttle = self.throttles.pop(sid, None)
        if throttle is not None:
            throttle.cancel()
        broker = self.broker.pop(sid, None)
        if broker is not None:
            return broker[0], broker[1], 0
        return self.streams.pop(sid, None)

    def end_all(self) -> None:
        """Forget every stream (the socket closed)."""
        for sid in [*self.streams, *self.broker]:
            self.end(sid)
