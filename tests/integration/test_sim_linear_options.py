"""Linear (USDC) options in the simulator, as Deribit lists ``SOL_USDC-…`` and
``XRP_USDC-…-0d625-C``: sized in the coin, priced, margined and settled in USDC; their
fees are shares of the underlying's USDC value, as an inverse option's are of its coins."""

from __future__ import annotations

import pytest

from deribit_client import DeribitClient
from deribit_client.models import Instrument
from deribit_client.testing import DeribitSimulator
from tests.helpers import black_scholes

FEE_RATE = 0.0003  # options: 0.03% of the underlying (Deribit's Fees article)


async def _linear(client: DeribitClient, coin: str, option_type: str) -> Instrument:
    """The at-the-money-most linear option of ``coin``."""
    index = (await client.public.get_index_price(f"{coin.lower()}_usdc")).index_price or 0.0
    options = [
        o
        for o in await client.public.get_instruments("USDC", kind="option")
        if o.base_currency == coin and o.option_type == option_type
    ]
    return min(options, key=lambda o: abs((o.strike or 0) - index))


async def test_linear_options_are_listed_under_usdc_with_decimal_strikes(
    trader: DeribitClient,
) -> None:
    options = await trader.public.get_instruments("USDC", kind="option")
    assert {o.base_currency for o in options} == {"SOL", "XRP"}
    for option in options:
        assert option.instrument_type == "linear"
        assert (option.quote_currency, option.settlement_currency) == ("USDC", "USDC")
        strike = option.instrument_name.split("-")[2]
        assert float(strike.replace("d", ".")) == option.strike
    assert any("d" in o.instrument_name.split("-")[2] for o in options)  # XRP's 0d525
    btc = await trader.public.get_instruments("BTC", kind="option")
    assert all(o.instrument_type == "reversed" for o in btc)


async def test_a_linear_options_price_is_its_usd_value(trader: DeribitClient) -> None:
    call = await _linear(trader, "SOL", "call")
    ticker = await trader.public.ticker(call.instrument_name)
    years = ((call.expiration_timestamp or 0) - (ticker.timestamp or 0)) / (365 * 86_400_000)
    spot = ticker.underlying_price or 0.0
    assert spot == ticker.index_price
    # black_scholes gives a value per coin of underlying: times the index, in USDC
    usd = black_scholes(True, spot, call.strike or 0.0, years, ticker.mark_iv or 0.0) * spot
    assert usd == pytest.approx(ticker.mark_price, rel=1e-6)
    assert (ticker.max_price or 0) == pytest.approx(
        (ticker.mark_price or 0) + 0.04 * spot, abs=0.01
    )


async def test_a_linear_option_trade_pays_premium_and_fee_in_usdc(
    trader: DeribitClient,
) -> None:
    call = await _linear(trader, "SOL", "call")
    before = await trader.private.get_account_summary("USDC")
    bought = await trader.private.buy(call.instrument_name, amount=10, type="market")
    index = (await trader.public.get_index_price("sol_usdc")).index_price or 0.0
    premium = sum((t.price or 0) * (t.amount or 0) for t in bought.trades)
    fee = sum(t.fee or 0 for t in bought.trades)
    assert {t.fee_currency for t in bought.trades} == {"USDC"}
    assert fee == pytest.approx(min(FEE_RATE * index * 10, 0.125 * premium), rel=1e-6)
    after = await trader.private.get_account_summary("USDC")
    assert (after.balance or 0) == pytest.approx((before.balance or 0) - premium - fee)
    position = await trader.private.get_position(call.instrument_name)
    assert (position.size, position.initial_margin) == (10, 0)  # a bought option is paid


async def test_a_written_linear_option_is_margined_on_its_underlying(
    trader: DeribitClient,
) -> None:
    put = await _linear(trader, "XRP", "put")
    await trader.private.sell(put.instrument_name, amount=100, type="market")
    index = (await trader.public.get_index_price("xrp_usdc")).index_price or 0.0
    position = await trader.private.get_position(put.instrument_name)
    assert position.size == -100
    assert position.initial_margin == pytest.approx(0.02 * index * 100, rel=1e-6)


async def test_a_delivered_linear_option_pays_its_intrinsic_value_in_usdc(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    call = await _linear(trader, "SOL", "call")
    await trader.private.buy(call.instrument_name, amount=10, type="market")
    await sim.set_index_price("sol_usdc", (call.strike or 0) + 10)  # in the money by 10
    before = await trader.private.get_account_summary("USDC")
    await sim.set_instrument_state(call.instrument_name, "delivered")
    after = await trader.private.get_account_summary("USDC")
    value = 10 * 10.0
    fee = min(0.00015 * ((call.strike or 0) + 10) * 10, 0.125 * value)
    assert (after.balance or 0) == pytest.approx((before.balance or 0) + value - fee)
