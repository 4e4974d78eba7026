"""Liquidation in the simulator, as Deribit's "Auto Liquidation" article describes it:
once an account's maintenance margin in a currency exceeds its margin balance there (its
equity; under cross collateral, every currency's pooled), its open
orders in that currency are cancelled (``cancel_reason`` ``autoliquidation``) and its
positions are reduced incrementally, futures first (the largest margin first), then
options, by liquidation orders (``is_liquidation``: reduce-only market orders of up to
200 future contracts or one option contract each) until the maintenance margin is below
the equity again. Their trades show ``order_type`` ``liquidation`` and print with
``liquidation`` ``T``; they pay the instrument's ``max_liquidation_commission`` on top of
the taker fee (the Insurance Fund article's extra fee). When the book has nothing left to
take, what remains waits for the next market move. Every market move checks the accounts
holding positions in the currency that moved. (Deribit's insurance fund then resets a
bankrupt account's negative equity to zero; the simulator leaves it negative.)"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ._accounting import account_figures, position_view
from ._accounts import Account
from ._market import currency_of, opposite
from ._orders import (
    Matched,
    accepts,
    cancel_orders,
    execute,
    new_order,
    notify,
    settle,
)
from ._session import SimError
from ._state import SimState

__all__ = ["liquidate", "register"]

_EPS = 1e-9


def _shortfall(sim: SimState, account: Account, currency: str) -> float:
    """How far the maintenance margin in ``currency`` exceeds the margin balance (the
    equity, or under cross collateral every currency's: <= 0 is safe)."""
    figures = account_figures(sim, account, currency)
    return float(figures["maintenance_margin"] - figures["margin_balance"])


async def on_market_move(sim: SimState, names: Sequence[str]) -> None:
    """Liquidate the accounts that the move of ``names`` left short of maintenance margin
    in their settlement currencies (each checked once per move)."""
    instruments = sim.market.instruments
    for currency in dict.fromkeys(currency_of(instruments[name]) for name in names):
        for account in list(sim.trading.accounts.values()):
            if (account.client_id, currency) in sim.trading.liquidating:
                continue  # its liquidation's own trades moved the market
            held = any(currency_of(instruments[n]) == currency for n in account.positions)
            if held and _shortfall(sim, account, currency) > _EPS:
                await liquidate(sim, account, currency)


async def liquidate(sim: SimState, account: Account, currency: str) -> None:
    """Cancel ``account``'s open orders in ``currency`` and reduce its positions there
    until its equity covers the maintenance margin (or nothing more can trade now)."""
    key = (account.client_id, currency)
    sim.trading.liquidating.add(key)
    try:
        instruments = sim.market.instruments
        orders = [
            o for o in account.live_orders()
            if currency_of(instruments[o["instrument_name"]]) == currency
        ]  # fmt: skip
        await cancel_orders(sim, account, orders, "autoliquidation")
        while (step := _next_step(sim, account, currency)) is not None:
            instrument, direction, amount = step
            if not await _reduce(sim, account, instrument, direction, amount):
                break  # no liquidity to take: the next market move tries again
    finally:
        sim.trading.liquidating.discard(key)


_STEP_CONTRACTS = {"future": 200, "option": 1}
"""The most one liquidation order takes, in contracts (Deribit's article)."""


def _next_step(
    sim: SimState, account: Account, currency: str
) -> tuple[dict[str, Any], str, float] | None:
    """The next liquidation order as ``(instrument, direction, amount)`` on the position
    with the largest maintenance margin (futures first); None when the account is safe or
    holds nothing it can trade."""
    if _shortfall(sim, account, currency) <= _EPS:
        return None
    instruments = sim.market.instruments
    candidates = []
    for name, held in account.positions.items():
        instrument = instruments[name]
        if currency_of(instrument) != currency or abs(held["size"]) < _EPS:
            continue
        if not accepts(sim, instrument, "order"):
            continue  # its book takes no orders now
        view = position_view(sim, account.positions, name)
        if view["maintenance_margin"] > _EPS:
            candidates.append((instrument, view))
    if not candidates:
        return None
    instrument, view = min(
        candidates, key=lambda c: (c[0]["kind"] != "future", -c[1]["maintenance_margin"])
    )
    step = _STEP_CONTRACTS.get(instrument["kind"], 1) * instrument["contract_size"]
    amount = min(abs(view["size"]), step)
    direction = opposite("buy" if view["size"] > 0 else "sell")
    return instrument, direction, round(amount, 10)


async def _reduce(
    sim: SimState, account: Account, instrument: dict[str, Any], direction: str, amount: float
) -> bool:
    """Run one liquidation order; returns whether it traded."""
    order = new_order(
        sim, instrument, direction, amount, "market_price",
        order_type="market", time_in_force="immediate_or_cancel", reduce_only=True,
        is_liquidation=True, api=False,
    )  # fmt: skip
    matched = Matched()
    try:
        trades = execute(sim, account, order, instrument, matched)
    except SimError:
        return False
    await notify(sim, account, instrument, [order], trades)
    await settle(sim, matched)
    return bool(trades)


def register(sim: SimState) -> None:
    """Watch every market move for accounts to liquidate."""
    sim.on_market_move.append(functools.partial(on_market_move, sim))
