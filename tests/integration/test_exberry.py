"""ExberryClient against the bundled ExberrySimulator on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, cast

import msgspec
import pytest

from deribit_client import (
    ClientClosed,
    ClientError,
    ConnectionLost,
    Gap,
    OrderOutcomeUnknown,
    ProtocolError,
    ReconnectPolicy,
)
from deribit_client.exberry import (
    ExberryClient,
    ExberryError,
    ExberryUnavailable,
    InvalidSession,
    NotFound,
    OrderValidationError,
    SessionError,
    Side,
    StreamDisconnected,
    TimeInForce,
)
from deribit_client.exberry.models import (
    Add,
    BookEvent,
    Candle,
    Executed,
    ExecutionReport,
    InstrumentListUpdate,
    MdInstrument,
    OrderIdResult,
    PartialOrderBook,
    Trade,
)
from deribit_client.testing.exberry import SIM_API_KEY, ExberrySimulator
from deribit_client.transports import WebSocketConnector
from tests.helpers import EXBERRY_KEY, INSTANT, next_event, retry_at_once, until


@pytest.fixture
async def md(exberry_sim: ExberrySimulator) -> AsyncIterator[ExberryClient]:
    """A Market Data API client of ``exberry_sim`` in public-token mode."""
    async with ExberryClient(exberry_sim.url, public_token="sim-md-token") as client:
        yield client


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
     "types must be a list of fee types"),
    ("light_tickers", lambda c: c.light_tickers(symbols=[]), "symbols must be a non-empty list"),
    ("instrument_list_with_pagination",
     lambda c: c.instrument_list_with_pagination(fromSymbol=1),  # type: ignore[arg-type]
     "fromSymbol must be a symbol"),
    ("candles_history", lambda c: c.candles_history(symbol="BTC", from_=10, to=10),
     "needs to > from_"),
    ("ping", lambda c: c.ping("1"), "ping value must be an int"),  # type: ignore[arg-type]
    ("create_cash_transfer",
     lambda c: c.create_cash_transfer(senderAccountId=1, senderAssets=[], receiverAccountId=2),
     "senderAssets must be a non-empty list of assets"),
    ("create_cash_transfer",
     lambda c: c.create_cash_transfer(senderAccountId=1, senderAssets=[5],  # type: ignore[list-item]
                                      receiverAccountId=2),
     "an asset must be a TransferAsset or mapping"),
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


NOON = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC).timestamp()
"""A Tuesday noon (UTC): the simulator's market closes at 23:59 UTC."""


@pytest.fixture
async def timed() -> AsyncIterator[tuple[ExberrySimulator, ExberryClient, list[float]]]:
    """A simulator on a clock the test moves (``now[0]``, from :data:`NOON`) and a client
    with a token session (no signature timestamp to keep near the real clock)."""
    now = [NOON]
    async with (
        ExberrySimulator(clock=lambda: now[0], tokens={"tok"}) as sim,
        ExberryClient(sim.url, token="tok", reconnect=INSTANT) as client,
    ):
        yield sim, client, now


async def test_gtd_and_day_orders_expire_with_reason_expiration(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # GTD and DAY orders rested for ever: a bot never saw its orders expire.
    sim, client, now = timed
    buy = functools.partial(client.place_order, instrument="BTC", side="Buy", price=99.0)
    await buy(quantity=1, mpOrderId=1, timeInForce="GTD", expiryDate=int(NOON) + 60)
    await buy(quantity=2, mpOrderId=2, timeInForce="GTD", expiryDay="2026-11-25")
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
    await replace(orderId=first.orderId, quantity=2, timeInForce="GTD", expiryDate=int(NOON) + 30)
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
        (lambda: exberry_client.mp_trades(orderBy=["timestamp"]), "orderBy must be"),  # type: ignore[arg-type]
        (lambda: exberry_client.mp_trades(actionTypes=["Trade"]), "actionTypes must be"),  # type: ignore[list-item]
        (lambda: exberry_client.mp_trades(actionTypes="TradeReport"), "not the string"),  # type: ignore[arg-type]
        (lambda: exberry_client.mp_orders(statuses=["Open"]), "statuses must be"),  # type: ignore[list-item]
        (lambda: exberry_client.mp_orders(statuses="Active"), "not the string"),  # type: ignore[arg-type]
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


async def test_streams_resume_after_a_cut_without_duplicates_or_loss(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    seen: list[tuple[int | None, str]] = []
    async with exberry_client.order_book_depth() as book:
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        for n in range(3):
            await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=1, price=50.0 + n, mpOrderId=n + 1
            )
        for _ in range(3):
            event = await anext(book)
            assert isinstance(event, Add)
            seen.append((event.trackingNumber, type(event).__name__))
        exberry_sim.drop_connections()
        # While the socket is down another participant's order enters the book.
        order = {"mpOrderId": 1, "orderType": "Limit", "side": "Buy", "instrument": "BTC"}
        exberry_sim.place_order("other-mp", {**order, "quantity": 1, "price": 40.0})
        await until(lambda: exberry_client.reconnect_count == 1 and exberry_client.state == "ready")
        await exberry_client.place_order(
            instrument="BTC", side="Sell", quantity=5, orderType="Market", mpOrderId=99
        )
        rest: list[BookEvent] = []
        while len(rest) < 5:
            item = await asyncio.wait_for(anext(book), 5)
            assert not isinstance(item, Gap)  # nothing was lost: no gap
            rest.append(item)
    # The order placed during the outage arrives (replayed), the last event delivered
    # before the cut does not arrive twice, then four fills... (bids 52, 51, 50, 40).
    assert [type(e).__name__ for e in rest] == ["Add"] + ["Executed"] * 4
    assert isinstance(rest[0], Add)
    assert (rest[0].mpId, rest[0].price) == (exberry_sim.participant("other-mp").mp_id, 40.0)
    numbers = [n for n, _ in seen] + [getattr(e, "trackingNumber", None) for e in rest]
    assert numbers == sorted(numbers)


async def test_a_bot_retrying_at_once_while_reconnecting_lets_the_reconnect_run(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # A refused request that never suspended starved the event loop: a bot retrying at
    # once (no wait_ready) hung the program, the reconnect never ran.
    exberry_sim.drop_connections()
    await until(lambda: exberry_client.state == "reconnecting")

    async def attempt() -> None:
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=40.0, mpOrderId=7
        )

    refusals = await retry_at_once(attempt, cap=1_000_000)  # old behaviour: nothing else runs
    assert refusals >= 1
    assert exberry_client.state == "ready"


class _HeldOpens:
    """Connects to the simulator; while ``hold`` is set, a stream's opening frame waits in
    ``send`` (or, with ``refuse``, the next one fails unsent, as a write to a socket that
    just broke)."""

    def __init__(self, url: str) -> None:
        self.inner = WebSocketConnector(url)
        self.hold = self.refuse = False
        self.after_writing = False  # hold once the frame is written, as a slow drain does
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def connect(self) -> Any:
        transport = await self.inner.connect()
        connector = self

        class Held:
            def __getattr__(self, name: str) -> Any:
                return getattr(transport, name)

            async def send(self, frame: bytes) -> None:
                if b'"q":"v1/exchange.market/trades"' in frame and b'"sig"' not in frame:
                    if connector.refuse:
                        connector.refuse = False
                        raise ConnectionLost("not sent: the socket just broke")
                    if connector.hold:
                        connector.hold = False
                        if connector.after_writing:
                            await transport.send(frame)
                        connector.held.set()
                        await connector.release.wait()  # or until cancelled
                        if connector.after_writing:
                            return
                await transport.send(frame)

        return Held()


@pytest.fixture
async def held(exberry_sim: ExberrySimulator) -> AsyncIterator[tuple[ExberryClient, _HeldOpens]]:
    """A client whose stream openings the test can hold or refuse (``_HeldOpens``)."""
    connector = _HeldOpens(exberry_sim.url)
    async with ExberryClient(
        exberry_sim.url, **EXBERRY_KEY, connector=connector, reconnect=INSTANT
    ) as client:
        yield client, connector


async def test_a_stream_that_failed_to_open_is_not_resumed_for_nobody(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, _HeldOpens]
) -> None:
    # Entering the block was cancelled while writing: the caller never got the stream,
    # so no reconnect may open it again on the server.
    client, connector = held
    connector.hold = True
    opening = asyncio.ensure_future(client.trades().__aenter__())
    await connector.held.wait()
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    connector.hold = False
    reconnects = client.reconnect_count
    exberry_sim.drop_connections()
    await until(lambda: client.reconnect_count > reconnects and client.state == "ready")
    async with client.execution_reports():  # a stream opened after the resumes
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        kinds = [kind for peer in exberry_sim.peers for kind, _, _ in peer.streams.values()]
    assert kinds == ["executionReports"]


