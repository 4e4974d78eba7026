"""Simulator handlers for subscriptions and heartbeats, and the market streams: what each
channel publishes when the market moves."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Container, Iterator, Sequence
from functools import partial
from typing import Any

from ._logs import remember
from ._market import (
    CURRENCY_CODES,
    PERPETUAL_EXPIRY,
    RESOLUTION_MS,
    channel_covers,
    leg_trades,
    public_trade,
)
from ._session import Session, SimError, invalid_param
from ._shapes import CHANNEL_PARTS, CHANNELS
from ._state import Call, SimState

log = logging.getLogger("deribit_client.testing")

__all__ = [
    "account_channels",
    "book_snapshot",
    "generate",
    "index_moved",
    "market_moved",
    "publish_to_account",
    "needs_authorization",
    "instrument_created",
    "instrument_state_changed",
    "register",
    "subscribed",
]

MAX_LABEL = 16
"""Longest ``private/subscribe`` label."""

# Channel families served only to an authorized connection (REFERENCE 5, the "priv" rows).
_AUTHORIZED_FAMILIES = frozenset({"user", "block_trade_confirmations"})
_AUTHORIZED_BLOCK_RFQ = frozenset({"maker", "taker"})


def needs_authorization(channel: str) -> bool:
    """Whether Deribit serves ``channel`` only on an authorized connection: the private
    families, and every ``raw`` interval (13778 otherwise)."""
    parts = channel.split(".")
    if parts[0] in _AUTHORIZED_FAMILIES or parts[-1] == "raw":
        return True
    return parts[0] == "block_rfq" and len(parts) > 1 and parts[1] in _AUTHORIZED_BLOCK_RFQ


_PATTERNS = tuple(tuple(pattern.split(".")) for pattern in CHANNELS)


def _valid(sim: SimState, channel: str) -> bool:
    """Whether ``channel`` is a Deribit channel about things that exist here: it fits one
    of the documented patterns, its instrument, index and currency parts name what the
    simulator lists, and its other parts take documented values."""
    if channel in sim.reject_channels:
        return False
    parts = channel.split(".")
    # DVOL exists for fewer indices than prices do
    indices = sim.market.volatility_index if parts[0] == "deribit_volatility_index" else None
    return any(
        len(pattern) == len(parts)
        and all(
            _part_fits(sim, wanted, part, indices)
            for wanted, part in zip(pattern, parts, strict=True)
        )
        for pattern in _PATTERNS
    )


def _part_fits(
    sim: SimState, wanted: str, part: str, indices: Container[str] | None = None
) -> bool:
    if not wanted.startswith("("):
        return wanted == part
    name = wanted[1:-1]
    allowed = CHANNEL_PARTS.get(name)
    if allowed is not None:
        return part in allowed
    if name == "instrument_name":
        return part in sim.market.instruments
    if name == "index_name":
        return part in (sim.market.index_prices if indices is None else indices)
    if name == "currency":
        return part.upper() in CURRENCY_CODES or part == "any"
    return bool(part)


def _is_book_stream(channel: str) -> bool:
    parts = channel.split(".")
    return parts[0] == "book" and len(parts) == 3


def _is_grouped_book(channel: str) -> bool:
    parts = channel.split(".")
    return parts[0] == "book" and len(parts) == 5


def book_snapshot(sim: SimState, instrument: str) -> dict[str, Any]:
    """The first message of ``book.{instrument}.{interval}``: the whole book."""
    book = sim.market.books[instrument]
    return {
        "type": "snapshot",
        "timestamp": sim.now_ms(),
        "instrument_name": instrument,
        "change_id": book.change_id,
        "bids": [["new", price, amount] for price, amount in book.bids],
        "asks": [["new", price, amount] for price, amount in book.asks],
    }


def _grouped(sim: SimState, channel: str) -> dict[str, Any]:
    """``book.{instrument}.{group}.{depth}.{interval}``: the top ``depth`` levels, prices
    rounded to the group (bids down, asks up, so the two sides never cross) and the
    amounts of the levels that share a rounded price summed."""
    _, name, group_part, depth_part, _ = channel.split(".")
    book = sim.market.books[name]
    group = None if group_part == "none" else int(group_part)
    depth = int(depth_part)
    sides = {}
    for side, rounding in (("bids", math.floor), ("asks", math.ceil)):
        merged: list[list[float]] = []  # best first, so equal rounded prices are adjacent
        for price, amount in book.levels(side):
            if group is not None:
                price = float(rounding(round(price / group, 9)) * group)
            if merged and merged[-1][0] == price:
                merged[-1][1] = round(merged[-1][1] + amount, 10)
            elif len(merged) == depth:
                break
            else:
                merged.append([price, amount])
        sides[side] = merged
    return {
        "timestamp": sim.now_ms(),
        "instrument_name": name,
        "change_id": book.change_id,
        **sides,
    }


def _quote(sim: SimState, name: str) -> dict[str, Any]:
    book = sim.market.books[name]
    bid, ask = book.best_bid, book.best_ask
    return {
        "timestamp": sim.now_ms(),
        "instrument_name": name,
        "best_bid_price": bid[0] if bid else None,
        "best_bid_amount": bid[1] if bid else 0.0,
        "best_ask_price": ask[0] if ask else None,
        "best_ask_amount": ask[1] if ask else 0.0,
    }


def subscribed(sim: SimState) -> set[str]:
    """Every channel some connection is subscribed to."""
    return {channel for session in sim.sessions for channel in session.channels}


async def market_moved(
    sim: SimState, name: str, trades: Sequence[dict[str, Any]] = (), *, skip: int = 0
) -> dict[str, Any] | None:
    """Publish what changed in ``name``'s market since the last call: the book's pending
    mutations as one change (``book.*``), grouped snapshots, the quote when the top of the
    book moved, the ticker, and ``trades`` on every ``trades.*`` channel covering the
    instrument. Every book mutation reaches subscribers this way, so change ids stay
    consecutive. Then the ``sim.on_market_move`` hooks run (trigger orders watch prices).
    A combo's trades (``legs`` of each) are published on its legs' markets too.
    Returns the book change message, if there was one."""
    change = await _publish_market(sim, name, trades, skip)
    for hook in sim.on_market_move:
        await hook((name,))
    for leg, printed in leg_trades(trades).items():  # a combo's trades print on its legs
        await market_moved(sim, leg, printed)
    return change


async def index_moved(sim: SimState, index: str) -> None:
    """Publish ``index``'s price on ``deribit_price_index.{index}`` and run the
    ``sim.on_market_move`` hooks with every instrument on it, at once: their
    ``index_price`` triggers watch it, and each hook sees the whole move (every stop it
    fires before any liquidation check)."""
    price = sim.market.index_prices[index]
    await sim.publish(
        f"deribit_price_index.{index}",
        {"index_name": index, "price": price, "timestamp": sim.now_ms()},
    )
    names = [n for n, i in sim.market.instruments.items() if i.get("price_index") == index]
    for hook in sim.on_market_move:
        await hook(names)


async def _publish_market(
    sim: SimState, name: str, trades: Sequence[dict[str, Any]], skip: int
) -> dict[str, Any] | None:
    market = sim.market
    book = market.books[name]
    delta = book.flush(skip=skip)
    change = None
    if delta is not None:
        prev, bids, asks = delta
        change = {
            "type": "change",
            "timestamp": sim.now_ms(),
            "instrument_name": name,
            "change_id": book.change_id,
            "prev_change_id": prev,
            "bids": bids,
            "asks": asks,
        }
    if change is None and not trades:
        return None
    instrument = market.instruments[name]
    public = [public_trade(t) for t in trades]
    quote = _quote(sim, name)
    top = {key: value for key, value in quote.items() if key.startswith("best_")}
    top_moved = sim.stream_memory.get(f"quote.{name}") != top
    sim.stream_memory[f"quote.{name}"] = top
    for channel in sorted(subscribed(sim)):
        parts = channel.split(".")
        family = parts[0]
        if family == "trades":
            # trades.{instrument}.{interval} or trades.{kind}.{currency}.{interval}
            if public and channel_covers(parts[1:-1], instrument):
                await sim.publish(channel, public)
            continue
        if family == "chart":  # chart.trades.{instrument}.{resolution}: the candle moved
            candle = current_candle(sim, name, parts[3]) if public and parts[2] == name else None
            if candle is not None:
                await sim.publish(channel, candle)
            continue
        if len(parts) < 2 or parts[1] != name:
            continue
        if family == "book" and len(parts) == 3 and change is not None:
            await sim.publish(channel, change)
        elif family == "book" and len(parts) == 5 and change is not None:
            if sim.aggregation_period(channel) is None:  # else sent every window: _subscribe
                await sim.publish(channel, _grouped(sim, channel))
        elif family == "quote" and top_moved:
            await sim.publish(channel, quote)
        elif family == "ticker":
            await sim.publish(channel, market.ticker(name, sim.now_ms()))
    return change


def account_channels(sim: SimState, client_id: str) -> Iterator[tuple[Session, str]]:
    """Each channel subscribed by a connection authenticated as ``client_id``, with it."""
    for session in list(sim.sessions):
        if session.auth is not None and session.auth.client_id == client_id:
            for channel in list(session.channels):
                yield session, channel


async def publish_to_account(
    sim: SimState,
    client_id: str,
    family: str,
    data: Any,
    covers: Callable[[list[str]], bool] = lambda parts: True,
) -> None:
    """Send ``data`` on the ``family`` channels (``family`` itself or ``family.…``) that
    the connections authenticated as ``client_id`` subscribed, when ``covers`` accepts
    the rest of the channel's name parts."""
    depth = family.count(".") + 1
    for session, channel in account_channels(sim, client_id):
        parts = channel.split(".")
        if ".".join(parts[:depth]) == family and covers(parts[depth:]):
            session.notify(channel, data)


