"""The Exberry simulator's Market Data API (REFERENCE 10): its requests, snapshots and
the updates of its streams, each at most once per interval."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from typing import Any, Protocol

from ._exberry_auction import Auction
from ._exberry_calendar import Market
from ._exberry_peer import Peer, Throttle
from ._exberry_rules import Fail, Types, public, typed, visible

__all__ = [
    "MD_DEFAULT_INTERVAL",
    "MD_INTERVALS",
    "MD_LEVELS",
    "MD_MAX_TRADES",
    "MarketDataApi",
]

MD_INTERVALS = (100, 1000, 2000)
"""``interval`` values (ms) of ``lightTickers`` and ``partialOrderBook``; others get
error 3 "Wrong interval" (REFERENCE 10 and its samples)."""
MD_LEVELS = (1, 5, 10, 20, 100)
"""``levels`` values of ``partialOrderBook`` (REFERENCE 10); others get error 3 "Wrong
levels", worded like "Wrong interval" (the venue's answer is undocumented)."""
MD_MAX_TRADES = 10_000
"""The largest ``limit`` of ``liveTrades`` (REFERENCE 10); 0, a negative one or a larger one
gets error 3 "Wrong limit" (a negative one sliced the log from its far end)."""
MD_DEFAULT_INTERVAL = 1000
"""The interval of a request that names none (undocumented: the samples always do)."""
_MD_TYPES: Types = {
    "symbol": str, "symbols": list, "from": int, "to": int, "limit": int, "multiplier": int,
    "timespan": str, "levels": int, "interval": (int, str), "decimals": int,
    "caAdjustments": bool,
}  # fmt: skip
"""The Market Data API's request members and their JSON types (lists: of strings)."""
_PAGINATION_TYPES: Types = {"fromSymbol": str, "limit": int, "calendarId": int}


class Venue(Protocol):
    """What the Market Data API reads of the simulator it is part of."""

    clock: Callable[[], float]
    instruments: dict[str, dict[str, Any]]
    instrument_status: dict[str, dict[str, str]]
    books: dict[str, dict[str, list[dict[str, Any]]]]
    trade_log: dict[str, list[list[Any]]]
    tick_size: float
    md_tokens: set[str]
    candle_interval: float
    peers: set[Peer]

    @property
    def _markets(self) -> dict[int, Market]: ...
    @property
    def _running(self) -> dict[str, Auction]: ...

    def _now_ns(self) -> int: ...
    def _exact(self, instrument: str, quantity: float) -> float: ...
    def _market(self, symbol: str) -> Market: ...
    def _indicative(self, symbol: str) -> dict[str, Any]: ...
    def _instrument_id(self, symbol: str) -> int: ...


