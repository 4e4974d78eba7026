"""Simulator handlers for the public market-data and support methods."""

from __future__ import annotations

from typing import Any

from ._market import CURRENCIES, CURRENCY_CODES, currency_of
from ._session import SimError, invalid_param, unsupported_instrument
from ._shaped import declared_params
from ._state import Call, SimState, account_of

__all__ = ["API_VERSION", "register"]

API_VERSION = "1.2.26"
_CURRENCIES = CURRENCY_CODES | {"any"}
_KINDS = ("future", "option", "spot", "future_combo", "option_combo")
_DEPTHS = (1, 5, 10, 20, 50, 100, 1000, 10000)


def _instrument_param(call: Call) -> str:
    return str(call.sim.market.require(call.param("instrument_name"))["instrument_name"])


def get_time(call: Call) -> int:
    return call.sim.now_ms()


def test(call: Call) -> dict[str, Any]:
    call.session.state["awaiting_test"] = False  # answers a heartbeat test_request
    expected = call.param("expected_result", str, None)
    if expected == "exception":
        raise SimError(11094, "internal_server_error")
    if expected is not None:
        raise invalid_param("expected_result")
    return {"version": API_VERSION}


def hello(call: Call) -> dict[str, Any]:
    if not call.session.is_websocket:
        raise SimError(10030, "must_be_websocket_request")
    call.param("client_name")
    call.param("client_version")
    return {"version": API_VERSION}


def status(call: Call) -> dict[str, Any]:
    locked = sorted(call.sim.locked_indices)
    return {"locked": "partial" if locked else "false", "locked_indices": locked}


def _listed(announcement: dict[str, Any]) -> dict[str, Any]:
    """An announcement as the methods list it (``action`` is the channel's)."""
    return {k: v for k, v in announcement.items() if k != "action"}


def get_announcements(call: Call) -> list[dict[str, Any]]:
    params = declared_params(call)
    start, count = params.get("start_timestamp"), params.get("count", 5)
    newest_first = [
        _listed(a)
        for a in reversed(call.sim.announcements)
        if start is None or a["publication_timestamp"] <= start
    ]
    return newest_first[:count]


def get_new_announcements(call: Call) -> list[dict[str, Any]]:
    """The announcements the account has not marked read, newest first."""
    read = account_of(call).read_announcements
    return [_listed(a) for a in reversed(call.sim.announcements) if a["id"] not in read]


def set_announcement_as_read(call: Call) -> str:
    params = declared_params(call)
    if not any(a["id"] == params["announcement_id"] for a in call.sim.announcements):
        raise SimError(13020, "not_found", {"reason": "no such announcement"})
    account_of(call).read_announcements.add(int(params["announcement_id"]))
    return "ok"


def get_instruments(call: Call) -> list[dict[str, Any]]:
    currency = call.param("currency", str, "any")  # production clients send none
    kind = call.param("kind", str, None)
    expired = call.param("expired", bool, False)
    if currency not in _CURRENCIES:
        raise invalid_param("currency")
    if kind is not None and kind not in _KINDS:
        raise invalid_param("kind")
    if expired:
        return []
    return [
        instrument
        for instrument in call.sim.market.instruments.values()
        if currency in ("any", currency_of(instrument))
        and (kind is None or instrument["kind"] == kind)
    ]


def get_instrument(call: Call) -> dict[str, Any]:
    return call.sim.market.require(call.param("instrument_name"))


def ticker(call: Call) -> dict[str, Any]:
    return call.sim.market.ticker(_instrument_param(call), call.sim.now_ms())


def get_order_book(call: Call) -> dict[str, Any]:
    name = _instrument_param(call)
    depth = call.param("depth", int, 5)
    if depth not in _DEPTHS:
        raise invalid_param("depth")
    return call.sim.market.order_book(name, depth, call.sim.now_ms())


def get_currencies(call: Call) -> list[dict[str, Any]]:
    return CURRENCIES


def get_index_price(call: Call) -> dict[str, Any]:
    index_name = call.param("index_name")
    price = call.sim.market.index_prices.get(index_name)
    if price is None:
        raise invalid_param("index_name")
    return {"index_price": price, "estimated_delivery_price": price}


def get_order_book_by_instrument_id(call: Call) -> dict[str, Any]:
    instrument_id = call.param("instrument_id", int)
    depth = call.param("depth", int, 5)
    for name, instrument in call.sim.market.instruments.items():
        if instrument["instrument_id"] == instrument_id:
            if depth not in _DEPTHS:
                raise invalid_param("depth")
            return call.sim.market.order_book(name, depth, call.sim.now_ms())
    raise unsupported_instrument()


def get_contract_size(call: Call) -> dict[str, Any]:
    instrument = call.sim.market.require(call.param("instrument_name"))
    return {"contract_size": instrument["contract_size"]}


def _book_summary(call: Call, name: str) -> dict[str, Any]:
    """One ``book_summary`` (REFERENCE 7): the ticker's figures under their summary names."""
    instrument = call.sim.market.instruments[name]
    tick = call.sim.market.ticker(name, call.sim.now_ms())
    bid, ask = tick["best_bid_price"], tick["best_ask_price"]
    stats = tick["stats"]
    summary = {
        "instrument_name": name,
        "base_currency": instrument["base_currency"],
        "quote_currency": instrument["quote_currency"],
        "creation_timestamp": tick["timestamp"],
        "bid_price": bid,
        "ask_price": ask,
        "mid_price": (bid + ask) / 2 if bid is not None and ask is not None else None,
        "mark_price": tick["mark_price"],
        "last": tick["last_price"],
        "high": stats["high"],
        "low": stats["low"],
        "volume": stats["volume"],
        "volume_usd": stats["volume_usd"],
        "price_change": stats["price_change"],
        "open_interest": tick["open_interest"],
        "estimated_delivery_price": tick["estimated_delivery_price"],
    }
    for member in ("funding_8h", "current_funding", "interest_rate", "underlying_price",
                   "underlying_index", "mark_iv"):  # fmt: skip
        if member in tick:
            summary[member] = tick[member]
    return summary


def get_book_summary_by_instrument(call: Call) -> list[dict[str, Any]]:
    return [_book_summary(call, _instrument_param(call))]


def get_book_summary_by_currency(call: Call) -> list[dict[str, Any]]:
    currency = call.param("currency")
    kind = call.param("kind", str, None)
    if currency not in _CURRENCIES or currency == "any":
        raise invalid_param("currency")
    if kind is not None and kind not in _KINDS:
        raise invalid_param("kind")
    return [
        _book_summary(call, name)
        for name, instrument in call.sim.market.instruments.items()
        if currency_of(instrument) == currency and kind in (None, instrument["kind"])
    ]


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    for fn in (
        get_time,
        test,
        hello,
        status,
        get_instruments,
        get_instrument,
        ticker,
        get_order_book,
        get_currencies,
        get_index_price,
        get_order_book_by_instrument_id,
        get_contract_size,
        get_book_summary_by_instrument,
        get_book_summary_by_currency,
        get_announcements,
    ):
        sim.methods[f"public/{fn.__name__}"] = fn
    sim.methods["private/get_new_announcements"] = get_new_announcements
    sim.methods["private/set_announcement_as_read"] = set_announcement_as_read
