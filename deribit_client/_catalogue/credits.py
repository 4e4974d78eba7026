"""Deribit's default credit pools (REFERENCE 4), hand-kept: the spec does not state them.

Which pools a method draws on is a method fact (``MethodFacts.credit_pools``, generated);
how big each pool is lives here. Figures are per sub-account (per IP without
authentication); an account's own figures come from ``limits`` in
``private/get_account_summary`` and replace these when the client reads them.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["CREDIT_POOLS", "PoolFigures"]


class PoolFigures(NamedTuple):
    """One pool: credits per request, maximum credits, credits refilled per second."""

    cost: int
    capacity: int
    refill: int


_ME_TIER_4: Final = PoolFigures(cost=500, capacity=20 * 500, refill=5 * 500)
"""Matching engine, tier 4 (<= USD 1M 7-day volume): 5 requests/s, burst 20. Higher tiers
arrive through the account's ``limits``."""

CREDIT_POOLS: Final[dict[str, PoolFigures]] = {
    "non_matching_engine": PoolFigures(cost=500, capacity=50_000, refill=10_000),
    "matching_engine": _ME_TIER_4,
    "spot": _ME_TIER_4,
    "cancel_all": _ME_TIER_4,
    "get_instruments": PoolFigures(cost=10_000, capacity=500_000, refill=10_000),
    # Over WebSocket only: 1 request per 10 s, burst 5 (Deribit's 10 Jun 2025 changelog).
    "get_instruments_ws": PoolFigures(cost=10_000, capacity=50_000, refill=1_000),
    "subscribe": PoolFigures(cost=3_000, capacity=30_000, refill=10_000),
    "move_positions": PoolFigures(cost=100_000, capacity=600_000, refill=10_000),
    "get_transaction_log": PoolFigures(cost=10_000, capacity=80_000, refill=10_000),
    # The spec's example `limits`: max_quotes 10/s, burst 10 (cost not published).
    "mass_quote": PoolFigures(cost=500, capacity=10 * 500, refill=10 * 500),
    # "Not more than once per a second" (the method's description; cost not published).
    "simulate_portfolio": PoolFigures(cost=500, capacity=500, refill=500),
}
"""Every pool a method can draw on, with Deribit's defaults."""
