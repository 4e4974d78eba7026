"""The simulated market's own activity reaches the users' resting orders (issue #11): its
trades fill them once the liquidity queued ahead of them has traded, its level changes
never take them away, and a large trade moves the price."""

from __future__ import annotations

import asyncio

import pytest

from deribit_client import DeribitClient, Notification
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"


async def _best_bid(client: DeribitClient) -> tuple[float, float]:
    """The best bid's price and amount."""
    book = await client.public.get_order_book(PERP, depth=1)
    price, amount = book.bids[0]
    return float(price), float(amount)


async def test_the_markets_trades_fill_a_resting_order_once_the_liquidity_ahead_has_traded(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    price, ahead = await _best_bid(trader)
    async with trader.subscribe(f"user.trades.{PERP}.raw") as fills:
        resting = await trader.private.buy(PERP, amount=100, price=price)
        assert resting.order.order_state == "open"
        prints = await sim.market_trade(PERP, "sell", ahead - 10)
        assert sum(p["amount"] for p in prints) == ahead - 10
        waiting = await trader.private.get_order_state(resting.order.order_id)
        assert waiting.filled_amount == 0  # the market's liquidity ahead traded first

        await sim.market_trade(PERP, "sell", 60)
        made = await asyncio.wait_for(anext(fills), 5)
    assert isinstance(made, Notification)
    (trade,) = made.data
    assert (trade.order_id, trade.liquidity, trade.amount, trade.price) == (
        resting.order.order_id,
        "M",
        50,
        price,
    )
    state = await trader.private.get_order_state(resting.order.order_id)
    assert (state.order_state, state.filled_amount) == ("open", 50)
    (position,) = await trader.private.get_positions(currency="BTC")
    assert position.size == 50
    _, left = await _best_bid(trader)
    assert left == 50  # the market's own liquidity traded away; the order's rest stays


async def test_an_order_that_improves_the_best_price_is_first_in_line(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    price, _ = await _best_bid(trader)
    better = price + 0.5
    resting = await trader.private.buy(PERP, amount=40, price=better)
    (print_,) = await sim.market_trade(PERP, "sell", 30)
    assert (print_["price"], print_["amount"], print_["direction"]) == (better, 30, "sell")
    state = await trader.private.get_order_state(resting.order.order_id)
    assert state.filled_amount == 30
    (trade,) = await trader.private.get_user_trades_by_order(resting.order.order_id)
    assert trade.trade_id == print_["trade_id"]  # the user's fill is the public print


async def test_the_markets_level_changes_never_take_a_resting_order_away(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    price, _ = await _best_bid(trader)
    resting = await trader.private.buy(PERP, amount=5_000, price=price)
    for _ in range(60):  # the market changes its top levels, this one among them
        await sim.publish_book_change(PERP)
        _, amount = await _best_bid(trader)
        assert amount >= 5_000
    _, amount = await _best_bid(trader)
    await sim.market_trade(PERP, "sell", amount)  # everything at the price trades
    state = await trader.private.get_order_state(resting.order.order_id)
    assert (state.order_state, state.filled_amount) == ("filled", 5_000)


async def test_a_smaller_order_keeps_its_place_and_a_new_price_loses_it(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    price, ahead = await _best_bid(trader)
    first = await trader.private.buy(PERP, amount=100, price=price)
    await trader.private.edit(first.order.order_id, amount=80)  # keeps its place
    await sim.market_trade(PERP, "sell", ahead + 10)
    assert (await trader.private.get_order_state(first.order.order_id)).filled_amount == 10

    moved = await trader.private.buy(PERP, amount=100, price=price - 0.5)
    second_level = (await trader.public.get_order_book(PERP, depth=5)).bids[1]
    await trader.private.edit(moved.order.order_id, amount=100, price=price)  # to the back
    await sim.market_trade(PERP, "sell", 70, price=price)  # the first order's rest
    state = await trader.private.get_order_state(moved.order.order_id)
    assert state.filled_amount == 0
    assert float(second_level[0]) == price - 0.5


async def test_a_large_trade_moves_the_best_price_and_fires_stops(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    book = await trader.public.get_order_book(PERP, depth=5)
    trigger = float(book.bids[2][0])
    stop = await trader.private.sell(PERP, amount=100, type="stop_market", trigger_price=trigger)
    swept = sum(float(level[1]) for level in book.bids[:3])
    prints = await sim.market_trade(PERP, "sell", swept)
    assert [p["price"] for p in prints][-1] == trigger
    after = await trader.public.get_order_book(PERP, depth=1)
    assert float(after.bids[0][0]) < trigger
    fired = await trader.private.get_order_state(stop.order.order_id)
    assert (fired.triggered, fired.order_state) == (True, "filled")


async def test_the_streaming_market_fills_an_order_at_the_best_price(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    price, _ = await _best_bid(trader)
    async with (
        trader.subscribe(f"user.trades.{PERP}.raw") as fills,
        trader.subscribe(f"ticker.{PERP}.100ms"),  # the market moves where it is watched
    ):
        resting = await trader.private.buy(PERP, amount=10, price=price + 0.5)
        sim.start_streams(0.005)
        made = await asyncio.wait_for(anext(fills), 10)
        sim.stop_streams()
    assert isinstance(made, Notification)
    assert {t.order_id for t in made.data} == {resting.order.order_id}
    assert all(t.liquidity == "M" for t in made.data)


@pytest.mark.parametrize(
    ("instrument", "direction", "amount", "problem"),
    [
        ("BTC-NOPE", "sell", 10, "no instrument 'BTC-NOPE'"),
        (PERP, "short", 10, "direction must be 'buy' or 'sell'"),
        (PERP, "sell", 0, "positive amount"),
    ],
)
async def test_a_market_trade_names_what_is_wrong_with_it(
    sim: DeribitSimulator, instrument: str, direction: str, amount: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        await sim.market_trade(instrument, direction, amount)
