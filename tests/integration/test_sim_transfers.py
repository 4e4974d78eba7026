"""The simulator's wallet keeps state for transfers between users, new deposit addresses
and the travel rule (issue #11): beneficiaries and deposits held for their originator."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest

from deribit_client import (
    ClientError,
    ConnectionLost,
    DeribitClient,
    OrderOutcomeUnknown,
    RpcError,
)
from deribit_client.models import DepositIdParam, OriginatorParam
from deribit_client.testing import DeribitSimulator

BOOK_ENTRY: dict[str, Any] = {
    "label": "desk",
    "beneficiary_vasp_name": "Deribit",
    "beneficiary_vasp_did": "did:example:1",
    "beneficiary_address": "Panama",
    "agreed": True,
    "personal": False,
}


def _movable_clock(sim: DeribitSimulator) -> list[float]:
    """Lets a test move the simulator's clock forward by seconds."""
    offset = [0.0]
    start = time.time()
    sim.clock = lambda: start + offset[0]
    return offset


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def _code(call: Any) -> int:
    with pytest.raises(RpcError) as refused:
        await call
    return refused.value.code


async def test_a_transfer_to_a_user_waits_prepared_then_credits_the_recipient(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    offset = _movable_clock(sim)
    theirs = (await counterparty.private.create_deposit_address("BTC")).address
    send = trader.private.submit_transfer_to_user
    assert await _code(send("BTC", 1.0, theirs)) == 11091  # not in the address book yet
    await trader.private.add_to_address_book("BTC", "transfer", theirs, **BOOK_ENTRY)
    assert await _code(send("BTC", 1.0, "nobody-has-this")) == 11091
    assert await _code(send("BTC", 1_000.0, theirs)) == 10009

    before = (await trader.private.get_account_summary("BTC")).balance
    assert before is not None
    first = await send("BTC", 1.0, theirs)
    assert (first.state, first.direction, first.other_side) == ("prepared", "payment", theirs)
    assert (await trader.private.get_account_summary("BTC")).balance == pytest.approx(before - 1)
    cancelled = await trader.private.cancel_transfer_by_id("BTC", first.id)
    assert cancelled.state == "cancelled"
    assert (await trader.private.get_account_summary("BTC")).balance == pytest.approx(before)

    second = await send("BTC", 0.25, theirs)
    offset[0] = sim.trading.transfer_confirmation_ms / 1000
    received = await counterparty.private.get_transfers("BTC")
    (income,) = received.data
    assert (income.direction, income.state, income.amount) == ("income", "confirmed", 0.25)
    summary = await counterparty.private.get_account_summary("BTC")
    assert summary.balance == pytest.approx(10.25)
    (sent, _) = (await trader.private.get_transfers("BTC")).data
    assert (sent.id, sent.state) == (second.id, "confirmed")
    assert await _code(trader.private.cancel_transfer_by_id("BTC", second.id)) == 11029
    assert await _code(trader.private.cancel_transfer_by_id("BTC", 999_999)) == 11053


async def test_a_currency_never_deposited_has_no_address_until_one_is_created(
    trader: DeribitClient,
) -> None:
    assert await trader.private.get_current_deposit_address("EURR") is None  # null, per spec
    made = await trader.private.create_deposit_address("EURR")
    assert await trader.private.get_current_deposit_address("EURR") == made


async def test_a_new_deposit_address_becomes_current_and_the_old_one_still_receives(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    sim.trading.transfer_confirmation_ms = 0
    old = await trader.private.get_current_deposit_address("ETH")  # its starting deposit's
    assert old is not None
    new = await trader.private.create_deposit_address("ETH")
    assert new.address != old.address
    assert await trader.private.get_current_deposit_address("ETH") == new
    for address in (old.address, new.address):  # both are the user's own
        withdrawal = trader.private.withdraw("ETH", address, 1.0)
        assert await _code(withdrawal) == 11096
    await counterparty.private.add_to_address_book("ETH", "transfer", old.address, **BOOK_ENTRY)
    await counterparty.private.submit_transfer_to_user("ETH", 2.0, old.address)
    assert (await trader.private.get_account_summary("ETH")).balance == pytest.approx(152.0)


async def test_beneficiaries_are_saved_listed_filtered_and_deleted(
    trader: DeribitClient,
) -> None:
    def save(address: str, personal: bool) -> Any:
        return trader.private.save_address_beneficiary(
            "BTC", address, agreed=True, personal=personal, unhosted=False,
            beneficiary_vasp_name="Sim VASP", beneficiary_vasp_did="did:example:2",
            beneficiary_address="Somewhere 2", beneficiary_first_name="Ada",
        )  # fmt: skip

    first = await save("bc1-one", personal=True)
    assert (first.address, first.personal, first.beneficiary_first_name) == (
        "bc1-one",
        True,
        "Ada",
    )
    for n in range(4):
        await save(f"bc1-more-{n}", personal=False)
    again = await save("bc1-one", personal=False)  # saving again replaces, keeps `created`
    assert (again.created, again.personal) == (first.created, False)
    assert (await trader.private.get_address_beneficiary("BTC", "bc1-one")).personal is False

    page = await trader.private.list_address_beneficiaries(currency="BTC", limit=2)
    assert (len(page.data), page.count) == (2, 5)
    rest = await trader.private.list_address_beneficiaries(
        currency="BTC", limit=10, continuation=page.continuation
    )
    assert [b.address for b in [*page.data, *rest.data]] == [
        "bc1-one",
        *(f"bc1-more-{n}" for n in range(4)),
    ]
    assert rest.continuation is None
    none_personal = await trader.private.list_address_beneficiaries(personal=True)
    assert none_personal.count == 0
    assert (await trader.private.list_address_beneficiaries(currency="ETH")).data == []
    before_any = await trader.private.list_address_beneficiaries(created_before=first.created)
    assert before_any.count == 0
    assert (await trader.private.list_address_beneficiaries(updated_after=0)).count == 5

    assert await trader.private.delete_address_beneficiary("BTC", "bc1-one") == "ok"
    assert await _code(trader.private.get_address_beneficiary("BTC", "bc1-one")) == 13020
    assert await _code(trader.private.delete_address_beneficiary("BTC", "bc1-one")) == 13020


async def test_a_deposit_held_for_its_originator_is_credited_once_named(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    held = sim.deposit("BTC", 0.4, needs_originator=True)
    assert (held["state"], held["clearance_state"]) == ("pending", "pending_user_input")
    (listed, *_) = (await trader.private.get_deposits("BTC")).data
    assert (listed.state, listed.amount) == ("pending", 0.4)
    assert (await trader.private.get_account_summary("BTC")).balance == pytest.approx(10.0)

    assert listed.address is not None
    assert listed.transaction_id is not None
    deposit_id: DepositIdParam = {  # named from the listed deposit, as a user would
        "currency": "BTC",
        "address": listed.address,
        "tx_hash": listed.transaction_id,
    }
    person: OriginatorParam = {"is_personal": True, "first_name": "Ada", "address": "Somewhere 3"}
    set_originator = trader.private.set_clearance_originator
    assert await _code(set_originator(deposit_id, person)) == -32602  # no last name
    unknown: DepositIdParam = {**deposit_id, "tx_hash": "0" * 64}
    company: OriginatorParam = {
        "is_personal": False,
        "company_name": "Sim Ltd",
        "address": "Somewhere 4",
    }
    assert await _code(set_originator(unknown, company)) == 13020

    # Deribit documents both params as "JSON string containing object data": accept it too.
    cleared = await trader.call(
        "private/set_clearance_originator",
        {"deposit_id": _json(deposit_id), "originator": _json(company)},
    )
    assert (cleared["state"], cleared["clearance_state"]) == ("completed", "success")
    assert (await trader.private.get_account_summary("BTC")).balance == pytest.approx(10.4)
    assert await _code(set_originator(deposit_id, company)) == 11029  # cleared already


async def test_money_leaves_only_while_positions_and_open_orders_stay_margined(
    trader: DeribitClient,
) -> None:
    perp = "BTC-PERPETUAL"
    await trader.private.change_margin_model("segregated_sm")  # BTC margins BTC alone
    await trader.private.buy(perp, amount=200_000, type="market")  # a position to margin
    before = await trader.private.get_account_summary("BTC")
    resting = await trader.private.buy(perp, amount=100_000, price=1_000.0)  # reserves 2 BTC
    summary = await trader.private.get_account_summary("BTC")
    free = summary.available_withdrawal_funds  # the summary counts the order's reserve
    assert free is not None
    assert before.available_withdrawal_funds is not None
    assert free == pytest.approx(before.available_withdrawal_funds - 2.0)
    sub = await trader.private.create_subaccount()
    with pytest.raises(RpcError) as refused:
        await trader.private.submit_transfer_to_subaccount("BTC", round(free + 0.01, 8), sub.id)
    assert refused.value.code == 10009
    with pytest.raises(RpcError) as refused:
        await trader.private.withdraw("BTC", "bc1-somewhere-else", round(free, 8))  # + fee
    assert refused.value.code == 10009
    await trader.private.submit_transfer_to_subaccount("BTC", round(free - 0.01, 8), sub.id)
    await trader.private.cancel(resting.order.order_id)  # its reserve is free again
    await trader.private.submit_transfer_to_subaccount("BTC", 1.9, sub.id)


async def test_a_withdrawal_whose_reply_is_lost_is_never_a_plain_connection_error(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # Funds moved or not: a bot that retried on ConnectionLost would withdraw twice.
    sim.lose_replies("private/withdraw")
    with pytest.raises(OrderOutcomeUnknown, match="private/get_withdrawals") as info:
        await trader.private.withdraw("BTC", "bc1-elsewhere", 0.25)
    assert info.value.params == {"currency": "BTC", "address": "bc1-elsewhere", "amount": 0.25}
    with pytest.raises(ClientError, match="before re-sending"):
        await trader.private.reconcile(info.value)  # no id of ours: the advice says how
    await trader.wait_ready()
    (withdrawal,) = (await trader.private.get_withdrawals("BTC")).data  # it went through
    assert (withdrawal.address, withdrawal.amount) == ("bc1-elsewhere", 0.25)

    sim.lose_replies("private/cancel_withdrawal")
    with pytest.raises(OrderOutcomeUnknown, match="look its state up with private/get_with"):
        await trader.private.cancel_withdrawal("BTC", withdrawal.id)


@pytest.mark.parametrize(
    "method", ["submit_transfer_to_subaccount", "submit_transfer_between_subaccounts"]
)
async def test_a_transfer_whose_reply_is_lost_says_where_to_look_before_re_sending(
    sim: DeribitSimulator, trader: DeribitClient, method: str
) -> None:
    sub = await trader.private.create_subaccount()
    main = (await trader.private.get_subaccounts())[0].id
    transfer = (
        trader.private.submit_transfer_to_subaccount("BTC", 1.5, sub.id)
        if method == "submit_transfer_to_subaccount"
        else trader.private.submit_transfer_between_subaccounts("BTC", 1.5, sub.id, source=main)
    )
    sim.lose_replies(f"private/{method}")
    with pytest.raises(OrderOutcomeUnknown, match="private/get_transfers") as info:
        await transfer
    assert isinstance(info.value.__cause__, ConnectionLost)
    await trader.wait_ready()
    assert len((await trader.private.get_transfers("BTC")).data) == 1


async def test_a_lost_reply_of_a_read_stays_a_connection_error(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.lose_replies("private/get_withdrawals")
    with pytest.raises(ConnectionLost):  # nothing moved: safe to call again
        await trader.private.get_withdrawals("BTC")
