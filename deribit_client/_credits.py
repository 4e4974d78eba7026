"""Deribit's credit system mirrored on the client (REFERENCE 4): calls wait for credits
instead of drawing ``10028 too_many_requests``, which also closes the session.

Which pools a method draws on comes from the catalogue (``MethodFacts.credit_pools``); pool
sizes start at Deribit's defaults and follow the account's ``limits`` once read. With
``limits_per_currency`` the trading pool is one per settlement currency, and a trading
request draws on its instrument's (or order's, or ``currency``'s) pool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ._catalogue import METHODS
from ._catalogue.credits import CREDIT_POOLS
from ._core.credits import CreditPool
from ._errors import RpcError
from .models import Limits

__all__ = ["CreditLimiter"]

log = logging.getLogger("deribit_client")

_TOO_MANY_REQUESTS = 10028
_TOO_MANY_QUOTES = 13903
RECALIBRATE_AFTER = 3600.0
"""Seconds after which the account's limits are read again: Deribit recalculates the
matching-engine tier hourly."""
_NOT_TRADING = frozenset(
    {
        "spot",
        "cancel_all",
        "quotes",
        "max_quotes",
        "maximum_quotes",
        "maximum_mass_quotes",
        "guaranteed_quotes",
        "guaranteed_mass_quotes",
    }
)
"""Matching-engine ``limits`` groups that are not the trading limit (key names vary between
Deribit's article and its spec, REFERENCE 4)."""
_QUOTE_LIMITS = frozenset({"quotes", "max_quotes", "maximum_quotes", "maximum_mass_quotes"})
"""The ``limits`` groups that bound mass quotes (``guaranteed_*`` are floors, not limits):
the ``mass_quote`` pool takes the tightest, wherever it sits (per currency or not)."""
_NOT_CURRENCY = _NOT_TRADING | {"trading", "total", "perpetuals", "futures", "options"}
"""Keys of the matching-engine ``limits`` that name a group, not a settlement currency."""
_LEG_LISTS = ("trades", "quotes", "legs")
"""Parameters that list the instruments of a multi-instrument trading request (block
trades, mass quotes, Block RFQ quotes)."""


class CreditLimiter:
    """Keeps a client under Deribit's request-credit limits by delaying calls.

    One limiter mirrors one sub-account's pools; clients that share a sub-account (several
    connections of one bot) should share one limiter: ``DeribitClient(rate_limit=limiter)``.

    Args:
        clock: monotonic seconds (``time.monotonic`` by default).

    Attributes:
        pools: every pool by Deribit's name (``non_matching_engine``, ``matching_engine``,
            ``spot``, ``cancel_all``, and the methods with their own pool:
            ``get_instruments``, ``subscribe``, ``move_positions``,
            ``get_transaction_log``, ``simulate_portfolio``, ``mass_quote``;
            ``get_instruments_ws`` for ``get_instruments`` over WebSocket), and with
            ``limits_per_currency`` one trading pool per settlement currency
            (``matching_engine.btc``, ``matching_engine.eth``...); each counts
            ``requests``, ``delayed``, ``waited`` (seconds) and ``refusals`` (``10028``
            answers; ``13903`` for ``mass_quote``).
        calibrated: ``True`` once the account's own ``limits`` replaced the defaults.
    """

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.monotonic
        self._calibrated_at: float | None = None
        self.pools: dict[str, CreditPool] = {
            name: CreditPool(
                name, cost=fig.cost, capacity=fig.capacity, refill=fig.refill, clock=clock
            )
            for name, fig in CREDIT_POOLS.items()
        }
        self.calibrated = False
        self._by_method: dict[str, tuple[CreditPool, ...]] = {
            method: tuple(self.pools[name] for name in facts.credit_pools)
            for method, facts in METHODS.items()
        }
        self._spot: dict[str, tuple[CreditPool, ...]] = {
            method: tuple(
                self.pools["spot" if p.name == "matching_engine" else p.name] for p in pools
            )
            for method, pools in self._by_method.items()
            if self.pools["matching_engine"] in pools
        }
        self._websocket: dict[str, tuple[CreditPool, ...]] = {
            method: tuple(self.pools[name] for name in facts.websocket_credit_pools)
            for method, facts in METHODS.items()
            if facts.websocket_credit_pools
        }
        self._default = (self.pools["non_matching_engine"],)
        self._trading = self.pools["matching_engine"]
        # With limits_per_currency: each settlement currency's trading pool (lowercase key)
        # and the pools a trading request draws on, by (method, currency).
        self._currencies: dict[str, CreditPool] = {}
        self._routes: dict[tuple[str, str], tuple[CreditPool, ...]] = {}

    def __repr__(self) -> str:
        pools = ", ".join(f"{p.name}={p.rate:g}/s" for p in self.pools.values())
        return f"CreditLimiter(calibrated={self.calibrated}, {pools})"

    def pools_for(
        self, method: str, params: Mapping[str, Any] | None, websocket: bool = False
    ) -> tuple[CreditPool, ...]:
        """The pools a request draws on: the catalogue's, with ``spot`` instead of the
        trading pool for a spot instrument (``BTC_USDC``: no expiry part), the currency's
        trading pool when the account's limits are per currency, and with ``websocket``
        the pools of requests sent over WebSocket (``get_instruments_ws``)."""
        if websocket and method in self._websocket:
            return self.pools_for(method, params) + self._websocket[method]
        if method in self._spot:  # the methods that draw on the trading pool
            if params:
                instrument = params.get("instrument_name")
                if isinstance(instrument, str) and "-" not in instrument:
                    return self._spot[method]
            if self._currencies:
                return self._currency_pools(method, params)
        return self._by_method.get(method, self._default)

    def _currency_pools(
        self, method: str, params: Mapping[str, Any] | None
    ) -> tuple[CreditPool, ...]:
        currencies = _currencies_of(params) if params else None
        # Cached for one listed currency only: the keys stay few whatever callers send.
        single = next(iter(currencies)) if currencies and len(currencies) == 1 else None
        key = (method, single) if single is not None and single in self._currencies else None
        if key is not None and (route := self._routes.get(key)) is not None:
            return route
        if currencies is None:
            # Which currency Deribit charges cannot be told from the request: charge them
            # all (and the pool of currencies the limits do not list), never too few.
            trading = [self._trading, *self._currencies.values()]
        else:
            trading = [self._currencies.get(c, self._trading) for c in sorted(currencies)]
        others = [p for p in self._by_method[method] if p is not self._trading]
        route = tuple(dict.fromkeys([*trading, *others]))
        if key is not None:
            self._routes[key] = route
        return route

    def needs_calibration(self) -> bool:
        """True when the account's limits should be read (again): never read, read over an
        hour ago, or the server refused a request since."""
        at = self._calibrated_at
        return at is None or self._clock() - at > RECALIBRATE_AFTER

    def calibrate(self, limits: Limits | None) -> None:
        """Size the pools from an account summary's ``limits`` (requests per second and
        burst, per pool); ``None`` records that they could not be read (defaults stay).

        With ``limits_per_currency`` each listed settlement currency gets its own trading
        pool; Deribit's docs nest those limits either under ``trading`` or above it
        (REFERENCE 4, (?)), so both are read. The shared ``matching_engine`` pool then
        takes the tightest currency's figures and serves currencies the limits omit."""
        self._calibrated_at = self._clock()
        if limits is None:
            return
        general = limits.non_matching_engine
        engine = limits.matching_engine
        found = _trading_limits(engine, per_currency=bool(limits.limits_per_currency))
        shared = found.pop(None, [])
        trading = {currency: leaves for currency, leaves in found.items() if currency}
        every = [*shared, *(leaf for leaves in trading.values() for leaf in leaves)]
        figures = {
            "non_matching_engine": (
                _rate_limit({"rate": general.rate, "burst": general.burst}) if general else None
            ),
            "matching_engine": _tightest(every) if every else None,
            "spot": _rate_limit(engine.get("spot")),
            "cancel_all": _rate_limit(engine.get("cancel_all")),
            "mass_quote": _tightest(quoting) if (quoting := _quote_limits(engine)) else None,
        }
        for name, figure in figures.items():
            if figure is not None:
                pool = self.pools[name]
                pool.configure(**_pool_figures(pool.cost, figure))
        for currency in self._currencies.keys() - trading.keys():
            del self.pools[self._currencies.pop(currency).name]
        for currency, leaves in trading.items():
            figure = _tightest([*leaves, *shared])
            own = self._currencies.get(currency)
            if own is None:
                name = f"matching_engine.{currency}"
                self.pools[name] = self._currencies[currency] = CreditPool(
                    name, **_pool_figures(self._trading.cost, figure), clock=self._clock
                )
            else:
                own.configure(**_pool_figures(own.cost, figure))
        self._routes.clear()
        self.calibrated = True
        log.debug("credit pools calibrated from the account's limits: %r", self)

    def refused(self, error: BaseException) -> None:
        """Note a ``10028`` answer: the request's pools are empty (for ``wait`` seconds
        more when the server said so); ``13903``: the mass-quote pool is."""
        if not isinstance(error, RpcError):
            return
        if error.code == _TOO_MANY_QUOTES:
            self.pools["mass_quote"].exhaust(error.wait or 0.0)
            return
        if error.code != _TOO_MANY_REQUESTS:
            return
        self._calibrated_at = None  # the limits may have changed: read them at reconnect
        method = error.method or ""
        # The error does not carry the params, so a spot order's refusal cannot be told
        # from a future's: both trading pools are emptied.
        pools = {
            *self._by_method.get(method, self._default),
            *self._spot.get(method, ()),
            *self._websocket.get(method, ()),  # which transport it came on is not known
        }
        if method in self._spot:
            pools.update(self._currencies.values())
        for pool in pools:
            pool.exhaust(error.wait or 0.0)


def _rate_limit(node: object) -> tuple[float, float] | None:
    """``{"rate": r, "burst": b}`` -> ``(r, b)``, if both are usable numbers."""
    if isinstance(node, dict):
        rate, burst = node.get("rate"), node.get("burst")
        if (
            isinstance(rate, int | float)
            and isinstance(burst, int | float)
            and rate > 0
            and burst >= 1
            and not isinstance(rate, bool)
            and not isinstance(burst, bool)
        ):
            return float(rate), float(burst)
    return None


def _trading_limits(
    engine: Mapping[str, Any], *, per_currency: bool
) -> dict[str | None, list[tuple[float, float]]]:
    """Every trading ``{rate, burst}`` of the matching-engine ``limits``, by the settlement
    currency whose key it sits under (``None``: not under one, or not per currency)."""
    found: dict[str | None, list[tuple[float, float]]] = {}

    def walk(node: object, currency: str | None) -> None:
        leaf = _rate_limit(node)
        if leaf is not None:
            found.setdefault(currency, []).append(leaf)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in _NOT_TRADING:
                    continue
                is_currency = per_currency and currency is None and key not in _NOT_CURRENCY
                walk(value, str(key).lower() if is_currency else currency)

    walk(dict(engine), None)
    return found


def _quote_limits(node: object) -> list[tuple[float, float]]:
    """Every ``{rate, burst}`` under a mass-quote group of the matching-engine ``limits``."""
    found: list[tuple[float, float]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            leaf = _rate_limit(value) if key in _QUOTE_LIMITS else None
            if leaf is not None:
                found.append(leaf)
            else:
                found += _quote_limits(value)
    return found


def _tightest(leaves: list[tuple[float, float]]) -> tuple[float, float]:
    """The lowest rate and the lowest burst of several limits."""
    return min(r for r, _ in leaves), min(b for _, b in leaves)


def _pool_figures(cost: float, figure: tuple[float, float]) -> dict[str, float]:
    """A pool's credit figures for a limit stated as (requests per second, burst), each
    request costing ``cost`` credits."""
    rate, burst = figure
    return {"cost": cost, "capacity": burst * cost, "refill": rate * cost}


def _settlement_currency(instrument: str) -> str:
    """The settlement currency of a Deribit instrument name, lowercase: the base currency
    of an inverse one (``BTC-PERPETUAL``: btc), the quote of a linear one
    (``ETH_USDC-PERPETUAL``: usdc)."""
    pair = instrument.partition("-")[0]
    base, _, quote = pair.partition("_")
    return (quote or base).lower()


def _currencies_of(params: Mapping[str, Any]) -> frozenset[str] | None:
    """The settlement currencies a trading request concerns, or ``None`` when the request
    does not say: from its instrument(s), its order id (Deribit spells BTC order ids as
    bare numbers and the others ``ETH-584849853``), or its ``currency``."""
    instrument = params.get("instrument_name")
    if isinstance(instrument, str):
        return frozenset({_settlement_currency(instrument)})
    order_id = params.get("order_id")
    if isinstance(order_id, str) and order_id:
        prefix, dash, _ = order_id.rpartition("-")
        if dash:
            return frozenset({prefix.lower()}) if prefix else None
        return frozenset({"btc"}) if order_id.isdigit() else None
    currency = params.get("currency")
    named = [currency] if isinstance(currency, str) else currency
    if isinstance(named, list) and named and all(isinstance(c, str) for c in named):
        found = frozenset(c.lower() for c in named)
        return None if "any" in found else found
    for name in _LEG_LISTS:
        legs = params.get(name)
        if isinstance(legs, list) and legs:
            settled: set[str] = set()
            for leg in legs:
                instrument = leg.get("instrument_name") if isinstance(leg, dict) else None
                if not isinstance(instrument, str):
                    return None
                settled.add(_settlement_currency(instrument))
            return frozenset(settled)
    return None
