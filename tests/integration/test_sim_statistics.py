"""Market statistics come from the simulated market (issue #11): funding, volatility, mark
and delivery prices, expirations, trade volumes, index names and APR answer with data
that agrees with the tickers, instruments and trades, and stays the same between calls."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from deribit_client import DeribitClient, InvalidRequestError
from deribit_client.models import IndexName
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"
HOUR = 3_600_000
DAY = 24 * HOUR


async def test_funding_history_value_chart_and_ticker_agree(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    now = sim.now_ms()
    history = await trader.public.get_funding_rate_history(PERP, now - 2 * DAY, now)
    assert len(history) in (48, 49)
    stamps = [r.timestamp or 0 for r in history]
    assert all(b - a == HOUR for a, b in itertools.pairwise(stamps))
    assert all(r.prev_index_price == p.index_price for p, r in itertools.pairwise(history))
    assert any(r.interest_1h for r in history)  # the premium leaves the band at times
    for n in range(8, len(history)):  # the 8h rate is the last eight hours' accruals
        eight = sum(r.interest_1h or 0.0 for r in history[n - 7 : n + 1])
        assert history[n].interest_8h == pytest.approx(eight)
    value = await trader.public.get_funding_rate_value(PERP, now - 2 * DAY, now)
    assert value == pytest.approx(sum(r.interest_1h or 0.0 for r in history))
    ticker = await trader.public.ticker(PERP)
    chart = await trader.public.get_funding_chart_data(PERP, "24h")
    assert ticker.funding_8h == chart.interest_8h == history[-1].interest_8h
    assert chart.data is not None
    assert len(chart.data) in (24, 25)
    assert await trader.public.get_funding_rate_history(PERP, now - 2 * DAY, now) == history
    with pytest.raises(InvalidRequestError) as refused:
        await trader.public.get_funding_rate_history("BTC-PERPETUAL-X", now - DAY, now)
    assert refused.value.code == 10020
    future = (await trader.public.get_instruments("BTC", kind="future"))[-1].instrument_name
    with pytest.raises(InvalidRequestError) as not_perpetual:
        await trader.public.get_funding_rate_value(future, now - DAY, now)
    assert not_perpetual.value.code == 10020


async def test_volatility_series(sim: DeribitSimulator, trader: DeribitClient) -> None:
    now = sim.now_ms()
    historical = await trader.public.get_historical_volatility("BTC")
    assert len(historical) == 16 * 24
    assert all(b[0] - a[0] == HOUR for a, b in itertools.pairwise(historical))
    assert historical[-1][0] <= now
    assert all(10 < v < 100 for _, v in historical)
    assert await trader.public.get_historical_volatility("USDC") == []

    page = await trader.public.get_volatility_index_data("BTC", now - 2 * DAY, now, "60")
    assert page.data is not None
    assert len(page.data) == 1_000  # the newest candles
    for _, o, h, lo, c in page.data:
        assert lo <= min(o, c) <= max(o, c) <= h
    assert page.data[-1][0] == now // 60_000 * 60_000
    assert isinstance(page.continuation, int)
    older = await trader.public.get_volatility_index_data(
        "BTC", now - 2 * DAY, page.continuation, "60"
    )
    assert older.data is not None
    assert older.data[-1][0] == page.data[0][0] - 60_000
    hourly = await trader.public.get_volatility_index_data("ETH", now - DAY, now, "3600")
    assert hourly.data is not None
    assert len(hourly.data) in (24, 25)
    assert hourly.continuation is None
    none = await trader.public.get_volatility_index_data("USDC", now - DAY, now, "3600")
    assert none.data == []


async def test_mark_price_history_is_for_options_only(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    now = sim.now_ms()
    option = (await trader.public.get_instruments("BTC", kind="option"))[0].instrument_name
    marks = await trader.public.get_mark_price_history(option, now - DAY, now)
    assert 290 <= len(marks) <= 301  # the last five minutes, a value a second
    assert marks[0][0] > marks[-1][0] >= now - 5 * 60_000  # newest first
    mark = (await trader.public.ticker(option)).mark_price
    assert marks[0][1] == pytest.approx(mark, rel=1e-4)  # ends at the mark (made up before)
    assert await trader.public.get_mark_price_history(PERP, now - DAY, now) == []


async def test_delivery_prices_page_back_a_year(trader: DeribitClient) -> None:
    first = await trader.public.get_delivery_prices("btc_usd", count=5)
    second = await trader.public.get_delivery_prices("btc_usd", offset=5, count=5)
    assert first.records_total == 365
    assert first.data is not None
    assert second.data is not None
    days = [dt.date.fromisoformat(d.date or "") for d in first.data + second.data]
    assert all(a - b == dt.timedelta(days=1) for a, b in itertools.pairwise(days))
    last = await trader.public.get_delivery_prices("btc_usd", offset=360, count=10)
    assert last.data is not None
    assert len(last.data) == 5
    unlisted = await trader.public.get_delivery_prices("ada_usdc")
    assert unlisted.data == []
    assert unlisted.records_total == 0


async def test_expirations_are_the_listed_instruments(trader: DeribitClient) -> None:
    futures = await trader.public.get_instruments("BTC", kind="future")
    codes = {i.instrument_name.split("-")[1] for i in futures}
    btc = await trader.public.get_expirations("BTC", "future")
    assert set(btc) == {"future"}
    assert set(btc["future"]) == codes
    listed = btc["future"]
    assert isinstance(listed, list)
    assert listed[-1] == "PERPETUAL"  # soonest first; perpetuals never expire
    both = await trader.public.get_expirations("any", "any")
    assert set(both) == {"future", "option"}
    assert both["option"]
    grouped = await trader.public.get_expirations("grouped", "future")
    assert grouped["BTC"] == btc
    usdc = await trader.public.get_expirations("BTC", "future", currency_pair="btc_usdc")
    assert usdc == {"future": []}


async def test_trade_volumes_count_the_fills(trader: DeribitClient) -> None:
    before = {v.currency: v for v in await trader.public.get_trade_volumes()}
    filled = await trader.private.buy(PERP, amount=6_500, type="market")
    option = (await trader.public.get_instruments("BTC", kind="option"))[0]
    await trader.private.buy(option.instrument_name, amount=1, type="market")
    after = {v.currency: v for v in await trader.public.get_trade_volumes(extended=True)}
    coins = sum(t.amount / t.price for t in filled.trades)
    assert after["BTC"].futures_volume == pytest.approx((before["BTC"].futures_volume or 0) + coins)
    kind = "calls_volume" if option.option_type == "call" else "puts_volume"
    assert getattr(after["BTC"], kind) == getattr(before["BTC"], kind) + 1
    assert after["BTC"].futures_volume_30d == after["BTC"].futures_volume
    assert before["BTC"].futures_volume_30d is None  # only with extended


async def test_index_names(trader: DeribitClient) -> None:
    listed = await trader.public.get_index_price_names()
    names = [n for n in listed if isinstance(n, str)]
    assert "btc_usd" in names
    assert len(names) == len(listed)  # plain names without extended
    extended = await trader.public.get_index_price_names(extended=True)
    by_name = {e.name: e for e in extended if isinstance(e, IndexName)}
    assert set(by_name) == set(names)
    assert by_name["btc_usd"].future_combo_creation_enabled is True
    assert by_name["usdc_usdt"].future_combo_creation_enabled is None
    derivative = await trader.public.get_supported_index_names(type="derivative")
    spot = await trader.public.get_supported_index_names(type="spot")
    assert "btc_usd" in derivative
    assert "btc_usdc" in derivative  # BTC_USDC-PERPETUAL's index
    assert "sol_usdc" in derivative  # SOL_USDC options' index
    assert "paxg_usdc" in spot
    assert sorted(str(n) for n in [*derivative, *spot]) == sorted(names)


async def test_apr_history_pages_by_epoch_day(sim: DeribitSimulator, trader: DeribitClient) -> None:
    today = sim.now_ms() // DAY
    page = await trader.public.get_apr_history("usde", limit=10)
    assert page.data is not None
    assert [d.day for d in page.data] == list(range(today - 1, today - 11, -1))
    assert page.continuation == today - 10
    older = await trader.public.get_apr_history("usde", limit=10, before=page.continuation)
    assert older.data is not None
    assert older.data[0].day == today - 11
    with pytest.raises(InvalidRequestError) as refused:
        await trader.public.get_apr_history("usde", limit=366)
    assert refused.value.data == {"reason": "must be from 1 to 365", "param": "limit"}
