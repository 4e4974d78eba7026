"""Exberry's ledger: ExberryClient against the bundled simulator's ledger."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import pathlib
import re
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from deribit_client import ClientError, Gap, OrderOutcomeUnknown
from deribit_client.exberry import ExberryClient, ExberryError, LedgerError
from deribit_client.exberry.models import AccountBalance, TransferAsset
from deribit_client.testing._exberry_rules import Fail
from deribit_client.testing.exberry import SIM_API_KEY, ExberrySimulator
from tests.helpers import next_event, until

USD, GOLD = 44, 10


async def balances_of(stream: AsyncIterator[object]) -> dict[str, tuple[float, float, float]]:
    """The next balances on ``stream``: asset name -> (available, reserved, total)."""
    item = await next_event(stream)
    assert isinstance(item, AccountBalance)
    return {
        b.assetName or "": (b.availableBalance or 0, b.reservedBalance or 0, b.totalBalance or 0)
        for b in item.balances
    }


async def test_balances_stream_and_move_with_deposits_and_withdrawals(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # accountBalance is a stream (a snapshot, then updates); the README showed it as a
    # request, which waits for a closing frame the venue never sends. The ledger had no
    # wrappers and the simulator answered 1200 "Unknown qualifier".
    ledger = exberry_sim.ledger
    ledger.open_account(SIM_API_KEY, 36, account_id=37, balances={USD: 1000, GOLD: "3265.167"})
    client = exberry_client
    async with client.account_balance(accountId="37") as stream:
        assert await balances_of(stream) == {
            "USD": (1000, 0, 1000), "GOLD": (3265.167, 0, 3265.167),
        }  # fmt: skip
        # A withdrawal holds its amount until it settles or is cancelled.
        out = await client.create_transaction_request(
            type="Withdrawal", ledgerAccountId=36, assetId=USD, amount="100.5"
        )
        assert out.status == "Instructed"
        assert (await balances_of(stream))["USD"] == (899.5, 100.5, 1000)
        with pytest.raises(ExberryError, match=r"Insufficient balance: 0\.5 USD") as short:
            await client.create_transaction_request(  # numpy's numbers go as numbers
                type="Withdrawal", ledgerAccountId="36", assetId="44",
                amount=np.int64(900),  # type: ignore[arg-type]  # (for mypy: int(...))
            )  # fmt: skip
        assert short.value.code == 2000
        # Gold is not cash: a deposit needs both attachments.
        with pytest.raises(ExberryError, match="assetDetailsId") as missing:
            await client.create_transaction_request(
                type="Deposit", ledgerAccountId=36, assetId=GOLD, amount=1.5,
                instructionDetailsId="2eb83b2f-1118-4ecf-87ee-b18d639ff07f",
            )  # fmt: skip
        assert missing.value.code == 100
        deposit = await client.create_transaction_request(  # an amount may be a Decimal
            type="Deposit", ledgerAccountId=36, assetId=GOLD, amount=Decimal("1.5"),
            instructionDetailsId="2eb83b2f-1118-4ecf-87ee-b18d639ff07f",
            assetDetailsId="080f8c19-55e6-42fe-a211-735425f17adb", description="bars",
        )  # fmt: skip
        assert deposit.id is not None
        ledger.approve(int(deposit.id))  # the operator's steps
        with pytest.raises(ExberryError, match="InProcess") as late:  # no longer Instructed
            await client.cancel_transaction_request(id=deposit.id)
        assert late.value.code == 100
        ledger.settle(int(deposit.id))
        assert (await balances_of(stream))["GOLD"] == (3266.667, 0, 3266.667)
        assert out.id is not None
        await client.cancel_transaction_request(id=out.id)  # answered by sig 1 alone
        assert (await balances_of(stream))["USD"] == (1000, 0, 1000)

        exberry_sim.drop_connections()  # the stream comes back: a Gap, a fresh snapshot
        async with asyncio.timeout(5):
            marker = await anext(aiter(stream))
        assert isinstance(marker, Gap)
        assert (await balances_of(stream))["USD"] == (1000, 0, 1000)

    page = await client.mp_transaction_requests()
    assert [(r.id, r.type, r.status, r.amount, r.assetName) for r in page.transactionRequests] == [
        (int(deposit.id), "Deposit", "Settled", 1.5, "GOLD"),
        (int(out.id), "Withdrawal", "Cancelled", 100.5, "USD"),
    ]
    assert page.transactionRequests[0].description == "bars"
    with pytest.raises(ExberryError, match="not found") as unknown:
        await client.cancel_transaction_request(id=999)
    assert unknown.value.code == 101


async def test_a_balance_stream_of_an_unknown_account_fails_with_the_venues_error(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    exberry_sim.ledger.open_account(SIM_API_KEY, 36, account_id=37)
    exberry_sim.ledger.trading_accounts[(SIM_API_KEY, 38)] = None  # no ledger account
    for account, code in ((99, 1032), (38, 2000)):
        async with exberry_client.account_balance(accountId=account) as stream:
            with pytest.raises(ExberryError) as info:
                await next_event(stream)
        assert info.value.code == code
    async with exberry_client.account_balance(accountId=37) as stream:
        assert await balances_of(stream) == {}  # the Empty Response sample's shape


async def test_a_lost_transaction_request_reply_is_outcome_unknown(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    exberry_sim.ledger.open_account(SIM_API_KEY, 36, balances={USD: 10})
    exberry_sim.delay("v1/exchange.ledger/createTransactionRequest", 0.5)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await exberry_client.create_transaction_request(
            type="Withdrawal", ledgerAccountId=36, assetId=USD, amount=1, timeout=0.05
        )
    assert "mp_transaction_requests()" in info.value.advice
    await until(lambda: bool(exberry_sim.ledger.requests))
    page = await exberry_client.mp_transaction_requests()
    assert [r.status for r in page.transactionRequests] == ["Instructed"]


SILVER = 97
DVP = "v1/exchange.ledger/createAllegedTransfer"


def gold_for_cash(external: str, gold: object = "1", usd: object = "100") -> dict[str, object]:
    """The counterparty's side (RvP) of a transfer of gold for dollars."""
    return {
        "type": "RvP", "ledgerAccountId": "14", "externalId": external,
        "counterpartyMpId": "1", "sendingAssets": [{"assetId": "44", "amount": usd}],
        "receivingAssets": [{"assetId": "10", "amount": gold}],
    }  # fmt: skip


