"""The simulated market's own activity: the other participants change the book's levels and
trade. The simulated users' resting orders are part of the levels they rest in, queued
behind the market's liquidity that was there before them (``_ahead``, set when an order
rests): the market's changes never take users' orders away, and its trades fill them once
the liquidity ahead of them has traded, as on a real book."""

from __future__ import annotations

import math
from typing import Any

from . import _mmp
from ._accounts import Account
from ._market import opposite, side_of
from ._orders import (
    Matched,
    fill_resting,
    market_part,
    past_limit,
    resting_orders,
    settle,
    shown,
)
from ._state import SimState
from ._streams import market_moved

__all__ = ["move", "move_to", "random_change", "trade"]

_EPS = 1e-9
TRADE_LOTS = 10
"""A random trade takes between one and this many minimum trade amounts."""


def random_change(sim: SimState, name: str) -> None:
    """Change the market's own liquidity in one of the top five levels of ``name``'s book
    (published by the next ``market_moved``). Users' orders in the level stay; of the
    market's liquidity ahead of them only what is left after the change stays ahead."""
    book = sim.market.books[name]
    preferred, other = ("bids", "asks") if sim.rng.random() < 0.5 else ("asks", "bids")
    side = preferred if book.levels(preferred) else other  # a side may be empty
    levels = book.levels(side)
    if not levels:
        return
    price = levels[sim.rng.randrange(min(len(levels), 5))][0]
    direction = "buy" if side == "bids" else "sell"  # of the orders resting there
    users = resting_orders(sim, name, direction, price)
    market = book.min_amount * sim.rng.randint(1, 40)
    book.add(side, price, market - market_part(book, side, price, users))
    for _, order in users:
        order["_ahead"] = min(order.get("_ahead", 0.0), market)


async def trade(
    sim: SimState,
    name: str,
    direction: str,
    amount: float,
    *,
    limit: float | None = None,
    replenish: bool = False,
) -> list[dict[str, Any]]:
    """Someone outside the simulated users trades ``amount`` of ``name`` (``direction`` is
    theirs), best price first and not beyond ``limit``. At each price the market's
    liquidity queued ahead of users' orders trades first, then those orders, oldest first,
    then the rest of the market's. With ``replenish`` the market's liquidity that traded
    is put back at once (the level keeps its size); else the level shrinks and may empty.
    The market's move is published and the makers are told of their fills. Returns the
    public prints."""
    instrument = sim.market.instruments[name]
    book = sim.market.books[name]
    side = side_of(opposite(direction))  # what the trade takes
    matched = Matched()
    prints: list[dict[str, Any]] = []

    def record(price: float, size: float) -> dict[str, Any]:
        prints.append(sim.market.record_trade(name, direction, price, size, sim.now_ms()))
        return prints[-1]

    def take(maker: Account, resting: dict[str, Any], price: float) -> bool:
        """Trade what a user's order shows (a protection tripped by an earlier fill
        keeps it: settle() cancels it); returns whether an iceberg showed more."""
        nonlocal amount
        size = min(amount, shown(resting))
        if size <= _EPS or _mmp.halted(sim, maker, instrument, resting):
            return False
        amount -= size
        return fill_resting(sim, maker, resting, instrument, record(price, size), matched)

    for price in [level[0] for level in book.levels(side)]:
        if amount <= _EPS or past_limit(direction, price, limit):
            break
        users = resting_orders(sim, name, opposite(direction), price)
        market = market_part(book, side, price, users)
        traded = 0.0  # of the market's liquidity at this price
        refreshed = False
        for maker, resting in users:
            ahead = min(resting.get("_ahead", 0.0), market) - traded
            if ahead > _EPS and amount > _EPS:
                size = min(amount, ahead)
                record(price, size)
                traded, amount = traded + size, amount - size
            if amount <= _EPS:
                break
            refreshed |= take(maker, resting, price)
        size = min(amount, market - traded)
        if size > _EPS:
            record(price, size)
            traded, amount = traded + size, amount - size
        while refreshed and amount > _EPS:  # icebergs that showed their display again
            refreshed = False
            for maker, resting in resting_orders(sim, name, opposite(direction), price):
                refreshed |= take(maker, resting, price)
        if not replenish:
            book.add(side, price, -traded)
        for _, resting in users:  # what traded was ahead of whoever is still queued
            if resting["order_state"] == "open":
                resting["_ahead"] = max(0.0, min(resting.get("_ahead", 0.0), market) - traded)
    await market_moved(sim, name, prints)
    await settle(sim, matched)
    return prints


async def move_to(sim: SimState, name: str, price: float) -> list[dict[str, Any]]:
    """The market of ``name`` moves to ``price``: outsiders trade through every level on
    the way (users' resting orders there fill, as in a fast market), then the market's
    own liquidity settles around ``price`` again with its usual shape, users' orders
    keeping their places at the front of their levels. Returns the public prints."""
    book = sim.market.books[name]
    # the book's middle: an option's mark is its volatility's value, not where it trades
    direction = "buy" if price > sim.market.middle(name) else "sell"
    prints = await trade(sim, name, direction, math.inf, limit=price)
    kept: dict[tuple[str, float], float] = {}
    for side in ("bids", "asks"):
        for level, _ in book.levels(side):
            users = resting_orders(sim, name, "buy" if side == "bids" else "sell", level)
            for _, order in users:
                order["_ahead"] = 0.0  # the market's liquidity ahead of them left
            if users:
                kept[side, level] = sum(shown(order) for _, order in users)
    book.refill(price, sim.rng, kept)
    await market_moved(sim, name)
    return prints


async def move(sim: SimState, name: str) -> None:
    """One step of ``name``'s market (``run_streams`` calls it per watched instrument):
    a level changes, and half the time someone trades a few lots at the best price
    (the market's liquidity that trades is replenished, so the book keeps its shape)."""
    random_change(sim, name)
    book = sim.market.books[name]
    direction = "buy" if sim.rng.random() < 0.5 else "sell"
    if not book.levels(side_of(opposite(direction))):
        direction = opposite(direction)  # a side may be empty
    level = book.best_ask if direction == "buy" else book.best_bid
    if level is None or sim.rng.random() >= 0.5:
        await market_moved(sim, name)
        return
    lots = sim.rng.randint(1, TRADE_LOTS)
    amount = sim.market.instruments[name]["min_trade_amount"] * lots
    await trade(sim, name, direction, amount, limit=level[0], replenish=True)