def _instruments_watched(sim: SimState, channels: set[str]) -> set[str]:
    """Instruments whose market some channel follows (one random instrument per
    ``trades.{kind}.{currency}`` channel)."""
    market = sim.market
    names: set[str] = set()
    for channel in channels:
        parts = channel.split(".")
        if parts[0] in ("book", "ticker", "quote", "trades") and len(parts) in (2, 3, 5):
            names.add(parts[1])  # book.X.i, book.X.g.d.i, ticker.X.i, quote.X, trades.X.i
        elif parts[0] == "trades" and len(parts) == 4:
            covered = sorted(
                name for name, i in market.instruments.items() if channel_covers(parts[1:-1], i)
            )
            if covered:
                names.add(sim.rng.choice(covered))
    return {name for name in names if name in market.instruments}


def _indices_watched(sim: SimState, channels: set[str]) -> set[str]:
    """Indices whose price some ``deribit_price_index.*`` channel follows."""
    return {
        parts[1]
        for parts in (channel.split(".") for channel in channels)
        if len(parts) == 2
        and parts[0] == "deribit_price_index"
        and parts[1] in sim.market.index_prices
    }


def generate(sim: SimState, channel: str) -> Any | None:
    """A plausible next payload for a channel that is not an instrument's book, quote,
    ticker or trades (those move through :func:`market_moved`), or None for channels that
    publish only when something happens (instrument states, platform state,
    announcements, the account's own channels)."""
    parts = channel.split(".")
    family = parts[0]
    market = sim.market
    now = sim.now_ms()
    index = parts[-1]
    price = market.index_prices.get(index)
    if price is not None and len(parts) == 2:  # {family}.{index_name}
        if family == "deribit_price_index":  # run_streams moves it: index_moved
            return None
        if family == "deribit_price_ranking":
            return [
                {
                    "identifier": venue,
                    "price": round(price * (1 + offset), 8),
                    "original_price": round(price * (1 + offset), 8),
                    "weight": round(100 / len(_INDEX_VENUES), 4),
                    "enabled": True,
                    "timestamp": now,
                }
                for venue, offset in _INDEX_VENUES
            ]
        if family == "deribit_price_statistics":
            return {
                "index_name": index,
                "low24h": round(price * 0.97, 8),
                "high24h": round(price * 1.02, 8),
                "change24h": -0.4512,
                "high_volatility": False,
            }
        if family == "deribit_volatility_index" and index in market.volatility_index:
            volatility = market.volatility_index[index] + sim.rng.uniform(-0.05, 0.05)
            market.volatility_index[index] = volatility = round(volatility, 2)
            return {"index_name": index, "volatility": volatility, "timestamp": now}
        if family == "estimated_expiration_price":
            expiries = [
                i["expiration_timestamp"]
                for i in market.instruments.values()
                if i["price_index"] == index and now < i["expiration_timestamp"] < PERPETUAL_EXPIRY
            ]
            seconds = (min(expiries) - now) // 1000 if expiries else 0
            return {"price": price, "is_estimated": True, "seconds": seconds}
    if price is not None and parts[:2] == ["markprice", "options"] and len(parts) == 3:
        marks = [
            {
                "instrument_name": name,
                "mark_price": round(market.mark_price(name), 8),
                "iv": market.mark_iv(name, now),
                "timestamp": now,
            }
            for name, i in market.instruments.items()
            if i["kind"] == "option" and i["price_index"] == index
        ]
        return marks or None
    name = parts[1] if len(parts) > 1 else ""
    if family == "perpetual" and name.endswith("PERPETUAL") and name in market.instruments:
        index_price = market.index_prices.get(market.index_of(name), 0.0)
        interest = market.funding_rate(name, now)
        return {"interest": interest, "index_price": index_price, "timestamp": now}
    if family == "chart" and len(parts) == 4 and parts[2] in market.instruments:
        return current_candle(sim, parts[2], parts[3])
    return None


