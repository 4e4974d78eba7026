"""Simulator handlers for history: public trades, TradingView candles, the account's own
trades and orders. Everything is read from what the simulated market and accounts did; a
chart reaching back before the simulator started gets a deterministic price path ending at
the first real trade, so indicators computed at start-up have data."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from ._accounts import LIVE_STATES
from ._market import RESOLUTION_MS, Candle, kind_matches, public_trade
from ._orders import account_of, currency_of
from ._session import invalid_param, public_view
from ._shaped import declared_params
from ._state import Call, SimState

__all__ = ["register", "trades_page"]

Trade = dict[str, Any]

MAX_CANDLES = 5_000
"""Most candles one chart request returns (a longer range starts later)."""


def trades_page(trades: Iterable[Trade], params: dict[str, Any], count: int = 10) -> dict[str, Any]:
    """Deribit's ``{trades, has_more}`` page of ``trades`` (oldest first) for the request's
    ``start_*``/``end_*`` bounds (sequence numbers, ids, timestamps, all inclusive),
    ``count`` and ``sorting``.

    With a lower bound the page starts at the earliest match, else it ends at the newest
    (Deribit: "when param is provided trades are returned from the earliest"); ``asc`` and
    ``desc`` order the page, ``default`` keeps the direction it was taken in.
    """
    bounds: list[tuple[str, Callable[[Any], int], float, float]] = []
    for low, high, member, key in _BOUNDS:
        if low in params or high in params:
            lowest = key(params[low]) if low in params else -math.inf
            highest = key(params[high]) if high in params else math.inf
            bounds.append((member, key, lowest, highest))
    matches = [t for t in trades if all(lo <= key(t[m]) <= hi for m, key, lo, hi in bounds)]
    count = int(params.get("count", count))
    from_start = any(p in params for p in ("start_seq", "start_timestamp", "start_id"))
    page = matches[:count] if from_start else matches[-count:]
    sorting = params.get("sorting", "default")
    if sorting == "desc" or (sorting == "default" and not from_start):
        page.reverse()
    return {"trades": page, "has_more": len(matches) > count}


def _id_number(trade_id: Any) -> int:
    """``ETH-2696083`` and ``48079573`` alike: ids sort by their number."""
    digits = str(trade_id).rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else 0


# (lower bound param, upper bound param, trade member, how to compare it)
_BOUNDS: tuple[tuple[str, str, str, Callable[[Any], int]], ...] = (
    ("start_seq", "end_seq", "trade_seq", int),
    ("start_timestamp", "end_timestamp", "timestamp", int),
    ("start_id", "end_id", "trade_id", _id_number),
)


def _instrument_name(call: Call, params: dict[str, Any]) -> str:
    return str(call.sim.market.require(params["instrument_name"])["instrument_name"])


def _covers(call: Call, params: dict[str, Any]) -> Callable[[str], bool]:
    """Which instrument names a ``currency`` (+ optional ``kind``) request covers."""
    currency = params["currency"].upper()
    kind = params.get("kind")
    instruments = call.sim.market.instruments

    def covered(name: str) -> bool:
        instrument = instruments[name]
        return currency_of(instrument) == currency and kind_matches(instrument["kind"], kind)

    return covered


# -- public trades --------------------------------------------------------------------------


def _public_page(trades: Iterable[Trade], params: dict[str, Any]) -> dict[str, Any]:
    """:func:`trades_page` of prints, showing what everyone sees of them."""
    page = trades_page(trades, params)
    page["trades"] = [public_trade(t) for t in page["trades"]]
    return page


def get_last_trades_by_instrument(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    tape = call.sim.market.tapes.get(_instrument_name(call, params), ())
    return _public_page(tape, params)


def get_last_trades_by_currency(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    covered = _covers(call, params)
    tapes = call.sim.market.tapes
    trades = sorted(
        (t for name, tape in tapes.items() if covered(name) for t in tape),
        key=lambda t: (t["timestamp"], _id_number(t["trade_id"])),
    )
    return _public_page(trades, params)


# -- candles ------------------------------------------------------------------------------


def get_tradingview_chart_data(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    name = _instrument_name(call, params)
    step = RESOLUTION_MS[params["resolution"]]
    start = params["start_timestamp"] // step * step
    end = min(params["end_timestamp"], call.sim.now_ms())
    if end < start:
        return _chart([], "no_data")
    start = max(start, (end // step - MAX_CANDLES + 1) * step)
    candles = list(call.sim.market.candles(name, start, end, step))
    return _chart(candles, "ok" if candles else "no_data")


def _chart(candles: list[Candle], status: str) -> dict[str, Any]:
    columns = ("ticks", "open", "high", "low", "close", "volume", "cost")
    chart: dict[str, Any] = {column: [c[i] for c in candles] for i, column in enumerate(columns)}
    chart["status"] = status
    return chart


# -- own trades and orders ----------------------------------------------------------------


def get_user_trades_by_instrument(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    name = _instrument_name(call, params)
    own = account_of(call).trades
    return trades_page((t for t in own if t["instrument_name"] == name), params)


def get_user_trades_by_currency(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    covered = _covers(call, params)
    own = account_of(call).trades
    return trades_page((t for t in own if covered(t["instrument_name"])), params)


def get_order_history_by_instrument(call: Call) -> Any:
    params = declared_params(call)
    name = _instrument_name(call, params)
    return _order_history(call, params, lambda o: o["instrument_name"] == name)


def get_order_history_by_currency(call: Call) -> Any:
    params = declared_params(call)
    covered = _covers(call, params)
    return _order_history(call, params, lambda o: covered(o["instrument_name"]))


def _order_history(call: Call, params: dict[str, Any], select: Callable[[Trade], bool]) -> Any:
    """Closed orders newest first (open ones too with ``include_unfinished``); fully
    unfilled closed ones only with ``include_unfilled``; pages by ``offset`` or by the
    ``continuation`` token ``with_continuation`` returns."""
    unfinished = call.param("include_unfinished", bool, False)  # documented elsewhere
    unfilled = params.get("include_unfilled", False)
    chosen = [
        (o["last_update_timestamp"], n, o)  # n (creation order) breaks ties within a ms
        for n, o in enumerate(account_of(call).orders.values())
        if select(o)
        and (unfinished or o["order_state"] not in LIVE_STATES)
        and (unfilled or o["filled_amount"] > 0 or o["order_state"] in LIVE_STATES)
    ]
    history = [public_view(o) for _, _, o in sorted(chosen, key=lambda c: c[:2], reverse=True)]
    count = params.get("count", 20)
    offset = params.get("offset", 0)
    token = params.get("continuation")
    if token is not None:
        offset = int(token) if str(token).isdigit() else -1
        if offset < 0:
            raise invalid_param("continuation", "not a token this method returned")
    page = history[offset : offset + count]
    if not params.get("with_continuation"):
        return page
    more = offset + count < len(history)
    return {"orders": page, "continuation": str(offset + count) if more else None}


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    handlers = {
        "public": (
            get_last_trades_by_instrument,
            get_last_trades_by_currency,
            get_tradingview_chart_data,
        ),
        "private": (
            get_user_trades_by_instrument,
            get_user_trades_by_currency,
            get_order_history_by_instrument,
            get_order_history_by_currency,
        ),
    }
    for scope, functions in handlers.items():
        for fn in functions:
            sim.methods[f"{scope}/{fn.__name__}"] = fn
    # The *_and_time variants are the same reads with the time bounds required.
    for method in (
        "public/get_last_trades_by_instrument",
        "public/get_last_trades_by_currency",
        "private/get_user_trades_by_instrument",
        "private/get_user_trades_by_currency",
    ):
        sim.methods[f"{method}_and_time"] = sim.methods[method]
