"""Deribit's credit system on both sides: the simulator refuses like Deribit, the client's
limiter keeps a busy bot under the limit (REFERENCE 4, issue #11)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from deribit_client import (
    ClientError,
    ConnectionLost,
    ConnectionState,
    CreditLimiter,
    CreditTimeout,
    DeribitClient,
    RateLimitError,
)
from deribit_client.models import MassQuoteParam
from deribit_client.testing import (
    DeribitSimulator,
    PoolLimits,
    RateLimits,
)
from tests.helpers import KEY


def unlimited_client(sim: DeribitSimulator, **options: Any) -> DeribitClient:
    return DeribitClient(
        url=sim.url,
        transport="websocket",
        heartbeat_interval=None,
        reconnect=False,
        rate_limit=False,
        **options,
    )


async def burst(client: DeribitClient, count: int) -> list[Any]:
    return await asyncio.gather(
        *(client.public.get_time() for _ in range(count)), return_exceptions=True
    )


def frozen_simulator(**options: Any) -> DeribitSimulator:
    """A simulator whose clock stands still: its pools never refill, so a burst's count
    does not depend on how fast this machine sends it."""
    now = time.time()
    return DeribitSimulator(clock=lambda: now, **options)


async def test_an_unlimited_burst_gets_10028_and_a_closed_session() -> None:
    async with frozen_simulator() as sim, unlimited_client(sim) as client:
        results = await burst(client, 150)
    refused = [r for r in results if isinstance(r, RateLimitError)]
    assert [r.code for r in refused] == [10028]  # the session closes at the first one
    assert all(isinstance(r, int | ConnectionLost) for r in results if r not in refused)
    assert sum(isinstance(r, int) for r in results) == 100  # the default burst
    assert sim.credits.refused == 1
    assert client.last_error is not None


async def test_credits_refill_at_the_pools_rate() -> None:
    now = [time.time()]
    async with DeribitSimulator(clock=lambda: now[0]) as frozen, unlimited_client(frozen) as c:
        assert all(isinstance(r, int) for r in await burst(c, 100))
        now[0] += 1.0  # 10,000 credits: 20 more requests
        results = await burst(c, 21)
    assert sum(isinstance(r, int) for r in results) == 20
    assert frozen.credits.refused == 1


async def test_pools_are_per_sub_account_and_per_method_family(sim: DeribitSimulator) -> None:
    sim.add_api_key("other", "other-secret")
    async with (
        unlimited_client(sim, **KEY) as first,
        unlimited_client(sim, client_id="other", client_secret="other-secret") as second,
    ):
        assert all(isinstance(r, int) for r in await burst(first, 90))  # 10 left (unsubscribes)
        # Another sub-account has its own pool; subscriptions their own pool too.
        assert all(isinstance(r, int) for r in await burst(second, 95))
        # 8 subscribes and 8 unsubscribes: more than the 10 general credits left, so the
        # subscribes must have drawn on their own pool (burst 10).
        async with contextlib.AsyncExitStack() as stack:
            for instrument in ("BTC-PERPETUAL", "ETH-PERPETUAL"):
                channels = [f"ticker.{instrument}.{i}" for i in ("100ms", "raw", "agg2")]
                for channel in (*channels, f"quote.{instrument}"):
                    await stack.enter_async_context(first.subscribe(channel))
    assert sim.credits.refused == 0


async def test_the_account_summary_reports_the_simulated_limits() -> None:
    limits = RateLimits(matching_engine_tier=1, non_matching_engine=PoolLimits(500, 75_000))
    async with (
        DeribitSimulator(rate_limits=limits) as sim,
        DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as client,
    ):
        summary = await client.private.get_account_summary("BTC")
        assert summary.limits is not None
        assert summary.limits.non_matching_engine is not None
        assert (
            summary.limits.non_matching_engine.rate,
            summary.limits.non_matching_engine.burst,
        ) == (
            20,
            150,
        )
        assert summary.limits.matching_engine["trading"]["total"] == {"rate": 30, "burst": 100}
        # The client read the same figures when it connected.
        assert client.rate_limiter is not None
        assert client.rate_limiter.calibrated
        assert client.rate_limiter.pools["matching_engine"].rate == 30
        assert client.rate_limiter.pools["non_matching_engine"].burst == 150


async def test_orders_draw_on_the_matching_engine_pool_of_their_tier() -> None:
    async with (
        frozen_simulator(rate_limits=RateLimits(matching_engine_tier=4)) as sim,
        unlimited_client(sim, **KEY) as client,
    ):
        orders = await asyncio.gather(
            *(
                client.private.buy("BTC-PERPETUAL", amount=10, type="limit", price=1000.0)
                for _ in range(21)
            ),
            return_exceptions=True,
        )
    assert sum(not isinstance(o, BaseException) for o in orders) == 20  # tier 4: burst 20
    assert sum(isinstance(o, RateLimitError) for o in orders) == 1


async def test_the_limiter_keeps_a_busy_bot_under_the_limit() -> None:
    # A small pool so the test is quick: 200 requests/s, burst 20.
    limits = RateLimits(non_matching_engine=PoolLimits.per_second(200, 20))
    async with (
        DeribitSimulator(rate_limits=limits) as sim,
        DeribitClient(url=sim.url, heartbeat_interval=None, reconnect=False, **KEY) as client,
    ):
        results = await burst(client, 150)
        assert [r for r in results if not isinstance(r, int)] == []
        assert sim.credits.refused == 0
        assert client.rate_limiter is not None
        pool = client.rate_limiter.pools["non_matching_engine"]
        assert pool.rate == 200  # calibrated from the simulator's limits
        assert pool.delayed > 0  # the burst was spread out, not refused
        assert pool.refusals == 0


async def test_per_currency_limits_give_each_currency_its_own_trading_pool() -> None:
    limits = RateLimits(limits_per_currency=True, currency_tiers={"eth": 3})
    async with (
        frozen_simulator(rate_limits=limits) as sim,
        unlimited_client(sim, **KEY) as client,
    ):
        summary = await client.private.get_account_summary("BTC")
        assert summary.limits is not None
        assert summary.limits.limits_per_currency
        assert summary.limits.matching_engine["trading"] == {
            "btc": {"total": {"rate": 5, "burst": 20}},
            "eth": {"total": {"rate": 10, "burst": 30}},
            "usdc": {"total": {"rate": 5, "burst": 20}},  # linear perpetuals settle in USDC
        }

        def buy(instrument: str) -> Any:
            return client.private.buy(instrument, amount=10, type="limit", price=1000.0)

        btc = await asyncio.gather(*(buy("BTC-PERPETUAL") for _ in range(20)))
        eth = await asyncio.gather(*(buy("ETH-PERPETUAL") for _ in range(29)))
        # A cancel draws on the pool of its order's currency: ETH has one request left.
        await client.private.cancel(eth[0].order.order_id)
        assert sim.credits.refused == 0
        with pytest.raises(RateLimitError, match="too_many_requests"):  # BTC pool is empty
            await client.private.cancel(btc[0].order.order_id)
    assert sim.credits.refused == 1


async def test_the_limiter_spends_each_currencys_pool_on_its_own() -> None:
    async with (
        frozen_simulator(rate_limits=RateLimits(limits_per_currency=True)) as sim,
        DeribitClient(url=sim.url, heartbeat_interval=None, reconnect=False, **KEY) as client,
    ):
        orders = await asyncio.gather(
            *(
                client.private.buy(instrument, amount=10, type="limit", price=1000.0)
                for instrument in ("BTC-PERPETUAL", "ETH-PERPETUAL")
                for _ in range(15)
            )
        )
        assert len(orders) == 30
        assert sim.credits.refused == 0
        limiter = client.rate_limiter
        assert limiter is not None
        pools = [limiter.pools[f"matching_engine.{c}"] for c in ("btc", "eth")]
        # 15 orders per currency fit in each currency's burst of 20: no order waited,
        # where one pool for both (burst 20) would have held 12 of the 30 back.
        assert [(p.requests, p.delayed) for p in pools] == [(15, 0), (15, 0)]
        assert limiter.pools["matching_engine"].requests == 0


async def test_a_call_refused_before_it_is_posted_takes_no_credits(sim: DeribitSimulator) -> None:
    limiter = CreditLimiter(clock=lambda: 0.0)  # no refill: every credit shows
    pool = limiter.pools["matching_engine"]
    async with DeribitClient(url=sim.url, transport="http", rate_limit=limiter, **KEY) as client:
        before = pool.available, pool.requests
        with pytest.raises(ClientError, match="amount"):
            await client.private.buy("BTC-PERPETUAL", amount=float("inf"), type="market")
        assert (pool.available, pool.requests) == before
        await client.private.buy("BTC-PERPETUAL", amount=10, type="market")
        assert pool.requests == before[1] + 1


def get_instruments_burst(client: DeribitClient, count: int, timeout: float = 5.0) -> Any:
    return asyncio.gather(
        *(client.public.get_instruments("BTC", timeout=timeout) for _ in range(count)),
        return_exceptions=True,
    )


@pytest.mark.parametrize("websocket_limit", [True, False])
async def test_get_instruments_over_websocket_has_a_burst_of_five(websocket_limit: bool) -> None:
    # Deribit's docs give both readings (REFERENCE 4 (?)): the simulator serves either.
    limits = RateLimits()
    if not websocket_limit:
        limits.websocket_pools.clear()
    async with (
        frozen_simulator(rate_limits=limits) as sim,
        unlimited_client(sim) as ws,
        DeribitClient(url=sim.url, transport="http", rate_limit=False) as http,
    ):
        over_http = await get_instruments_burst(http, 6)
        over_ws = await get_instruments_burst(ws, 6)
    assert all(isinstance(r, list) for r in over_http)  # HTTP: only the method's own pool
    refused = [r for r in over_ws if isinstance(r, RateLimitError)]
    assert len(refused) == (1 if websocket_limit else 0)
    assert sum(isinstance(r, list) for r in over_ws) == (5 if websocket_limit else 6)


async def test_the_client_paces_get_instruments_over_websocket() -> None:
    async with (
        frozen_simulator() as sim,
        DeribitClient(url=sim.url, transport="websocket", heartbeat_interval=None) as ws,
        DeribitClient(url=sim.url, transport="http") as http,
    ):
        # Those past the burst wait 10 s for credits: with a shorter timeout, never sent.
        over_ws = await get_instruments_burst(ws, 6, timeout=0.5)
        assert all(isinstance(r, list) for r in await get_instruments_burst(http, 6))
        assert ws.state is ConnectionState.READY  # the session was never closed
    # The client keeps a tenth of a pool in reserve: 4 go at once, the rest wait.
    assert [type(r) for r in over_ws] == [list] * 4 + [CreditTimeout] * 2
    assert "not sent" in str(over_ws[-1])
    assert sim.credits.refused == 0


async def test_cancel_by_label_without_a_currency_draws_on_the_cancel_all_pool() -> None:
    async with (
        frozen_simulator(rate_limits=RateLimits(matching_engine_tier=4)) as sim,
        unlimited_client(sim, **KEY) as client,
    ):
        for _ in range(20):  # tier 4: the trading pool's whole burst
            await client.private.buy(
                "BTC-PERPETUAL", amount=10, type="limit", price=1000.0, label="grid"
            )
        assert await client.private.cancel_by_label("grid") == 20  # the cancel_all pool
        with pytest.raises(RateLimitError):  # with a currency: the empty trading pool
            await client.private.cancel_by_label("grid", currency="BTC")


async def test_simulate_portfolio_is_served_once_a_second() -> None:
    now = [time.time()]
    async with (
        DeribitSimulator(clock=lambda: now[0]) as sim,
        unlimited_client(sim, **KEY) as raw,
        DeribitClient(url=sim.url, transport="http", **KEY) as client,
    ):
        await raw.private.simulate_portfolio("BTC")
        with pytest.raises(RateLimitError):
            await raw.private.simulate_portfolio("BTC")
        now[0] += 1.0
        # The client waits its second for the credits: with a shorter timeout, never sent.
        await client.private.simulate_portfolio("BTC")
        with pytest.raises(CreditTimeout, match="not sent"):
            await client.private.simulate_portfolio("BTC", timeout=0.5)
    assert sim.credits.refused == 1


async def _mass_quotes(client: DeribitClient, count: int, quotes: int = 1) -> list[Any]:
    """``count`` mass quotes at once, each quoting ``quotes`` bids below the market."""
    entries: list[MassQuoteParam] = [
        {"instrument_name": "BTC-PERPETUAL", "quote_set_id": f"s{i}", "bid": {"price": 1000.0}}
        for i in range(quotes)
    ]
    return await asyncio.gather(
        *(client.private.mass_quote(f"q{n}", "mm", entries) for n in range(count)),
        return_exceptions=True,
    )


async def _quoting(client: DeribitClient) -> None:
    await client.private.enable_cancel_on_disconnect()
    await client.private.set_mmp_config("btc_usd", 60, 0, mmp_group="mm", max_quote_quantity=1)


async def test_mass_quotes_have_their_own_limits_refused_with_13903() -> None:
    async with frozen_simulator() as sim, unlimited_client(sim, **KEY) as client:
        await _quoting(client)
        # max_quotes: 10 requests at once (and tier 4's trading pool has 20)
        results = await _mass_quotes(client, 11)
        refused = [r for r in results if isinstance(r, BaseException)]
        assert [getattr(r, "code", r) for r in refused] == [13903]
        assert client.state is ConnectionState.READY  # unlike 10028: the session stays
        assert sim.credits.refused == 0
    async with frozen_simulator() as sim, unlimited_client(sim, **KEY) as client:
        await _quoting(client)
        # quotes: 500 at once, whatever the number of requests carrying them
        results = await _mass_quotes(client, 2, quotes=300)
        assert [getattr(r, "code", None) for r in results] == [None, 13903]
        summary = await client.private.get_account_summary("BTC")
        assert summary.limits is not None
        engine = summary.limits.matching_engine
        assert (engine["max_quotes"], engine["quotes"]) == (
            {"rate": 10, "burst": 10},
            {"rate": 500, "burst": 500},
        )


async def test_the_limiter_paces_mass_quotes_by_the_accounts_quote_limits() -> None:
    # Trading tier 1 (30/s, burst 100) leaves the mass-quote limit the binding one.
    limits = RateLimits(matching_engine_tier=1, max_quotes=PoolLimits.per_second(200, 5))
    async with (
        DeribitSimulator(rate_limits=limits) as sim,
        DeribitClient(url=sim.url, heartbeat_interval=None, reconnect=False, **KEY) as client,
    ):
        await _quoting(client)
        results = await _mass_quotes(client, 30)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert client.rate_limiter is not None
        pool = client.rate_limiter.pools["mass_quote"]
        assert (pool.rate, pool.burst) == (200, 5)  # calibrated from the account's limits
        assert pool.delayed > 0
