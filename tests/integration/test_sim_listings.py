"""New instruments: the simulator lists futures and options as Deribit does every day
(``sim.list_instrument``), and every instrument created, a combo too, is sent once on
``instrument.creation.{kind}.{currency}`` (REFERENCE 5 and 7.5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from deribit_client import DeribitClient, Notification, channels
from deribit_client.models import Instrument
from deribit_client.testing import DeribitSimulator
from tests.helpers import expiry_in


async def created(sub: AsyncIterator[object]) -> Instrument:
    """The instrument of the next ``instrument.creation`` notification."""
    item = await asyncio.wait_for(anext(sub), 5)
    assert isinstance(item, Notification)
    assert isinstance(item.data, Instrument)
    return item.data


async def test_a_listed_option_is_announced_once_and_trades_at_once(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    code, expiry = expiry_in(sim, 40)
    name = f"BTC-{code}-80000-C"
    async with (
        trader.subscribe(channels.instrument_creation("option", "BTC")) as options,
        trader.subscribe(channels.instrument_creation("any", "any")) as everything,
        trader.subscribe(channels.instrument_creation("future", "BTC")) as futures,
        trader.subscribe(channels.instrument_creation("option", "ETH")) as eth,
    ):
        listed = await sim.list_instrument(name)
        option = await created(options)
        assert option == await created(everything)
        assert (option.instrument_name, option.kind, option.option_type) == (name, "option", "call")
        assert (option.strike, option.expiration_timestamp) == (80_000, expiry)
        assert (option.state, option.is_active, option.price_index) == ("open", True, "btc_usd")
        assert option.creation_timestamp == listed["creation_timestamp"]
        listed_ids = {i.instrument_id for i in await trader.public.get_instruments("BTC")}
        assert option.instrument_id in listed_ids
        # Only the channels covering it heard of it: the next listing is their first item.
        future = f"BTC-{code}"
        await sim.list_instrument(future)
        assert (await created(futures)).instrument_name == future
        await sim.list_instrument(f"ETH-{code}-4000-P")
        assert (await created(eth)).instrument_name == f"ETH-{code}-4000-P"
    ticker = await trader.public.ticker(name)
    # a new strike opens at the simulator's opening volatility (49.9), its book on ticks
    assert ticker.mark_iv == pytest.approx(49.9, abs=0.5)
    assert ticker.best_ask_price is not None
    bought = await trader.private.buy(name, amount=0.1, type="market")
    assert bought.order.order_state == "filled"
    assert (await trader.private.get_position(name)).size == 0.1
    instruments = {i.instrument_name for i in await trader.public.get_instruments("BTC")}
    assert {name, future} <= instruments


async def test_linear_options_and_futures_keep_their_currencys_terms(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    code, _ = expiry_in(sim, 10)
    option = await sim.list_instrument(f"XRP_USDC-{code}-0d6-P")
    assert (option["strike"], option["settlement_currency"]) == (0.6, "USDC")
    usdc_options = await trader.public.get_instruments("USDC", kind="option")
    xrp = [i for i in usdc_options if i.instrument_name.startswith("XRP_USDC-")]
    assert xrp
    assert option["tick_size"] == xrp[0].tick_size
    future = await sim.list_instrument(f"BTC_USDC-{code}")
    assert (future["instrument_type"], future["settlement_currency"]) == ("linear", "USDC")
    assert future["settlement_period"] in ("day", "week", "month")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("BTC-PERPETUAL", "listed already"),
        ("BTC", "neither a future"),
        ("BTC-{code}-80000-X", "neither a future"),
        ("BTC-32DEC26", "not a date"),
        ("BTC-05DEC26", "not a date"),
        ("BTC-{code}-8e4-C", "not a strike"),
        ("BTC-{code}-0-C", "not a strike"),
        ("DOGE-{code}", "lists no future of DOGE"),
        ("BTC-{past}", "expired already"),
    ],
)
async def test_a_name_deribit_would_not_list_is_refused(
    sim: DeribitSimulator, name: str, message: str
) -> None:
    code, _ = expiry_in(sim, 40)
    past, _ = expiry_in(sim, -1)
    with pytest.raises(ValueError, match=message):
        await sim.list_instrument(name.format(code=code, past=past))


async def test_a_new_combo_is_announced_on_its_combo_kind(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    futures = [i.instrument_name for i in await trader.public.get_instruments("BTC", kind="future")]
    async with (
        trader.subscribe(channels.instrument_creation("future_combo", "BTC")) as combos,
        trader.subscribe(channels.instrument_creation("combo", "any")) as any_combo,
    ):
        combo = await trader.private.create_combo(
            [
                {"instrument_name": futures[1], "amount": 10, "direction": "buy"},
                {"instrument_name": futures[0], "amount": 10, "direction": "sell"},
            ]
        )
        announced = await created(combos)
        assert (announced.instrument_name, announced.kind) == (combo.id, "future_combo")
        assert (await created(any_combo)).instrument_name == combo.id