# Exchanges an index is computed from (deribit_price_ranking), with their price offsets.
_INDEX_VENUES = (
    ("bitstamp", 0.0002),
    ("coinbase", -0.0001),
    ("kraken", 0.0001),
    ("gemini", -0.0002),
    ("okex", 0.0),
    ("binance", 0.00005),
)


def current_candle(sim: SimState, name: str, resolution: str) -> dict[str, Any] | None:
    """The candle ``chart.trades.{name}.{resolution}`` repeats until its period ends."""
    step = RESOLUTION_MS.get(resolution)
    if step is None:
        return None
    now = sim.now_ms()
    tick = now // step * step
    candles = list(sim.market.candles(name, tick, now, step))
    if not candles:
        return None
    tick, o, h, lo, c, volume, cost = candles[-1]
    return {"tick": tick, "open": o, "high": h, "low": lo, "close": c, "volume": volume,
            "cost": cost}  # fmt: skip


async def _tell_instrument_channels(
    sim: SimState, family: str, instrument: dict[str, Any], data: Any
) -> None:
    """Publish ``data`` on every ``instrument.{family}.{kind}.{currency}`` channel covering
    ``instrument``."""
    for channel in sorted(subscribed(sim)):
        parts = channel.split(".")
        if parts[:2] == ["instrument", family] and channel_covers(parts[2:], instrument):
            await sim.publish(channel, data)


