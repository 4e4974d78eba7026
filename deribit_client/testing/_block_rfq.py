"""Simulator handlers for Block RFQs between simulated users (REFERENCE 5, 7.10, 8).

A taker asks for a structure (``create_block_rfq``: legs and an optional hedge); every
other account is a maker (its alias is ``SIM`` and its user id) and sees the RFQ on
``block_rfq.maker.{currency}``, or only the makers the taker named do. Makers quote the
structure from their side (``add_block_rfq_quote``, ``edit_…``, ``cancel_…``), with a
price per leg (or one aggregated ``price``, split as ``get_leg_prices`` splits it), and see
their quotes on ``block_rfq.maker.quotes.{currency}``. After a 5-second grace period the
taker sees the best bids and asks on ``block_rfq.taker.{currency}`` and trades them with
``accept_block_rfq``: best price first, all-or-none quotes before others at the same
price, then time. Each maker's fill is a block trade between the two (the settlement of
``execute_block_trade``), and each acceptance is printed on ``block_rfq.trades.{currency}``
and by ``public/get_block_rfq_trades``. A good-til-cancelled acceptance leaves what did not
cross as a trade trigger that executes when a crossing quote arrives.

An RFQ lives five minutes. It ends ``filled`` when its whole amount traded, ``traded``
when part of it traded and nothing waits any more, else ``cancelled`` or ``expired``;
its open quotes end with it. Expiry is noticed at the next Block RFQ call.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from . import _mmp
from ._accounts import Account, unfilled
from ._block_trades import Leg, check_funds, trade_block
from ._combos import (
    Structure,
    combo_for,
    leg_prices,
    structure_mark,
    structure_of,
    trade_step,
)
from ._logs import remember
from ._market import currency_matches, opposite
from ._orders import account_of, on_tick, require_may_trade
from ._session import SimError, as_number, invalid_param, public_view
from ._shaped import declared_params
from ._state import Call, SimState
from ._streams import publish_to_account, subscribed

__all__ = ["register"]

LIFETIME_MS = 5 * 60_000
"""How long a Block RFQ stays open."""
GRACE_MS = 5_000
"""After creation, the taker sees no quotes and cannot trade for this long."""
MIN_ANONYMOUS_MAKERS = 5
"""An RFQ may hide the taker's alias (``disclosed=false``) only when it targets this many."""
KEPT_CLOSED = 1_000
"""Closed RFQs kept for ``get_block_rfqs``; older ones are forgotten."""

MAX_LABEL = 64
_EPS = 1e-9


def identity(account: Account) -> str:
    """The alias other users see for ``account`` in Block RFQs."""
    return f"SIM{account.user_id}"


def _structure(rfq: dict[str, Any]) -> Structure:
    structure: Structure = rfq["_structure"]
    return structure


# -- views and notifications -------------------------------------------------------------


def _common(rfq: dict[str, Any]) -> dict[str, Any]:
    view = {
        k: rfq[k]
        for k in (
            "block_rfq_id",
            "creation_timestamp",
            "expiration_timestamp",
            "state",
            "amount",
            "min_trade_amount",
            "legs",
            "combo_id",
            "disclosed",
        )
    }
    if "hedge" in rfq:
        view["hedge"] = rfq["hedge"]
    return view


