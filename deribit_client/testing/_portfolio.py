"""Simulator handlers for positions across the account: moving positions between the main
account and its subaccounts (``move_positions``), margin what-ifs
(``simulate_portfolio``, ``pme/simulate``) and the trading products a subaccount may use."""

from __future__ import annotations

import dataclasses
from typing import Any

from ._accounting import account_summary, apply_position, book_trade
from ._market import TRADING_PRODUCTS, opposite
from ._orders import aftermath, currency_of, repositioned
from ._session import SimError, as_number, invalid_param
from ._shaped import declared_params
from ._state import Call, SimState, account_of

__all__ = ["register"]

MOVES_PER_WEEK = 100
"""``move_positions`` calls allowed in a rolling seven days (``13780`` beyond)."""
_WEEK_MS = 7 * 86_400_000


async def move_positions(call: Call) -> list[dict[str, Any]]:
    """Move (parts of) positions from ``source_uid`` to ``target_uid`` (the main account
    or its subaccounts) at ``price`` or the mark: the source trades out of its position,
    the target into it. Every trade is checked before any moves; each can move at most
    the source's position in that instrument."""
    params = declared_params(call)
    sim, account = call.sim, account_of(call)
    source, target = params["source_uid"], params["target_uid"]
    if source == target:
        raise invalid_param("target_uid", "must differ from source_uid")
    giver, taker = account.member(source), account.member(target)
    given = giver.positions
    now = sim.now_ms()
    recent = [t for t in account.position_moves if t > now - _WEEK_MS]
    if len(recent) >= MOVES_PER_WEEK:
        wait = (recent[0] + _WEEK_MS - now) // 1000 + 1
        raise SimError(13780, "move_positions_over_limit", {"wait": wait})
    moves, seen = [], set()
    for trade in params["trades"]:
        if not isinstance(trade, dict) or not isinstance(trade.get("instrument_name"), str):
            raise invalid_param("trades", "each trade needs an instrument_name")
        name = trade["instrument_name"]
        instrument = sim.market.require(name)
        if name in seen:
            raise invalid_param("trades", f"{name} is given twice")
        seen.add(name)
        if "currency" in params and currency_of(instrument) != params["currency"].upper():
            raise invalid_param("trades", f"{name} is not in {params['currency']}")
        # Numbers, or strings as Deribit's own example writes them.
        amount, price = (
            as_number(trade.get("amount")),
            as_number(trade.get("price", sim.market.mark_price(name))),
        )
        if amount is None or amount <= 0:
            raise invalid_param("trades", f"{name}: amount must be a positive number")
        if price is None or price <= 0:
            raise invalid_param("trades", f"{name}: price must be a positive number")
        size = given.get(name, {}).get("size", 0.0)
        if amount > abs(size) + 1e-9:
            reason = f"{name}: the source holds {abs(size)}, cannot move {amount}"
            raise SimError(11029, "invalid_arguments", {"reason": reason})
        moves.append((instrument, "sell" if size > 0 else "buy", amount, price))
    out = []
    for instrument, direction, amount, price in moves:
        name = instrument["instrument_name"]
        # A trade between the two at the price, without fees: each position moves (and
        # an option's premium changes hands).
        for member, way in ((giver, direction), (taker, opposite(direction))):
            book_trade(sim, member, instrument, way, amount, price, None)
            repositioned(sim, member, name)
        out.append({"target_uid": target, "source_uid": source, "price": price,
                    "instrument_name": name, "direction": direction, "amount": amount})  # fmt: skip
    account.position_moves = [*recent, now]
    await aftermath(sim)  # reduce-only (and so linked) orders follow the positions
    return out


def _simulated(call: Call, params: dict[str, Any], currency: str) -> dict[str, Any]:
    """The account summary of ``currency`` with ``simulated_positions`` (instrument ->
    signed size) added to the current positions, or alone without ``add_positions``."""
    sim, account = call.sim, account_of(call)
    positions = (
        {name: dict(held) for name, held in account.positions.items()}
        if params.get("add_positions", True)
        else {}
    )
    for name, size in params.get("simulated_positions", {}).items():
        if name not in sim.market.instruments:
            raise invalid_param("simulated_positions", f"unknown instrument {name}")
        if isinstance(size, bool) or not isinstance(size, (int, float)):
            raise invalid_param("simulated_positions", f"{name}: size must be a number")
        if size:
            apply_position(positions, sim.market.instruments[name], "buy" if size > 0 else "sell",
                           abs(size), sim.market.mark_price(name))  # fmt: skip
    summary = account_summary(sim, dataclasses.replace(account, positions=positions), currency)
    summary.update(
        available_subaccount_transfer_funds=summary["available_withdrawal_funds"],
        locked_balance=0.0,
    )
    summary.pop("limits", None)
    return summary


def simulate_portfolio(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    return _simulated(call, params, params["currency"].upper())


def pme_simulate(call: Call) -> dict[str, Any]:
    """The same figures for one currency; for ``CROSS``, per currency the account holds."""
    params = declared_params(call)
    currency = params["currency"].upper()
    if currency != "CROSS":
        return _simulated(call, params, currency)
    held = sorted(c for c, balance in account_of(call).balances.items() if balance)
    return {c: _simulated(call, params, c) for c in held}


def set_disabled_trading_products(call: Call) -> str:
    """Disable trading products for a subaccount (only subaccounts: ``13020`` for any
    other user id); its orders, quotes and block trades in them are refused."""
    params = declared_params(call)
    sub = account_of(call).subaccount(params["user_id"])
    products = params["trading_products"]
    for product in products:
        if product not in TRADING_PRODUCTS:
            raise invalid_param("trading_products", f"must be among {', '.join(TRADING_PRODUCTS)}")
    sub.disabled_products = frozenset(products)
    return "ok"


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    sim.methods["private/move_positions"] = move_positions
    sim.methods["private/simulate_portfolio"] = simulate_portfolio
    sim.methods["private/pme/simulate"] = pme_simulate
    sim.methods["private/set_disabled_trading_products"] = set_disabled_trading_products
