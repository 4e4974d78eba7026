"""Deribit's request-credit system, simulated (REFERENCE 4): state only.

Written apart from the SDK's limiter on purpose: the simulator judges that code. Pools are
kept per sub-account (per IP without authentication); a request that finds its pool short
is refused with ``10028 too_many_requests`` and, as Deribit does, its session is closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ._session import SimError

__all__ = ["MATCHING_ENGINE_TIERS", "PoolLimits", "Credits", "RateLimits"]


@dataclass(frozen=True)
class PoolLimits:
    """One pool's figures: credits per request, maximum credits, refill per second."""

    cost: int
    capacity: int
    refill: int = 10_000

    @classmethod
    def per_second(cls, rate: float, burst: int, cost: int = 500) -> PoolLimits:
        """A pool stated the way Deribit reports it: requests per second and burst."""
        return cls(cost=cost, capacity=burst * cost, refill=round(rate * cost))

    def report(self) -> dict[str, float]:
        """``{rate, burst}`` in requests, as ``limits`` in an account summary shows it."""
        rate = self.refill / self.cost
        return {
            "rate": int(rate) if rate.is_integer() else rate,
            "burst": self.capacity // self.cost,
        }


MATCHING_ENGINE_TIERS = {
    1: PoolLimits.per_second(30, 100),
    2: PoolLimits.per_second(20, 50),
    3: PoolLimits.per_second(10, 30),
    4: PoolLimits.per_second(5, 20),
}
"""Matching-engine tiers by 7-day volume: > USD 25M, > 5M, > 1M, the rest."""

_MATCHING_ENGINE = frozenset(
    "private/" + name
    for name in [
        "buy",
        "sell",
        "edit",
        "edit_by_label",
        "cancel",
        "cancel_by_label",
        "cancel_all",
        "cancel_all_by_instrument",
        "cancel_all_by_currency",
        "cancel_all_by_kind_or_type",
        "close_position",
        "verify_block_trade",
        "execute_block_trade",
        "move_positions",
        "mass_quote",
        "cancel_quotes",
        "add_block_rfq_quote",
        "edit_block_rfq_quote",
        "cancel_block_rfq_quote",
        "cancel_all_block_rfq_quotes",
    ]
)
"""Deribit's rate-limit article's matching-engine methods (the simulator follows the
article where the spec's tags differ)."""


def _own_pools() -> dict[str, PoolLimits]:
    return {
        "public/get_instruments": PoolLimits(10_000, 500_000),
        "public/subscribe": PoolLimits(3_000, 30_000),
        "private/subscribe": PoolLimits(3_000, 30_000),
        "private/move_positions": PoolLimits(100_000, 600_000),
        "private/get_transaction_log": PoolLimits(10_000, 80_000),
        # "Not more than once per a second" (its spec description).
        "private/simulate_portfolio": PoolLimits(500, 500, refill=500),
    }


def _websocket_pools() -> dict[str, PoolLimits]:
    # Deribit's 10 Jun 2025 changelog: 1 request per 10 s, burst 5 over WebSocket (REFERENCE
    # 4 marks it (?); the 2026 article only gives get_instruments its own pool).
    return {"public/get_instruments": PoolLimits(10_000, 50_000, refill=1_000)}