async def test_alleged_transfers_settle_when_the_counterparty_reports_the_mirror_image(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    client, ledger = exberry_client, exberry_sim.ledger
    me = exberry_sim.participant(SIM_API_KEY).mp_id  # the client's session met it first
    other = exberry_sim.participant("other").mp_id
    assert me == 1
    ledger.open_account(SIM_API_KEY, 36, account_id=37, balances={GOLD: "2.5"})
    ledger.open_account("other", 14, balances={USD: 1000})
    async with client.account_balance(accountId=37) as stream:
        assert await balances_of(stream) == {"GOLD": (2.5, 0, 2.5)}
        out = await client.create_alleged_transfer(
            type="DvP", ledgerAccountId=36, counterpartyMpId=other, externalId="T-1",
            sendingAssets=[TransferAsset(assetId=GOLD, amount=1)],
            receivingAssets=[{"assetId": USD, "amount": "100"}], description="bars",
        )  # fmt: skip
        assert out.status == "Instructed"
        assert out.allegedTransferId is not None
        assert await balances_of(stream) == {"GOLD": (1.5, 1, 2.5)}  # held until it settles
        with pytest.raises(ExberryError, match="externalId is already in use") as reused:
            await client.create_alleged_transfer(
                type="FoP", ledgerAccountId=36, counterpartyMpId=other, externalId="T-1",
                sendingAssets=[{"assetId": GOLD, "amount": 1}],
            )  # fmt: skip
        assert reused.value.code == 1002
        # Terms that differ (99 dollars) do not match: the other side stays Instructed.
        mismatch = ledger.create_alleged_transfer("other", gold_for_cash("T-1", usd="99"))
        assert mismatch == [{"allegedTransferId": "2", "status": "Instructed"}]
        ledger.cancel_transfer(2)  # the operator, on the other side's behalf
        assert ledger.create_alleged_transfer("other", gold_for_cash("T-1"))[0]["status"] == (
            "Settled"
        )
        assert await balances_of(stream) == {"GOLD": (1.5, 0, 1.5), "USD": (100, 0, 100)}

    page = await client.mp_alleged_transfers()
    (mine,) = page.allegedTransfers
    assert (mine.allegedTransferId, mine.type, mine.status, mine.externalId) == (
        int(out.allegedTransferId), "DvP", "Settled", "T-1"
    )  # fmt: skip
    assert (mine.counterpartyMpId, mine.description, mine.ledgerAccountName) == (
        other, "bars", "Acc36"
    )  # fmt: skip
    assert [(a.assetName, a.amount, a.units) for a in mine.sendingAssets] == [("GOLD", 1, "oz")]
    assert [(a.assetId, a.amount) for a in mine.receivingAssets] == [(USD, 100)]
    assert (await client.mp_alleged_transfers(statuses=["Cancelled"])).count == 0
    assert (await client.mp_alleged_transfers(assetId=USD)).count == 1  # a receiving asset
    # Each side's movements are transactions of its own type, linked; reservations on ask.
    moves = (await client.mp_transactions()).transactions
    assert [(t.transactionType, t.assetName, t.amount) for t in moves] == [
        ("DvP", "USD", 100),
        ("DvP", "GOLD", -1),
    ]
    assert moves[0].linkId == moves[1].linkId is not None
    assert moves[0].counterpartyMpId == other
    assert moves[0].description == "bars"
    held = await client.mp_transactions(transactionTypes=["ReserveBalance", "ReleaseBalance"])
    assert [(t.transactionType, t.amount, t.description) for t in held.transactions] == [
        ("ReleaseBalance", -1, f"GOLD|allegedTransfer|{out.allegedTransferId}"),
        ("ReserveBalance", 1, f"GOLD|allegedTransfer|{out.allegedTransferId}"),
    ]
    page_of_one = await client.mp_transactions(ledgerAccountId=36, assetId=GOLD, limit=1)
    assert page_of_one.count == 1
    assert page_of_one.transactions[0].amount == -1


async def test_alleged_transfers_refuse_what_the_venue_refuses_and_hold_nothing(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    client, ledger = exberry_client, exberry_sim.ledger
    other = exberry_sim.participant("other").mp_id
    ledger.open_account(SIM_API_KEY, 36, balances={GOLD: 1, USD: 10})
    ledger.open_account(SIM_API_KEY, 826, balances={USD: 10})
    ledger.open_account("other", 14)

    def fop(**changes: object) -> dict[str, object]:
        return {"type": "FoP", "ledgerAccountId": 36, "counterpartyMpId": other,
                "externalId": "E", "sendingAssets": [{"assetId": GOLD, "amount": "0.5"}],
                **changes}  # fmt: skip

    refused = {
        1010: fop(counterpartyMpId=99),
        1012: fop(sendingAssets=[{"assetId": GOLD, "amount": "0.0001"}]),
        1014: fop(sendingAssets=[{"assetId": USD, "amount": "1.005"}]),
        1000: fop(receivingAssets=[{"assetId": USD, "amount": 1}]),  # FoP receives nothing
        2000: fop(sendingAssets=[{"assetId": USD, "amount": 5}, {"assetId": GOLD, "amount": 2}]),
        1032: fop(ledgerAccountId=14),  # the other participant's account
    }
    for code, d in refused.items():
        with pytest.raises(ExberryError) as info:
            await client.request(DVP, d)
        assert info.value.code == code, d
    assert ledger.accounts[36].available == {GOLD: 1, USD: 10}  # nothing held by a refusal
    # The two sides of a transfer cannot be one ledger account (here: both our own).
    ours = await client.create_alleged_transfer(
        type="FoP", ledgerAccountId=36, counterpartyMpId=1, externalId="self",
        sendingAssets=[{"assetId": USD, "amount": 1}],
    )  # fmt: skip
    assert ours.status == "Instructed"
    with pytest.raises(ExberryError, match="same ledgerAccountId") as same:
        await client.create_alleged_transfer(
            type="FoP_Receive", ledgerAccountId=36, counterpartyMpId=1, externalId="self",
            receivingAssets=[{"assetId": USD, "amount": 1}],
        )  # fmt: skip
    assert same.value.code == 1020
    mirror = await client.create_alleged_transfer(
        type="FoP_Receive", ledgerAccountId=826, counterpartyMpId=1, externalId="self",
        receivingAssets=[{"assetId": USD, "amount": 1}],
    )  # fmt: skip
    assert mirror.status == "Settled"
    assert ledger.accounts[826].available[USD] == 11
    # Cancel: one's own Instructed ones; the operator's end of day expires the rest.
    left = await client.create_alleged_transfer(
        type="FoP", ledgerAccountId=36, counterpartyMpId=other, externalId="E",
        sendingAssets=[{"assetId": GOLD, "amount": "0.25"}],
    )  # fmt: skip
    gone = await client.create_alleged_transfer(
        type="FoP", ledgerAccountId=36, counterpartyMpId=other, externalId="F",
        sendingAssets=[{"assetId": GOLD, "amount": "0.5"}],
    )  # fmt: skip
    assert ledger.accounts[36].reserved[GOLD] == Decimal("0.75")
    await client.cancel_alleged_transfer(allegedTransferId=str(gone.allegedTransferId))
    with pytest.raises(ExberryError, match="Cancelled") as twice:
        await client.cancel_alleged_transfer(allegedTransferId=str(gone.allegedTransferId))
    assert twice.value.code == 100
    with pytest.raises(ExberryError, match="Alleged transfer not found") as unknown:
        await client.cancel_alleged_transfer(allegedTransferId=999)
    assert unknown.value.code == 1100
    ledger.end_of_day()
    assert ledger.accounts[36].reserved[GOLD] == 0
    reasons = {
        t.externalId: (t.status, t.cancelReason)
        for t in (await client.mp_alleged_transfers(statuses=["Cancelled"])).allegedTransfers
    }
    assert reasons == {"E": ("Cancelled", "Expiration"), "F": ("Cancelled", "CancelRequest")}
    assert left.allegedTransferId is not None


async def test_the_end_of_day_tells_balance_streams_of_what_its_expiries_release(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    ledger, other = exberry_sim.ledger, exberry_sim.participant("other").mp_id
    ledger.open_account(SIM_API_KEY, 36, account_id=37, balances={GOLD: 1})
    async with exberry_client.account_balance(accountId=37) as stream:
        assert await balances_of(stream) == {"GOLD": (1, 0, 1)}
        await exberry_client.create_alleged_transfer(
            type="FoP", ledgerAccountId=36, counterpartyMpId=other, externalId="E",
            sendingAssets=[{"assetId": GOLD, "amount": "0.25"}],
        )  # fmt: skip
        assert await balances_of(stream) == {"GOLD": (0.75, 0.25, 1)}
        ledger.end_of_day()  # the transfer lapses: its hold comes back
        assert await balances_of(stream) == {"GOLD": (1, 0, 1)}


async def test_cash_transfers_move_cash_at_once(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    ledger = exberry_sim.ledger
    ledger.open_account(SIM_API_KEY, 36, balances={USD: 200, GOLD: 1})
    ledger.open_account("other", 826)
    out = await exberry_client.create_cash_transfer(
        senderAccountId="36", senderAssets=[{"assetId": "44", "amount": "105"}],
        receiverAccountId=826, description="Transfer 242",
    )  # fmt: skip
    assert (out.senderAccountId, out.receiverAccountId, len(out.transactionIds)) == (
        "36", "826", 2
    )  # fmt: skip
    assert ledger.accounts[826].available == {USD: 105}
    assert ledger.accounts[36].available[USD] == 95
    mine = (await exberry_client.mp_transactions(transactionTypes=["CashTransfer"])).transactions
    assert [(str(t.transactionId), t.amount, t.description) for t in mine] == [
        (out.transactionIds[0], -105, "Transfer 242")
    ]
    not_cash: list[TransferAsset | Mapping[str, Any]] = [{"assetId": GOLD, "amount": 1}]
    too_much: list[TransferAsset | Mapping[str, Any]] = [{"assetId": USD, "amount": 96}]
    for assets, code in ((not_cash, 1000), (too_much, 2000)):
        with pytest.raises(ExberryError) as info:
            await exberry_client.create_cash_transfer(
                senderAccountId=36, senderAssets=assets, receiverAccountId=826
            )
        assert info.value.code == code


async def test_holdings_summary_reports_the_balances_of_each_end_of_day(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    ledger = exberry_sim.ledger
    ledger.open_account(SIM_API_KEY, 36, balances={USD: 200, GOLD: 1})
    ledger.open_account(SIM_API_KEY, 826, balances={USD: 50})
    ledger.open_account("other", 14, balances={USD: 7})
    ledger.end_of_day("2026-11-23")
    await exberry_client.create_cash_transfer(
        senderAccountId=36, senderAssets=[{"assetId": USD, "amount": 20}], receiverAccountId=14
    )
    ledger.end_of_day("2026-11-24")
    page = await exberry_client.mp_holdings_summary(eodDateFrom="2026-11-23")
    assert [(h.eodDate, h.assetName, h.eodHoldings, h.mpName) for h in page.holdings] == [
        ("2026-11-23", "GOLD", 1, None), ("2026-11-23", "USD", 250, None),
        ("2026-11-24", "GOLD", 1, None), ("2026-11-24", "USD", 230, None),
    ]  # fmt: skip
    by_account = await exberry_client.mp_holdings_summary(
        groupBy="Account", eodDateFrom=dt.date(2026, 11, 24), assetId=USD
    )
    assert [(h.ledgerAccountName, h.eodHoldings) for h in by_account.holdings] == [
        ("Acc36", 180), ("Acc826", 50),
    ]  # fmt: skip
    one_day = await exberry_client.mp_holdings_summary(
        eodDateFrom="2026-11-23", eodDateTo="2026-11-24", ledgerAccountId=826, groupBy="MP"
    )
    assert [(h.eodHoldings, h.mpName) for h in one_day.holdings] == [(50, "Participant1")]


async def test_ledger_arguments_are_refused_before_sending(exberry_client: ExberryClient) -> None:
    client = exberry_client
    refusals = [
        (client.create_alleged_transfer(type="DvX", ledgerAccountId=1, counterpartyMpId=2,  # type: ignore[arg-type]
                                        externalId="x"), "type"),
        (client.create_alleged_transfer(type="FoP", ledgerAccountId=1, counterpartyMpId=2,
                                        externalId=""), "externalId"),
        (client.create_alleged_transfer(type="FoP", ledgerAccountId=1, counterpartyMpId=2,
                                        externalId="x", sendingAssets=[{"assetId": 10}]),
         "amount"),
        (client.create_cash_transfer(senderAccountId=1, senderAssets=[],
                                     receiverAccountId=2), "senderAssets"),
        (client.mp_holdings_summary(eodDateFrom=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
         "eodDateFrom"),
        (client.mp_holdings_summary(eodDateFrom="2026-02-01", eodDateTo="2026-01-01"),
         "eodDateTo"),
        (client.mp_holdings_summary(eodDateTo="2026-02-30"), "eodDateTo"),
        (client.mp_transactions(transactionTypes=["Gift"]), "transactionTypes"),  # type: ignore[list-item]
        (client.mp_alleged_transfers(statuses=["InProcess"]), "statuses"),  # type: ignore[list-item]
        (client.mp_transaction_requests(type="Loan"), "type"),  # type: ignore[arg-type]
    ]  # fmt: skip
    for call, name in refusals:
        with pytest.raises(ClientError, match=name):
            await call


async def test_transaction_requests_report_filters(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    exberry_sim.ledger.open_account(SIM_API_KEY, 36, balances={USD: 10})
    client = exberry_client
    out = await client.create_transaction_request(
        type="Withdrawal", ledgerAccountId=36, assetId=USD, amount=1
    )
    await client.create_transaction_request(
        type="Deposit", ledgerAccountId=36, assetId=USD, amount=5
    )
    withdrawals = await client.mp_transaction_requests(type="Withdrawal")
    assert [r.id for r in withdrawals.transactionRequests] == [int(str(out.id))]
    assert (await client.mp_transaction_requests(statuses=["Settled"])).count == 0
    assert (
        await client.mp_transaction_requests(id=int(str(out.id)), ledgerAccountId=36)
    ).count == 1


async def test_a_lost_alleged_transfer_reply_is_outcome_unknown_with_its_external_id(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    exberry_sim.ledger.open_account(SIM_API_KEY, 36, balances={GOLD: 1})
    other = exberry_sim.participant("other").mp_id
    exberry_sim.delay(DVP, 0.5)
    with pytest.raises(OrderOutcomeUnknown, match="externalId='lost-1'") as info:
        await exberry_client.create_alleged_transfer(
            type="FoP", ledgerAccountId=36, counterpartyMpId=other, externalId="lost-1",
            sendingAssets=[{"assetId": GOLD, "amount": 1}], timeout=0.05,
        )  # fmt: skip
    assert "mp_alleged_transfers()" in info.value.advice
    await until(lambda: bool(exberry_sim.ledger.transfers))
    found = await exberry_client.mp_alleged_transfers(externalId="lost-1")
    assert [t.status for t in found.allegedTransfers] == ["Instructed"]


SAMPLES = pathlib.Path(__file__).resolve().parents[3] / "shared" / "exberry" / "samples"


async def test_the_simulator_takes_the_documentations_ledger_requests(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # The samples send ids and amounts as text where the tables say numbers.
    requests = sorted(
        path
        for pattern in (
            "*ledger-participant-apis*__Request__*",
            "*positions-reporting*__Request__*",
        )
        for path in (SAMPLES / "exchange-api").glob(pattern)
    )
    if not requests:
        pytest.skip("shared/exberry/samples is not beside this checkout")
    for n in range(2, 10):  # the samples' counterparty is participant 9
        exberry_sim.participant(f"mp{n}")
    exberry_sim.ledger.open_account(SIM_API_KEY, 36, account_id=37, balances={GOLD: 1, USD: 105})
    exberry_sim.ledger.open_account(SIM_API_KEY, 826)
    not_found = {"cancelAllegedTransfer": 1100, "cancelTransactionRequest": 101}
    answered = []
    for path in requests:
        frame = json.loads(path.read_text())
        q, d, name = frame["q"], frame["d"], frame["q"].rsplit("/", 1)[1]
        if name == "accountBalance":  # a stream
            continue
        if name in not_found:  # the samples cancel ids of their own venue
            with pytest.raises(ExberryError) as info:
                await exberry_client.request(q, d)
            assert info.value.code == not_found[name]
        else:
            answered.append((name, await exberry_client.request(q, d)))
    assert [name for name, _ in answered] == [
        "createAllegedTransfer", "createCashTransfer", "allegedTransfers", "fees",
        "holdingsSummary", "transactionRequests", "transactions", "createTransactionRequest",
        "positions",
    ]  # fmt: skip
    assert answered[0][1] == {"allegedTransferId": "1", "status": "Instructed"}
    assert exberry_sim.ledger.accounts[826].available == {USD: 105}


async def test_positions_follow_every_trade_gross_or_net(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # mp/positions (v1.56) answered 1200 "Unknown qualifier"; the model lacked the gross
    # members and eodDate.
    client = exberry_client
    for n, (qty, price) in enumerate(((2, 100), (1, 103))):
        exberry_sim.place_order("other-mp", {
            "mpOrderId": n + 1, "orderType": "Limit", "side": "Sell", "instrument": "BTC",
            "quantity": qty, "price": price,
        })  # fmt: skip
    await client.place_order(instrument="BTC", side="Buy", quantity=3, price=103, mpOrderId=1)
    exberry_sim.place_order("other-mp", {
        "mpOrderId": 3, "orderType": "Limit", "side": "Buy", "instrument": "BTC",
        "quantity": 1, "price": 110,
    })  # fmt: skip
    await client.place_order(instrument="BTC", side="Sell", quantity=1, price=110, mpOrderId=2)
    (mine,) = (await client.mp_positions(reportType="MP")).positions
    assert (mine.instrument, mine.netPosition, mine.netAvgPrice, mine.eodDate) == (
        "BTC", 2, 101, None
    )  # fmt: skip
    assert mine.grossLongPosition is None  # Net is the default calculation
    exberry_sim.positions.calculation[SIM_API_KEY] = "Gross"
    (gross,) = (await client.mp_positions(reportType="MP", instrument="BTC")).positions
    assert (gross.grossLongPosition, gross.grossLongAvgPrice) == (3, 101)
    assert (gross.grossShortPosition, gross.grossShortAvgPrice) == (-1, 110)
    exberry_sim.positions.end_of_day("2026-11-23")
    kept = await client.mp_positions(
        reportType="MP", eodDateFrom="2026-11-23", eodDateTo=dt.date(2026, 11, 24)
    )
    assert [(p.eodDate, p.grossLongPosition) for p in kept.positions] == [("2026-11-23", 3)]
    assert (await client.mp_positions(reportType="MP")).count == 2  # end of day + current
    assert (await client.mp_positions(reportType="Account")).count == 0  # no such accounts
    other = exberry_sim.participant("other-mp")
    assert (await client.mp_positions(reportType="MP", mpId=other.mp_id)).count == 0
    with pytest.raises(ClientError, match="eodDateTo"):
        await client.mp_positions(reportType="MP", eodDateFrom="2026-01-01", eodDateTo="2026-01-01")


async def test_fees_are_reported_and_the_simulator_charges_none(
    exberry_client: ExberryClient,
) -> None:
    page = await exberry_client.mp_fees(
        dateFrom="2026-03-01", ledgerAccountId=826, groupBy="Type",
        types=["Trading", "Transaction", "Storage", "Manual"], limit=25, offset=0,
    )  # fmt: skip
    assert (page.fees, page.count) == ([], 0)
    with pytest.raises(ClientError, match="dateFrom"):
        await exberry_client.mp_fees(dateFrom="2026-03-01T00:00:00")


async def test_the_account_filter_goes_under_both_spellings_and_either_is_honoured(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # The documentation spells the filter ledgerAaccountId for transactions and holdings
    # (ledgerAccountId elsewhere): the client sends both, the simulator reads either.
    exberry_sim.ledger.open_account(SIM_API_KEY, 36, balances={USD: 10})
    exberry_sim.ledger.open_account(SIM_API_KEY, 826)
    await exberry_client.create_cash_transfer(
        senderAccountId=36, senderAssets=[{"assetId": USD, "amount": 4}], receiverAccountId=826
    )
    exberry_sim.ledger.end_of_day("2026-11-23")
    await exberry_client.mp_transactions(ledgerAccountId=826)
    await exberry_client.mp_holdings_summary(ledgerAccountId=826)
    sent = [d for q, d in exberry_sim.calls if q.endswith(("/transactions", "/holdingsSummary"))]
    assert [(d["ledgerAccountId"], d["ledgerAaccountId"]) for d in sent] == [(826, 826)] * 2
    q = "v1/exchange.reporting/mp/"
    moves = await exberry_client.request(q + "transactions", {"ledgerAaccountId": 826})
    assert [(t["ledgerAccountId"], t["amount"]) for t in moves["transactions"]] == [(826, 4)]
    held = await exberry_client.request(
        q + "holdingsSummary", {"ledgerAaccountId": "826", "groupBy": "Account"}
    )
    assert [(h["ledgerAccountName"], h["eodHoldings"]) for h in held["holdings"]] == [("Acc826", 4)]


def settled_btc(sim: ExberrySimulator, **client_balances: float) -> None:
    """BTC settles as GOLD for USD; the client (ledger account 36, trading account 37)
    and "other-mp" (40, 41, with 500 USD and 3 GOLD) have ledger accounts."""
    sim.ledger.settle_trades("BTC", base=GOLD, quote=USD)
    balances: dict[int | str, float | str] = {
        USD: client_balances.get("usd", 1000),
        GOLD: client_balances.get("gold", 5),
    }
    sim.ledger.open_account(SIM_API_KEY, 36, account_id=37, balances=balances)
    sim.ledger.open_account("other-mp", 40, account_id=41, balances={USD: 500, GOLD: 3})


def balances_in(sim: ExberrySimulator, ledger_account_id: int, member: str) -> dict[str, float]:
    """One balance member of each asset of a ledger account, by asset name."""
    balances = sim.ledger.snapshot(ledger_account_id)["balances"]
    return {b["assetName"]: b[member] for b in balances}


def other_sells(sim: ExberrySimulator, mp_order_id: int, quantity: float, price: float) -> None:
    sim.place_order("other-mp", {
        "mpOrderId": mp_order_id, "orderType": "Limit", "side": "Sell", "instrument": "BTC",
        "quantity": quantity, "price": price,
    })  # fmt: skip


async def test_orders_hold_what_they_may_deliver_and_trades_settle_in_the_ledger(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    # With the ledger, the venue checks that an order's account can deliver what the
    # order may trade ("Insufficient balance ... are missing", 2000) and settles trades
    # as Trade transactions; the simulator's orders moved no balance at all.
    settled_btc(exberry_sim)
    client = exberry_client
    async with client.account_balance(accountId=37) as stream:
        assert await balances_of(stream) == {"USD": (1000, 0, 1000), "GOLD": (5, 0, 5)}
        buy = await client.place_order(
            instrument="BTC", side="Buy", quantity=2, price=100, mpOrderId=1
        )
        assert (await balances_of(stream))["USD"] == (800, 200, 1000)
        with pytest.raises(LedgerError, match="Insufficient balance: 200 USD of USD are missing"):
            await client.place_order(
                instrument="BTC", side="Buy", quantity=10, price=100, mpOrderId=2
            )
        with pytest.raises(LedgerError, match=r"Insufficient balance: 1 oz of GOLD") as short:
            await client.place_order(
                instrument="BTC", side="Sell", quantity=6, price=200, mpOrderId=2
            )
        assert short.value.code == 2000
        await client.replace_order(orderId=buy.orderId, instrument="BTC", quantity=3, price=100)
        assert (await balances_of(stream))["USD"] == (700, 300, 1000)
        with pytest.raises(LedgerError, match="Insufficient balance: 100 USD"):
            await client.replace_order(
                orderId=buy.orderId, instrument="BTC", quantity=11, price=100
            )

        other_sells(exberry_sim, 1, 1, 99.5)  # trades at the resting buy's 100
        assert await balances_of(stream) == {"USD": (700, 200, 900), "GOLD": (6, 0, 6)}
        other_sells(exberry_sim, 2, 1.5, 100)
        assert await balances_of(stream) == {"USD": (700, 50, 750), "GOLD": (7.5, 0, 7.5)}
        await client.cancel_order(instrument="BTC", orderId=buy.orderId)
        assert await balances_of(stream) == {"USD": (750, 0, 750), "GOLD": (7.5, 0, 7.5)}
        sell = await client.place_order(
            instrument="BTC", side="Sell", quantity=7.5, price=200, mpOrderId=3
        )
        assert (await balances_of(stream))["GOLD"] == (0, 7.5, 7.5)
    assert balances_in(exberry_sim, 40, "totalBalance") == {
        "GOLD": 0.5,
        "USD": 750,
    }  # the seller's side of both trades
    with pytest.raises(Fail, match=r"Insufficient balance: 0\.5 oz of GOLD"):
        other_sells(exberry_sim, 3, 1, 250)

    page = await client.mp_transactions(ledgerAccountId=36)
    trades = [(t.assetName, t.amount, t.description) for t in page.transactions]
    first, second = dict.fromkeys(t[2] for t in trades)  # newest first
    assert trades == [
        ("GOLD", 1.5, first),
        ("USD", -150, first),
        ("GOLD", 1, second),
        ("USD", -100, second),
    ]
    assert second is not None
    assert second.startswith("BTC|trade|")
    assert len({t.linkId for t in page.transactions if t.description == first}) == 1
    held = await client.mp_transactions(
        ledgerAccountId=36, transactionTypes=["ReserveBalance", "ReleaseBalance"]
    )
    assert [t.description for t in held.transactions][:2] == [
        f"GOLD|order|{sell.orderId}", f"USD|order|{buy.orderId}",
    ]  # fmt: skip


async def test_an_order_trades_for_the_ledger_account_of_its_trading_account(
    exberry_sim: ExberrySimulator, exberry_client: ExberryClient
) -> None:
    settled_btc(exberry_sim)
    ledger = exberry_sim.ledger
    ledger.open_account(SIM_API_KEY, 38, account_id=39, balances={USD: 50})
    place = functools.partial(
        exberry_client.place_order, instrument="BTC", side="Buy", quantity=1, price=100
    )
    # Two linked trading accounts: an order must name one (role 24, the venue's own
    # party for an API key bound to an account).
    with pytest.raises(LedgerError, match="Ledger account not configured") as unnamed:
        await place(mpOrderId=1)
    assert unnamed.value.code == 2000
    account = {"id": "37", "source": "P", "role": 24}
    await place(mpOrderId=2, parties=[account])
    assert ledger.snapshot(36)["balances"][1]["reservedBalance"] == 100
    with pytest.raises(LedgerError, match="50 USD of USD are missing"):
        await place(mpOrderId=3, parties=[{**account, "id": "39"}])
    with pytest.raises(LedgerError, match="Ledger account not configured"):
        await place(mpOrderId=4, parties=[{**account, "id": "99"}])
    ledger.trading_accounts[(SIM_API_KEY, 99)] = None  # known, without a ledger account
    with pytest.raises(LedgerError, match="Ledger account not configured"):
        await place(mpOrderId=5, parties=[{**account, "id": "99"}])
    with pytest.raises(Fail, match="Ledger account not configured"):  # none at all
        exberry_sim.place_order("third-mp", {
            "mpOrderId": 1, "orderType": "Limit", "side": "Sell", "instrument": "BTC",
            "quantity": 1, "price": 100,
        })  # fmt: skip
    # An instrument the ledger does not settle holds and moves nothing.
    await exberry_client.place_order(
        instrument="ETH", side="Buy", quantity=100, price=100, mpOrderId=6
    )
    assert ledger.snapshot(38)["balances"][0]["reservedBalance"] == 0


async def test_a_buy_without_a_price_trades_what_its_account_pays_for(
    exberry_sim: ExberrySimulator,
) -> None:
    # A market buy holds nothing (no price to hold at): each fill is paid as it comes
    # and the order stops where the account's cash does; FOK all or nothing.
    sim = exberry_sim
    settled_btc(sim, usd=240)
    other_sells(sim, 1, 1, 100)
    other_sells(sim, 2, 2, 150)

    def buy(mp_order_id: int, **terms: Any) -> dict[str, Any]:
        sim.place_order(SIM_API_KEY, {
            "mpOrderId": mp_order_id, "side": "Buy", "instrument": "BTC", "quantity": 3,
            "orderType": "Market", "timeInForce": "IOC", **terms,
        })  # fmt: skip
        mine = (o for o in sim.orders.values() if o["_mp"] == SIM_API_KEY)
        return next(o for o in mine if o["mpOrderId"] == mp_order_id)

    fok = buy(1, timeInForce="FOK")
    assert (fok["status"], fok["filledQuantity"]) == ("Cancelled", 0)
    ioc = buy(2)
    assert (ioc["status"], ioc["filledQuantity"]) == ("Cancelled", 1.933333)
    assert balances_in(sim, 36, "availableBalance") == {
        "USD": 0.00005,
        "GOLD": 6.933333,
    }  # 240 - 100 - 0.933333 * 150
    # A market-to-limit buy holds its quantity at the best offer it takes.
    with pytest.raises(Fail, match=r"Insufficient balance: 149\.99995 USD"):
        buy(3, orderType="MarketToLimit", timeInForce="GTC", quantity=1)


async def test_an_auction_market_buy_trades_what_its_account_pays_for(
    exberry_sim: ExberrySimulator,
) -> None:
    sim = exberry_sim
    settled_btc(sim, usd=240)
    sim.start_auction("BTC")
    other_sells(sim, 1, 1, 100)
    other_sells(sim, 2, 2, 150)
    sim.place_order(SIM_API_KEY, {
        "mpOrderId": 1, "side": "Buy", "instrument": "BTC", "quantity": 3,
        "orderType": "Market", "timeInForce": "IOC",
    })  # fmt: skip
    sim.set_instrument_status("BTC", marketStatus="Opened")  # uncrosses at 150
    bought = next(o for o in sim.orders.values() if o["_mp"] == SIM_API_KEY)
    assert (bought["status"], bought["filledQuantity"]) == ("Cancelled", 1.6)
    assert balances_in(sim, 36, "availableBalance") == {"USD": 0, "GOLD": 6.6}


def test_settling_an_instrument_refuses_what_it_cannot_settle() -> None:
    sim = ExberrySimulator()
    ledger = sim.ledger
    for symbol, base, quote, problem in (
        ("XRP", GOLD, USD, "unknown instrument 'XRP'"),
        ("BTC", 12, USD, "unknown asset 12; known: 44 USD, 85 EUR, 10 GOLD, 97 Silver"),
        ("BTC", GOLD, GOLD, "different assets"),
    ):
        with pytest.raises(ValueError, match=problem):
            ledger.settle_trades(symbol, base=base, quote=quote)
    other_sells(sim, 1, 1, 100)
    with pytest.raises(ValueError, match="BTC has open orders"):
        ledger.settle_trades("BTC", base=GOLD, quote=USD)
    assert ledger.settlements == {}
    ledger.settle_trades("ETH", base="GOLD", quote="44")  # names, or ids as text
    eth = ledger.settlements["ETH"]
    assert (eth.base.assetName, eth.quote.assetName) == ("GOLD", "USD")


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        ({"ledger_account_id": 0}, "ledger_account_id must be a positive int, not 0"),
        ({"account_id": "37"}, "account_id must be a positive int, not '37'"),
        ({"ledger_account_id": 36}, "ledger account 36 exists"),
        ({"balances": {"XAU": 1}}, "unknown asset 'XAU'; known: 44 USD"),
        ({"balances": {"USD": -1}}, "balance of USD must be a number >= 0, not -1"),
        ({"balances": {"GOLD": "lots"}}, "balance of GOLD must be a number >= 0, not 'lots'"),
        ({"balances": [44]}, "balances must map assets to amounts"),
    ],
)
def test_a_ledger_account_the_simulator_cannot_open_is_refused_by_name(
    account: dict[str, Any], problem: str
) -> None:
    ledger = ExberrySimulator().ledger
    ledger.open_account("mp", 36, balances={"USD": "1.5", 10: 2})
    with pytest.raises(ValueError, match=re.escape(problem)):
        ledger.open_account("mp", **{"ledger_account_id": 37, **account})
    assert list(ledger.accounts) == [36]
    assert ledger.snapshot(36)["balances"][1]["totalBalance"] == 1.5
