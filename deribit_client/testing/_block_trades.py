"""Simulator handlers for block trades between simulated users (REFERENCE 7.10).

One account verifies the legs (``verify_block_trade``) and hands the signature to its
counterparty, which executes the same legs with the opposite role
(``execute_block_trade``). The legs' ``direction`` is the maker's. Both accounts get
their side of every leg as a filled order and a trade (``block_trade_id``, block trade
commission, the maker's liquidity ``M``), the market prints each leg once, and both can
read the block trade back. A verified block trade is listed by
``get_block_trade_requests`` (state ``initial``, then ``approved`` or ``rejected`` by its
owner, each published on ``block_trade_confirmations``) until it is executed,
invalidated, or its five minutes pass; a rejected one can no longer be executed.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from ._accounts import Account
from ._market import currency_matches, opposite
from ._notices import notify_user
from ._orders import (
    account_of,
    aftermath,
    check_margin,
    currency_of,
    fill,
    new_order,
    on_tick,
    require_may_trade,
    require_open,
)
from ._session import SimError, invalid_param, public_view
from ._shaped import declared_params
from ._state import Call, SimState
from ._streams import market_moved, publish_to_account

__all__ = ["Leg", "check_funds", "leg_side", "register", "trade_block"]

SIGNATURE_WINDOW_MS = 5 * 60_000
"""How far a block trade's ``timestamp`` may be from the server time, and how long its
signature stays valid."""

_EPS = 1e-9
_LEG_SHAPE = "a non-empty list of {instrument_name, price, amount, direction}"

Leg = tuple[str, float, float, str]
RequestKey = tuple[int, str, str]


def _legs(call: Call, value: Any) -> list[Leg]:
    """The ``trades`` of a block trade request, checked leg by leg as Deribit checks an
    order: known instrument, amount at least the block minimum and whole contracts, price
    on the block tick."""
    if not isinstance(value, list) or not value:
        raise invalid_param("trades", _LEG_SHAPE)
    legs: list[Leg] = []
    for leg in value:
        if not isinstance(leg, dict) or not isinstance(leg.get("instrument_name"), str):
            raise invalid_param("trades", _LEG_SHAPE)
        instrument = call.sim.market.require(leg["instrument_name"])
        require_open(call.sim, instrument, "order")
        direction = leg.get("direction")
        if direction not in ("buy", "sell"):
            raise invalid_param("trades", "direction must be buy or sell")
        price, amount = _positive(leg, "price"), _positive(leg, "amount")
        if amount < instrument["block_trade_min_trade_amount"] - _EPS:
            raise SimError(10002, "qty_too_low")
        if not on_tick(amount, instrument["min_trade_amount"]):
            raise SimError(10027, "non_integer_contract_amount")
        if not on_tick(price, instrument["block_trade_tick_size"]):
            raise SimError(10043, "price_wrong_tick")
        legs.append((instrument["instrument_name"], price, amount, direction))
    return legs


def _positive(leg: dict[str, Any], member: str) -> float:
    number = leg.get(member)
    if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
        raise invalid_param("trades", f"{member} must be a positive number")
    return float(number)


def leg_side(leg_direction: str, role: str) -> str:
    """A party's direction on a leg whose ``direction`` is the maker's."""
    return leg_direction if role == "maker" else opposite(leg_direction)


def check_funds(sim: SimState, account: Account, legs: list[Leg], role: str) -> None:
    """``11098`` when the account is locked in a leg's currency, ``10009`` when it cannot
    margin its side of a leg."""
    for name, price, amount, direction in legs:
        instrument = sim.market.instruments[name]
        require_may_trade(account, instrument)
        # what check_margin reads of an order (a new_order would draw an order id)
        side = {"direction": leg_side(direction, role), "amount": amount, "price": price,
                "filled_amount": 0.0, "reduce_only": False}  # fmt: skip
        check_margin(sim, account, instrument, side)


def _request(call: Call) -> tuple[dict[str, Any], list[Leg]]:
    """The declared params and legs of a verify/execute/simulate call, the timestamp
    within the signature window."""
    params = declared_params(call)
    legs = _legs(call, params["trades"])
    timestamp = params.get("timestamp")
    if timestamp is not None and abs(timestamp - call.sim.now_ms()) > SIGNATURE_WINDOW_MS:
        raise invalid_param("timestamp", "more than 5 minutes from the server time")
    return params, legs


def _forget_expired(call: Call) -> None:
    """Drop block trade requests (and their signatures) older than the window: rejected
    ones, whose signature is gone already, included."""
    trading = call.sim.trading
    oldest = call.sim.now_ms() - SIGNATURE_WINDOW_MS
    for account in trading.accounts.values():
        for key in [key for key in account.block_requests if key[0] < oldest]:
            request = account.block_requests.pop(key)
            trading.block_signatures.pop(request["_signature"], None)


async def _publish_request(sim: SimState, account: Account, request: dict[str, Any]) -> None:
    """Send a block trade request's state to the account's ``block_trade_confirmations``
    subscriptions (all of them, or those naming its currency or ``any``)."""
    request["state"] = {"value": request["state"]["value"], "timestamp": sim.now_ms()}
    currency = request["_currency"]
    await publish_to_account(
        sim,
        account.client_id,
        "block_trade_confirmations",
        public_view(request),
        lambda parts: not parts or currency_matches(parts[0], currency),
    )


# -- handlers -----------------------------------------------------------------------------


async def verify_block_trade(call: Call) -> dict[str, str]:
    params, legs = _request(call)
    account = account_of(call)
    role = params["role"]
    check_funds(call.sim, account, legs, role)
    _forget_expired(call)
    key: RequestKey = (params["timestamp"], params["nonce"], role)
    if key in account.block_requests:
        raise SimError(11029, "invalid_arguments", {"reason": "nonce already used"})
    signature = f"{key[0]}.{secrets.token_urlsafe(6)}.{secrets.token_urlsafe(60)}"
    first = call.sim.market.instruments[legs[0][0]]
    request = {
        "nonce": key[1],
        "timestamp": key[0],
        "role": role,
        "user_id": account.user_id,
        "trades": [
            {"instrument_name": n, "price": p, "amount": a, "direction": d} for n, p, a, d in legs
        ],
        "state": {"value": "initial"},
        "_legs": legs,
        "_signature": signature,
        "_currency": currency_of(first),
    }
    account.block_requests[key] = request
    call.sim.trading.block_signatures[signature] = (account.client_id, key)
    await _publish_request(call.sim, account, request)
    return {"signature": signature}


async def execute_block_trade(call: Call) -> dict[str, Any]:
    params, legs = _request(call)
    sim = call.sim
    trading = sim.trading
    _forget_expired(call)
    signed = trading.block_signatures.get(params["counterparty_signature"])
    if signed is None:
        raise SimError(
            13009, "unauthorized", {"reason": "counterparty_signature is not valid (any more)"}
        )
    client_id, key = signed
    maker_role = "taker" if params["role"] == "maker" else "maker"
    if key != (params["timestamp"], params["nonce"], maker_role):
        raise SimError(
            13009, "unauthorized", {"reason": "timestamp, nonce or role differ from the signed"}
        )
    counterparty = trading.account(client_id)
    request = counterparty.block_requests[key]
    if request["_legs"] != legs:
        raise SimError(13009, "unauthorized", {"reason": "trades differ from the signed ones"})
    account = account_of(call)
    if counterparty is account:
        raise SimError(11042, "permission_denied", {"reason": "a block trade needs two users"})
    check_funds(sim, account, legs, params["role"])
    check_funds(sim, counterparty, legs, key[2])
    del trading.block_signatures[params["counterparty_signature"]]
    del counterparty.block_requests[key]

    blocks = await trade_block(sim, account, params["role"], counterparty, legs)
    return blocks[0]


async def trade_block(
    sim: SimState,
    account: Account,
    role: str,
    counterparty: Account,
    legs: list[Leg],
    **marks: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Execute ``legs`` (directions the maker's) between ``account`` in ``role`` and
    ``counterparty`` in the other role as one block trade: the market prints each leg once
    (with ``marks``, such as ``block_rfq_id``, on it), both get their side as a filled order
    and a trade, and both can read the block trade back. Returns both sides of it."""
    block_id = str(next(sim.trading.block_trade_ids))
    now = sim.now_ms()
    other = "taker" if role == "maker" else "maker"
    parties = ((account, role), (counterparty, other))
    own: dict[str, list[dict[str, Any]]] = {account.client_id: [], counterparty.client_id: []}
    for name, price, amount, direction in legs:
        instrument = sim.market.instruments[name]
        public = sim.market.record_trade(name, leg_side(direction, "taker"), price, amount, now)
        public.update(block_trade_id=block_id, block_trade_leg_count=len(legs), **marks)
        await market_moved(sim, name, [public])
        for party, party_role in parties:
            order = new_order(sim, instrument, leg_side(direction, party_role), amount, price)
            trade = fill(
                sim,
                party,
                order,
                instrument,
                price,
                amount,
                public=public,
                liquidity="M" if party_role == "maker" else "T",
                fee_rate=instrument["block_trade_commission"],
            )
            order.update(order_state="filled", block_trade=True)
            party.keep_order(order)
            own[party.client_id].append(trade)
            notify_user(sim, party, instrument, [order], [trade])
    for party, _ in parties:
        party.block_trades[block_id] = {
            "id": block_id,
            "timestamp": now,
            "trades": own[party.client_id],
        }
    await aftermath(sim)  # the legs moved both parties' positions
    return account.block_trades[block_id], counterparty.block_trades[block_id]