@dataclass
class RateLimits:
    """The simulator's credit configuration (change it per test: ``sim.rate_limits``).

    Attributes:
        enabled: ``False`` serves every request (for load tests of other things).
        non_matching_engine: the general pool (500 per request, 50,000, 10,000/s).
        matching_engine_tier: 1-4, the account's trading tier (4: 5 requests/s, burst 20).
        limits_per_currency: ``True`` gives each settlement currency its own trading pool,
            as Deribit does for some accounts (``spot`` and ``cancel_all`` stay shared).
        currency_tiers: with ``limits_per_currency``, a tier per currency (lowercase
            ``"btc"``); others have ``matching_engine_tier``.
        own_pools: methods with their own cost and pool (``subscribe``,
            ``get_instruments``, ``move_positions``, ``get_transaction_log``,
            ``simulate_portfolio``).
        websocket_pools: methods limited further over WebSocket, in a pool of their own
            (``get_instruments``: 1 request per 10 s, burst 5); clear it to serve the
            other reading of Deribit's docs, which has no such limit.
        max_quotes: ``private/mass_quote`` requests, on top of the trading pool (10 per
            second, burst 10: the spec's example ``limits``); refused with ``13903
            too_many_quotes``, which leaves the session open.
        quotes: the quotes of those requests (one per entry of ``quotes``: 500 per
            second, burst 500), refused the same way. Deribit does not say what its
            ``quotes`` limit counts; this is the reading that can refuse a request
            ``max_quotes`` lets through (a few requests of many quotes each).
        guaranteed_quotes: reported only (2 per second, burst 2).
    """

    enabled: bool = True
    non_matching_engine: PoolLimits = PoolLimits(500, 50_000)
    matching_engine_tier: int = 4
    limits_per_currency: bool = False
    currency_tiers: dict[str, int] = field(default_factory=dict)
    own_pools: dict[str, PoolLimits] = field(default_factory=_own_pools)
    websocket_pools: dict[str, PoolLimits] = field(default_factory=_websocket_pools)
    max_quotes: PoolLimits = PoolLimits(500, 5_000, 5_000)
    quotes: PoolLimits = PoolLimits(1, 500, 500)
    guaranteed_quotes: PoolLimits = PoolLimits(500, 1_000, 1_000)

    @property
    def matching_engine(self) -> PoolLimits:
        """The trading pool of the configured tier (``spot`` and ``cancel_all`` alike)."""
        return MATCHING_ENGINE_TIERS[self.matching_engine_tier]

    def trading(self, currency: str | None) -> PoolLimits:
        """The trading pool of ``currency`` (lowercase), or the account's."""
        if currency is None or not self.limits_per_currency:
            return self.matching_engine
        return MATCHING_ENGINE_TIERS[self.currency_tiers.get(currency, self.matching_engine_tier)]

    def report(self, currencies: Iterable[str] = ()) -> dict[str, Any]:
        """The ``limits`` member of ``private/get_account_summary``; with
        ``limits_per_currency`` the trading limits of each of ``currencies``, nested under
        ``trading`` by lowercase currency (REFERENCE 4 marks the nesting (?): clients must
        also read it above ``trading``)."""
        engine = self.matching_engine.report()
        trading: dict[str, Any]
        if self.limits_per_currency:
            trading = {c: {"total": self.trading(c).report()} for c in currencies}
        else:
            trading = {"total": engine}
        return {
            "limits_per_currency": self.limits_per_currency,
            "non_matching_engine": self.non_matching_engine.report(),
            "matching_engine": {
                "trading": trading,
                "spot": engine,
                "quotes": self.quotes.report(),
                "max_quotes": self.max_quotes.report(),
                "guaranteed_quotes": self.guaranteed_quotes.report(),
                "cancel_all": engine,
            },
        }

    def pool_for(
        self, method: str, params: dict[str, Any], spot: bool, currency: str | None = None
    ) -> tuple[str, PoolLimits]:
        """The pool a request draws on, by name (REFERENCE 4); ``currency`` is the
        settlement currency (lowercase) a trading request concerns, when known."""
        own = self.own_pools.get(method)
        if own is not None:
            return method, own
        if (
            method == "private/cancel_all"
            or (
                method == "private/cancel_all_by_kind_or_type"
                and str(params.get("currency", "any")).lower() == "any"
            )
            # Its spec description: cancel_all limits when called without a currency.
            or (method == "private/cancel_by_label" and "currency" not in params)
        ):
            return "cancel_all", self.matching_engine
        if method in _MATCHING_ENGINE:
            if spot:
                return "spot", self.matching_engine
            if self.limits_per_currency and currency is not None:
                return f"matching_engine.{currency}", self.trading(currency)
            return "matching_engine", self.matching_engine
        return "non_matching_engine", self.non_matching_engine


_QUOTE_POOLS = frozenset({"max_quotes", "quotes"})
"""Pools whose shortage Deribit answers with ``13903`` (the session stays open)."""


class Credits:
    """Credit levels per (subject, pool) and the refusals answered."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._levels: dict[tuple[str, str], tuple[float, float, PoolLimits]] = {}
        self.refused = 0
        """Requests answered with ``10028``."""

    def charge(
        self,
        subject: str,
        method: str,
        params: dict[str, Any],
        spot: bool,
        currency: str | None = None,
        websocket: bool = False,
    ) -> None:
        """Take one request's credits from ``subject``'s pool (and, for a request sent
        over WebSocket, from the method's WebSocket pool; for a mass quote, from the quote
        pools: all or none).

        Raises:
            SimError: ``10028 too_many_requests`` when a pool is short (the session is to
                close), ``13903 too_many_quotes`` when only a quote pool is.
        """
        limits = self.limits
        if not limits.enabled:
            return
        pools = [(*limits.pool_for(method, params, spot, currency), 1)]
        extra = limits.websocket_pools.get(method) if websocket else None
        if extra is not None:
            pools.append((f"{method} over WebSocket", extra, 1))
        if method == "private/mass_quote":
            quotes = params.get("quotes")
            count = len(quotes) if isinstance(quotes, list) else 0
            pools += [("max_quotes", limits.max_quotes, 1), ("quotes", limits.quotes, count)]
        now = self._clock()
        levels = [(n, pool, units, self.level(subject, n, pool, now)) for n, pool, units in pools]
        short = {n for n, pool, units, level in levels if level < pool.cost * units}
        for n, pool, units, level in levels:  # a refused request takes nothing from any pool
            self._levels[(subject, n)] = (level if short else level - pool.cost * units, now, pool)
        if short - _QUOTE_POOLS:
            self.refused += 1
            raise SimError(10028, "too_many_requests")
        if short:
            raise SimError(13903, "too_many_quotes")
        if len(self._levels) > 10_000:
            self._forget_full(now)

    def level(self, subject: str, name: str, pool: PoolLimits, now: float) -> float:
        """``subject``'s credits in pool ``name`` at ``now`` (full when never used)."""
        level, stamp, _ = self._levels.get((subject, name), (float(pool.capacity), now, pool))
        # max(): an injected clock may step backwards; that refills nothing, takes nothing.
        return min(float(pool.capacity), level + max(0.0, now - stamp) * pool.refill)

    def _forget_full(self, now: float) -> None:
        # A pool refilled to capacity is the same as no entry: keep memory bounded for
        # simulators serving many IPs and accounts for days.
        for (subject, name), (_, _, pool) in list(self._levels.items()):
            if self.level(subject, name, pool, now) >= pool.capacity:
                del self._levels[(subject, name)]
