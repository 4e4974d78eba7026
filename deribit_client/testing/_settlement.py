"""Simulator settlements: the daily settlement moves each futures position's session
profit into the balance and restarts its session from the mark; a delivery (an
instrument turning ``delivered``) closes every position in it at the index price and
pays out; both are kept as settlement history (``private/get_settlement_history_by_*``,
``public/get_last_settlements_by_*``) and booked in the transaction log.

Readings where Deribit does not say: the delivery price is the index when the instrument
turns ``delivered`` (Deribit averages the index over the 30 minutes before expiry); a
delivery costs half the taker fee for futures and 0.015% of the underlying for an option
that ends in the money (capped at 12.5% of its value); a settlement record's ``funding``
is the position's funding in the session. The public history aggregates the simulator's
own accounts: ``position`` is their open interest, ``profit_loss`` their net profit and
``session_profit_loss`` what the winners received.
"""

from __future__ import annotations

from typing import Any

from ._accounting import OPTION_FEE_CAP, accrue_funding, pnl
from ._accounts import Account
from ._logs import remember
from ._market import currency_of, notional
from ._notices import notify_user
from ._session import invalid_param
from ._shaped import declared_params
from ._state import Call, SimState, account_of

__all__ = ["daily_settlement", "deliver", "register"]

_OPTION_DELIVERY_FEE = 0.00015
"""An option delivered in the money pays this share of its underlying (per contract)."""


def _holders(sim: SimState, name: str) -> list[tuple[Account, dict[str, Any]]]:
    return [
        (account, account.positions[name])
        for account in sim.trading.accounts.values()
        if name in account.positions
    ]


def _record(
    kind: str,
    now: int,
    name: str,
    size: float,
    mark: float,
    index: float,
    profit: float,
    session: float,
    funding: float = 0.0,
) -> dict[str, Any]:
    return {
        "type": kind,
        "timestamp": now,
        "instrument_name": name,
        "position": size,
        "mark_price": mark,
        "index_price": index,
        "profit_loss": round(profit, 10),
        "session_profit_loss": round(session, 10),
        "funding": round(funding, 10),
    }


def _public(
    sim: SimState, kind: str, name: str, mark: float, index: float, records: list[dict[str, Any]]
) -> None:
    """The market's own record of a settlement or delivery of ``name``."""
    interest = sum(r["position"] for r in records if r["position"] > 0)
    won = sum(r["session_profit_loss"] for r in records if r["session_profit_loss"] > 0)
    net = sum(r["profit_loss"] for r in records)
    remember(
        sim.market.settlements, _record(kind, sim.now_ms(), name, interest, mark, index, net, won)
    )


def daily_settlement(sim: SimState) -> None:
    """Settle every open futures position: its session profit (unrealized from its
    basis to the mark, plus what it realized) goes into the balance (a ``settlement``
    transaction), its basis becomes the mark and a settlement record is kept. Options
    restart their session the same way without cash (their premium moved at the
    trade). Positions closed during the session leave."""
    market, now = sim.market, sim.now_ms()
    held = {name for account in sim.trading.accounts.values() for name in account.positions}
    for name in sorted(held):
        instrument = market.instruments[name]
        mark = market.mark_price(name)
        index = market.index_prices.get(instrument["price_index"], mark)
        records = []
        for account, position in _holders(sim, name):
            accrue_funding(sim, instrument, position)
            size, rpl, funding = position["size"], position["session_rpl"], position["funding"]
            upl = pnl(instrument, size, position["basis"], mark)
            session = upl + rpl
            # The session restarts before the balance takes it: the entry's equity counts
            # it once.
            position["basis"], position["session_rpl"] = (mark if size else 0.0), 0.0
            position["funding"] = 0.0
            if not size:
                del account.positions[name]
            if instrument["kind"] == "future":
                account.book(
                    now,
                    currency_of(instrument),
                    "settlement",
                    session,
                    instrument_name=name,
                    position=size,
                    price=mark,
                    session_upl=round(upl, 10),
                    session_rpl=round(rpl, 10),
                    info={"settlement_price": mark, "floating_pl": round(upl, 10)},
                )
                record = _record("settlement", now, name, size, mark, index, upl, session, funding)
                remember(account.settlements, record)
                records.append(record)
            notify_user(sim, account, instrument, [], [], settled=True)
        market.settlement_prices[name] = round(mark, 8)
        if records:
            _public(sim, "settlement", name, mark, index, records)


