"""Reduce-only orders in the simulator follow Deribit's "Introduction to reduce-only": one
never exceeds the open contracts, several never exceed them together (the one that would
execute first keeps its quantity, those behind shrink), a position reduced by other
means shrinks them and a grown one does not raise them."""

from __future__ import annotations

from deribit_client import DeribitClient, LocalOrderBook, channels
from deribit_client.testing import DeribitSimulator
from tests.helpers import next_notification, until

PERP = "BTC-PERPETUAL"


async def _long(trader: DeribitClient, amount: float) -> float:
    """Buy ``amount`` at the market; returns the best bid after it."""
    await trader.private.buy(PERP, amount=amount, type="market")
    ticker = await trader.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    return ticker.best_bid_price


async def _size(trader: DeribitClient) -> float:
    return (await trader.private.get_position(PERP)).size or 0.0


async def test_a_reduce_only_order_with_nothing_to_reduce_ends_at_once(
    trader: DeribitClient,
) -> None:
    ticker = await trader.public.ticker(PERP)
    assert ticker.best_ask_price is not None
    placed = await trader.private.buy(
        PERP, amount=10, price=ticker.best_ask_price, reduce_only=True
    )
    assert (placed.order.order_state, placed.trades) == ("cancelled", [])
    assert await trader.private.get_open_orders() == []
    assert await _size(trader) == 0


async def test_a_reduce_only_order_never_turns_the_position(trader: DeribitClient) -> None:
    await trader.private.sell(PERP, amount=10, type="market")
    closed = await trader.private.buy(PERP, amount=30, type="market", reduce_only=True)
    assert (closed.order.order_state, closed.order.amount) == ("filled", 10)
    assert sum(t.amount or 0 for t in closed.trades) == 10
    assert await _size(trader) == 0


async def test_reduce_only_orders_together_never_exceed_the_position(
    trader: DeribitClient,
) -> None:
    bid = await _long(trader, 100)
    far = await trader.private.sell(PERP, amount=80, price=bid + 40, reduce_only=True)
    near = await trader.private.sell(PERP, amount=50, price=bid + 20, reduce_only=True)
    assert near.order.amount == 50  # would execute first: keeps its quantity
    assert (await trader.private.get_order_state(far.order.order_id)).amount == 50
    nearer = await trader.private.sell(PERP, amount=50, price=bid + 10, reduce_only=True)
    assert nearer.order.amount == 50
    state = await trader.private.get_order_state(far.order.order_id)
    assert state.order_state == "cancelled"  # nothing left behind the two in front
    capped = await trader.private.sell(PERP, amount=500, price=bid + 5, reduce_only=True)
    assert capped.order.amount == 100
    assert [o.order_id for o in await trader.private.get_open_orders()] == [capped.order.order_id]


async def test_a_position_reduced_otherwise_shrinks_them_and_a_grown_one_does_not_raise_them(
    trader: DeribitClient,
) -> None:
    bid = await _long(trader, 100)
    book = LocalOrderBook(PERP)
    async with (
        trader.subscribe(channels.book(PERP, "raw"), callback=book.apply),
        trader.subscribe(f"user.orders.{PERP}.raw") as orders,
    ):
        exit_order = await trader.private.sell(PERP, amount=100, price=bid + 50, reduce_only=True)
        await anext(orders)  # its placement
        await trader.private.sell(PERP, amount=40, type="market")
        told = [(await next_notification(orders)).data for _ in range(2)]
        # The book's subscribers see the level shrink (a notice on the book channel).
        await until(lambda: [lv.amount for lv in book.asks() if lv.price == bid + 50] == [60])
    shrunk = next(o for o in told if o.order_id == exit_order.order.order_id)
    assert (shrunk.order_state, shrunk.amount) == ("open", 60)
    await trader.private.buy(PERP, amount=100, type="market")
    state = await trader.private.get_order_state(exit_order.order.order_id)
    assert (state.order_state, state.amount) == ("open", 60)
    snapshot = await trader.public.get_order_book(PERP, depth=100)
    assert [amount for price, amount in snapshot.asks or () if price == bid + 50] == [60]


async def test_a_stop_loss_left_after_the_take_profit_filled_closes_nothing(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    bid = await _long(trader, 100)
    take_profit = await trader.private.sell(PERP, amount=100, price=bid + 2, reduce_only=True)
    index = await trader.public.get_index_price("btc_usd")
    below = round(index.index_price) - 100.0  # on the tick
    stop = await trader.private.sell(
        PERP,
        amount=100,
        type="stop_market",
        trigger="index_price",
        trigger_price=below,
        reduce_only=True,
    )
    book = await trader.public.get_order_book(PERP, depth=100)
    through = sum(amount for price, amount in book.asks or () if price <= bid + 2)
    await sim.market_trade(PERP, "buy", through, price=bid + 2)  # takes the take-profit
    filled = await trader.private.get_order_state(take_profit.order.order_id)
    assert filled.order_state == "filled"
    await sim.set_index_price("btc_usd", below - 100)  # the stop fires
    fired = await trader.private.get_order_state(stop.order.order_id)
    assert (fired.order_state, fired.filled_amount) == ("cancelled", 0)
    assert await _size(trader) == 0


async def test_editing_a_reduce_only_order_up_is_capped(trader: DeribitClient) -> None:
    bid = await _long(trader, 30)
    order = await trader.private.sell(PERP, amount=10, price=bid + 20, reduce_only=True)
    edited = await trader.private.edit(order.order.order_id, amount=100, price=bid + 20)
    assert edited.order.amount == 30
    plain = await trader.private.sell(PERP, amount=10, price=bid + 30)
    made = await trader.private.edit(plain.order.order_id, amount=10, reduce_only=True)
    assert (made.order.order_state, made.order.reduce_only) == ("cancelled", True)


async def test_positions_moved_away_cancel_the_reduce_only_orders_left_without_one(
    trader: DeribitClient,
) -> None:
    bid = await _long(trader, 100)
    exit_order = await trader.private.sell(PERP, amount=100, price=bid + 50, reduce_only=True)
    sub = await trader.private.create_subaccount()
    main_id = (await trader.private.get_account_summary("BTC", extended=True)).id
    assert main_id is not None
    assert sub.id is not None
    await trader.private.move_positions(main_id, sub.id, [{"instrument_name": PERP, "amount": 70}])
    state = await trader.private.get_order_state(exit_order.order.order_id)
    assert (state.order_state, state.amount) == ("open", 30)
    await trader.private.move_positions(main_id, sub.id, [{"instrument_name": PERP, "amount": 30}])
    state = await trader.private.get_order_state(exit_order.order.order_id)
    assert state.order_state == "cancelled"