def simulate_block_trade(call: Call) -> bool:
    """Whether the account could take its side of the legs (margin included)."""
    params, legs = _request(call)
    try:
        check_funds(call.sim, account_of(call), legs, params.get("role", "maker"))
    except SimError:
        return False
    return True


def invalidate_block_trade_signature(call: Call) -> str:
    signature = declared_params(call)["signature"]
    signed = call.sim.trading.block_signatures.get(signature)
    account = account_of(call)
    if signed is None or signed[0] != account.client_id:
        raise SimError(13020, "not_found", {"reason": "no block trade signed with it"})
    del call.sim.trading.block_signatures[signature]
    account.block_requests.pop(signed[1], None)
    return "ok"


def get_block_trade(call: Call) -> dict[str, Any]:
    block_id = declared_params(call)["id"]
    block = account_of(call).block_trades.get(block_id)
    if block is None:
        raise SimError(13020, "not_found", {"reason": f"no block trade {block_id}"})
    return block


def get_block_trades(call: Call) -> list[dict[str, Any]]:
    """The account's block trades newest first: of a ``currency``, between ``start_id``
    (the newest) and ``end_id`` (the oldest), at most ``count`` (default 20)."""
    params = declared_params(call)
    account = account_of(call)
    currency = params.get("currency")
    newest = _id_bound(params, "start_id", math.inf)
    oldest = _id_bound(params, "end_id", 0)
    chosen = [
        block
        for block in reversed(account.block_trades.values())
        if oldest <= int(block["id"]) <= newest
        and (currency is None or block["trades"][0]["fee_currency"] == currency)
        and params.get("block_rfq_id") in (None, block["trades"][0].get("block_rfq_id"))
    ]
    return chosen[: params.get("count", 20)]


