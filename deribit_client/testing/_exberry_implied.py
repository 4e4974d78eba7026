"""The Exberry simulator's strategy instruments and their implied orders (S1
``other/business-features/implied-orders``: introduction, common rules, APIs).

A strategy ("parent") instrument trades its legs together: buying one buys each leg whose
side is ``Buy`` and sells each leg whose side is ``Sell``, one of each per strategy (the
documentation's example, "Buy 1 Leg1, Sell 1 Leg2"; other ratios are not simulated). Its
price relates the legs' prices as its type says:

- ``Spread``: two legs of opposite sides; the price is the bought leg's minus the sold
  leg's (the example: InstA at 10.05 and InstB at 10.03 make InstAB 0.02).
- ``StripEqualPrice``: legs of one side, all at the strategy's price.
- ``StripAveragePrice``: legs of one side, the strategy's price their average.

With ``impliedOrders`` the engine generates, from the best visible non-implied orders
(their displayed quantities only):

- implied **in** orders on the strategy, from every leg's best order on the side the
  strategy's order would trade against;
- implied **out** orders on one leg of a two-leg strategy, from the strategy's best order
  and the other leg's best order.

This module holds the arithmetic: which books an implied order draws on, its price and
quantity. The engine (``exberry.py``) keeps the orders on its books and trades them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, get_args

__all__ = [
    "Level",
    "Quote",
    "Strategy",
    "StrategyType",
    "implied_quotes",
    "opposite",
    "strategy_of",
]

StrategyType = Literal["Spread", "StripEqualPrice", "StripAveragePrice"]


def opposite(side: str) -> str:
    return "Sell" if side == "Buy" else "Buy"


@dataclass(frozen=True)
class Strategy:
    """A strategy instrument: ``legs`` are ``(instrument, side)`` of buying it."""

    symbol: str
    type: StrategyType
    legs: tuple[tuple[str, str], ...]
    implied: bool

    @property
    def instruments(self) -> tuple[str, ...]:
        """The strategy and its legs: implied orders need all of them trading."""
        return (self.symbol, *(leg for leg, _ in self.legs))

    def leg_sides(self, side: str) -> tuple[str, ...]:
        """The side each leg trades on for an order of ``side`` on the strategy."""
        return tuple(s if side == "Buy" else opposite(s) for _, s in self.legs)

    def price(self, legs: Iterable[Decimal]) -> Decimal | None:
        """The strategy's price for these leg prices (None: they make none, as an equal
        price strip's legs at different prices)."""
        prices = list(legs)
        if self.type == "Spread":
            return sum(
                (
                    p if side == "Buy" else -p
                    for p, (_, side) in zip(prices, self.legs, strict=True)
                ),
                Decimal(0),
            )
        if self.type == "StripEqualPrice":
            return prices[0] if len(set(prices)) == 1 else None
        return sum(prices, Decimal(0)) / len(prices)

    def leg_price(self, price: Decimal, leg: int, others: Mapping[int, Decimal]) -> Decimal | None:
        """The price of leg ``leg`` that makes the strategy ``price`` with the other legs
        at ``others`` (by leg index)."""
        if self.type == "Spread":
            rest = sum(
                (p if self.legs[i][1] == "Buy" else -p for i, p in others.items()), Decimal(0)
            )
            return price - rest if self.legs[leg][1] == "Buy" else rest - price
        if self.type == "StripEqualPrice":
            return price if all(p == price for p in others.values()) else None
        return price * len(self.legs) - sum(others.values(), Decimal(0))


