"""Simulator handlers for market statistics: funding, volatility, mark and delivery price
history, expirations, trade volumes, index names and APR. Everything is derived from the
simulated market (its index prices, books and tapes); before the simulator started a
deterministic made-up path ends at the value it started with, so a bot's start-up reads
get data that does not change between requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ._market import (
    DAY_MS,
    DVOL_OPENING,
    HOUR_MS,
    PERPETUAL_EXPIRY,
    Market,
    expiry_code,
    is_combo,
    made_up_path,
    traded_volume,
)
from ._orders import currency_of
from ._session import invalid_param, unsupported_instrument
from ._shaped import declared_params
from ._state import Call, SimState

__all__ = ["apr", "register"]

_SECOND_MS = 1_000

MAX_POINTS = 1_000
"""Most records one statistics request returns (a longer range is cut at its old end)."""

_HISTORICAL_VOLATILITY_OPENING = 45.0
_HISTORICAL_VOLATILITY_HOURS = 16 * 24  # Deribit answers about 16 days of hourly values
_MARK_HISTORY_MS = 5 * 60_000  # get_mark_price_history covers the last five minutes
_DELIVERY_DAYS = 365
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()  # delivery dates are epoch days
_APR_DAYS = 730
_APR_OPENING = {"usde": 9.5, "steth": 2.8, "usdc": 4.1, "build": 4.3}
_VOLATILITY_RESOLUTION_MS = {
    "1": _SECOND_MS,
    "60": 60 * _SECOND_MS,
    "3600": HOUR_MS,
    "43200": 12 * HOUR_MS,
    "1D": DAY_MS,
}


def _path(market: Market, key: str, time_ms: int, opening: float, now: float) -> float:
    """A statistic that is ``now`` since the simulator started, a made-up path before
    (swinging ten times as far as prices do: volatility moves more)."""
    if time_ms >= market.started_ms:
        return now
    return made_up_path(key, time_ms, opening, market.started_ms, swing=10)


def _ticks(start: int, end: int, step: int) -> range:
    """The multiples of ``step`` from ``start`` to ``end`` (inclusive), at most
    :data:`MAX_POINTS` of them: the newest when there are more."""
    first = -(-start // step) * step
    last = end // step * step
    first = max(first, last - (MAX_POINTS - 1) * step)
    return range(first, last + 1, step)


def _perpetual(call: Call, params: dict[str, Any]) -> str:
    """The requested instrument, which must be a perpetual (Deribit: "Applicable only for
    PERPETUAL instruments")."""
    instrument = call.sim.market.require(params["instrument_name"])
    if instrument.get("settlement_period") != "perpetual":
        raise unsupported_instrument()
    return str(instrument["instrument_name"])


def _until_now(call: Call, params: dict[str, Any]) -> tuple[int, int]:
    return params["start_timestamp"], min(params["end_timestamp"], call.sim.now_ms())


# -- funding --------------------------------------------------------------------------------


def get_funding_rate_history(call: Call) -> list[dict[str, Any]]:
    params = declared_params(call)
    name = _perpetual(call, params)
    market = call.sim.market
    index = market.index_of(name)
    return [
        {
            "timestamp": hour,
            "index_price": round(market.price_at(index, hour), 2),
            "prev_index_price": round(market.price_at(index, hour - HOUR_MS), 2),
            "interest_8h": market.interest_8h(name, hour),
            "interest_1h": market.interest_1h(name, hour),
        }
        for hour in _ticks(*_until_now(call, params), HOUR_MS)
    ]


def get_funding_rate_value(call: Call) -> float:
    """The funding accrued in the requested period: the sum of the history's ``interest_1h``
    over the same hours."""
    params = declared_params(call)
    name = _perpetual(call, params)
    market = call.sim.market
    hours = _ticks(*_until_now(call, params), HOUR_MS)
    return sum(market.interest_1h(name, hour) for hour in hours)


_FUNDING_CHART_HOURS = {"8h": 8, "24h": 24, "1m": 30 * 24}


def get_funding_chart_data(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    name = _perpetual(call, params)
    market = call.sim.market
    now = call.sim.now_ms()
    index = market.index_of(name)
    hours = _FUNDING_CHART_HOURS[params["length"]]
    return {
        "current_interest": market.funding_rate(name, now),
        "interest_8h": market.interest_8h(name, now),
        "data": [
            {
                "timestamp": hour,
                "index_price": round(market.price_at(index, hour), 2),
                "interest_8h": market.interest_8h(name, hour),
            }
            for hour in _ticks(now - hours * HOUR_MS, now, HOUR_MS)
        ],
    }


# -- volatility and marks -------------------------------------------------------------------


def get_historical_volatility(call: Call) -> list[list[float]]:
    """Hourly realised volatility (percent) of the last ~16 days, oldest first; only
    currencies with a USD index have one."""
    currency = declared_params(call)["currency"].lower()
    market = call.sim.market
    if f"{currency}_usd" not in market.index_prices:
        return []
    key = f"historical_volatility.{currency}"
    opening = _HISTORICAL_VOLATILITY_OPENING
    now = call.sim.now_ms() // HOUR_MS * HOUR_MS
    start = now - (_HISTORICAL_VOLATILITY_HOURS - 1) * HOUR_MS
    return [
        [hour, round(_path(market, key, hour, opening, opening), 6)]
        for hour in range(start, now + 1, HOUR_MS)
    ]


def get_volatility_index_data(call: Call) -> dict[str, Any]:
    """DVOL candles ``[tick, open, high, low, close]`` oldest first; a range of more than
    :data:`MAX_POINTS` candles returns its newest ones and, as ``continuation``, the
    ``end_timestamp`` that asks for the ones before."""
    params = declared_params(call)
    index = f"{params['currency'].lower()}_usd"
    market = call.sim.market
    current = market.volatility_index.get(index)
    if current is None:
        return {"data": [], "continuation": None}
    key = f"dvol.{index}"
    step = _VOLATILITY_RESOLUTION_MS[params["resolution"]]
    start, end = _until_now(call, params)
    candles = []
    for tick in _ticks(start, end, step):
        o = _path(market, key, tick, DVOL_OPENING, current)
        c = _path(market, key, tick + step - 1, DVOL_OPENING, current)
        candles.append([tick, round(o, 6), round(max(o, c), 6), round(min(o, c), 6), round(c, 6)])
    more = bool(candles) and candles[0][0] - step >= start
    return {"data": candles, "continuation": candles[0][0] - step if more else None}


def get_mark_price_history(call: Call) -> list[list[float]]:
    """``[timestamp, mark]`` each second of the last five minutes, newest first: only for
    options (Deribit: futures and perpetuals "will return an empty list")."""
    params = declared_params(call)
    market = call.sim.market
    instrument = market.require(params["instrument_name"])
    if instrument["kind"] != "option":
        return []
    name = instrument["instrument_name"]
    start, end = _until_now(call, params)
    start = max(start, call.sim.now_ms() - _MARK_HISTORY_MS)
    marks = [[t, round(market.price_at(name, t), 8)] for t in _ticks(start, end, _SECOND_MS)]
    return marks[::-1]


# -- deliveries and expirations ---------------------------------------------------------------


def get_delivery_prices(call: Call) -> dict[str, Any]:
    """A year of daily delivery prices (the index at 08:00 UTC), newest first."""
    params = declared_params(call)
    market = call.sim.market
    index = params["index_name"]
    if index not in market.index_prices:
        return {"data": [], "records_total": 0}
    latest = (call.sim.now_ms() - 8 * HOUR_MS) // DAY_MS  # the last 08:00 UTC passed
    offset = params.get("offset", 0)
    count = params.get("count", 10)
    days = range(latest - offset, max(latest - offset - count, latest - _DELIVERY_DAYS), -1)
    data = [
        {
            "date": dt.date.fromordinal(_EPOCH_ORDINAL + day).isoformat(),
            "delivery_price": round(market.price_at(index, day * DAY_MS + 8 * HOUR_MS), 8),
        }
        for day in days
    ]
    return {"data": data, "records_total": _DELIVERY_DAYS}


def get_expirations(call: Call) -> dict[str, Any]:
    """The expiry codes (``PERPETUAL`` for perpetuals) of the listed futures and options,
    soonest first; ``currency="grouped"`` nests them under each currency."""
    params = declared_params(call)
    currency = params["currency"]
    kinds = ("future", "option") if params["kind"] == "any" else (params["kind"],)
    pair = params.get("currency_pair")
    instruments = [
        i
        for i in call.sim.market.instruments.values()
        if i["kind"] in kinds and pair in (None, i["price_index"])
    ]

    def expirations(currencies: tuple[str, ...]) -> dict[str, list[str]]:
        return {
            kind: _expiry_codes(
                i for i in instruments if i["kind"] == kind and currency_of(i) in currencies
            )
            for kind in kinds
        }

    listed = sorted({currency_of(i) for i in instruments})
    if currency == "grouped":
        return {c: expirations((c,)) for c in listed}
    return expirations(tuple(listed) if currency == "any" else (currency,))


def _expiry_codes(instruments: Iterable[dict[str, Any]]) -> list[str]:
    expiries = sorted({i["expiration_timestamp"] for i in instruments})
    return [
        "PERPETUAL"
        if expiry == PERPETUAL_EXPIRY
        else expiry_code(dt.datetime.fromtimestamp(expiry / 1000, dt.UTC).date())
        for expiry in expiries
    ]


# -- volumes, indices, APR ------------------------------------------------------------------


def get_trade_volumes(call: Call) -> list[dict[str, Any]]:
    """Per currency, the traded volume of calls, puts, futures and spot in the base
    currency over 24 hours (and 7 and 30 days with ``extended``), from the public tapes
    (which keep each instrument's newest trades)."""
    extended = declared_params(call).get("extended", False)
    market = call.sim.market
    now = call.sim.now_ms()
    windows = {"": DAY_MS, "_7d": 7 * DAY_MS, "_30d": 30 * DAY_MS} if extended else {"": DAY_MS}
    volumes: dict[str, dict[str, Any]] = {}
    for name, instrument in market.instruments.items():
        if is_combo(instrument):
            continue  # its trades print on its legs, which count them
        currency = instrument["base_currency"]
        row = volumes.setdefault(currency, {"currency": currency})
        group = _VOLUME_GROUP[instrument.get("option_type") or instrument["kind"]]
        tape = market.tapes.get(name, ())
        for suffix, window in windows.items():
            recent = (t for t in tape if t["timestamp"] > now - window)
            coins, _ = traded_volume(instrument, recent)
            row[group + suffix] = round(row.get(group + suffix, 0.0) + coins, 8)
    return list(volumes.values())


_VOLUME_GROUP = {"call": "calls_volume", "put": "puts_volume", "future": "futures_volume",
                 "spot": "spot_volume"}  # fmt: skip


def _derivative_kinds(market: Market) -> dict[str, set[str]]:
    """The kinds of derivatives listed on each index."""
    kinds: dict[str, set[str]] = {}
    for instrument in market.instruments.values():
        if instrument["kind"] in ("future", "option"):
            kinds.setdefault(instrument["price_index"], set()).add(instrument["kind"])
    return kinds


def get_index_price_names(call: Call) -> list[Any]:
    """The index names; with ``extended`` objects saying where combos can be created
    (members present only for indices with derivatives, as in Deribit's example)."""
    extended = declared_params(call).get("extended", False)
    names = sorted(call.sim.market.index_prices)
    if not extended:
        return names
    kinds = _derivative_kinds(call.sim.market)
    result: list[dict[str, Any]] = []
    for name in names:
        entry: dict[str, Any] = {"name": name}
        if name in kinds:
            entry["future_combo_creation_enabled"] = "future" in kinds[name]
            entry["option_combo_creation_enabled"] = "option" in kinds[name]
        result.append(entry)
    return result


def get_supported_index_names(call: Call) -> list[str]:
    """The index names of a ``type``: ``derivative`` ones have futures or options listed,
    ``spot`` ones do not."""
    kind = declared_params(call).get("type", "all")
    derivative = _derivative_kinds(call.sim.market)
    return [
        name
        for name in sorted(call.sim.market.index_prices)
        if kind == "all" or (name in derivative) == (kind == "derivative")
    ]


def apr(market: Market, coin: str, day: int) -> float:
    """The APR (percent) of a yield-bearing ``coin`` on the epoch ``day``."""
    opening = _APR_OPENING[coin]
    return round(_path(market, f"apr.{coin}", day * DAY_MS, opening, opening), 3)


def get_apr_history(call: Call) -> dict[str, Any]:
    """Daily APR (percent) of a yield-bearing coin, newest first, by epoch day; the
    ``continuation`` is the ``before`` that asks for the days before this page."""
    params = declared_params(call)
    currency = params["currency"].lower()
    limit = params.get("limit", 365)
    if not 1 <= limit <= 365:
        raise invalid_param("limit", "must be from 1 to 365")
    market = call.sim.market
    today = call.sim.now_ms() // DAY_MS
    before = min(params.get("before", today), today)
    first = today - _APR_DAYS
    days = range(before - 1, max(before - 1 - limit, first - 1), -1)
    data = [{"day": day, "apr": apr(market, currency, day)} for day in days]
    more = bool(data) and data[-1]["day"] > first
    return {"data": data, "continuation": data[-1]["day"] if more else None}


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    for fn in (
        get_funding_rate_history,
        get_funding_rate_value,
        get_funding_chart_data,
        get_historical_volatility,
        get_volatility_index_data,
        get_mark_price_history,
        get_delivery_prices,
        get_expirations,
        get_trade_volumes,
        get_index_price_names,
        get_supported_index_names,
        get_apr_history,
    ):
        sim.methods[f"public/{fn.__name__}"] = fn