class _GatedConnects:
    """Connects to the simulator once ``gate`` is set (it is at first); ``waiting`` while
    a connect waits for it."""

    def __init__(self, url: str) -> None:
        self.inner = WebSocketConnector(url)
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = False

    async def connect(self) -> Any:
        self.waiting = True
        await self.gate.wait()
        self.waiting = False
        return await self.inner.connect()


@pytest.fixture
async def gated(
    exberry_sim: ExberrySimulator,
) -> AsyncIterator[tuple[ExberryClient, _GatedConnects]]:
    """A client whose next reconnect waits until the test opens the gate; the socket is
    cut and the reconnect waiting when the test starts."""
    connector = _GatedConnects(exberry_sim.url)
    async with ExberryClient(
        exberry_sim.url, **EXBERRY_KEY, connector=connector, reconnect=INSTANT, timeout=0.5
    ) as client:
        connector.gate.clear()
        exberry_sim.drop_connections()
        await until(lambda: connector.waiting)
        assert client.state == "reconnecting"
        yield client, connector


def server_streams(sim: ExberrySimulator) -> list[str]:
    return [kind for peer in sim.peers for kind, _, _ in peer.streams.values()]


async def test_a_stream_opened_while_reconnecting_opens_on_the_new_socket(
    exberry_sim: ExberrySimulator, gated: tuple[ExberryClient, _GatedConnects]
) -> None:
    client, connector = gated
    opening = asyncio.ensure_future(client.execution_reports())
    await until(lambda: client.live_streams == 1)
    assert not opening.done()
    connector.gate.set()
    async with await opening as reports:
        assert client.state == "ready"
        await until(lambda: server_streams(exberry_sim) == ["executionReports"])
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=7)
        assert await anext(reports) == Gap("v1/exchange.market/executionReports", "reconnected")
        report = await asyncio.wait_for(anext(reports), 5)
        assert isinstance(report, ExecutionReport)
        assert report.mpOrderId == 7
        opened = [q for q, _ in exberry_sim.calls if q.endswith("executionReports")]
        assert len(opened) == 1  # by the reconnect, once


async def test_a_stream_from_a_tracking_number_resumes_from_it_without_a_gap(
    exberry_sim: ExberrySimulator, gated: tuple[ExberryClient, _GatedConnects]
) -> None:
    # Nothing delivered yet, but the start the user asked for is known: nothing is lost.
    client, connector = gated
    opening = asyncio.ensure_future(client.execution_reports(trackingNumber=0))
    await until(lambda: client.live_streams == 1)
    connector.gate.set()
    async with await opening as reports:
        await until(lambda: server_streams(exberry_sim) == ["executionReports"])
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=8)
        report = await asyncio.wait_for(anext(reports), 5)
        assert isinstance(report, ExecutionReport)  # not a Gap
        assert report.mpOrderId == 8
        opened = [d for q, d in exberry_sim.calls if q.endswith("executionReports")]
        assert opened == [{"trackingNumber": 0}]  # by the reconnect, from where asked


async def test_a_stream_waits_for_a_reconnect_no_longer_than_the_timeout(
    exberry_sim: ExberrySimulator, gated: tuple[ExberryClient, _GatedConnects]
) -> None:
    client, connector = gated
    with pytest.raises(ConnectionLost, match=r"not reconnected within 0\.5 s"):
        await client.execution_reports()
    assert client.live_streams == 0
    connector.gate.set()
    await until(lambda: client.state == "ready")
    assert server_streams(exberry_sim) == []  # not opened for nobody


async def test_a_stream_whose_opening_write_broke_the_socket_opens_on_the_next(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, _HeldOpens]
) -> None:
    client, connector = held
    connector.refuse = True
    async with client.trades():
        assert (client.state, client.reconnect_count) == ("ready", 1)
        await until(lambda: server_streams(exberry_sim) == ["trades"])
    assert client.live_streams == 0


async def test_a_stream_closed_while_the_reconnect_resumes_costs_no_other_stream(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, _HeldOpens]
) -> None:
    client, connector = held
    trades = await client.trades()
    async with client.execution_reports() as reports, client.order_book_depth() as book:
        await until(lambda: len(server_streams(exberry_sim)) == 3)
        connector.hold = connector.after_writing = True
        exberry_sim.drop_connections()
        await connector.held.wait()  # the resume step is writing trades' opening
        await trades.close()
        connector.release.set()
        await until(lambda: client.state == "ready")
        await until(
            lambda: sorted(server_streams(exberry_sim)) == ["executionReports", "orderBookDepth"]
        )
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=1)
        assert isinstance(await next_event(reports), ExecutionReport)
        assert isinstance(await next_event(book), Add)


async def test_a_stream_opened_while_the_reconnect_resumes_is_opened_too(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, _HeldOpens]
) -> None:
    client, connector = held
    async with client.trades():
        await until(lambda: len(server_streams(exberry_sim)) == 1)
        connector.hold = connector.after_writing = True
        exberry_sim.drop_connections()
        await connector.held.wait()  # the resume step is writing trades' opening
        opening = asyncio.ensure_future(client.execution_reports())
        await until(lambda: client.live_streams == 2)
        connector.release.set()
        async with await opening:
            await until(
                lambda: sorted(server_streams(exberry_sim)) == ["executionReports", "trades"]
            )