async def instrument_state_changed(sim: SimState, instrument: dict[str, Any]) -> None:
    """Tell every ``instrument.state.{kind}.{currency}`` channel covering ``instrument``."""
    data = {
        "instrument_name": instrument["instrument_name"],
        "state": instrument["state"],
        "timestamp": sim.now_ms(),
    }
    await _tell_instrument_channels(sim, "state", instrument, data)


async def instrument_created(sim: SimState, instrument: dict[str, Any]) -> None:
    """Send the new ``instrument`` once to every ``instrument.creation.{kind}.{currency}``
    channel covering it."""
    await _tell_instrument_channels(sim, "creation", instrument, instrument)


INCREMENTAL_TICKER_PERIOD_MS = 1_000
"""``incremental_ticker.*`` sends at most once per second (REFERENCE 5)."""


def incremental_snapshot(sim: SimState, session: Session, channel: str) -> dict[str, Any]:
    """The first ``incremental_ticker`` message: the whole ticker, remembered for this
    connection so later messages carry only what changed."""
    ticker = sim.market.ticker(channel.split(".", 1)[1], sim.now_ms())
    session.state[channel] = (ticker, sim.now_ms())
    return {"type": "snapshot", **ticker}


async def _publish_incremental(sim: SimState) -> None:
    """Each connection's ``incremental_ticker`` channels: the fields that changed since
    the last message it got, at most once per second."""
    now = sim.now_ms()
    for session in list(sim.sessions):
        for channel in [c for c in session.channels if c.startswith("incremental_ticker.")]:
            previous, sent_at = session.state.get(channel, ({}, 0))
            if now - sent_at < INCREMENTAL_TICKER_PERIOD_MS:
                continue
            ticker = sim.market.ticker(channel.split(".", 1)[1], now)
            changed = {k: v for k, v in ticker.items() if previous.get(k) != v}
            session.state[channel] = (ticker, now)
            if changed.keys() - {"timestamp"}:
                data = {"type": "change", "instrument_name": ticker["instrument_name"], **changed}
                session.notify(channel, data)


async def run_streams(
    sim: SimState, interval: float, move: Callable[[SimState, str], Awaitable[None]]
) -> None:
    """Move the simulated market every ``interval`` seconds and publish it: ``move`` takes
    one step of each watched instrument's market (and publishes it through
    :func:`market_moved`); other channels get generated data."""
    while True:
        await asyncio.sleep(interval)
        channels = subscribed(sim)
        for name in sorted(_instruments_watched(sim, channels)):
            try:
                await move(sim, name)
            except Exception:  # one instrument's bug must not stop every stream
                log.exception("simulator could not move the market of %s", name)
        for index in sorted(_indices_watched(sim, channels)):
            price = sim.market.index_prices[index]
            sim.market.index_prices[index] = round(price * (1 + sim.rng.uniform(-1e-4, 1e-4)), 2)
            try:
                await index_moved(sim, index)
            except Exception:  # one index's bug must not stop every stream
                log.exception("simulator could not move the index %s", index)
        for channel in sorted(channels):
            try:
                data = generate(sim, channel)
            except Exception:  # one channel's bug must not stop every stream
                log.exception("simulator could not generate data for %s", channel)
                continue
            if data is not None:
                await sim.publish(channel, data)
        await _publish_incremental(sim)


