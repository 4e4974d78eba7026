"""Combo books (issue #11): a combo created by ``private/create_combo`` (or a Block RFQ) is
an instrument with a book of its own; its fills print and fill every leg, positions are
held in the legs, and ``user.combo_trades.*`` carries the combo trades with their legs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from deribit_client import DeribitClient, Notification, RpcError
from deribit_client.models import UserTrade
from deribit_client.testing import DeribitSimulator
from tests.helpers import nearest_options

PERP = "BTC-PERPETUAL"


async def _future_spread(client: DeribitClient) -> tuple[str, str]:
    """The combo buying the nearest BTC future and selling the perpetual, and the future."""
    futures = await client.public.get_instruments("BTC", kind="future")
    dated = min((i for i in futures if i.instrument_name != PERP),
                key=lambda i: i.expiration_timestamp or 0)  # fmt: skip
    combo = await client.private.create_combo(
        [
            {"instrument_name": dated.instrument_name, "amount": 10, "direction": "buy"},
            {"instrument_name": PERP, "amount": 10, "direction": "sell"},
        ]
    )
    return combo.id, dated.instrument_name


def _sizes(positions: list[Any]) -> dict[str, float]:
    return {p.instrument_name: p.size for p in positions if p.size}


def _legs_add_up(trade: UserTrade) -> None:
    """A combo trade's legs: each leg's trade, at prices whose signed sum is its price."""
    assert trade.legs
    signed = sum(
        leg.price * leg.amount / trade.amount * (1 if leg.direction == trade.direction else -1)
        for leg in trade.legs
    )
    assert signed == pytest.approx(trade.price, abs=1e-6)
    for leg in trade.legs:
        assert (leg.combo_id, leg.combo_trade_id) == (trade.instrument_name, trade.trade_id)


async def test_a_combo_is_an_instrument_with_a_book(trader: DeribitClient) -> None:
    name, dated = await _future_spread(trader)
    assert name == f"BTC-FS-{dated.split('-')[1]}_PERP"  # Deribit's name for the spread
    (listed,) = await trader.public.get_instruments("BTC", kind="future_combo")
    assert listed.instrument_name == name
    assert (listed.kind, listed.tick_size, listed.min_trade_amount) == ("future_combo", 0.5, 10)
    assert name in {i.instrument_name for i in await trader.public.get_instruments("any")}
    legs = {i: (await trader.public.ticker(i)).mark_price or 0.0 for i in (dated, PERP)}
    ticker = await trader.public.ticker(name)
    assert ticker.mark_price == pytest.approx(legs[dated] - legs[PERP], abs=1e-6)
    book = await trader.public.get_order_book(name, depth=20)
    assert book.bids
    assert book.asks
    prices = [level[0] for level in book.bids + book.asks]
    assert ticker.min_price is not None
    assert ticker.max_price is not None
    assert all(ticker.min_price <= p <= ticker.max_price for p in prices)


async def test_a_combo_order_fills_in_its_legs(trader: DeribitClient) -> None:
    name, dated = await _future_spread(trader)
    async with trader.subscribe(f"trades.{PERP}.raw") as tape:
        placed = await trader.private.buy(name, amount=20, type="market", label="spread")
        streamed = await asyncio.wait_for(anext(tape), 5)
    assert isinstance(streamed, Notification)
    assert {t.combo_id for t in streamed.data} == {name}  # the leg prints say so live too
    assert placed.order.order_state == "filled"
    assert placed.trades
    for trade in placed.trades:
        _legs_add_up(trade)
        assert {(leg.instrument_name, leg.direction) for leg in trade.legs or ()} == {
            (dated, "buy"),
            (PERP, "sell"),
        }
    # positions are in the legs, none in the combo
    assert _sizes(await trader.private.get_positions(currency="BTC")) == {dated: 20, PERP: -20}
    assert (await trader.private.get_position(name)).size == 0
    # the legs' trades are the account's trades in the leg instruments
    leg_trades = (await trader.private.get_user_trades_by_instrument(PERP)).trades
    combo_trade_ids = {t.trade_id for t in placed.trades}
    assert leg_trades
    assert {t.combo_trade_id for t in leg_trades} == combo_trade_ids
    assert {t.combo_id for t in leg_trades} == {name}
    by_order = await trader.private.get_user_trades_by_order(placed.order.order_id)
    assert {t.trade_id for t in by_order} == combo_trade_ids  # the legs are inside
    # everyone sees the legs print, marked as part of the combo trade
    printed = (await trader.public.get_last_trades_by_instrument(PERP)).trades
    assert {t.combo_trade_id for t in printed if t.combo_id == name} == combo_trade_ids


async def test_users_trade_a_combo_with_each_other(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    name, dated = await _future_spread(trader)
    ticker = await trader.public.ticker(name)
    assert ticker.best_ask_price is not None
    assert ticker.best_bid_price is not None
    price = ticker.best_ask_price - 0.5
    assert price > ticker.best_bid_price  # inside the spread: the sell rests
    channels = (f"user.combo_trades.{PERP}.raw", "user.combo_trades.future.BTC.raw",
                f"user.trades.{PERP}.raw")  # fmt: skip
    async with trader.subscribe(*channels) as heard:
        rest = await trader.private.sell(name, amount=10, price=price)
        assert rest.order.order_state == "open"
        taken = await counterparty.private.buy(name, amount=10, price=price)
        assert taken.order.order_state == "filled"
        (trade,) = taken.trades
        assert trade.price == price
        _legs_add_up(trade)
        seen: dict[str, Any] = {}
        async with asyncio.timeout(5):
            while len(seen) < len(channels):
                item = await anext(heard)
                assert isinstance(item, Notification)
                seen[item.channel] = item.data
    for channel in channels[:2]:  # the maker's side of the combo trade, legs included
        (made,) = seen[channel]
        assert (made.instrument_name, made.direction, made.liquidity) == (name, "sell", "M")
        _legs_add_up(made)
    (leg,) = seen[channels[2]]
    assert (leg.instrument_name, leg.direction, leg.combo_id) == (PERP, "buy", name)
    assert _sizes(await trader.private.get_positions(currency="BTC")) == {dated: -10, PERP: 10}
    mirrored = {dated: 10, PERP: -10}
    assert _sizes(await counterparty.private.get_positions(currency="BTC")) == mirrored


async def test_the_market_trades_combos_too(sim: DeribitSimulator, trader: DeribitClient) -> None:
    name, dated = await _future_spread(trader)
    book = await trader.public.get_order_book(name, depth=1)
    assert book.best_bid_price is not None
    await trader.private.buy(name, amount=10, price=book.best_bid_price)  # queued behind
    level = book.bids[0][1]
    prints = await sim.market_trade(name, "sell", level + 10, price=book.best_bid_price)
    assert sum(p["amount"] for p in prints) == level + 10
    assert all(len(p["legs"]) == 2 for p in prints)
    assert _sizes(await trader.private.get_positions(currency="BTC")) == {dated: 10, PERP: -10}
    # streamed activity moves combo books like any other
    async with trader.subscribe(f"book.{name}.raw", f"trades.{PERP}.raw") as sub:
        sim.start_streams(interval=0.001)
        seen: set[str] = set()
        async with asyncio.timeout(5):
            while len(seen) < 2:
                item = await anext(sub)
                assert isinstance(item, Notification)
                seen.add(item.channel)
        sim.stop_streams()


async def test_an_option_combo_holds_option_legs(trader: DeribitClient) -> None:
    calls = sorted(
        (i.strike or 0.0, i.instrument_name)
        for i in await nearest_options(trader)
        if i.option_type == "call"
    )
    low, high = calls[0][1], calls[1][1]
    combo = await trader.private.create_combo(
        [
            {"instrument_name": low, "amount": 1, "direction": "buy"},
            {"instrument_name": high, "amount": 2, "direction": "sell"},
        ]
    )
    instrument = await trader.public.get_instrument(combo.id)
    assert (instrument.kind, instrument.min_trade_amount) == ("option_combo", 0.1)
    placed = await trader.private.sell(combo.id, amount=0.3, type="market")
    (first, *_) = placed.trades
    _legs_add_up(first)
    positions = _sizes(await trader.private.get_positions(currency="BTC", kind="option"))
    assert positions == {low: pytest.approx(-0.3), high: pytest.approx(0.6)}


async def test_combo_books_refuse_trigger_orders_and_orders_beyond_margin(
    trader: DeribitClient,
) -> None:
    name, _ = await _future_spread(trader)
    with pytest.raises(RpcError) as refused:
        await trader.private.buy(name, amount=10, type="stop_market", trigger_price=10.0)
    assert refused.value.code == 13036  # unavailable_for_combo_books
    mark = (await trader.public.ticker(name)).mark_price
    assert mark is not None
    with pytest.raises(RpcError) as unfunded:  # the legs' margin counts, not the spread's
        await trader.private.buy(name, amount=1_000_000_000, price=round(mark * 2) / 2)
    assert unfunded.value.code == 10009


async def test_cancel_all_by_instrument_includes_combos_when_asked(trader: DeribitClient) -> None:
    name, _ = await _future_spread(trader)
    bid = (await trader.public.ticker(name)).best_bid_price
    assert bid is not None
    resting = await trader.private.buy(name, amount=10, price=bid)
    assert await trader.private.cancel_all_by_instrument(PERP) == 0  # the combo's order stays
    assert await trader.private.cancel_all_by_instrument(PERP, include_combos=True) == 1
    state = await trader.private.get_order_state(resting.order.order_id)
    assert state.order_state == "cancelled"


async def test_a_combo_follows_its_legs_book_states(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    name, dated = await _future_spread(trader)
    placed = await trader.private.buy(name, amount=10, type="limit", price=-10_000.0)
    assert placed.order.order_state == "open"
    async with trader.subscribe("instrument.state.future_combo.BTC") as states:
        await sim.set_instrument_state(PERP, "halted")  # a leg halts: the combo halts
        halted = await asyncio.wait_for(anext(states), 5)
        assert isinstance(halted, Notification)
        assert (halted.data.instrument_name, halted.data.state) == (name, "halted")
        with pytest.raises(RpcError) as refused:
            await trader.private.buy(name, amount=10, type="limit", price=-10_000.0)
        assert refused.value.code == 13019  # orderbook_closed
        await sim.set_instrument_state(PERP, "open")  # all legs open again: so is the combo
        assert (await trader.public.get_instrument(name)).state == "open"
        assert await trader.public.get_combo_ids("BTC", state="active") == [name]
        # The dated leg expires: the combo ends with it, its resting order is cancelled.
        await sim.set_instrument_state(dated, "delivered")
    assert (await trader.public.get_instrument(name)).state == "delivered"
    order = await trader.private.get_order_state(placed.order.order_id)
    assert (order.order_state, order.cancel_reason) == ("cancelled", "settlement")
    assert await trader.public.get_combo_ids("BTC", state="inactive") == [name]
    assert await trader.public.get_combo_ids("BTC", state="active") == []
