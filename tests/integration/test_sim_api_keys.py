"""The simulator's API keys: a key an account creates logs in to that account, within its
``max_scope``; disabling, resetting and removing keys take effect at once."""

from __future__ import annotations

import pytest

from deribit_client import (
    AuthenticationError,
    ClientError,
    ConnectionLost,
    DeribitClient,
    OrderOutcomeUnknown,
    PermissionDeniedError,
    RpcError,
)
from deribit_client.testing import DeribitSimulator
from tests.helpers import login


async def test_a_created_key_opens_the_same_account(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    key = await trader.private.create_api_key(
        max_scope="trade:read_write account:read", name="bot_1"
    )
    assert key.max_scope == (
        "account:read trade:read_write wallet:none block_trade:none block_rfq:none"
    )
    listed = await trader.private.list_api_keys()
    assert [k.name for k in listed] == ["", "bot_1"]
    assert [k.default for k in listed] == [True, False]

    async with login(sim, key) as bot:
        order = await bot.private.buy("BTC-PERPETUAL", amount=10, price=1000, label="from-bot")
        assert bot.auth.granted_scope is not None
        assert "wallet" not in bot.auth.granted_scope
    # The bot's order is the account's order: the first key sees it.
    seen = await trader.private.get_order_state(order.order.order_id)
    assert seen.label == "from-bot"


async def test_a_read_only_key_may_read_but_not_trade(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    key = await trader.private.create_api_key(max_scope="trade:read account:read")
    async with login(sim, key) as viewer:
        assert await viewer.private.get_open_orders() == []
        with pytest.raises(PermissionDeniedError) as refused:
            await viewer.private.buy("BTC-PERPETUAL", amount=10, price=1000)
        assert refused.value.code == 13021
        # Key management needs account:read_write and says so with its own code.
        with pytest.raises(PermissionDeniedError) as exceeded:
            await viewer.private.list_api_keys()
        assert exceeded.value.code == 13403


async def test_a_token_never_gets_more_than_the_key_allows(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    key = await trader.private.create_api_key(max_scope="trade:read")
    async with login(sim, key, scope="trade:read_write wallet:read_write") as client:
        assert client.auth.granted_scope is not None
        granted = client.auth.granted_scope.split()
        assert "trade:read" in granted
        assert not any(s.startswith("wallet:") or s == "trade:read_write" for s in granted)


async def test_disabling_resetting_and_removing_keys_end_their_logins(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    key = await trader.private.create_api_key(max_scope="trade:read_write")
    async with login(sim, key, reconnect=False) as bot:
        await bot.private.get_open_orders()
        await trader.private.disable_api_key(key.id)
        with pytest.raises(RpcError) as ended:
            await bot.private.get_open_orders()
        assert ended.value.code == 13009
    with pytest.raises(AuthenticationError):
        async with login(sim, key, reconnect=False):
            pass

    enabled = await trader.private.enable_api_key(key.id)
    assert enabled.enabled is True
    fresh = await trader.private.reset_api_key(key.id)
    assert fresh.client_secret != key.client_secret
    with pytest.raises(AuthenticationError):  # the old secret
        async with login(sim, key, reconnect=False):
            pass
    async with login(sim, fresh) as bot:
        await bot.private.get_open_orders()

    assert await trader.private.remove_api_key(key.id) == "ok"
    assert [k.id for k in await trader.private.list_api_keys()] != []
    assert key.id not in [k.id for k in await trader.private.list_api_keys()]
    with pytest.raises(AuthenticationError):
        async with login(sim, fresh, reconnect=False):
            pass


async def test_editing_a_key_checks_what_it_is_given(trader: DeribitClient) -> None:
    key = await trader.private.create_api_key(max_scope="trade:read")
    edited = await trader.private.edit_api_key(
        key.id, "trade:read_write wallet:read", name="renamed", ip_whitelist=["127.0.0.1"]
    )
    assert edited.name == "renamed"
    assert edited.max_scope is not None
    assert "wallet:read " in edited.max_scope
    assert (await trader.private.change_api_key_name(key.id, "again")).name == "again"
    changed = await trader.private.change_scope_in_api_key("account:read", key.id)
    assert changed.max_scope is not None
    assert changed.max_scope.startswith("account:read trade:none")

    for bad in (
        {"max_scope": "trade:everything"},
        {"max_scope": "trade:read", "name": "no-dashes"},
    ):
        with pytest.raises(RpcError) as refused:
            await trader.private.create_api_key(**bad)  # type: ignore[arg-type]
        assert refused.value.code == -32602
        assert refused.value.data is not None
    with pytest.raises(RpcError) as unknown:
        await trader.private.remove_api_key(999)
    assert unknown.value.code == 13020


async def test_an_account_has_at_most_eight_keys(trader: DeribitClient) -> None:
    for _ in range(7):  # the account's own key is the first
        await trader.private.create_api_key(max_scope="trade:read")
    with pytest.raises(RpcError) as refused:
        await trader.private.create_api_key(max_scope="trade:read")
    assert "8 API keys" in str(refused.value.data)


async def test_another_accounts_key_cannot_be_touched(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.add_api_key("someone-else", "their-secret")
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, client_id="someone-else", client_secret="their-secret"
    ) as other:
        theirs = await other.private.list_api_keys()
        assert len(theirs) == 1
        with pytest.raises(RpcError) as refused:
            await trader.private.disable_api_key(theirs[0].id)
        assert refused.value.code == 13020


async def test_block_rfq_mmp_settings_need_the_block_rfq_scope(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    trade_only = await trader.private.create_api_key(max_scope="trade:read_write")
    rfq_only = await trader.private.create_api_key(max_scope="block_rfq:read_write")
    async with login(sim, trade_only) as trader_key, login(sim, rfq_only) as rfq_key:
        with pytest.raises(PermissionDeniedError) as refused:
            await trader_key.private.get_mmp_config(block_rfq=True)
        assert refused.value.code == 13021
        assert await rfq_key.private.get_mmp_config(block_rfq=True) == []
        with pytest.raises(PermissionDeniedError):
            await rfq_key.private.get_mmp_config()  # the order book's MMP needs trade


async def test_a_key_whose_creation_reply_is_lost_is_never_a_plain_connection_error(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # The key may exist (with a secret nobody saw): a bot retrying on ConnectionLost would
    # make a second one each time.
    sim.lose_replies("private/create_api_key")
    with pytest.raises(OrderOutcomeUnknown, match="private/list_api_keys") as info:
        await trader.private.create_api_key(max_scope="trade:read", name="bot_2")
    assert isinstance(info.value.__cause__, ConnectionLost)
    assert info.value.params == {"max_scope": "trade:read", "name": "bot_2"}
    with pytest.raises(ClientError, match="would create a second"):
        await trader.private.reconcile(info.value)
    await trader.wait_ready()
    assert [k.name for k in await trader.private.list_api_keys()] == ["", "bot_2"]
