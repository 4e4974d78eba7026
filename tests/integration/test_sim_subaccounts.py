"""Subaccounts are accounts of their own in the simulator (issue #11): a token exchanged
for one acts for it, keys it creates log in to it, it trades with its own funds, and the
main account sees its positions and orders and decides which products it may trade."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deribit_client import (
    AuthenticationError,
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    DeribitClient,
    OrderOutcomeUnknown,
    RpcError,
)
from deribit_client.testing import DeribitSimulator
from tests.helpers import INSTANT, KEY, login, until

PERP = "BTC-PERPETUAL"


@pytest.fixture
async def desk(sim: DeribitSimulator, trader: DeribitClient) -> AsyncIterator[DeribitClient]:
    """A client logged in to a new subaccount of ``trader`` holding 1 BTC, with a key the
    subaccount made for itself after a token exchange (as on Deribit)."""
    sub = await trader.private.create_subaccount()
    await trader.private.submit_transfer_to_subaccount("BTC", 1.0, sub.id)
    async with DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as main:
        refresh = main.auth.refresh_params()
        assert refresh is not None
        exchanged = await main.public.exchange_token(refresh["refresh_token"], sub.id)
        assert "mainaccount" not in exchanged.scope  # this connection now acts for the sub
        key = await main.private.create_api_key("trade:read_write wallet:read account:read")
    async with login(sim, key) as client:
        yield client


async def test_a_subaccount_trades_with_its_own_funds(
    trader: DeribitClient, desk: DeribitClient
) -> None:
    summary = await desk.private.get_account_summary("BTC", extended=True)
    (sub,) = [s for s in await trader.private.get_subaccounts() if s.type == "subaccount"]
    assert (summary.id, summary.type, summary.balance) == (sub.id, "subaccount", 1.0)
    main_before = (await trader.private.get_account_summary("BTC")).balance

    bought = await desk.private.buy(PERP, amount=100, type="market")
    resting = await desk.private.buy(PERP, amount=10, price=1_000.0, label="far")
    (position,) = await desk.private.get_positions(currency="BTC")
    assert position.size == 100
    assert await trader.private.get_positions(currency="BTC") == []
    (trade,) = bought.trades
    assert trade.fee is not None
    assert (await desk.private.get_account_summary("BTC")).balance == 1.0 - trade.fee
    assert (await trader.private.get_account_summary("BTC")).balance == main_before

    (details,) = await trader.private.get_subaccounts_details("BTC", with_open_orders=True)
    assert [p.size for p in details.positions or []] == [100]
    assert [o.order_id for o in details.open_orders or []] == [resting.order.order_id]
    held = await trader.private.get_positions(currency="BTC", subaccount_id=sub.id)
    assert [p.size for p in held] == [100]
    log = await desk.private.get_transaction_log("BTC", 0, 2**62)
    assert [e.type for e in log.logs] == ["trade", "transfer"]  # newest first
    with pytest.raises(RpcError) as refused:  # only the main account removes it
        await trader.private.remove_subaccount(sub.id)
    assert refused.value.code == 11029  # not empty


async def test_the_main_account_disables_products_for_a_subaccount(
    trader: DeribitClient, desk: DeribitClient
) -> None:
    sub = (await desk.private.get_account_summary("BTC", extended=True)).id
    assert sub is not None
    await trader.private.set_disabled_trading_products(sub, ["perpetual", "options"])
    with pytest.raises(RpcError) as refused:
        await desk.private.buy(PERP, amount=10, type="market")
    assert refused.value.code == 13021
    dated = next(
        i.instrument_name
        for i in await desk.public.get_instruments("BTC", kind="future")
        if i.settlement_period != "perpetual"
    )
    placed = await desk.private.buy(dated, amount=10, type="market")
    assert placed.order.order_state == "filled"  # futures stay enabled
    await trader.private.set_disabled_trading_products(sub, [])
    assert (await desk.private.buy(PERP, amount=10, type="market")).order.filled_amount == 10


async def test_a_subaccount_has_no_subaccounts_and_tokens_stay_within_the_family(
    sim: DeribitSimulator, trader: DeribitClient, desk: DeribitClient
) -> None:
    with pytest.raises(RpcError) as refused:
        await desk.private.create_subaccount()
    assert refused.value.code == 13021
    async with DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as main:
        refresh = main.auth.refresh_params()
        assert refresh is not None
        me = (await main.private.get_account_summary("BTC", extended=True)).id
        assert me is not None
        scoped = await main.public.exchange_token(refresh["refresh_token"], me, scope="session:x")
        assert "mainaccount" not in scoped.scope  # an explicit scope drops it (REFERENCE 2.3)
    sim.add_api_key("stranger", "stranger-secret")
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, client_id="stranger", client_secret="stranger-secret"
    ) as stranger:
        refresh = stranger.auth.refresh_params()
        assert refresh is not None
        sub = (await desk.private.get_account_summary("BTC", extended=True)).id
        assert sub is not None
        with pytest.raises(AuthenticationError):
            await stranger.public.exchange_token(refresh["refresh_token"], sub)


async def test_an_account_holds_at_most_20_subaccounts(trader: DeribitClient) -> None:
    held = len(await trader.private.get_subaccounts()) - 1  # the list includes the main one
    for _ in range(20 - held):
        await trader.private.create_subaccount()
    with pytest.raises(RpcError) as refused:
        await trader.private.create_subaccount()
    assert refused.value.code == 12001  # too_many_subaccounts (REFERENCE 3)


async def test_a_subaccount_whose_creation_reply_is_lost_says_where_to_look(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.lose_replies("private/create_subaccount")
    with pytest.raises(OrderOutcomeUnknown, match="private/get_subaccounts") as info:
        await trader.private.create_subaccount()
    assert isinstance(info.value.__cause__, ConnectionLost)
    await trader.wait_ready()
    assert len(await trader.private.get_subaccounts()) == 2  # it was made: no re-send


@pytest.mark.parametrize("extended", [False, True])
async def test_self_trading_prevention_reaches_subaccounts_when_extended(
    trader: DeribitClient, desk: DeribitClient, extended: bool
) -> None:
    # the main account extends prevention to its subaccounts; the subaccount's own mode
    # (cancel_maker, the default) decides what happens to the order it reaches
    await trader.private.set_self_trading_config("reject_taker", extended)
    bid = (await trader.public.ticker(PERP)).best_bid_price
    assert bid is not None
    resting = await trader.private.buy(PERP, amount=10, price=bid + 0.5)  # the new best bid
    sold = await desk.private.sell(PERP, amount=10, type="market")
    assert sold.order.filled_amount == 10
    state = await trader.private.get_order_state(resting.order.order_id)
    if extended:  # the main account's order is the subaccount's own: cancelled, not hit
        assert (state.order_state, state.filled_amount) == ("cancelled", 0)
        assert [t.price for t in sold.trades] == [bid]
    else:  # separate accounts trade with each other
        assert state.order_state == "filled"
        assert [t.price for t in sold.trades] == [bid + 0.5]
    positions = await trader.private.get_positions(currency="BTC")
    assert [p.size for p in positions] == ([] if extended else [10])


async def test_a_client_acts_for_a_subaccount_across_reconnects(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sub = await trader.private.create_subaccount()
    await trader.private.submit_transfer_to_subaccount("BTC", 1.0, sub.id)
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, reconnect=INSTANT, subaccount_id=sub.id, **KEY
    ) as desk:
        assert f"subject_id={sub.id}" in repr(desk.auth)
        assert f"subaccount_id={sub.id}" in repr(desk)
        summary = await desk.private.get_account_summary("BTC", extended=True)
        assert (summary.id, summary.balance) == (sub.id, 1.0)
        await desk.private.buy(PERP, amount=10, type="market")
        sim.drop_connections()
        await until(lambda: desk.reconnect_count == 1 and desk.state == "ready")
        # Logged in again as the key's account, then exchanged for the subaccount again.
        await desk.private.buy(PERP, amount=10, type="market")
        (position,) = await desk.private.get_positions(currency="BTC")
        assert position.size == 20
        assert desk.auth.logins == 2
    assert await trader.private.get_positions(currency="BTC") == []
    held = await trader.private.get_positions(currency="BTC", subaccount_id=sub.id)
    assert [p.size for p in held] == [20]


async def test_a_subaccounts_token_refreshes_as_the_subaccount(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sub = await trader.private.create_subaccount()
    sim.token_ttl = 1  # refresh due at 0.8 s
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, subaccount_id=sub.id, **KEY
    ) as desk:
        await until(lambda: desk.auth.refreshes >= 1, limit=5)
        assert (await desk.private.get_account_summary("BTC", extended=True)).id == sub.id


async def test_a_subaccount_over_http_uses_its_bearer_token(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sub = await trader.private.create_subaccount()
    async with DeribitClient(url=sim.url, transport="http", subaccount_id=sub.id, **KEY) as desk:
        assert (await desk.private.get_account_summary("BTC", extended=True)).id == sub.id


async def test_acting_for_a_subaccount_refuses_what_cannot_work(
    sim: DeribitSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DERIBIT_CLIENT_ID", raising=False)
    monkeypatch.delenv("DERIBIT_CLIENT_SECRET", raising=False)
    with pytest.raises(ClientError, match="http_auth='bearer'"):
        DeribitClient(url=sim.url, subaccount_id=5, http_auth="signature", **KEY)
    with pytest.raises(ClientError, match="user id"):
        DeribitClient(url=sim.url, subaccount_id="5", **KEY)  # type: ignore[arg-type]
    with pytest.raises(CredentialsRequired, match="subaccount_id"):
        DeribitClient(url=sim.url, subaccount_id=5, client_id=None, client_secret=None)
    stranger = DeribitClient(url=sim.url, heartbeat_interval=None, subaccount_id=999_999, **KEY)
    with pytest.raises(AuthenticationError):  # not a subaccount of this key's account
        async with stranger:
            pass
    assert stranger.reconnect_count == 0  # no retry can fix it
