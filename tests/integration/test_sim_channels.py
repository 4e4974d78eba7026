"""Every channel the simulator confirms gets data, and names of things that do not exist
are left out of the confirmation, as on Deribit (issue #11)."""

from __future__ import annotations

import asyncio
import time
import typing
from typing import Any

import msgspec
import pytest

from deribit_client import DeribitClient, Notification, SubscriptionRejected
from deribit_client._catalogue.channels import CHANNELS
from deribit_client._catalogue.payloads import payload_type
from deribit_client.models import BlockTradeLegParam, LegParam, RfqLegParam, RfqQuoteLegParam
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from tests.helpers import expiry_in

# A value that exists in the simulator for each channel part.
PARTS = {
    "instrument_name": "BTC-PERPETUAL",
    "index_name": "btc_usd",
    "currency": "BTC",
    "kind": "future",
    "interval": "raw",
    "group": "none",
    "depth": "10",
    "resolution": "1",
}


def channel_name(pattern: str) -> str:
    return ".".join(PARTS.get(p.strip("()"), p) if p.startswith("(") else p
                    for p in pattern.split("."))  # fmt: skip


def _typed(data: Any, expected: Any) -> bool:
    if typing.get_origin(expected) is list:
        (item,) = typing.get_args(expected)
        return isinstance(data, list) and all(_typed(x, item) for x in data)
    options = typing.get_args(expected) or (expected,)
    return isinstance(data, options) and isinstance(data, msgspec.Struct)


async def test_every_confirmed_channel_is_published(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    patterns = {channel_name(p): p for p in CHANNELS}
    async with trader.subscribe(*patterns) as sub:
        sim.start_streams(interval=0.001)
        # what only happens now and then: the account trades, an instrument changes
        # state, the platform locks, an announcement
        await trader.private.buy("BTC-PERPETUAL", amount=10, type="market")
        # ... trades a combo of the perpetual and a future
        futures = await trader.public.get_instruments("BTC", kind="future")
        dated = next(i.instrument_name for i in futures if i.instrument_name != "BTC-PERPETUAL")
        spread = await trader.private.create_combo(
            [{"instrument_name": dated, "amount": 10, "direction": "buy"},
             {"instrument_name": "BTC-PERPETUAL", "amount": 10, "direction": "sell"}]
        )  # fmt: skip
        await trader.private.buy(spread.id, amount=10, type="market")
        # ... trips its market maker protection, logs in again, verifies a block trade
        # and rejects it, is locked
        await trader.private.set_mmp_config("btc_usd", 60, 0, quantity_limit=0.0001,
                                            max_quote_quantity=1)  # fmt: skip
        ask = (await trader.public.ticker("BTC-PERPETUAL")).best_ask_price
        await trader.private.buy("BTC-PERPETUAL", amount=10, price=ask, mmp=True)
        async with DeribitClient(url=sim.url, transport="http", client_id=SIM_CLIENT_ID,
                                 client_secret=SIM_CLIENT_SECRET) as again:  # fmt: skip
            await again.private.get_open_orders()
        now = sim.now_ms()
        legs: list[BlockTradeLegParam] = [{"instrument_name": "BTC-PERPETUAL",
                 "price": 64_000.0, "amount": 1_000.0, "direction": "buy"}]  # fmt: skip
        await trader.private.verify_block_trade(now, "n1", "maker", legs)
        await trader.private.reject_block_trade(now, "n1", "maker")
        # ... asks for a quote, quotes another user's Block RFQ, which that user takes
        rfq_legs: list[LegParam] = [
            {"instrument_name": "BTC-PERPETUAL", "amount": 1_000, "direction": "buy"}
        ]
        await trader.private.create_block_rfq(rfq_legs)
        asked = await counterparty.private.create_block_rfq(rfq_legs)
        leg: RfqLegParam = {"instrument_name": "BTC-PERPETUAL", "ratio": 1, "direction": "buy"}
        quote_legs: list[RfqQuoteLegParam] = [{**leg, "price": 64_000.0}]
        await trader.private.add_block_rfq_quote(asked.block_rfq_id, 1_000, "sell", quote_legs)
        sim.clock = lambda: time.time() + 6  # past the taker's grace period
        await counterparty.private.accept_block_rfq(asked.block_rfq_id, 64_000.0, 1_000, "buy",
                                                    [leg], "fill_or_kill")  # fmt: skip
        await sim.list_instrument(f"BTC-{expiry_in(sim, 40)[0]}")
        await sim.set_user_lock("BTC")
        await sim.set_instrument_state("BTC-PERPETUAL", "locked")
        await sim.set_platform_state(locked=True, price_index="btc_usd")
        await sim.set_public_methods_state(allowed=False)
        announced = await sim.announce("Maintenance", "<p>soon</p>")
        seen: dict[str, Any] = {}
        async with asyncio.timeout(10):  # the old simulator never published most of them
            while len(seen) < len(patterns):
                item = await anext(sub)
                assert isinstance(item, Notification), item
                seen.setdefault(item.channel, item.data)
        sim.stop_streams()
    for channel, data in seen.items():
        expected = payload_type(channel)
        assert _typed(data, expected), (channel, data)
    assert seen["instrument.state.future.BTC"].state == "locked"
    assert seen["platform_state"].locked is True
    assert (
        seen["platform_state.public_methods_state"].allow_unauthenticated_public_requests is False
    )
    # the methods that report the same events
    status = await trader.public.status()
    assert status.locked_indices == ["btc_usd"]
    (announcement,) = await trader.public.get_announcements()
    assert (announcement.id, announcement.title) == (announced, "Maintenance")
    assert (await trader.public.get_instrument("BTC-PERPETUAL")).state == "locked"
    assert seen["incremental_ticker.BTC-PERPETUAL"].type == "snapshot"


async def test_incremental_ticker_sends_changes_at_most_once_a_second(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    clock = [time.time()]
    sim.clock = lambda: clock[0]
    async with trader.subscribe("incremental_ticker.BTC-PERPETUAL") as sub:
        first = await anext(sub)
        assert isinstance(first, Notification)
        assert first.data.type == "snapshot"
        sim.start_streams(interval=0.001)
        await trader.private.buy("BTC-PERPETUAL", amount=10, type="market")  # last price moves
        clock[0] += 1.0
        change = await asyncio.wait_for(anext(sub), 5)
        assert isinstance(change, Notification)
        assert change.data.type == "change"
        assert change.data.last_price is not None  # what changed
        assert change.data.open_interest is None  # what did not
        sim.stop_streams()


@pytest.mark.parametrize(
    "channel",
    [
        "ticker.BTC-NOPE.100ms",  # no such instrument
        "deribit_price_index.nope_usd",  # no such index
        "deribit_volatility_index.sol_usdc",  # an index without a DVOL
        "trades.future.NOPE.100ms",  # no such currency
        "trades.swap.BTC.100ms",  # no such kind
        "book.BTC-PERPETUAL.1000ms",  # no such interval
        "book.BTC-PERPETUAL.none.7.100ms",  # no such depth
        "chart.trades.BTC-PERPETUAL.2",  # no such resolution
        "ticker.BTC-PERPETUAL",  # a part missing
        "nonsense",
    ],
)
async def test_channels_naming_what_does_not_exist_are_left_out(
    trader: DeribitClient, channel: str
) -> None:
    with pytest.raises(SubscriptionRejected):
        async with trader.subscribe(channel):
            pass
