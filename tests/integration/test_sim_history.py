"""History methods read what the simulated market and accounts did (issue #11): public
trades, TradingView candles, own trades by time, order history, and the wallet's ledgers."""

from __future__ import annotations

import datetime as dt

import pytest

from deribit_client import (
    ClientError,
    DeribitClient,
    InsufficientFundsError,
    InvalidRequestError,
    RpcError,
)
from deribit_client.models import Order, OrderHistoryPage
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"


async def test_last_trades_are_the_fills_that_happened(trader: DeribitClient) -> None:
    fills = [
        trade
        for amount in (10, 20, 30)
        for trade in (await trader.private.buy(PERP, amount=amount, type="market")).trades
    ]
    await trader.private.buy("ETH-PERPETUAL", amount=1, type="market")
    newest = await trader.public.get_last_trades_by_instrument(PERP, count=2)
    assert [t.trade_id for t in newest.trades] == [f.trade_id for f in fills[::-1][:2]]
    assert newest.has_more
    assert [t.trade_seq for t in newest.trades] == [3, 2]  # numbered per instrument
    oldest_first = await trader.public.get_last_trades_by_instrument(
        PERP, start_seq=2, sorting="asc"
    )
    assert [t.trade_seq for t in oldest_first.trades] == [2, 3]
    assert not oldest_first.has_more
    btc_futures = await trader.public.get_last_trades_by_currency("BTC", kind="future")
    assert {t.instrument_name for t in btc_futures.trades} == {PERP}
    window = await trader.public.get_last_trades_by_instrument_and_time(
        PERP, fills[1].timestamp, fills[2].timestamp
    )
    assert {t.trade_id for t in window.trades} <= {f.trade_id for f in fills}
    options = await trader.public.get_last_trades_by_currency_and_time(
        "BTC", fills[0].timestamp, fills[-1].timestamp, kind="option"
    )
    assert options.trades == []


