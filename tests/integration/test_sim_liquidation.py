"""The simulator's market can be moved to a price, and an account whose maintenance margin
exceeds its equity is liquidated as Deribit's "Auto Liquidation" article describes: its
open orders cancelled, its positions reduced step by step until it is safe again."""

from __future__ import annotations

import pytest

from deribit_client import DeribitClient
from deribit_client.models import AccountSummary
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"


async def _summary(client: DeribitClient) -> AccountSummary:
    return await client.private.get_account_summary("BTC")


async def test_moving_the_market_fills_resting_orders_on_the_way_and_fires_stops(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    bid = await trader.private.buy(PERP, amount=100, price=64_000.0)
    stop = await trader.private.sell(
        PERP, amount=100, type="stop_market", trigger="mark_price", trigger_price=63_500.0
    )
    prints = await sim.move_market(PERP, 63_000)
    assert prints[-1]["price"] == 64_000.0  # the sweep went through our bid
    ticker = await trader.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    assert ticker.best_bid_price < 63_000 < ticker.best_ask_price  # the book settled there
    assert ticker.mark_price == pytest.approx(63_000, abs=5)  # our stop sold into it
    filled = await trader.private.get_order_state(bid.order.order_id)
    fired = await trader.private.get_order_state(stop.order.order_id)
    assert (filled.order_state, fired.order_state) == ("filled", "filled")
    assert (await trader.private.get_position(PERP)).size == 0
    with pytest.raises(ValueError, match="positive price"):
        await sim.move_market(PERP, -1)


async def test_an_account_short_of_maintenance_margin_is_liquidated_step_by_step(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    await trader.private.change_margin_model("segregated_sm")  # BTC margins BTC alone
    await trader.private.withdraw("BTC", "bc1-elsewhere", 9.998)  # 50x on what is left
    await trader.private.buy(PERP, amount=3_000, type="market")
    resting = await trader.private.sell(PERP, amount=100, price=70_000.0)
    other = await counterparty.private.buy(PERP, amount=1_000, type="market")  # safe: 10 BTC
    price = 64_600
    while (await trader.private.get_position(PERP)).size == 3_000:
        assert price > 60_000, "never liquidated"  # 50x on 3,000 USD: within ~3%
        before = await _summary(trader)
        assert (before.equity or 0) > (before.maintenance_margin or 0)  # not yet
        await sim.move_market(PERP, price)
        price -= 50
    # One step of at most 200 contracts, and no further than the margin needed.
    after = await _summary(trader)
    position = await trader.private.get_position(PERP)
    assert position.size == 1_000
    assert (after.equity or 0) > (after.maintenance_margin or 0)
    trades = (await trader.private.get_user_trades_by_instrument(PERP, count=100)).trades
    liquidation = [t for t in trades if t.order_type == "liquidation"]
    assert sum(t.amount or 0 for t in liquidation) == 2_000
    assert {(t.direction, t.liquidation, t.liquidity) for t in liquidation} == {("sell", "T", "T")}
    for t in liquidation:  # the taker fee plus the liquidation fee, of the coin value
        assert t.fee == pytest.approx((t.amount or 0) / (t.price or 1) * 0.008, rel=1e-3)
    order = await trader.private.get_order_state(liquidation[0].order_id or "")
    assert (order.is_liquidation, order.reduce_only) == (True, True)
    cancelled = await trader.private.get_order_state(resting.order.order_id)
    assert (cancelled.order_state, cancelled.cancel_reason) == ("cancelled", "autoliquidation")
    public = (await trader.public.get_last_trades_by_instrument(PERP, count=100)).trades
    assert {t.liquidation for t in public if t.trade_id in {x.trade_id for x in liquidation}} == {
        "T"
    }
    assert (await counterparty.private.get_position(PERP)).size == other.order.filled_amount


async def test_a_segregated_account_is_told_the_price_it_would_be_liquidated_at(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    await trader.private.withdraw("BTC", "bc1-elsewhere", 9.998)
    await trader.private.buy(PERP, amount=3_000, type="market")
    # Deribit estimates the price only for segregated_sm accounts; with cross collateral
    # the other currencies keep this position far from liquidation.
    assert (await trader.private.get_position(PERP)).estimated_liquidation_price is None
    pooled = (await _summary(trader)).estimated_liquidation_ratio
    await trader.private.change_margin_model("segregated_sm")
    summary = await _summary(trader)
    ratio = summary.estimated_liquidation_ratio
    assert ratio is not None
    assert 0.9 < ratio < 1  # about 50x: liquidated some 2% lower
    assert pooled is not None
    assert pooled < 0.5
    assert summary.estimated_liquidation_ratio_map == {"btc_usd": ratio}
    position = await trader.private.get_position(PERP)
    price = position.estimated_liquidation_price
    assert price is not None
    assert price == pytest.approx(ratio * (position.mark_price or 0), rel=1e-6)
    await sim.move_market(PERP, price * 1.002)
    assert (await trader.private.get_position(PERP)).size == 3_000  # not yet
    await sim.move_market(PERP, price * 0.998)
    assert (await trader.private.get_position(PERP)).size < 3_000


@pytest.mark.parametrize("stop_loss", [True, False])
async def test_a_stop_the_same_index_move_fires_closes_the_position_before_liquidation(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient, stop_loss: bool
) -> None:
    # An index move reaches every instrument on the index. Checking the account after
    # the first of them cancelled a stop on a later one ("autoliquidation") and
    # liquidated, fee and all, what that stop was there to close.
    call = "BTC-27NOV26-65000-C"
    await trader.private.change_margin_model("segregated_sm")
    ask = (await trader.public.ticker(call)).best_ask_price
    assert ask is not None
    await trader.private.sell(call, amount=30, price=ask)
    await counterparty.private.buy(call, amount=30, type="market")
    free = (await _summary(trader)).available_withdrawal_funds or 0
    await trader.private.withdraw("BTC", "bc1-elsewhere", round(free - 0.001, 6))
    index = sim.market.index_prices["btc_usd"]
    if stop_loss:
        stop = await trader.private.buy(
            call, amount=30, type="stop_market", trigger="index_price",
            trigger_price=round(index * 1.01), reduce_only=True,
        )  # fmt: skip
    await sim.set_index_price("btc_usd", index * 1.08)
    trades = (await trader.private.get_user_trades_by_instrument(call, count=100)).trades
    liquidated = [t for t in trades if t.order_type == "liquidation"]
    if not stop_loss:  # this move leaves the account short of margin
        assert liquidated
        return
    fired = await trader.private.get_order_state(stop.order.order_id)
    assert (fired.order_state, fired.filled_amount) == ("filled", 30)
    assert not liquidated
    assert (await trader.private.get_position(call)).size == 0
