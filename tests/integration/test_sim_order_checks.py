"""The simulator refuses orders the way Deribit's parameter descriptions and error table
say: a ``valid_until`` already past is ``13888 timed_out`` (nothing placed or changed),
``post_only`` outside a good-til-cancelled limit order is ``11055``, ``advanced`` outside
options is ``11038`` and with ``post_only`` ``11039``."""

from __future__ import annotations

from typing import Any

import pytest

from deribit_client import DeribitClient, RpcError
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"


async def _refused(client: DeribitClient, method: str, params: dict[str, Any]) -> int:
    with pytest.raises(RpcError) as refused:
        await client.call(method, params)
    return refused.value.code


async def test_a_request_past_its_valid_until_is_refused_and_changes_nothing(
    trader: DeribitClient,
) -> None:
    now = await trader.public.get_time()
    ticker = await trader.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    price = ticker.best_bid_price - 100
    order = {"instrument_name": PERP, "amount": 10, "price": price}
    assert await _refused(trader, "private/buy", {**order, "valid_until": now - 1}) == 13888
    assert await trader.private.get_open_orders() == []
    placed = await trader.private.buy(PERP, amount=10, price=price, valid_until=now + 60_000)
    edit = {"order_id": placed.order.order_id, "amount": 20, "valid_until": now - 1}
    assert await _refused(trader, "private/edit", edit) == 13888
    assert (await trader.private.get_order_state(placed.order.order_id)).amount == 10


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"type": "market", "post_only": True}, 11055),
        ({"price": 1000, "post_only": True, "time_in_force": "immediate_or_cancel"}, 11055),
        ({"price": 1000, "post_only": True, "time_in_force": "good_til_day"}, 11055),
        ({"price": 1000, "advanced": "usd"}, 11038),
    ],
)
async def test_order_options_deribit_does_not_combine_are_refused(
    trader: DeribitClient, extra: dict[str, Any], code: int
) -> None:
    params = {"instrument_name": PERP, "amount": 10, **extra}
    assert await _refused(trader, "private/buy", params) == code
    assert await trader.private.get_open_orders() == []


async def test_an_advanced_option_order_cannot_be_post_only(trader: DeribitClient) -> None:
    option = (await trader.public.get_instruments("BTC", kind="option"))[0].instrument_name
    params = {"instrument_name": option, "amount": 1, "price": 60, "advanced": "implv",
              "post_only": True}  # fmt: skip
    assert await _refused(trader, "private/buy", params) == 11039
    del params["post_only"]
    assert await _refused(trader, "private/buy", {**params, "price": -5}) == -32602


TICK = 0.0005  # the simulator's options


def _snap(price: float) -> float:
    return round(round(price / TICK) * TICK, 10)


async def _call_option(client: DeribitClient) -> tuple[str, float, float]:
    """The call nearest the money (its price follows the volatility most), its mark
    price and its index price."""
    index = (await client.public.get_index_price("btc_usd")).index_price or 0.0
    calls = [o for o in await client.public.get_instruments("BTC", kind="option")
             if o.option_type == "call"]  # fmt: skip
    name = min(calls, key=lambda o: abs((o.strike or 0) - index)).instrument_name
    ticker = await client.public.ticker(name)
    assert ticker.mark_price is not None
    assert ticker.index_price is not None
    return name, ticker.mark_price, ticker.index_price


