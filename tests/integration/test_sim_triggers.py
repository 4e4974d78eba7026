"""Trigger orders fire in the simulator when their reference price is reached (issue #11):
stops, take-profits and trailing stops, and the trigger order history that records them."""

from __future__ import annotations

from typing import Any

import pytest

from deribit_client import DeribitClient, RpcError
from deribit_client.models import OrderType, Trigger
from deribit_client.testing import SIM_CLIENT_ID, DeribitSimulator
from tests.helpers import next_notification

PERP = "BTC-PERPETUAL"


async def _sweep(client: DeribitClient, direction: str, levels: int) -> float:
    """Trade through the top ``levels`` of one side of the book with a market order;
    returns the price of the last level reached (where the last trade prints)."""
    book = await client.public.get_order_book(PERP, depth=5)
    side = book.bids if direction == "sell" else book.asks
    amount = sum(level[1] for level in side[:levels])
    place = client.private.sell if direction == "sell" else client.private.buy
    await place(PERP, amount=amount, type="market")
    return float(side[levels - 1][0])


async def test_a_stop_fires_when_the_last_price_falls_to_it_and_sells_at_market(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    book = await trader.public.get_order_book(PERP, depth=5)
    trigger = float(book.bids[2][0])
    far = float(book.bids[2][0]) - 500
    stop = await trader.private.sell(PERP, amount=100, type="stop_market", trigger_price=trigger)
    untouched = await trader.private.sell(PERP, amount=100, type="stop_market", trigger_price=far)
    assert stop.order.order_state == "untriggered"
    assert stop.order.price == "market_price"

    assert await _sweep(counterparty, "sell", 3) <= trigger
    fired = await trader.private.get_order_state(stop.order.order_id)
    assert (fired.order_state, fired.triggered, fired.filled_amount) == ("filled", True, 100)
    assert isinstance(fired.price, float)
    (position,) = await trader.private.get_positions(currency="BTC")
    assert position.size == -100
    still = await trader.private.get_order_state(untouched.order.order_id)
    assert still.order_state == "untriggered"

    await trader.private.cancel(untouched.order.order_id)
    history = await trader.private.get_trigger_order_history("BTC")
    assert [(e.order_id, e.request, e.order_state) for e in history.entries or []] == [
        (untouched.order.order_id, "cancel", "cancelled"),
        (stop.order.order_id, "trigger:order", "triggered"),
    ]
    first = await trader.private.get_trigger_order_history("BTC", count=1)
    rest = await trader.private.get_trigger_order_history(
        "BTC", count=1, continuation=first.continuation
    )
    assert [e.order_id for e in rest.entries or []] == [stop.order.order_id]
    assert rest.continuation is None


async def test_a_take_profit_limit_rests_as_a_limit_order_once_triggered(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    book = await trader.public.get_order_book(PERP, depth=5)
    trigger = float(book.asks[2][0])
    limit = trigger - 1_000  # far below the market: rests once triggered
    take = await trader.private.sell(
        PERP, amount=100, type="take_limit", trigger_price=trigger, price=limit
    )
    await _sweep(counterparty, "buy", 3)
    fired = await trader.private.get_order_state(take.order.order_id)
    assert fired.triggered is True
    assert fired.order_state in ("open", "filled")
    assert fired.price == limit


async def test_a_trailing_stop_follows_the_price_up_and_fires_on_the_way_down(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    trail = await trader.private.sell(
        PERP, amount=100, type="trailing_stop", trigger="last_price", trigger_offset=2
    )
    start = trail.order.trigger_price
    assert start is not None
    peak = await _sweep(counterparty, "buy", 3)
    raised = await trader.private.get_order_state(trail.order.order_id)
    assert raised.order_state == "untriggered"
    assert raised.trigger_price == peak - 2  # the stop moved up with the price
    assert raised.trigger_price > start
    assert await _sweep(counterparty, "sell", 1) <= peak - 2
    fired = await trader.private.get_order_state(trail.order.order_id)
    assert (fired.triggered, fired.order_state) == (True, "filled")


async def test_a_trigger_its_reference_price_has_reached_already_is_refused(
    trader: DeribitClient,
) -> None:
    # Deribit: 11036 invalid_trigger_price, "too high or too low in relation to the last
    # trade, index or market price". The simulator fired such orders at once.
    ticker = await trader.public.ticker(PERP)
    last, mark = ticker.last_price, ticker.mark_price
    assert last is not None
    assert mark is not None
    reached: list[tuple[Any, OrderType, Trigger, float]] = [
        (trader.private.sell, "stop_market", "last_price", last + 500),  # a stop above
        (trader.private.sell, "stop_limit", "last_price", last),  # at the price: reached
        (trader.private.buy, "stop_market", "mark_price", round(mark) - 500),  # a stop below
        (trader.private.sell, "take_market", "mark_price", round(mark) - 500),
        (trader.private.buy, "take_limit", "last_price", last + 500),
    ]
    for place, kind, trigger, price in reached:
        with pytest.raises(RpcError) as refused:
            await place(PERP, amount=10, type=kind, price=last, trigger=trigger,
                        trigger_price=price)  # fmt: skip
        assert (refused.value.code, refused.value.message) == (11036, "invalid_trigger_price")
    with pytest.raises(RpcError) as negative:
        await trader.private.buy(PERP, amount=10, type="take_market", trigger_price=-5.0)
    assert negative.value.code == -32602
    assert await trader.private.get_open_orders() == []  # nothing rests, nothing traded
    assert (await trader.private.get_position(PERP)).size == 0


async def test_editing_a_trigger_to_a_reached_level_is_refused_and_changes_nothing(
    trader: DeribitClient,
) -> None:
    ticker = await trader.public.ticker(PERP)
    assert ticker.last_price is not None
    far = ticker.last_price - 5_000
    stop = await trader.private.sell(PERP, amount=100, type="stop_market", trigger_price=far)
    assert stop.order.order_state == "untriggered"
    with pytest.raises(RpcError) as off_tick:
        await trader.private.edit(stop.order.order_id, amount=100, trigger_price=far + 0.3)
    assert off_tick.value.code == 10044
    with pytest.raises(RpcError) as reached:
        await trader.private.edit(stop.order.order_id, amount=100,
                                  trigger_price=ticker.last_price)  # fmt: skip
    assert reached.value.code == 11036
    # A refused edit leaves the order as it was, whatever check refused it.
    with pytest.raises(RpcError) as too_big:
        await trader.private.edit(stop.order.order_id, amount=100_000_000,
                                  trigger_price=far - 500)  # fmt: skip
    assert too_big.value.code == 10009  # not_enough_funds
    kept = await trader.private.get_order_state(stop.order.order_id)
    assert (kept.order_state, kept.trigger_price, kept.amount) == ("untriggered", far, 100)
    moved = await trader.private.edit(stop.order.order_id, amount=100, trigger_price=far + 500)
    assert (moved.order.order_state, moved.order.trigger_price) == ("untriggered", far + 500)


async def test_trigger_parameters_are_checked(trader: DeribitClient) -> None:
    with pytest.raises(RpcError) as off_tick:
        await trader.private.sell(PERP, amount=10, type="stop_market", trigger_price=1000.3)
    assert off_tick.value.code == 10044
    with pytest.raises(RpcError) as no_offset:  # raw: the typed wrapper refuses it itself
        await trader.call("private/sell", {"instrument_name": PERP, "amount": 10,
                                           "type": "trailing_stop"})  # fmt: skip
    assert no_offset.value.code == -32602


async def test_an_index_price_stop_fires_when_the_index_moves(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    index = "btc_usd"
    start = round(sim.market.index_prices[index])  # on the instrument's 0.5 tick
    stop = await trader.private.sell(
        PERP, amount=100, type="stop_market", trigger="index_price", trigger_price=start - 100
    )
    async with trader.subscribe(f"deribit_price_index.{index}") as prices:
        await sim.set_index_price(index, start - 50)  # the instrument's market stays put
        assert (await next_notification(prices)).data.price == start - 50
        waiting = await trader.private.get_order_state(stop.order.order_id)
        assert waiting.order_state == "untriggered"
        await sim.set_index_price(index, start - 100)
    fired = await trader.private.get_order_state(stop.order.order_id)
    assert (fired.triggered, fired.order_state) == (True, "filled")
    with pytest.raises(ValueError, match="no index 'btc_nope'"):
        await sim.set_index_price("btc_nope", 1.0)


async def test_a_stop_the_account_can_no_longer_cover_is_rejected_when_it_fires(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    await trader.private.change_margin_model("segregated_sm")  # BTC margins BTC alone
    book = await trader.public.get_order_book(PERP, depth=5)
    trigger = float(book.bids[1][0])
    stop = await trader.private.sell(
        PERP, amount=1_000_000, type="stop_market", trigger_price=trigger
    )  # margin 0.02 * 1,000,000 USD / price: well within the 10 BTC it starts with
    # The account loses almost all its funds before the stop fires (say, to another venue).
    sim.trading.account(SIM_CLIENT_ID).book(sim.now_ms(), "BTC", "transfer", -9.99)
    await sim.market_trade(PERP, "sell", sum(float(level[1]) for level in book.bids[:2]))
    fired = await trader.private.get_order_state(stop.order.order_id)
    assert (fired.triggered, fired.order_state, fired.filled_amount) == (True, "rejected", 0)
    assert await trader.private.get_positions(currency="BTC") == []
    history = await trader.private.get_trigger_order_history("BTC")
    assert [e.order_state for e in history.entries or []] == ["rejected:not_enough_funds"]
