"""Authentication, private trading methods, detailed cancel reports and order safety."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

import pytest

from deribit_client import (
    AuthenticationError,
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    DeribitClient,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    OrderOutcomeUnknown,
    OrderRejectedError,
    RateLimitError,
    RequestTimeout,
    TransportMode,
    UnsupportedOperation,
)
from deribit_client._auth import Grant
from deribit_client.models import (
    CancelFailure,
    CancelSuccess,
    LegParam,
    Order,
    OrderResponse,
    cancel_failures,
    cancelled_orders,
)
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from tests.helpers import INSTANT, KEY, FastHeartbeatClient, until

PERP = "BTC-PERPETUAL"


async def below_bid(client: DeribitClient, ticks: int = 100) -> float:
    ticker = await client.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    return ticker.best_bid_price - 0.5 * ticks


# -- authentication ---------------------------------------------------------------------


@pytest.mark.parametrize("grant", ["client_signature", "client_credentials"])
async def test_grants_authenticate_and_read_back_the_granted_scope(
    sim: DeribitSimulator, grant: Any
) -> None:
    async with DeribitClient(
        url=sim.url,
        heartbeat_interval=None,
        grant=grant,
        scope="trade:read_write wallet:read_write",
        **KEY,
    ) as client:
        assert client.auth is not None
        assert sim.trading.auth_grants == [grant]
        scope = client.auth.granted_scope or ""
        assert "trade:read_write" in scope
        # Deribit narrows wallet:read_write for the plain-secret grant (REFERENCE 2.2).
        assert ("wallet:read_write" in scope) is (grant == "client_signature")
        assert (await client.private.get_account_summary("BTC")).currency == "BTC"


async def test_credentials_from_the_environment(
    sim: DeribitSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DERIBIT_CLIENT_ID", SIM_CLIENT_ID)
    monkeypatch.setenv("DERIBIT_CLIENT_SECRET", SIM_CLIENT_SECRET)
    async with DeribitClient(url=sim.url, heartbeat_interval=None) as client:
        assert client.auth is not None
        assert await client.private.get_positions() == []


async def test_private_call_without_credentials_fails_before_io(sim: DeribitSimulator) -> None:
    async with DeribitClient(url=sim.url, heartbeat_interval=None) as client:
        with pytest.raises(CredentialsRequired, match="private/get_positions"):
            await client.private.get_positions()
    assert not any(m.startswith("private/") for m, _ in sim.calls)


async def test_rejected_credentials_raise_and_hide_the_secret(
    sim: DeribitSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        grants: tuple[Grant, ...] = ("client_signature", "client_credentials")
        for grant in grants:
            client = DeribitClient(
                url=sim.url,
                heartbeat_interval=None,
                client_id=SIM_CLIENT_ID,
                client_secret="WRONG-SECRET-VALUE",
                grant=grant,
            )
            with pytest.raises(AuthenticationError) as info:
                await client.connect()
            assert info.value.code == 13004
            for text in (str(info.value), repr(info.value), repr(client), repr(client.auth)):
                assert "WRONG-SECRET-VALUE" not in text
            assert client.state == "disconnected"
    assert all("WRONG-SECRET-VALUE" not in r.getMessage() for r in caplog.records)


async def test_no_secret_or_token_leaks_into_logs_or_reprs_during_a_session(
    sim: DeribitSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        async with DeribitClient(
            url=sim.url, heartbeat_interval=None, grant="client_credentials", **KEY
        ) as client:
            assert client.auth is not None
            token = client.auth.access_token
            assert token
            await client.private.get_positions()
            texts = [repr(client), repr(client.auth), repr(client.auth.credentials)]
    leaked = [SIM_CLIENT_SECRET, token]
    for text in texts + [r.getMessage() for r in caplog.records]:
        assert not any(secret in text for secret in leaked), text


async def test_token_is_refreshed_before_expiry(sim: DeribitSimulator) -> None:
    sim.token_ttl = 1  # refresh due at 0.8 s
    async with DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as client:
        assert client.auth is not None
        first = client.auth.access_token
        await until(lambda: client.auth is not None and client.auth.refreshes >= 1, limit=5)
        assert client.auth.access_token != first
        assert "refresh_token" in sim.trading.auth_grants
        assert await client.private.get_positions() == []  # the new token works


async def test_reauth_after_reconnect_precedes_heartbeat_cod_and_resubscribe(
    sim: DeribitSimulator,
) -> None:
    sim.min_heartbeat_interval = 0.01
    async with (
        FastHeartbeatClient(
            url=sim.url, heartbeat_interval=30, cancel_on_disconnect=True, reconnect=INSTANT, **KEY
        ) as client,
        client.subscribe("user.orders.BTC-PERPETUAL.raw"),
    ):
        assert client.auth is not None
        logins = client.auth.logins
        start = len(sim.calls)
        sim.drop_connections()
        await until(lambda: client.reconnect_count == 1 and client.state == "ready")
        steps = [m for m, _ in sim.calls[start:]]
        assert steps == [
            "public/auth",
            "public/set_heartbeat",
            "private/enable_cancel_on_disconnect",
            "private/subscribe",
        ]
        assert client.auth.logins == logins + 1
        assert (await client.private.get_cancel_on_disconnect()).enabled is True


async def test_calls_stay_off_a_connection_that_is_still_reauthenticating(
    sim: DeribitSimulator,
) -> None:
    async with DeribitClient(url=sim.url, heartbeat_interval=None, reconnect=INSTANT, **KEY) as c:
        sim.delay("public/auth", 0.5)
        start = len(sim.calls)
        sim.drop_connections()
        await until(lambda: any(m == "public/auth" for m, _ in sim.calls[start:]))
        assert c.state == "reconnecting"
        with pytest.raises(ConnectionLost, match="reconnecting"):
            await c.private.get_positions()
        # A subscribe waits for the reconnect, which subscribes after authenticating.
        async with c.subscribe("ticker.BTC-PERPETUAL.100ms"):
            assert c.state == "ready"
        assert await c.private.get_positions() == []
        methods = [m for m, _ in sim.calls[start:]]
        assert methods.count("private/get_positions") == 1
        assert methods.index("public/subscribe") > methods.index("public/auth")


async def test_session_scoped_token_is_refreshed_not_replaced_on_reconnect(
    sim: DeribitSimulator,
) -> None:
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, scope="session:bot", reconnect=INSTANT, **KEY
    ) as client:
        assert client.auth is not None
        assert client.auth.session_scoped
        sim.drop_connections()
        await until(lambda: client.reconnect_count == 1)
        assert sim.trading.auth_grants == ["client_signature", "refresh_token"]
        assert "session:bot" in (client.auth.granted_scope or "")


async def open_sessions(sim: DeribitSimulator, names: list[str]) -> None:
    """Log in once into each named session of the simulator's key, from another client."""
    async with DeribitClient(url=sim.url, transport="http") as other:
        for name in names:
            await other.call("public/auth", {"grant_type": "client_credentials",
                                             "scope": f"session:{name}", **KEY})  # fmt: skip


