"""Exberry's ledger: ExberryClient against the bundled simulator's ledger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from deribit_client import Gap, OrderOutcomeUnknown
from deribit_client.exberry import ExberryClient, ExberryError
from deribit_client.exberry.models import AccountBalance
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
            await client.create_transaction_request(
                type="Withdrawal", ledgerAccountId="36", assetId="44", amount=900
            )
        assert short.value.code == 2000
        # Gold is not cash: a deposit needs both attachments.
        with pytest.raises(ExberryError, match="assetDetailsId") as missing:
            await client.create_transaction_request(
                type="Deposit", ledgerAccountId=36, assetId=GOLD, amount=1.5,
                instructionDetailsId="2eb83b2f-1118-4ecf-87ee-b18d639ff07f",
            )  # fmt: skip
        assert missing.value.code == 100
        deposit = await client.create_transaction_request(
            type="Deposit", ledgerAccountId=36, assetId=GOLD, amount=1.5,
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