async def test_tradingview_chart_has_history_and_ends_with_the_fills(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    filled = await trader.private.buy(PERP, amount=500, type="market")
    now = sim.now_ms()
    chart = await trader.public.get_tradingview_chart_data(PERP, now - 3_600_000, now, "1")
    assert chart.status == "ok"
    assert chart.ticks
    assert chart.open
    assert chart.high
    assert chart.low
    assert chart.close
    assert chart.cost
    assert len(chart.ticks) in (60, 61)  # a bot's start-up indicators get an hour of data
    assert all(b - a == 60_000 for a, b in zip(chart.ticks, chart.ticks[1:], strict=False))
    for o, h, lo, c in zip(chart.open, chart.high, chart.low, chart.close, strict=True):
        assert lo <= min(o, c) <= max(o, c) <= h
    assert chart.close[-1] == filled.trades[-1].price
    assert chart.high[-1] == max(t.price for t in filled.trades)
    assert chart.cost[-1] == pytest.approx(500)  # futures: cost in USD
    again = await trader.public.get_tradingview_chart_data(PERP, now - 3_600_000, now, "1")
    assert (again.close or [])[:-1] == chart.close[:-1]  # the made-up past does not change
    empty = await trader.public.get_tradingview_chart_data(PERP, now, now - 60_000, "1")
    assert empty.status == "no_data"
    assert empty.ticks == []


async def test_own_trades_by_time_and_order_history(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    start = sim.now_ms()
    filled = await trader.private.buy(PERP, amount=10, type="market")
    resting = await trader.private.buy(PERP, amount=10, price=1000.0)
    cancelled = await trader.private.cancel(resting.order.order_id)
    end = sim.now_ms()
    mine = await trader.private.get_user_trades_by_instrument_and_time(PERP, start, end)
    assert [t.trade_id for t in mine.trades] == [t.trade_id for t in filled.trades[::-1]]
    assert all(t.order_id == filled.order.order_id for t in mine.trades)
    by_currency = await trader.private.get_user_trades_by_currency_and_time(
        "BTC", start, end, sorting="asc"
    )
    assert [t.trade_id for t in by_currency.trades] == [t.trade_id for t in filled.trades]
    history = await trader.private.get_order_history_by_currency("BTC")
    assert isinstance(history, list)
    assert [o.order_id for o in history] == [filled.order.order_id]  # unfilled ones left out
    with_unfilled = await trader.private.get_order_history_by_currency("BTC", include_unfilled=True)
    assert isinstance(with_unfilled, list)
    assert [o.order_id for o in with_unfilled] == [cancelled.order_id, filled.order.order_id]
    first = await trader.private.get_order_history_by_currency(
        "BTC", include_unfilled=True, count=1, with_continuation=True
    )
    assert isinstance(first, OrderHistoryPage)
    assert [o.order_id for o in first.orders] == [cancelled.order_id]
    assert first.continuation is not None
    rest = await trader.private.get_order_history_by_currency(
        "BTC", include_unfilled=True, count=1, with_continuation=True,
        continuation=first.continuation,
    )  # fmt: skip
    assert isinstance(rest, OrderHistoryPage)
    assert [o.order_id for o in rest.orders] == [filled.order.order_id]
    assert rest.continuation is None
    assert all(isinstance(o, Order) for o in rest.orders)


async def test_time_windows_may_be_given_as_aware_datetimes(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    start = sim.now_ms()
    filled = await trader.private.buy(PERP, amount=10, type="market")
    end = sim.now_ms()
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    tokyo = dt.timezone(dt.timedelta(hours=9), "JST")
    since = (epoch + dt.timedelta(milliseconds=start)).astimezone(tokyo)
    until = epoch + dt.timedelta(milliseconds=end)
    by_moments = await trader.private.get_user_trades_by_instrument_and_time(PERP, since, until)
    by_numbers = await trader.private.get_user_trades_by_instrument_and_time(PERP, start, end)
    assert [t.trade_id for t in by_moments.trades] == [t.trade_id for t in filled.trades[::-1]]
    assert by_moments == by_numbers
    raw = await trader.call(
        "public/get_last_trades_by_instrument_and_time",
        {"instrument_name": PERP, "start_timestamp": since, "end_timestamp": until},
    )
    assert {t["trade_id"] for t in raw["trades"]} == {t.trade_id for t in filled.trades}
    with pytest.raises(ClientError, match="end_timestamp must be an aware datetime"):
        await trader.public.get_tradingview_chart_data(PERP, since, dt.datetime.now(), "1")


async def test_history_params_outside_their_documented_bounds_are_refused(
    trader: DeribitClient,
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        await trader.public.get_last_trades_by_instrument(PERP, count=5000)
    assert refused.value.data == {"reason": "must be at most 1000", "param": "count"}
    with pytest.raises(InvalidRequestError):
        await trader.public.get_tradingview_chart_data(PERP, 0, 1, "2")  # type: ignore[arg-type]


async def test_the_transaction_log_explains_every_balance_change(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    start = sim.now_ms()
    deposits = await trader.private.get_deposits("BTC")
    assert deposits.count == 1  # the starting balance arrived as a deposit
    filled = await trader.private.buy(PERP, amount=100, type="market")
    sub = await trader.private.create_subaccount()
    await trader.private.submit_transfer_to_subaccount("BTC", 1.5, sub.id)
    own = await trader.private.get_current_deposit_address("BTC")
    assert own is not None
    with pytest.raises(RpcError) as to_self:
        await trader.private.withdraw("BTC", own.address, 0.25)
    assert to_self.value.code == 11096  # address_belongs_to_user: a transfer, not a withdrawal
    with pytest.raises(InsufficientFundsError):
        await trader.private.withdraw("BTC", "bc1-elsewhere", 1_000.0)
    withdrawal = await trader.private.withdraw("BTC", "bc1-elsewhere", 0.25)
    assert withdrawal.id is not None
    cancelled = await trader.private.cancel_withdrawal("BTC", withdrawal.id)
    assert cancelled.state == "cancelled"
    summary = await trader.private.get_account_summary("BTC")
    log = await trader.private.get_transaction_log("BTC", 0, sim.now_ms() + 1, count=100)
    assert log.logs is not None
    entries = log.logs[::-1]  # oldest first
    assert [e.type for e in entries] == [
        "deposit",
        *["trade"] * len(filled.trades),
        "transfer",
        "withdrawal",
        "withdrawal",
    ]
    assert sum(e.change or 0 for e in entries) == pytest.approx(summary.balance)
    assert entries[-1].balance == pytest.approx(summary.balance)
    trades_only = await trader.private.get_transaction_log(
        "BTC", start, sim.now_ms(), query="trade"
    )
    assert {e.trade_id for e in trades_only.logs} == {t.trade_id for t in filled.trades}
    page = await trader.private.get_transaction_log("BTC", 0, sim.now_ms(), count=2)
    assert page.continuation is not None
    rest = await trader.private.get_transaction_log(
        "BTC", 0, sim.now_ms(), count=100, continuation=int(page.continuation)
    )
    assert len(page.logs) + len(rest.logs) == len(entries)
    transfers = await trader.private.get_transfers("BTC")
    assert [(t.amount, t.other_side) for t in transfers.data] == [(1.5, sub.username)]
    subaccounts = await trader.private.get_subaccounts(with_portfolio=True)
    (mine,) = [s for s in subaccounts if s.id == sub.id]
    assert mine.portfolio is not None
    withdrawals = await trader.private.get_withdrawals("BTC")
    assert [w.state for w in withdrawals.data] == ["cancelled"]
    settlements = await trader.private.get_settlement_history_by_currency("BTC")
    assert settlements.settlements == []  # the simulated market never settles
    margins = await trader.private.get_margins(PERP, 10_000, 60_000.0)
    assert margins.buy == pytest.approx(10_000 / 60_000 * 0.02)
