"""Market maker protection, account locks and trading between simulated users (issue #11):
a taker fills another user's resting order; MMP counts an account's MMP fills, trips, cancels
its MMP orders and says so on ``user.mmp_trigger``; a locked account cannot trade."""

from __future__ import annotations

import time

import pytest

from deribit_client import DeribitClient, DeribitError, RpcError
from deribit_client.models import CancelSuccess, MassQuoteParam
from deribit_client.testing import DeribitSimulator
from tests.helpers import INSTANT, next_notification

PERP = "BTC-PERPETUAL"


async def _inside_spread(client: DeribitClient) -> tuple[float, float]:
    """A price strictly between the best bid and ask, and the best ask."""
    ticker = await client.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    assert ticker.best_ask_price - ticker.best_bid_price >= 1.0
    return ticker.best_bid_price + 0.5, ticker.best_ask_price


async def test_a_taker_fills_another_users_resting_order(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    price, _ = await _inside_spread(trader)
    async with counterparty.subscribe(f"user.trades.{PERP}.raw") as fills:
        resting = await counterparty.private.sell(PERP, amount=30, price=price, label="maker")
        taken = await trader.private.buy(PERP, amount=20, price=price)
        made = await next_notification(fills)
    (trade,) = taken.trades
    assert trade.price == price
    assert trade.liquidity == "T"
    assert [t.trade_id for t in made.data] == [trade.trade_id]  # the maker is told
    state = await counterparty.private.get_order_state(resting.order.order_id)
    assert state.filled_amount == 20
    assert state.order_state == "open"
    positions = {
        p.instrument_name: p.size for p in await counterparty.private.get_positions(currency="BTC")
    }
    assert positions[PERP] == -20
    (maker_trade,) = await counterparty.private.get_user_trades_by_order(resting.order.order_id)
    assert maker_trade.liquidity == "M"
    assert maker_trade.trade_id == trade.trade_id  # one print, two sides


async def _configure(client: DeribitClient, quantity_limit: float) -> None:
    await client.private.set_mmp_config(
        "btc_usd", interval=60, frozen_time=0, max_quote_quantity=0.01,
        quantity_limit=quantity_limit,
    )  # fmt: skip


async def test_mmp_orders_need_a_config_and_respect_the_max_quote_quantity(
    trader: DeribitClient,
) -> None:
    price, _ = await _inside_spread(trader)
    with pytest.raises(RpcError) as unconfigured:
        await trader.private.buy(PERP, amount=10, price=price - 100, mmp=True)
    assert unconfigured.value.code == 13040
    await _configure(trader, quantity_limit=1.0)
    (config,) = await trader.private.get_mmp_config(index_name="btc_usd")
    assert (config.interval, config.max_quote_quantity) == (60, 0.01)
    await trader.private.buy(PERP, amount=300, price=price - 100, mmp=True)  # ~0.0047 BTC
    with pytest.raises(RpcError) as over:  # the side would hold ~0.0094 + 0.0047 BTC
        await trader.private.buy(PERP, amount=600, price=price - 100, mmp=True)
    assert over.value.code == 11030
    await trader.private.sell(PERP, amount=600, price=price + 1000, mmp=True)  # the other side
    with pytest.raises(RpcError) as market:  # raw: the typed wrapper refuses it itself
        await trader.call("private/buy", {"instrument_name": PERP, "amount": 10,
                                          "type": "market", "mmp": True})  # fmt: skip
    assert market.value.code == -32602


async def test_mmp_trips_on_fills_cancels_the_groups_orders_and_freezes(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    price, _ = await _inside_spread(trader)
    await _configure(trader, quantity_limit=0.0003)  # two fills of 10 USD (~0.00015 BTC each)
    first = await trader.private.buy(PERP, amount=10, price=price, mmp=True)
    second = await trader.private.buy(PERP, amount=10, price=price - 0.5, mmp=True)
    far = await trader.private.buy(PERP, amount=10, price=price - 50, mmp=True)
    plain = await trader.private.buy(PERP, amount=10, price=price - 50)
    async with trader.subscribe("user.mmp_trigger.btc_usd") as triggers:
        await counterparty.private.sell(PERP, amount=10, price=price)
        assert await trader.private.get_mmp_status() == []  # one fill is under the limit
        await counterparty.private.sell(PERP, amount=10, price=price - 0.5)
        notice = await next_notification(triggers)
    assert notice.data.index_name == "btc_usd"
    assert notice.data.frozen_until == 0  # frozen_time 0: until reset
    states = {
        o.order_id: (o.order_state, o.cancel_reason)
        for o in await trader.private.get_order_history_by_instrument(PERP, include_unfilled=True)
    }
    assert states[first.order.order_id][0] == "filled"
    assert states[second.order.order_id][0] == "filled"
    assert states[far.order.order_id] == ("cancelled", "mmp_trigger")
    assert (await trader.private.get_order_state(plain.order.order_id)).order_state == "open"
    (status,) = await trader.private.get_mmp_status(index_name="btc_usd")
    assert status.frozen_until == 0
    with pytest.raises(RpcError) as frozen:
        await trader.private.buy(PERP, amount=10, price=price - 50, mmp=True)
    assert frozen.value.code == 13030
    await trader.private.buy(PERP, amount=10, price=price - 60)  # non-MMP orders still trade

    assert await trader.private.reset_mmp("btc_usd") == "ok"
    assert await trader.private.get_mmp_status() == []
    await trader.private.buy(PERP, amount=10, price=price - 50, mmp=True)


async def test_a_frozen_time_ends_by_itself() -> None:
    offset = [0.0]
    async with DeribitSimulator(seed=7, clock=lambda: time.time() + offset[0]) as sim:
        sim.add_api_key("counterparty", "counterparty-secret")
        async with (
            DeribitClient(url=sim.url, heartbeat_interval=None, reconnect=INSTANT,
                          client_id="sim-client-id", client_secret="sim-client-secret") as mm,
            DeribitClient(url=sim.url, heartbeat_interval=None, reconnect=INSTANT,
                          client_id="counterparty", client_secret="counterparty-secret") as taker,
        ):  # fmt: skip
            price, _ = await _inside_spread(mm)
            await mm.private.set_mmp_config(
                "btc_usd", interval=10, frozen_time=5, quantity_limit=0.0001, max_quote_quantity=1
            )
            await mm.private.buy(PERP, amount=10, price=price, mmp=True)
            await taker.private.sell(PERP, amount=10, price=price)
            (status,) = await mm.private.get_mmp_status()
            assert status.frozen_until is not None
            assert status.frozen_until == pytest.approx(sim.now_ms() + 5_000, abs=1_000)
            offset[0] += 6
            assert await mm.private.get_mmp_status() == []
            await mm.private.buy(PERP, amount=10, price=price - 50, mmp=True)


async def test_mmp_config_parameters_are_checked(trader: DeribitClient) -> None:
    base = {"index_name": "btc_usd", "interval": 60, "frozen_time": 0, "max_quote_quantity": 1}
    cases = [
        {k: v for k, v in base.items() if k != "max_quote_quantity"},  # required now
        {**base, "index_name": "all"},  # only for Block RFQ MMP
        {**base, "quantity_limit": 0.00001},  # more than 4 decimals
        {**base, "trade_count_limit": 5},  # only for Block RFQ MMP
    ]
    for params in cases:
        with pytest.raises(RpcError) as refused:
            await trader.call("private/set_mmp_config", params)
        assert refused.value.code == -32602, params
    group = {"interval": 60, "frozen_time": 0, "max_quote_quantity": 1, "mmp_group": "quotes"}
    await trader.call("private/set_mmp_config", {"index_name": "btc_usd", **group})
    with pytest.raises(DeribitError):  # a group belongs to one index
        await trader.call("private/set_mmp_config", {"index_name": "eth_usd", **group})
    # Block RFQ MMP is separate, and "all" is allowed there.
    await trader.private.set_mmp_config("all", 60, 0, block_rfq=True, trade_count_limit=10)
    assert [c.index_name for c in await trader.private.get_mmp_config(block_rfq=True)] == ["all"]
    assert [c.mmp_group for c in await trader.private.get_mmp_config()] == ["quotes"]
    # Interval 0 removes a config.
    await trader.call("private/set_mmp_config", {"index_name": "btc_usd", **group, "interval": 0})
    assert await trader.private.get_mmp_config() == []


async def test_a_locked_account_cannot_trade_withdraw_or_transfer(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    price, _ = await _inside_spread(trader)
    resting = await trader.private.buy(PERP, amount=10, price=price - 100)
    subaccount = await trader.private.create_subaccount()
    async with trader.subscribe("user.lock") as locks:
        await sim.set_user_lock("BTC", message="under review")
        notice = await next_notification(locks)
        assert (notice.data.locked, notice.data.currency) == (True, "BTC")
        by_currency = {lock.currency: lock for lock in await trader.private.get_user_locks()}
        assert by_currency["BTC"].locked is True
        assert by_currency["BTC"].message == "under review"
        assert by_currency["ETH"].locked is False
        for refused_call in (
            trader.private.buy(PERP, amount=10, price=price - 100),
            trader.private.edit(resting.order.order_id, amount=20, price=price - 100),
            trader.private.withdraw("BTC", "bc1-somewhere-else", 0.1),
            trader.private.submit_transfer_to_subaccount("BTC", 0.1, subaccount.id),
            trader.private.verify_block_trade(
                sim.now_ms(),
                "locked",
                "maker",
                [{"instrument_name": PERP, "price": price, "amount": 1_000.0, "direction": "buy"}],
            ),
        ):
            with pytest.raises(RpcError) as refused:
                await refused_call
            assert refused.value.code == 11098
        await trader.private.buy("ETH-PERPETUAL", amount=1, price=1000)  # ETH is not locked
        await trader.private.cancel(resting.order.order_id)  # cancels still work
        await sim.set_user_lock("BTC", locked=False)
        assert (await next_notification(locks)).data.locked is False
    await trader.private.buy(PERP, amount=10, price=price - 100)


def _quote(
    instrument: str, bid: float | None, ask: float | None, amount: float = 10
) -> MassQuoteParam:
    quote: MassQuoteParam = {"instrument_name": instrument, "quote_set_id": "perps"}
    if bid is not None:
        quote["bid"] = {"price": bid, "amount": amount}
    if ask is not None:
        quote["ask"] = {"price": ask, "amount": amount}
    return quote


async def test_mass_quotes_need_cod_and_an_mmp_group(trader: DeribitClient) -> None:
    price, ask = await _inside_spread(trader)
    quotes = [_quote(PERP, price - 10, ask + 10)]
    with pytest.raises(RpcError) as no_cod:
        await trader.private.mass_quote("1", "mm", quotes)
    assert no_cod.value.code == 13042
    await trader.private.enable_cancel_on_disconnect()
    with pytest.raises(RpcError) as no_group:
        await trader.private.mass_quote("1", "mm", quotes)
    assert no_group.value.code == 13040


async def test_mass_quotes_place_replace_and_report_each_side(trader: DeribitClient) -> None:
    price, ask = await _inside_spread(trader)
    await trader.private.enable_cancel_on_disconnect()
    await trader.private.set_mmp_config("btc_usd", 60, 0, mmp_group="mm", max_quote_quantity=1)
    futures = await trader.public.get_instruments("BTC", kind="future")
    dated = next(i.instrument_name for i in futures if i.instrument_name != PERP)
    placed = await trader.private.mass_quote(
        "1",
        "mm",
        [
            _quote(PERP, price - 10, ask + 10),
            _quote("ETH-PERPETUAL", 1000, None),  # another index than the group's
            _quote(dated, price - 10.25, None),  # off the tick
        ],
        detailed=True,
    )
    assert placed.errors_count is None  # counted only without detailed
    assert placed.errors is not None
    assert {(e.instrument_name, e.side, (e.error or {}).get("code")) for e in placed.errors} == {
        ("ETH-PERPETUAL", "bid", 11029),
        (dated, "bid", 10043),
    }
    assert placed.orders is not None
    bid, offer = placed.orders
    assert (bid.direction, bid.price, offer.direction) == ("buy", price - 10, "sell")
    assert (bid.quote, bid.mmp, bid.mmp_group, bid.quote_set_id) == (True, True, "mm", "perps")

    again = await trader.private.mass_quote(
        "2", "mm", [_quote(PERP, price - 5, None)], detailed=True
    )
    assert again.orders is not None
    (moved,) = again.orders
    assert (moved.order_id, moved.price, moved.replaced) == (bid.order_id, price - 5, True)
    bids = [o for o in await trader.private.get_open_orders() if o.direction == "buy"]
    assert [o.order_id for o in bids] == [bid.order_id]  # one quote per side and group


async def test_a_filled_quote_trips_the_groups_mmp(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    price, ask = await _inside_spread(trader)
    await trader.private.enable_cancel_on_disconnect()
    await trader.private.set_mmp_config(
        "btc_usd", 60, 0, mmp_group="mm", quantity_limit=0.0001, max_quote_quantity=1
    )
    await trader.private.mass_quote("1", "mm", [_quote(PERP, price, ask + 10)])
    await counterparty.private.sell(PERP, amount=10, price=price)  # fills the bid
    assert await trader.private.get_open_orders() == []  # the ask went with the trip
    (status,) = await trader.private.get_mmp_status(index_name="btc_usd", mmp_group="mm")
    assert status.mmp_group == "mm"
    with pytest.raises(RpcError) as frozen:
        await trader.private.mass_quote("2", "mm", [_quote(PERP, price - 10, None)])
    assert frozen.value.code == 13030


async def test_cancel_quotes_selects_quotes_only_and_can_freeze_them(trader: DeribitClient) -> None:
    price, ask = await _inside_spread(trader)
    await trader.private.enable_cancel_on_disconnect()
    await trader.private.set_mmp_config("btc_usd", 60, 0, mmp_group="mm", max_quote_quantity=1)
    plain = await trader.private.buy(PERP, amount=10, price=price - 100)
    await trader.private.mass_quote("1", "mm", [_quote(PERP, price - 10, ask + 10)])
    with pytest.raises(RpcError) as missing:
        await trader.private.cancel_quotes("currency")
    assert missing.value.code == -32602
    assert await trader.private.cancel_quotes("quote_set_id", quote_set_id="other") == 0
    assert await trader.private.cancel_quotes("currency", currency="BTC") == 2
    assert [o.order_id for o in await trader.private.get_open_orders()] == [plain.order.order_id]
    await trader.private.mass_quote("2", "mm", [_quote(PERP, price - 10, None)])
    (report,) = await trader.private.cancel_quotes("all", detailed=True, freeze_quotes=True)
    assert isinstance(report, CancelSuccess)  # the cancelled quote, typed as an order
    assert [o.direction for o in report.result] == ["buy"]
    with pytest.raises(RpcError) as frozen:
        await trader.private.mass_quote("3", "mm", [_quote(PERP, price - 10, None)])
    assert frozen.value.code == 13043


async def test_a_tripped_protection_fills_nothing_more_in_the_same_sweep(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    price, _ = await _inside_spread(trader)
    await _configure(trader, quantity_limit=0.0001)  # the first fill trips it
    first = await trader.private.buy(PERP, amount=10, price=price, mmp=True)
    second = await trader.private.buy(PERP, amount=10, price=price - 0.5, mmp=True)
    swept = await counterparty.private.sell(PERP, amount=20, price=price - 0.5)
    assert [t.price for t in swept.trades] == [price, price - 0.5]  # the second from the book
    assert (await trader.private.get_order_state(first.order.order_id)).order_state == "filled"
    late = await trader.private.get_order_state(second.order.order_id)
    assert (late.order_state, late.filled_amount, late.cancel_reason) == (
        "cancelled",
        0,
        "mmp_trigger",
    )
    book = await trader.public.get_order_book(PERP)
    assert book.bids is not None
    assert all(level[1] > 0 for level in book.bids)  # the cancel left no negative level