def _side(rfq: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    """The taker's view of the open quotes of one ``direction``, a level per price and
    execution instruction, best first."""
    levels: dict[tuple[float, str], dict[str, Any]] = {}
    for quote in _open_quotes(rfq):
        if quote["direction"] != direction:
            continue
        key = (quote["price"], quote["execution_instruction"])
        level = levels.setdefault(
            key,
            {
                "price": key[0],
                "amount": 0.0,
                "makers": [],
                "last_update_timestamp": 0,
                "execution_instruction": key[1],
            },
        )
        level["amount"] = round(level["amount"] + unfilled(quote), 10)
        if rfq["disclosed"]:
            level["makers"].append(quote["_alias"])
        level["last_update_timestamp"] = max(
            level["last_update_timestamp"], quote["last_update_timestamp"]
        )
        if "expires_at" in quote:
            level["expires_at"] = min(level.get("expires_at", math.inf), quote["expires_at"])
    best_first = sorted(
        levels.values(),
        key=lambda level: (
            -level["price"] if direction == "buy" else level["price"],
            level["execution_instruction"] != "all_or_none",
        ),
    )
    return best_first


def taker_view(sim: SimState, rfq: dict[str, Any]) -> dict[str, Any]:
    """What the taker sees of its RFQ."""
    view = _common(rfq)
    view.update(role="taker", makers=rfq["makers"])
    for optional in ("label", "trade_allocations"):
        if optional in rfq:
            view[optional] = rfq[optional]
    visible = sim.now_ms() >= rfq["creation_timestamp"] + GRACE_MS and rfq["state"] == "open"
    view["bids"] = _side(rfq, "buy") if visible else []
    view["asks"] = _side(rfq, "sell") if visible else []
    if rfq["_trades"]:
        shown = [
            {**public_view(t), "maker": t["_maker"]} if rfq["disclosed"] else public_view(t)
            for t in rfq["_trades"]
        ]
        view.update(trades=shown, mark_price=rfq["_mark"])
    if rfq["_trigger"] is not None:
        view["trade_trigger"] = public_view(rfq["_trigger"])
    return view


def maker_view(sim: SimState, rfq: dict[str, Any], maker: Account) -> dict[str, Any]:
    """What a targeted maker sees of an RFQ: the taker's alias only when disclosed, and
    of its trades only those this maker took part in."""
    view = _common(rfq)
    view["role"] = "maker"
    rating = taker_rating(sim, rfq["_taker"])
    view["taker_rating"] = None if rating is None else f"{rating:.0f}"
    if rfq["disclosed"]:
        view["taker"] = rfq["_taker_alias"]
    alias = identity(maker)
    own = [{**public_view(t), "maker": alias} for t in rfq["_trades"] if t["_maker"] == alias]
    if own:
        view.update(trades=own, mark_price=rfq["_mark"])
    return view


def taker_rating(sim: SimState, client_id: str) -> float | None:
    """The share (percent) of the taker's closed RFQs that traded; None before any closed."""
    closed = [
        rfq
        for rfq in sim.trading.block_rfqs.values()
        if rfq["_taker"] == client_id and rfq["state"] != "open"
    ]
    if not closed:
        return None
    return 100.0 * sum(rfq["state"] in ("filled", "traded") for rfq in closed) / len(closed)


def _covers(currency: str) -> Any:
    return lambda parts: len(parts) == 1 and currency_matches(parts[0], currency)


async def _publish(sim: SimState, rfq: dict[str, Any]) -> None:
    """Send the RFQ's new state to its taker and to every maker it targets."""
    currency = _structure(rfq).currency
    await publish_to_account(
        sim, rfq["_taker"], "block_rfq.taker", taker_view(sim, rfq), _covers(currency)
    )
    for client_id in rfq["_targets"]:
        maker = sim.trading.account(client_id)
        view = maker_view(sim, rfq, maker)
        await publish_to_account(sim, client_id, "block_rfq.maker", view, _covers(currency))


async def _changed(sim: SimState, rfq: dict[str, Any], quotes: list[dict[str, Any]]) -> None:
    """Send changed quotes to their makers' ``block_rfq.maker.quotes`` channels, then the
    RFQ's state to its taker and makers."""
    currency = _structure(rfq).currency
    by_maker: dict[str, list[dict[str, Any]]] = {}
    for quote in quotes:
        by_maker.setdefault(quote["_maker"], []).append(public_view(quote))
    for client_id, changed in by_maker.items():
        await publish_to_account(
            sim, client_id, "block_rfq.maker.quotes", changed, _covers(currency)
        )
    await _publish(sim, rfq)


# -- the RFQ's lifecycle -----------------------------------------------------------------


def _open_quotes(rfq: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (q for q in rfq["_quotes"].values() if q["quote_state"] == "open")


async def _close(
    sim: SimState,
    rfq: dict[str, Any],
    state: str,
    reason: str,
    traded: Sequence[dict[str, Any]] = (),
) -> None:
    """End the RFQ (``traded`` instead when part of it traded), its quotes and trigger,
    and publish them with the quotes that just ``traded``."""
    now = sim.now_ms()
    rfq["state"] = "traded" if rfq["_trades"] and state != "filled" else state
    ended = list(_open_quotes(rfq))
    quote_state = "expired" if state == "expired" else "cancelled"
    for quote in ended:
        quote.update(quote_state=quote_state, last_update_timestamp=now)
    trigger = _waiting_trigger(rfq)
    if trigger is not None:
        trigger.update(state="cancelled", cancel_reason=reason)
    await _changed(sim, rfq, _distinct([*traded, *ended]))


def _distinct(quotes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list({quote["block_rfq_quote_id"]: quote for quote in quotes}.values())


async def _sweep(sim: SimState) -> None:
    """Expire RFQs past their five minutes and quotes past their ``expires_at``, and
    forget the oldest closed RFQs beyond :data:`KEPT_CLOSED`."""
    now = sim.now_ms()
    rfqs = sim.trading.block_rfqs
    for rfq in list(rfqs.values()):
        if rfq["state"] != "open":
            continue
        if now >= rfq["expiration_timestamp"]:
            await _close(sim, rfq, "expired", "Block RFQ expired")
            continue
        lapsed = [q for q in _open_quotes(rfq) if q.get("expires_at", math.inf) <= now]
        for quote in lapsed:
            quote.update(quote_state="expired", last_update_timestamp=now)
        if lapsed:
            await _changed(sim, rfq, lapsed)
    closed = [rfq_id for rfq_id, rfq in rfqs.items() if rfq["state"] != "open"]
    for rfq_id in closed[: max(0, len(closed) - KEPT_CLOSED)]:
        del rfqs[rfq_id]


def _require_open(rfq: dict[str, Any]) -> None:
    if rfq["state"] != "open":
        raise SimError(13019, "orderbook_closed", {"reason": f"the Block RFQ is {rfq['state']}"})


def _rfq(sim: SimState, rfq_id: int) -> dict[str, Any]:
    rfq = sim.trading.block_rfqs.get(rfq_id)
    if rfq is None:
        raise SimError(13020, "not_found", {"reason": f"no Block RFQ {rfq_id}"})
    return rfq


def _own_rfq(sim: SimState, taker: Account, rfq_id: int) -> dict[str, Any]:
    rfq = _rfq(sim, rfq_id)
    if rfq["_taker"] != taker.client_id:
        raise SimError(13020, "not_found", {"reason": f"no Block RFQ {rfq_id} of yours"})
    return rfq


def _targeted(sim: SimState, maker: Account, rfq_id: int) -> dict[str, Any]:
    rfq = _rfq(sim, rfq_id)
    if rfq["_taker"] == maker.client_id:
        raise SimError(11042, "permission_denied", {"reason": "a taker cannot quote its own RFQ"})
    if maker.client_id not in rfq["_targets"]:
        raise SimError(13020, "not_found", {"reason": f"no Block RFQ {rfq_id} for you"})
    return rfq


# -- parameters ---------------------------------------------------------------------------


def _hedge(sim: SimState, value: Any, currency: str) -> dict[str, Any] | None:
    """The hedge leg ``{instrument_name, direction, price, amount}``: a future of the
    RFQ's currency, a whole number of contracts, a price on the block tick."""
    if value is None:
        return None
    shape = "{instrument_name, direction, price, amount} of a future"
    if not isinstance(value, dict) or not isinstance(value.get("instrument_name"), str):
        raise invalid_param("hedge", shape)
    instrument = sim.market.require(value["instrument_name"])
    if instrument["kind"] != "future" or instrument["base_currency"] != currency:
        raise invalid_param("hedge", f"must be a {currency} future")
    if value.get("direction") not in ("buy", "sell"):
        raise invalid_param("hedge", "direction must be buy or sell")
    price, amount = as_number(value.get("price")), as_number(value.get("amount"))
    if price is None or amount is None or price <= 0 or amount <= 0:
        raise invalid_param("hedge", "price and amount must be positive numbers")
    if not on_tick(amount, instrument["min_trade_amount"]):
        raise SimError(10027, "non_integer_contract_amount")
    if not on_tick(price, instrument["block_trade_tick_size"]):
        raise SimError(10043, "price_wrong_tick")
    return {
        "instrument_name": instrument["instrument_name"],
        "direction": value["direction"],
        "price": price,
        "amount": int(amount) if amount.is_integer() else amount,  # whole as Deribit shows it
    }


def _allocations(value: Any, taker: Account, amount: float) -> list[dict[str, Any]] | None:
    """Pre-allocations to the taker or its subaccounts, at most the RFQ's amount."""
    if value is None:
        return None
    shape = "a list of {user_id, amount}"
    if not isinstance(value, list):
        raise invalid_param("trade_allocations", shape)
    own = {taker.user_id, *taker.subaccounts}
    total = 0.0
    for allocation in value:
        if not isinstance(allocation, dict):
            raise invalid_param("trade_allocations", shape)
        share = allocation.get("amount")
        if isinstance(share, bool) or not isinstance(share, int | float) or share <= 0:
            raise invalid_param("trade_allocations", "amount must be a positive number")
        if "client_info" not in allocation and allocation.get("user_id") not in own:
            raise invalid_param("trade_allocations", "user_id must be you or a subaccount")
        total += share
    if total > amount + _EPS:
        raise invalid_param("trade_allocations", "allocations exceed the RFQ's amount")
    return value


def _label(label: str) -> str:
    if len(label) > MAX_LABEL:
        raise invalid_param("label", f"at most {MAX_LABEL} characters")
    return label


def _same_legs(structure: Structure, value: Any, param: str) -> list[dict[str, Any]]:
    """``value``'s legs in the structure's order, naming its instruments with its ratios;
    each leg's ``direction``, when given, is the structure's, or the reverse of every leg's
    for the other side (both readings of the documentation)."""
    shape = "the Block RFQ's legs: {instrument_name, ratio, direction, price}"
    if not isinstance(value, list) or not all(isinstance(leg, dict) for leg in value):
        raise invalid_param(param, shape)
    by_name = {leg.get("instrument_name"): leg for leg in value}
    wanted = [leg.instrument_name for leg in structure.legs]
    if len(value) != len(wanted) or set(by_name) != set(wanted):
        raise invalid_param(param, shape)
    flips = set()
    for leg in structure.legs:
        sent = by_name[leg.instrument_name]
        if as_number(sent.get("ratio", leg.ratio)) != leg.ratio:
            raise invalid_param(param, f"{leg.instrument_name}'s ratio must be {leg.ratio}")
        if "direction" in sent:
            if sent["direction"] not in ("buy", "sell"):
                raise invalid_param(param, "direction must be buy or sell")
            flips.add(sent["direction"] != leg.direction)
    if len(flips) > 1:
        raise invalid_param(param, "leg directions must all follow the structure or all reverse it")
    return [by_name[name] for name in wanted]


def _terms(
    sim: SimState,
    rfq: dict[str, Any],
    maker: Account,
    params: dict[str, Any],
    direction: str,
    instruction: str,
) -> dict[str, Any]:
    """A quote's legs, price, amount and hedge from ``params``, checked: prices on the
    block tick (every leg priced, or an aggregated ``price`` to split), a whole amount
    within the RFQ's (all of it for ``all_or_none``), and the margin for the maker's
    side; ``13030`` while the maker's Block RFQ MMP is frozen."""
    structure = _structure(rfq)
    if _mmp.block_rfq_frozen(sim, maker, _indices(sim, structure)):
        raise SimError(13030, "mmp_trigger")
    legs = _same_legs(structure, params["legs"], "legs")
    sent = [as_number(leg.get("price")) for leg in legs]
    prices: list[float]
    if all(p is not None for p in sent):
        prices = [p for p in sent if p is not None]
        total = sum(
            structure.sign(leg) * leg.ratio * p
            for leg, p in zip(structure.legs, prices, strict=True)
        )
        if "price" in params and abs(params["price"] - total) > 1e-6 * max(1.0, abs(total)):
            raise invalid_param("price", "differs from what the legs' prices add up to")
        price = round(total, 10)
    elif "price" in params:
        price = params["price"]
        prices = leg_prices(sim, structure, price)
    else:
        raise invalid_param("legs", "give every leg a price, or an aggregated price")
    for leg, p in zip(structure.legs, prices, strict=True):
        instrument = sim.market.instruments[leg.instrument_name]
        if p <= 0:
            raise invalid_param("legs", "leg prices must be positive")
        if not on_tick(p, instrument["block_trade_tick_size"]):
            raise SimError(10043, "price_wrong_tick")
    amount = params["amount"]
    _check_amount(rfq, amount, rfq["amount"])
    if instruction == "all_or_none" and abs(amount - rfq["amount"]) > _EPS:
        raise invalid_param("amount", "an all_or_none quote is for the RFQ's whole amount")
    hedge = _hedge(sim, params.get("hedge"), structure.currency)
    terms: dict[str, Any] = {
        "price": price,
        "amount": amount,
        "legs": [
            {
                "instrument_name": leg.instrument_name,
                "ratio": leg.ratio,
                "direction": leg.direction if direction == "buy" else opposite(leg.direction),
                "price": p,
            }
            for leg, p in zip(structure.legs, prices, strict=True)
        ],
    }
    if hedge is not None:
        terms["hedge"] = hedge
    check_funds(sim, maker, _trade_legs(sim, terms, amount), "maker")
    return terms


def _check_amount(rfq: dict[str, Any], amount: float, most: float) -> None:
    """A positive whole number of the RFQ's ``min_trade_amount``, at most ``most``."""
    if amount <= 0 or not on_tick(amount, rfq["min_trade_amount"]):
        raise SimError(10027, "non_integer_contract_amount")
    if amount > most + _EPS:
        raise invalid_param("amount", f"more than the Block RFQ's {most:g} left")


def _trade_legs(sim: SimState, quote: dict[str, Any], amount: float) -> list[Leg]:
    """The block trade legs (directions the maker's) of ``amount`` of a quote, with its
    hedge in proportion (whole contracts, rounded down)."""
    legs: list[Leg] = [
        (leg["instrument_name"], leg["price"], round(amount * leg["ratio"], 10), leg["direction"])
        for leg in quote["legs"]
    ]
    hedge = quote.get("hedge")
    if hedge is not None:
        share = _hedge_share(sim, quote, amount)
        if share > 0:
            legs.append((hedge["instrument_name"], hedge["price"], share, hedge["direction"]))
    return legs


def _hedge_share(sim: SimState, quote: dict[str, Any], amount: float) -> float:
    """The part of a quote's hedge that goes with ``amount`` of it."""
    hedge = quote["hedge"]
    contract = sim.market.instruments[hedge["instrument_name"]]["min_trade_amount"]
    share = hedge["amount"] * amount / quote["amount"]
    return float(round(math.floor(share / contract + 1e-6) * contract, 10))


def _crossing(
    rfq: dict[str, Any], direction: str, limit: float, amount: float
) -> list[tuple[dict[str, Any], float]]:
    """The quotes a taker ``direction`` at ``limit`` trades, with how much of each:
    best price first, all-or-none before any-part-of at a price, then the oldest."""
    buying = direction == "buy"
    candidates = [
        q
        for q in _open_quotes(rfq)
        if q["direction"] != direction and (q["price"] <= limit if buying else q["price"] >= limit)
    ]
    candidates.sort(
        key=lambda q: (
            q["price"] if buying else -q["price"],
            q["execution_instruction"] != "all_or_none",
            q["creation_timestamp"],
            q["block_rfq_quote_id"],
        )
    )
    step = rfq["min_trade_amount"]
    fills: list[tuple[dict[str, Any], float]] = []
    left = amount
    for quote in candidates:
        available = unfilled(quote)
        if quote["execution_instruction"] == "all_or_none" and available > left + _EPS:
            continue
        take = math.floor(min(available, left) / step + 1e-6) * step
        if take > _EPS:
            fills.append((quote, round(take, 10)))
            left -= take
        if left <= _EPS:
            break
    return fills


async def _execute(
    sim: SimState,
    rfq: dict[str, Any],
    direction: str,
    fills: list[tuple[dict[str, Any], float]],
) -> list[dict[str, Any]]:
    """Trade ``fills`` for the taker as block trades, one per maker quote, and print them
    as one Block RFQ trade (:func:`_after_trading` publishes the quotes' and the RFQ's new
    state). Returns the taker's block trades (and its allocated subaccounts')."""
    now = sim.now_ms()
    taker = sim.trading.account(rfq["_taker"])
    structure = _structure(rfq)
    taker_blocks = []
    records = []
    traded = 0.0
    tripped: list[tuple[Account, _mmp.MmpKey]] = []
    for quote, amount in fills:
        maker = sim.trading.account(quote["_maker"])
        legs = _trade_legs(sim, quote, amount)
        tripped += [(maker, key) for key in _mmp.record_block_rfq_fill(sim, maker, legs)]
        for holder, part in _allocated(rfq, taker, amount):
            block, _ = await trade_block(
                sim,
                holder,
                "taker",
                maker,
                _trade_legs(sim, quote, part),
                block_rfq_id=rfq["block_rfq_id"],
                combo_id=rfq["combo_id"],
            )
            taker_blocks.append(block)
        quote["filled_amount"] = round(quote["filled_amount"] + amount, 10)
        quote["last_update_timestamp"] = now
        if quote["filled_amount"] >= quote["amount"] - _EPS:
            quote["quote_state"] = "filled"
        record: dict[str, Any] = {"price": quote["price"], "amount": amount, "direction": direction}
        if "hedge" in quote:
            record["hedge_amount"] = _hedge_share(sim, quote, amount)
        record["_maker"] = quote["_alias"]  # shown to the taker when disclosed, and to the maker
        records.append(record)
        traded += amount
    rfq["_trades"].extend(records)
    rfq["_traded"] = round(rfq["_traded"] + traded, 10)
    rfq["_mark"] = structure_mark(sim, structure)
    first = fills[0][0]
    printed: dict[str, Any] = {
        "id": rfq["block_rfq_id"],
        "timestamp": now,
        "combo_id": rfq["combo_id"],
        "legs": [
            {k: leg[k] for k in ("instrument_name", "direction", "ratio", "price")}
            for leg in first["legs"]
        ],
        "amount": traded,
        "direction": direction,
        "mark_price": rfq["_mark"],
        "trades": [public_view(r) for r in records],
        "index_prices": {
            index: sim.market.index_prices[index] for index in _indices(sim, structure)
        },
        "_currency": structure.currency,
    }
    if "hedge" in rfq:
        printed["hedge"] = rfq["hedge"]
    remember(sim.trading.block_rfq_trades, printed)
    for channel in sorted(subscribed(sim)):
        parts = channel.split(".")
        if parts[:2] == ["block_rfq", "trades"] and currency_matches(parts[2], structure.currency):
            await sim.publish(channel, public_view(printed))
    for maker, key in tripped:
        await _mmp_tripped(sim, maker, key)
    return taker_blocks


async def _mmp_tripped(sim: SimState, maker: Account, key: _mmp.MmpKey) -> None:
    """A maker's Block RFQ MMP tripped: cancel its open quotes the config covers and
    announce it on ``user.mmp_trigger`` (new quotes get 13030 while it is frozen)."""
    covered = [
        quote
        for quote in _maker_quotes(sim, maker, None)
        if key in _mmp.block_rfq_keys(maker, _indices(sim, _quoted(sim, quote)))
    ]
    await _cancel_quotes(sim, covered)
    await _mmp.announce(sim, maker, key)


def _quoted(sim: SimState, quote: dict[str, Any]) -> Structure:
    """The structure of the RFQ ``quote`` answers."""
    return _structure(sim.trading.block_rfqs[quote["block_rfq_id"]])


def _indices(sim: SimState, structure: Structure) -> list[str]:
    return sorted({sim.market.index_of(leg.instrument_name) for leg in structure.legs})


def _waiting_trigger(rfq: dict[str, Any]) -> dict[str, Any] | None:
    """The RFQ's trade trigger while it waits for a crossing quote, else None."""
    trigger: dict[str, Any] | None = rfq["_trigger"]
    return trigger if trigger is not None and trigger["state"] == "untriggered" else None


async def _after_trading(
    sim: SimState, rfq: dict[str, Any], fills: Sequence[tuple[dict[str, Any], float]] = ()
) -> None:
    """End the RFQ once its amount traded, or once something traded and no trigger
    waits; publish its new state and that of the quotes that traded in ``fills``."""
    traded = [quote for quote, _ in fills]
    waiting = _waiting_trigger(rfq) is not None
    if rfq["_traded"] >= rfq["amount"] - _EPS:
        await _close(sim, rfq, "filled", "Block RFQ filled", traded)
    elif rfq["_trades"] and not waiting:
        await _close(sim, rfq, "traded", "Block RFQ traded", traded)
    else:
        await _changed(sim, rfq, traded)


async def _run_trigger(sim: SimState, rfq: dict[str, Any]) -> None:
    """Trade what a waiting trade trigger now crosses."""
    trigger = _waiting_trigger(rfq)
    if rfq["state"] != "open" or trigger is None:
        return
    fills = _crossing(rfq, trigger["direction"], trigger["price"], trigger["_amount"])
    fills = _fundable(sim, rfq, fills)
    if not fills:
        return
    try:
        _check_taker_funds(sim, rfq, fills)
    except SimError:  # nobody to tell but the RFQ's subscribers: the trigger ends
        trigger.update(state="cancelled", cancel_reason="Not enough funds")
        await _after_trading(sim, rfq)
        return
    await _execute(sim, rfq, trigger["direction"], fills)
    trigger["_amount"] = round(trigger["_amount"] - sum(amount for _, amount in fills), 10)
    if trigger["_amount"] <= _EPS:
        trigger["state"] = "triggered"
    await _after_trading(sim, rfq, fills)


def _allocated(rfq: dict[str, Any], taker: Account, amount: float) -> list[tuple[Account, float]]:
    """Who takes ``amount`` of the RFQ: each (sub)account of its ``trade_allocations`` the
    same share of it as of the RFQ (rounded down to the RFQ's step), the taker the rest
    (and the broker clients' shares: the simulator has no brokers)."""
    step = rfq["min_trade_amount"]
    shares = [(taker.user_id, 0.0)]
    for allocation in rfq.get("trade_allocations") or ():
        if "user_id" in allocation:
            ratio = allocation["amount"] / rfq["amount"]
            shares.append((allocation["user_id"], math.floor(amount * ratio / step + 1e-6) * step))
    parts = dict.fromkeys((user_id for user_id, _ in shares), 0.0)
    for user_id, share in shares:
        parts[user_id] += share
    parts[taker.user_id] += amount - sum(parts.values())  # what no allocation took
    return [(taker.member(u), round(part, 10)) for u, part in parts.items() if part > _EPS]


def _check_taker_funds(
    sim: SimState, rfq: dict[str, Any], fills: Sequence[tuple[dict[str, Any], float]]
) -> None:
    """``10009`` unless the taker (and each subaccount an allocation names) can margin its
    side of every fill."""
    taker = sim.trading.account(rfq["_taker"])
    for quote, take in fills:
        for holder, part in _allocated(rfq, taker, take):
            check_funds(sim, holder, _trade_legs(sim, quote, part), "taker")


def _fundable(
    sim: SimState, rfq: dict[str, Any], fills: list[tuple[dict[str, Any], float]]
) -> list[tuple[dict[str, Any], float]]:
    """``fills`` whose maker can still margin its side (the others are skipped)."""
    kept = []
    for quote, amount in fills:
        try:
            check_funds(
                sim, sim.trading.account(quote["_maker"]), _trade_legs(sim, quote, amount), "maker"
            )
        except SimError:
            continue
        kept.append((quote, amount))
    return kept


# -- taker handlers ------------------------------------------------------------------------


async def create_block_rfq(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    sim = call.sim
    trading = sim.trading
    await _sweep(sim)
    taker = account_of(call)
    structure = structure_of(sim, "legs", params["legs"])
    for leg in structure.legs:
        instrument = sim.market.instruments[leg.instrument_name]
        require_may_trade(taker, instrument)
        if structure.amount * leg.ratio < instrument["block_trade_min_trade_amount"] - _EPS:
            raise SimError(10002, "qty_too_low")
    hedge = _hedge(sim, params.get("hedge"), structure.currency)
    makers = {identity(a): a for a in trading.accounts.values() if a is not taker}
    named = params.get("makers") or []
    if not all(isinstance(name, str) for name in named):
        raise invalid_param("makers", "a list of maker aliases")
    unknown = [name for name in named if name not in makers]
    if unknown:
        raise invalid_param("makers", f"unknown maker {unknown[0]}")
    targets = [makers[name] for name in named] if named else list(makers.values())
    disclosed = params.get("disclosed", True)
    if not disclosed and len(targets) < MIN_ANONYMOUS_MAKERS:
        raise invalid_param(
            "disclosed", f"an anonymous Block RFQ needs at least {MIN_ANONYMOUS_MAKERS} makers"
        )
    allocations = _allocations(params.get("trade_allocations"), taker, structure.amount)
    combo_id = (
        structure.legs[0].instrument_name
        if len(structure.legs) == 1
        else combo_for(sim, structure)[0]["id"]
    )
    now = sim.now_ms()
    rfq: dict[str, Any] = {
        "block_rfq_id": next(trading.block_rfq_ids),
        "creation_timestamp": now,
        "expiration_timestamp": now + LIFETIME_MS,
        "state": "open",
        "amount": structure.amount,
        "min_trade_amount": trade_step(sim, structure),
        "legs": structure.reported_legs(),
        "combo_id": combo_id,
        "disclosed": disclosed,
        "makers": list(named),
        "_structure": structure,
        "_taker": taker.client_id,
        "_taker_alias": identity(taker),
        "_targets": [maker.client_id for maker in targets],
        "_quotes": {},
        "_trades": [],
        "_traded": 0.0,
        "_mark": None,
        "_trigger": None,
    }
    if hedge is not None:
        rfq["hedge"] = hedge
    if "label" in params:
        rfq["label"] = _label(params["label"])
    if allocations is not None:
        rfq["trade_allocations"] = allocations
    trading.block_rfqs[rfq["block_rfq_id"]] = rfq
    await _publish(sim, rfq)
    return {**taker_view(sim, rfq), "state": "created"}


async def cancel_block_rfq(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    await _sweep(call.sim)
    rfq = _own_rfq(call.sim, account_of(call), params["block_rfq_id"])
    _require_open(rfq)
    await _close(call.sim, rfq, "cancelled", "Block RFQ cancelled")
    return taker_view(call.sim, rfq)


async def accept_block_rfq(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    sim = call.sim
    await _sweep(sim)
    taker = account_of(call)
    rfq = _own_rfq(sim, taker, params["block_rfq_id"])
    _require_open(rfq)
    if sim.now_ms() < rfq["creation_timestamp"] + GRACE_MS:
        raise SimError(13503, "unavailable", {"reason": "quotes are hidden for 5 s after creation"})
    _same_legs(_structure(rfq), params["legs"], "legs")
    if _waiting_trigger(rfq) is not None:
        raise invalid_param("block_rfq_id", "a trade trigger waits; cancel it first")
    amount, direction = params["amount"], params["direction"]
    _check_amount(rfq, amount, rfq["amount"] - rfq["_traded"])
    fills = _fundable(sim, rfq, _crossing(rfq, direction, params["price"], amount))
    filled = round(sum(take for _, take in fills), 10)
    if params["time_in_force"] == "fill_or_kill" and filled < amount - _EPS:
        raise SimError(13907, "not_fully_filled")
    _check_taker_funds(sim, rfq, fills)  # before anything trades
    blocks = await _execute(sim, rfq, direction, fills) if fills else []
    reply: dict[str, Any] = {"block_trades": blocks}
    if filled < amount - _EPS and params["time_in_force"] == "good_til_cancelled":
        rfq["_trigger"] = {
            "state": "untriggered",
            "price": params["price"],
            "direction": direction,
            "_amount": round(amount - filled, 10),
        }
        reply["trade_trigger"] = public_view(rfq["_trigger"])
    await _after_trading(sim, rfq, fills)
    return reply


async def cancel_block_rfq_trigger(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    sim = call.sim
    await _sweep(sim)
    rfq = _own_rfq(sim, account_of(call), params["block_rfq_id"])
    trigger = _waiting_trigger(rfq)
    if trigger is None:
        raise SimError(13020, "not_found", {"reason": "no trade trigger waits on this RFQ"})
    trigger.update(state="cancelled", cancel_reason="User cancelled")
    await _after_trading(sim, rfq)
    return taker_view(sim, rfq)


# -- maker handlers ------------------------------------------------------------------------


async def add_block_rfq_quote(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    sim = call.sim
    await _sweep(sim)
    maker = account_of(call)
    rfq = _targeted(sim, maker, params["block_rfq_id"])
    _require_open(rfq)
    direction = params["direction"]
    instruction = params.get("execution_instruction", "any_part_of")
    terms = _terms(sim, rfq, maker, params, direction, instruction)
    _refuse_crossing(rfq, maker, direction, terms["price"])
    now = sim.now_ms()
    if params.get("expires_at", math.inf) <= now:
        raise invalid_param("expires_at", "is in the past")
    quote: dict[str, Any] = {
        "block_rfq_quote_id": next(sim.trading.block_rfq_quote_ids),
        "block_rfq_id": rfq["block_rfq_id"],
        "quote_state": "open",
        "direction": direction,
        "execution_instruction": instruction,
        "filled_amount": 0.0,
        "replaced": False,
        "creation_timestamp": now,
        "last_update_timestamp": now,
        **terms,
        "_maker": maker.client_id,
        "_alias": identity(maker),
    }
    if "label" in params:
        quote["label"] = _label(params["label"])
    if "expires_at" in params:
        quote["expires_at"] = params["expires_at"]
    rfq["_quotes"][quote["block_rfq_quote_id"]] = quote
    await _changed(sim, rfq, [quote])
    await _run_trigger(sim, rfq)
    return public_view(quote)


def _refuse_crossing(
    rfq: dict[str, Any], maker: Account, direction: str, price: float, skip: int = 0
) -> None:
    """``13910 quote_crossed`` when a bid would reach the maker's own ask, or back."""
    for quote in _open_quotes(rfq):
        if quote["_maker"] != maker.client_id or quote["block_rfq_quote_id"] == skip:
            continue
        if quote["direction"] == direction:
            continue
        bid, ask = (price, quote["price"]) if direction == "buy" else (quote["price"], price)
        if bid >= ask:
            raise SimError(13910, "quote_crossed")


def _own_quote(sim: SimState, maker: Account, params: dict[str, Any]) -> dict[str, Any]:
    """The maker's open quote named by ``block_rfq_quote_id``, or by ``block_rfq_id`` and
    ``label``."""
    quote_id, rfq_id, label = (
        params.get("block_rfq_quote_id"),
        params.get("block_rfq_id"),
        params.get("label"),
    )
    if quote_id is None and (rfq_id is None or label is None):
        raise invalid_param("block_rfq_quote_id", "required, or block_rfq_id and label")
    for quote in _maker_quotes(sim, maker, rfq_id):
        if quote_id is not None and quote["block_rfq_quote_id"] == quote_id:
            return quote
        if quote_id is None and quote.get("label") == label:
            return quote
    raise SimError(13020, "not_found", {"reason": "no such open quote of yours"})


def _maker_quotes(sim: SimState, maker: Account, rfq_id: int | None) -> list[dict[str, Any]]:
    """The maker's open quotes, of one RFQ or of all."""
    return [
        quote
        for rfq in sim.trading.block_rfqs.values()
        if rfq_id in (None, rfq["block_rfq_id"])
        for quote in _open_quotes(rfq)
        if quote["_maker"] == maker.client_id
    ]


async def edit_block_rfq_quote(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    sim = call.sim
    await _sweep(sim)
    maker = account_of(call)
    quote = _own_quote(sim, maker, params)
    rfq = sim.trading.block_rfqs[quote["block_rfq_id"]]
    instruction = quote["execution_instruction"]
    terms = _terms(sim, rfq, maker, params, quote["direction"], instruction)
    if terms["amount"] < quote["filled_amount"] - _EPS:
        raise invalid_param("amount", "less than the quote's filled amount")
    _refuse_crossing(rfq, maker, quote["direction"], terms["price"], quote["block_rfq_quote_id"])
    if "hedge" not in terms:
        quote.pop("hedge", None)
    quote.update(terms, replaced=True, last_update_timestamp=sim.now_ms())
    if "label" in params:
        quote["label"] = _label(params["label"])
    await _changed(sim, rfq, [quote])
    await _run_trigger(sim, rfq)
    return public_view(quote)


async def _cancel_quotes(sim: SimState, quotes: list[dict[str, Any]]) -> None:
    now = sim.now_ms()
    by_rfq: dict[int, list[dict[str, Any]]] = {}
    for quote in quotes:
        quote.update(quote_state="cancelled", last_update_timestamp=now)
        by_rfq.setdefault(quote["block_rfq_id"], []).append(quote)
    for rfq_id, cancelled in by_rfq.items():
        rfq = sim.trading.block_rfqs[rfq_id]
        await _changed(sim, rfq, cancelled)


async def cancel_block_rfq_quote(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    await _sweep(call.sim)
    quote = _own_quote(call.sim, account_of(call), params)
    await _cancel_quotes(call.sim, [quote])
    return public_view(quote)


async def cancel_all_block_rfq_quotes(call: Call) -> int | list[dict[str, Any]]:
    """Cancel the maker's open quotes (of one RFQ); the count, or with ``detailed`` one
    report per currency whose ``result`` lists the cancelled quotes."""
    params = declared_params(call)
    sim = call.sim
    await _sweep(sim)
    quotes = _maker_quotes(sim, account_of(call), params.get("block_rfq_id"))
    await _cancel_quotes(sim, quotes)
    if not params.get("detailed"):
        return len(quotes)
    reports: dict[str, list[dict[str, Any]]] = {}
    for quote in quotes:
        currency = _structure(sim.trading.block_rfqs[quote["block_rfq_id"]]).currency
        reports.setdefault(currency, []).append(public_view(quote))
    return [
        {"currency": currency, "type": "block_rfq_quote", "result": result}
        for currency, result in reports.items()
    ]


async def get_block_rfq_quotes(call: Call) -> list[dict[str, Any]]:
    params = declared_params(call)
    sim = call.sim
    await _sweep(sim)
    return [
        public_view(quote)
        for quote in _maker_quotes(sim, account_of(call), params.get("block_rfq_id"))
        if params.get("label", quote.get("label")) == quote.get("label")
        and params.get("block_rfq_quote_id", quote["block_rfq_quote_id"])
        == quote["block_rfq_quote_id"]
    ]


# -- readers -------------------------------------------------------------------------------

_CLOSED = frozenset({"filled", "traded", "cancelled", "expired"})


async def get_block_rfqs(call: Call) -> dict[str, Any]:
    """The RFQs the account created or was asked to quote, newest first, as each role
    sees them; ``continuation`` is the last id returned when more are older."""
    params = declared_params(call)
    sim = call.sim
    await _sweep(sim)
    account = account_of(call)
    role = params.get("role", "any")
    state = params.get("state")
    currency = params.get("currency", "any")
    below = params.get("continuation", math.inf)
    chosen = []
    for rfq in sorted(sim.trading.block_rfqs.values(), key=lambda r: -r["block_rfq_id"]):
        taker = rfq["_taker"] == account.client_id
        maker = account.client_id in rfq["_targets"]
        if not ((taker and role != "maker") or (maker and role != "taker")):
            continue
        if params.get("block_rfq_id", rfq["block_rfq_id"]) != rfq["block_rfq_id"]:
            continue
        if rfq["block_rfq_id"] >= below or not currency_matches(currency, _structure(rfq).currency):
            continue
        if (
            state is not None
            and rfq["state"] != state
            and not (state == "closed" and rfq["state"] in _CLOSED)
        ):
            continue
        chosen.append(taker_view(sim, rfq) if taker else maker_view(sim, rfq, account))
    count = params.get("count", 20)
    more = len(chosen) > count
    page = chosen[:count]
    return {"block_rfqs": page, "continuation": page[-1]["block_rfq_id"] if more else None}


def get_block_rfq_trades(call: Call) -> dict[str, Any]:
    """Block RFQ executions newest first; ``continuation`` ``timestamp:id`` of the last
    one returned when more are older."""
    params = declared_params(call)
    currency = params["currency"]
    after = params.get("continuation")
    bound: tuple[int, int] | None = None
    if after is not None:
        timestamp, _, rfq_id = after.partition(":")
        if not (timestamp.isdigit() and rfq_id.isdigit()):
            raise invalid_param("continuation", "must be timestamp:block_rfq_id")
        bound = (int(timestamp), int(rfq_id))
    chosen = [
        public_view(printed)
        for printed in reversed(call.sim.trading.block_rfq_trades)
        if currency_matches(currency, printed["_currency"])
        and (bound is None or (printed["timestamp"], printed["id"]) < bound)
    ]
    count = params.get("count", 20)
    page = chosen[:count]
    last = page[-1] if len(chosen) > count else None
    return {
        "block_rfqs": page,
        "continuation": None if last is None else f"{last['timestamp']}:{last['id']}",
    }


def get_block_rfq_makers(call: Call) -> list[str]:
    """Every other simulated account: each can quote Block RFQs."""
    account = account_of(call)
    return [identity(a) for a in call.sim.trading.accounts.values() if a is not account]


def get_block_rfq_user_info(call: Call) -> dict[str, Any]:
    account = account_of(call)
    users = [
        {
            "user_id": account.user_id,
            "identity": identity(account),
            "is_maker": True,
            "taker_rating": taker_rating(call.sim, account.client_id),
        }
    ]
    users += [
        {"user_id": sid, "identity": f"SIM{sid}", "is_maker": True, "taker_rating": None}
        for sid in account.subaccounts
    ]
    return {"parent": {"identity": identity(account), "is_maker": True}, "users": users}


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    for fn in (
        create_block_rfq,
        cancel_block_rfq,
        accept_block_rfq,
        cancel_block_rfq_trigger,
        add_block_rfq_quote,
        edit_block_rfq_quote,
        cancel_block_rfq_quote,
        cancel_all_block_rfq_quotes,
        get_block_rfq_quotes,
        get_block_rfqs,
        get_block_rfq_makers,
        get_block_rfq_user_info,
    ):
        sim.methods[f"private/{fn.__name__}"] = fn
    sim.methods["public/get_block_rfq_trades"] = get_block_rfq_trades
