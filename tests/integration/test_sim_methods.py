"""Every catalogue method gets a well-formed, non-error reply from the simulator for valid
parameters (issue #11): the documented request example, with names that exist in the
simulator put in, sent through the real client and decoded into the method's result type."""

from __future__ import annotations

import time
from typing import Any

import pytest

from deribit_client import DeribitClient, DeribitError
from deribit_client._catalogue import METHODS, RESULTS, ParamFacts
from deribit_client._catalogue._generator import load_spec
from deribit_client.models import AuthResult, BlockTradeLegParam, LegParam, RfqLegParam
from deribit_client.testing import DeribitSimulator
from tests.helpers import KEY

PERP = "BTC-PERPETUAL"
# Values that exist in the simulator, for parameters whose documented example names
# something it does not have (an expired option, a price off the perpetual's tick).
EXISTING: dict[str, Any] = {
    "instrument_name": PERP,
    "currency": "BTC",
    "index_name": "btc_usd",
    "price": 1000.0,
    "trigger_price": 1000.0,
    "amount": 10,
}
SAMPLES = {"integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}


def request_examples() -> dict[str, dict[str, Any]]:
    """Method -> the params of its documented request example."""
    out: dict[str, dict[str, Any]] = {}
    for path, item in load_spec()["paths"].items():
        operation = item.get("get") or item.get("post") or {}
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        for example in body.get("examples", {}).values():
            out[path.strip("/")] = dict(example.get("value", {}).get("params") or {})
    return out


def valid_params(example: dict[str, Any], facts: list[ParamFacts], state: dict[str, Any]) -> Any:
    params = dict(example)
    for p in facts:
        if p.name in state:
            params[p.name] = state[p.name]
        elif p.name in params:
            value = params[p.name]
            if p.name in EXISTING and not p.enum and p.type != "array":
                params[p.name] = EXISTING[p.name]
            elif p.type == "integer" and isinstance(value, str) and value.isdigit():
                params[p.name] = int(value)  # a documented example gives it as a string
        elif p.required:  # some examples leave out required parameters
            value = p.enum[0] if p.enum else EXISTING.get(p.name, SAMPLES.get(p.type, "x"))
            params[p.name] = [value] if p.type == "array" and p.enum else value
    return params


async def test_every_catalogue_method_answers_valid_parameters(sim: DeribitSimulator) -> None:
    sim.rate_limits.enabled = False
    examples = request_examples()
    failures: dict[str, str] = {}
    async with (
        DeribitClient(url=sim.url, heartbeat_interval=None, rate_limit=False, **KEY) as client,
        DeribitClient(url=sim.url, transport="http", rate_limit=False) as other,
    ):
        instrument = await client.public.get_instrument(PERP)
        ticker = await client.public.ticker(PERP)
        assert ticker.max_price is not None
        assert ticker.min_price is not None
        # Wallet methods act on subaccounts and withdrawals that exist.
        subaccount = await client.private.create_subaccount()
        (main,) = [s for s in await client.private.get_subaccounts() if s.type == "main"]
        block_trades = await _block_trade_state(sim, client)
        api_key = await client.private.create_api_key("trade:read")
        # Mass quotes quote for an MMP group with a config (the documented "default").
        await client.private.set_mmp_config("btc_usd", 60, 0, mmp_group="default",
                                            max_quote_quantity=10)  # fmt: skip
        for n, (method, facts) in enumerate(sorted(METHODS.items())):
            state: dict[str, Any] = {"instrument_id": instrument.instrument_id}
            names = {p.name for p in facts.params}
            if method == "private/submit_transfer_between_subaccounts":
                state.update(destination=subaccount.id, source=main.id)
            if method == "private/submit_transfer_to_subaccount":
                state["destination"] = subaccount.id
            if "api_key" in method and "id" in names:  # a key of the account (one to remove)
                removed = method == "private/remove_api_key"
                state["id"] = (
                    (await client.private.create_api_key("trade:read")).id
                    if removed
                    else api_key.id
                )
            if "sid" in names:
                state["sid"] = subaccount.id
            if method in ("private/change_margin_model", "private/set_disabled_trading_products"):
                state["user_id"] = subaccount.id
            if method == "public/exchange_token":
                state["subject_id"] = subaccount.id
            if method == "private/move_positions":  # a position of the main account to move
                await client.private.buy(PERP, amount=110, type="market")
                moved = {
                    "instrument_name": PERP,
                    "price": "35800",
                    "amount": "110",
                }  # as documented
                state.update(source_uid=main.id, target_uid=subaccount.id, trades=[moved])
            if method == "private/remove_subaccount":  # an empty one of its own
                state["subaccount_id"] = (await client.private.create_subaccount()).id
            if method == "private/set_announcement_as_read":
                state["announcement_id"] = await sim.announce("Read me", "<p>soon</p>")
            if method in ("private/update_in_address_book", "private/remove_from_address_book"):
                entry = {k: examples[method][k] for k in ("currency", "type", "address")}
                book = await client.private.get_address_book(entry["currency"], entry["type"])
                if entry["address"] not in [e.address for e in book]:
                    added = {**examples["private/add_to_address_book"], **entry}
                    await client.call("private/add_to_address_book", added)
            if method == "private/withdraw":
                state["amount"] = 1.0  # within the balance
            if method == "private/cancel_withdrawal":
                withdrawal = await client.private.withdraw("BTC", "bc1-somewhere-else", 0.5)
                state["id"] = withdrawal.id
            if names & {"order_id", "label"}:  # each gets an order of its own to act on
                label = f"resting-{n}"
                placed = await client.private.buy(PERP, amount=10, type="limit", price=1000.0,
                                                  label=label)  # fmt: skip
                state.update(order_id=placed.order.order_id, label=label)
            if "ids" in names:  # orders whose margins to read
                state["ids"] = [
                    (await client.private.buy(PERP, amount=10, price=1000.0)).order.order_id
                ]
            state.update(block_trades.get(method, {}))  # after the label: quotes have their own
            state.update(await _wallet_state(sim, client, method, examples))
            if method in ("private/sell", "private/close_position"):
                # Resting far above the market, inside the price band; a stop below it.
                state.update(price=ticker.max_price // 1, trigger_price=ticker.min_price // 1 + 1)
            if "refresh_token" in names:  # a token of another session, to exchange or fork
                grant = {"grant_type": "client_credentials", "scope": "session:forks", **KEY}
                token = await other.call("public/auth", grant, result_type=AuthResult)
                state["refresh_token"] = token.refresh_token
            params = valid_params(examples.get(method, {}), list(facts.params), state)
            if method.startswith("private/edit"):
                params.pop("advanced", None)  # the example's order is an option, ours is not
            if method == "public/auth":
                params = {"grant_type": "client_credentials", **KEY}
            try:
                if facts.subscription:
                    await _subscription_method(client, method, params)
                elif method == "private/logout":
                    async with DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as bye:
                        await bye.private.logout()
                else:
                    await client.call(method, params, result_type=RESULTS[method])
            except DeribitError as exc:
                failures[method] = f"{exc!r} params={params}"
    assert not failures, "\n".join(f"{m}: {e}" for m, e in failures.items())


async def _wallet_state(
    sim: DeribitSimulator, client: DeribitClient, method: str, examples: dict[str, Any]
) -> dict[str, Any]:
    """Params of the travel-rule and user-transfer methods that name something that
    exists: another user's address in the address book, a prepared transfer, a saved
    beneficiary, a deposit waiting for its originator."""
    if method in ("private/get_address_beneficiary", "private/delete_address_beneficiary"):
        saved = {**examples["private/save_address_beneficiary"], **examples[method]}
        await client.call("private/save_address_beneficiary", saved)
    if method == "private/set_clearance_originator":
        held = sim.deposit("BTC", 0.1, needs_originator=True)
        tx_hash = held["transaction_id"]
        return {"deposit_id": {"currency": "BTC", "address": held["address"], "tx_hash": tx_hash}}
    if method not in ("private/submit_transfer_to_user", "private/cancel_transfer_by_id"):
        return {}
    currency = examples[method]["currency"]
    if "recipient" not in sim.trading.api_keys:
        sim.add_api_key("recipient", "recipient-secret")
    address = sim.deposit(currency, 1.0, client_id="recipient")["address"]
    book = await client.private.get_address_book(currency, "transfer")
    if address not in [entry.address for entry in book]:
        entry = {**examples["private/add_to_address_book"], "currency": currency,
                 "type": "transfer", "address": address}  # fmt: skip
        await client.call("private/add_to_address_book", entry)
    if method == "private/submit_transfer_to_user":
        return {"destination": address}
    prepared = await client.private.submit_transfer_to_user(currency, 0.1, address)
    return {"id": prepared.id}


async def _block_trade_state(sim: DeribitSimulator, client: DeribitClient) -> dict[str, Any]:
    """Params of the block trade methods that name something that exists: valid legs,
    signatures of a second user and of the client, an executed block trade."""
    sim.add_api_key("block-counterparty", "block-secret")
    legs: list[BlockTradeLegParam] = [
        {"instrument_name": PERP, "price": 64_000.0, "amount": 1_000.0, "direction": "buy"}
    ]
    now = sim.now_ms()
    signed = {"timestamp": now, "role": "maker", "trades": legs}
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, rate_limit=False,
        client_id="block-counterparty", client_secret="block-secret",
    ) as other:  # fmt: skip
        done = await other.private.verify_block_trade(now, "done", "maker", legs)
        executed = await client.private.execute_block_trade(
            now, "done", "taker", legs, done.signature
        )
        to_execute = await other.private.verify_block_trade(now, "execute", "maker", legs)
        rfqs = await _block_rfq_state(sim, client, other)
    to_invalidate = await client.private.verify_block_trade(now, "invalidate", "maker", legs)
    for nonce in ("approve", "reject"):
        await client.private.verify_block_trade(now, nonce, "maker", legs)
    return {
        **rfqs,
        "private/verify_block_trade": {**signed, "nonce": "verify"},
        "private/simulate_block_trade": signed,
        "private/execute_block_trade": {
            **signed,
            "nonce": "execute",
            "role": "taker",
            "counterparty_signature": to_execute.signature,
        },
        "private/approve_block_trade": {**signed, "nonce": "approve"},
        "private/reject_block_trade": {**signed, "nonce": "reject"},
        "private/invalidate_block_trade_signature": {"signature": to_invalidate.signature},
        "private/get_block_trade": {"id": executed.id},
    }


async def _block_rfq_state(
    sim: DeribitSimulator, client: DeribitClient, other: DeribitClient
) -> dict[str, dict[str, Any]]:
    """Params of the Block RFQ and combo methods naming RFQs, quotes and combos that exist:
    the client's own RFQs (one quoted by the other user, past its grace period), and an
    RFQ of the other user that the client quotes."""
    legs: list[LegParam] = [{"instrument_name": PERP, "amount": 1_000, "direction": "buy"}]
    rfq_legs: list[RfqLegParam] = [{"instrument_name": PERP, "ratio": 1, "direction": "buy"}]
    to_accept, to_cancel, to_untrigger = [
        (await client.private.create_block_rfq(legs)).block_rfq_id for _ in range(3)
    ]
    ask: dict[str, Any] = {"amount": 1_000, "legs": [{**rfq_legs[0], "price": 64_000.0}]}
    await other.private.add_block_rfq_quote(to_accept, direction="sell", **ask)
    asked, swept = [(await other.private.create_block_rfq(legs)).block_rfq_id for _ in range(2)]
    quote: dict[str, Any] = {
        "amount": 1_000,
        "legs": [{**rfq_legs[0], "price": 60_000.0}],
        "direction": "buy",
    }
    edited = await client.private.add_block_rfq_quote(asked, label="edit", **quote)
    await client.private.add_block_rfq_quote(asked, label="cancel", **quote)
    await client.private.add_block_rfq_quote(swept, **quote)  # cancel_all runs first
    sim.clock = lambda: time.time() + 6  # past the 5 s grace period of the client's RFQs
    accept: dict[str, Any] = {"legs": rfq_legs, "direction": "buy", "amount": 1_000}
    await client.private.accept_block_rfq(
        to_untrigger, price=1_000.0, time_in_force="good_til_cancelled", **accept
    )
    options = [i.instrument_name for i in await client.public.get_instruments("BTC", kind="option")]
    call, put = options[0], options[1]  # the same expiry and strike
    pair: list[LegParam] = [{"instrument_name": call, "amount": 1, "direction": "buy"},
            {"instrument_name": put, "amount": 1, "direction": "sell"}]  # fmt: skip
    combo = await client.private.create_combo(pair)
    identity = (await other.private.get_block_rfq_user_info()).parent
    assert identity is not None
    return {
        "private/create_block_rfq": {"legs": legs, "makers": [identity.identity]},
        "private/accept_block_rfq": {**accept, "block_rfq_id": to_accept, "price": 64_000.0},
        "private/cancel_block_rfq": {"block_rfq_id": to_cancel},
        "private/cancel_block_rfq_trigger": {"block_rfq_id": to_untrigger},
        "private/add_block_rfq_quote": {**quote, "block_rfq_id": asked,
                                        "expires_at": sim.now_ms() + 60_000},
        "private/edit_block_rfq_quote": {**quote, "block_rfq_id": asked, "label": "edit",
                                         "block_rfq_quote_id": edited.block_rfq_quote_id},
        "private/cancel_block_rfq_quote": {"label": "cancel", "block_rfq_id": asked},
        "private/get_block_rfq_quotes": {"block_rfq_id": asked},
        "private/cancel_all_block_rfq_quotes": {"block_rfq_id": swept},
        "private/create_combo": {"trades": pair},
        "private/get_leg_prices": {"legs": pair, "price": 0.01},
        "public/get_combo_details": {"combo_id": combo.id},
    }  # fmt: skip


async def _subscription_method(client: DeribitClient, method: str, params: Any) -> None:
    # These go through the subscription manager (client.call refuses them).
    api = client.public if method.startswith("public/") else client.private
    verb = method.split("/")[1]
    if verb == "subscribe":
        await (await api.subscribe(params["channels"])).close()
    elif verb == "unsubscribe":
        await api.unsubscribe(params["channels"])
    else:
        await api.unsubscribe_all()


async def test_methods_answered_by_shape_check_parameters_and_echo_the_request(
    sim: DeribitSimulator,
) -> None:
    from deribit_client import InvalidRequestError

    async with DeribitClient(url=sim.url, transport="http", rate_limit=False, **KEY) as client:
        with pytest.raises(InvalidRequestError) as missing:
            await client.call("private/get_deposits", {})
        assert missing.value.data == {"reason": "required", "param": "currency"}
        with pytest.raises(InvalidRequestError) as wrong:
            await client.call("public/get_apr_history", {"currency": "BTC"})
        assert wrong.value.data["param"] == "currency"
        # The documented example, about the currency asked for.
        page = await client.private.get_deposits("ETH")
        assert page.data
        assert {d.currency for d in page.data} == {"ETH"}


async def test_book_summaries_follow_the_simulated_market(sim: DeribitSimulator) -> None:
    async with DeribitClient(url=sim.url, transport="http", rate_limit=False) as client:
        summaries = await client.public.get_book_summary_by_currency("BTC", kind="future")
        instruments = await client.public.get_instruments("BTC", kind="future")
        assert {s.instrument_name for s in summaries} == {i.instrument_name for i in instruments}
        (perp,) = await client.public.get_book_summary_by_instrument(PERP)
        ticker = await client.public.ticker(PERP)
        assert perp.bid_price == ticker.best_bid_price
        assert perp.mark_price == ticker.mark_price
