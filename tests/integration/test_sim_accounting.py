"""The simulator books money as Deribit does: futures profit stays in the session
(``session_upl``/``session_rpl``) until the daily settlement moves it into the balance,
option premiums are paid at the trade, spot trades exchange the pair's currencies, fees
follow the instrument's commissions, and a delivery closes positions at the index."""

from __future__ import annotations

import asyncio
import time

import pytest

from deribit_client import DeribitClient, InsufficientFundsError, Notification
from deribit_client.models import AccountSummary, TransactionLog
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator

PERP = "BTC-PERPETUAL"
SPOT = "BTC_USDC"
LINEAR = "BTC_USDC-PERPETUAL"


async def _spread(client: DeribitClient, name: str = PERP) -> tuple[float, float]:
    ticker = await client.public.ticker(name)
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    return ticker.best_bid_price, ticker.best_ask_price


async def _summary(client: DeribitClient, currency: str = "BTC") -> AccountSummary:
    return await client.private.get_account_summary(currency)


def _equity_parts(summary: AccountSummary) -> float:
    """What the equity is made of: the balance, the futures' session profit, the
    options' value."""
    parts = (
        summary.balance,
        summary.futures_session_upl,
        summary.futures_session_rpl,
        summary.options_value,
    )
    return sum(p or 0.0 for p in parts)


