"""What a type checker sees of the public API, checked with mypy --strict: a stream entered
with ``async with`` or ``await`` keeps its own class, so its attributes (a subscription's
``channels``) type-check in users' code; a result whose shape follows a flag has the shape
the call asks for, and a flag known only at run time still type-checks."""

from __future__ import annotations

import pathlib

from tests.helpers import mypy_strict

USES = """\
from typing import Any, assert_type

from deribit_client import DeribitClient, Notification, Subscription, channels
from deribit_client.exberry import ExberryClient, ExberryStream
from deribit_client.exberry.models import BookEvent
from deribit_client.models import (
    BlockRfqQuoteCancelReport,
    CancelReport,
    Order,
    OrderHistoryPage,
    Ticker,
)


async def deribit(client: DeribitClient) -> None:
    async with client.subscribe(channels.ticker("BTC-PERPETUAL", "100ms")) as ticks:
        assert_type(ticks, Subscription[Ticker])
        channel_names: tuple[str, ...] = ticks.channels
    sub = await client.subscribe("ticker.BTC-PERPETUAL.100ms")
    assert_type(sub, Subscription[Any])
    async for item in sub:
        if isinstance(item, Notification):
            assert_type(item, Notification[Any])


async def exberry(client: ExberryClient) -> None:
    async with client.order_book_depth() as book:
        assert_type(book, ExberryStream[BookEvent])


async def flags(client: DeribitClient, flag: bool) -> None:
    history = client.private.get_order_history_by_currency
    assert_type(await history("BTC"), list[Order])
    assert_type(await history("BTC", with_continuation=True), OrderHistoryPage)
    assert_type(await history("BTC", with_continuation=flag), list[Order] | OrderHistoryPage)
    assert_type(await client.private.cancel_all(), int)
    assert_type(await client.private.cancel_all(detailed=True), list[CancelReport])
    assert_type(await client.private.cancel_all(detailed=flag), int | list[CancelReport])
    assert_type(
        await client.private.cancel_all_block_rfq_quotes(detailed=flag),
        int | list[BlockRfqQuoteCancelReport],
    )
"""


def test_streams_and_flag_dependent_results_keep_their_types(tmp_path: pathlib.Path) -> None:
    (tmp_path / "uses.py").write_text(USES)
    mypy_strict(tmp_path)


# Each line below that must not type-check carries the ignore for its error: mypy --strict
# warns about an ignore no error needs, so a parameter type that stopped checking fails.
PARAMS = """\
from deribit_client import DeribitClient
from deribit_client.exberry import ExberryClient, Side, TimeInForce
from deribit_client.exberry.models import Party
from deribit_client.models import LegParam, RfqQuoteLegParam


async def params(client: DeribitClient, exberry: ExberryClient) -> None:
    leg: LegParam = {"instrument_name": "BTC-PERPETUAL", "amount": 10, "direction": "buy"}
    await client.private.create_combo([leg, {**leg, "direction": "sell"}])
    await client.private.create_combo(
        [{"instrument": "BTC-PERPETUAL", "amount": 10, "direction": "buy"}]  # type: ignore[typeddict-unknown-key, typeddict-item]
    )
    await client.private.get_leg_prices([{**leg, "direction": "up"}], 1.0)  # type: ignore[typeddict-item]
    await client.private.verify_block_trade(1, "n", "maker", [leg])  # type: ignore[list-item]
    await client.private.buy(
        "BTC-PERPETUAL", amount=10, price=1.0, linked_order_type="one_triggers_other",
        otoco_config=[{"direction": "sell", "type": "limit", "price": 2.0}],
    )
    await client.private.buy(
        "BTC-PERPETUAL", amount=10, otoco_config=[{"typ": "limit"}]  # type: ignore[typeddict-unknown-key]
    )
    await client.private.mass_quote(  # a side without amount moves its quote's price
        "q1", "default", [{"instrument_name": "BTC-PERPETUAL", "quote_set_id": "s",
                           "bid": {"price": 1.0}}]
    )
    await client.private.mass_quote(
        "q1", "default", [{"instrument_name": "BTC-PERPETUAL", "quote_set_id": "s",
                           "bid": {"amount": 1.0}}]  # type: ignore[typeddict-item]
    )
    await client.private.move_positions(1, 2, [{"instrument_name": "BTC-PERPETUAL", "amount": 1}])
    page = await client.private.get_trigger_order_history("BTC", count=1)  # a page's token
    await client.private.get_trigger_order_history("BTC", continuation=page.continuation)
    sub = await client.private.create_subaccount()  # a new subaccount always has its id
    await client.private.submit_transfer_to_subaccount("BTC", 1.0, sub.id)
    await exberry.place_order(  # parties as plain mappings, as from a config file
        instrument="BTC", side="Buy", quantity=1, price=1.0, mpOrderId=1,
        parties=[{"id": "37", "source": "P", "role": 24}],
    )
    await client.private.simulate_portfolio("BTC", simulated_positions={"BTC-PERPETUAL": 1.0})
    withdrawal = await client.private.withdraw("BTC", "bc1", 0.1)  # what a result identifies
    await client.private.cancel_withdrawal("BTC", withdrawal.id)  # goes back as it came
    signed = await client.private.verify_block_trade(1, "n", "maker", [])
    await client.private.execute_block_trade(1, "n", "taker", [], signed.signature)
    current = await client.private.get_current_deposit_address("BTC")
    current.address  # type: ignore[union-attr]  # null before the first address
    quoted: list[RfqQuoteLegParam] = [
        {"instrument_name": "BTC-PERPETUAL", "ratio": 1, "direction": "buy", "price": 1.0}
    ]
    await client.private.accept_block_rfq(1, 1.0, 10, "buy", quoted, "fill_or_kill")  # narrower legs
    await client.private.create_combo((leg,))  # a tuple of legs
    await client.private.get_order_margin_by_ids("ETH-1")  # type: ignore[arg-type]  # not a list
    side: Side = "Buy"  # the argument types are public, for typed code that builds them
    tif: TimeInForce = "IOC"
    await exberry.place_order(instrument="BTC", side=side, quantity=1, mpOrderId=3, timeInForce=tif)
    parties: list[Party] = [Party(id="37", source="P", role=24)]
    await exberry.place_order(instrument="BTC", side="Buy", quantity=1, mpOrderId=2, parties=parties)
"""  # noqa: E501  (an error's ignore must stay on its line)


def test_structured_parameters_are_checked_member_by_member(tmp_path: pathlib.Path) -> None:
    (tmp_path / "params.py").write_text(PARAMS)
    mypy_strict(tmp_path)