def _id_bound(params: dict[str, Any], name: str, default: float) -> float:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise invalid_param(name, "not a block trade id")
    return int(value)


def get_block_trade_requests(call: Call) -> list[dict[str, Any]]:
    """Block trades the account verified that are still waiting."""
    declared_params(call)
    _forget_expired(call)
    return [public_view(r) for r in account_of(call).block_requests.values()]


async def _decide(call: Call, state: str) -> str:
    params = declared_params(call)
    account = account_of(call)
    key: RequestKey = (params["timestamp"], params["nonce"], params["role"])
    request = account.block_requests.get(key)
    if request is None:
        raise SimError(13020, "not_found", {"reason": "no such block trade request"})
    request["state"] = {"value": state}
    if state == "rejected":  # listed until it expires, but it can no longer be executed
        call.sim.trading.block_signatures.pop(request["_signature"], None)
    await _publish_request(call.sim, account, request)
    return "ok"


async def approve_block_trade(call: Call) -> str:
    return await _decide(call, "approved")


async def reject_block_trade(call: Call) -> str:
    return await _decide(call, "rejected")


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    for fn in (
        verify_block_trade,
        execute_block_trade,
        simulate_block_trade,
        invalidate_block_trade_signature,
        get_block_trade,
        get_block_trades,
        get_block_trade_requests,
        approve_block_trade,
        reject_block_trade,
    ):
        sim.methods[f"private/{fn.__name__}"] = fn
    sim.methods["private/get_pending_block_trades"] = get_block_trade_requests  # deprecated
