"""Exberry requests for quotes: ExberryClient against the bundled simulator's RFQ desk."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from deribit_client import ClientError, OrderOutcomeUnknown
from deribit_client.exberry import ExberryClient, MarketStateError, NotFound, OrderValidationError
from deribit_client.exberry.models import (
    ExecutionReport,
    Party,
    QuoteDetail,
    RFQCancelled,
    RFQCreated,
    RFQEnded,
    Trade,
)
from deribit_client.testing.exberry import SIM_API_KEY, ExberrySimulator
from tests.helpers import INSTANT, NOON, next_event, until


@pytest.fixture
async def desk() -> AsyncIterator[
    tuple[ExberrySimulator, ExberryClient, ExberryClient, list[float]]
]:
    """A simulator on a clock the test moves (``now[0]``, from :data:`NOON`), an
    initiator's client and a dealer's (token sessions)."""
    now = [NOON]
    async with (
        ExberrySimulator(clock=lambda: now[0], tokens={"buyer", "dealer"}) as sim,
        ExberryClient(sim.url, token="buyer", reconnect=INSTANT) as initiator,
        ExberryClient(sim.url, token="dealer", reconnect=INSTANT) as dealer,
    ):
        yield sim, initiator, dealer, now


async def report_of(stream: AsyncIterator[object]) -> ExecutionReport:
    event = await next_event(stream)
    assert isinstance(event, ExecutionReport)
    return event


async def book_is_empty(client: ExberryClient) -> bool:
    """Whether no order rests on any instrument."""
    return (await client.order_book_state()).orders == []


async def test_an_rfq_is_quoted_then_accepted_as_a_trade_off_the_book(
    desk: tuple[ExberrySimulator, ExberryClient, ExberryClient, list[float]],
) -> None:
    # submitRFQ, submitQuote, acceptQuote... had no wrappers and the simulator answered
    # 1200 "Unknown qualifier"; order_book_state() dropped the RFQ items it was sent.
    sim, initiator, dealer, _ = desk
    me, them = sim.participant("trader:buyer"), sim.participant("trader:dealer")
    async with (
        initiator.order_book_depth() as book,
        initiator.execution_reports() as mine,
        initiator.trades() as my_trades,
        dealer.execution_reports() as theirs,
        dealer.trades() as their_trades,
    ):
        rfq = await initiator.submit_rfq(
            instrument="BTC", side="Buy", quantity=2, mpRfqId=7,
            expireTime=dt.datetime.fromtimestamp(NOON + 600, dt.UTC),
            parties=[Party(id="desk-1", source="D", role=12)],
        )  # fmt: skip
        assert rfq.rfqStatus == "Accepted"
        public = await next_event(book)
        assert isinstance(public, RFQCreated)
        assert (public.rfqId, public.mpId, public.mpQuoteReqId, public.side, public.quantity) == (
            rfq.rfqId, me.mp_id, 7, "Buy", 2,
        )  # fmt: skip
        assert public.expireTime == NOON + 600
        created = await report_of(mine)
        assert (created.messageType, created.rfqId, created.mpRfqId, created.expireTime) == (
            "RFQCreated", rfq.rfqId, 7, NOON + 600,
        )  # fmt: skip
        assert [p.id for p in created.parties] == ["desk-1"]
        state = await dealer.order_book_state()
        assert [(r.rfqId, r.side, r.quantity, r.expireTime) for r in state.rfqs] == [
            (rfq.rfqId, "Buy", 2, NOON + 600),
        ]

        # Two dealers quote (the test acts for the second); the initiator hears both
        # without their own ids.
        quote = await dealer.submit_quote(
            instrument="BTC", rfqId=rfq.rfqId, mpQuoteId=31,
            quoteDetails=[QuoteDetail(side="Sell", price=101.0, quantity=2)],
            accountType="House",
        )  # fmt: skip
        assert quote.quoteStatus == "Accepted"
        [other] = sim.rfq.submit_quote("other-dealer", {
            "mpQuoteId": 1, "instrument": "BTC", "rfqId": rfq.rfqId,
            "quoteDetails": [{"side": "Sell", "price": 100.5, "quantity": 2}],
        })  # fmt: skip
        seen = [await report_of(mine), await report_of(mine)]
        assert [(r.messageType, r.quoteId, r.mpRfqId) for r in seen] == [
            ("QuoteCreated", quote.quoteId, 7),
            ("QuoteCreated", other["quoteId"], 7),
        ]
        assert [d.price for r in seen for d in r.quoteDetails] == [101.0, 100.5]
        assert {(r.mpQuoteId, r.mpId, r.accountType) for r in seen} == {(None, None, None)}
        own = await report_of(theirs)
        assert (own.messageType, own.mpQuoteId, own.mpId, own.accountType) == (
            "QuoteCreated", 31, them.mp_id, "House",
        )  # fmt: skip
        status, _ = await initiator.mass_order_status()
        assert [(s.messageType, s.rfqId, s.quoteId) for s in status] == [
            ("RFQStatus", rfq.rfqId, None),
            ("QuoteStatus", rfq.rfqId, quote.quoteId),
            ("QuoteStatus", rfq.rfqId, other["quoteId"]),
        ]
        assert (status[0].mpQuoteReqId, status[0].marketModel) == (7, "RQ")

        # The initiator takes the dealer's quote at its terms: a trade, the other quote
        # cancelled, the RFQ ended.
        with pytest.raises(OrderValidationError, match="price must be = 101") as wrong:
            await initiator.accept_quote(instrument="BTC", quoteId=quote.quoteId, side="Buy",
                                         price=100.5, quantity=2)  # fmt: skip
        assert wrong.value.code == 1001
        trade = await initiator.accept_quote(
            instrument="BTC", quoteId=quote.quoteId, side="Buy", price=101.0, quantity=2
        )
        executed, cancelled, ended = [await report_of(mine) for _ in range(3)]
        assert (executed.messageType, executed.side, executed.price, executed.tradeId) == (
            "QuoteExecuted", "Buy", 101.0, trade.tradeId,
        )  # fmt: skip
        assert (executed.tradingMode, executed.mpId, executed.mpRfqId) == ("RQ", me.mp_id, 7)
        assert (cancelled.messageType, cancelled.quoteId, cancelled.cancelReason) == (
            "QuoteCancelled", other["quoteId"], "RFQEnded",
        )  # fmt: skip
        assert (ended.messageType, ended.rfqId) == ("RFQEnded", rfq.rfqId)
        assert isinstance(await next_event(book), RFQEnded)
        sold = await report_of(theirs)
        assert (sold.messageType, sold.side, sold.mpQuoteId, sold.tradeId) == (
            "QuoteExecuted", "Sell", 31, trade.tradeId,
        )  # fmt: skip
        for stream, side, order_id, mp_order_id, role in (
            (my_trades, "Buy", rfq.rfqId, 7, "Taker"),
            (their_trades, "Sell", quote.quoteId, 31, "Maker"),
        ):
            record = await next_event(stream)
            assert isinstance(record, Trade)
            assert (record.actionType, record.side, record.price, record.quantity) == (
                "RFQTrade", side, 101.0, 2,
            )  # fmt: skip
            assert (record.orderId, record.mpOrderId, record.makerTaker) == (
                order_id, mp_order_id, role,
            )  # fmt: skip
            assert (record.tradeId, record.tradingMode) == (trade.tradeId, "RQ")
    with pytest.raises(NotFound, match="not found") as again:  # it traded: nothing to accept
        await initiator.accept_quote(instrument="BTC", quoteId=quote.quoteId, side="Buy",
                                     price=101.0, quantity=2)  # fmt: skip
    assert again.value.code == 1041
    assert (await initiator.order_book_state()).rfqs == []
    assert (await initiator.mass_order_status())[0] == []
    assert await book_is_empty(initiator)  # off the book: no order rested or traded

    rfqs = await initiator.mp_rfqs(status="Ended")
    assert [(r.rfqId, r.mpQuoteReqId, r.status, r.side, r.quantity) for r in rfqs.rfqs] == [
        (rfq.rfqId, 7, "Ended", "Buy", 2),
    ]
    assert rfqs.rfqs[0].expireTime == "2026-11-24T12:10:00"
    assert (await initiator.mp_rfqs(status="Cancelled")).count == 0
    quotes = await dealer.mp_quotes(instruments=["BTC"], rfqId=rfq.rfqId)
    assert [(q.quoteId, q.mpQuoteId, q.status, q.side, q.price) for q in quotes.quotes] == [
        (quote.quoteId, 31, "Executed", "Sell", 101.0),
    ]
    traded = await dealer.mp_trades()
    assert [(t.actionType, t.orderId) for t in traded.trades] == [("RFQTrade", quote.quoteId)]


async def test_rfqs_end_by_expiry_cancel_and_mass_cancel_with_their_quotes(
    desk: tuple[ExberrySimulator, ExberryClient, ExberryClient, list[float]],
) -> None:
    _, initiator, dealer, now = desk
    rfq_a = await initiator.submit_rfq(instrument="BTC", side="Sell", quantity=1, mpRfqId=1,
                                       expireTime=int(NOON) + 60)  # fmt: skip
    rfq_b = await initiator.submit_rfq(instrument="ETH", side="Buy", quantity=3, mpRfqId=2)
    status, _ = await initiator.mass_order_status()
    assert [s.expireTime for s in status] == [NOON + 60, NOON + 60_000]  # the venue's longest

    async def quote(rfq_id: int, mp_quote_id: int, instrument: str, side: str, size: float) -> int:
        detail = {"side": side, "price": 100.0, "quantity": size}
        result = await dealer.submit_quote(
            instrument=instrument, rfqId=rfq_id, mpQuoteId=mp_quote_id, quoteDetails=[detail]
        )
        return result.quoteId

    async with (
        initiator.execution_reports() as mine,
        dealer.execution_reports() as theirs,
        dealer.order_book_depth() as book,
    ):
        quote_a = await quote(rfq_a.rfqId, 1, "BTC", "Buy", 1)
        await quote(rfq_b.rfqId, 2, "ETH", "Sell", 3)
        await dealer.cancel_quote(instrument="ETH", mpQuoteId=2)
        assert [(await report_of(theirs)).messageType for _ in range(3)] == [
            "QuoteCreated",
            "QuoteCreated",
            "QuoteCancelled",
        ]
        quote_b = await quote(rfq_b.rfqId, 3, "ETH", "Sell", 3)
        await report_of(theirs)
        assert [(await report_of(mine)).cancelReason for _ in range(4)] == [
            None,
            None,
            "CancelRequest",
            None,
        ]

        now[0] = NOON + 60  # RFQ a expires with its quote
        await initiator.mass_order_status()  # a request notices
        lapsed = await report_of(mine)
        assert (lapsed.messageType, lapsed.rfqId, lapsed.cancelReason) == (
            "RFQCancelled", rfq_a.rfqId, "Expiration",
        )  # fmt: skip
        dropped = await report_of(theirs)
        assert (dropped.messageType, dropped.quoteId, dropped.cancelReason) == (
            "QuoteCancelled", quote_a, "Expiration",
        )  # fmt: skip
        gone = await next_event(book)
        assert isinstance(gone, RFQCancelled)
        assert gone.rfqId == rfq_a.rfqId

        # Cancelling RFQ b by the initiator's own id takes dealer's quote with it.
        assert (await initiator.cancel_rfq(instrument="ETH", mpRfqId=2)).rfqId == rfq_b.rfqId
        withdrawn = await report_of(theirs)
        assert (withdrawn.quoteId, withdrawn.cancelReason) == (quote_b, "RFQCancelled")
    with pytest.raises(NotFound, match="RFQ not found") as info:
        await initiator.cancel_rfq(instrument="ETH", rfqId=rfq_b.rfqId)
    assert info.value.code == 1100

    # massCancel counts RFQs and quotes as asked.
    rfq_c = await initiator.submit_rfq(instrument="BTC", side="Buy", quantity=1, mpRfqId=3)
    await quote(rfq_c.rfqId, 4, "BTC", "Sell", 1)
    await initiator.submit_rfq(instrument="ETH", side="Buy", quantity=1, mpRfqId=4)
    counts = await dealer.mass_cancel(targetScope="All", targetEntities=["Quote"])
    assert (counts.numberOfQuotes, counts.numberOfRfqs) == (1, None)
    counts = await initiator.mass_cancel(instrument="BTC", targetEntities=["RFQ", "Quote"])
    assert (counts.numberOfRfqs, counts.numberOfQuotes) == (1, 0)
    assert [r.instrument for r in (await dealer.order_book_state()).rfqs] == ["ETH"]
    oldest_first = {"field": "createdAt", "direction": "Asc"}
    cancelled = await initiator.mp_rfqs(status="Cancelled", orderBy=oldest_first)
    assert [(r.mpQuoteReqId, r.cancelReason) for r in cancelled.rfqs] == [
        (1, "Expiration"),
        (2, "CancelRequest"),
        (3, "CancelRequest"),
    ]


async def test_rfq_requests_are_checked_before_sending_and_by_the_venue(
    desk: tuple[ExberrySimulator, ExberryClient, ExberryClient, list[float]],
) -> None:
    sim, initiator, dealer, _ = desk
    for call, text in (
        (initiator.cancel_rfq(instrument="BTC"), "exactly one of rfqId, mpRfqId"),
        (initiator.cancel_rfq(instrument="BTC", rfqId=1, mpRfqId=1), "exactly one"),
        (dealer.cancel_quote(instrument="BTC"), "exactly one of quoteId, mpQuoteId"),
        (initiator.submit_rfq(instrument="BTC", side="Buy", quantity=1, mpRfqId=0), "mpRfqId"),
        (
            initiator.submit_rfq(
                instrument="BTC",
                side="Buy",
                quantity=1,
                mpRfqId=1,
                expireTime=dt.datetime(2026, 11, 24, 13),
            ),
            "aware",
        ),
        (
            dealer.submit_quote(instrument="BTC", rfqId=1, mpQuoteId=1, quoteDetails=[]),
            "quoteDetails must be a non-empty list",
        ),
        (
            dealer.submit_quote(
                instrument="BTC",
                rfqId=1,
                mpQuoteId=1,
                quoteDetails=["Sell 1 at 100"],  # type: ignore[list-item]
            ),
            "quoteDetails: every entry must be a QuoteDetail or mapping",
        ),
        (
            initiator.accept_quote(
                instrument="BTC",
                quoteId=1,
                side="buy",  # type: ignore[arg-type]
                price=1.0,
                quantity=1,
            ),
            "side",
        ),
        (initiator.mp_rfqs(rfqId=1), "needs instruments"),
        (initiator.mp_rfqs(status="Executed"), "status"),  # type: ignore[arg-type]
        (dealer.mp_quotes(quoteId=1), "need instruments"),
        (dealer.mp_quotes(orderBy={"field": "price"}), "orderBy field"),
    ):
        with pytest.raises(ClientError, match=text):
            await call
    assert not [q for q, _ in sim.calls if "RFQ" in q or "Quote" in q or "/mp/" in q]

    rfq = await initiator.submit_rfq(instrument="BTC", side="Buy", quantity=2, mpRfqId=1)
    request = initiator.request
    for q, d, code, text in (
        ("submitRFQ", {"mpRfqId": 1, "instrument": "BTC", "side": "Buy", "quantity": 2},
         1002, "mpRfqId is already in use"),
        ("submitRFQ", {"mpRfqId": 2, "instrument": "BTC", "side": "Buy", "quantity": 2,
                       "expireTime": int(NOON)}, 1001, "Wrong expireTime"),
        ("submitRFQ", {"mpRfqId": 2, "instrument": "BTC", "side": "Buy", "quantity": 2,
                       "expireTime": int(NOON) + 60_001}, 1001, "Wrong expireTime"),
        ("submitRFQ", {"mpRfqId": 2, "instrument": "BTC", "side": "Buy",
                       "quantity": 2e6}, 1006, "Quantity must be between"),
        ("submitRFQ", {"mpRfqId": 2, "instrument": "XRP", "side": "Buy", "quantity": 1},
         1010, "Instrument XRP not found"),
        ("submitRFQ", {"mpRfqId": 2, "side": "Buy"}, 1000, "Missing fields: instrument"),
        ("submitQuote", {"mpQuoteId": 1, "instrument": "BTC", "rfqId": 99,
                         "quoteDetails": [{"side": "Sell", "price": 100.0, "quantity": 2}]},
         1041, "RFQ 99 not found"),
        ("submitQuote", {"mpQuoteId": 1, "instrument": "BTC", "rfqId": rfq.rfqId,
                         "quoteDetails": [{"side": "Buy", "price": 100.0, "quantity": 2}]},
         1001, "Sell side Quote is required"),
        ("submitQuote", {"mpQuoteId": 1, "instrument": "BTC", "rfqId": rfq.rfqId,
                         "quoteDetails": [{"side": "Sell", "price": 100.0, "quantity": 1}]},
         1001, "quantity must be = 2"),
        ("submitQuote", {"mpQuoteId": 1, "instrument": "BTC", "rfqId": rfq.rfqId,
                         "quoteDetails": [{"side": "Sell", "price": 100.25, "quantity": 2}]},
         1014, "tick size"),
        ("submitQuote", {"mpQuoteId": 1, "instrument": "BTC", "rfqId": rfq.rfqId,
                         "quoteDetails": [{"side": "Sell", "price": 100.0, "quantity": 2}] * 2},
         1001, "Wrong quoteDetails"),
        ("cancelQuote", {"instrument": "BTC", "quoteId": 1, "mpQuoteId": 1},
         1104, "only one from quoteId or mpQuoteId"),
        ("cancelRFQ", {"instrument": "ETH", "rfqId": rfq.rfqId}, 1100, "RFQ not found"),
        ("acceptQuote", {"quoteId": 5, "instrument": "BTC", "side": "Buy", "price": 1.0,
                         "quantity": 2}, 1041, "Quote 5 not found"),
    ):  # fmt: skip
        with pytest.raises((OrderValidationError, NotFound), match=text) as info:
            await request(f"v1/exchange.market/{q}", d)
        assert info.value.code == code, (q, d)
    # A dealer cannot accept a quote on somebody else's RFQ.
    quote = await dealer.submit_quote(
        instrument="BTC", rfqId=rfq.rfqId, mpQuoteId=1,
        quoteDetails=[{"side": "Sell", "price": 100.0, "quantity": 2}],
    )  # fmt: skip
    with pytest.raises(NotFound):
        await dealer.accept_quote(instrument="BTC", quoteId=quote.quoteId, side="Buy",
                                  price=100.0, quantity=2)  # fmt: skip
    with pytest.raises(OrderValidationError, match="Wrong Status"):
        await initiator.request("v1/exchange.reporting/mp/rfqs", {"status": "Executed"})


@pytest.mark.parametrize(
    ("method", "terms", "key"),
    [
        ("submit_rfq", {"side": "Buy", "quantity": 1, "mpRfqId": 9}, "mpRfqId"),
        (
            "submit_quote",
            {
                "rfqId": 1,
                "mpQuoteId": 4,
                "quoteDetails": [{"side": "Sell", "price": 10.0, "quantity": 1}],
            },
            "mpQuoteId",
        ),
    ],
)
async def test_a_lost_rfq_or_quote_reply_is_outcome_unknown_with_its_own_id(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient, method: str,
    terms: dict[str, Any], key: str,
) -> None:  # fmt: skip
    if method == "submit_quote":
        exberry_sim.rfq.submit_rfq("other-mp", {"mpRfqId": 1, "instrument": "BTC",
                                                "side": "Buy", "quantity": 1})  # fmt: skip
    q = "submitRFQ" if method == "submit_rfq" else "submitQuote"
    exberry_sim.delay(f"v1/exchange.market/{q}", 0.5)
    send = getattr(exberry_client, method)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await send(instrument="BTC", **terms, timeout=0.05)
    assert info.value.params[key] == terms[key]
    assert f"{key}={terms[key]}" in str(info.value)
    assert "mass_order_status()" in info.value.advice
    records = exberry_sim.rfq.rfqs if method == "submit_rfq" else exberry_sim.rfq.quotes
    await until(lambda: any(r["_mp"] == SIM_API_KEY for r in records.values()))
    with pytest.raises(OrderValidationError, match="already in use"):  # a re-send is harmless
        await send(instrument="BTC", **terms)


async def test_an_anonymous_book_hides_who_asks_for_quotes() -> None:
    async with (
        ExberrySimulator(market_identity="anonymous", tokens={"dealer"}) as sim,
        ExberryClient(sim.url, token="dealer", reconnect=INSTANT) as dealer,
        dealer.order_book_depth() as book,
    ):
        await dealer.ping()  # the stream is open before the RFQ
        sim.rfq.submit_rfq("other-mp", {"mpRfqId": 5, "instrument": "BTC", "side": "Sell",
                                        "quantity": 1})  # fmt: skip
        created = await next_event(book)
        assert isinstance(created, RFQCreated)
        assert (created.side, created.mpId, created.mpQuoteReqId) == ("Sell", None, None)


async def test_rfq_requests_wait_for_an_open_instrument(
    desk: tuple[ExberrySimulator, ExberryClient, ExberryClient, list[float]],
) -> None:
    # RFQs and quotes were taken whatever the instrument's state: a halted, closed or
    # disabled instrument, or one in an auction, traded off the book.
    sim, initiator, dealer, _ = desk
    rfq = await initiator.submit_rfq(instrument="BTC", side="Buy", quantity=1, mpRfqId=1)
    quote = await dealer.submit_quote(
        instrument="BTC", rfqId=rfq.rfqId, mpQuoteId=1,
        quoteDetails=[QuoteDetail(side="Sell", price=100.0, quantity=1)],
    )  # fmt: skip
    requests: dict[str, Callable[[], Awaitable[Any]]] = {
        "submit_rfq": lambda: initiator.submit_rfq(
            instrument="BTC", side="Buy", quantity=1, mpRfqId=2
        ),
        "cancel_rfq": lambda: initiator.cancel_rfq(instrument="BTC", rfqId=rfq.rfqId),
        "accept_quote": lambda: initiator.accept_quote(
            instrument="BTC", quoteId=quote.quoteId, side="Buy", price=100.0, quantity=1
        ),
        "submit_quote": lambda: dealer.submit_quote(
            instrument="BTC",
            rfqId=rfq.rfqId,
            mpQuoteId=2,
            quoteDetails=[QuoteDetail(side="Sell", price=99.5, quantity=1)],
        ),
        "cancel_quote": lambda: dealer.cancel_quote(instrument="BTC", quoteId=quote.quoteId),
    }
    for state, code, text in (
        ({"tradingStatus": "Halt"}, 1009, "Instrument trading is halted"),
        ({"tradingStatus": "Trade", "marketStatus": "AuctionCall"}, 1018, "not allowed"),
        ({"marketStatus": "AuctionCrossing"}, 1018, "Trading is not allowed"),
        ({"marketStatus": "Closed"}, 1003, "Market is closed"),
        ({"marketStatus": "Opened", "status": "Disabled"}, 1004, "trading is not allowed"),
    ):
        sim.set_instrument_status("BTC", **state)
        for name, request in requests.items():
            with pytest.raises(MarketStateError, match=text) as info:
                await request()
            assert (name, info.value.code) == (name, code)  # the name says which failed
    sim.set_instrument_status("BTC", status="Active")
    traded = await initiator.accept_quote(
        instrument="BTC", quoteId=quote.quoteId, side="Buy", price=100.0, quantity=1
    )
    assert traded.tradeId is not None
