"""Linked orders in the simulator (``linked_order_type`` with ``otoco_config``): a primary
places its secondaries when it executes (OTO), two orders cancel each other (OCO), a
primary places a stop-loss and take-profit pair that cancel each other (OTOCO), as
``trigger_fill_condition`` says; a primary closed unfilled cancels its secondaries."""

from __future__ import annotations

from typing import Any, Final, Literal

import pytest

from deribit_client import DeribitClient, RpcError
from deribit_client.models import Direction, Order, OtocoOrderParam
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"


async def _prices(client: DeribitClient) -> tuple[float, float, float]:
    """Best bid, best ask and the index, rounded to the tick."""
    ticker = await client.public.ticker(PERP)
    index = await client.public.get_index_price("btc_usd")
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    return ticker.best_bid_price, ticker.best_ask_price, float(round(index.index_price))


async def _trade_through(
    sim: DeribitSimulator, client: DeribitClient, direction: str, price: float, extra: float
) -> None:
    """The market trades every level up to ``price`` and ``extra`` more at it."""
    book = await client.public.get_order_book(PERP, depth=1000)
    levels = book.bids if direction == "sell" else book.asks
    reached = [
        amount
        for level_price, amount in levels or ()
        if (level_price >= price if direction == "sell" else level_price <= price)
    ]
    await sim.market_trade(PERP, direction, sum(reached) + extra, price=price)


async def _state(client: DeribitClient, order_id: str) -> Order:
    return await client.private.get_order_state(order_id)


def _stop(direction: Direction, trigger_price: float, amount: float = 10) -> OtocoOrderParam:
    return {"type": "stop_market", "trigger": "index_price", "trigger_price": trigger_price,
            "direction": direction, "amount": amount}  # fmt: skip


Linked = Literal["one_triggers_other", "one_cancels_other", "one_triggers_one_cancels_other"]
OTOCO: Final = "one_triggers_one_cancels_other"


def _bracket(take_profit: float, stop_loss: float) -> list[OtocoOrderParam]:
    """A long position's exits: a limit sell and a stop sell of 10, as an OTOCO config."""
    return [{"type": "limit", "price": take_profit, "direction": "sell", "amount": 10},
            _stop("sell", stop_loss)]  # fmt: skip


async def _primary(
    client: DeribitClient, price: float, kind: Linked, config: list[OtocoOrderParam], **extra: Any
) -> Order:
    """A buy of 10 at ``price`` with ``config``'s orders linked ``kind``."""
    placed = await client.private.buy(
        PERP, amount=10, price=price, linked_order_type=kind, otoco_config=config, **extra
    )
    return placed.order