class MarketDataApi:
    """The Market Data API of one simulator: it answers ``v1/exchange.marketdata/...``
    and ``v1/exchange.marketdata.history/...`` requests (:meth:`request`) and sends its
    streams what changed (:meth:`publish`, :meth:`instrument_changed`,
    :meth:`calendar_changed`)."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue

    def request(self, peer: Peer, q: str, sid: int, d: Any, token: Any) -> None:
        """Answer one request: a snapshot, then (streams) updates until ended; a refusal
        raises :class:`Fail`."""
        venue = self._venue
        if peer.mp is None and (type(token) is not str or token not in venue.md_tokens):
            raise Fail(
                3 if token is not None else 2, "Invalid token" if token else "Missing fields: token"
            )
        if not typed(d, _MD_TYPES):
            raise Fail(500, "Failed to decode service message data")
        name = q.rsplit("/", 1)[-1]
        if name == "lightTickers" and not d.get("symbols"):
            raise Fail(2, "Missing fields: symbols")
        symbols = d.get("symbols") if name == "lightTickers" else [d.get("symbol")]
        if name in ("lightTickers", "partialOrderBook", "liveTrades", "auctionIndicativeEP"):
            if name != "lightTickers" and symbols[0] not in venue.instruments:
                raise Fail(3, f"Wrong symbol {symbols[0]}")
            if name != "liveTrades":
                interval = _interval(d)
                if name == "partialOrderBook":
                    if d.get("levels", 5) not in MD_LEVELS:
                        raise Fail(3, "Wrong levels")
                    if d.get("decimals", 0) < 0:
                        raise Fail(3, "Wrong decimals")
                send = functools.partial(self._update, peer, q, sid, name, d)
                peer.throttles[sid] = Throttle(interval, send)
            elif not 1 <= d.get("limit", 100) <= MD_MAX_TRADES:
                raise Fail(3, "Wrong limit")  # worded like "Wrong interval" (undocumented)
            peer.streams[sid] = (f"md:{name}", q, 0)
            peer.md[sid] = d
            for symbol in symbols:
                if symbol not in venue.instruments:  # lightTickers: told once, in the stream
                    item = self._wrong_symbol(symbol)
                else:
                    item = self._item(name, symbol, d, True)
                peer.write({"q": q, "sid": sid, "d": item})
            if name == "liveTrades":
                log = venue.trade_log[d["symbol"]]
                if log:  # end of snapshot: the last trade repeated with quantity 0
                    peer.write({"q": q, "sid": sid, "d": [log[-1][0], 0, *log[-1][2:]]})
            return
        if name == "getSettlementPrices":
            for symbol in d.get("symbols") or []:
                if symbol in venue.instruments:
                    trades = venue.trade_log[symbol]
                    item = {"symbol": symbol, "price": trades[-1][0] if trades else None,
                            "lastUpdate": venue._now_ns() // 10**6}  # fmt: skip
                    peer.write({"q": q, "sid": sid, "d": item})
            peer.write({"sig": 1, "q": q, "sid": sid})
            return
        if name in ("tickSizeList", "calendarList"):
            peer.streams[sid] = (f"md:{name}", q, 0)
            items = (
                [{"id": 1, "name": "Default", "items": [{"tickSize": venue.tick_size}]}]
                if name == "tickSizeList"
                else [_calendar_item(market) for market in venue._markets.values()]
            )
            items[-1]["lastMessage"] = "Y"
            for item in items:
                peer.write({"q": q, "sid": sid, "d": item})
            return
        if name == "candles":
            if d.get("symbol") not in venue.instruments:
                raise Fail(3, f"Wrong symbol {d.get('symbol')}")
            history = q.startswith("v1/exchange.marketdata.history/")
            missing = [k for k in ("timespan", "from", "to")[: 3 if history else 1] if k not in d]
            if missing:
                raise Fail(2, f"Missing fields: {missing[0]}")
            if (d["timespan"], d.get("multiplier", 1)) not in _CANDLE_SECONDS:
                raise Fail(3, "Wrong timespan")  # worded like "Wrong interval" (undocumented)
            bars = self._bars(d["symbol"], d)
            if history:  # none in the range: the last one before it
                chosen = [b for at, b in bars if d["from"] <= at <= d["to"]]
                for bar in chosen or [b for at, b in bars if at < d["from"]][-1:]:
                    peer.write({"q": q, "sid": sid, "d": bar})
                peer.write({"sig": 1, "q": q, "sid": sid})
                return
            peer.streams[sid] = ("md:candles", q, 0)
            peer.md[sid] = d
            send = functools.partial(self._candle_update, peer, q, sid, d)
            peer.throttles[sid] = Throttle(round(venue.candle_interval * 1000), send)
            if "from" not in d:  # only what changes from now on
                if bars:
                    peer.candles[sid] = bars[-1][1]
                return
            for at, bar in bars:
                if at >= d["from"]:
                    peer.write({"q": q, "sid": sid, "d": public(bar)})
                    peer.candles[sid] = bar
            return
        if name == "instrumentList":  # one frame per instrument, the last marked
            peer.streams[sid] = ("md:instrumentList", q, 0)
            items = [i for i in self._instrument_items() if i["activityStatus"] == "ACTIVE"]
            if items:
                items[-1] = {**items[-1], "lastMessage": "Y"}
            for item in items or [{"lastMessage": "Y"}]:  # none: the Empty message sample
                peer.write({"q": q, "sid": sid, "d": item})
            return
        if name == "instrumentListWithPagination":  # the page in one snapshot frame
            bad = [k for k, kind in _PAGINATION_TYPES.items() if not typed(d, {k: kind})]
            if bad or d.get("limit", 1) < 1:
                raise Fail(100, f"Missing or invalid parameter: {(bad or ['limit'])[0]}")
            start = d.get("fromSymbol", "").casefold()
            rest = [  # those the filter takes, or without one the active ones
                item for item in self._instrument_items()
                if item["symbol"].casefold() > start
                and (item["calendarId"] == d["calendarId"] if "calendarId" in d
                     else item["activityStatus"] == "ACTIVE")
            ]  # fmt: skip
            page = rest[: d.get("limit", len(rest))]
            snapshot = {"messageType": "snapshot", "instruments": page, "count": len(rest)}
            if page:  # where the next page starts
                snapshot["fromSymbol"] = page[-1]["symbol"]
            peer.streams[sid] = ("md:instrumentListWithPagination", q, 0)
            peer.listed[sid] = {item["symbol"] for item in page}
            peer.write({"q": q, "sid": sid, "d": snapshot})
            return
        raise Fail(1, f"{name} is not simulated")

    def _instrument_items(self) -> list[dict[str, Any]]:
        """The instruments as the Market Data API lists them: by symbol, whatever its
        case (the documentation), with the ids reporting gives them."""
        ordered = sorted(self._venue.instruments, key=str.casefold)
        return [self._instrument_item(symbol) for symbol in ordered]

    def _instrument_item(self, symbol: str) -> dict[str, Any]:
        return {"id": self._venue._instrument_id(symbol), **self._venue.instruments[symbol]}

    def instrument_changed(self, symbol: str) -> None:
        """The Market Data API's live update of ``symbol`` (its status changed): to every
        ``instrumentList`` stream, and to the pages that listed it (a disabled one's
        last: "no further updates will be sent for that instrument")."""
        item = self._instrument_item(symbol)
        for peer, sid, q, kind in self.streams("instrumentList", "instrumentListWithPagination"):
            if kind == "md:instrumentList":
                peer.write({"q": q, "sid": sid, "d": item})
            elif symbol in peer.listed[sid]:
                peer.write({"q": q, "sid": sid, "d": {"messageType": "update", "instrument": item}})
                if item["activityStatus"] != "ACTIVE":
                    peer.listed[sid].discard(symbol)

    def streams(self, *names: str) -> list[tuple[Peer, int, str, str]]:
        """Every socket's open Market Data API streams of ``names``: ``(peer, sid, q,
        kind)``."""
        kinds = {f"md:{name}" for name in names}
        return [
            (peer, sid, q, kind)
            for peer in list(self._venue.peers)
            for sid, (kind, q, _) in list(peer.streams.items())
            if kind in kinds
        ]

    def _bars(self, symbol: str, d: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """The candles of the trade log for ``d``'s ``timespan`` and ``multiplier``,
        oldest first, each with its start as ``from``/``to`` count it (epoch seconds;
        ``yyyyMMdd`` for ``DAY`` bars, whose ``timeStamp`` is that too: the documentation's
        formats). A bar's ``_start`` (epoch seconds) is not sent."""
        seconds = _CANDLE_SECONDS[d["timespan"], d.get("multiplier", 1)]
        bars: dict[int, dict[str, Any]] = {}
        for price, qty, _, ms, *_ in self._venue.trade_log[symbol]:
            if qty <= 0:
                continue
            start = ms // 1000 // seconds * seconds
            bar = bars.get(start)
            if bar is None:
                day = int(dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y%m%d"))
                stamp = day if d["timespan"] == "DAY" else start * 1000
                bar = bars[start] = {
                    "symbol": symbol, "open": price, "high": price, "low": price,
                    "volume": 0, "_value": 0.0, "timeStamp": stamp, "_start": start,
                }  # fmt: skip
            bar.update(high=max(bar["high"], price), low=min(bar["low"], price), close=price)
            bar["volume"] = self._venue._exact(symbol, bar["volume"] + qty)
            bar["_value"] += price * qty
            bar["vwa"] = round(bar["_value"] / bar["volume"], 8)
        ordered = [bars[k] for k in sorted(bars)]
        return [(b["timeStamp"] if d["timespan"] == "DAY" else b["_start"], b) for b in ordered]

    def _candle_update(self, peer: Peer, q: str, sid: int, d: dict[str, Any], _: str) -> None:
        """Send a candles stream what changed since its last update: the bar it was sent
        last if that changed before closing, and any newer bar."""
        last = peer.candles.get(sid)
        for _at, bar in self._bars(d["symbol"], d):
            if (
                last is None
                or bar["_start"] > last["_start"]
                or (bar["_start"] == last["_start"] and public(bar) != public(last))
            ):
                peer.write({"q": q, "sid": sid, "d": public(bar)})
                peer.candles[sid] = last = bar

    def _item(self, name: str, symbol: str, d: dict[str, Any], snapshot: bool) -> Any:
        venue = self._venue
        if name == "lightTickers":
            return self._light_ticker(symbol)
        if name == "auctionIndicativeEP":  # the book stream's event, ms, no messageType
            stamp = venue._now_ns() // 10**6
            return {
                "instrument": symbol,
                **venue._indicative(symbol),
                "eventTimestamp": stamp,
            }
        book = venue.books[symbol]
        places: int = venue.instruments[symbol]["quantityPrecision"]
        if name == "partialOrderBook":
            depth, decimals = d.get("levels", 5), d.get("decimals")
            item = {
                "symbol": symbol, "timeStamp": venue._now_ns() // 10**6,
                "bids": _levels(book["Buy"], places, decimals, math.floor)[:depth],
                "asks": _levels(book["Sell"], places, decimals, math.ceil)[:depth],
            }  # fmt: skip
            for side, member in (("Buy", "marketBids"), ("Sell", "marketAsks")):
                market = [o for o in book[side] if o["price"] is None and not o.get("_dark")]
                if market:  # an auction's market orders: [quantity, numberOfOrders]
                    total = sum(o["remainingOpenQuantity"] for o in market)
                    item[member] = [round(total, places), len(market)]
            return item
        # liveTrades: the snapshot is one list of positional arrays
        return venue.trade_log[symbol][-d.get("limit", 100) :] if snapshot else []

    def _light_ticker(self, symbol: str) -> dict[str, Any]:
        """A ``lightTickers`` item: the best prices, and the trading day's order book
        trades (the day began at the last market close); members without a value are
        left out, as Exberry leaves them. A disabled instrument is no longer an active
        one: the documented "Wrong symbol" item."""
        venue = self._venue
        if venue.instrument_status[symbol]["status"] == "Disabled":
            return self._wrong_symbol(symbol)
        book, places = (
            venue.books[symbol],
            venue.instruments[symbol]["quantityPrecision"],
        )
        bid, ask = _levels(book["Buy"], places), _levels(book["Sell"], places)
        item: dict[str, Any] = {
            "symbol": symbol, "status": self._ticker_status(symbol),
            "timeStamp": venue._now_ns() // 10**6,
            "bidQuantity": bid[0][1] if bid else 0, "askQuantity": ask[0][1] if ask else 0,
        }  # fmt: skip
        if bid:
            item["bidPrice"] = bid[0][0]
        if ask:
            item["askPrice"] = ask[0][0]
        closed = venue._market(symbol).calendar.last_close(venue.clock()) * 1000  # ms
        trades = [t for t in venue.trade_log[symbol] if t[1] > 0]
        before = [t for t in trades if t[3] < closed]
        if before:
            item.update(closingPrice=before[-1][0], closingPriceTimestamp=int(closed))
        today = trades[len(before) :]
        if today:
            prices = [t[0] for t in today]
            volume = venue._exact(symbol, sum(t[1] for t in today))
            item.update(
                lastPrice=prices[-1], lastQuantity=today[-1][1],
                lastPriceTimestamp=today[-1][3], openingPrice=prices[0],
                high=max(prices), low=min(prices), volume=volume,
                quoteVolume=round(sum(t[0] * t[1] for t in today), 8),
                volumeTypes=[{"type": "Matched", "volume": volume}],
            )  # fmt: skip
        return item

    def publish(self, touched: set[str], new_trades: dict[str, list[list[Any]]]) -> None:
        """Tell the symbol streams of the ``touched`` instruments: ``liveTrades`` each of
        ``new_trades`` (symbol -> its new rows), the others their update, once per
        interval."""
        symbol_streams = self.streams(
            "lightTickers", "partialOrderBook", "liveTrades", "candles", "auctionIndicativeEP"
        )
        for peer, sid, q, kind in symbol_streams:
            name, d = kind[3:], peer.md.get(sid, {})
            for symbol in d.get("symbols") or [d.get("symbol")]:
                if symbol not in touched:
                    continue
                if name == "auctionIndicativeEP" and symbol not in self._venue._running:
                    continue  # sent during auctions only
                if name == "liveTrades":
                    for row in new_trades.get(symbol, []):
                        peer.write({"q": q, "sid": sid, "d": row})  # one array each
                else:  # lightTickers, partialOrderBook, candles: once per interval
                    peer.throttles[sid].update(symbol)

    def calendar_changed(self, market: Market) -> None:
        """Send ``calendarList`` streams the calendar of ``market`` (its day ended)."""
        item = _calendar_item(market)
        for peer, sid, q, _ in self.streams("calendarList"):
            peer.write({"q": q, "sid": sid, "d": item})

    def _update(
        self, peer: Peer, q: str, sid: int, name: str, d: dict[str, Any], symbol: str
    ) -> None:
        peer.write({"q": q, "sid": sid, "d": self._item(name, symbol, d, False)})

    def _ticker_status(self, symbol: str) -> str:
        """``lightTickers`` ``status``: ``Halted``, else the market's own state."""
        state = self._venue.instrument_status[symbol]
        if state["tradingStatus"] == "Halt":
            return "Halted"
        market = state["marketStatus"]
        return "Trading" if market == "Opened" else market

    def _wrong_symbol(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "bidQuantity": 0, "askQuantity": 0,
                "timeStamp": self._venue._now_ns() // 10**6, "errorCode": 3,
                "errorMessage": "Wrong symbol"}  # fmt: skip


def _interval(d: dict[str, Any]) -> int:
    """A Market Data API stream's ``interval`` (ms), one of :data:`MD_INTERVALS`."""
    interval = d.get("interval", MD_DEFAULT_INTERVAL)
    if type(interval) is str and interval.isdigit():  # the samples write both
        interval = int(interval)
    if interval not in MD_INTERVALS:
        raise Fail(3, "Wrong interval")
    return int(interval)


_CANDLE_SECONDS = {("MINUTE", 1): 60, ("MINUTE", 5): 300, ("MINUTE", 15): 900,
                   ("HOUR", 1): 3600, ("HOUR", 4): 14_400, ("DAY", 1): 86_400}  # fmt: skip
"""The candles the Market Data API offers, (timespan, multiplier) -> their length."""


def _levels(
    side: list[dict[str, Any]],
    places: int,
    decimals: int | None = None,
    rounding: Callable[[float], int] = math.floor,
) -> list[list[Any]]:
    """Orders of one side (best first) as ``[price, quantity, numberOfOrders]`` levels,
    quantities summed to ``places`` decimals; ``decimals`` (partialOrderBook) rounds prices
    to that many decimals with ``rounding`` (bids down, asks up, so the sides never cross)
    and merges the levels that meet."""
    levels: dict[float, list[Any]] = {}
    for order in side:
        if order["displayMethod"] == "Hidden" or order["price"] is None or order.get("_dark"):
            continue  # not shown, an auction's market order, or held back by a dark auction
        price = order["price"]
        if decimals is not None and decimals < 16:  # finer than a float holds: as is
            unit = 10**decimals
            price = rounding(round(price * unit, 9)) / unit
        level = levels.setdefault(price, [price, 0, 0])
        level[1] = round(level[1] + visible(order), places)
        level[2] += 1
    return list(levels.values())


def _calendar_item(market: Market) -> dict[str, Any]:
    """A ``calendarList`` item: the calendar, its auctions and its last end of day."""
    calendar = market.calendar
    return public({
        **calendar.members, "auctions": [public(a) for a in calendar.auctions],
        "lastEodDate": market.last_eod,
    })  # fmt: skip
