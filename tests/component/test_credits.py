"""The credit limiter inside the client: calibration, waiting within a call's timeout,
cancellation, refusals (scripted Deribit behind the mock transport)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from deribit_client import (
    ClientClosed,
    ClientError,
    ConnectionLost,
    CreditLimiter,
    CreditTimeout,
    DeribitClient,
    RateLimitError,
    RequestTimeout,
)
from tests.helpers import (
    MOCK_KEY,
    SILENT,
    Refuse,
    ScriptedDeribit,
    WriteFails,
    WriteFailsConnector,
    until,
)

LIMITS = {
    "limits_per_currency": False,
    "non_matching_engine": {"rate": 50, "burst": 200},
    "matching_engine": {
        "trading": {"total": {"rate": 30, "burst": 100}},
        "spot": {"rate": 30, "burst": 100},
        "cancel_all": {"rate": 30, "burst": 100},
    },
}


def scripted() -> ScriptedDeribit:
    venue = ScriptedDeribit()
    venue.results["private/get_account_summary"] = {"currency": "BTC", "limits": LIMITS}
    venue.results["private/buy"] = {"order": {"order_id": "1"}, "trades": []}
    return venue


def client_for(venue: ScriptedDeribit, **options: Any) -> DeribitClient:
    return DeribitClient(connector=venue.connector, heartbeat_interval=None, **options)


async def test_the_pools_follow_the_accounts_limits_after_authenticating() -> None:
    venue = scripted()
    async with client_for(venue, **MOCK_KEY) as client:
        limiter = client.rate_limiter
        assert limiter is not None
        assert limiter.calibrated
        assert limiter.pools["matching_engine"].rate == 30  # tier 1, not the tier-4 default
        assert limiter.pools["non_matching_engine"].burst == 200
        assert venue.methods() == ["public/auth", "private/get_account_summary"]
        venue.transport.drop("network")
        await client.wait_ready()
        # Within the hour the limits are not read again.
        assert venue.methods().count("private/get_account_summary") == 1


async def test_limits_that_cannot_be_read_leave_the_defaults_and_the_client_works() -> None:
    venue = scripted()

    def forbidden(params: dict[str, Any]) -> Any:
        raise Refuse(13021, "forbidden")

    venue.results["private/get_account_summary"] = forbidden
    async with client_for(venue, **MOCK_KEY) as client:
        assert client.rate_limiter is not None
        assert not client.rate_limiter.calibrated
        assert client.rate_limiter.pools["matching_engine"].rate == 5
        assert await client.public.get_time() == 1
    async with client_for(ScriptedDeribit()) as anonymous:  # no key: nothing to read
        assert await anonymous.public.get_time() == 1
    assert "private/get_account_summary" not in venue.methods()[2:]


async def test_a_call_without_credits_times_out_unsent_even_an_order() -> None:
    venue = scripted()
    async with client_for(venue, **MOCK_KEY) as client:
        assert client.rate_limiter is not None
        client.rate_limiter.pools["non_matching_engine"].exhaust(wait=60)
        client.rate_limiter.pools["matching_engine"].exhaust(wait=60)
        with pytest.raises(CreditTimeout, match="not sent") as info:
            await client.public.get_time(timeout=0.05)
        assert isinstance(info.value, RequestTimeout)
        # Not OrderOutcomeUnknown: the order never left the client.
        with pytest.raises(CreditTimeout):
            await client.private.buy("BTC-PERPETUAL", amount=10, type="market", timeout=0.05)
        assert "public/get_time" not in venue.methods()
        assert "private/buy" not in venue.methods()


async def test_cancelling_a_call_that_waits_for_credits_sends_and_takes_nothing() -> None:
    venue = scripted()
    async with client_for(venue, **MOCK_KEY) as client:
        assert client.rate_limiter is not None
        pool = client.rate_limiter.pools["matching_engine"]
        pool.exhaust(wait=60)
        taken = pool.requests
        order = asyncio.ensure_future(
            client.private.buy("BTC-PERPETUAL", amount=10, type="market", label="x")
        )
        await until(lambda: pool._waiting == 1)
        order.cancel()
        with pytest.raises(asyncio.CancelledError):
            await order
        assert pool.requests == taken
        assert "private/buy" not in venue.methods()
        assert await client.public.get_time() == 1  # other pools are unaffected


async def test_a_refusal_empties_the_pool_so_the_next_call_waits() -> None:
    venue = scripted()

    def refuse(params: dict[str, Any]) -> Any:
        raise Refuse(10028, "too_many_requests", {"wait": 60})

    venue.results["private/buy"] = refuse
    async with client_for(venue, reconnect=False, **MOCK_KEY) as client:
        with pytest.raises(RateLimitError):
            await client.private.buy("BTC-PERPETUAL", amount=10, type="market")
        assert client.rate_limiter is not None
        assert client.rate_limiter.pools["matching_engine"].refusals == 1
        with pytest.raises(CreditTimeout):
            await client.private.buy("BTC-PERPETUAL", amount=10, type="market", timeout=0.05)
        assert venue.methods().count("private/buy") == 1
        assert client.rate_limiter.needs_calibration()


async def test_clients_of_one_sub_account_can_share_a_limiter() -> None:
    shared = CreditLimiter()
    first, second = scripted(), scripted()
    async with (
        client_for(first, rate_limit=shared, **MOCK_KEY) as a,
        client_for(second, rate_limit=shared, **MOCK_KEY) as b,
    ):
        assert a.rate_limiter is b.rate_limiter is shared
        before = shared.pools["non_matching_engine"].requests
        await a.public.get_time()
        await b.public.get_time()
        assert shared.pools["non_matching_engine"].requests == before + 2
    # The second client found the limits fresh: one read for the sub-account.
    assert second.methods() == ["public/auth", "public/get_time"]


async def test_the_limiter_can_be_turned_off_and_bad_values_are_refused() -> None:
    venue = scripted()
    async with client_for(venue, rate_limit=False, **MOCK_KEY) as client:
        assert client.rate_limiter is None
        assert venue.methods() == ["public/auth"]
    with pytest.raises(ClientError, match="rate_limit must be"):
        DeribitClient(rate_limit="on")  # type: ignore[arg-type]


async def test_waiting_for_credits_counts_against_an_internal_calls_timeout() -> None:
    venue = scripted()
    venue.results["public/subscribe"] = SILENT
    async with client_for(venue, timeout=0.5) as client:
        assert client.rate_limiter is not None
        pool = client.rate_limiter.pools["subscribe"]
        pool.configure(cost=1, capacity=1, refill=10)
        pool.exhaust()  # about 0.1 s until the subscribe may go
        with pytest.raises(RequestTimeout) as info:
            async with client.subscribe("ticker.BTC-PERPETUAL.100ms"):
                pass
        assert pool.delayed == 1
        # The subscribe got what was left of the 0.5 s, not a fresh 0.5 s.
        assert info.value.timeout < 0.5


async def test_a_call_refused_before_it_is_sent_takes_no_credits() -> None:
    # A bot that keeps calling through a bad argument, a reconnect or a closed client must
    # not drain the pools it shares with its good calls (and with other clients).
    shared = CreditLimiter(clock=lambda: 0.0)  # no refill: every credit shows
    trading = shared.pools["matching_engine"]
    general = shared.pools["non_matching_engine"]

    def credits() -> tuple[float, int, float, int]:
        return trading.available, trading.requests, general.available, general.requests

    venue = scripted()
    venue.results["private/get_account_summary"] = {"currency": "BTC"}  # defaults stay
    async with client_for(venue, rate_limit=shared, reconnect=False, **MOCK_KEY) as client:
        before = credits()
        with pytest.raises(ClientError, match="price"):
            await client.private.buy("BTC-PERPETUAL", amount=10, price=float("nan"))
        with pytest.raises(ClientError, match="params"):
            await client.call("public/get_time", ["not", "a", "mapping"])  # type: ignore[call-overload]
        with pytest.raises(ClientError, match="result_type"):
            await client.call("public/get_time", result_type=object)
        with pytest.raises(ClientError, match="bytes"):
            await client.call("public/test", {"blob": "x" * 40_000_000})
        assert credits() == before
        venue.transport.drop("network")
        await until(lambda: client.state.value == "failed")
        with pytest.raises(ConnectionLost):
            await client.private.buy("BTC-PERPETUAL", amount=10, type="market")
        assert credits() == before
    with pytest.raises(ClientClosed):
        await client.public.get_time()
    assert credits() == before
    assert venue.methods().count("private/buy") == 0


@pytest.mark.parametrize("refusal", ["closed", "wrote nothing"])
async def test_a_call_the_transport_refuses_to_write_gives_its_credits_back(refusal: str) -> None:
    # The link broke a moment ago and the read side has not seen it yet: the call is
    # prepared on a connection that still looks ready, then the transport refuses the
    # write (its own ConnectionLost, or an error it says wrote nothing). Nothing reached
    # Deribit, so nothing may stay charged against the pools.
    shared = CreditLimiter(clock=lambda: 0.0)  # no refill: every credit shows
    trading = shared.pools["matching_engine"]
    venue = scripted()
    venue.results["private/get_account_summary"] = {"currency": "BTC"}  # defaults stay
    connector = venue.connector = WriteFailsConnector(venue.handle)
    async with client_for(venue, rate_limit=shared, reconnect=False, **MOCK_KEY) as client:
        before = trading.available, trading.requests
        link = connector.transports[-1]
        assert isinstance(link, WriteFails)
        if refusal == "closed":
            link.drop("network")  # closed at once; the read loop learns of it later
        else:
            link.write_error = ConnectionResetError("Cannot write to closing transport")
            link.wrote_nothing = True
        with pytest.raises(ConnectionLost, match=r"mock transport closed|not sent"):
            await client.private.buy("BTC-PERPETUAL", amount=10, type="market")
        assert (trading.available, trading.requests) == before
    assert venue.methods().count("private/buy") == 0