async def _round_trip(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> tuple[float, float]:
    """The trader buys 1,000 at a price of its own and sells 400 at a higher one, as maker
    both times (no fee); returns the two prices."""
    book = await trader.public.get_order_book(PERP, depth=5)
    await sim.market_trade(PERP, "buy", sum(amount for _, amount in (book.asks or [])[:2]))
    bid, ask = await _spread(trader)
    assert ask - bid >= 1.5  # room for two prices of our own inside the spread
    bought, sold = bid + 0.5, ask - 0.5
    await trader.private.buy(PERP, amount=1000, price=bought)
    await counterparty.private.sell(PERP, amount=1000, type="market")
    await trader.private.sell(PERP, amount=400, price=sold)
    await counterparty.private.buy(PERP, amount=400, type="market")
    return bought, sold


async def test_closing_part_of_a_future_realizes_its_profit_in_the_session(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    before = await _summary(trader)
    bought, sold = await _round_trip(sim, trader, counterparty)
    realized = 400 * (1 / bought - 1 / sold)
    position = await trader.private.get_position(PERP)
    assert (position.size, position.average_price) == (600, bought)
    assert position.realized_profit_loss == pytest.approx(realized, abs=1e-10)
    trades = (await trader.private.get_user_trades_by_instrument(PERP)).trades
    assert sum(t.profit_loss or 0 for t in trades) == pytest.approx(realized, abs=1e-10)
    assert all(t.fee == 0 and t.liquidity == "M" for t in trades)  # makers pay nothing
    after = await _summary(trader)
    assert after.balance == before.balance  # the session keeps futures profit
    assert after.futures_session_rpl == pytest.approx(realized, abs=1e-10)
    assert after.equity == pytest.approx(_equity_parts(after), abs=1e-9)
    assert after.equity == pytest.approx(
        (before.equity or 0) + realized + (after.futures_session_upl or 0), abs=1e-9
    )


async def test_the_daily_settlement_moves_session_profit_into_the_balance(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    await _round_trip(sim, trader, counterparty)
    before = await _summary(trader)
    session = (before.futures_session_upl or 0) + (before.futures_session_rpl or 0)
    await sim.daily_settlement()
    after = await _summary(trader)
    assert after.balance == pytest.approx((before.balance or 0) + session, abs=1e-9)
    assert after.equity == pytest.approx(before.equity or 0, abs=1e-9)  # nothing made or lost
    assert (after.futures_session_rpl, after.futures_session_upl) == (0, 0)
    mark = (await trader.public.ticker(PERP)).mark_price
    position = await trader.private.get_position(PERP)
    assert position.settlement_price == mark
    assert position.floating_profit_loss == 0  # the session counts from the settlement
    log = await trader.private.get_transaction_log("BTC", 0, 2**53)
    settled = (log.logs or [])[0]
    assert (settled.type, settled.instrument_name) == ("settlement", PERP)
    assert settled.change == pytest.approx(session, abs=1e-9)
    history = await trader.private.get_settlement_history_by_instrument(PERP)
    (record,) = history.settlements or []
    assert (record.type, record.position, record.mark_price) == ("settlement", 600, mark)
    assert record.session_profit_loss == pytest.approx(session, abs=1e-9)
    public = await trader.public.get_last_settlements_by_instrument(PERP)
    assert [(s.type, s.instrument_name) for s in public.settlements or ()] == [("settlement", PERP)]


async def test_the_daily_settlement_tells_the_position_and_portfolio_subscribers(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    await _round_trip(sim, trader, counterparty)
    async with (
        trader.subscribe(f"user.changes.{PERP}.raw") as changes,
        trader.subscribe("user.portfolio.btc") as portfolio,
    ):
        await sim.daily_settlement()
        changed = await asyncio.wait_for(anext(changes), 5)
        summary = await asyncio.wait_for(anext(portfolio), 5)
    assert isinstance(changed, Notification)  # not a gap
    assert isinstance(summary, Notification)
    (position,) = changed.data.positions or []
    assert (position.instrument_name, position.size) == (PERP, 600)
    assert position.floating_profit_loss == 0  # the session restarted from the mark
    assert summary.data.balance == (await _summary(trader)).balance  # the settled balance


async def test_the_transaction_log_records_the_equity_after_each_entry(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    async def newest_entry() -> TransactionLog:
        log = await trader.private.get_transaction_log("BTC", 0, sim.now_ms() + 1, count=1)
        assert log.logs
        return log.logs[0]

    _, sold = await _round_trip(sim, trader, counterparty)  # a position with session profit
    # One more sale that leaves the book's best levels, and so the mark, where they were.
    await trader.private.sell(PERP, amount=20, price=sold)
    await counterparty.private.buy(PERP, amount=10, type="market")
    summary = await _summary(trader)
    assert summary.equity != summary.balance
    entry = await newest_entry()
    assert (entry.type, entry.balance) == ("trade", summary.balance)
    assert entry.equity == pytest.approx(summary.equity, abs=1e-9)
    await trader.private.withdraw("BTC", "bc1-elsewhere", 0.25)
    entry = await newest_entry()
    assert entry.type == "withdrawal"
    assert entry.equity == pytest.approx((await _summary(trader)).equity, abs=1e-9)
    await sim.daily_settlement()
    entry = await newest_entry()
    assert entry.type == "settlement"  # counted once: in the balance, not the session too
    assert entry.equity == pytest.approx((await _summary(trader)).equity, abs=1e-9)


async def test_a_linear_perpetual_is_sized_in_the_coin_and_booked_in_usdc(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    linear = await trader.public.get_instruments("USDC", kind="future")
    assert LINEAR in {i.instrument_name for i in linear}
    assert all(i.settlement_currency == "USDC" for i in linear)
    assert LINEAR not in {i.instrument_name for i in await trader.public.get_instruments("BTC")}
    before = await _summary(trader, "USDC")
    btc_before = await _summary(trader)
    book = await trader.public.get_order_book(LINEAR, depth=5)
    await sim.market_trade(LINEAR, "buy", sum(amount for _, amount in (book.asks or [])[:2]))
    bid, ask = await _spread(trader, LINEAR)
    assert ask - bid >= 3  # room for two prices of our own inside the spread
    bought, sold = bid + 1, ask - 1
    await counterparty.private.sell(LINEAR, amount=0.01, price=bought)
    taken = await trader.private.buy(LINEAR, amount=0.01, type="market")  # takes it
    assert [(t.price, t.amount, t.fee_currency) for t in taken.trades] == [(bought, 0.01, "USDC")]
    fee = 0.01 * bought * 0.0005  # the taker commission of the USDC value
    assert taken.trades[0].fee == pytest.approx(fee, abs=1e-9)
    await trader.private.sell(LINEAR, amount=0.004, price=sold)
    await counterparty.private.buy(LINEAR, amount=0.004, type="market")
    position = await trader.private.get_position(LINEAR)
    mark = position.mark_price or 0
    assert (position.size, position.size_currency) == (0.006, 0.006)  # coins, not USD
    assert position.initial_margin == pytest.approx(0.006 * mark * 0.02, abs=1e-9)
    realized = 0.004 * (sold - bought)  # in USDC: the price difference per coin
    assert position.realized_profit_loss == pytest.approx(realized, abs=1e-6)
    after = await _summary(trader, "USDC")
    assert after.balance == pytest.approx((before.balance or 0) - fee, abs=1e-9)
    assert after.futures_session_rpl == pytest.approx(realized, abs=1e-6)
    assert after.equity == pytest.approx(_equity_parts(after), abs=1e-9)
    assert (await _summary(trader)).balance == btc_before.balance  # nothing in BTC
    await sim.daily_settlement()
    settled = await _summary(trader, "USDC")
    session = realized + (after.futures_session_upl or 0)
    assert settled.balance == pytest.approx((after.balance or 0) + session, abs=1e-6)


async def test_an_option_premium_is_paid_at_the_trade_and_its_value_counts_in_the_equity(
    trader: DeribitClient,
) -> None:
    options = await trader.public.get_instruments("BTC", kind="option")
    option = options[0].instrument_name
    before = await _summary(trader)
    bought = await trader.private.buy(option, amount=1, type="market")
    premium = sum((t.price or 0) * (t.amount or 0) for t in bought.trades)
    fees = sum(t.fee or 0 for t in bought.trades)
    assert fees == pytest.approx(0.0003, abs=1e-10)  # 0.03% of the underlying, per contract
    after = await _summary(trader)
    assert after.balance == pytest.approx((before.balance or 0) - premium - fees, abs=1e-9)
    mark = (await trader.public.ticker(option)).mark_price or 0
    assert after.options_value == pytest.approx(mark, abs=1e-9)
    assert after.equity == pytest.approx(_equity_parts(after), abs=1e-9)
    held = await trader.private.get_position(option)
    assert (held.initial_margin, held.maintenance_margin) == (0, 0)  # paid for: no margin
    await trader.private.sell(option, amount=2, type="market")
    short = await trader.private.get_position(option)
    assert short.size == -1
    assert (short.maintenance_margin or 0) > 0  # a written option needs margin


async def test_option_greeks_follow_the_option_type_and_add_up_in_the_summary(
    trader: DeribitClient,
) -> None:
    pairs: dict[tuple[float | None, int | None], dict[str, str]] = {}
    for option in await trader.public.get_instruments("BTC", kind="option"):
        key = (option.strike, option.expiration_timestamp)
        pairs.setdefault(key, {})[option.option_type or ""] = option.instrument_name
    call, put = next((p["call"], p["put"]) for p in pairs.values() if len(p) == 2)
    call_greeks = (await trader.public.ticker(call)).greeks
    put_greeks = (await trader.public.ticker(put)).greeks
    assert call_greeks is not None
    assert put_greeks is not None
    assert 0 < (call_greeks.delta or 0) < 1
    assert -1 < (put_greeks.delta or 0) < 0
    assert (call_greeks.delta or 0) - (put_greeks.delta or 0) == pytest.approx(1, abs=1e-4)
    assert call_greeks.vega == pytest.approx(put_greeks.vega)
    await trader.private.buy(put, amount=2, type="market")
    position = await trader.private.get_position(put)
    assert position.delta == pytest.approx(2 * (put_greeks.delta or 0), abs=1e-4)
    assert position.vega == pytest.approx(2 * (put_greeks.vega or 0), rel=1e-3)
    summary = await _summary(trader)
    assert summary.options_delta == pytest.approx(position.delta)
    assert summary.options_vega_map == {"btc_usd": pytest.approx(position.vega)}
    assert summary.delta_total_map == {"btc_usd": pytest.approx(summary.delta_total)}
    assert summary.projected_delta_total == summary.delta_total


async def test_the_summary_lists_the_fees_and_cross_collateral_usd_totals(
    trader: DeribitClient,
) -> None:
    perpetual = await trader.public.get_instrument(PERP)
    summary = await trader.private.get_account_summary("BTC", extended=True)
    fees = {(f.kind, f.index_name): f.value for f in summary.fees}
    fee = fees["perpetual", "btc_usd"]
    assert fee is not None
    assert fee.default is not None
    assert (fee.default.taker, fee.default.maker) == (
        perpetual.taker_commission,
        perpetual.maker_commission,
    )
    assert summary.cross_collateral_enabled
    # Every currency the account holds, in USD at its index (stable coins at 1).
    prices = {
        coin.upper(): (await trader.public.get_index_price(f"{coin}_usd")).index_price
        for coin in ("btc", "eth")
    }
    summaries = (await trader.private.get_account_summaries()).summaries
    assert {s.currency for s in summaries} >= {"BTC", "ETH", "USDC"}
    expected = sum((s.equity or 0) * (prices.get(s.currency) or 1.0) for s in summaries)
    assert summary.total_equity_usd == pytest.approx(expected, rel=1e-6)


async def test_a_spot_trade_exchanges_the_currencies_and_needs_what_it_spends(
    trader: DeribitClient,
) -> None:
    btc, usdc = await _summary(trader, "BTC"), await _summary(trader, "USDC")
    bought = await trader.private.buy(SPOT, amount=0.01, type="market")
    amount = sum(t.amount or 0 for t in bought.trades)
    cost = sum((t.price or 0) * (t.amount or 0) for t in bought.trades)
    assert amount == pytest.approx(0.01)
    assert all(t.fee == 0 for t in bought.trades)  # spot trades are free
    assert (await _summary(trader, "BTC")).balance == pytest.approx((btc.balance or 0) + amount)
    assert (await _summary(trader, "USDC")).balance == pytest.approx((usdc.balance or 0) - cost)
    assert await trader.private.get_positions(currency="BTC") == []

    bid, ask = await _spread(trader, SPOT)
    with pytest.raises(InsufficientFundsError) as too_much:
        await trader.private.sell(SPOT, amount=1000, price=ask + 100)  # more BTC than held
    assert too_much.value.code == 10039
    held = (await _summary(trader, "USDC")).balance or 0
    affordable = round(held / bid * 0.6, 4)
    await trader.private.buy(SPOT, amount=affordable, price=bid - 100)  # rests: holds USDC
    reserved = await _summary(trader, "USDC")
    assert reserved.spot_reserve == pytest.approx(affordable * (bid - 100))
    with pytest.raises(InsufficientFundsError) as held_already:
        await trader.private.buy(SPOT, amount=affordable, price=bid - 100)
    assert held_already.value.code == 10039


async def test_a_delivery_closes_positions_at_the_index(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    futures = await trader.public.get_instruments("BTC", kind="future")
    future = next(i.instrument_name for i in futures if i.instrument_name != PERP)
    calls = [
        i
        for i in await trader.public.get_instruments("BTC", kind="option")
        if i.option_type == "call"
    ]
    call = min(calls, key=lambda i: i.strike or 0)
    await trader.private.buy(future, amount=1000, type="market")
    await trader.private.buy(call.instrument_name, amount=2, type="market")
    await sim.set_index_price("btc_usd", 70_000.0)
    before = await _summary(trader)
    session = (await trader.private.get_position(future)).floating_profit_loss
    basis = (await trader.private.get_position(future)).average_price or 0
    for name in (future, call.instrument_name):
        await sim.set_instrument_state(name, "delivered")
    assert await trader.private.get_positions(currency="BTC") == []
    payoff = 2 * (70_000 - (call.strike or 0)) / 70_000
    future_profit = 1000 * (1 / basis - 1 / 70_000)
    fees = 1000 / 70_000 * 0.0005 / 2 + 2 * 0.00015
    after = await _summary(trader)
    assert after.balance == pytest.approx(
        (before.balance or 0) + future_profit + payoff - fees, abs=1e-8
    )
    assert session is not None
    deliveries = await trader.private.get_settlement_history_by_currency("BTC", type="delivery")
    assert sorted((s.instrument_name, s.position) for s in deliveries.settlements or ()) == sorted(
        [(future, 1000), (call.instrument_name, 2)]
    )
    ticker = await trader.public.ticker(future)
    assert ticker.delivery_price == 70_000


async def test_a_perpetual_position_pays_funding_while_held() -> None:
    now = [time.time()]
    async with DeribitSimulator(seed=3, clock=lambda: now[0]) as sim:
        sim.token_ttl = 7 * 86_400  # the clock jumps hours ahead
        async with DeribitClient(
            url=sim.url, client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET,
            heartbeat_interval=None, rate_limit=False,
        ) as trader:  # fmt: skip
            await _funding(sim, trader, now)


async def _funding(sim: DeribitSimulator, trader: DeribitClient, now: list[float]) -> None:
    await sim.set_index_price("btc_usd", 63_000.0)  # the perpetual trades at a premium
    await trader.private.buy(PERP, amount=1000, type="market")
    ticker = await trader.public.ticker(PERP)
    rate, mark = ticker.current_funding or 0, ticker.mark_price or 0
    assert rate > 0  # longs pay shorts
    now[0] += 8 * 3600
    owed = -1000 / mark * rate  # eight hours of the rate on the coin value
    position = await trader.private.get_position(PERP)
    assert position.realized_funding == pytest.approx(owed, rel=1e-6)
    before = await _summary(trader)
    assert before.futures_session_rpl == pytest.approx(owed, rel=1e-6)
    await sim.daily_settlement()
    (record,) = (await trader.private.get_settlement_history_by_instrument(PERP)).settlements or []
    assert record.funding == pytest.approx(owed, rel=1e-6)
    after = await _summary(trader)
    assert after.equity == pytest.approx(before.equity or 0, abs=1e-9)
    assert after.balance == pytest.approx(
        (before.balance or 0) + owed + (before.futures_session_upl or 0), abs=1e-9
    )
    now[0] += 8 * 3600  # the next session's funding counts from the settlement
    again = await trader.private.get_position(PERP)
    assert again.realized_funding == pytest.approx(owed, rel=1e-6)


async def test_moving_an_option_position_moves_its_premium(trader: DeribitClient) -> None:
    option = (await trader.public.get_instruments("BTC", kind="option"))[0].instrument_name
    await trader.private.buy(option, amount=1, type="market")
    sub = await trader.private.create_subaccount()
    main_id = (await trader.private.get_account_summary("BTC", extended=True)).id
    assert main_id is not None
    assert sub.id is not None
    await trader.private.submit_transfer_to_subaccount("BTC", 1, sub.id)
    mine, theirs = (
        await _summary(trader),
        await trader.private.get_account_summary("BTC", subaccount_id=sub.id),
    )
    await trader.private.move_positions(
        main_id, sub.id, [{"instrument_name": option, "amount": 1, "price": 0.05}]
    )
    # A trade between the two at the price, without a fee.
    assert (await _summary(trader)).balance == pytest.approx((mine.balance or 0) + 0.05)
    moved = await trader.private.get_account_summary("BTC", subaccount_id=sub.id)
    assert moved.balance == pytest.approx((theirs.balance or 0) - 0.05)
    assert moved.options_value == pytest.approx((await trader.public.ticker(option)).mark_price)
