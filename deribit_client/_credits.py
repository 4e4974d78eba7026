"""Deribit's credit system mirrored on the client (REFERENCE 4): calls wait for credits
instead of drawing ``10028 too_many_requests``, which also closes the session.

Which pools a method draws on comes from the catalogue (``MethodFacts.credit_pools``); pool
sizes start at Deribit's defaults and follow the account's ``limits`` once read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ._catalogue import METHODS
from ._catalogue.credits import CREDIT_POOLS
from ._core.credits import CreditPool, try_take_credits
from ._errors import RpcError
from .models import Limits

__all__ = ["CreditLimiter"]

log = logging.getLogger("deribit_client")

_TOO_MANY_REQUESTS = 10028
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
            ``get_transaction_log``); each counts ``requests``, ``delayed``, ``waited``
            (seconds) and ``refusals`` (``10028`` answers).
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
        self._default = (self.pools["non_matching_engine"],)

    def __repr__(self) -> str:
        pools = ", ".join(f"{p.name}={p.rate:g}/s" for p in self.pools.values())
        return f"CreditLimiter(calibrated={self.calibrated}, {pools})"

    def pools_for(self, method: str, params: Mapping[str, Any] | None) -> tuple[CreditPool, ...]:
        """The pools a request draws on: the catalogue's, with ``spot`` instead of the
        trading pool for a spot instrument (``BTC_USDC``: no expiry part)."""
        if method in self._spot and params:
            instrument = params.get("instrument_name")
            if type(instrument) is str and "-" not in instrument:
                return self._spot[method]
        return self._by_method.get(method, self._default)

    def try_take(
        self, method: str, params: Mapping[str, Any] | None
    ) -> tuple[CreditPool, ...] | None:
        """Take a request's credits now (``None``), or name the pools to wait for (then
        :func:`~deribit_client._core.credits.take_credits`)."""
        pools = self.pools_for(method, params)
        return None if try_take_credits(pools) else pools

    def needs_calibration(self) -> bool:
        """True when the account's limits should be read (again): never read, read over an
        hour ago, or the server refused a request since."""
        at = self._calibrated_at
        return at is None or self._clock() - at > RECALIBRATE_AFTER

    def calibrate(self, limits: Limits | None) -> None:
        """Size the pools from an account summary's ``limits`` (requests per second and
        burst, per pool); ``None`` records that they could not be read (defaults stay).
        With ``limits_per_currency`` the tightest currency's trading limit applies to all,
        which keeps every currency under its own."""
        self._calibrated_at = self._clock()
        if limits is None:
            return
        general = limits.non_matching_engine
        engine = limits.matching_engine
        trading = [
            leaf
            for key, value in engine.items()
            if key not in _NOT_TRADING
            for leaf in _rate_limits(value)
        ]
        figures = {
            "non_matching_engine": (
                _rate_limit({"rate": general.rate, "burst": general.burst}) if general else None
            ),
            "matching_engine": (
                (min(r for r, _ in trading), min(b for _, b in trading)) if trading else None
            ),
            "spot": _rate_limit(engine.get("spot")),
            "cancel_all": _rate_limit(engine.get("cancel_all")),
        }
        for name, figure in figures.items():
            if figure is not None:
                rate, burst = figure
                pool = self.pools[name]
                pool.configure(cost=pool.cost, capacity=burst * pool.cost, refill=rate * pool.cost)
        self.calibrated = True
        log.debug("credit pools calibrated from the account's limits: %r", self)

    def refused(self, error: BaseException) -> None:
        """Note a ``10028`` answer: the request's pools are empty (for ``wait`` seconds
        more when the server said so)."""
        if not isinstance(error, RpcError) or error.code != _TOO_MANY_REQUESTS:
            return
        self._calibrated_at = None  # the limits may have changed: read them at reconnect
        method = error.method or ""
        # The error does not carry the params, so a spot order's refusal cannot be told
        # from a future's: both trading pools are emptied.
        pools = {*self._by_method.get(method, self._default), *self._spot.get(method, ())}
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


def _rate_limits(node: object) -> list[tuple[float, float]]:
    """Every ``{rate, burst}`` inside ``node`` (trading limits nest per group and, with
    ``limits_per_currency``, per currency)."""
    found = _rate_limit(node)
    if found is not None:
        return [found]
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in _rate_limits(value)]
    return []