@pytest.mark.parametrize("transport", ["websocket", "http"])
async def test_a_refused_token_is_replaced_at_once_not_at_refresh_time(
    sim: DeribitSimulator, transport: Any
) -> None:
    async with DeribitClient(
        url=sim.url, transport=transport, scope="session:bot", heartbeat_interval=None, **KEY
    ) as bot:
        await bot.private.buy(PERP, amount=10, price=await below_bid(bot), label="resting")
        assert bot.auth.logins == 1
        # 16 more sessions on the key: Deribit drops the oldest, the bot's, and its token.
        await open_sessions(sim, [f"other{i}" for i in range(16)])
        with pytest.raises(AuthenticationError) as refused:
            await bot.private.get_open_orders_by_instrument(PERP)
        assert refused.value.code == 13009
        # Not in 12 minutes, at the next refresh: the bot can cancel again straight away.
        await until(lambda: bot.auth.logins == 2)
        assert await bot.private.cancel_by_label("resting") == 1
        calls = [m for m, _ in sim.calls]
        assert calls.count("private/get_open_orders_by_instrument") == 1  # never re-sent


async def test_a_server_refusing_every_token_gets_one_new_token_per_spacing(
    sim: DeribitSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    async with DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as bot:
        sim.inject_error("private/get_positions", 13009, "unauthorized", times=None)
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                await bot.private.get_positions()
        await until(lambda: bot.auth.refreshes == 1)  # one for the five refusals
        for _ in range(5):
            with pytest.raises(AuthenticationError):
                await bot.private.get_positions()
        await bot.public.get_time()  # a round trip more: time enough for a refresh
        assert bot.auth.refreshes == 1  # the next waits out the spacing (10 s)
        assert bot.auth.logins == 1
    assert "refused the access token; logging in again" in caplog.text


@pytest.mark.parametrize("mode", ["bearer", "basic", "signature"])
async def test_http_authentication_modes(sim: DeribitSimulator, mode: Any) -> None:
    async with DeribitClient(url=sim.url, transport="http", http_auth=mode, **KEY) as client:
        response = await client.private.buy(PERP, amount=10, price=await below_bid(client))
        assert response.order.order_state == "open"
        assert len(await client.private.get_open_orders_by_instrument(PERP)) == 1
    assert sim.trading.auth_grants == (["client_signature"] if mode == "bearer" else [])


async def test_token_helpers(sim: DeribitSimulator, trader: DeribitClient) -> None:
    assert trader.auth is not None
    async with DeribitClient(url=sim.url, heartbeat_interval=None, scope="session:a", **KEY) as c:
        assert c.auth is not None
        refresh = c.auth._result.refresh_token  # type: ignore[union-attr]
        assert refresh is not None
        forked = await c.public.fork_token(refresh, "b")
        assert "session:b" in forked.scope
        sub = await c.private.create_subaccount()
        assert sub.id is not None
        exchanged = await c.public.exchange_token(refresh, sub.id, scope="session:c")
        assert exchanged.access_token
        assert "mainaccount" not in exchanged.scope  # a subaccount's token


async def test_logout_closes_without_reconnecting_or_cancelling(sim: DeribitSimulator) -> None:
    client = DeribitClient(url=sim.url, heartbeat_interval=None, cancel_on_disconnect=True, **KEY)
    await client.connect()
    await client.private.buy(PERP, amount=10, price=await below_bid(client), label="keep")
    await client.private.logout()
    assert client.state == "closed"
    assert client.reconnect_count == 0
    await until(lambda: not sim.sessions)
    assert sim.cod_cancellations == 0  # logout does not trigger cancel-on-disconnect


# -- trading ----------------------------------------------------------------------------


async def test_place_edit_cancel_and_query(trader: DeribitClient) -> None:
    price = await below_bid(trader)
    placed = await trader.private.buy(PERP, amount=100, price=price, label="grid-1")
    assert isinstance(placed, OrderResponse)
    order = placed.order
    assert (order.order_state, order.direction, order.label, order.price) == (
        "open",
        "buy",
        "grid-1",
        price,
    )
    assert placed.trades == []
    edited = await trader.private.edit(order.order_id, amount=200, price=price - 5)
    assert (edited.order.amount, edited.order.price) == (200, price - 5)
    relabel = await trader.private.edit_by_label(PERP, "grid-1", price=price - 10)
    assert relabel.order.order_id == order.order_id
    assert [o.order_id for o in await trader.private.get_open_orders()] == [order.order_id]
    assert len(await trader.private.get_open_orders_by_currency("BTC")) == 1
    assert len(await trader.private.get_open_orders_by_label("BTC", label="grid-1")) == 1
    assert (await trader.private.get_order_state(order.order_id)).order_state == "open"
    cancelled = await trader.private.cancel(order.order_id)
    assert isinstance(cancelled, Order)
    assert (cancelled.order_state, cancelled.cancel_reason) == ("cancelled", "user_request")
    assert await trader.private.get_open_orders_by_instrument(PERP) == []
    states = await trader.private.get_order_state_by_label("BTC", label="grid-1")
    assert [o.order_state for o in states] == ["cancelled"]
    with pytest.raises(NotFoundError):
        await trader.private.get_order_state("SIM-nope")


@pytest.mark.parametrize("transport", ["websocket", "http"])
async def test_prices_and_amounts_may_be_decimals(sim: DeribitSimulator, transport: Any) -> None:
    async with DeribitClient(url=sim.url, transport=transport, **KEY) as client:
        price = Decimal(str(await below_bid(client))) + Decimal("0.5")
        placed = await client.private.buy(PERP, amount=Decimal("30"), price=price, label="dec")
        assert (placed.order.amount, placed.order.price) == (30, float(price))
        edited = await client.private.edit(placed.order.order_id, amount=Decimal("4E+1"))
        assert edited.order.amount == 40
        legs: list[LegParam] = [
            {"instrument_name": PERP, "amount": Decimal("10"), "direction": "buy"}
        ]
        assert await client.private.get_leg_prices(legs, price=Decimal("1.5"))
        await client.private.cancel(placed.order.order_id)


async def test_market_fill_positions_trades_and_close(trader: DeribitClient) -> None:
    filled = await trader.private.buy(PERP, amount=50, type="market", label="taker")
    assert filled.order.order_state == "filled"
    assert sum(t.amount for t in filled.trades) == 50
    assert all(t.liquidity == "T" and t.fee is not None for t in filled.trades)
    position = await trader.private.get_position(PERP)
    assert (position.direction, position.size) == ("buy", 50)
    assert [p.instrument_name for p in await trader.private.get_positions(currency="BTC")] == [PERP]
    by_order = await trader.private.get_user_trades_by_order(filled.order.order_id)
    assert [t.trade_id for t in by_order] == [t.trade_id for t in filled.trades]
    page = await trader.private.get_user_trades_by_instrument(PERP, count=100)
    assert len(page.trades) == len(filled.trades)
    assert (await trader.private.get_user_trades_by_currency("BTC")).trades
    closed = await trader.private.close_position(PERP, "market")
    assert closed.order.reduce_only is True
    assert (await trader.private.get_position(PERP)).direction == "zero"
    summary = await trader.private.get_account_summary("BTC", extended=True)
    assert summary.limits is not None
    assert summary.limits.non_matching_engine is not None
    assert summary.balance is not None
    assert summary.balance < 10
    summaries = await trader.private.get_account_summaries()
    assert {s.currency for s in summaries.summaries} >= {"BTC", "ETH"}


async def test_order_rejections_are_typed(sim: DeribitSimulator, trader: DeribitClient) -> None:
    price = await below_bid(trader)
    with pytest.raises(OrderRejectedError) as tick:
        await trader.private.buy(PERP, amount=10, price=price + 0.25)
    assert tick.value.code == 10043
    with pytest.raises(OrderRejectedError) as high:
        await trader.private.buy(PERP, amount=10, price=price * 2)
    assert high.value.code == 10007
    with pytest.raises(InvalidRequestError):
        await trader.private.buy("NOPE-PERPETUAL", amount=10, price=1)
    with pytest.raises(ValueError, match="amount or contracts"):
        await trader.private.buy(PERP, price=price)
    with pytest.raises(ValueError, match="needs a price"):
        await trader.private.sell(PERP, amount=10)
    with pytest.raises(ValueError, match="64"):
        await trader.private.buy(PERP, amount=10, price=price, label="x" * 65)
    combinations: list[tuple[dict[str, Any], str]] = [
        ({"type": "market", "post_only": True}, "post_only"),
        ({"price": price, "post_only": True, "time_in_force": "fill_or_kill"}, "post_only"),
        ({"price": price, "reject_post_only": True}, "reject_post_only"),
        ({"type": "stop_market", "trigger_price": price, "mmp": True}, "mmp"),
        ({"type": "trailing_stop", "trigger": "index_price"}, "trigger_offset"),
        ({"price": price, "linked_order_type": "one_cancels_other"}, "otoco_config"),
        ({"price": price, "otoco_config": [{"type": "limit"}]}, "linked_order_type"),
        ({"price": price, "trigger_fill_condition": "incremental"}, "trigger_fill_condition"),
    ]
    sent = len(sim.calls)
    for extra, named in combinations:
        with pytest.raises(ClientError, match=named):
            await trader.private.buy(PERP, amount=10, **extra)
    assert len(sim.calls) == sent  # refused before sending


async def test_cod_settings(trader: DeribitClient) -> None:
    assert (await trader.private.get_cancel_on_disconnect()).enabled is False
    assert await trader.private.enable_cancel_on_disconnect() == "ok"
    assert trader.cancel_on_disconnect is True  # replayed after reconnects
    assert (await trader.private.get_cancel_on_disconnect(scope="connection")).enabled is True
    await trader.private.disable_cancel_on_disconnect()
    assert trader.cancel_on_disconnect is False


async def test_account_scoped_cod_works_over_http(sim: DeribitSimulator) -> None:
    async with DeribitClient(url=sim.url, transport="http", **KEY) as client:
        assert await client.private.enable_cancel_on_disconnect(scope="account") == "ok"
        assert (await client.private.get_cancel_on_disconnect(scope="account")).enabled
        sent = len(sim.calls)
        # Connection scope exists only on WebSocket: refused before any I/O (Deribit would
        # answer 10030 must_be_websocket_request).
        with pytest.raises(UnsupportedOperation, match="WebSocket"):
            await client.private.enable_cancel_on_disconnect(scope="connection")
        with pytest.raises(UnsupportedOperation, match="WebSocket"):
            await client.private.enable_cancel_on_disconnect()
        assert len(sim.calls) == sent
        assert client.cancel_on_disconnect is False


# -- cancel_all and detailed execution reports ------------------------------------------


async def rest_orders(client: DeribitClient) -> None:
    btc = await below_bid(client)
    eth = (await client.public.ticker("ETH-PERPETUAL")).best_bid_price
    assert eth is not None
    await client.private.buy(PERP, amount=10, price=btc, label="a")
    await client.private.buy(PERP, amount=10, price=btc - 1, label="a")
    await client.private.buy("ETH-PERPETUAL", amount=1, price=eth - 5, label="b")


async def test_cancel_all_returns_a_count_by_default(trader: DeribitClient) -> None:
    await rest_orders(trader)
    count = await trader.private.cancel_all()
    assert count == 3
    assert isinstance(count, int)


async def test_detailed_positive_reports(trader: DeribitClient) -> None:
    await rest_orders(trader)
    reports = await trader.private.cancel_all_by_currency("BTC", detailed=True)
    successes = [r for r in reports if isinstance(r, CancelSuccess)]
    assert len(successes) == len(reports)
    assert [(r.currency, r.type, r.instrument_name) for r in successes] == [("BTC", "limit", PERP)]
    assert len(cancelled_orders(reports)) == 2
    assert cancel_failures(reports) == []


async def test_detailed_erroneous_report(sim: DeribitSimulator, trader: DeribitClient) -> None:
    await rest_orders(trader)
    sim.fail_cancel_all("ETH")
    reports = await trader.private.cancel_all_by_kind_or_type("ETH", detailed=True)
    (failure,) = reports
    assert isinstance(failure, CancelFailure)
    assert (failure.currency, failure.error.code) == ("ETH", 10047)
    assert isinstance(failure.exception(), RateLimitError)
    assert failure.exception().retryable


async def test_detailed_mixed_report_is_a_normal_partial_failure(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    await rest_orders(trader)
    sim.fail_cancel_all("ETH")
    reports = await trader.private.cancel_all(detailed=True)
    assert {type(r) for r in reports} == {CancelSuccess, CancelFailure}
    assert [o.label for o in cancelled_orders(reports)] == ["a", "a"]
    assert [f.currency for f in cancel_failures(reports)] == ["ETH"]
    still_open = await trader.private.get_open_orders()
    assert [o.label for o in still_open] == ["b"]


async def test_every_cancel_variant(trader: DeribitClient) -> None:
    await rest_orders(trader)
    assert await trader.private.cancel_by_label("b") == 1
    assert len(cancelled_orders(await trader.private.cancel_by_label("a", detailed=True))) == 2
    await rest_orders(trader)
    assert await trader.private.cancel_all_by_instrument(PERP, type="limit") == 2
    assert await trader.private.cancel_all_by_currency_pair("eth_usd") == 1
    await rest_orders(trader)
    reports = await trader.private.cancel_all_by_instrument(PERP, detailed=True)
    assert len(cancelled_orders(reports)) == 2
    assert await trader.private.cancel_all_by_kind_or_type(["BTC", "ETH"], kind="future") == 1


# -- order safety -----------------------------------------------------------------------


async def test_lost_order_reply_raises_outcome_unknown_and_can_be_reconciled(
    sim: DeribitSimulator, trader: DeribitClient, caplog: pytest.LogCaptureFixture
) -> None:
    price = await below_bid(trader)
    sim.delay("private/buy", 1.0)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await trader.private.buy(PERP, amount=10, price=price, label="maybe", timeout=0.1)
    error = info.value
    assert (error.method, error.label, error.params["amount"]) == ("private/buy", "maybe", 10)
    assert "access_token" not in error.params
    # The request is still in flight when the timeout reports it: reconciling at once would
    # find nothing (and a re-send would duplicate). reconcile() waits for it to settle.
    assert sim.trading.account(SIM_CLIENT_ID).orders == {}
    outcome = await trader.private.reconcile(error, settle=5)
    assert outcome.placed
    assert outcome.order is not None
    assert (outcome.order.label, outcome.order.amount) == ("maybe", 10)
    assert [m for m, _ in sim.calls].count("private/buy") == 1
    # The reply came after all: logged with the order it placed, tied to the error.
    await until(lambda: any(hasattr(r, "late_reply") for r in caplog.records))
    [late] = [r.late_reply for r in caplog.records if hasattr(r, "late_reply")]
    assert late.unknown is error
    assert late.value.order.order_id == outcome.order.order_id


async def test_reconcile_after_a_lost_connection_waits_for_the_reconnect(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # Reported: after a connection loss the reconcile call itself raised ConnectionLost.
    price = await below_bid(trader)
    sim.delay("private/buy", 0.2)
    task = asyncio.create_task(trader.private.buy(PERP, amount=10, price=price, label="cut"))
    await until(lambda: any(m == "private/buy" for m, _ in sim.calls))
    sim.drop_connections()
    with pytest.raises(OrderOutcomeUnknown) as info:
        await task
    outcome = await trader.private.reconcile(info.value, settle=5)
    assert outcome.order is not None
    assert outcome.order.label == "cut"
    assert trader.reconnect_count == 1


@pytest.mark.parametrize("transport", ["websocket", "http"])
async def test_a_reply_lost_with_its_connection_is_reconciled_as_placed(
    sim: DeribitSimulator, transport: TransportMode
) -> None:
    # The simulator's fault for the worst moment of a cut: the order went in, the reply
    # never came (over HTTP the connection ends without a response).
    async with DeribitClient(
        url=sim.url, transport=transport, heartbeat_interval=None, reconnect=INSTANT, **KEY
    ) as trader:
        price = await below_bid(trader)
        sim.lose_replies("private/buy")
        with pytest.raises(OrderOutcomeUnknown, match="connection lost") as info:
            await trader.private.buy(PERP, amount=10, price=price, label="went-in")
        outcome = await trader.private.reconcile(info.value)
        assert outcome.order is not None
        assert outcome.order.label == "went-in"
        await trader.private.buy(PERP, amount=10, price=price, label="answered")  # once only
        orders = sim.trading.account(SIM_CLIENT_ID).orders.values()
        assert sorted(o["label"] for o in orders) == ["answered", "went-in"]
        assert [m for m, _ in sim.calls].count("private/buy") == 2


async def test_clear_faults_forgets_every_fault_no_call_has_met(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # A test that faulted the venue on purpose checks its outcome on a healthy one.
    sim.inject_error("*", 10028, "too_many_requests", times=None)
    sim.delay("*", 60, times=None)
    sim.lose_replies("*", times=None)
    sim.clear_faults()
    async with asyncio.timeout(5):
        assert await trader.public.get_time() > 0  # answered, at once, on the same link
        await trader.private.buy(PERP, amount=10, price=await below_bid(trader), label="ok")
    assert trader.reconnect_count == 0


async def test_reconcile_says_not_placed_only_after_the_settle_window(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    price = await below_bid(trader)
    sim.go_silent()  # the request is never read: the exchange never sees the order
    with pytest.raises(OrderOutcomeUnknown) as info:
        await trader.private.buy(PERP, amount=10, price=price, label="lost", timeout=0.1)
    sim.drop_connections()
    outcome = await trader.private.reconcile(info.value, settle=0.3)
    assert not outcome.placed
    assert time.time() >= info.value.at + 0.3
    # Definitely not placed: sending it again creates exactly one order.
    await trader.private.buy(PERP, amount=10, price=price, label="lost")
    orders = await trader.private.get_order_state_by_label("BTC", label="lost")
    assert len(orders) == 1


async def test_reconcile_says_not_placed_as_soon_as_the_late_reply_says_refused(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # The request timed out, then Deribit's refusal came: nothing was placed, which the
    # settle window need not be waited out to know.
    sim.delay("private/buy", 0.2)
    sim.inject_error("private/buy", 10009, "not_enough_funds")
    with pytest.raises(OrderOutcomeUnknown) as info:
        await trader.private.buy(PERP, amount=10, price=1000, label="refused", timeout=0.05)
    async with asyncio.timeout(10):
        outcome = await trader.private.reconcile(info.value, settle=60)
    assert not outcome.placed
    assert info.value.late_reply is not None
    assert isinstance(info.value.late_reply.error, InsufficientFundsError)


async def test_reconcile_refuses_what_it_cannot_find_again(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    unlabelled = OrderOutcomeUnknown("private/buy", {"instrument_name": PERP}, 1, "timeout")
    with pytest.raises(ClientError, match="label"):
        await trader.private.reconcile(unlabelled)
    price = await below_bid(trader)
    placed = await trader.private.buy(PERP, amount=10, price=price, label="known")
    lost_cancel = OrderOutcomeUnknown(
        "private/cancel", {"order_id": placed.order.order_id}, 2, "timeout"
    )
    outcome = await trader.private.reconcile(lost_cancel)
    assert outcome.order is not None
    assert outcome.order.order_state == "open"  # the cancel never happened
    lost_mass_cancel = OrderOutcomeUnknown("private/cancel_all", {}, 3, "timeout")
    with pytest.raises(ClientError, match="private/cancel_all cannot be reconciled"):
        await trader.private.reconcile(lost_mass_cancel)
    with pytest.raises(ClientError, match="takes an OrderOutcomeUnknown"):
        await trader.private.reconcile(RuntimeError("not an order error"))  # type: ignore[arg-type]


async def test_a_lost_edit_by_label_is_reconciled_to_the_labelled_order(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    price = await below_bid(trader)
    await trader.private.buy(PERP, amount=10, price=price, label="tracked")
    sim.lose_replies("private/edit_by_label")
    with pytest.raises(OrderOutcomeUnknown) as info:
        await trader.private.edit_by_label(PERP, "tracked", amount=20, price=price - 10)
    outcome = await trader.private.reconcile(info.value)
    assert outcome.order is not None  # the edit went through before the reply was lost
    assert (outcome.order.label, outcome.order.price, outcome.order.amount) == (
        "tracked",
        price - 10,
        20,
    )
    gone = OrderOutcomeUnknown(
        "private/edit_by_label", {"instrument_name": PERP, "label": "never-used"}, 9, "timeout"
    )
    assert not (await trader.private.reconcile(gone)).placed


async def test_reconcile_gives_up_when_its_lookups_keep_failing(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # Lookups only read, so a failed one is repeated; one that never succeeds must not
    # keep the caller waiting forever: its error is raised after a few in a row.
    lost = OrderOutcomeUnknown(
        "private/buy", {"instrument_name": PERP, "label": "slow"}, 4, "timeout"
    )
    sim.delay("private/get_open_orders_by_instrument", 1.0, times=None)
    with pytest.raises(RequestTimeout):
        async with asyncio.timeout(10):
            await trader.private.reconcile(lost, settle=0.01, timeout=0.05)
    assert [m for m, _ in sim.calls].count("private/get_open_orders_by_instrument") == 5


async def test_dropped_connection_during_cancel_is_outcome_unknown(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.delay("private/cancel_all", 5.0)
    task = asyncio.create_task(trader.private.cancel_all())
    await until(lambda: any(m == "private/cancel_all" for m, _ in sim.calls))
    sim.drop_connections()
    with pytest.raises(OrderOutcomeUnknown, match="connection lost"):
        await task


async def test_access_token_can_also_travel_in_params(sim: DeribitSimulator) -> None:
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, send_access_token=True, **KEY
    ) as client:
        assert await client.private.get_positions() == []
        assert sim.trading.tokens_in_params == 1
    async with DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as client:
        await client.private.get_positions()
        assert sim.trading.tokens_in_params == 1  # off by default: the connection is authorized


async def test_user_streams_deliver_own_orders_trades_and_changes(
    trader: DeribitClient,
) -> None:
    channels = (
        "user.orders.BTC-PERPETUAL.raw",
        "user.trades.future.BTC.100ms",
        "user.changes.BTC-PERPETUAL.100ms",
        "user.orders.any.any.100ms",
    )
    async with trader.subscribe(*channels) as sub:
        assert sub.policy == "error"  # private streams never drop silently
        await trader.private.buy(PERP, amount=10, type="market")
        seen: dict[str, Any] = {}
        while len(seen) < 4:
            item = await anext(sub)
            seen[item.channel] = item.data  # type: ignore[union-attr]
    assert isinstance(seen["user.orders.BTC-PERPETUAL.raw"], Order)
    assert isinstance(seen["user.orders.any.any.100ms"], list)
    assert seen["user.trades.future.BTC.100ms"][0].amount == 10
    assert seen["user.changes.BTC-PERPETUAL.100ms"].positions[0].size == 10


async def test_simulator_rejects_expired_tokens() -> None:
    import time

    offset = [0.0]
    async with DeribitSimulator(clock=lambda: time.time() + offset[0]) as sim:
        sim.token_ttl = 60
        async with DeribitClient(url=sim.url, transport="http", **KEY) as client:
            assert await client.private.get_positions() == []
            offset[0] = 61.0  # the simulator's clock passes the token's expiry
            with pytest.raises(AuthenticationError) as info:
                await client.private.get_positions()
            assert info.value.code == 13009


async def test_private_subscribe_labels_own_order_notifications(trader: DeribitClient) -> None:
    # Two bots on one key tell their streams apart by the label Deribit attaches.
    sub = await trader.private.subscribe(
        ["user.orders.BTC-PERPETUAL.raw", "ticker.BTC-PERPETUAL.100ms"], label="bot-7"
    )
    async with sub:
        await trader.private.buy(PERP, amount=10, type="market")
        item = await anext(sub)
        while not isinstance(item.data, Order):  # type: ignore[union-attr]
            assert item.label is None  # type: ignore[union-attr]  # public: never labelled
            item = await anext(sub)
        assert item.label == "bot-7"  # type: ignore[union-attr]
        assert await trader.private.unsubscribe(["user.orders.BTC-PERPETUAL.raw"]) == [
            "user.orders.BTC-PERPETUAL.raw"
        ]
        assert sub.channels == ("ticker.BTC-PERPETUAL.100ms",)


async def test_published_private_notifications_carry_each_connections_label(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # One connection labelled the channel, the other did not: each gets its own frame.
    async with (
        DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as plain,
        trader.subscribe("user.lock", label="bot-7") as labelled,
        plain.subscribe("user.lock") as unlabelled,
    ):
        assert await sim.publish("user.lock", {"locked": True, "currency": "ALL"}) == 2
        first, second = await anext(labelled), await anext(unlabelled)
        assert first.label == "bot-7"  # type: ignore[union-attr]
        assert second.label is None  # type: ignore[union-attr]
        assert first.data == second.data  # type: ignore[union-attr]


async def test_subscription_methods_over_http_say_they_need_a_websocket(
    sim: DeribitSimulator,
) -> None:
    async with DeribitClient(url=sim.url, transport="http", **KEY) as client:
        with pytest.raises(UnsupportedOperation, match="WebSocket"):
            await client.public.subscribe(["ticker.BTC-PERPETUAL.100ms"])
        with pytest.raises(UnsupportedOperation, match="private/unsubscribe_all needs a WebSocket"):
            await client.private.unsubscribe_all()