def _subscribe(call: Call, private: bool, label: str | None = None) -> list[str]:
    session = call.session
    if not session.is_websocket:
        raise SimError(10030, "must_be_websocket_request")
    channels = call.param("channels", list, items=str)
    accepted = []
    for channel in channels:
        # Deribit silently leaves out channels it will not serve (REFERENCE 5).
        if not _valid(call.sim, channel) or (needs_authorization(channel) and not private):
            continue
        accepted.append(channel)
        session.channels.add(channel)
        if label is not None and needs_authorization(channel):
            session.labels[channel] = label  # Deribit labels private channels only
        if _is_book_stream(channel):
            session.windows.discard(channel)  # what it gathered predates this snapshot
            snapshot = book_snapshot(call.sim, channel.split(".")[1])
            call.then_send(session.notification(channel, snapshot))
        elif _is_grouped_book(channel):
            sim = call.sim
            session.windows.every(
                channel,
                partial(sim.aggregation_period, channel),
                partial(_grouped, sim, channel),
            )
        elif channel.startswith("incremental_ticker."):
            snapshot = incremental_snapshot(call.sim, session, channel)
            call.then_send(session.notification(channel, snapshot))
    remember(call.sim.subscriptions, (session.id, call.method, accepted))
    return accepted


def public_subscribe(call: Call) -> list[str]:
    return _subscribe(call, private=False)


def private_subscribe(call: Call) -> list[str]:
    label = call.param("label", str, None)
    if label is not None and len(label) > MAX_LABEL:
        raise invalid_param("label", f"at most {MAX_LABEL} characters")
    return _subscribe(call, private=True, label=label)


def _unsubscribe(call: Call) -> list[str]:
    channels = call.param("channels", list, items=str)
    session = call.session
    removed = [c for c in channels if c in session.channels]
    session.channels.difference_update(removed)
    for channel in removed:
        session.labels.pop(channel, None)
        session.windows.discard(channel)
    return removed


def _unsubscribe_all(call: Call) -> str:
    call.session.channels.clear()
    call.session.labels.clear()
    call.session.windows.close()
    return "ok"


def set_heartbeat(call: Call) -> str:
    session = call.session
    if not session.is_websocket:
        raise SimError(10030, "must_be_websocket_request")
    interval = call.param("interval", float)
    if interval < call.sim.min_heartbeat_interval:
        raise invalid_param("interval", f"must be at least {call.sim.min_heartbeat_interval}")
    _stop_heartbeat(session)
    task = asyncio.ensure_future(_heartbeat(call.sim, session, interval))
    session.state["heartbeat"] = task
    call.sim.spawn(task)
    return "ok"


def disable_heartbeat(call: Call) -> str:
    _stop_heartbeat(call.session)
    return "ok"


def _stop_heartbeat(session: Session) -> None:
    task = session.state.pop("heartbeat", None)
    if task is not None:
        task.cancel()


async def _heartbeat(sim: SimState, session: Session, interval: float) -> None:
    # Deribit sends test_request each interval and closes the connection when the previous
    # one was not answered with public/test (REFERENCE 1).
    ws = session.ws
    assert ws is not None
    while not ws.closed:
        await asyncio.sleep(interval)
        if session.silent or ws.closed:
            continue
        if session.state.get("awaiting_test"):
            sim.heartbeat_failures += 1
            await session.close()
            return
        session.state["awaiting_test"] = True
        sim.test_requests_sent += 1
        await session.send(
            {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
        )


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    sim.methods.update(
        {
            "public/subscribe": public_subscribe,
            "private/subscribe": private_subscribe,
            "public/unsubscribe": _unsubscribe,
            "private/unsubscribe": _unsubscribe,
            "public/unsubscribe_all": _unsubscribe_all,
            "private/unsubscribe_all": _unsubscribe_all,
            "public/set_heartbeat": set_heartbeat,
            "public/disable_heartbeat": disable_heartbeat,
        }
    )
