"""When the simulator's trigger orders fire (issue #11): stops buy on a rise and sell on a
fall to their trigger, take-profits the other way round, trailing stops follow the best
price by their offset."""

from __future__ import annotations

from typing import Any

import pytest

from deribit_client.testing._triggers import fires


def _order(order_type: str, direction: str, **more: Any) -> dict[str, Any]:
    return {"order_type": order_type, "direction": direction, "trigger_price": 100.0, **more}


@pytest.mark.parametrize(
    ("order_type", "direction", "at_or_above", "at_or_below"),
    [
        ("stop_market", "buy", True, False),
        ("stop_limit", "sell", False, True),
        ("take_market", "buy", False, True),
        ("take_limit", "sell", True, False),
    ],
)
def test_stops_and_take_profits_fire_on_their_side_of_the_trigger(
    order_type: str, direction: str, at_or_above: bool, at_or_below: bool
) -> None:
    order = _order(order_type, direction)
    assert fires(order, 100.0)  # reaching the trigger is enough
    assert fires(order, 101.0) is at_or_above
    assert fires(order, 99.0) is at_or_below


def test_a_trailing_sell_stop_follows_the_peak_and_fires_an_offset_below_it() -> None:
    order = _order("trailing_stop", "sell", trigger_offset=5.0, _peak=100.0, trigger_price=95.0)
    assert not fires(order, 110.0)
    assert order["trigger_price"] == 105.0  # moved up with the price
    assert not fires(order, 106.0)  # a dip smaller than the offset
    assert order["trigger_price"] == 105.0  # never moves down
    assert fires(order, 105.0)


def test_a_trailing_buy_stop_follows_the_trough_and_fires_an_offset_above_it() -> None:
    order = _order("trailing_stop", "buy", trigger_offset=5.0, _peak=100.0, trigger_price=105.0)
    assert not fires(order, 90.0)
    assert order["trigger_price"] == 95.0
    assert fires(order, 95.5)
