"""The simulator's position accounting loses and makes no money: whatever the trades and
daily settlements, what was settled plus what was realized plus the open position's
profit equals the sum of every trade's own profit at the same price; fees follow
Deribit's Fees article; and the estimated liquidation ratio is the first price move that
leaves a future short of maintenance margin."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from deribit_client.testing._accounting import apply_position, liquidation_ratio, pnl, trade_fee
from deribit_client.testing._market import notional

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
# a linear future's profit runs to millions: its float sums differ in the 16th digit
@example(steps=[("buy", 430.0, 40_000.0), 75_556.0, ("buy", 10.0, 40_000.0)], end=40_000.0)
def test_trades_and_settlements_conserve_profit(
    instrument: dict[str, Any], steps: list[Any], end: float
) -> None:
    positions: dict[str, dict[str, Any]] = {}
    settled = 0.0
    expected = 0.0
    scale = 1.0  # the size of the sums, in the profit's currency
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
        scale += abs(pnl(instrument, amount, price, 2 * price))
    position = positions.get(instrument["instrument_name"], {"size": 0.0, "basis": 0.0,
                                                             "session_rpl": 0.0})  # fmt: skip
    held = pnl(instrument, position["size"], position["basis"], end)
    total = settled + position["session_rpl"] + held
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-9 + 1e-14 * scale)


def test_fees_follow_the_commissions_and_an_option_fee_is_capped() -> None:
    def fee(instrument: dict[str, Any], amount: float, price: float, *how: Any) -> float:
        # Of the notional: for an inverse option, its underlying coins, as exposure() says.
        return trade_fee(instrument, notional(instrument, amount, price), amount, price, *how)

    assert fee(INVERSE, 10_000, 100_000, "T", None) == pytest.approx(0.00005)
    assert fee(INVERSE, 10_000, 100_000, "M", None) == 0
    assert fee(OPTION, 2, 0.05, "T", None) == pytest.approx(0.0006)
    # 0.0003 per contract would exceed 12.5% of a 0.0001 premium
    assert fee(OPTION, 1, 0.0001, "T", None) == pytest.approx(0.0000125)
    assert fee(INVERSE, 10_000, 100_000, "M", 0.00025) == pytest.approx(0.000025)
    # a linear future's fee is of its value in USDC: 0.1 BTC at 100,000
    assert fee(LINEAR, 0.1, 100_000, "T", None) == pytest.approx(5.0)


def _margin_left(
    instrument: dict[str, Any], equity: float, size: float, mark: float, k: float
) -> float:
    """The margin balance less the maintenance margin (1% of the value) if the price
    moved from ``mark`` to ``k`` times it."""
    value = abs(size) / (k * mark) if instrument is INVERSE else abs(size) * k * mark
    return equity + pnl(instrument, size, mark, k * mark) - 0.01 * value


@pytest.mark.parametrize("instrument", [INVERSE, LINEAR], ids=["inverse-future", "linear-future"])
@given(
    equity=st.floats(0.001, 10_000),
    size=st.floats(-1_000_000, 1_000_000).filter(lambda s: abs(s) > 1),
    mark=st.floats(1_000, 100_000),
)
@example(equity=276.0, size=8.0, mark=9546.0)  # a tiny ratio keeps its precision
def test_the_liquidation_ratio_is_the_first_price_move_that_liquidates(
    instrument: dict[str, Any], equity: float, size: float, mark: float
) -> None:
    if _margin_left(instrument, equity, size, mark, 1.0) <= 0:
        return  # already liquidating: no estimate to check
    named = {**instrument, "price_index": "x_usd"}
    sim: Any = SimpleNamespace(
        market=SimpleNamespace(instruments={named["instrument_name"]: named})
    )
    maintenance = 0.01 * (abs(size) / mark if instrument is INVERSE else abs(size) * mark)
    view = {"instrument_name": named["instrument_name"], "size": size, "mark_price": mark,
            "size_currency": size / mark if instrument is INVERSE else size,
            "maintenance_margin": maintenance}  # fmt: skip
    figures = {"margin_balance": equity, "maintenance_margin": maintenance}
    ratio = liquidation_ratio(sim, [view], figures, "x_usd")
    moves = [1.0 + step / 100 for step in range(-99, 0)] + [
        1.0 + step / 10 for step in range(1, 200)
    ]
    if ratio == 0:  # no move liquidates
        assert all(_margin_left(instrument, equity, size, mark, k) > -1e-9 for k in moves)
        return
    # Safe at every move short of the ratio, short of margin just beyond it.
    toward = 0.999 if ratio < 1 else 1.001
    closer = [
        k for k in moves if (k - 1) * (ratio - 1) > 0 and abs(math.log(k)) < abs(math.log(ratio))
    ]
    assert all(_margin_left(instrument, equity, size, mark, k) > -1e-9 for k in closer)
    assert _margin_left(instrument, equity, size, mark, ratio * toward) < 1e-9