def strategy_of(spec: Mapping[str, Any], instruments: Mapping[str, Any]) -> Strategy:
    """A strategy from its definition (``symbol``, ``type``, ``legs`` as ``{instrument,
    side}``, ``impliedOrders``), checked against the simulator's ``instruments``:
    ``ValueError`` naming what is wrong."""
    symbol = spec.get("symbol")
    if symbol not in instruments:
        raise ValueError(f"a strategy's symbol must be one of the instruments, not {symbol!r}")
    kind = spec.get("type")
    if kind not in get_args(StrategyType):
        choices = ", ".join(get_args(StrategyType))
        raise ValueError(f"{symbol}: type must be one of {choices}, not {kind!r}")
    given = spec.get("legs")
    if not isinstance(given, list | tuple) or not all(isinstance(g, Mapping) for g in given):
        raise ValueError(f"{symbol}: legs must be a list of {{instrument, side}}")
    legs = tuple((g.get("instrument"), g.get("side")) for g in given)
    for leg, side in legs:
        if leg not in instruments or leg == symbol:
            raise ValueError(f"{symbol}: a leg must be another instrument, not {leg!r}")
        if side not in ("Buy", "Sell"):
            raise ValueError(f"{symbol}: leg {leg}'s side must be Buy or Sell, not {side!r}")
    if len({leg for leg, _ in legs}) != len(legs) or len(legs) < 2:
        raise ValueError(f"{symbol}: a strategy needs two or more different legs")
    sides = {side for _, side in legs}
    if kind == "Spread" and (len(legs) != 2 or len(sides) != 2):
        raise ValueError(f"{symbol}: a Spread buys one leg and sells the other")
    if kind != "Spread" and len(sides) != 1:
        raise ValueError(f"{symbol}: a strip trades all its legs on one side")
    implied = spec.get("impliedOrders", False)
    if type(implied) is not bool:
        raise ValueError(f"{symbol}: impliedOrders must be true or false, not {implied!r}")
    return Strategy(symbol, kind, legs, implied)  # type: ignore[arg-type]  # checked above


@dataclass(frozen=True)
class Level:
    """A book's best visible non-implied price and the quantity displayed there."""

    instrument: str
    side: str
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True)
class Quote:
    """An implied order the books make: on ``target``, drawing on the ``bases`` levels
    (the legs', for an implied in order; the strategy's then the other leg's, for an
    implied out one). ``leg``: the target's leg index (None: the strategy itself)."""

    target: str
    side: str
    price: Decimal
    quantity: Decimal
    bases: tuple[Level, ...]
    leg: int | None


def implied_quotes(strategy: Strategy, best: Callable[[str, str], Level | None]) -> list[Quote]:
    """The implied orders ``strategy``'s books make now; ``best(instrument, side)`` is
    that book side's best visible non-implied level."""
    quotes: list[Quote] = []
    for side in ("Buy", "Sell"):
        # In: an order of ``side`` on the strategy trades each leg against that leg's
        # orders on the side the strategy's contra order would trade it on.
        bases = [
            best(leg, s)
            for (leg, _), s in zip(strategy.legs, strategy.leg_sides(side), strict=True)
        ]
        if all(bases):
            levels = tuple(b for b in bases if b is not None)
            price = strategy.price(b.price for b in levels)
            if price is not None:
                quantity = min(b.quantity for b in levels)
                quotes.append(Quote(strategy.symbol, side, price, quantity, levels, None))
        if len(strategy.legs) != 2:
            continue  # out of the strategy and one leg into the other: two legs only
        # Out: the strategy's best ``side`` order, with the other leg's contra order,
        # leaves the target leg to trade on the strategy order's behalf.
        parent = best(strategy.symbol, side)
        if parent is None:
            continue
        sides = strategy.leg_sides(side)
        for target in (0, 1):
            other = 1 - target
            contra = best(strategy.legs[other][0], opposite(sides[other]))
            if contra is None:
                continue
            price = strategy.leg_price(parent.price, target, {other: contra.price})
            if price is None:
                continue
            quantity = min(parent.quantity, contra.quantity)
            quotes.append(
                Quote(
                    strategy.legs[target][0],
                    sides[target],
                    price,
                    quantity,
                    (parent, contra),
                    target,
                )
            )
    return quotes