def _payoff(instrument: dict[str, Any], index: float) -> float:
    """An option's value per contract at delivery, in its settlement currency."""
    strike = float(instrument["strike"])
    intrinsic = max(0.0, index - strike if instrument["option_type"] == "call" else strike - index)
    return intrinsic / index if instrument.get("instrument_type") != "linear" else intrinsic


def deliver(sim: SimState, instrument: dict[str, Any]) -> None:
    """Close every position in ``instrument`` at its delivery price (the index now): a
    future pays its session profit to there, an option its value (``delivery``
    transactions, less the delivery fee); the ticker shows ``delivery_price``."""
    market, now = sim.market, sim.now_ms()
    name = instrument["instrument_name"]
    index = market.index_prices.get(instrument["price_index"], market.mark_price(name))
    market.delivery_prices[name] = index
    option = instrument["kind"] == "option"
    price = _payoff(instrument, index) if option else index  # what a contract is worth
    records = []
    for account, position in _holders(sim, name):
        size = position["size"]
        if option:
            value = size * price
            underlying = sim.market.underlying_value(instrument, abs(size))
            fee = min(_OPTION_DELIVERY_FEE * underlying, OPTION_FEE_CAP * abs(value))
            profit = session = value
        else:
            fee = notional(instrument, abs(size), index) * instrument["taker_commission"] / 2
            profit = pnl(instrument, size, position["basis"], index)
            session = profit + position["session_rpl"]
        del account.positions[name]  # before the entry, whose equity no longer counts it
        account.book(
            now,
            currency_of(instrument),
            "delivery",
            session - fee,
            commission=round(fee, 10),
            instrument_name=name,
            position=0.0,
            amount=abs(size),
            price=price,
            info={"delivery_price": index},
        )
        record = _record("delivery", now, name, size, price, index, profit, session)
        remember(account.settlements, record)
        records.append(record)
        notify_user(sim, account, instrument, [], [], settled=True)
    if records:
        _public(sim, "delivery", name, price, index, records)


def _history(records: list[dict[str, Any]], call: Call, keep: Any) -> dict[str, Any]:
    """Newest first, of ``type`` if given, from ``search_start_timestamp`` down;
    ``continuation`` is the position to go on from."""
    params = declared_params(call)
    kind, start = params.get("type"), params.get("search_start_timestamp")
    matches = [
        r
        for r in reversed(records)
        if keep(r)
        and (kind is None or r["type"] == kind)
        and (start is None or r["timestamp"] <= start)
    ]
    try:
        offset = int(params.get("continuation") or 0)
    except ValueError:
        raise invalid_param("continuation", "not a continuation token") from None
    count = params.get("count", 20)
    page = matches[offset : offset + count]
    more = len(matches) > offset + count
    return {"settlements": page, "continuation": str(offset + count) if more else None}


def _by_currency(call: Call, records: list[dict[str, Any]]) -> dict[str, Any]:
    currency = declared_params(call)["currency"].upper()
    instruments = call.sim.market.instruments
    return _history(
        records, call, lambda r: currency_of(instruments[r["instrument_name"]]) == currency
    )


def _by_instrument(call: Call, records: list[dict[str, Any]]) -> dict[str, Any]:
    name = call.sim.market.require(declared_params(call)["instrument_name"])["instrument_name"]
    return _history(records, call, lambda r: r["instrument_name"] == name)


def register(sim: SimState) -> None:
    """Install the settlement history handlers on ``sim``."""
    methods = sim.methods
    methods["private/get_settlement_history_by_currency"] = lambda call: _by_currency(
        call, account_of(call).settlements
    )
    methods["private/get_settlement_history_by_instrument"] = lambda call: _by_instrument(
        call, account_of(call).settlements
    )
    methods["public/get_last_settlements_by_currency"] = lambda call: _by_currency(
        call, call.sim.market.settlements
    )
    methods["public/get_last_settlements_by_instrument"] = lambda call: _by_instrument(
        call, call.sim.market.settlements
    )
