"""The client's credit pools and Deribit's credit policy (REFERENCE 4), without I/O."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import msgspec
import pytest

from deribit_client import ClientError, CreditLimiter, CreditTimeout, RateLimitError
from deribit_client._catalogue import METHODS
from deribit_client._core.credits import (
    CAPACITY_SHARE,
    JITTER_ALLOWANCE,
    REFILL_SHARE,
    CreditPool,
    take_credits,
    try_take_credits,
)
from deribit_client._errors import error_from_code
from deribit_client.models import Limits

from ..helpers import until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_fast_pool_keeps_enough_in_reserve_for_jitter() -> None:
    # 200/s with a burst of 20: 10% of capacity is only 10 ms of refill. Requests paced
    # on the client can arrive bunched by more than that, so the reserve is 50 ms.
    pool = CreditPool("fast", cost=1, capacity=20, refill=200, clock=Clock())
    taken = 0
    while try_take_credits([pool]):
        taken += 1
    assert taken == 20 - JITTER_ALLOWANCE * 200


def test_a_pool_spends_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    pool = CreditPool("p", cost=500, capacity=50_000, refill=10_000, clock=clock)
    taken = 0
    while try_take_credits([pool]):
        taken += 1
    # Part of the burst is held back for jitter; the rest is spent at once.
    assert taken == int(CAPACITY_SHARE * 100)
    assert pool.shortfall() == pytest.approx(500 / (10_000 * REFILL_SHARE))
    clock.now += 1.0
    again = 0
    while try_take_credits([pool]):
        again += 1
    assert again == int(REFILL_SHARE * 20)  # one second of refill: just under 20 requests
    assert pool.requests == taken + again


@pytest.mark.parametrize(
    "figures",
    [
        {"cost": 500, "capacity": 100, "refill": 10},
        {"cost": 1, "capacity": math.inf, "refill": 10},  # a burst without end
        {"cost": 1, "capacity": 100, "refill": math.inf},
        {"cost": math.nan, "capacity": 100, "refill": 10},
        {"cost": "1", "capacity": 100, "refill": 10},
        {"cost": True, "capacity": 100, "refill": 10},
    ],
)
def test_bad_pool_figures_are_refused_with_their_values(figures: dict[str, Any]) -> None:
    with pytest.raises(ClientError, match="capacity >= cost"):
        CreditPool("p", **figures)


async def test_a_call_waits_for_credits_then_takes_them() -> None:
    pool = CreditPool("p", cost=1, capacity=1, refill=1000)  # one request per millisecond
    assert try_take_credits([pool])
    assert not try_take_credits([pool])
    left = await take_credits([pool], 5.0, "public/get_time")
    assert 0 < left <= 5.0  # what remains of the call's timeout
    assert (pool.requests, pool.delayed) == (2, 1)
    assert pool.waited > 0


async def test_a_waiting_call_is_not_overtaken_and_cancelling_it_takes_nothing() -> None:
    clock = Clock()
    pool = CreditPool("p", cost=1, capacity=1, refill=0.01, clock=clock)
    assert try_take_credits([pool])
    waiter = asyncio.ensure_future(take_credits([pool], 600.0, "public/get_time"))
    await until(lambda: pool._waiting == 1)  # asleep for the 100 s the pool needs
    clock.now += 1000
    assert pool.available >= 1
    assert not try_take_credits([pool])  # the credits belong to the call already waiting
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (pool.requests, pool._waiting) == (1, 0)  # nothing taken, nobody left queued
    assert try_take_credits([pool])


async def test_a_waiting_call_goes_as_soon_as_calibration_speeds_its_pool_up() -> None:
    clock = Clock()
    pool = CreditPool("p", cost=1, capacity=1, refill=0.001, clock=clock)  # one per 1,000 s
    assert try_take_credits([pool])
    waiter = asyncio.ensure_future(take_credits([pool], 600.0, "private/buy"))
    await until(lambda: pool._waiting == 1)  # asleep for the ~1,000 s the old rate needs
    pool.configure(cost=1, capacity=1, refill=1000)  # the account's real limits
    clock.now += 0.01  # 10 credits at the new rate
    left = await asyncio.wait_for(waiter, 5)  # not the 1,000 s it went to sleep for
    assert left > 590
    assert pool.requests == 2


async def test_no_credits_within_the_timeout_is_a_credit_timeout_taking_nothing() -> None:
    pool = CreditPool("p", cost=1, capacity=1, refill=0.01)
    pool.exhaust()
    with pytest.raises(CreditTimeout, match="private/buy not sent"):
        await take_credits([pool], 0.01, "private/buy")
    assert (pool.requests, pool._waiting) == (0, 0)
    assert pool._lock is not None
    assert not pool._lock.locked()


async def test_a_call_on_two_pools_takes_from_both_at_once_or_from_neither() -> None:
    clock = Clock()
    full = CreditPool("a", cost=1, capacity=2, refill=1, clock=clock)
    empty = CreditPool("b", cost=1, capacity=1, refill=0.01, clock=clock)
    empty.exhaust()
    task = asyncio.ensure_future(take_credits([empty, full], 600.0, "private/buy"))
    await until(lambda: empty._waiting == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (full.requests, full.available) == (0, 2 * CAPACITY_SHARE)  # nothing taken
    quick = CreditPool("c", cost=1, capacity=1, refill=1000)
    quick.exhaust()
    await take_credits([quick, full], 5.0, "private/buy")
    assert (full.requests, quick.requests) == (1, 1)


SPEC_LIMITS: dict[str, Any] = {
    "limits_per_currency": False,
    "non_matching_engine": {"burst": 1500, "rate": 1000},
    "matching_engine": {
        "trading": {"total": {"burst": 250, "rate": 200}},
        "spot": {"burst": 150, "rate": 100},
        "quotes": {"burst": 500, "rate": 500},
        "max_quotes": {"burst": 10, "rate": 10},
        "guaranteed_quotes": {"burst": 2, "rate": 2},
        "cancel_all": {"burst": 25, "rate": 20},
    },
}


def test_calibration_reads_the_accounts_limits() -> None:
    limiter = CreditLimiter()
    assert limiter.needs_calibration()
    assert limiter.pools["matching_engine"].rate == 5  # tier 4 until told otherwise
    limiter.calibrate(msgspec.convert(SPEC_LIMITS, Limits))
    rates = {name: (p.rate, p.burst) for name, p in limiter.pools.items()}
    # Floats, as rate and burst are: mypy takes a tuple of ints as never equal to them
    # and would leave the rest of the test unchecked.
    assert rates["non_matching_engine"] == (1000.0, 1500.0)
    assert rates["matching_engine"] == (200.0, 250.0)  # quote limits are not trading limits
    assert rates["spot"] == (100.0, 150.0)
    assert rates["cancel_all"] == (20.0, 25.0)
    assert rates["subscribe"] == pytest.approx((10 / 3, 10))  # own pools keep their figures
    assert rates["mass_quote"] == (10.0, 10.0)  # the tightest quote limit (guaranteed_* is a floor)
    assert limiter.calibrated
    assert not limiter.needs_calibration()


PER_CURRENCY_READINGS = {
    # REFERENCE 4 (?): the trading limits nest per settlement currency, under ``trading``
    # or above it; both are read.
    "under trading": {
        "trading": {
            "btc": {"total": {"rate": 30, "burst": 100}},
            "eth": {"total": {"rate": 10, "burst": 120}, "perpetuals": {"rate": 12, "burst": 150}},
        },
        "cancel_all": {"rate": True, "burst": 5},
    },
    "above trading": {
        "btc": {
            "trading": {"total": {"rate": 30, "burst": 100}},
            "quotes": {"rate": 1, "burst": 1},
        },
        "eth": {"trading": {"total": {"rate": 10, "burst": 120}}},
        "cancel_all": {"rate": True, "burst": 5},
    },
}


def figures(pool: CreditPool) -> tuple[float, float]:
    return pool.rate, pool.burst


@pytest.mark.parametrize("reading", PER_CURRENCY_READINGS)
def test_per_currency_limits_give_each_currency_its_trading_pool(reading: str) -> None:
    limits = {
        "limits_per_currency": True,
        "non_matching_engine": {"rate": 0, "burst": None},
        "matching_engine": PER_CURRENCY_READINGS[reading],
    }
    limiter = CreditLimiter()
    limiter.calibrate(msgspec.convert(limits, Limits))
    assert figures(limiter.pools["matching_engine.btc"]) == (30, 100)
    assert figures(limiter.pools["matching_engine.eth"]) == (10, 120)
    # Currencies the limits do not list share a pool sized by the tightest currency.
    assert figures(limiter.pools["matching_engine"]) == (10, 100)
    assert limiter.pools["non_matching_engine"].rate == 20  # junk left the default
    assert limiter.pools["cancel_all"].rate == 5


def test_a_trading_request_draws_on_its_currencys_pool() -> None:
    limiter = CreditLimiter()
    limiter.calibrate(
        msgspec.convert(
            {
                "limits_per_currency": True,
                "matching_engine": PER_CURRENCY_READINGS["under trading"],
            },
            Limits,
        )
    )

    def names(method: str, params: dict[str, Any] | None = None) -> list[str]:
        return [p.name for p in limiter.pools_for(method, params)]

    btc, eth, shared = "matching_engine.btc", "matching_engine.eth", "matching_engine"
    assert names("private/buy", {"instrument_name": "BTC-PERPETUAL"}) == [btc]
    assert names("private/buy", {"instrument_name": "ETH-27DEC24-3000-C"}) == [eth]
    assert names("private/buy", {"instrument_name": "ETH_USDC-PERPETUAL"}) == [shared]  # usdc
    assert names("private/buy", {"instrument_name": "ETH_USDC"}) == ["spot"]
    assert names("private/cancel", {"order_id": "ETH-584849853"}) == [eth]
    assert names("private/edit", {"order_id": "4008716877", "amount": 10}) == [btc]
    assert names("private/cancel_all_by_currency", {"currency": "ETH"}) == [eth]
    assert names("private/cancel_all_by_kind_or_type", {"currency": ["BTC"]}) == [btc, "cancel_all"]
    trades = [{"instrument_name": "BTC-PERPETUAL"}, {"instrument_name": "ETH-PERPETUAL"}]
    assert names("private/execute_block_trade", {"trades": trades}) == [btc, eth]
    # When the request does not say which currency, every trading pool is charged.
    # cancel_by_label without a currency: cancel_all limits (its spec description).
    assert names("private/cancel_by_label", {"label": "x"}) == [shared, btc, eth, "cancel_all"]
    assert names("private/cancel_all_by_currency", {"currency": "any"}) == [shared, btc, eth]
    assert names("private/cancel_quotes") == [shared, btc, eth]
    assert names("private/get_mmp_config", {"index_name": "btc_usd"}) == [
        shared,
        btc,
        eth,
        "non_matching_engine",
    ]
    assert names("public/get_time") == ["non_matching_engine"]

    refusal = error_from_code(10028, "too_many_requests", method="private/buy")
    limiter.refused(refusal)  # no params in the error: every trading pool is emptied
    assert {limiter.pools[n].refusals for n in (btc, eth, shared)} == {1}

    limiter.calibrate(msgspec.convert(SPEC_LIMITS, Limits))  # no longer per currency
    assert btc not in limiter.pools
    assert names("private/cancel", {"order_id": "ETH-584849853"}) == [shared]


def test_methods_draw_on_the_pools_deribit_charges() -> None:
    limiter = CreditLimiter()

    def names(method: str, params: dict[str, Any] | None = None) -> list[str]:
        return [p.name for p in limiter.pools_for(method, params)]

    assert names("public/get_time") == ["non_matching_engine"]
    assert names("private/buy", {"instrument_name": "BTC-PERPETUAL"}) == ["matching_engine"]
    assert names("private/buy", {"instrument_name": "BTC_USDC"}) == ["spot"]
    assert names("private/cancel_all") == ["cancel_all"]
    assert names("private/cancel_by_label") == ["matching_engine", "cancel_all"]
    # "Not more than once per a second" (its spec description).
    assert names("private/simulate_portfolio") == ["non_matching_engine", "simulate_portfolio"]
    once_a_second = limiter.pools["simulate_portfolio"]
    assert (once_a_second.rate, once_a_second.burst) == (1, 1)
    assert names("public/subscribe") == ["non_matching_engine", "subscribe"]
    assert names("public/not_in_the_spec_yet") == ["non_matching_engine"]
    # REFERENCE 4 (?): the spec's tag and the article disagree: both pools are charged.
    assert names("private/get_mmp_config") == ["matching_engine", "non_matching_engine"]
    assert names("private/add_block_rfq_quote") == ["matching_engine", "non_matching_engine"]
    assert all(f.credit_pools for f in METHODS.values())


def test_get_instruments_over_websocket_draws_on_its_websocket_pool_too() -> None:
    limiter = CreditLimiter()

    def names(websocket: bool) -> list[str]:
        return [p.name for p in limiter.pools_for("public/get_instruments", None, websocket)]

    assert names(False) == ["non_matching_engine", "get_instruments"]
    assert names(True) == ["non_matching_engine", "get_instruments", "get_instruments_ws"]
    assert limiter.pools["get_instruments_ws"].burst == 5
    assert limiter.pools["get_instruments_ws"].rate == 0.1
    # A refusal does not say which transport it came on: both readings are assumed.
    limiter.refused(error_from_code(10028, "too_many_requests", method="public/get_instruments"))
    assert limiter.pools["get_instruments_ws"].refusals == 1


def test_a_refusal_empties_the_pools_for_the_servers_wait() -> None:
    clock = Clock()
    limiter = CreditLimiter(clock=clock)
    limiter.calibrate(None)
    error = error_from_code(10028, "too_many_requests", {"wait": 2}, method="private/buy")
    assert isinstance(error, RateLimitError)
    limiter.refused(error)
    engine = limiter.pools["matching_engine"]
    assert engine.refusals == 1
    assert engine.available < 0
    assert limiter.pools["non_matching_engine"].refusals == 0
    clock.now += 2.0
    assert engine.shortfall() == pytest.approx(500 / (2500 * REFILL_SHARE))
    assert limiter.needs_calibration()  # the limits may have changed: read them again
    # The error has no params: a refused order empties the spot pool too.
    assert limiter.pools["spot"].refusals == 1
    limiter.refused(error_from_code(10009, "not_enough_funds", method="private/buy"))
    assert engine.refusals == 1  # other errors are not refusals


def test_the_mass_quote_pool_reads_the_quote_limits_wherever_they_sit() -> None:
    # REFERENCE 4: the quote groups' names vary (maximum_quotes, maximum_mass_quotes) and
    # per-currency limits nest them under each currency.
    limiter = CreditLimiter()
    engine = PER_CURRENCY_READINGS["above trading"] | {
        "maximum_mass_quotes": {"rate": 4, "burst": 8}
    }
    limiter.calibrate(
        msgspec.convert({"limits_per_currency": True, "matching_engine": engine}, Limits)
    )
    assert figures(limiter.pools["mass_quote"]) == (1, 1)  # btc's quotes
    assert limiter.pools["mass_quote"] in limiter.pools_for("private/mass_quote", {})


def test_too_many_quotes_empties_the_mass_quote_pool_only() -> None:
    limiter = CreditLimiter(clock=Clock())
    limiter.refused(error_from_code(13903, "too_many_quotes", method="private/mass_quote"))
    assert limiter.pools["mass_quote"].refusals == 1
    assert limiter.pools["mass_quote"].available <= 0
    assert limiter.pools["matching_engine"].refusals == 0
