"""Nebula's Trading App (broker API, REFERENCE section 11): ExberryClient with a
``broker_token`` against the bundled simulator's broker, which trades on its exchange."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import pytest

from deribit_client import ClientError, ConnectionLost, DeribitError, Gap, OrderOutcomeUnknown
from deribit_client.exberry import (
    ExberryClient,
    ExberryStream,
    InsufficientPermissions,
    OrderValidationError,
    SessionError,
)
from deribit_client.exberry.models import BrokerBalance, BrokerOrder
from deribit_client.testing.exberry import SIM_BROKER_TOKEN, ExberrySimulator, trader_key

MP = trader_key(SIM_BROKER_TOKEN)


async def _next(stream: ExberryStream[BrokerOrder]) -> BrokerOrder:
    item = await asyncio.wait_for(anext(stream), 5)
    assert isinstance(item, BrokerOrder), item
    return item


async def test_an_order_is_acknowledged_then_followed_on_the_orders_stream(
    exberry_sim: ExberrySimulator, exberry_broker: ExberryClient
) -> None:
    async with exberry_broker.broker_orders(instrument="BTC") as orders:
        assert (await _next(orders)).messageType == "SnapshotEnd"  # nothing open yet
        # The broker's ack carries nothing (the method returns None): the rest is streamed.
        await exberry_broker.broker_place_order(
            instrument="BTC", side="Buy", quantity=2, price=100.5
        )
        added = await _next(orders)
        assert (added.messageType, added.side, added.quantity, added.price) == (
            "Added", "Buy", 2, 100.5,
        )  # fmt: skip
        assert added.orderId is not None
        # Another participant takes 1.5 of it on the exchange.
        exberry_sim.place_order("other-mp", {
            "mpOrderId": 1, "orderType": "Limit", "side": "Sell", "instrument": "BTC",
            "quantity": 1.5, "price": 100.5,
        })  # fmt: skip
        executed = await _next(orders)
        assert (executed.messageType, executed.orderId) == ("Executed", added.orderId)
        assert (executed.lastFilledQuantity, executed.lastFilledPrice) == (1.5, 100.5)
        assert (executed.filledQuantity, executed.remainingOpenQuantity) == (1.5, 0.5)
        assert executed.filledPrice == 100.5
        await exberry_broker.broker_cancel_order(instrument="BTC", orderId=added.orderId)
        cancelled = await _next(orders)
        assert (cancelled.messageType, cancelled.cancelledQuantity) == ("Cancelled", 0.5)
        # Cancelling it again: acknowledged, then rejected on the stream.
        await exberry_broker.broker_cancel_order(instrument="BTC", orderId=added.orderId)
        rejected = await _next(orders)
        assert (rejected.messageType, rejected.errorCode) == ("Rejected", 101)
        assert rejected.errorMessage == "orderId not found"
    page = await exberry_broker.broker_orders_history(instrument="BTC")
    assert (page.count, [o.orderId for o in page.orders]) == (1, [added.orderId])
    # The filter goes under its name and the samples' spelling, whichever the venue reads.
    assert exberry_sim.calls[-1] == (
        "v1/broker.account/ordersHistory",
        {"instrument": "BTC", "istrument": "BTC"},
    )
    trades = await exberry_broker.broker_trades_history()
    assert [(t.side, t.quantity, t.price, t.orderId) for t in trades.trades] == [
        ("Buy", 1.5, 100.5, added.orderId)
    ]


async def test_the_exchanges_refusal_arrives_as_a_rejected_event(
    exberry_sim: ExberrySimulator, exberry_broker: ExberryClient
) -> None:
    async with exberry_broker.broker_orders() as orders:
        await _next(orders)  # SnapshotEnd
        await exberry_broker.broker_place_order(
            instrument="GOLD", side="Sell", quantity=1, price=5.0
        )
        rejected = await _next(orders)
    assert (rejected.messageType, rejected.orderId, rejected.instrument) == (
        "Rejected", None, "GOLD",
    )  # fmt: skip
    assert rejected.errorCode == 1010  # the exchange's "Instrument GOLD not found"
    exberry_sim.set_instrument_status("BTC", tradingStatus="Halt")
    async with exberry_broker.broker_orders() as orders:
        await _next(orders)
        await exberry_broker.broker_place_order(instrument="BTC", side="Buy", quantity=1, price=9.0)
        halted = await _next(orders)
    assert (halted.errorCode, halted.errorMessage) == (99, "Instrument trading is halted")


async def test_a_snapshot_lists_the_open_orders_and_a_reconnect_sends_a_new_one(
    exberry_sim: ExberrySimulator, exberry_broker: ExberryClient
) -> None:
    await exberry_broker.broker_place_order(instrument="ETH", side="Sell", quantity=1, price=300.0)
    await exberry_broker.broker_place_order(instrument="BTC", side="Buy", quantity=1, price=99.0)
    async with exberry_broker.broker_orders(instrument="ETH") as orders:
        active = await _next(orders)
        assert (active.messageType, active.instrument) == ("ActiveOrder", "ETH")
        assert (await _next(orders)).messageType == "SnapshotEnd"
        exberry_sim.drop_connections()
        gap = await asyncio.wait_for(anext(orders), 5)
        assert isinstance(gap, Gap)  # no tracking numbers: what happened between is unknown
        assert (await _next(orders)).messageType == "ActiveOrder"  # the new snapshot
        assert (await _next(orders)).messageType == "SnapshotEnd"


async def test_balances_and_wallet_transactions_follow_the_ledger(
    exberry_sim: ExberrySimulator, exberry_broker: ExberryClient
) -> None:
    ledger = exberry_sim.ledger
    ledger.open_account(MP, 36, account_id=37, balances={"USD": 1000})
    ledger.open_account("other-mp", 40, account_id=41, balances={"GOLD": 10})
    ledger.settle_trades("BTC", base="GOLD", quote="USD")
    async with exberry_broker.broker_balance() as balances:

        async def balance() -> BrokerBalance:
            item = await asyncio.wait_for(anext(balances), 5)
            assert isinstance(item, BrokerBalance), item
            return item

        first = await balance()
        assert (first.messageType, first.asset, first.free, first.locked) == (
            "Balance", "USD", 1000, 0,
        )  # fmt: skip
        assert (await balance()).messageType == "SnapshotEnd"
        await exberry_broker.broker_place_order(
            instrument="BTC", side="Buy", quantity=2, price=100.5
        )
        held = await balance()  # the order holds what it may pay
        assert (held.asset, held.free, held.locked) == ("USD", 799, 201)
        exberry_sim.place_order("other-mp", {
            "mpOrderId": 1, "orderType": "Limit", "side": "Sell", "instrument": "BTC",
            "quantity": 2, "price": 100.5,
        })  # fmt: skip
        after = {b.asset: (b.free, b.locked) for b in [await balance(), await balance()]}
    assert after == {"USD": (799, 0), "GOLD": (2, 0)}
    page = await exberry_broker.broker_transactions(types=["Trade"])
    assert sorted((t.asset, t.amount) for t in page.transactions) == [
        ("GOLD", "2"), ("USD", "-201"),
    ]  # fmt: skip
    assert len({t.internalReference for t in page.transactions}) == 1  # one trade
    assert (await exberry_broker.broker_transactions(types=["Deposit"])).count == 0


async def test_bad_requests_get_the_brokers_own_codes(
    exberry_sim: ExberrySimulator, exberry_broker: ExberryClient
) -> None:
    with pytest.raises(OrderValidationError) as bad:
        await exberry_broker.request(
            "v1/broker.oms/placeOrder", {"side": "Buy", "instrument": "BTC"}
        )
    assert (bad.value.code, bad.value.message) == (100, "Missing or invalid parameter: orderType")
    with pytest.raises(OrderValidationError) as dates:
        await exberry_broker.request(
            "v1/broker.account/tradesHistory", {"dateFrom": 1647532889, "dateTo": 1647532880}
        )
    assert dates.value.code == 101
    # The client refuses what it can tell is wrong before sending anything.
    with pytest.raises(ClientError, match="dateTo"):
        await exberry_broker.broker_trades_history(dateFrom=1647532889, dateTo=1647532880)
    with pytest.raises(ClientError, match="needs a price"):
        await exberry_broker.broker_place_order(instrument="BTC", side="Buy", quantity=1)
    with pytest.raises(ClientError, match="takes no price"):
        await exberry_broker.broker_place_order(
            instrument="BTC", side="Buy", quantity=1, orderType="Market", price=1.0
        )
    with pytest.raises(ClientError, match="types must be"):
        await exberry_broker.broker_transactions(types=["Refund"])  # type: ignore[list-item]
    with pytest.raises(ClientError, match="orderBy field"):
        await exberry_broker.broker_orders_history(orderBy={"field": "price"})
    with pytest.raises(ClientError, match="aware"):
        await exberry_broker.broker_transactions(dateFrom=dt.datetime(2026, 1, 1))
    with pytest.raises(ClientError, match="limit"):
        await exberry_broker.broker_trades_history(limit=101)
    await exberry_broker.broker_transactions(dateFrom=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert exberry_sim.calls[-1][1] == {"dateFrom": 1767225600}  # epoch seconds


async def test_a_broker_session_needs_a_known_token(exberry_sim: ExberrySimulator) -> None:
    with pytest.raises(SessionError) as refused:
        await ExberryClient(exberry_sim.url, broker_token="unknown", reconnect=False).connect()
    assert refused.value.code == 6000
    async with ExberryClient(exberry_sim.url, reconnect=False, public_token="sim-md-token") as c:
        with pytest.raises(InsufficientPermissions):  # no broker session on this socket
            await c.request("v1/broker.account/ordersHistory", {})
    with pytest.raises(ClientError, match="one of"):
        ExberryClient(exberry_sim.url, broker_token=SIM_BROKER_TOKEN, token="other")


async def test_a_lost_placement_is_outcome_unknown_and_found_in_the_history(
    exberry_sim: ExberrySimulator, exberry_broker: ExberryClient
) -> None:
    exberry_sim.lose_replies("v1/broker.oms/placeOrder")
    with pytest.raises(OrderOutcomeUnknown, match="broker_orders_history") as info:
        await exberry_broker.broker_place_order(
            instrument="BTC", side="Buy", quantity=1, price=98.0
        )
    assert isinstance(info.value.__cause__, ConnectionLost)
    await exberry_broker.wait_ready()
    since = int(time.time()) - 60
    page = await exberry_broker.broker_orders_history(instrument="BTC", dateFrom=since)
    assert [(o.side, o.price) for o in page.orders] == [("Buy", 98.0)]  # it was placed


async def test_the_broker_token_never_shows_in_logs_reprs_or_errors(
    exberry_sim: ExberrySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    exberry_sim.tokens.add(SIM_BROKER_TOKEN)
    client = ExberryClient(exberry_sim.url, broker_token=SIM_BROKER_TOKEN, timeout=0.2)
    exberry_sim.delay("v1/broker.oms/createSession", 1.0)
    with pytest.raises(DeribitError) as slow:
        await client.connect()
    await client.close()
    async with ExberryClient(exberry_sim.url, broker_token=SIM_BROKER_TOKEN) as ready:
        await ready.broker_orders_history()
        shown = [repr(ready), repr(client), str(slow.value), repr(slow.value)]
    shown += [record.getMessage() for record in caplog.records]
    assert caplog.records  # the session was logged about, without its token
    assert not [text for text in shown if SIM_BROKER_TOKEN in text]