async def test_an_advanced_usd_order_keeps_its_usd_price_as_the_index_moves(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    option, mark, index = await _call_option(trader)
    usd = round(mark * 0.99 * index)  # a dollar price just under the mark
    placed = await trader.private.buy(option, amount=1, price=usd, advanced="usd")
    order = placed.order
    assert (order.advanced, order.usd, order.price) == ("usd", usd, _snap(usd / index))
    await sim.set_index_price("btc_usd", index * 1.02)
    moved = await trader.private.get_order_state(order.order_id)
    assert (moved.usd, moved.price) == (usd, _snap(usd / (index * 1.02)))
    book = await trader.public.get_order_book(option, depth=100)
    assert moved.price in [price for price, _ in book.bids or ()]  # it rests there


async def test_an_advanced_implv_order_is_priced_from_its_volatility(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    option, mark, _ = await _call_option(trader)
    now = await trader.public.get_time()
    low, high = 1.0, 500.0  # the volatility that prices the call at its mark
    for _ in range(60):
        middle = (low + high) / 2
        if sim.market.advanced_price(option, "implv", middle, now) < mark:
            low = middle
        else:
            high = middle
    iv = round(low * 0.99, 2)
    placed = await trader.private.buy(option, amount=1, price=iv, advanced="implv")
    assert (placed.order.advanced, placed.order.implv) == ("implv", iv)
    price = placed.order.price
    assert isinstance(price, float)  # not "market_price"
    assert mark * 0.97 <= price <= mark  # a lower volatility, a lower price
    # A fifth lower: a move of several ticks even days before expiry (the simulator's
    # options expire at the month's end), where 2% may not move the price a tick.
    edited = await trader.private.edit(placed.order.order_id, price=iv * 0.8, advanced="implv")
    assert edited.order.implv == iv * 0.8
    assert isinstance(edited.order.price, float)
    assert edited.order.price < price
    plain = await trader.private.buy(option, amount=1, price=_snap(mark * 0.98))
    refused = {"order_id": plain.order.order_id, "price": 50, "advanced": "implv"}
    assert await _refused(trader, "private/edit", refused) == 11041


async def test_an_advanced_order_re_priced_into_its_own_offer_is_cancelled(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    await trader.private.set_self_trading_config("reject_taker", False)
    option, _, index = await _call_option(trader)
    ticker = await trader.public.ticker(option)
    assert ticker.best_bid_price is not None
    bid = ticker.best_bid_price
    offer = await trader.private.sell(option, amount=1, price=_snap(bid + TICK))
    placed = await trader.private.buy(option, amount=1, price=bid * index, advanced="usd")
    assert placed.order.price == _snap(bid)
    await sim.set_index_price("btc_usd", index * 0.95)  # its price would pass its own offer
    state = await trader.private.get_order_state(placed.order.order_id)
    assert (state.order_state, state.filled_amount) == ("cancelled", 0)
    assert (await trader.private.get_order_state(offer.order.order_id)).order_state == "open"
    book = await trader.public.get_order_book(option, depth=100)
    assert _snap(bid) not in [price for price, amount in book.bids or () if amount == 1]


async def test_a_market_order_takes_nothing_beyond_the_price_band(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    ticker = await trader.public.ticker(PERP)
    assert ticker.max_price is not None
    beyond = await counterparty.private.sell(PERP, amount=100, price=ticker.max_price + 500)
    bought = await trader.private.buy(PERP, amount=1_000_000, type="market")
    assert all((t.price or 0) <= ticker.max_price for t in bought.trades)
    assert (bought.order.filled_amount or 0) < 1_000_000  # the rest is cancelled, not swept
    left = await counterparty.private.get_order_state(beyond.order.order_id)
    assert (left.order_state, left.filled_amount) == ("open", 0)


async def test_an_option_trades_within_its_price_limits_and_a_market_order_fills(
    trader: DeribitClient,
) -> None:
    options = await trader.public.get_instruments("BTC", kind="option")
    tickers = [await trader.public.ticker(o.instrument_name) for o in options]
    cheap = min(tickers, key=lambda t: t.mark_price or 0)  # where 3% is less than a tick
    assert cheap.mark_price is not None
    # on the tick (an option's mark is its value at its volatility, between ticks)
    assert cheap.min_price == pytest.approx(max(TICK, cheap.mark_price - 0.04), abs=TICK / 2)
    assert cheap.max_price == pytest.approx(cheap.mark_price + 0.04, abs=TICK / 2)
    bought = await trader.private.buy(cheap.instrument_name, amount=1, type="market")
    assert bought.order.filled_amount == 1