async def test_one_triggers_other_places_the_stop_loss_once_the_primary_fills(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    bid, _, index = await _prices(trader)
    primary = await _primary(trader, bid - 2, "one_triggers_other", [_stop("sell", index - 100)])
    assert primary.oto_order_ids is not None
    (secondary_id,) = primary.oto_order_ids
    waiting = await _state(trader, secondary_id)
    assert (waiting.order_state, waiting.is_secondary_oto) == ("untriggered", True)
    await sim.set_index_price("btc_usd", index - 150)  # not placed yet: nothing fires
    assert (await _state(trader, secondary_id)).order_state == "untriggered"
    await sim.set_index_price("btc_usd", index)

    await _trade_through(sim, trader, "sell", bid - 2, extra=10)  # fills the primary
    assert (await _state(trader, primary.order_id)).order_state == "filled"
    assert (await trader.private.get_position(PERP)).size == 10
    await sim.set_index_price("btc_usd", index - 150)  # placed now: the stop fires
    fired = await _state(trader, secondary_id)
    assert (fired.order_state, fired.primary_order_id) == ("filled", primary.order_id)
    assert (await trader.private.get_position(PERP)).size == 0


async def test_a_primary_cancelled_unfilled_cancels_its_secondaries(trader: DeribitClient) -> None:
    bid, _, index = await _prices(trader)
    primary = await _primary(trader, bid - 20, OTOCO, _bracket(bid + 100, index - 100))
    assert primary.is_primary_otoco is True
    await trader.private.cancel(primary.order_id)
    for order_id in primary.oto_order_ids or []:
        state = await _state(trader, order_id)
        assert (state.order_state, state.cancel_reason) == ("cancelled", "oto_primary_closed")
    assert await trader.private.get_open_orders() == []


async def test_one_cancels_other_ends_the_partner_when_one_trades_or_closes(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    await trader.private.buy(PERP, amount=20, type="market")
    _, ask, index = await _prices(trader)
    take = await trader.private.sell(
        PERP,
        amount=10,
        price=ask + 10,
        linked_order_type="one_cancels_other",
        otoco_config=[_stop("sell", index - 100)],
    )
    assert take.order.oco_ref is not None
    (stop,) = [o for o in await trader.private.get_open_orders() if o.order_type == "stop_market"]
    assert stop.oco_ref == take.order.oco_ref
    await _trade_through(sim, trader, "buy", ask + 10, extra=10)  # takes the take-profit
    ended = await _state(trader, stop.order_id)
    assert (ended.order_state, ended.cancel_reason) == ("cancelled", "oco_other_closed")

    again = await trader.private.sell(
        PERP,
        amount=10,
        price=ask + 20,
        linked_order_type="one_cancels_other",
        otoco_config=[_stop("sell", index - 100)],
    )
    await trader.private.cancel(again.order.order_id)  # closing one closes the other
    assert await trader.private.get_open_orders() == []


async def test_one_triggers_one_cancels_other_brackets_the_position(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    bid, _, index = await _prices(trader)
    primary = await _primary(trader, bid - 2, OTOCO, _bracket(bid + 30, index - 100))
    take_id, stop_id = primary.oto_order_ids or []
    await _trade_through(sim, trader, "sell", bid - 2, extra=10)
    assert (await _state(trader, take_id)).order_state == "open"  # resting now
    await _trade_through(sim, trader, "buy", bid + 30, extra=10)  # the take-profit fills
    assert (await _state(trader, take_id)).order_state == "filled"
    stop = await _state(trader, stop_id)
    assert (stop.order_state, stop.cancel_reason) == ("cancelled", "oco_other_closed")
    assert (await trader.private.get_position(PERP)).size == 0


@pytest.mark.parametrize(
    ("condition", "after_part", "after_all"),
    [("first_hit", 100, 100), ("complete_fill", None, 100), ("incremental", 40, 100)],
)
async def test_the_fill_condition_decides_how_much_is_placed_when(
    sim: DeribitSimulator,
    trader: DeribitClient,
    counterparty: DeribitClient,
    condition: Literal["first_hit", "complete_fill", "incremental"],
    after_part: float | None,
    after_all: float,
) -> None:
    bid, _, _ = await _prices(trader)
    price = bid + 0.5  # a level of its own: the counterparty fills exactly what it sells
    placed = await trader.private.buy(
        PERP,
        amount=100,
        price=price,
        linked_order_type="one_triggers_other",
        trigger_fill_condition=condition,
        otoco_config=[{"type": "limit", "price": bid + 200, "direction": "sell"}],
    )
    (take_id,) = placed.order.oto_order_ids or []

    async def placed_amount() -> float | None:
        take = await _state(trader, take_id)
        return take.amount if take.order_state == "open" else None

    await counterparty.private.sell(PERP, amount=40, price=price)
    assert await placed_amount() == after_part
    await counterparty.private.sell(PERP, amount=60, price=price)
    assert await placed_amount() == after_all


async def test_linked_orders_are_checked_before_anything_is_placed(trader: DeribitClient) -> None:
    bid, _, index = await _prices(trader)
    cases: list[dict[str, Any]] = [
        {"otoco_config": [_stop("sell", index - 100)]},  # no linked_order_type
        {
            "linked_order_type": "one_cancels_other",
            "otoco_config": [_stop("sell", 1), _stop("sell", 2)],
        },
        {
            "linked_order_type": "one_triggers_other",
            "otoco_config": [{"type": "limit"}],
        },  # no price
        {"linked_order_type": "one_triggers_other", "otoco_config": []},
        {"linked_order_type": "sometimes", "otoco_config": [_stop("sell", index - 100)]},
    ]
    for extra in cases:
        with pytest.raises(RpcError) as refused:
            await trader.call("private/buy", {"instrument_name": PERP, "amount": 10,
                                              "price": bid - 20, **extra})  # fmt: skip
        assert refused.value.code == -32602, extra
    assert await trader.private.get_open_orders() == []


async def test_an_oco_partner_of_a_primary_that_trades_at_once_never_trades(
    trader: DeribitClient,
) -> None:
    _, ask, _ = await _prices(trader)
    placed = await trader.private.buy(
        PERP,
        amount=10,
        type="market",
        linked_order_type="one_cancels_other",
        otoco_config=[{"type": "limit", "price": ask + 50, "direction": "buy"}],  # marketable
    )
    assert placed.order.order_state == "filled"
    history = await trader.private.get_order_history_by_instrument(PERP, include_unfilled=True)
    assert isinstance(history, list)
    (partner,) = [o for o in history if o.order_id != placed.order.order_id]
    assert (partner.order_state, partner.cancel_reason) == ("cancelled", "oco_other_closed")
    assert (await trader.private.get_position(PERP)).size == 10


async def test_a_primary_ended_by_its_book_s_state_cancels_its_secondaries(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    bid, _, index = await _prices(trader)
    primary = await _primary(  # good-til-day: what a settlement ends
        trader, bid - 2, "one_triggers_other", [_stop("sell", index - 100)],
        time_in_force="good_til_day",
    )  # fmt: skip
    await sim.set_instrument_state(PERP, "settlement")
    (secondary_id,) = primary.oto_order_ids or []
    state = await _state(trader, secondary_id)
    assert (state.order_state, state.cancel_reason) == ("cancelled", "oto_primary_closed")
