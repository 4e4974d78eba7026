"""Exberry trade reports (locked-in and alleged) against the simulator."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pytest

from deribit_client import ClientError, OrderOutcomeUnknown
from deribit_client.exberry import ExberryClient, ExberryError, OrderValidationError
from deribit_client.exberry.models import ExecutionReport, Trade
from deribit_client.testing.exberry import SIM_API_KEY, ExberrySimulator
from tests.helpers import next_event, until


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