async def test_closing_ends_a_stream_waiting_for_the_reconnect(
    gated: tuple[ExberryClient, _GatedConnects],
) -> None:
    client, _ = gated
    opening = asyncio.ensure_future(client.trades())
    await until(lambda: client.live_streams == 1)
    await client.close()
    with pytest.raises(ClientClosed):
        await opening
    assert client.live_streams == 0


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


async def test_a_stream_ended_by_the_server_resumes_itself(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    async with exberry_client.execution_reports() as reports:
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=1
        )
        first = await anext(reports)
        assert await exberry_sim.fail_streams() == 1  # sig: 2 errorCode 2 "Stream disconnected"
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=2, mpOrderId=2
        )
        second = await asyncio.wait_for(anext(reports), 5)
        assert isinstance(second, ExecutionReport)
        assert isinstance(first, ExecutionReport)
        assert (first.mpOrderId, second.mpOrderId) == (1, 2)
    assert StreamDisconnected(2, "x").code == 2


async def gaps_until_the_end(stream: AsyncIterator[object]) -> None:
    """Read ``stream`` to its end, which must come within 5 s; only Gaps before it."""
    async with asyncio.timeout(5):
        async for item in stream:
            assert isinstance(item, Gap)


async def test_closing_a_failed_stream_after_a_reconnect_leaves_the_others_open(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # Sids restart on every socket: the failed stream's old sid is another stream's now.
    failed = await exberry_client.execution_reports()
    await until(lambda: any(p.streams for p in exberry_sim.peers))
    assert await exberry_sim.fail_streams(1200, "General error") == 1  # not resumable
    with pytest.raises(ExberryError, match="General error"):
        await gaps_until_the_end(failed)
    async with exberry_client.order_book_depth() as book:
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        exberry_sim.drop_connections()
        await until(lambda: exberry_client.reconnect_count == 1 and exberry_client.state == "ready")
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await failed.close()
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=1
        )
        assert isinstance(await next_event(book), Add)
    kinds = [kind for peer in exberry_sim.peers for kind, _, _ in peer.streams.values()]
    assert kinds == []


async def end_once_opened(sim: ExberrySimulator) -> None:
    """Wait until the stream is open on the server, then have the server end it."""
    await until(lambda: any(p.streams for p in sim.peers))
    assert await sim.fail_streams() == 1


async def test_a_stream_the_server_keeps_ending_fails_instead_of_looping(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    from deribit_client.exberry.client import MAX_QUICK_ENDS

    async with exberry_client.execution_reports() as reports:
        for _ in range(MAX_QUICK_ENDS + 1):  # the last one right away: the stream gives up
            await end_once_opened(exberry_sim)
        with pytest.raises(StreamDisconnected):
            await gaps_until_the_end(reports)
    opened = [q for q, _ in exberry_sim.calls if q.endswith("executionReports")]
    assert len(opened) == MAX_QUICK_ENDS + 1


async def test_a_stream_ended_often_but_delivering_between_is_not_given_up(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # Each end came within QUICK_END of opening, so the fourth failed the stream, though
    # every re-open had delivered the bot's fills: a venue ending streams every second
    # ended a working stream for good.
    from deribit_client.exberry.client import MAX_QUICK_ENDS

    async with exberry_client.execution_reports() as reports:
        for k in range(MAX_QUICK_ENDS + 2):
            await until(lambda: any(p.streams for p in exberry_sim.peers))
            await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=k + 1
            )
            report = await next_event(reports)
            assert isinstance(report, ExecutionReport)
            assert report.mpOrderId == k + 1
            assert await exberry_sim.fail_streams() == 1
        await until(lambda: any(p.streams for p in exberry_sim.peers))


@pytest.mark.parametrize("backoff", [60, 0.01])
async def test_a_stream_ended_at_once_again_waits_for_the_backoff(
    exberry_sim: ExberrySimulator, backoff: float
) -> None:
    # It was re-opened every round trip until it failed: a venue in trouble for a moment
    # failed every bot's execution reports within milliseconds.
    policy = ReconnectPolicy(initial_delay=backoff, max_delay=backoff, jitter=0)
    async with (
        ExberryClient(exberry_sim.url, **EXBERRY_KEY, reconnect=policy) as client,
        client.execution_reports() as reports,
    ):
        await end_once_opened(exberry_sim)  # re-opened at once
        await end_once_opened(exberry_sim)  # again at once: re-opened after the backoff
        if backoff == 60:
            # meanwhile still live; a reconnect opens it with the others
            assert await client.ping(7) == 7  # a round trip: the end was read, nothing sent
            assert client.live_streams == 1
            assert not any(p.streams for p in exberry_sim.peers)
            exberry_sim.drop_connections()
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=1)
        assert isinstance(await next_event(reports), ExecutionReport)
        opened = [q for q, _ in exberry_sim.calls if q.endswith("executionReports")]
        assert len(opened) == 3
    # leaving the block closes it on the server
    assert [kind for p in exberry_sim.peers for kind, _, _ in p.streams.values()] == []


async def test_a_stream_ended_while_the_reconnect_resumes_others_is_reopened(
    exberry_sim: ExberrySimulator, held: tuple[ExberryClient, _HeldOpens]
) -> None:
    # The client was not ready yet, so the stream failed instead of being re-opened.
    client, connector = held

    def reports_opened() -> int:
        return sum(q.endswith("executionReports") for q, _ in exberry_sim.calls)

    async with client.execution_reports() as reports, client.trades():
        await until(lambda: sum(len(p.streams) for p in exberry_sim.peers) == 2)
        exberry_sim.inject_error("v1/exchange.market/executionReports", 2, "Stream disconnected")
        connector.hold = True  # the resume step writes reports, then waits on trades
        exberry_sim.drop_connections()
        await connector.held.wait()
        # ended by the server and opened again while the resume step is still writing
        await until(lambda: reports_opened() == 3)
        connector.release.set()
        await until(lambda: client.reconnect_count == 1 and client.state == "ready")
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=50.0, mpOrderId=1)
        assert isinstance(await next_event(reports), ExecutionReport)
        assert reports_opened() == 3


async def test_a_market_data_request_missing_a_member_is_not_resumed(
    exberry_sim: ExberrySimulator, md: ExberryClient
) -> None:
    # MD-API code 2 "Missing fields: ..." was taken for "Stream disconnected" and the
    # stream re-sent at once, about 5,000 times a second.
    stream = await md.stream("v1/exchange.marketdata/lightTickers", {"interval": 1000})
    with pytest.raises(ExberryError, match="Missing fields: symbols") as info:
        await asyncio.wait_for(anext(stream), 5)
    assert not isinstance(info.value, StreamDisconnected)
    assert [q for q, _ in exberry_sim.calls] == ["v1/exchange.marketdata/lightTickers"]


