"""The simulator's account administration keeps state (issue #11): subaccount settings,
the address book, announcements read, order margins."""

from __future__ import annotations

import time

import pytest

from deribit_client import DeribitClient, RpcError
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"


async def test_subaccount_settings_are_kept(trader: DeribitClient) -> None:
    sub = await trader.private.create_subaccount()
    assert await trader.private.change_subaccount_name(sub.id, "desk_2") == "ok"
    await trader.private.toggle_subaccount_login(sub.id, "enable")
    await trader.private.toggle_notifications_from_subaccount(sub.id, True)
    await trader.private.set_email_for_subaccount(sub.id, "desk2@example.com")
    (seen,) = [s for s in await trader.private.get_subaccounts() if s.id == sub.id]
    assert (seen.username, seen.login_enabled, seen.receive_notifications) == (
        "desk_2",
        True,
        True,
    )
    assert seen.not_confirmed_email == "desk2@example.com"
    with pytest.raises(RpcError) as bad_name:
        await trader.private.change_subaccount_name(sub.id, "no spaces here")
    assert bad_name.value.code == 12002

    await trader.private.submit_transfer_to_subaccount("BTC", 0.5, sub.id)
    with pytest.raises(RpcError) as not_empty:
        await trader.private.remove_subaccount(sub.id)
    assert not_empty.value.code == 11029
    empty = await trader.private.create_subaccount()
    assert await trader.private.remove_subaccount(empty.id) == "ok"
    assert empty.id not in [s.id for s in await trader.private.get_subaccounts()]
    with pytest.raises(RpcError) as gone:
        await trader.private.toggle_subaccount_login(empty.id, "disable")
    assert gone.value.code == 13020


async def test_the_address_book_keeps_entries(trader: DeribitClient) -> None:
    entry = {
        "label": "cold",
        "beneficiary_vasp_name": "Sim VASP",
        "beneficiary_vasp_did": "did:example:1",
        "beneficiary_address": "Somewhere 1",
        "agreed": True,
        "personal": True,
    }
    added = await trader.private.add_to_address_book("BTC", "withdrawal", "bc1-cold", **entry)  # type: ignore[arg-type]
    assert (added.address, added.label) == ("bc1-cold", "cold")
    with pytest.raises(RpcError) as twice:
        await trader.private.add_to_address_book("BTC", "withdrawal", "bc1-cold", **entry)  # type: ignore[arg-type]
    assert twice.value.code == 11092
    assert await trader.private.get_address_book("ETH", "withdrawal") == []
    await trader.private.update_in_address_book(
        "BTC",
        "withdrawal",
        "bc1-cold",
        **{**entry, "label": "colder"},  # type: ignore[arg-type]
    )
    (kept,) = await trader.private.get_address_book("BTC", "withdrawal")
    assert kept.label == "colder"
    assert await trader.private.remove_from_address_book("BTC", "withdrawal", "bc1-cold") == "ok"
    assert await trader.private.get_address_book("BTC", "withdrawal") == []


async def test_announcements_marked_read_are_no_longer_new(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    first = await sim.announce("First", "<p>1</p>")
    second = await sim.announce("Second", "<p>2</p>")
    assert [a.id for a in await trader.private.get_new_announcements()] == [second, first]
    assert await trader.private.set_announcement_as_read(first) == "ok"
    assert [a.id for a in await trader.private.get_new_announcements()] == [second]
    assert len(await trader.public.get_announcements()) == 2  # still published


async def test_order_margins_by_ids_follow_the_orders(trader: DeribitClient) -> None:
    resting = await trader.private.buy(PERP, amount=1000, price=50_000)
    other = await trader.private.buy(PERP, amount=10, price=50_000)
    await trader.private.cancel(other.order.order_id)
    margins = await trader.private.get_order_margin_by_ids(
        [resting.order.order_id, other.order.order_id]
    )
    expected = await trader.private.get_margins(PERP, 1000, 50_000)
    assert [(m.initial_margin, m.initial_margin_currency) for m in margins] == [
        (expected.buy, "BTC"),
        (0.0, "BTC"),
    ]
    with pytest.raises(RpcError) as unknown:
        await trader.private.get_order_margin_by_ids(["BTC-1"])
    assert unknown.value.code == 10004


async def test_account_settings_are_kept_and_reported(trader: DeribitClient) -> None:
    assert await trader.private.get_email_language() == "en"
    await trader.private.set_email_language("ja")
    assert await trader.private.get_email_language() == "ja"
    with pytest.raises(RpcError) as unknown:
        await trader.private.set_email_language("xx")
    assert unknown.value.code == -32602

    await trader.private.set_self_trading_config("reject_taker", True)
    summaries = await trader.private.get_account_summaries()
    assert (summaries.self_trading_reject_mode, summaries.self_trading_extended_to_subaccounts) == (
        "reject_taker",
        True,
    )

    (dry,) = [
        s
        for s in await trader.private.change_margin_model("cross_pm", dry_run=True)
        if s.currency == "btc"
    ]
    assert dry.old_state == dry.new_state
    assert (await trader.private.get_account_summary("BTC")).margin_model == "cross_sm"
    await trader.private.change_margin_model("cross_pm")
    summary = await trader.private.get_account_summary("BTC")
    assert (summary.margin_model, summary.portfolio_margining_enabled) == ("cross_pm", True)
    sub = await trader.private.create_subaccount()
    await trader.private.change_margin_model("segregated_sm", user_id=sub.id)
    models = {s.id: s.margin_model for s in await trader.private.get_subaccounts()}
    assert models[sub.id] == "segregated_sm"
    with pytest.raises(RpcError) as stranger:
        await trader.private.change_margin_model("cross_sm", user_id=99_999_999)
    assert stranger.value.code == 13020


async def test_the_jwt_names_the_user_and_expires_with_the_access_token(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    import base64
    import hashlib
    import hmac
    import json

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    token = await trader.private.get_jwt()
    header, claims, signature = token.split(".")
    assert json.loads(decode(header)) == {"alg": "HS256", "typ": "JWT"}
    expected = hmac.new(sim.trading.jwt_key, f"{header}.{claims}".encode(), hashlib.sha256)
    assert decode(signature) == expected.digest()
    decoded = json.loads(decode(claims))
    me = await trader.private.get_account_summary("BTC", extended=True)
    assert decoded["guid"] == me.id
    assert decoded["exp"] > time.time()


async def test_affiliate_program_and_reward_eligibility_follow_the_account(
    trader: DeribitClient,
) -> None:
    before = await trader.private.get_affiliate_program_info()
    assert (before.is_enabled, before.link) == (False, None)
    assert await trader.private.enable_affiliate_program() == "ok"
    after = await trader.private.get_affiliate_program_info()
    assert after.is_enabled is True
    assert after.link is not None
    rewards = await trader.private.get_reward_eligibility()
    assert rewards["usdc"].eligibility_status == "eligible"  # the account holds USDC
    assert rewards["steth"].eligibility_status == "non_eligible"
    assert rewards["usde"].apr_sma7 is not None
    assert rewards["usde"].apr_sma7 > 0
    assert await trader.private.list_custody_accounts("BTC") == []
    assert (await trader.private.get_broker_trades()).history == []


def test_no_method_is_left_answered_by_its_documented_example(sim: DeribitSimulator) -> None:
    by_example = [m for m, h in sim.methods.items() if h.__qualname__.startswith("_handler")]
    assert by_example == []
