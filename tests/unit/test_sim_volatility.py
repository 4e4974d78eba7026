"""The simulator's volatility solver inverts its option pricing: whatever the option,
the underlying and the volatility, the volatility solved from a price values the option
back at that price (within what rounding it to two decimals moves), and prices outside
what a volatility can reach give the ends of the range."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deribit_client.testing import DeribitSimulator
from deribit_client.testing._market import _usd_per_price, _value_and_vega

NOW = 1_790_000_000.0  # seconds: a fixed clock, so the options' expiries are fixed
_sim = DeribitSimulator(seed=1, clock=lambda: NOW)
_market = _sim.market
_OPTIONS = sorted(n for n, i in _market.instruments.items() if i["kind"] == "option")


@given(
    name=st.sampled_from(_OPTIONS),
    move=st.floats(0.5, 2.0),
    volatility=st.floats(1.0, 400.0),
    hours=st.floats(0.0, 24.0 * 60),
)
def test_a_solved_volatility_prices_the_option_back(
    name: str, move: float, volatility: float, hours: float
) -> None:
    instrument = _market.instruments[name]
    index = instrument["price_index"]
    opening = _market.opening_prices[index]
    now = int(NOW * 1000 - hours * 3_600_000)  # up to two months before the clock
    _market.index_prices[index] = spot = opening * move
    try:
        value, _ = _value_and_vega(instrument, spot, volatility, now)
        price = value / _usd_per_price(instrument, spot)  # in the coin, or in USDC (linear)
        solved = _market.implied_volatility(name, price, now)
        back, vega = _value_and_vega(instrument, spot, solved, now)
    finally:
        _market.index_prices[index] = opening
    assert 0 <= solved <= 1000
    if 0 < solved < 1000:
        assert back == pytest.approx(value, abs=vega * 0.005 + 1e-6 * spot)


@pytest.mark.parametrize("price", [0.0, 10.0])
def test_prices_no_volatility_reaches_give_the_ends_of_the_range(price: float) -> None:
    # nothing (at or below the intrinsic value) and ten coins per coin of underlying
    name = _OPTIONS[0]
    solved = _market.implied_volatility(name, price, int(NOW * 1000))
    assert solved == (0.0 if price == 0 else 1000.0)