async def test_leaving_the_block_sends_sig_3(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    async with exberry_client.trades():
        await until(lambda: any(p.streams for p in exberry_sim.peers))
    await until(lambda: not any(p.streams for p in exberry_sim.peers))
    closes = [d for q, d in exberry_sim.calls if q == "v1/exchange.market/trades"]
    assert len(closes) == 2  # the open, then the sig: 3 (no d)


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
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
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


async def test_light_tickers_carry_the_documented_members_and_the_days_figures(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # LightTicker had members named last/bid/ask/open/close where Exberry sends lastPrice,
    # bidPrice, askPrice, openingPrice, closingPrice: every price arrived as None.
    from deribit_client.exberry.models import LightTicker

    sim, client, now = timed

    def trade(price: float, quantity: float, n: int) -> None:
        order = {"instrument": "BTC", "quantity": quantity, "orderType": "Limit"}
        sim.place_order("other-mp", {**order, "mpOrderId": n, "side": "Sell", "price": price})
        sim.place_order("other-mp", {**order, "mpOrderId": n + 1, "side": "Buy", "price": price})

    now[0] = NOON - 86_400  # yesterday: its last trade is today's closing price
    trade(90.0, 1, 1)
    trade(95.0, 1, 3)
    now[0] = NOON
    trade(100.0, 2, 5)
    trade(110.5, 0.5, 7)
    trade(104.0, 1, 9)
    await client.place_order(instrument="BTC", side="Buy", quantity=3, price=99.0, mpOrderId=1)
    async with (
        ExberryClient(sim.url, public_token="sim-md-token") as md,
        md.light_tickers(symbols=["BTC", "ETH"]) as tickers,
    ):
        btc, eth = [await asyncio.wait_for(anext(tickers), 5) for _ in range(2)]
    assert isinstance(btc, LightTicker)
    assert isinstance(eth, LightTicker)
    midnight = int(NOON - 12 * 3600 - 60) * 1000  # the close at 23:59 began this day
    assert (btc.status, btc.bidPrice, btc.bidQuantity, btc.askPrice, btc.askQuantity) == (
        "Trading", 99.0, 3.0, None, 0.0,
    )  # fmt: skip
    assert (btc.closingPrice, btc.closingPriceTimestamp) == (95.0, midnight)
    assert (btc.openingPrice, btc.high, btc.low, btc.lastPrice, btc.lastQuantity) == (
        100.0, 110.5, 100.0, 104.0, 1.0,
    )  # fmt: skip
    assert (btc.volume, btc.quoteVolume, btc.lastPriceTimestamp) == (3.5, 359.25, NOON * 1000)
    assert [(v.type, v.volume) for v in btc.volumeTypes] == [("Matched", 3.5)]
    # Never traded: what the documentation's empty response carries, and nothing else.
    assert msgspec.structs.asdict(eth) == msgspec.structs.asdict(
        LightTicker(symbol="ETH", status="Trading", bidQuantity=0, askQuantity=0,
                    timeStamp=eth.timeStamp)
    )  # fmt: skip


async def test_candles_come_in_every_documented_interval(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # The simulator made one-minute bars whatever the timespan and multiplier, without
    # vwa, sent the current bar to a stream opened without `from`, and answered a
    # history range without bars with nothing.
    from deribit_client.exberry.models import Candle

    sim, _, now = timed
    sim.candle_interval = 0.05

    def trade(price: float, quantity: float, n: int) -> None:
        order = {"instrument": "BTC", "quantity": quantity, "orderType": "Limit"}
        sim.place_order("other-mp", {**order, "mpOrderId": n, "side": "Sell", "price": price})
        sim.place_order("other-mp", {**order, "mpOrderId": n + 1, "side": "Buy", "price": price})

    hour = int(NOON)  # 12:00:00 UTC
    for offset, price, quantity, n in ((-86_400, 80.0, 1, 1), (0, 100.0, 1, 3),
                                       (290, 102.0, 3, 5), (1000, 98.0, 2, 7)):  # fmt: skip
        now[0] = hour + offset
        trade(price, quantity, n)
    now[0] = hour + 1010
    async with ExberryClient(sim.url, public_token="sim-md-token") as md:

        async def bars(**kw: Any) -> list[tuple[Any, ...]]:
            got = await md.candles_history(symbol="BTC", **kw)
            return [(c.timeStamp, c.open, c.high, c.low, c.close, c.volume, c.vwa) for c in got]

        assert await bars(from_=hour, to=hour + 3600, timespan="MINUTE", multiplier=5) == [
            (hour * 1000, 100.0, 102.0, 100.0, 102.0, 4.0, 101.5),
            ((hour + 900) * 1000, 98.0, 98.0, 98.0, 98.0, 2.0, 98.0),
        ]
        assert await bars(from_=hour - 7200, to=hour + 7200, timespan="HOUR") == [
            (hour * 1000, 100.0, 102.0, 98.0, 98.0, 6.0, 100.33333333),
        ]
        days = await bars(from_=dt.date(2026, 11, 23), to=20261124, timespan="DAY")
        assert [d[:2] for d in days] == [(20261123, 80.0), (20261124, 100.0)]
        # No bar in the range: the last one before it.
        assert await bars(from_=hour + 1200, to=hour + 1800) == [
            ((hour + 960) * 1000, 98.0, 98.0, 98.0, 98.0, 2.0, 98.0)
        ]
        async with (
            md.candles(symbol="BTC", timespan="MINUTE", multiplier=15) as live,
            md.candles(symbol="BTC", timespan="MINUTE", multiplier=15, from_=hour) as since,
        ):
            first, second = [await asyncio.wait_for(anext(since), 5) for _ in range(2)]
            assert isinstance(first, Candle)  # no Gap either
            assert isinstance(second, Candle)
            assert [(c.timeStamp, c.volume) for c in (first, second)] == [
                (hour * 1000, 4.0),
                ((hour + 900) * 1000, 2.0),
            ]
            now[0] = hour + 1020
            trade(99.0, 1, 9)
            # The stream without from_ hears of the bar only once it changes.
            for stream in (live, since):
                bar = await asyncio.wait_for(anext(stream), 5)
                assert isinstance(bar, Candle)
                assert (bar.timeStamp, bar.close, bar.volume) == ((hour + 900) * 1000, 99.0, 3.0)
        with pytest.raises(ClientError, match="no 5 HOUR candles: Exberry offers 1 MINUTE"):
            md.candles(symbol="BTC", timespan="HOUR", multiplier=5)
        with pytest.raises(ClientError, match="timespan must be one of"):
            md.candles(symbol="BTC", timespan="WEEK")  # type: ignore[arg-type]
        with pytest.raises(ClientError, match="from_ of DAY candles must be a date or"):
            await md.candles_history(symbol="BTC", from_=2026112, to=20261124, timespan="DAY")
        with pytest.raises(ClientError, match="caAdjustments must be a bool"):
            await md.candles_history(symbol="BTC", from_=1, to=2, caAdjustments="yes")  # type: ignore[arg-type]
        # The auction price stream's interval is one of the table's, like the others'.
        with pytest.raises(ClientError, match="interval must be one of 100, 1000, 2000"):
            md.auction_indicative_ep(symbol="BTC", interval=400)  # type: ignore[arg-type]
        with pytest.raises(ExberryError) as wrong:
            await md.request("v1/exchange.marketdata/auctionIndicativeEP",
                             {"symbol": "BTC", "interval": "400"})  # fmt: skip
        assert (wrong.value.code, wrong.value.message) == (3, "Wrong interval")
        # What a client without these checks gets from the simulator.
        q = "v1/exchange.marketdata.history/candles"
        for d, code in (({"timespan": "HOUR", "multiplier": 5, "from": 1, "to": 2}, 3),
                        ({"from": 1, "to": 2}, 2), ({"timespan": "DAY", "to": 2}, 2)):  # fmt: skip
            with pytest.raises(ExberryError) as refused:
                await md.request(q, {"symbol": "BTC", **d})
            assert refused.value.code == code, d


async def test_market_data_api_in_public_token_mode(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, md: ExberryClient
) -> None:
    from deribit_client.exberry.models import LightTicker, LiveTrade, PartialOrderBook

    trader = exberry_client
    assert [await md.ping(v) for v in (42, 0, -7)] == [42, 0, -7]  # echoed unchanged
    await trader.place_order(instrument="BTC", side="Sell", quantity=2, price=101.0, mpOrderId=1)
    await trader.place_order(instrument="BTC", side="Sell", quantity=1, price=101.0, mpOrderId=2)
    await trader.place_order(instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=3)
    async with (
        md.partial_order_book(symbol="BTC", levels=5) as book,
        md.light_tickers(symbols=["BTC"]) as tickers,
        md.live_trades(symbol="BTC") as trades,
    ):
        snapshot = await anext(book)
        assert isinstance(snapshot, PartialOrderBook)
        assert [(a.price, a.quantity, a.numberOfOrders) for a in snapshot.asks] == [(101.0, 3.0, 2)]
        assert [(lv.price, lv.quantity, lv.numberOfOrders) for lv in snapshot.bids] == [
            (99.0, 1.0, 1)
        ]
        ticker = await anext(tickers)
        assert isinstance(ticker, LightTicker)
        assert (ticker.bidPrice, ticker.askPrice) == (99.0, 101.0)
        await trader.place_order(
            instrument="BTC", side="Buy", quantity=1, orderType="Market", mpOrderId=4
        )
        trade = await asyncio.wait_for(anext(trades), 5)
        assert isinstance(trade, LiveTrade)
        assert (trade.price, trade.quantity, trade.makerSide) == (101.0, 1.0, "Sell")
        after = await asyncio.wait_for(anext(book), 5)
        assert isinstance(after, PartialOrderBook)
        assert after.asks[0].quantity == 2.0
    async with md.instrument_list() as listing:
        names = []
        async for item in listing:
            names.append(item.symbol)  # type: ignore[union-attr]
            if item.lastMessage == "Y":  # type: ignore[union-attr]
                break
    assert names == ["BTC", "ETH"]
    async with ExberryClient(exberry_sim.url, public_token="wrong") as bad:
        with pytest.raises(Exception, match="Invalid token"):
            await bad.request("v1/exchange.marketdata/getSettlementPrices", {"symbol": "BTC"})


async def test_a_live_trade_that_does_not_decode_is_a_gap_and_the_stream_goes_on(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, md: ExberryClient
) -> None:
    from deribit_client.exberry.models import LiveTrade

    await exberry_client.place_order(
        instrument="BTC", side="Sell", quantity=2, price=101.0, mpOrderId=1
    )
    async with md.live_trades(symbol="BTC") as trades:

        def opened() -> list[tuple[int, str]]:
            return [
                (sid, q)
                for peer in exberry_sim.peers
                for sid, (kind, q, _) in peer.streams.items()
                if kind == "md:liveTrades"
            ]

        await until(opened)
        [(sid, q)] = opened()
        await exberry_sim.send_raw(f'{{"q":"{q}","sid":{sid},"d":["not a price"]}}')
        assert await asyncio.wait_for(anext(trades), 5) == Gap(q, "malformed")
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, orderType="Market", mpOrderId=2
        )
        trade = await asyncio.wait_for(anext(trades), 5)
        assert isinstance(trade, LiveTrade)
        assert (trade.price, trade.quantity) == (101.0, 1.0)
    assert md.malformed == 1
    assert md.state == "ready"


def test_live_trades_accept_one_array_or_a_list_of_them() -> None:
    from deribit_client.exberry.client import _live_trades

    one = _live_trades([100.0, 2, "Buy", 1, "SingleSecurity"])
    many = _live_trades([[100.0, 2, "Buy", 1], [101.0, -2, "Sell", 2]])
    assert _live_trades([]) == []
    assert [(t.price, t.quantity) for t in one + many] == [(100.0, 2), (100.0, 2), (101.0, -2)]


async def test_market_data_reference_lists_candles_and_settlement(
    exberry_sim: ExberrySimulator,
    exberry_client: ExberryClient,
    md: ExberryClient,
) -> None:
    from deribit_client.exberry.models import (
        AuctionIndicativeEP,
        TickSizeTable,
        TradingCalendar,
    )

    trader = exberry_client
    await trader.place_order(instrument="ETH", side="Sell", quantity=1, price=10.0, mpOrderId=1)
    await trader.place_order(
        instrument="ETH", side="Buy", quantity=1, orderType="Market", mpOrderId=2
    )
    async with md.tick_size_list() as ticks, md.calendar_list() as calendars:
        table, calendar = await anext(ticks), await anext(calendars)
        assert isinstance(table, TickSizeTable)
        assert table.items[0].tickSize == 0.5
        assert isinstance(calendar, TradingCalendar)
        assert calendar.lastMessage == "Y"
    async with md.auction_indicative_ep(symbol="ETH") as auction:
        assert isinstance(await anext(auction), AuctionIndicativeEP)
    async with md.candles(symbol="ETH", from_=0) as live:
        bar = await asyncio.wait_for(anext(live), 5)
        assert isinstance(bar, Candle)
        assert (bar.open, bar.close, bar.volume) == (10.0, 10.0, 1.0)
    assert bar.timeStamp is not None
    start = bar.timeStamp // 1000
    history = await md.candles_history(symbol="ETH", from_=start - 60, to=start + 60)
    assert history == [bar]
    prices = await md.settlement_prices(symbols=["ETH", "BTC"])
    assert [(p.symbol, p.price) for p in prices] == [("ETH", 10.0), ("BTC", None)]


async def test_an_unknown_resume_point_restarts_live_with_a_gap(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # 1201 Wrong trackingNumber: nothing can be replayed, so the consumer is told.
    async with exberry_client.order_book_depth(trackingNumber=10**9) as book:
        marker = await asyncio.wait_for(anext(book), 5)
        assert marker == Gap("v2/exchange.market/orderBookDepth", "reconnected")
        await until(lambda: any(p.streams for p in exberry_sim.peers))
        await exberry_client.place_order(
            instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=1
        )
        assert isinstance(await asyncio.wait_for(anext(book), 5), Add)


async def test_a_resume_point_the_venue_no_longer_holds_is_refused_not_skipped() -> None:
    # The simulator keeps the newest max_events events; a stream resuming from before them
    # must hear 1201 (and its consumer a Gap), not get the rest as if nothing were missing.
    async with (
        ExberrySimulator(max_events=3) as sim,
        ExberryClient(sim.url, **EXBERRY_KEY, reconnect=INSTANT) as client,
        client.order_book_depth() as book,
    ):
        await until(lambda: any(p.streams for p in sim.peers))
        await client.place_order(instrument="BTC", side="Buy", quantity=1, price=1, mpOrderId=1)
        assert isinstance(await asyncio.wait_for(anext(book), 5), Add)
        sim.drop_connections()
        order = {"orderType": "Limit", "side": "Buy", "instrument": "BTC", "quantity": 1}
        for n in range(5):  # while the socket is down: more than the simulator keeps
            sim.place_order("other-mp", {**order, "mpOrderId": n + 1, "price": 2.0 + n})
        marker = await asyncio.wait_for(anext(book), 5)
        assert marker == Gap("v2/exchange.market/orderBookDepth", "reconnected")


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
            sim.place_order("mp", {**order, "side": "Buy", "mpOrderId": 1})
        async with ExberryClient(sim.url, **EXBERRY_KEY) as client:
            for n in range(150):
                await client.ping(n)
        assert len(sim.calls) <= 2 * 50
    with pytest.raises(ValueError, match="history"):
        ExberrySimulator(history=0)


async def test_market_data_wrong_symbols_and_intervals_are_told(
    exberry_sim: ExberrySimulator,
    exberry_client: ExberryClient,
    md: ExberryClient,
) -> None:
    from deribit_client.exberry.errors import ExberryError, ExberryUnavailable
    from deribit_client.exberry.models import LightTicker

    trader = exberry_client
    async with md.light_tickers(symbols=["BTC", "NOPE"], policy="error") as tickers:
        first, second = [await asyncio.wait_for(anext(tickers), 5) for _ in range(2)]
        assert isinstance(first, LightTicker)
        assert isinstance(second, LightTicker)
        # the samples' form (release notes 2023-02-08): the stream goes on for BTC
        assert (first.symbol, first.errorCode) == ("BTC", None)
        assert (second.symbol, second.errorCode, second.errorMessage) == (
            "NOPE",
            3,
            "Wrong symbol",
        )
        await trader.place_order(instrument="BTC", side="Buy", quantity=1, price=99.0, mpOrderId=1)
        update = await asyncio.wait_for(anext(tickers), 5)
        assert (update.symbol, update.bidPrice) == ("BTC", 99.0)  # type: ignore[union-attr]
    # A wrong symbol on a one-symbol stream fails it with the documented code 3 (the
    # old simulator said 1, "unavailable": a bot retrying on that looped for ever).
    with pytest.raises(ExberryError, match="Wrong symbol NOPE") as wrong:
        async with md.partial_order_book(symbol="NOPE") as book:
            await asyncio.wait_for(anext(book), 5)
    assert wrong.value.code == 3
    assert not isinstance(wrong.value, ExberryUnavailable)
    # Values the API does not list: error 3 from the simulator (sent raw, past the
    # client's own check)
    partial, trades = "v1/exchange.marketdata/partialOrderBook", "v1/exchange.marketdata/liveTrades"
    unlisted: list[tuple[str, dict[str, Any], str]] = [
        (partial, {"symbol": "BTC", "interval": 500}, "Wrong interval"),
        (partial, {"symbol": "BTC", "levels": 7}, "Wrong levels"),
        (partial, {"symbol": "BTC", "decimals": -1}, "Wrong decimals"),
        # a negative limit sliced the trade log from its far end, 0 sent all of it
        (trades, {"symbol": "BTC", "limit": -1}, "Wrong limit"),
        (trades, {"symbol": "BTC", "limit": 0}, "Wrong limit"),
        (trades, {"symbol": "BTC", "limit": 10_001}, "Wrong limit"),
    ]
    for q, d, text in unlisted:
        with pytest.raises(ExberryError, match=text) as wrong:
            async with await md.stream(q, d) as raw:
                await asyncio.wait_for(anext(raw), 5)
        assert wrong.value.code == 3


async def test_market_data_values_the_api_does_not_list_are_refused_before_sending(
    exberry_sim: ExberrySimulator, md: ExberryClient
) -> None:
    # They went out as given; the venue's answer to them is undocumented.
    refused: list[tuple[Callable[[], object], str]] = [
        (lambda: md.partial_order_book(symbol="BTC", levels=7), "levels must be one of 1, 5"),  # type: ignore[arg-type]
        (lambda: md.partial_order_book(symbol="BTC", levels=True), "levels must be one of"),  # type: ignore[arg-type]
        (lambda: md.partial_order_book(symbol="BTC", interval=500), "interval must be one of"),  # type: ignore[arg-type]
        (lambda: md.partial_order_book(symbol="BTC", decimals=-1), "decimals must be an int >= 0"),
        (lambda: md.light_tickers(symbols=["BTC"], interval=10), "interval must be one of 100, "),  # type: ignore[arg-type]
        (lambda: md.light_tickers(symbols=["BTC"], scope="clob"), "scope must be one of 'CLOB'"),  # type: ignore[arg-type]
    ]
    for make, text in refused:
        with pytest.raises(ClientError, match=text):
            make()
    assert exberry_sim.calls == []


async def test_partial_order_book_decimals_aggregates_prices(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, md: ExberryClient
) -> None:
    levels: list[tuple[Side, float]] = [
        ("Buy", 99.0), ("Buy", 99.5), ("Buy", 98.5), ("Sell", 100.5), ("Sell", 101.0)
    ]  # fmt: skip
    for n, (side, price) in enumerate(levels, start=1):
        await exberry_client.place_order(
            instrument="BTC", side=side, quantity=n, price=price, mpOrderId=n
        )
    async with md.partial_order_book(symbol="BTC", decimals=0, levels=1) as book:
        snapshot = await asyncio.wait_for(anext(book), 5)
    assert isinstance(snapshot, PartialOrderBook)
    # bids round down and asks up, so the sides cannot cross; the levels that meet are
    # one level with their quantities and order counts summed
    assert [msgspec.structs.astuple(lv) for lv in snapshot.bids] == [(99.0, 3.0, 2)]
    assert [msgspec.structs.astuple(lv) for lv in snapshot.asks] == [(101.0, 9.0, 2)]


async def test_market_data_interval_holds_updates_and_sends_the_latest(
    exberry_sim: ExberrySimulator,
    exberry_client: ExberryClient,
    md: ExberryClient,
) -> None:
    from deribit_client.exberry.models import PartialOrderBook

    trader = exberry_client
    async with md.partial_order_book(symbol="BTC", interval=1000, policy="error") as book:
        assert (await asyncio.wait_for(anext(book), 5)).bids == []  # type: ignore[union-attr]
        for n, price in enumerate((99.0, 98.0, 97.0), start=1):
            await trader.place_order(
                instrument="BTC", side="Buy", quantity=1, price=price, mpOrderId=n
            )
        # the first change goes out at once, the next two wait for the interval to end
        # and leave as one update with the book as it is then
        first = await asyncio.wait_for(anext(book), 5)
        held = await asyncio.wait_for(anext(book), 5)
        assert isinstance(first, PartialOrderBook)
        assert isinstance(held, PartialOrderBook)
        assert [lv.price for lv in first.bids] == [99.0]
        assert [lv.price for lv in held.bids] == [99.0, 98.0, 97.0]
        assert len(book) == 0


async def test_trade_reports_lock_in_at_once_or_when_the_counterparty_alleges_the_same(
    timed: tuple[ExberrySimulator, ExberryClient, list[float]],
) -> None:
    # createTradeReport had no wrapper and the simulator answered 1200 "Unknown qualifier".
    from deribit_client.exberry.models import Party, TradeReport, TradeReportSide

    sim, client, now = timed
    me, other = sim.participant("trader:tok"), sim.participant("other-mp")
    broker = sim.participant("broker")
    report = functools.partial(client.create_trade_report, instrument="BTC", type="Block",
                               quantity=2, price=100.25)  # fmt: skip
    mine = TradeReportSide(mpName=me.mp_name, accountType="House",
                           parties=[Party(id="desk", source="D", role=38)])  # fmt: skip
    theirs = {"mpName": other.mp_name}
    async with (
        client.order_book_depth() as book,
        client.execution_reports() as reports,
        client.trades() as trades,
    ):
        locked = await report(flow="LockedIn", externalTradeId=1, buy=mine, sell=theirs)
        public, execution, record = (
            await next_event(book), await next_event(reports), await next_event(trades),
        )  # fmt: skip
        assert isinstance(public, TradeReport)
        assert (public.matchId, public.buyMpId, public.sellMpId, public.price) == (
            locked.tradeId, me.mp_id, other.mp_id, 100.25,  # off the 0.5 tick: off the book
        )  # fmt: skip
        assert isinstance(execution, ExecutionReport)
        assert isinstance(record, Trade)
        assert (execution.messageType, execution.side, execution.externalTradeId) == (
            "TradeReport", "Buy", 1,
        )  # fmt: skip
        assert [p.id for p in execution.parties] == ["desk"]
        assert (record.actionType, record.tradeId, record.tradingMode, record.tradeType) == (
            "TradeReport", locked.tradeId, "ON", "Block",
        )  # fmt: skip
        # A reporter's externalTradeId is used once: re-sending a lost one reports nothing.
        with pytest.raises(OrderValidationError, match="already in use") as used:
            await report(flow="LockedIn", externalTradeId=1, buy=mine, sell=theirs)
        assert used.value.code == 1002

        # Alleged: nothing trades until the counterparty reports the same trade.
        alleged = await report(flow="AllegedSystemMatch", externalTradeId=2,
                               buy=theirs, sell={"mpName": me.mp_name})  # fmt: skip
        created = await next_event(reports)
        assert isinstance(created, ExecutionReport)
        assert (created.messageType, created.allegedTradeId, created.side) == (
            "AllegedTradeCreated", alleged.allegedTradeId, "Sell",
        )  # fmt: skip
        assert (created.counterMpId, created.counterMpName, created.flow) == (
            other.mp_id, other.mp_name, "AllegedSystemMatch",
        )  # fmt: skip
        status, _ = await client.mass_order_status()
        assert [(s.messageType, s.allegedTradeId) for s in status] == [
            ("AllegedTradeStatus", alleged.allegedTradeId),
        ]
        terms = {"instrument": "BTC", "type": "Block", "flow": "AllegedSystemMatch",
                 "externalTradeId": 2, "price": 100.25, "quantity": 2,
                 "buy": {"mpName": other.mp_name}, "sell": {"mpName": me.mp_name}}  # fmt: skip
        [wrong] = sim.create_trade_report("other-mp", {**terms, "quantity": 3})  # not the same
        sim.create_trade_report("other-mp", {**terms, "externalTradeId": 3})  # nor this
        assert (await client.mass_order_status())[0] == status
        # Its id is in use while the wrong report stands; withdrawn, it is free again.
        with pytest.raises(Exception, match="already in use"):
            sim.create_trade_report("other-mp", terms)
        sim.cancel_alleged_trade_report("other-mp", {"instrument": "BTC", **wrong})
        sim.create_trade_report("other-mp", terms)
        matched = await next_event(reports)
        assert isinstance(matched, ExecutionReport)
        assert (matched.messageType, matched.externalTradeId, matched.side) == (
            "TradeReport", 2, "Sell",
        )  # fmt: skip
        assert (await client.mass_order_status())[0] == []

        # A third party reports for two others; a side may not report for others.
        third = {"mpName": broker.mp_name}
        await report(flow="ThirdPartyLockedIn", externalTradeId=4, buy=theirs, sell=third)
        with pytest.raises(OrderValidationError, match="not a side") as refused:
            await report(flow="LockedIn", externalTradeId=5, buy=theirs, sell=third)
        assert refused.value.code == 1032
        with pytest.raises(ExberryError, match=r"sell\.mpName") as unknown:
            await report(flow="LockedIn", externalTradeId=6, buy=mine, sell={"mpName": "Nobody"})
        assert unknown.value.code == 100

        # Withdrawn, mass cancelled, or lapsed at the market close.
        withdrawn, cancelled, lapsed = [
            await report(flow="AllegedSystemMatch", externalTradeId=n, buy=mine, sell=theirs)
            for n in (7, 8, 9)
        ]
        answer = await client.cancel_alleged_trade_report(
            instrument="BTC", allegedTradeId=withdrawn.allegedTradeId or 0
        )
        assert answer.allegedTradeId == withdrawn.allegedTradeId
        with pytest.raises(OrderValidationError, match="is Cancelled"):
            await client.cancel_alleged_trade_report(
                instrument="BTC", allegedTradeId=withdrawn.allegedTradeId or 0
            )
        counted = await client.mass_cancel(instrument="BTC", targetEntities=["AllegedTrade"])
        assert counted.numberOfAllegedTrades == 2
        lapsed_too = await report(flow="AllegedSystemMatch", externalTradeId=10,
                                  buy=mine, sell=theirs)  # fmt: skip
        now[0] = dt.datetime(2026, 11, 24, 23, 59, tzinfo=dt.UTC).timestamp()
        await client.mass_order_status()  # a request notices what has lapsed
        ends = [await next_event(reports) for _ in range(4 + 4)]  # 4 created, 4 ended
    cancels = [
        (e.allegedTradeId, e.cancelReason) for e in ends
        if isinstance(e, ExecutionReport) and e.messageType == "AllegedTradeCancelled"
    ]  # fmt: skip
    assert cancels == [
        (withdrawn.allegedTradeId, "CancelRequest"),
        (cancelled.allegedTradeId, "MassCancelRequest"),
        (lapsed.allegedTradeId, "MassCancelRequest"),
        (lapsed_too.allegedTradeId, "Expiration"),
    ]
    page = await client.mp_alleged_trades(orderBy={"field": "createdAt", "direction": "Asc"})
    assert page.count == 5  # one's own, not the counterparty's
    assert [(t.externalTradeId, t.status, t.cancelReason) for t in page.allegedTrades] == [
        (2, "Executed", None), (7, "Cancelled", "CancelRequest"),
        (8, "Cancelled", "MassCancelRequest"), (9, "Cancelled", "MassCancelRequest"),
        (10, "Cancelled", "Expiration"),
    ]  # fmt: skip
    first = page.allegedTrades[0]
    assert first.sell is not None
    assert first.buy is not None
    assert (first.sell.mpName, first.buy.mpName) == (me.mp_name, other.mp_name)


async def test_trade_report_arguments_are_checked_before_sending(
    exberry_client: ExberryClient,
) -> None:
    report = functools.partial(exberry_client.create_trade_report, instrument="BTC",
                               type="Block", quantity=1, price=1.0, externalTradeId=1,
                               buy={"mpName": "Participant1"})  # fmt: skip
    with pytest.raises(ClientError, match="flow"):
        await report(flow="Locked", sell={"mpName": "Participant2"})  # type: ignore[arg-type]
    with pytest.raises(ClientError, match="sell needs an mpName"):
        await report(flow="LockedIn", sell={"accountType": "House"})
    with pytest.raises(ClientError, match="sell must be"):
        await report(flow="LockedIn", sell="Participant2")  # type: ignore[arg-type]
    with pytest.raises(ClientError, match="externalTradeId"):
        await exberry_client.create_trade_report(
            instrument="BTC", type="Block", flow="LockedIn", externalTradeId="1",  # type: ignore[arg-type]
            price=1.0, quantity=1, buy={"mpName": "a"}, sell={"mpName": "b"},
        )  # fmt: skip


async def test_a_lost_trade_report_reply_is_outcome_unknown_with_its_external_id(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    me, other = exberry_sim.participant(SIM_API_KEY), exberry_sim.participant("other-mp")
    exberry_sim.delay("v1/exchange.market/createTradeReport", 0.5)
    terms: dict[str, Any] = {
        "instrument": "BTC", "type": "Block", "flow": "AllegedSystemMatch", "price": 10.0,
        "quantity": 1, "externalTradeId": 5, "buy": {"mpName": me.mp_name},
        "sell": {"mpName": other.mp_name},
    }  # fmt: skip
    with pytest.raises(OrderOutcomeUnknown) as info:
        await exberry_client.create_trade_report(**terms, timeout=0.05)
    assert info.value.params["externalTradeId"] == 5
    assert "externalTradeId=5" in str(info.value)
    assert "mp_alleged_trades()" in info.value.advice
    await until(lambda: bool(exberry_sim.alleged_trades))
    status, _ = await exberry_client.mass_order_status()
    assert [s.externalTradeId for s in status] == [5]
    with pytest.raises(OrderValidationError, match="already in use"):  # a re-send is harmless
        await exberry_client.create_trade_report(**terms)


async def test_instrument_lists_follow_status_changes_after_their_snapshot() -> None:
    # The lists never changed after their snapshot (the documentation sends "live
    # updates") and listed disabled instruments without a filter asking for them.
    instruments: list[str | dict[str, Any]] = [
        "BTC", "ETH", {"symbol": "OLD", "activityStatus": "DISABLED"}
    ]  # fmt: skip
    async with (
        ExberrySimulator(instruments=instruments) as sim,
        ExberryClient(sim.url, public_token="sim-md-token") as md,
        md.instrument_list() as listing,
        md.instrument_list_with_pagination() as paged,
        md.instrument_list_with_pagination(calendarId=1) as filtered,
    ):
        snapshot = [cast(MdInstrument, await next_event(listing)) for _ in range(2)]
        page = cast(InstrumentListUpdate, await next_event(paged))
        every = cast(InstrumentListUpdate, await next_event(filtered))
        sim.set_instrument_status("ETH", status="Disabled")
        disabled = cast(MdInstrument, await next_event(listing))
        paged_update = cast(InstrumentListUpdate, await next_event(paged))
        await next_event(filtered)
        sim.set_instrument_status("ETH", status="Active")  # the page stopped following it
        sim.set_instrument_status("BTC", status="Disabled")
        relisted = [cast(MdInstrument, await next_event(listing)) for _ in range(2)]
        last = cast(InstrumentListUpdate, await next_event(paged))
    assert [(i.symbol, i.lastMessage) for i in snapshot] == [("BTC", None), ("ETH", "Y")]
    assert [i.symbol for i in page.instruments] == ["BTC", "ETH"]
    assert [(i.symbol, i.activityStatus) for i in every.instruments] == [
        ("BTC", "ACTIVE"), ("ETH", "ACTIVE"), ("OLD", "DISABLED"),
    ]  # fmt: skip
    assert (disabled.symbol, disabled.activityStatus) == ("ETH", "DISABLED")
    assert paged_update.messageType == "update"
    assert paged_update.instrument is not None
    assert (paged_update.instrument.symbol, paged_update.instrument.activityStatus) == (
        "ETH", "DISABLED",
    )  # fmt: skip
    assert [(i.symbol, i.activityStatus) for i in relisted] == [
        ("ETH", "ACTIVE"), ("BTC", "DISABLED"),
    ]  # fmt: skip
    assert last.instrument is not None
    assert last.instrument.symbol == "BTC"
    assert sim.instrument_status["OLD"]["status"] == "Disabled"


async def test_instrument_lists_sort_by_symbol_whatever_its_case_and_page() -> None:
    # The simulator sorted case-sensitively and numbered instruments by that order, so
    # instrumentList's ids disagreed with the instrumentId of reports; it answered
    # instrumentListWithPagination with "not simulated".
    instruments: list[str | dict[str, Any]] = [
        "eth", "BTC", "ada", {"symbol": "BOND", "calendarId": 10}
    ]  # fmt: skip
    async with (
        ExberrySimulator(instruments=instruments, calendars=[{}, {"id": 10}]) as sim,
        ExberryClient(sim.url, public_token="sim-md-token") as md,
    ):
        async with md.instrument_list() as listing:
            items = [cast(MdInstrument, await next_event(listing)) for _ in instruments]
        assert [(i.symbol, i.id) for i in items] == [
            ("ada", 3), ("BOND", 4), ("BTC", 2), ("eth", 1),
        ]  # fmt: skip
        assert [i.lastMessage for i in items] == [None, None, None, "Y"]
        async with md.instrument_list_with_pagination(limit=2) as first:
            page = cast(InstrumentListUpdate, await next_event(first))
        assert page.messageType == "snapshot"
        assert [i.symbol for i in page.instruments] == ["ada", "BOND"]
        assert (page.count, page.fromSymbol) == (4, "BOND")
        async with md.instrument_list_with_pagination(fromSymbol=page.fromSymbol) as second:
            rest = cast(InstrumentListUpdate, await next_event(second))
        assert [i.symbol for i in rest.instruments] == ["BTC", "eth"]
        assert rest.count == 2
        async with md.instrument_list_with_pagination(calendarId=10) as calendar:
            bonds = cast(InstrumentListUpdate, await next_event(calendar))
        assert [(i.symbol, i.calendarId) for i in bonds.instruments] == [("BOND", 10)]
        with pytest.raises(ClientError, match="limit"):
            md.instrument_list_with_pagination(limit=0)
    async with (
        ExberrySimulator(instruments=[]) as empty,
        ExberryClient(empty.url, public_token="sim-md-token") as md,
        md.instrument_list() as listing,
    ):
        none = cast(MdInstrument, await next_event(listing))
        assert (none.symbol, none.lastMessage) == (None, "Y")  # the Empty message sample
