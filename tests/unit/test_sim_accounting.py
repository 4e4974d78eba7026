"""The simulator's position accounting loses and makes no money: whatever the trades and
daily settlements, what was settled plus what was realized plus the open position's
profit equals the sum of every trade's own profit at the same price; and fees follow
Deribit's Fees article."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deribit_client.testing._accounting import apply_position, pnl, trade_fee

INVERSE = {"instrument_name": "F", "kind": "future", "instrument_type": "reversed",
           "maker_commission": 0.0, "taker_commission": 0.0005}  # fmt: skip
LINEAR = {"instrument_name": "L", "kind": "future", "instrument_type": "linear",
          "maker_commission": 0.0, "taker_commission": 0.0005}  # fmt: skip
OPTION = {"instrument_name": "O", "kind": "option", "instrument_type": "reversed",
          "maker_commission": 0.0003, "taker_commission": 0.0003}  # fmt: skip

_steps = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 50).map(lambda n: n * 10.0),
            st.integers(40_000, 90_000).map(float),
        ),
        st.integers(40_000, 90_000).map(float),  # a daily settlement at this mark
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.parametrize(
    "instrument", [INVERSE, LINEAR, OPTION], ids=["inverse-future", "linear-future", "option"]
)
@given(steps=_steps, end=st.integers(40_000, 90_000).map(float))
def test_trades_and_settlements_conserve_profit(
    instrument: dict[str, Any], steps: list[Any], end: float
) -> None:
    positions: dict[str, dict[str, Any]] = {}
    settled = 0.0
    expected = 0.0
    for step in steps:
        if isinstance(step, float):  # the daily settlement moves the session into cash
            position = positions.get(instrument["instrument_name"])
            if position is not None:
                settled += pnl(instrument, position["size"], position["basis"], step)
                settled += position["session_rpl"]
                position["basis"] = step if position["size"] else 0.0
                position["session_rpl"] = 0.0
            continue
        direction, amount, price = step
        apply_position(positions, instrument, direction, amount, price)
        signed = amount if direction == "buy" else -amount
        expected += pnl(instrument, signed, price, end)
    position = positions.get(instrument["instrument_name"], {"size": 0.0, "basis": 0.0,
                                                             "session_rpl": 0.0})  # fmt: skip
    held = pnl(instrument, position["size"], position["basis"], end)
    total = settled + position["session_rpl"] + held
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_fees_follow_the_commissions_and_an_option_fee_is_capped() -> None:
    assert trade_fee(INVERSE, 10_000, 100_000, "T", None) == pytest.approx(0.00005)
    assert trade_fee(INVERSE, 10_000, 100_000, "M", None) == 0
    assert trade_fee(OPTION, 2, 0.05, "T", None) == pytest.approx(0.0006)
    # 0.0003 per contract would exceed 12.5% of a 0.0001 premium
    assert trade_fee(OPTION, 1, 0.0001, "T", None) == pytest.approx(0.0000125)
    assert trade_fee(INVERSE, 10_000, 100_000, "M", 0.00025) == pytest.approx(0.000025)
    # a linear future's fee is of its value in USDC: 0.1 BTC at 100,000
    assert trade_fee(LINEAR, 0.1, 100_000, "T", None) == pytest.approx(5.0)
