"""Simulator handlers for subscriptions and heartbeats, and the book stream generator."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ._session import Session, SimError, invalid_param, remember
from ._state import Call, SimState

log = logging.getLogger("deribit_client.testing")

__all__ = ["book_change", "book_snapshot", "generate", "needs_authorization", "register"]

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


_INSTRUMENT_FAMILIES = frozenset(
    {"book", "ticker", "quote", "incremental_ticker", "perpetual", "chart"}
)
_KNOWN_FAMILIES = _INSTRUMENT_FAMILIES | {
    "trades",
    "deribit_price_index",
    "deribit_price_ranking",
    "deribit_price_statistics",
    "deribit_volatility_index",
    "markprice",
    "estimated_expiration_price",
    "instrument",
    "platform_state",
    "announcements",
    "block_rfq",
    "block_trade_confirmations",
    "user",
}


def _valid(sim: SimState, channel: str) -> bool:
    parts = channel.split(".")
    if parts[0] not in _KNOWN_FAMILIES or channel in sim.reject_channels:
        return False
    if parts[0] in _INSTRUMENT_FAMILIES:
        # chart.trades.{instrument}.{resolution}; the others are {family}.{instrument}...
        index = 2 if parts[0] == "chart" else 1
        name = parts[index] if len(parts) > index else ""
        return sim.market.instrument(name) is not None
    return True


def _is_book_stream(channel: str) -> bool:
    parts = channel.split(".")
    return parts[0] == "book" and len(parts) == 3


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


def book_change(sim: SimState, instrument: str, *, gap: bool = False) -> dict[str, Any]:
    """Change the book a little and describe it as a ``change`` message.

    With ``gap=True`` one change id is skipped, so ``prev_change_id`` does not match.
    """
    book = sim.market.books[instrument]
    prev = book.change_id
    book.change_id += 2 if gap else 1
    preferred, other = (book.bids, book.asks) if book.change_id % 2 else (book.asks, book.bids)
    side = preferred or other  # a side may be empty (all liquidity taken)
    changes: list[list[Any]] = []
    if side:
        level = side[book.change_id % min(len(side), 5)]
        level[1] = round(book.min_amount * (1 + (book.change_id % 40)), 10)
        changes.append(["change", level[0], level[1]])
    return {
        "type": "change",
        "timestamp": sim.now_ms(),
        "instrument_name": instrument,
        "change_id": book.change_id,
        "prev_change_id": prev + 1 if gap else prev,
        "bids": changes if side is book.bids else [],
        "asks": [] if side is book.bids else changes,
    }


def generate(sim: SimState, channel: str) -> Any | None:
    """A plausible next payload for ``channel``, or None for families it does not stream.

    Index prices take a small random step each time; books change one level at a time with
    consecutive change ids, so consumers see a valid sequence.
    """
    parts = channel.split(".")
    family = parts[0]
    market = sim.market
    now = sim.now_ms()
    if family == "deribit_price_index" and len(parts) == 2 and parts[1] in market.index_prices:
        price = market.index_prices[parts[1]] * (1 + sim.rng.uniform(-1e-4, 1e-4))
        market.index_prices[parts[1]] = round(price, 2)
        return {"index_name": parts[1], "price": round(price, 2), "timestamp": now}
    name = parts[1] if len(parts) > 1 else ""
    if market.instrument(name) is None:
        return None
    book = market.books[name]
    if family == "book" and len(parts) == 3:
        return book_change(sim, name)
    if family == "book" and len(parts) == 5:
        depth = int(parts[3]) if parts[3].isdigit() else 10
        return {
            "timestamp": now,
            "instrument_name": name,
            "change_id": book.change_id,
            "bids": [list(level) for level in book.bids[:depth]],
            "asks": [list(level) for level in book.asks[:depth]],
        }
    if family == "ticker":
        return market.ticker(name, now)
    if family == "quote":
        bid, ask = book.best_bid, book.best_ask
        return {
            "timestamp": now,
            "instrument_name": name,
            "best_bid_price": bid[0] if bid else None,
            "best_bid_amount": bid[1] if bid else 0.0,
            "best_ask_price": ask[0] if ask else None,
            "best_ask_amount": ask[1] if ask else 0.0,
        }
    if family == "trades" and len(parts) == 3:
        side = book.best_ask if sim.rng.random() < 0.5 else book.best_bid
        if side is None:
            return None
        sim.stream_trades += 1
        return [
            {
                "trade_id": f"SIMPUB-{sim.stream_trades}",
                "trade_seq": sim.stream_trades,
                "instrument_name": name,
                "timestamp": now,
                "direction": "buy" if side is book.best_ask else "sell",
                "price": side[0],
                "amount": market.instruments[name]["min_trade_amount"],
                "tick_direction": 0,
                "index_price": market.index_prices.get(market.index_of(name), side[0]),
                "mark_price": book.mid() or side[0],
            }
        ]
    if family == "perpetual" and name.endswith("PERPETUAL"):
        index = market.index_prices.get(market.index_of(name), 0.0)
        return {"interest": 0.00001, "index_price": index, "timestamp": now}
    return None


async def run_streams(sim: SimState, interval: float) -> None:
    """Publish generated data to every subscribed channel, every ``interval`` seconds."""
    while True:
        await asyncio.sleep(interval)
        channels = {c for session in sim.sessions for c in session.channels}
        for channel in sorted(channels):
            try:
                data = generate(sim, channel)
            except Exception:  # one channel's bug must not stop every stream
                log.exception("simulator could not generate data for %s", channel)
                continue
            if data is not None:
                await sim.publish(channel, data)


def _subscribe(call: Call, private: bool, label: str | None = None) -> list[str]:
    session = call.session
    if not session.is_websocket:
        raise SimError(10030, "must_be_websocket_request")
    channels = call.param("channels", list)
    if not all(isinstance(c, str) for c in channels):
        raise invalid_param("channels")
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
            snapshot = book_snapshot(call.sim, channel.split(".")[1])
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
    channels = call.param("channels", list)
    session = call.session
    removed = [c for c in channels if c in session.channels]
    session.channels.difference_update(removed)
    for channel in removed:
        session.labels.pop(channel, None)
    return removed


def _unsubscribe_all(call: Call) -> str:
    call.session.channels.clear()
    call.session.labels.clear()
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
            await ws.close()
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
