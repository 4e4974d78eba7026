"""Iceberg orders in the simulator (``display_amount``): the book shows only the display,
which, once a fill uses it up, shows ``refresh_amount`` again at the back of its level's
queue; the display is at least 100 times the minimum amount and the hidden part less than
100 times the display (``10036``)."""

from __future__ import annotations

import pytest

from deribit_client import DeribitClient, RpcError
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"


async def _level(client: DeribitClient, price: float) -> float:
    book = await client.public.get_order_book(PERP, depth=100)
    return sum(amount for level, amount in book.bids or () if level == price)


async def _inside(client: DeribitClient) -> float:
    ticker = await client.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    assert ticker.best_ask_price - ticker.best_bid_price >= 1  # room for a level of our own
    return ticker.best_bid_price + 0.5


@pytest.mark.parametrize("taker", ["market", "user"])
async def test_an_iceberg_shows_its_display_and_refreshes_it_as_it_fills(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient, taker: str
) -> None:
    price = await _inside(trader)
    placed = await trader.private.buy(PERP, amount=20_000, price=price, display_amount=1_000)
    order = placed.order
    assert (order.display_amount, order.refresh_amount) == (1_000, 1_000)
    assert await _level(trader, price) == 1_000  # the rest is hidden
    if taker == "market":  # through a refresh, at the same price
        await sim.market_trade(PERP, "sell", 1_500, price=price)
    else:
        sold = await counterparty.private.sell(PERP, amount=1_500, price=price)
        assert [t.price for t in sold.trades] == [price, price]
    state = await trader.private.get_order_state(order.order_id)
    assert (state.filled_amount, state.display_amount) == (1_500, 500)
    assert await _level(trader, price) == 500
    await trader.private.cancel(order.order_id)
    assert await _level(trader, price) == 0


async def test_a_refreshed_display_queues_behind_the_orders_at_its_price(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    price = await _inside(trader)
    iceberg = await trader.private.buy(PERP, amount=20_000, price=price, display_amount=1_000)
    behind = await counterparty.private.buy(PERP, amount=10, price=price)
    await sim.market_trade(PERP, "sell", 1_010, price=price)
    assert (await trader.private.get_order_state(iceberg.order.order_id)).filled_amount == 1_000
    state = await counterparty.private.get_order_state(behind.order.order_id)
    assert state.order_state == "filled"  # ahead of the refreshed display


@pytest.mark.parametrize(("amount", "display"), [(20_000, 500), (200_000, 1_000)])
async def test_a_display_too_small_for_the_order_is_refused(
    trader: DeribitClient, amount: float, display: float
) -> None:
    price = await _inside(trader)
    with pytest.raises(RpcError) as refused:
        await trader.private.buy(PERP, amount=amount, price=price, display_amount=display)
    assert refused.value.code == 10036
    edit_me = await trader.private.buy(PERP, amount=amount, price=price - 100)
    with pytest.raises(RpcError) as edited:
        await trader.private.edit(edit_me.order.order_id, amount=amount, display_amount=display)
    assert edited.value.code == 10036
    assert await _level(trader, price - 100) >= amount  # unchanged, shown whole


async def test_an_option_takes_no_iceberg(trader: DeribitClient) -> None:
    option = (await trader.public.get_instruments("BTC", kind="option"))[0].instrument_name
    ticker = await trader.public.ticker(option)
    price = ticker.min_price or 0.0005  # rests without trading
    with pytest.raises(RpcError) as refused:
        await trader.private.buy(option, amount=200, price=price, display_amount=100)
    assert refused.value.code == 11048
    whole = await trader.private.buy(option, amount=200, price=price, display_amount=200)
    assert whole.order.order_state == "open"  # a display of the whole order is no iceberg
    with pytest.raises(RpcError) as edited:
        await trader.private.edit(whole.order.order_id, amount=200, display_amount=100)
    assert edited.value.code == 11048
