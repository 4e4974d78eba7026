"""The simulator's option volatilities agree with its option prices, as Deribit's do: a
ticker's ``mark_iv``, ``bid_iv`` and ``ask_iv`` are the Black-Scholes volatilities of its
mark, best bid and best ask at ``underlying_price`` (no rates), its greeks follow
``mark_iv``, a trade's ``iv`` is its price's, and ``markprice.options`` reports the same
``iv`` as the ticker. The test prices options with its own Black-Scholes."""

from __future__ import annotations

import asyncio
import math

import pytest

from deribit_client import DeribitClient, Notification
from deribit_client.models import Ticker
from deribit_client.testing import DeribitSimulator
from tests.helpers import black_scholes, normal

_YEAR_MS = 365 * 86_400_000


async def _option(client: DeribitClient, call: bool = True) -> tuple[str, float, int]:
    """The at-the-money-most BTC option of a type: ``(name, strike, expiry)``."""
    index = (await client.public.get_index_price("btc_usd")).index_price or 0.0
    options = [
        o
        for o in await client.public.get_instruments("BTC", kind="option")
        if o.option_type == ("call" if call else "put")
    ]
    best = min(options, key=lambda o: abs((o.strike or 0) - index))
    return best.instrument_name, best.strike or 0.0, best.expiration_timestamp or 0


def _years(ticker: Ticker, expiry: int) -> float:
    return (expiry - (ticker.timestamp or 0)) / _YEAR_MS


async def test_a_tickers_volatilities_price_its_mark_bid_and_ask(trader: DeribitClient) -> None:
    for call in (True, False):
        name, strike, expiry = await _option(trader, call)
        ticker = await trader.public.ticker(name)
        spot, years = ticker.underlying_price or 0.0, _years(ticker, expiry)
        assert spot == ticker.index_price  # no rates: the forward is the index
        quoted = (
            (ticker.mark_iv, ticker.mark_price),
            (ticker.bid_iv, ticker.best_bid_price),
            (ticker.ask_iv, ticker.best_ask_price),
        )
        for iv, price in quoted:
            assert iv is not None
            assert price is not None
            assert black_scholes(call, spot, strike, years, iv) == pytest.approx(price, abs=2e-5)
        assert (ticker.bid_iv or 0) < (ticker.mark_iv or 0) < (ticker.ask_iv or 0)
        # Options open near Deribit's typical volatility, as if marked from its surface.
        assert 40 < (ticker.mark_iv or 0) < 60


async def test_greeks_follow_the_mark_volatility(trader: DeribitClient) -> None:
    name, strike, expiry = await _option(trader)
    ticker = await trader.public.ticker(name)
    spot, years, iv = ticker.underlying_price or 0.0, _years(ticker, expiry), ticker.mark_iv or 0
    spread = iv / 100 * math.sqrt(years)
    d1 = (math.log(spot / strike) + spread * spread / 2) / spread
    assert ticker.greeks is not None
    assert ticker.greeks.delta == pytest.approx(normal(d1), abs=1e-4)


async def test_moving_an_options_market_moves_its_volatilities(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    name, _, _ = await _option(trader)
    before = await trader.public.ticker(name)
    await sim.move_market(name, (before.mark_price or 0) + 0.01)
    after = await trader.public.ticker(name)
    # A dearer call, a higher volatility: the strike's put is marked at it too.
    assert (after.mark_iv or 0) > (before.mark_iv or 0) + 1
    assert (after.mark_price or 0) > (before.mark_price or 0)
    put = await trader.public.ticker(name.removesuffix("C") + "P")
    assert put.mark_iv == after.mark_iv
    assert (after.greeks.vega if after.greeks else 0) != (
        before.greeks.vega if before.greeks else 0
    )
    # The index rising lifts the call's mark by about its delta, at the strike's
    # volatility (the call's book now says less, the put's more).
    index = after.index_price or 0
    await sim.set_index_price("btc_usd", index * 1.01)
    lifted = await trader.public.ticker(name)
    assert lifted.mark_iv == pytest.approx(after.mark_iv, abs=1)
    delta = (after.greeks.delta if after.greeks else None) or 0
    gained = (lifted.mark_price or 0) * index * 1.01 - (after.mark_price or 0) * index
    assert gained == pytest.approx(delta * index * 0.01, rel=0.2)  # in USD


async def test_a_trades_iv_is_its_prices_and_user_trades_show_the_underlying(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    name, strike, expiry = await _option(trader, call=False)
    bought = await trader.private.buy(name, amount=0.1, type="market")
    (trade,) = bought.trades
    ticker = await trader.public.ticker(name)
    years = (expiry - (trade.timestamp or 0)) / _YEAR_MS
    assert trade.underlying_price == ticker.index_price
    assert trade.iv is not None
    assert black_scholes(False, trade.underlying_price or 0.0, strike, years, trade.iv) == (
        pytest.approx(trade.price, abs=2e-5)
    )
    (public,) = (await trader.public.get_last_trades_by_instrument(name)).trades
    assert public.iv == trade.iv


async def test_mark_price_options_channel_reports_the_tickers_iv(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    name, strike, expiry = await _option(trader)
    async with trader.subscribe("markprice.options.btc_usd") as marks:
        sim.start_streams(0.01)
        notification = await asyncio.wait_for(anext(marks), 5)
        sim.stop_streams()
    assert isinstance(notification, Notification)
    mark = next(m for m in notification.data if m.instrument_name == name)
    ticker = await trader.public.ticker(name)
    assert mark.mark_price == ticker.mark_price
    assert mark.iv == pytest.approx(ticker.mark_iv, abs=0.01)  # a few ms later
    years = (expiry - (mark.timestamp or 0)) / _YEAR_MS
    spot = ticker.underlying_price or 0.0
    assert black_scholes(True, spot, strike, years, mark.iv or 0) == pytest.approx(
        mark.mark_price, abs=2e-5
    )


async def test_a_held_options_value_follows_the_index(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    name, _, _ = await _option(trader)
    await trader.private.buy(name, amount=1, type="market")
    before = await trader.private.get_position(name)
    summary = await trader.private.get_account_summary("BTC")
    index = (await trader.public.get_index_price("btc_usd")).index_price or 0.0
    await sim.set_index_price("btc_usd", index * 1.02)
    after = await trader.private.get_position(name)
    assert (after.mark_price or 0) > (before.mark_price or 0)  # a call gains with the index
    assert (after.floating_profit_loss or 0) > (before.floating_profit_loss or 0)
    lifted = await trader.private.get_account_summary("BTC")
    gained = (after.mark_price or 0) - (before.mark_price or 0)
    assert (lifted.options_value or 0) == pytest.approx((summary.options_value or 0) + gained)


async def test_moving_an_options_market_goes_from_where_its_book_trades(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # The put's dearer book raises the strike's volatility: the call's mark (its value
    # there) rises above its own book, which a move must still climb from.
    call, _, _ = await _option(trader)
    put = call.removesuffix("C") + "P"
    await sim.move_market(put, ((await trader.public.ticker(put)).mark_price or 0) + 0.01)
    ticker = await trader.public.ticker(call)
    ask = ticker.best_ask_price or 0
    target = ask + 0.0005
    assert (ticker.mark_price or 0) > target  # the mark is above where the move ends
    offer = await trader.private.sell(call, amount=0.1, price=ask)
    await sim.move_market(call, target)
    state = await trader.private.get_order_state(offer.order.order_id)
    assert state.order_state == "filled"  # the move up traded through it
