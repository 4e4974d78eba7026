"""ExberryClient against the bundled ExberrySimulator on loopback: sessions, orders, the
engine's rules, reporting and faults."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import functools
import inspect
import math
import time
import types
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

import msgspec
import numpy as np
import pytest

from deribit_client import ClientError, Gap, OrderOutcomeUnknown, ProtocolError
from deribit_client.exberry import (
    ExberryClient,
    ExberryError,
    ExberryUnavailable,
    InvalidSession,
    NotFound,
    OrderValidationError,
    SessionError,
    TimeInForce,
)
from deribit_client.exberry.models import (
    Add,
    Executed,
    ExecutionReport,
    OrderIdResult,
    PartialOrderBook,
    PlaceOrderResult,
    Trade,
)
from deribit_client.testing.exberry import SIM_API_KEY, ExberrySimulator
from tests.helpers import EXBERRY_KEY, INSTANT, NOON, next_event, until


async def test_session_is_signed_and_bad_keys_are_refused(exberry_sim: ExberrySimulator) -> None:
    async with ExberryClient(exberry_sim.url, **EXBERRY_KEY) as client:
        assert client.state == "ready"
    session = next(d for q, d in exberry_sim.calls if q == "exchange.market/createSession")
    assert set(session) == {"apiKey", "timestamp", "signature"}
    assert isinstance(session["timestamp"], str)
    with pytest.raises(SessionError) as info:
        await ExberryClient(exberry_sim.url, api_key=SIM_API_KEY, secret="wrong").connect()
    assert info.value.code == 6000
    late = ExberryClient(exberry_sim.url, clock=lambda: 0.0, **EXBERRY_KEY)
    with pytest.raises(SessionError, match="timestamp"):
        await late.connect()


async def test_token_and_password_sessions(exberry_sim: ExberrySimulator) -> None:
    exberry_sim.tokens.add("auth0-token")
    exberry_sim.users["trader@example.com"] = "pw"
    async with ExberryClient(exberry_sim.url, token="auth0-token") as client:
        assert client.state == "ready"
    async with ExberryClient(exberry_sim.url, username="trader@example.com", password="pw") as c:
        assert c.state == "ready"


async def test_orders_match_and_every_stream_sees_them(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    async with (
        exberry_client.order_book_depth() as book,
        exberry_client.execution_reports() as reports,
        exberry_client.trades() as trades,
    ):
        # No waiting for the server: the opens are written before the orders that follow.
        resting = await exberry_client.place_order(
            instrument="BTC", side="Sell", quantity=2, price=100.5, mpOrderId=1
        )
        assert resting.orderStatus == "Pending"
        taker = await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, orderType="Market", mpOrderId=2
        )
        add, executed = await anext(book), await anext(book)
        assert isinstance(add, Add)
        assert (add.orderId, add.price, add.side) == (resting.orderId, 100.5, "Sell")
        assert isinstance(executed, Executed)
        assert (executed.takerOrderId, executed.executedQuantity) == (taker.orderId, 1)
        kinds = [(await anext(reports)) for _ in range(3)]
        assert all(isinstance(r, ExecutionReport) for r in kinds)
        assert [r.messageType for r in kinds] == ["Add", "Executed", "Executed"]  # type: ignore[union-attr]
        records = [await anext(trades) for _ in range(2)]
        assert all(isinstance(r, Trade) for r in records)
        assert {r.side for r in records} == {"Buy", "Sell"}  # type: ignore[union-attr]
    state = await exberry_client.order_book_state()
    assert [(o.orderId, o.quantity) for o in state.orders] == [(resting.orderId, 1)]
    assert state.last_tracking_number is not None
    orders, last = await exberry_client.mass_order_status()
    assert [o.mpOrderId for o in orders] == [1]
    assert last == state.last_tracking_number


async def test_trade_records_carry_their_orders_account_type_and_parties(
    exberry_client: ExberryClient,
) -> None:
    # Exberry's MatchedTrade sample lists the order's accountType and parties; the
    # simulator's trade records left both out, so a broker could not attribute a fill.
    from deribit_client.exberry.models import Party

    desk = Party(id="TST1", source="D", role=12)
    async with exberry_client.trades() as trades:
        await exberry_client.place_order(
            instrument="BTC", side="Sell", quantity=1, price=100.5, mpOrderId=1,
            accountType="Client", parties=(desk,),  # any sequence of parties
        )  # fmt: skip
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, orderType="Market", mpOrderId=2
        )
        records = [await anext(trades) for _ in range(2)]
    by_side = {r.side: r for r in records if isinstance(r, Trade)}
    assert (by_side["Sell"].accountType, by_side["Sell"].parties) == ("Client", [desk])
    assert (by_side["Buy"].accountType, by_side["Buy"].parties) == (None, [])  # it had none


async def test_an_orders_account_type_and_metadata_are_kept_and_reported(
    exberry_client: ExberryClient,
) -> None:
    # Both were dropped on the floor: no report, status or trade showed them.
    async with exberry_client.execution_reports() as reports:
        placed = await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1,
            accountType="House", metadata="strategy=mm-7",
        )  # fmt: skip
        await exberry_client.replace_order(
            orderId=placed.orderId, instrument="BTC", quantity=2, price=99.0,
            metadata="strategy=mm-8",
        )  # fmt: skip
        added, modified = await anext(reports), await anext(reports)
    assert isinstance(added, ExecutionReport)
    assert isinstance(modified, ExecutionReport)
    assert (added.accountType, added.metadata) == ("House", "strategy=mm-7")
    assert (modified.accountType, modified.metadata) == ("House", "strategy=mm-8")
    (status,), _ = await exberry_client.mass_order_status()
    assert (status.accountType, status.metadata) == ("House", "strategy=mm-8")
    bad = [{"accountType": "Firm"}, {"metadata": "x" * 1001}]
    for n, extra in enumerate(bad, 2):
        with pytest.raises(OrderValidationError) as refused:
            await exberry_client.request(
                "v1/exchange.market/placeOrder",
                {"instrument": "BTC", "side": "Buy", "orderType": "Limit", "quantity": 1,
                 "price": 99.0, "mpOrderId": n, **extra},
            )  # fmt: skip
        assert refused.value.code == 1001


async def test_cancel_replace_and_mass_cancel(exberry_client: ExberryClient) -> None:
    placed = await exberry_client.place_order(
        instrument="ETH", side="Buy", quantity=3, price=10.0, mpOrderId=7
    )
    replaced = await exberry_client.replace_order(
        orderId=placed.orderId, instrument="ETH", quantity=5, price=10.5
    )
    assert replaced.orderId == placed.orderId
    with pytest.warns(DeprecationWarning, match="replace_order"):
        await exberry_client.modify_order(orderId=placed.orderId, instrument="ETH", quantity=4)
    cancelled = await exberry_client.cancel_order(instrument="ETH", mpOrderId=7)
    assert cancelled.orderId == placed.orderId
    with pytest.raises(NotFound) as info:
        await exberry_client.cancel_order(instrument="ETH", orderId=placed.orderId)
    assert (info.value.code, info.value.q) == (1100, "v1/exchange.market/cancelOrder")
    with pytest.raises(ClientError, match="exactly one"):
        await exberry_client.cancel_order(instrument="ETH", orderId=1, mpOrderId=1)
    for n in range(3):
        await exberry_client.place_order(
            instrument="ETH", side="Sell", quantity=1, price=20.0 + n, mpOrderId=100 + n
        )
    assert (await exberry_client.mass_cancel(instrument="ETH")).numberOfOrders == 3


async def test_quantities_and_prices_may_be_decimals(exberry_client: ExberryClient) -> None:
    placed = await exberry_client.place_order(
        instrument="ETH", side="Buy", quantity=Decimal("2.000001"), price=Decimal("10.5"),
        mpOrderId=1,
    )  # fmt: skip
    state = await exberry_client.order_book_state()
    assert [(o.quantity, o.price) for o in state.orders] == [(2.000001, 10.5)]
    await exberry_client.replace_order(
        orderId=placed.orderId, instrument="ETH", quantity=Decimal("3.25"), price=Decimal("11")
    )
    state = await exberry_client.order_book_state()
    assert [(o.quantity, o.price) for o in state.orders] == [(3.25, 11)]
    with pytest.raises(ClientError, match="'price' is Decimal"):
        await exberry_client.place_order(
            instrument="ETH", side="Buy", quantity=1, price=Decimal("NaN"), mpOrderId=2
        )


class Qualifier(enum.StrEnum):
    STATUS = "v1/exchange.market/massOrderStatus"


async def test_a_qualifier_may_be_a_str_subclass(exberry_client: ExberryClient) -> None:
    await exberry_client.place_order(
        instrument="ETH", side="Buy", quantity=1, price=10.0, mpOrderId=5
    )
    items = await exberry_client.request(Qualifier.STATUS, many=True)
    assert [item["mpOrderId"] for item in items if "mpOrderId" in item] == [5]


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"orderType": "Limit"}, "a Limit order needs a price"),
        ({"orderType": "Market", "price": 1.0}, "a Market order takes no price"),
        ({"orderType": "Stop"}, "a Stop order needs stopPrice"),
        ({"orderType": "LIT", "price": 1.0}, "a LIT order needs stopPrice"),
        ({"price": 1.0, "timeInForce": "GTD"}, "GTD needs exactly one of expiryDate, expiryDay"),
        ({"price": 1.0, "timeInForce": "GTD", "expiryDate": 1, "expiryDay": "2026-12-01"},
         "GTD needs exactly one"),
        ({"price": 1.0, "mpOrderId": "7"}, "mpOrderId must be an int"),
    ],
)  # fmt: skip
async def test_order_terms_exberry_would_refuse_are_refused_before_sending(
    exberry_sim: ExberrySimulator,
    exberry_client: ExberryClient,
    terms: dict[str, Any],
    message: str,
) -> None:
    order: dict[str, Any] = {"instrument": "BTC", "side": "Buy", "quantity": 1, "mpOrderId": 1}
    with pytest.raises(ClientError, match=message):
        await exberry_client.place_order(**{**order, **terms})
    assert not any(q.endswith("placeOrder") for q, _ in exberry_sim.calls)


SIDE = {"mpName": "me"}
BAD_ARGUMENTS: list[tuple[str, Callable[[ExberryClient], object], str]] = [
    ("mass_cancel", lambda c: c.mass_cancel(), "instrument scope needs instrument"),
    ("create_trade_report",
     lambda c: c.create_trade_report(instrument="BTC", type="", flow="LockedIn",
                                     externalTradeId=1, price=1, quantity=1, buy=SIDE, sell=SIDE),
     "type must be a non-empty str"),
    ("account_balance", lambda c: c.account_balance(accountId=1.5),  # type: ignore[arg-type]
     "accountId must be an int or its text"),
    ("create_transaction_request",
     lambda c: c.create_transaction_request(type="Deposit", ledgerAccountId=1, assetId=1,
                                            amount=[1]),  # type: ignore[arg-type]
     "amount must be a number or its text"),
    ("mp_orders", lambda c: c.mp_orders(mpOrderId=1), "need exactly one instrument"),
    ("mp_orders", lambda c: c.mp_orders(orderBy={"field": "price"}), "orderBy field"),
    ("mp_orders", lambda c: c.mp_orders(orderBy={"direction": "Up"}), "orderBy direction"),
    ("mp_fees", lambda c: c.mp_fees(types="Trading"),  # type: ignore[arg-type]
     "types must be a list of str"),
    ("light_tickers", lambda c: c.light_tickers(symbols=[]), "symbols must be a non-empty list"),
    # Not a list at all: a TypeError escaped ("'int' object is not iterable").
    ("light_tickers", lambda c: c.light_tickers(symbols=5),  # type: ignore[arg-type]
     "symbols must be a non-empty list of str"),
    ("settlement_prices", lambda c: c.settlement_prices(symbols="BTC"),  # type: ignore[arg-type]
     "symbols must be a non-empty list of str, not the string 'BTC'"),
    ("mp_orders", lambda c: c.mp_orders(instruments=5, mpOrderId=1),  # type: ignore[arg-type]
     "instruments must be a list of str"),
    ("mp_quotes", lambda c: c.mp_quotes(instruments=[1]),  # type: ignore[list-item]
     "instruments must be a list of str"),
    ("instrument_list_with_pagination",
     lambda c: c.instrument_list_with_pagination(fromSymbol=1),  # type: ignore[arg-type]
     "fromSymbol must be a symbol"),
    ("candles_history", lambda c: c.candles_history(symbol="BTC", from_=10, to=10),
     "needs to > from_"),
    ("ping", lambda c: c.ping("1"), "ping value must be an int"),  # type: ignore[arg-type]
    ("create_cash_transfer",
     lambda c: c.create_cash_transfer(senderAccountId=1, senderAssets=[], receiverAccountId=2),
     "senderAssets must be a non-empty list of TransferAsset objects or mappings"),
    ("create_cash_transfer",
     lambda c: c.create_cash_transfer(senderAccountId=1, senderAssets=[5],  # type: ignore[list-item]
                                      receiverAccountId=2),
     "senderAssets: every entry must be a TransferAsset or mapping"),
    ("request", lambda c: c.request(""), "q must be a qualifier"),
    ("stream", lambda c: c.stream("v1/x", [1]), "d must be"),  # type: ignore[arg-type]
]  # fmt: skip


@pytest.mark.parametrize(("method", "call", "message"), BAD_ARGUMENTS)
async def test_arguments_are_checked_before_anything_is_sent(
    exberry_sim: ExberrySimulator,
    exberry_client: ExberryClient,
    method: str,
    call: Callable[[ExberryClient], object],
    message: str,
) -> None:
    async def attempt() -> None:
        made = call(exberry_client)  # a stream refuses as it is made, a request when awaited
        if inspect.isawaitable(made):
            await made

    sent = len(exberry_sim.calls)
    with pytest.raises(ClientError, match=message):
        await attempt()
    assert len(exberry_sim.calls) == sent


async def test_validation_errors_are_typed(exberry_client: ExberryClient) -> None:
    with pytest.raises(NotFound, match="not found"):
        await exberry_client.place_order(
            instrument="XYZ", side="Buy", quantity=1, price=1, mpOrderId=1
        )
    await exberry_client.place_order(instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=5)
    with pytest.raises(OrderValidationError) as info:  # mpOrderId reuse
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=5
        )
    assert info.value.code == 1002
    with pytest.raises(ClientError, match="price"):
        await exberry_client.place_order(instrument="BTC", side="Buy", quantity=1, mpOrderId=6)
    with pytest.raises(OrderValidationError):
        await exberry_client.request("v1/exchange.market/placeOrder", {"instrument": "BTC"})


async def test_orders_outside_the_instruments_rules_are_refused(
    exberry_client: ExberryClient, md: ExberryClient
) -> None:
    # Exberry checks precision (1005), quantity bounds (1006) and the tick size (1014):
    # the simulator accepted any number, so a bot's rounding bug passed here
    order = functools.partial(exberry_client.place_order, instrument="BTC", side="Buy")
    refused: dict[int, list[dict[str, Any]]] = {
        1005: [dict(quantity=0.0000001, price=100), dict(quantity=1, price=100.00001)],
        1006: [dict(quantity=1000001, price=100)],
        1014: [dict(quantity=1, price=100.25)],
    }
    for code, cases in refused.items():
        for n, terms in enumerate(cases):
            with pytest.raises(OrderValidationError) as info:
                await order(mpOrderId=code * 10 + n, **terms)
            assert info.value.code == code, terms
    placed = await order(mpOrderId=1, quantity=0.000001, price=99.5)
    with pytest.raises(OrderValidationError) as info:  # a replace is held to the same rules
        await exberry_client.replace_order(
            instrument="BTC", orderId=placed.orderId, quantity=1, price=99.3
        )
    assert info.value.code == 1014
    async with md.instrument_list() as listing:
        listed = await anext(listing)
    assert (listed.symbol, listed.quantityPrecision, listed.minQuantity) == ("BTC", 6, 0.000001)  # type: ignore[union-attr]


async def test_the_simulator_refuses_members_of_the_wrong_type_as_the_venue_does(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # A list or an object where an instrument or an id goes, a huge price: the simulator
    # failed on them (a logged traceback, 1200 "General error") instead of refusing them.
    placed = await exberry_client.request(
        "v1/exchange.market/placeOrder",
        {"instrument": "BTC", "side": "Buy", "orderType": "Limit", "quantity": 1,
         "price": 1e30, "mpOrderId": 1, "timeInForce": "GTC"},
    )  # fmt: skip
    assert placed["orderStatus"] == "Pending"  # a multiple of the tick, however large
    for q, d, code in (
        ("v1/exchange.market/cancelOrder", {"instrument": ["BTC"], "orderId": 1}, 1001),
        (
            "v1/exchange.market/replaceOrder",
            {"instrument": {"BTC": 1}, "orderId": 1, "quantity": 1},
            1001,
        ),
        ("v1/exchange.market/replaceOrder", {"orderId": 1, "quantity": 1}, 1103),
        (
            "v1/exchange.market/modifyOrder",
            {"instrument": "BTC", "orderId": [1], "quantity": 1},
            1001,
        ),
        ("v1/exchange.market/massCancel", {"instrument": ["BTC"]}, 1001),
        ("v2/exchange.reporting/mp/orders", {"orderId": 1, "instruments": 5}, 1001),
        ("v1/exchange.ledger/createAllegedTransfer", {"type": ["DvP"]}, 1000),
    ):
        with pytest.raises(ExberryError) as info:
            await exberry_client.request(q, d)
        assert info.value.code == code, (q, d)
    assert [o["orderId"] for o in exberry_sim.books["BTC"]["Buy"]] == [placed["orderId"]]


async def test_an_instrument_can_have_its_own_rules() -> None:
    bond = {"symbol": "BOND", "minQuantity": 0.1, "quantityPrecision": 2, "pricePrecision": 1}
    async with (
        ExberrySimulator(instruments=[bond], tick_size=0.1) as sim,
        ExberryClient(sim.url, **EXBERRY_KEY) as client,
    ):
        order = functools.partial(client.place_order, instrument="BOND", side="Sell")
        with pytest.raises(OrderValidationError, match=r"between 0\.1 and 1000000") as info:
            await order(mpOrderId=1, quantity=0.09, price=1)
        assert info.value.code == 1006
        with pytest.raises(OrderValidationError, match="precision") as info:
            await order(mpOrderId=2, quantity=1, price=1.25)
        assert info.value.code == 1005
        await order(mpOrderId=3, quantity=0.1, price=1.3)  # on the 0.1 tick
    with pytest.raises(ValueError, match="quantityPrecision"):
        ExberrySimulator(instruments=[{"symbol": "X", "quantityPrecision": 1.5}])
    with pytest.raises(ValueError, match="min <= max"):
        ExberrySimulator(instruments=[{"symbol": "X", "minQuantity": 2, "maxQuantity": 1}])
    with pytest.raises(ValueError, match="tick_size"):
        ExberrySimulator(tick_size=0)


async def test_fills_leave_no_floating_point_residue(exberry_client: ExberryClient) -> None:
    # 123457.089 - 123456.789 - 0.3 is 2.9e-12 in binary floating point: the order stayed on
    # the book with that quantity instead of being fully executed
    maker = await exberry_client.place_order(
        instrument="ETH", side="Sell", quantity=123457.089, price=50, mpOrderId=1
    )
    for n, quantity in enumerate((123456.789, 0.3)):
        await exberry_client.place_order(
            instrument="ETH", side="Buy", quantity=quantity, price=50, mpOrderId=2 + n
        )
    state = await exberry_client.order_book_state()
    assert [o.orderId for o in state.orders if o.instrument == "ETH"] == []
    active, _ = await exberry_client.mass_order_status()
    assert maker.orderId not in [o.orderId for o in active]


async def book_of(client: ExberryClient, instrument: str) -> list[tuple[str, float, float]]:
    """``(side, price, quantity)`` of every order resting on ``instrument``."""
    state = await client.order_book_state()
    return [(o.side, o.price, o.quantity) for o in state.orders if o.instrument == instrument]  # type: ignore[misc]


async def test_fok_and_min_quantity_fill_all_or_nothing(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # The simulator treated FOK like IOC (a partial fill) and ignored minQuantity.
    resting = {"orderType": "Limit", "side": "Sell", "instrument": "BTC", "quantity": 2}
    exberry_sim.place_order("other-mp", {**resting, "mpOrderId": 1, "price": 100.5})
    async with exberry_client.execution_reports() as reports:
        cases: tuple[tuple[TimeInForce, float | None], ...] = (("FOK", None), ("IOC", 2.5))
        for n, (tif, minimum) in enumerate(cases, 1):
            await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=3, price=101.0, mpOrderId=n,
                timeInForce=tif, minQuantity=minimum,
            )  # fmt: skip
            report = await next_event(reports)
            assert isinstance(report, ExecutionReport)
            assert (report.messageType, report.cancelReason) == ("Cancelled", "ImmediateOrder")
            assert (report.filledQuantity, report.cancelledQuantity) == (0, 3)
        assert await book_of(exberry_client, "BTC") == [("Sell", 100.5, 2)]  # untouched
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=3, price=101.0, mpOrderId=3,
            timeInForce="IOC", minQuantity=2,
        )  # fmt: skip
        executed, cancelled = await next_event(reports), await next_event(reports)
        assert isinstance(executed, ExecutionReport)
        assert isinstance(cancelled, ExecutionReport)
        assert (executed.messageType, executed.lastFilledQuantity) == ("Executed", 2)
        assert (cancelled.messageType, cancelled.cancelledQuantity) == ("Cancelled", 1)
    for bad in ({"minQuantity": 1}, {"timeInForce": "IOC", "minQuantity": 4}):
        with pytest.raises(OrderValidationError, match="minQuantity") as info:
            await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=3, price=99.0, mpOrderId=9, **bad
            )
        assert info.value.code == 1001


async def test_self_trade_prevention(exberry_client: ExberryClient) -> None:
    # stpAction was ignored: the order traded with the participant's own resting order.
    for n in (1, 2):
        await exberry_client.place_order(
            instrument="BTC", side="Sell", quantity=1, price=100.5, mpOrderId=n
        )
    async with exberry_client.execution_reports() as reports:
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=100.5, mpOrderId=3,
            stpAction="CancelIncomingOrder", timeInForce="IOC",
        )  # fmt: skip
        report = await next_event(reports)
        assert isinstance(report, ExecutionReport)
        assert (report.mpOrderId, report.cancelReason) == (3, "STPIncomingOrder")
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1.5, price=100.5, mpOrderId=4,
            stpAction="CancelRestingOrder",
        )  # fmt: skip
        first, second = await next_event(reports), await next_event(reports)
        assert isinstance(first, ExecutionReport)
        assert isinstance(second, ExecutionReport)
        assert [(r.mpOrderId, r.cancelReason) for r in (first, second)] == [
            (1, "STPRestingOrder"),
            (2, "STPRestingOrder"),
        ]
    assert await book_of(exberry_client, "BTC") == [("Buy", 100.5, 1.5)]
    with pytest.raises(OrderValidationError, match="stpAction"):
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=100.5, mpOrderId=5,
            stpAction="CancelBothOrders", timeInForce="FOK",
        )  # fmt: skip


async def test_a_taker_stopped_by_self_trade_prevention_leaves_no_filled_order_on_the_book(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, md: ExberryClient
) -> None:
    # A taker that filled another participant's order and then met its own one at the
    # same price was cancelled by CancelBothOrders, and the order it had filled stayed on
    # the book as a level of 0: a phantom best bid in every book snapshot.
    exberry_sim.place_order("other-mp", {
        "instrument": "BTC", "orderType": "Limit", "side": "Buy", "quantity": 2,
        "price": 103.0, "mpOrderId": 1, "timeInForce": "GTC",
    })  # fmt: skip
    await exberry_client.place_order(
        instrument="BTC", side="Buy", quantity=1, price=103.0, mpOrderId=1
    )
    await exberry_client.place_order(
        instrument="BTC", side="Buy", quantity=1, price=102.5, mpOrderId=2
    )
    await exberry_client.place_order(
        instrument="BTC", side="Sell", quantity=4, price=102.5, mpOrderId=3,
        stpAction="CancelBothOrders",
    )  # fmt: skip
    async with md.partial_order_book(symbol="BTC", levels=5) as book:
        snapshot = await asyncio.wait_for(anext(book), 5)
    assert isinstance(snapshot, PartialOrderBook)
    assert [msgspec.structs.astuple(lv) for lv in snapshot.bids] == [(102.5, 1.0, 1)]
    assert snapshot.asks == []
    state = await exberry_client.order_book_state()
    assert [(o.side, o.price, o.quantity) for o in state.orders] == [("Buy", 102.5, 1)]


async def test_gtd_and_day_orders_expire_with_reason_expiration(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # GTD and DAY orders rested for ever: a bot never saw its orders expire.
    sim, client, now = timed
    buy = functools.partial(client.place_order, instrument="BTC", side="Buy", price=99.0)
    await buy(quantity=1, mpOrderId=1, timeInForce="GTD", expiryDate=int(NOON) + 60)
    await buy(quantity=2, mpOrderId=2, timeInForce="GTD", expiryDay=dt.date(2026, 11, 25))
    await buy(quantity=3, mpOrderId=3, timeInForce="DAY")
    await buy(quantity=4, mpOrderId=4)  # GTC
    close = dt.datetime(2026, 11, 24, 23, 59, tzinfo=dt.UTC).timestamp()
    async with client.execution_reports() as reports:
        active, _ = await client.mass_order_status()  # after the stream's opening, too
        assert [(o.mpOrderId, o.expiryDate, o.expiryDay) for o in active] == [
            (1, int(NOON) + 60, None), (2, None, "2026-11-25"), (3, None, None), (4, None, None),
        ]  # fmt: skip
        for moment, expired in ((NOON + 60, 1), (close, 3), (close + 86_400, 2)):
            now[0] = moment
            await client.mass_order_status()  # a request notices what has expired
            report = await next_event(reports)
            assert isinstance(report, ExecutionReport)
            assert (report.mpOrderId, report.messageType, report.cancelReason) == (
                expired, "Cancelled", "Expiration",
            )  # fmt: skip
            assert report.cancelledQuantity == expired
    active, _ = await client.mass_order_status()
    assert [o.mpOrderId for o in active] == [4]
    assert await book_of(client, "BTC") == [("Buy", 99.0, 4)]
    assert sim.expire_orders() == 0
    assert all(
        not k.startswith("_") for item in sim.mass_order_status("trader:tok", {}) for k in item
    )


async def test_an_order_expires_by_itself_at_its_time() -> None:
    # Nothing cancelled an order when its expiry came: it waited for a request.
    start = time.monotonic()
    expiry = int(NOON) + 60

    def clock() -> float:  # 50 ms before the expiry when the test starts, then real time
        return expiry - 0.05 + time.monotonic() - start

    async with (
        ExberrySimulator(clock=clock, tokens={"tok"}) as sim,
        ExberryClient(sim.url, token="tok", reconnect=INSTANT) as client,
        client.execution_reports() as reports,
    ):
        await client.place_order(
            instrument="BTC", side="Sell", quantity=1, price=101.0, mpOrderId=1,
            timeInForce="GTD", expiryDate=expiry,
        )  # fmt: skip
        added = await next_event(reports)
        expired = await next_event(reports)  # no request in between
        assert isinstance(added, ExecutionReport)
        assert isinstance(expired, ExecutionReport)
        assert (added.messageType, expired.cancelReason) == ("Add", "Expiration")
        assert sim.books["BTC"]["Sell"] == []


async def test_expiry_terms_are_checked(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # GTD orders without (or with two) expiries, past or malformed ones, were accepted.
    sim, client, _ = timed
    order = {"instrument": "BTC", "side": "Buy", "quantity": 1, "price": 99.0,
             "orderType": "Limit", "mpOrderId": 1}  # fmt: skip
    for terms, code, text in (
        ({"timeInForce": "GTD"}, 1000, "exactly one of expiryDate or expiryDay"),
        ({"timeInForce": "GTD", "expiryDate": int(NOON) + 9, "expiryDay": "2026-11-25"},
         1000, "exactly one"),
        ({"timeInForce": "GTD", "expiryDate": int(NOON)}, 1001, "in the future"),
        ({"timeInForce": "GTD", "expiryDay": "2026-11-23"}, 1001, "in the future"),
        ({"timeInForce": "GTD", "expiryDay": "20261125"}, 1001, "YYYY-MM-DD"),
        ({"timeInForce": "GTD", "expiryDay": "2026-13-01"}, 1001, "YYYY-MM-DD"),
        ({"timeInForce": "GTD", "expiryDate": "soon"}, 1001, "Invalid request data"),
        ({"timeInForce": "GTC", "expiryDay": "2026-11-25"}, 1001, "only for GTD"),
    ):  # fmt: skip
        with pytest.raises(OrderValidationError, match=text) as info:
            await client.request("v1/exchange.market/placeOrder", {**order, **terms})
        assert info.value.code == code, terms
    gtd = functools.partial(
        client.place_order, instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1,
        timeInForce="GTD",
    )  # fmt: skip
    with pytest.raises(ClientError, match="expiryDate must be an aware datetime"):
        await gtd(expiryDate=dt.datetime(2026, 11, 25))
    with pytest.raises(ClientError, match="expiryDay must be a date"):
        await gtd(expiryDay=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    with pytest.raises(ClientError, match="expiryDay must be 'YYYY-MM-DD'"):
        await gtd(expiryDay="25/11/2026")
    assert sim.orders == {}
    placed = await client.place_order(
        instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=2,
        timeInForce="GTD", expiryDay="2026-11-24",  # today: until its close
    )  # fmt: skip
    assert placed.orderId in sim.orders


async def test_a_replace_changes_the_expiry_or_keeps_it(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # replaceOrder ignored timeInForce and the expiry (and minQuantity, stopPrice).
    sim, client, now = timed
    first = await client.place_order(
        instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1
    )
    second = await client.place_order(
        instrument="BTC", side="Buy", quantity=1, price=98.0, mpOrderId=2,
        timeInForce="GTD", expiryDate=int(NOON) + 60,
    )  # fmt: skip
    replace = functools.partial(client.replace_order, instrument="BTC", price=99.0)
    new_york = dt.timezone(dt.timedelta(hours=-5))
    in_30s = dt.datetime.fromtimestamp(NOON + 30, new_york)  # sent as epoch seconds
    await replace(orderId=first.orderId, quantity=2, timeInForce="GTD", expiryDate=in_30s)
    await replace(orderId=second.orderId, quantity=3)  # keeps its expiry
    for bad, text in (
        ({"timeInForce": "IOC"}, "timeInForce"),
        ({"minQuantity": 1}, "minQuantity"),
        ({"stopPrice": 90.0}, "stopPrice"),
        ({"timeInForce": "GTD"}, "exactly one"),
    ):
        with pytest.raises(OrderValidationError, match=text):
            await replace(orderId=second.orderId, quantity=3, **bad)
    now[0] = NOON + 30
    assert sim.expire_orders() == 1
    assert [o["mpOrderId"] for o in sim.books["BTC"]["Buy"]] == [2]
    await replace(orderId=second.orderId, quantity=3, timeInForce="GTC")  # no expiry now
    now[0] = NOON + 3600
    assert sim.expire_orders() == 0
    assert await book_of(client, "BTC") == [("Buy", 99.0, 3)]


async def test_mass_cancel_by_parties_counts_the_requested_entities(
    exberry_client: ExberryClient,
) -> None:
    # targetParties was ignored (every order was cancelled), the counters of other
    # requested entities missing, and Party objects were sent with their null members.
    from deribit_client.exberry.models import Party

    desk = Party(id="desk-a", source="D")
    for n, parties in enumerate(([desk, Party(id="trader-7", role=3)], None), 1):
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=n, parties=parties
        )
    result = await exberry_client.mass_cancel(
        targetScope="All", targetParties=[desk], targetEntities=["Order", "Quote"]
    )
    assert (result.numberOfOrders, result.numberOfQuotes, result.numberOfRfqs) == (1, 0, None)
    active, _ = await exberry_client.mass_order_status()
    assert [o.mpOrderId for o in active] == [2]
    with pytest.raises(OrderValidationError, match="Invalid party"):
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=3,
            parties=[Party(id="x" * 21)],
        )  # fmt: skip


async def test_numbers_that_json_cannot_carry_are_refused_before_sending(
    exberry_client: ExberryClient,
) -> None:
    # NaN would go out as null, which reads as an absent member: an order without its
    # minimum quantity.
    resting = len((await exberry_client.order_book_state()).orders)
    with pytest.raises(ClientError, match="'minQuantity' is nan"):
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=2, price=1, mpOrderId=8, minQuantity=math.nan
        )
    with pytest.raises(ClientError, match=r"'parties\[0\]\.weight' is inf"):
        await exberry_client.request(
            "v1/exchange.market/placeOrder", {"parties": [{"weight": math.inf}]}
        )
    with pytest.raises(ClientError, match="'depth' is nan"):
        exberry_client.stream("v2/exchange.market/orderBookDepth", {"depth": math.nan})
    # A stream's d goes out again at every reconnect: one JSON cannot carry is refused when
    # the stream is made, not in the task that reopens it.
    with pytest.raises(ClientError, match="orderBookDepth: Fraction values"):
        exberry_client.stream("v2/exchange.market/orderBookDepth", {"depth": Fraction(1, 2)})
    assert len((await exberry_client.order_book_state()).orders) == resting


async def test_stream_and_request_arguments_are_checked(exberry_client: ExberryClient) -> None:
    depth = "v2/exchange.market/orderBookDepth"
    bad_streams: list[tuple[Callable[[], object], str]] = [
        (lambda: exberry_client.stream(depth, [1, 2]), "d must be a mapping"),  # type: ignore[arg-type]
        (lambda: exberry_client.stream(depth, policy="latest"), "policy"),  # type: ignore[arg-type]
        (lambda: exberry_client.stream(depth, callback=3), "callback"),  # type: ignore[arg-type]
        (lambda: exberry_client.order_book_depth(on_error="log"), "on_error"),  # type: ignore[arg-type]
    ]
    for make, message in bad_streams:
        with pytest.raises(ClientError, match=message):
            make()
    with pytest.raises(ClientError, match="many must be a bool"):
        await exberry_client.request("v2/exchange.market/orderBookState", many="no")  # type: ignore[arg-type]
    # Counts and times are ints: "5" or True would go out and come back as a 1001.
    bad_ints: list[tuple[Any, str]] = [
        (lambda: exberry_client.mp_orders(limit="5"), "limit must be an int from 1 to 100"),  # type: ignore[arg-type]
        (lambda: exberry_client.mp_trades(limit=True), "limit must be an int"),
        (lambda: exberry_client.mp_trades(offset=-1), "offset must be an int >= 0"),
        (lambda: exberry_client.candles_history(symbol="BTC", from_="0", to=5), "from_"),  # type: ignore[arg-type]
    ]
    for call, message in bad_ints:
        with pytest.raises(ClientError, match=message):
            await call()
    naive, aware = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    bad_reports: list[tuple[Any, str]] = [
        (lambda: exberry_client.mp_orders(dateFrom=naive), "aware datetime"),
        (lambda: exberry_client.mp_orders(dateTo="2026-01-01"), "YYYY-MM-DDThh:mm:ss"),
        (lambda: exberry_client.mp_trades(dateFrom="2026-02-30T00:00:00"), "not a date"),
        (
            lambda: exberry_client.mp_trades(dateFrom=aware, dateTo="2025-12-31T23:00:00"),
            "dateTo must be after dateFrom",
        ),
        (lambda: exberry_client.mp_orders(orderBy={"field": "timestamp"}), "orderBy field"),
        (lambda: exberry_client.mp_trades(orderBy={"direction": "desc"}), "orderBy direction"),
        # An array compares by elements: it must not reach a comparison's truth value.
        (
            lambda: exberry_client.mp_trades(orderBy={"direction": np.array(["Asc", "Desc"])}),  # type: ignore[dict-item]
            "direction",
        ),
        (lambda: exberry_client.mp_trades(orderBy=["timestamp"]), "orderBy must be"),  # type: ignore[arg-type]
        (lambda: exberry_client.mp_trades(actionTypes=["Trade"]), "actionTypes must be"),  # type: ignore[list-item]
        (lambda: exberry_client.mp_trades(actionTypes="TradeReport"), "not the string"),  # type: ignore[arg-type]
        (lambda: exberry_client.mp_orders(statuses=["Open"]), "statuses must be"),  # type: ignore[list-item]
        (lambda: exberry_client.mp_orders(statuses="Active"), "not the string"),  # type: ignore[arg-type]
        # Not a list at all: a TypeError escaped ("'bool' object is not iterable").
        (lambda: exberry_client.mp_orders(statuses=True), "statuses must be a list"),  # type: ignore[arg-type]
        (lambda: exberry_client.mp_transactions(transactionTypes=3), "transactionTypes must"),  # type: ignore[arg-type]
        (lambda: exberry_client.mp_trades(actionTypes={"TradeReport": 1}), "actionTypes must"),  # type: ignore[arg-type]
        (lambda: exberry_client.mp_trades(tradeDate="24.11.2026"), "tradeDate must be"),
    ]
    for call, message in bad_reports:
        with pytest.raises(ClientError, match=message):
            await call()
    # The simulator refuses the same, as the venue does (1001), for clients that do not.
    reporting = "v2/exchange.reporting/mp/orders"
    for d in ({"dateFrom": "2026-13-01T00:00:00"}, {"statuses": ["Open"]},
              {"dateFrom": "2026-01-02T00:00:00", "dateTo": "2026-01-01T00:00:00"},
              {"orderId": 1}, {"orderBy": {"field": "price"}}, {"limit": 0},
              {"tradeDate": "2026-11-24T00:00:00"}):  # fmt: skip
        with pytest.raises(ExberryError) as info:
            await exberry_client.request(reporting, d)
        assert info.value.code == 1001, d
    with pytest.raises(ClientError, match="multiplier"):
        exberry_client.candles(symbol="BTC", multiplier=0)
    with pytest.raises(ClientError, match="limit must be an int from 1 to 10000"):
        exberry_client.live_trades(symbol="BTC", limit=1.5)  # type: ignore[arg-type]
    with pytest.raises(ClientError, match="trackingNumber"):
        exberry_client.execution_reports(trackingNumber=True)


async def test_requests_carry_their_arguments_and_nothing_else(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # Wrappers read their arguments from locals() after assigning q: replaceOrder,
    # modifyOrder, massCancel and both reporting requests sent "q" inside d too.
    placed = await exberry_client.place_order(
        instrument="BTC", side="Buy", quantity=2, price=1.0, mpOrderId=1
    )
    order: dict[str, Any] = {"orderId": placed.orderId, "instrument": "BTC"}
    await exberry_client.replace_order(**order, quantity=2, price=1.5)
    with pytest.warns(DeprecationWarning, match="modifyOrder is deprecated"):
        await exberry_client.modify_order(**order, quantity=1)
    await exberry_client.cancel_order(**order)
    await exberry_client.mass_cancel(instrument="BTC")
    await exberry_client.mp_orders(limit=5)
    await exberry_client.mp_trades(limit=5, dateFrom="2026-01-01T00:00:00")
    sent = {q.rsplit("/", 1)[-1]: d for q, d in exberry_sim.calls}
    assert sent["replaceOrder"] == {**order, "quantity": 2, "price": 1.5}
    assert sent["modifyOrder"] == {**order, "quantity": 1}
    assert sent["cancelOrder"] == order
    assert sent["massCancel"] == {"instrument": "BTC"}
    assert sent["orders"] == {"limit": 5}
    assert sent["trades"] == {"limit": 5, "dateFrom": "2026-01-01T00:00:00"}


async def test_any_mapping_goes_where_a_mapping_is_taken(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # orderBy and parties are typed Mapping, but only a dict encoded: a read-only mapping
    # failed with msgspec's TypeError "Encoding objects of type mappingproxy is
    # unsupported" (the broker's histories alone copied orderBy into a dict).
    order_by = types.MappingProxyType({"field": "createdAt", "direction": "Desc"})
    party = types.MappingProxyType({"id": "trader-7", "source": "D", "role": 11})
    await exberry_client.mp_orders(orderBy=order_by)
    await exberry_client.place_order(
        instrument="BTC", side="Buy", quantity=1, price=1.0, mpOrderId=1, parties=[party]
    )
    sent = {q.rsplit("/", 1)[-1]: d for q, d in exberry_sim.calls}
    assert sent["orders"] == {"orderBy": dict(order_by)}
    assert sent["placeOrder"]["parties"] == [dict(party)]


async def test_item_types_are_checked_before_anything_is_sent(
    exberry_client: ExberryClient,
) -> None:
    class NotAModel:  # neither a msgspec type nor one with _from_json: no item could fit
        pass

    resting = len((await exberry_client.order_book_state()).orders)
    order = {"instrument": "BTC", "side": "Buy", "quantity": 1, "price": 1, "mpOrderId": 7}
    order |= {"orderType": "Limit", "timeInForce": "GTC"}
    with pytest.raises(ClientError, match="item_type"):
        await exberry_client.request("v1/exchange.market/placeOrder", order, item_type=NotAModel)
    with pytest.raises(ClientError, match="item_type"):
        exberry_client.stream("v2/exchange.market/orderBookDepth", item_type=NotAModel)
    assert len((await exberry_client.order_book_state()).orders) == resting  # not placed
    # An unhashable type expression cannot key a cache, and is still a type to decode into.
    tagged = Annotated[dict[str, Any], {"source": "exberry"}]
    async with asyncio.timeout(5):
        items = await exberry_client.request(
            "v2/exchange.market/orderBookState", item_type=tagged, many=True
        )
    assert items
    assert all(type(item) is dict for item in items)

    class Picky:  # decodes itself, and fails as user code may: with any exception
        @classmethod
        def _from_json(cls, obj: Any) -> Picky:
            raise KeyError("missing")

    async with asyncio.timeout(5):  # answered, so reported at once: not a timeout
        with pytest.raises(ProtocolError, match="KeyError"):
            await exberry_client.request(
                "v2/exchange.market/orderBookState", item_type=Picky, many=True
            )


async def test_requests_before_a_session_fail_with_invalid_session(
    exberry_sim: ExberrySimulator,
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.ws_connect(exberry_sim.url) as ws:
        await ws.send_str('{"q":"v1/exchange.market/placeOrder","sid":1,"d":{}}')
        reply = await ws.receive_json()
        assert (reply["sig"], reply["d"]["errorCode"]) == (2, 1007)
    assert InvalidSession.__name__ == "InvalidSession"


async def test_another_participants_order_reaches_the_streams_at_once(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # A test acting for another participant calls the engine directly: its events were
    # held until the client's next request, so a bot that only listened saw nothing.
    async with exberry_client.trades() as trades, exberry_client.order_book_depth() as book:
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=10.0, mpOrderId=1
        )
        assert isinstance(await asyncio.wait_for(anext(book), 5), Add)
        order = {"mpOrderId": 1, "orderType": "Limit", "side": "Sell", "instrument": "BTC"}
        exberry_sim.place_order("other-mp", {**order, "quantity": 1, "price": 10.0})
        trade = await asyncio.wait_for(anext(trades), 5)
        assert isinstance(trade, Trade)
        assert (trade.mpOrderId, trade.makerTaker) == (1, "Maker")
        assert isinstance(await asyncio.wait_for(anext(book), 5), Executed)


@pytest.mark.parametrize("identity", ["disclosed", "anonymous", "pseudonymous"])
async def test_participants_are_numbered_and_the_book_shows_others_as_configured(
    identity: Any,
) -> None:
    async with (
        ExberrySimulator(market_identity=identity) as sim,
        ExberryClient(sim.url, **EXBERRY_KEY) as client,
    ):
        me, other = sim.participant(SIM_API_KEY), sim.participant("other-mp")
        assert (me, other) == ((1, "Participant1"), (2, "Participant2"))
        order = {"orderType": "Limit", "side": "Sell", "instrument": "BTC", "quantity": 2}
        sim.place_order("other-mp", {**order, "mpOrderId": 7, "price": 10.0})
        async with (  # from the first event: the other's Add is replayed, the rest live
            client.order_book_depth(trackingNumber=0) as book,
            client.execution_reports() as reports,
            client.trades() as trades,
        ):
            await client.place_order(instrument="BTC", side="Buy", quantity=1,
                                     orderType="Market", mpOrderId=1)  # fmt: skip
            await client.place_order(instrument="BTC", side="Buy", quantity=1, price=5.0,
                                     mpOrderId=2)  # fmt: skip
            theirs, fill, mine = [await next_event(book) for _ in range(3)]
            report, trade = await next_event(reports), await next_event(trades)
    assert isinstance(theirs, Add)
    assert isinstance(fill, Executed)
    assert isinstance(mine, Add)
    assert isinstance(report, ExecutionReport)
    assert isinstance(trade, Trade)
    # Private events name their own participant, the public stream always shows you.
    assert (report.mpId, report.mpName) == (trade.mpId, trade.mpName) == me
    assert (mine.mpId, mine.mpOrderId, fill.takerMpId, fill.takerMpOrderId) == (1, 2, 1, 1)
    shown = {  # what the book tells of the other participant's resting order
        "disclosed": (other.mp_id, 7),
        "anonymous": (None, None),
        "pseudonymous": (theirs.mpId, None),
    }[identity]
    assert (theirs.mpId, theirs.mpOrderId) == (fill.makerMpId, fill.makerMpOrderId) == shown
    if identity == "pseudonymous":  # a stand-in that is neither participant's id
        assert theirs.mpId not in (None, me.mp_id, other.mp_id)


def test_the_market_identity_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="market_identity must be"):
        ExberrySimulator(market_identity="hidden")  # type: ignore[arg-type]


async def test_a_lost_order_reply_is_outcome_unknown_with_its_mp_order_id(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    exberry_sim.delay("v1/exchange.market/placeOrder", 0.5)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=42, timeout=0.05
        )
    assert info.value.params["mpOrderId"] == 42
    # Exberry's way to reconcile, not Deribit's (it said client.private.reconcile)
    assert "mpOrderId=42" in str(info.value)
    assert "mass_order_status()" in info.value.advice
    assert "private.reconcile" not in str(info.value)
    # Reconcile through massOrderStatus: the order exists once the exchange processed it.
    await until(lambda: any(o["mpOrderId"] == 42 for o in exberry_sim.orders.values()))
    orders, _ = await exberry_client.mass_order_status()
    assert [o.mpOrderId for o in orders] == [42]


async def test_a_reply_lost_with_its_socket_leaves_the_order_placed_and_its_events_replayed(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    _, start = await exberry_client.mass_order_status()  # lose no event from here on
    async with exberry_client.execution_reports(trackingNumber=start) as reports:
        exberry_sim.lose_replies("v1/exchange.market/placeOrder")
        with pytest.raises(OrderOutcomeUnknown, match="connection lost"):
            await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=9
            )
        assert [o["mpOrderId"] for o in exberry_sim.orders.values()] == [9]  # it went in
        await exberry_client.wait_ready()
        with pytest.raises(OrderValidationError) as copy:  # a copy is never placed
            await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=9
            )
        assert copy.value.code == 1002
        added = await asyncio.wait_for(anext(reports), 5)  # replayed: no Gap
        assert isinstance(added, ExecutionReport)
        assert (added.messageType, added.mpOrderId) == ("Add", 9)
    assert exberry_client.reconnect_count == 1
    assert len(exberry_sim.orders) == 1


async def test_simulator_fault_hooks_hit_one_qualifier_and_only_the_next_requests(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The Exberry simulator could only hold every reply; a bot's handling of one failed
    # or slow request could not be tested.
    place = functools.partial(
        exberry_client.place_order, instrument="BTC", side="Buy", quantity=1, price=10.0
    )
    exberry_sim.inject_error("v1/exchange.market/placeOrder", 1, "Exchange is unavailable")
    with pytest.raises(ExberryUnavailable, match="Exchange is unavailable") as info:
        await place(mpOrderId=1)
    assert info.value.code == 1
    assert exberry_sim.orders == {}  # refused, not run
    assert (await place(mpOrderId=1)).orderStatus == "Pending"  # only the next one
    # a reply held on one qualifier holds no other request
    exberry_sim.delay("v1/exchange.market/placeOrder", 60)
    held = asyncio.ensure_future(place(mpOrderId=2, timeout=120))
    await until(lambda: len(exberry_sim.calls) == 4)
    orders, _ = await exberry_client.mass_order_status()
    assert [o.mpOrderId for o in orders] == [1]
    assert not held.done()
    held.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held
    # The order went out: its caller's cancellation leaves a warning with its outcome.
    unknown = [r.outcome_unknown for r in caplog.records if hasattr(r, "outcome_unknown")]
    assert [(u.method, u.params["mpOrderId"]) for u in unknown] == [
        ("v1/exchange.market/placeOrder", 2)
    ]
    # ... and, once the held reply comes, a second one with what became of it.
    exberry_sim.delay("v1/exchange.market/placeOrder", 0.05)
    with pytest.raises(OrderOutcomeUnknown) as timed_out:
        await place(mpOrderId=4, timeout=0.01)
    await until(lambda: len([r for r in caplog.records if hasattr(r, "late_reply")]) == 1)
    [late] = [r.late_reply for r in caplog.records if hasattr(r, "late_reply")]
    assert late.unknown is timed_out.value
    assert isinstance(late.value, PlaceOrderResult)
    assert late.value.orderId == next(
        o["orderId"] for o in exberry_sim.orders.values() if o["mpOrderId"] == 4
    )
    # "*" hits whatever comes next; close=True also cuts the socket, and the client
    # reconnects
    exberry_sim.inject_error("*", 1200, "General error", close=True)
    with pytest.raises(ExberryError, match="General error"):
        await exberry_client.mass_order_status()
    await until(lambda: exberry_client.reconnect_count == 1 and exberry_client.state == "ready")
    # clear_faults() forgets what no request has met yet
    exberry_sim.inject_error("*", 1200, "General error", times=None)
    exberry_sim.delay("*", 60, times=None)
    exberry_sim.lose_replies("*", times=None)
    exberry_sim.clear_faults()
    async with asyncio.timeout(5):
        assert (await place(mpOrderId=3)).orderStatus == "Pending"
    assert exberry_client.reconnect_count == 1
    faults: list[tuple[Callable[[], object], str]] = [
        (lambda: exberry_sim.delay("v1/heartbeat/ping", -1), "seconds must be a number >= 0"),
        (lambda: exberry_sim.delay("v1/heartbeat/ping", 1, times=0), "times must be an int"),
        (lambda: exberry_sim.inject_error("", 1), "a fault needs a method name"),
    ]
    for bad, text in faults:
        with pytest.raises(ValueError, match=text):
            bad()


async def test_malformed_frames_and_unknown_sids_are_tolerated(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    async with exberry_client.order_book_depth() as book:
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        sid = next(iter(next(iter(exberry_sim.peers)).streams))
        await exberry_sim.send_raw("{not json")
        await exberry_sim.send_raw('{"q":"x","sid":424242,"d":{}}')
        await exberry_sim.send_raw(
            f'{{"q":"v2/exchange.market/orderBookDepth","sid":{sid},"d":{{"messageType":"Nope"}}}}'
        )
        marker = await anext(book)
        assert marker == Gap("v2/exchange.market/orderBookDepth", "malformed")
    assert exberry_client.state == "ready"
    assert exberry_client.malformed == 1


def test_client_arguments_are_checked() -> None:
    with pytest.raises(ClientError, match="url"):
        ExberryClient("http://x")
    with pytest.raises(ClientError, match="one of"):
        ExberryClient("ws://x", api_key="k", secret="s", token="t")
    with pytest.raises(ClientError, match="secret"):
        ExberryClient("ws://x", api_key="k")
    assert "sim-exberry-secret" not in repr(ExberryClient("ws://x", **EXBERRY_KEY))
    with pytest.raises(ClientError, match="secret must be a non-empty str, not bytes") as bad:
        ExberryClient("ws://x", api_key="k", secret=b"sim-exberry-secret")  # type: ignore[arg-type]
    assert "sim-exberry-secret" not in str(bad.value)
    with pytest.raises(ClientError, match="api_key must be a non-empty str"):
        ExberryClient("ws://x", api_key="", secret="s")
    with pytest.raises(ClientError, match="token must be a non-empty str, not int"):
        ExberryClient("ws://x", token=5)  # type: ignore[arg-type]


async def test_local_order_book_from_state_and_depth(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    from deribit_client.exberry import ExberryOrderBook

    await exberry_client.place_order(
        instrument="BTC", side="Buy", quantity=2, price=99.0, mpOrderId=1
    )
    await exberry_client.place_order(
        instrument="BTC", side="Sell", quantity=3, price=101.0, mpOrderId=2
    )
    book = ExberryOrderBook("BTC")
    state = await exberry_client.order_book_state()
    book.load(state)
    assert (book.best_bid, book.best_ask) == ((99.0, 2.0), (101.0, 3.0))
    async with exberry_client.order_book_depth(trackingNumber=state.last_tracking_number) as depth:
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=3
        )
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=2, orderType="Market", mpOrderId=4
        )
        await exberry_client.cancel_order(instrument="BTC", mpOrderId=1)
        while book.last_tracking_number != exberry_sim._tracking:
            book.apply(await asyncio.wait_for(anext(depth), 5))
    assert book.bids() == [(99.0, 1.0)]
    assert book.asks() == [(101.0, 1.0)]
    assert not book.stale
    book.apply(Gap("v2/exchange.market/orderBookDepth", "reconnected"))
    assert bool(book.stale)  # not `book.stale`: mypy, narrowed above, would skip the rest
    await book.resync(exberry_client)
    assert book.asks(1) == [(101.0, 1.0)]
    assert book.bids(0) == []
    with pytest.raises(ClientError, match="depth"):
        book.bids(-1)
    with pytest.raises(ClientError, match="depth"):
        book.bids("1")  # type: ignore[arg-type]


async def test_halted_closed_and_disabled_instruments_refuse_trading(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, md: ExberryClient
) -> None:
    # Every simulated instrument was open for trading for ever: a bot could not be tested
    # against a halt, a closed market or a disabled instrument.
    from deribit_client.exberry import ExberryOrderBook
    from deribit_client.exberry.errors import MarketStateError
    from deribit_client.exberry.models import InstrumentStatus, LightTicker

    sim, client = exberry_sim, exberry_client
    placed = await client.place_order(
        instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1
    )
    book = ExberryOrderBook("BTC")
    book.load(await client.order_book_state())
    assert (book.trading_status, book.market_status, book.status) == ("Trade", "Opened", "Active")

    async def refused(code: int) -> None:
        attempts = (
            lambda: client.place_order(instrument="BTC", side="Buy", quantity=1, price=98.0,
                                       mpOrderId=100 + code),
            lambda: client.cancel_order(instrument="BTC", mpOrderId=1),
            lambda: client.replace_order(orderId=placed.orderId, instrument="BTC", quantity=2,
                                         price=97.0),
            lambda: client.mass_cancel(instrument="BTC"),
        )  # fmt: skip
        for attempt in attempts:
            with pytest.raises(MarketStateError) as info:
                await attempt()
            assert info.value.code == code

    async with (
        client.order_book_depth(trackingNumber=book.last_tracking_number) as depth,
        md.light_tickers(symbols=["BTC"], interval=100, policy="drop_oldest") as tickers,
    ):
        ticker = await asyncio.wait_for(anext(tickers), 5)
        assert isinstance(ticker, LightTicker)
        assert ticker.status == "Trading"
        await client.order_book_state()  # the stream is open once a later request is answered
        sim.set_instrument_status("BTC", tradingStatus="Halt")
        event = await asyncio.wait_for(anext(depth), 5)
        assert isinstance(event, InstrumentStatus)
        assert (event.instrument, event.tradingStatus, event.marketStatus) == ("BTC", "Halt", None)
        book.apply(event)
        assert (book.trading_status, book.market_status) == ("Halt", "Opened")
        ticker = await asyncio.wait_for(anext(tickers), 5)
        assert ticker.status == "Halted"  # type: ignore[union-attr]
        await refused(1009)
        # Other instruments trade on; a mass cancel of them all leaves the halted one's.
        await client.place_order(instrument="ETH", side="Buy", quantity=1, price=9.5, mpOrderId=2)
        cancelled = await client.mass_cancel(targetScope="All")
        assert cancelled.numberOfOrders == 1
        sim.set_instrument_status("BTC", marketStatus="Closed")
        await refused(1003)  # closed and halted: the market's state is told first
        sim.set_instrument_status("BTC", tradingStatus="Trade", marketStatus="AuctionCrossing")
        await refused(1030)
        sim.set_instrument_status("BTC", marketStatus="Opened", status="Disabled")
        await refused(1004)
        gone = await asyncio.wait_for(anext(tickers), 5)
        assert (gone.symbol, gone.errorCode, gone.errorMessage) == ("BTC", 3, "Wrong symbol")  # type: ignore[union-attr]
        sim.set_instrument_status("BTC", status="Active")
        while book.last_tracking_number != sim._tracking:
            book.apply(await asyncio.wait_for(anext(depth), 5))
    assert (book.trading_status, book.market_status, book.status) == ("Trade", "Opened", "Active")
    assert book.bids() == [(99.0, 1.0)]  # resting orders stayed through it all
    await client.cancel_order(instrument="BTC", mpOrderId=1)
    with pytest.raises(ValueError, match="tradingStatus must be one of Trade, Halt"):
        sim.set_instrument_status("BTC", tradingStatus="HALT")


async def test_iceberg_and_hidden_orders_show_only_what_they_display(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # displayMethod was ignored: icebergs and hidden orders showed in full on every book.
    from deribit_client.exberry import ExberryOrderBook
    from deribit_client.exberry.models import NonDisplayTrade

    sell = {"orderType": "Limit", "side": "Sell", "instrument": "BTC", "price": 100.5}
    exberry_sim.place_order(
        "other-mp",
        {
            **sell,
            "mpOrderId": 1,
            "quantity": 10,
            "displayMethod": "DisplayQuantity",
            "displayQuantity": 2,
        },
    )
    exberry_sim.place_order("other-mp", {**sell, "mpOrderId": 2, "quantity": 3})
    exberry_sim.place_order("other-mp", {**sell, "mpOrderId": 3, "quantity": 5,
                                         "displayMethod": "Hidden"})  # fmt: skip
    assert await book_of(exberry_client, "BTC") == [("Sell", 100.5, 2), ("Sell", 100.5, 3)]
    working = [
        (o.get("workingDisplayQuantity"), o.get("workingHiddenQuantity"))
        for o in exberry_sim.mass_order_status("other-mp", {})[:-1]
    ]
    assert working == [(2, 8), (None, None), (0, 5)]
    book = ExberryOrderBook("BTC")
    state = await exberry_client.order_book_state()
    book.load(state)
    buy = functools.partial(
        exberry_client.place_order, instrument="BTC", side="Buy", price=100.5, timeInForce="IOC"
    )
    async with (
        exberry_client.order_book_depth(trackingNumber=state.last_tracking_number) as depth,
        exberry_client.execution_reports() as reports,
    ):
        # What shows first (2 of the iceberg, then 3), then what hides (the reserve): the
        # iceberg refills a slice of 2 from the 6 left, last in the queue.
        await buy(quantity=7, mpOrderId=1)
        fills = [await next_event(reports) for _ in range(3)]
        assert [f.lastFilledQuantity for f in fills] == [2, 3, 2]  # type: ignore[attr-defined]
        events = [await next_event(depth) for _ in range(4)]  # one action, one number
        for event in events:
            book.apply(event)
        kinds = [type(event).__name__ for event in events]
        assert kinds == ["Executed", "Executed", "NonDisplayTrade", "Add"]
        assert book.asks() == [(100.5, 2.0)]
        assert await book_of(exberry_client, "BTC") == [("Sell", 100.5, 2)]
        # The rest at once: the iceberg's slice, then its reserve and the hidden order in
        # one trade each (not a slice at a time).
        await buy(quantity=20, mpOrderId=2)
        events = [await next_event(depth) for _ in range(4)]
        for event in events:
            book.apply(event)
        kinds = [type(event).__name__ for event in events]
        assert kinds == ["Executed", "NonDisplayTrade", "NonDisplayTrade", "Cancelled"]
        hidden = [e.executedQuantity for e in events if isinstance(e, NonDisplayTrade)]
        assert hidden == [4, 5]
        assert book.asks() == []
    assert exberry_sim.books["BTC"]["Sell"] == []


async def test_a_replace_leaves_out_the_price_only_when_it_reduces(
    exberry_client: ExberryClient,
) -> None:
    # A null price turned a resting limit order into a market order (cancelled as
    # ImmediateOrder), and a replace keeping or raising the quantity could leave the
    # price out, which Exberry requires then (REFERENCE 5).
    placed = await exberry_client.place_order(
        instrument="BTC", side="Buy", quantity=3, price=99.0, mpOrderId=1
    )
    replace = functools.partial(
        exberry_client.request, "v1/exchange.market/replaceOrder", item_type=OrderIdResult
    )
    order = {"orderId": placed.orderId, "instrument": "BTC"}
    for quantity in (3, 4):
        with pytest.raises(OrderValidationError, match="Missing fields: price") as info:
            await replace({**order, "quantity": quantity, "price": None})
        assert info.value.code == 1000
    await replace({**order, "quantity": 2, "price": None})  # reduced: keeps its price
    assert await book_of(exberry_client, "BTC") == [("Buy", 99.0, 2)]


async def test_stop_orders_wait_suspended_until_the_last_trade_reaches_them(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # Stop, StopLimit, MIT and LIT orders were refused (1001): a bot could not test them.
    other = functools.partial(exberry_sim.place_order, "other-mp")
    limit = {"orderType": "Limit", "instrument": "BTC"}
    other({**limit, "mpOrderId": 1, "side": "Sell", "quantity": 1, "price": 101.0})
    other({**limit, "mpOrderId": 2, "side": "Sell", "quantity": 2, "price": 102.0})
    other({**limit, "mpOrderId": 3, "side": "Buy", "quantity": 3, "price": 98.0})
    place = functools.partial(exberry_client.place_order, instrument="BTC", quantity=1)
    async with exberry_client.execution_reports() as reports:
        await place(side="Buy", orderType="Stop", stopPrice=101.0, mpOrderId=1)
        await place(side="Sell", orderType="StopLimit", price=98.0, stopPrice=99.0, mpOrderId=2)
        await place(side="Buy", orderType="LIT", price=50.0, stopPrice=100.0, mpOrderId=3)
        for n in (1, 2, 3):
            report = await next_event(reports)
            assert isinstance(report, ExecutionReport)
            assert (report.mpOrderId, report.messageType) == (n, "Suspended")
        active, _ = await exberry_client.mass_order_status()
        assert {(o.mpOrderId, o.status) for o in active} == {
            (1, "Suspended"), (2, "Suspended"), (3, "Suspended"),
        }  # fmt: skip
        assert ("Buy", 50.0, 1) not in await book_of(exberry_client, "BTC")
        # A trade at 101 reaches the buy Stop: it buys at market (102), which no other
        # stop's trigger reaches (the sell StopLimit waits for 99 or less).
        other({**limit, "mpOrderId": 4, "side": "Buy", "quantity": 1, "price": 101.0})
        fill = await next_event(reports)
        assert isinstance(fill, ExecutionReport)
        assert (fill.mpOrderId, fill.messageType, fill.lastFilledPrice) == (1, "Executed", 102.0)
        # Moving a suspended stop's trigger to where the market is triggers it at once;
        # the LIT buy (at or below 100) waits.
        assert active[1].orderId is not None
        await exberry_client.replace_order(
            orderId=active[1].orderId,
            instrument="BTC",
            quantity=1,
            price=98.0,
            stopPrice=102.0,
        )
        modified, fill = await next_event(reports), await next_event(reports)
        assert isinstance(modified, ExecutionReport)
        assert isinstance(fill, ExecutionReport)
        assert (modified.messageType, modified.stopPrice) == ("Modified", 102.0)
        assert (fill.mpOrderId, fill.lastFilledPrice) == (2, 98.0)
        # The sell at 98 reaches the LIT buy: it rests at its limit, no longer replaceable.
        added = await next_event(reports)
        assert isinstance(added, ExecutionReport)
        assert (added.mpOrderId, added.messageType, added.price) == (3, "Add", 50.0)
        assert ("Buy", 50.0, 1) in await book_of(exberry_client, "BTC")
        assert added.orderId is not None
        with pytest.raises(OrderValidationError, match="only while suspended") as info:
            await exberry_client.replace_order(orderId=added.orderId, instrument="BTC",
                                               quantity=1, stopPrice=90.0)  # fmt: skip
        assert info.value.code == 1019
        await place(side="Sell", orderType="Stop", stopPrice=90.0, mpOrderId=4)
        await exberry_client.cancel_order(instrument="BTC", mpOrderId=4)
    book_events = [e for _, kind, _, e in exberry_sim.events if kind == "orderBookDepth"]
    other_mp = exberry_sim.participant("other-mp").mp_id
    assert not [e for e in book_events if e.get("mpOrderId") == 4 and e.get("mpId") != other_mp]


async def test_a_market_to_limit_order_takes_the_best_price_and_rests_there(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # The simulator refused MarketToLimit (v1.53) with 1001.
    asks = {"orderType": "Limit", "side": "Sell", "instrument": "BTC"}
    exberry_sim.place_order("other-mp", {**asks, "mpOrderId": 1, "quantity": 1, "price": 100.0})
    exberry_sim.place_order("other-mp", {**asks, "mpOrderId": 2, "quantity": 2, "price": 101.0})
    order: dict[str, Any] = {"instrument": "BTC", "orderType": "MarketToLimit", "quantity": 2}
    async with exberry_client.execution_reports() as reports:
        placed = await exberry_client.place_order(side="Buy", mpOrderId=1, **order)
        fill, rest = await next_event(reports), await next_event(reports)
        assert isinstance(fill, ExecutionReport)
        assert isinstance(rest, ExecutionReport)
        assert (fill.messageType, fill.lastFilledPrice, fill.lastFilledQuantity) == (
            "Executed", 100.0, 1,
        )  # fmt: skip
        assert (rest.messageType, rest.orderType, rest.price) == ("Add", "MarketToLimit", 100.0)
        # Only the best level traded: the rest is a limit at its price, under the 101 asks.
        assert await book_of(exberry_client, "BTC") == [("Buy", 100.0, 1), ("Sell", 101.0, 2)]
        # Resting, it is a limit order: a replace keeping the quantity needs its price.
        replace: dict[str, Any] = {"orderId": placed.orderId, "instrument": "BTC", "quantity": 2}
        with pytest.raises(OrderValidationError) as info:
            await exberry_client.replace_order(**replace)
        assert info.value.code == 1000
        await exberry_client.replace_order(**replace, price=99.5)
        # With nothing to trade against there is no price to take: cancelled like a market.
        await exberry_client.place_order(side="Sell", mpOrderId=2, **{**order, "instrument": "ETH"})
        reports_left = [await next_event(reports) for _ in range(2)]
    cancelled = reports_left[-1]
    assert isinstance(cancelled, ExecutionReport)
    assert (cancelled.mpOrderId, cancelled.cancelReason) == (2, "ImmediateOrder")
    with pytest.raises(ClientError, match="MarketToLimit order takes no price"):
        await exberry_client.place_order(side="Buy", mpOrderId=3, price=100.0, **order)


async def test_stop_order_terms_are_checked(exberry_client: ExberryClient) -> None:
    order = {"instrument": "BTC", "side": "Buy", "quantity": 1, "mpOrderId": 1}
    terms: dict[str, Any]
    for terms, code, text in (
        ({"orderType": "Stop"}, 1000, "stopPrice"),
        ({"orderType": "Stop", "stopPrice": 101.0, "price": 101.0}, 1001, "Price is not"),
        ({"orderType": "StopLimit", "stopPrice": 101.0}, 1001, "Price is mandatory"),
        ({"orderType": "Limit", "price": 99.0, "stopPrice": 101.0}, 1001, "stopPrice is not"),
        ({"orderType": "MIT", "stopPrice": 101.2, "timeInForce": "IOC"}, 1014, "tick size"),
    ):
        with pytest.raises(OrderValidationError, match=text) as info:
            await exberry_client.request("v1/exchange.market/placeOrder", {**order, **terms})
        assert info.value.code == code, terms


async def test_times_in_force_follow_the_continuous_trading_table(
    exberry_client: ExberryClient,
) -> None:
    # The simulator took any time in force with any order type, so the client's default
    # GTC went out on market orders, which Exberry refuses: place_order(orderType=
    # "Market") failed against the venue while every test passed.
    order: dict[str, Any] = {"instrument": "BTC", "side": "Buy", "quantity": 1}
    placed = await exberry_client.place_order(orderType="Market", mpOrderId=1, **order)
    assert placed.orderStatus == "Pending"
    stop = await exberry_client.place_order(orderType="Stop", stopPrice=200.0, mpOrderId=2, **order)
    assert stop.orderStatus == "Pending"
    orders, _ = await exberry_client.mass_order_status()
    assert [(o.orderType, o.timeInForce) for o in orders] == [("Stop", "IOC")]  # suspended
    refusals: list[tuple[dict[str, Any], int, str]] = [
        ({"orderType": "Market", "timeInForce": "GTC"}, 1001, "Market orders take FOK, IOC"),
        ({"orderType": "Market", "timeInForce": "DAY"}, 1001, "Market orders take FOK, IOC"),
        ({"orderType": "Stop", "stopPrice": 200.0, "timeInForce": "GTC"}, 1001, "take FOK"),
        ({"orderType": "Limit", "price": 99.0, "timeInForce": "GAA"}, 1031, "only during auc"),
        ({"orderType": "StopLimit", "price": 99.0, "stopPrice": 200.0, "timeInForce": "GAA"},
         1031, "GAA is allowed only during auction"),
    ]  # fmt: skip
    for n, (terms, code, text) in enumerate(refusals, start=10):
        with pytest.raises(OrderValidationError, match=text) as info:
            await exberry_client.request(
                "v1/exchange.market/placeOrder", {**order, **terms, "mpOrderId": n}
            )
        assert info.value.code == code, terms


async def test_display_rules_are_checked(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # The display members were accepted whatever they said.
    order = functools.partial(
        exberry_client.place_order, instrument="BTC", side="Buy", quantity=5, price=99.0
    )
    refusals: list[tuple[dict[str, Any], str]] = [
        ({"displayMethod": "DisplayQuantity"}, "takes displayQuantity"),
        ({"displayMethod": "DisplayQuantity", "displayQuantity": 6}, "not above quantity"),
        ({"displayMethod": "Hidden", "displayQuantity": 1}, "no display quantity"),
        ({"displayQuantity": 1}, "needs a displayMethod"),
        ({"displayMethod": "Random", "displayLowQuantity": 3, "displayHighQuantity": 2},
         "ordered"),
        ({"displayMethod": "Hidden", "timeInForce": "IOC"}, "GTC, GTD or DAY limit"),
        ({"displayMethod": "DisplayQuantity", "displayQuantity": 0.0000001}, "precision"),
    ]  # fmt: skip
    for n, (bad, text) in enumerate(refusals, 1):
        with pytest.raises(OrderValidationError, match=text):
            await order(mpOrderId=n, **bad)
    with pytest.raises(OrderValidationError, match="Wrong displayMethod"):
        await exberry_client.request(
            "v1/exchange.market/placeOrder",
            {"instrument": "BTC", "side": "Buy", "quantity": 5, "price": 99.0, "mpOrderId": 20,
             "orderType": "Limit", "displayMethod": "Iceberg", "displayQuantity": 1},
        )  # fmt: skip
    assert exberry_sim.orders == {}
    placed = await order(
        mpOrderId=30, displayMethod="Random", displayLowQuantity=1, displayHighQuantity=3
    )
    ((_, _, shown),) = await book_of(exberry_client, "BTC")
    assert 1 <= shown <= 3
    replace = functools.partial(
        exberry_client.replace_order,
        orderId=placed.orderId,
        instrument="BTC",
        quantity=5,
        price=99.0,
    )
    with pytest.raises(OrderValidationError, match="Random takes displayLowQuantity"):
        await replace(displayQuantity=1)  # not one of a Random order's
    assert await book_of(exberry_client, "BTC") == [("Buy", 99.0, shown)]
    await replace(displayLowQuantity=4, displayHighQuantity=4)
    assert await book_of(exberry_client, "BTC") == [("Buy", 99.0, 4)]


async def test_a_replace_that_loses_priority_queues_and_matches_as_a_new_order(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # The simulator changed the price or quantity in place: the order kept its place in
    # the queue, an improved price was not the best, and a crossing price left the book
    # crossed instead of trading.
    from deribit_client.exberry import ExberryOrderBook

    other = {"orderType": "Market", "side": "Buy", "instrument": "BTC", "quantity": 1,
             "timeInForce": "IOC"}  # fmt: skip
    book = ExberryOrderBook("BTC")
    state = await exberry_client.order_book_state()
    book.load(state)
    async with exberry_client.order_book_depth(trackingNumber=state.last_tracking_number) as depth:
        ids = [
            (await exberry_client.place_order(
                instrument="BTC", side="Sell", quantity=1, price=price, mpOrderId=n
            )).orderId
            for n, price in enumerate((101.0, 102.0, 102.0), 1)
        ]  # fmt: skip
        await exberry_client.replace_order(
            orderId=ids[1], instrument="BTC", quantity=1, price=100.5
        )
        exberry_sim.place_order("other-mp", {**other, "mpOrderId": 1})  # takes 100.5, not 101
        await exberry_client.replace_order(
            orderId=ids[0], instrument="BTC", quantity=2, price=102.0
        )
        exberry_sim.place_order("other-mp", {**other, "mpOrderId": 2})  # takes the third one
        assert await book_of(exberry_client, "BTC") == [("Sell", 102.0, 2)]
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=3, price=99.0, mpOrderId=4
        )
        last = (await exberry_client.mass_order_status())[0][-1].orderId
        assert last is not None
        crossing = await exberry_client.replace_order(
            orderId=last,
            instrument="BTC", quantity=3, price=102.0,
        )  # fmt: skip
        assert await book_of(exberry_client, "BTC") == [("Buy", 102.0, 1)]
        # 2 of 3 filled: 4 leaves 2 open, which the book's Modified says (newQuantity)
        again = functools.partial(
            exberry_client.replace_order, orderId=crossing.orderId, instrument="BTC", price=102.0
        )
        await again(quantity=4)
        with pytest.raises(OrderValidationError, match="above the filled quantity"):
            await again(quantity=2)
        start = state.last_tracking_number or 0
        sent = [e for e in exberry_sim.events if e[1] == "orderBookDepth" and e[0] > start]
        for _ in sent:  # the last action's events share its number: count, not compare
            book.apply(await asyncio.wait_for(anext(depth), 5))
    assert (book.bids(), book.asks()) == ([(102.0, 2.0)], [])
    active, _ = await exberry_client.mass_order_status()
    assert [(o.orderId, o.filledQuantity) for o in active] == [(crossing.orderId, 2)]


async def test_reporting_pages_orders_and_trades(exberry_client: ExberryClient) -> None:
    from deribit_client.exberry.models import OrdersPage, TradesPage

    for n in range(3):
        await exberry_client.place_order(
            instrument="BTC", side="Sell", quantity=1, price=100.0 + n, mpOrderId=n + 1
        )
    await exberry_client.place_order(
        instrument="BTC", side="Buy", quantity=2, orderType="Market", mpOrderId=10
    )
    page = await exberry_client.mp_orders(statuses=["Executed"], limit=2)
    assert isinstance(page, OrdersPage)
    assert page.count == 3  # two makers filled, and the market order
    assert len(page.orders) == 2
    assert all(o.createdAt and o.createdAt[10] == "T" for o in page.orders)
    rest = await exberry_client.mp_orders(statuses=["Executed"], limit=2, offset=2)
    assert len(rest.orders) == 1
    trades = await exberry_client.mp_trades(instruments=["BTC"])
    assert isinstance(trades, TradesPage)
    assert trades.count == 4  # two fills, a record for each side
    with pytest.raises(ClientError, match="limit"):
        await exberry_client.mp_orders(limit=500)


async def test_reporting_filters_by_time_order_and_trade(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    sim, client, now = timed
    for n in (1, 2):  # the first one stays open, half filled
        await client.place_order(instrument="BTC", side="Sell", quantity=3 - n, price=99.5 + n,
                                 mpOrderId=n)  # fmt: skip
    now[0] = NOON + 3600
    await client.place_order(instrument="BTC", side="Buy", quantity=1, orderType="Market",
                             mpOrderId=3)  # fmt: skip
    now[0] = NOON + 7200
    await client.cancel_order(instrument="BTC", mpOrderId=2)

    async def mp_order_ids(**filters: Any) -> list[int | None]:
        page = await client.mp_orders(**filters)
        assert page.count == len(page.orders)
        return [o.mpOrderId for o in page.orders]

    assert await mp_order_ids(dateFrom="2026-11-24T12:30:00") == [3]  # created after 12:30
    an_hour_east = dt.timezone(dt.timedelta(hours=1))
    before = dt.datetime(2026, 11, 24, 13, 30, tzinfo=an_hour_east)  # 12:30 GMT
    assert sorted(await mp_order_ids(dateTo=before)) == [1, 2]  # type: ignore[type-var]
    assert await mp_order_ids(instruments=["BTC"], mpOrderId=2) == [2]
    assert await mp_order_ids(accountIds=["A1"]) == []  # the simulator's orders have none
    me = sim.participant("trader:tok").mp_id
    assert len(await mp_order_ids(mpId=me)) == 3
    assert await mp_order_ids(mpId=me + 1) == []
    latest = await client.mp_orders(orderBy={"field": "lastEventTimestamp", "direction": "Desc"})
    first = latest.orders[0]  # the cancel at 14:00 is the newest event
    assert (first.mpOrderId, first.status, first.instrumentId) == (2, "Cancelled", 1)
    assert (first.lastEventTimestamp, first.createdAt) == (
        "2026-11-24T14:00:00.000000", "2026-11-24T12:00:00.000000",
    )  # fmt: skip
    oldest = await client.mp_orders(orderBy={"field": "createdAt", "direction": "Asc"}, limit=1)
    assert [o.mpOrderId for o in oldest.orders] == [1]
    assert oldest.count == 3

    page = await client.mp_trades(mpOrderId=1)
    (maker,) = page.trades
    assert (maker.makerTaker, maker.instrumentId, maker.tradeDate) == ("Maker", 1, "2026-11-24")
    assert maker.multiLegReportingType == "SingleSecurity"
    assert (await client.mp_trades(tradeId=maker.tradeId)).count == 2  # both sides
    assert (await client.mp_trades(actionTypes=["TradeReport"])).count == 0
    assert (await client.mp_trades(dateFrom="2026-11-24T13:00:00.001")).count == 0
    assert (await client.mp_trades(tradeDate="2026-11-25")).count == 0
    (status,), _ = await client.mass_order_status()
    reported = next(o for o in latest.orders if o.mpOrderId == 1)
    assert status.mpOrderId == 1
    assert status.lastEventId == reported.lastEventId is not None
    assert status.lastEventTimestamp == int((NOON + 3600) * 1e9)  # its fill
    assert status.marketModel == "T"


async def test_no_request_data_crashes_the_simulator_or_closes_the_socket(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    import aiohttp

    order = {"orderType": "Limit", "side": "Buy", "instrument": "BTC", "quantity": 1,
             "price": 50.0, "mpOrderId": 900}  # fmt: skip
    for name in ("orderType", "side", "timeInForce", "instrument", "price"):
        with pytest.raises(OrderValidationError) as refused:
            await exberry_client.request("v1/exchange.market/placeOrder", {**order, name: [1]})
        assert refused.value.code == 1001, name
    md = "v1/exchange.marketdata/"
    undecodables: list[tuple[str, dict[str, Any]]] = [
        (f"{md}getSettlementPrices", {"symbols": [{"a": 1}]}),
        (f"{md}partialOrderBook", {"symbol": ["BTC"], "levels": 5}),
        (f"{md}partialOrderBook", {"symbol": "BTC", "levels": "5"}),
        ("v1/exchange.marketdata.history/candles", {"symbol": "BTC", "from": "0", "to": 9}),
    ]
    for q, d in undecodables:
        with pytest.raises(ExberryError) as undecodable:
            await exberry_client.request(q, d)
        assert undecodable.value.code == 500, (q, d)  # "Failed to decode service message data"
    placed = await exberry_client.request("v1/exchange.market/placeOrder", order)
    assert placed["orderStatus"] == "Pending"  # the session survived every refusal
    market = {**order, "orderType": "Market", "price": None, "mpOrderId": 901,
              "timeInForce": "IOC"}  # fmt: skip
    placed = await exberry_client.request("v1/exchange.market/placeOrder", market)
    assert placed["orderStatus"] == "Pending"  # a null price is no price, not a bad type
    deep = '{"q":"v1/heartbeat/ping","sid":1,"d":' + "[" * 10_000 + "]" * 10_000 + "}"
    async with aiohttp.ClientSession() as session, session.ws_connect(exberry_sim.url) as ws:
        await ws.send_str(deep)  # ignored, like any frame that is not JSON it can read
        await ws.send_str('{"q":5,"sid":2}')
        assert (await ws.receive_json())["d"]["errorCode"] == 1200
        await ws.send_str('{"q":"exchange.market/createSession","sid":3,"d":{"username":[]}}')
        assert (await ws.receive_json())["d"]["errorCode"] == 6000
        stamp = int(exberry_sim.clock() * 1000)
        creds = {"apiKey": SIM_API_KEY, "timestamp": stamp, "signature": "\u00e9"}
        await ws.send_json({"q": "exchange.market/createSession", "sid": 5, "d": creds})
        assert (await ws.receive_json())["d"]["errorCode"] == 6000  # not a TypeError
        await ws.send_str('{"q":"v1/heartbeat/ping","sid":4,"d":{"n":1}}')
        assert await ws.receive_json() == {"q": "v1/heartbeat/ping", "sid": 4, "d": {"n": 1}}


async def test_a_simulator_running_for_days_keeps_its_history_bounded() -> None:
    # A bot trading against the simulator for days: closed orders, trade rows and the call
    # log are kept to the newest `history`, resting orders always; cancels stay quick.
    async with ExberrySimulator(history=50) as sim:
        order = {"orderType": "Limit", "instrument": "BTC", "quantity": 1, "price": 10.0}
        sim.place_order("resting-mp", {**order, "side": "Buy", "mpOrderId": 0, "price": 1.0})
        for n in range(1, 400):  # each Sell rests, each Buy fills it: two closed orders
            side = "Sell" if n % 2 else "Buy"
            sim.place_order("mp", {**order, "side": side, "mpOrderId": n})
        assert len(sim.orders) <= 2 * 50 + 1
        assert len(sim.trade_log["BTC"]) <= 2 * 50
        assert any(o["mpOrderId"] == 0 for o in sim.orders.values())  # resting: kept
        with pytest.raises(Exception, match="in use"):  # duplicates still refused
            sim.place_order("mp", {**order, "side": "Buy", "mpOrderId": 399})
        with pytest.raises(Exception, match="in use"):  # a resting order's id, however old
            sim.place_order("resting-mp", {**order, "side": "Buy", "mpOrderId": 0})
        # An id `history` newer ones have followed may be reused (REFERENCE: "reuse after
        # an undefined period may be accepted"): the used ids are bounded too.
        sim.place_order("mp", {**order, "side": "Buy", "mpOrderId": 1, "price": 1.0})
        async with ExberryClient(sim.url, **EXBERRY_KEY) as client:
            for n in range(150):
                await client.ping(n)
        assert len(sim.calls) <= 2 * 50
    with pytest.raises(ValueError, match="history"):
        ExberrySimulator(history=0)


async def test_ids_participants_choose_are_remembered_while_open_and_for_history_newer_ones() -> (
    None
):
    # Every mpRfqId, mpQuoteId and externalTradeId was remembered for ever: a market maker
    # quoting for days grew the simulator without bound.
    async with ExberrySimulator(history=20) as sim:
        rfq = {"instrument": "BTC", "side": "Buy", "quantity": 1}
        [held] = sim.rfq.submit_rfq("mp", {**rfq, "mpRfqId": 1000})  # stays open
        for n in range(1, 100):
            [made] = sim.rfq.submit_rfq("mp", {**rfq, "mpRfqId": n})
            [quote] = sim.rfq.submit_quote("dealer", {
                "mpQuoteId": n, "instrument": "BTC", "rfqId": held["rfqId"],
                "quoteDetails": [{"side": "Sell", "price": 100.5, "quantity": 1}],
            })  # fmt: skip
            sim.rfq.cancel_rfq("mp", {"instrument": "BTC", "rfqId": made["rfqId"]})
            sim.rfq.cancel_quote("dealer", {"instrument": "BTC", "quoteId": quote["quoteId"]})
        report = {"instrument": "BTC", "type": "Block", "flow": "LockedIn", "price": 100.25,
                  "quantity": 1, "buy": {"mpName": sim.participant("mp").mp_name},
                  "sell": {"mpName": sim.participant("other").mp_name}}  # fmt: skip
        for n in range(1, 100):
            sim.create_trade_report("mp", {**report, "externalTradeId": n})
        for send, terms in (
            (sim.rfq.submit_rfq, {**rfq, "mpRfqId": 1000}),  # open, however old
            (sim.rfq.submit_rfq, {**rfq, "mpRfqId": 99}),  # recent
            (sim.create_trade_report, {**report, "externalTradeId": 99}),
        ):
            with pytest.raises(Exception, match="already in use"):
                send("mp", terms)
        sim.rfq.submit_rfq("mp", {**rfq, "mpRfqId": 1})
        sim.rfq.submit_quote("dealer", {
            "mpQuoteId": 1, "instrument": "BTC", "rfqId": held["rfqId"],
            "quoteDetails": [{"side": "Sell", "price": 100.5, "quantity": 1}],
        })  # fmt: skip
        sim.create_trade_report("mp", {**report, "externalTradeId": 1})
