"""Trigger orders fire in the simulator: stop, take-profit and trailing orders watch their
reference price (last trade, mark or index) every time their instrument's market moves,
and once it reaches the trigger they run as the market or limit order they carry. Also
``private/get_trigger_order_history``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ._accounts import Account
from ._orders import currency_of, reference_price, run_waiting, trigger_reached
from ._session import invalid_param
from ._shaped import declared_params
from ._state import Call, SimState, account_of

__all__ = ["register"]


def fires(order: dict[str, Any], reference: float) -> bool:
    """Whether ``order`` triggers at ``reference``. Stops buy when the price rises to the
    trigger and sell when it falls to it; take-profits the other way round; a trailing
    stop first moves its trigger along the best price seen (``_peak``)."""
    sell = order["direction"] == "sell"
    if order["order_type"] == "trailing_stop":
        peak = max(order["_peak"], reference) if sell else min(order["_peak"], reference)
        offset = order["trigger_offset"]
        order.update(_peak=peak, trigger_price=peak - offset if sell else peak + offset)
    return trigger_reached(order["order_type"], order["direction"], reference,
                           order["trigger_price"])  # fmt: skip


async def on_market_move(sim: SimState, names: Sequence[str]) -> None:
    """Fire the trigger orders of ``names`` whose reference price reached their trigger."""
    for name in names:
        await _fire_reached(sim, name)


async def _fire_reached(sim: SimState, name: str) -> None:
    waiting = sim.trading.untriggered.get(name)
    if not waiting:
        return
    instrument = sim.market.instruments[name]
    for order_id, (account, order) in list(waiting.items()):
        if order["order_state"] != "untriggered":  # cancelled, or fired by a nested move
            waiting.pop(order_id, None)
        elif fires(order, reference_price(sim, instrument, order["trigger"])):
            waiting.pop(order_id, None)
            await _fire(sim, account, instrument, order)
    if not waiting:
        sim.trading.untriggered.pop(name, None)


async def _fire(
    sim: SimState, account: Account, instrument: dict[str, Any], order: dict[str, Any]
) -> None:
    """Run a triggered order as the market or limit order it carries (``rejected`` if it
    cannot run now: :func:`run_waiting`)."""
    now = sim.now_ms()
    order.update(triggered=True, order_state="open", last_update_timestamp=now, _fired_at=now)
    await run_waiting(sim, account, instrument, order)


def _entry(order: dict[str, Any]) -> dict[str, Any]:
    """A trigger order's ``get_trigger_order_history`` record: its last request (the
    trigger, or the cancel before it)."""
    fired = order.get("triggered", False)
    if fired:
        state = "triggered"
        if order["order_state"] == "rejected":
            state = f"rejected:{order['reject_reason']}"
    else:
        state = "cancelled"
    price = order["price"] if isinstance(order["price"], float) else order["trigger_price"]
    entry = {
        "timestamp": order["_fired_at"] if fired else order["last_update_timestamp"],
        "trigger": order["trigger"],
        "trigger_price": order["trigger_price"],
        "trigger_order_id": order["trigger_order_id"],
        "order_id": order["order_id"],
        "order_state": state,
        "request": "trigger:order" if fired else "cancel",
        "instrument_name": order["instrument_name"],
        "direction": order["direction"],
        "price": price,
        "amount": order["amount"],
        "last_update_timestamp": order["last_update_timestamp"],
        "reduce_only": order["reduce_only"],
        "post_only": order["post_only"],
        "order_type": "limit" if order["order_type"].endswith("limit") else "market",
        "label": order["label"],
        "source": "api",
    }
    if "trigger_offset" in order:
        entry["trigger_offset"] = order["trigger_offset"]
    return entry


def get_trigger_order_history(call: Call) -> dict[str, Any]:
    """The account's trigger orders that fired or were cancelled, newest first, ``count``
    at a time; ``continuation`` (``{timestamp}.{trigger_order_id}``) goes on below."""
    params = declared_params(call)
    currency, name = params["currency"].upper(), params.get("instrument_name")
    instruments = call.sim.market.instruments
    entries = sorted(
        (
            _entry(o)
            for o in account_of(call).orders.values()
            if "trigger_order_id" in o
            and (o.get("triggered") or o["order_state"] == "cancelled")
            and currency_of(instruments[o["instrument_name"]]) == currency
            and name in (None, o["instrument_name"])
        ),
        key=lambda e: (e["timestamp"], e["trigger_order_id"]),
        reverse=True,
    )
    token = params.get("continuation")
    if token is not None:
        stamp, _, trigger_id = token.partition(".")
        if not stamp.isdigit() or not trigger_id:
            raise invalid_param("continuation", "not a continuation this method returned")
        below = (int(stamp), trigger_id)
        entries = [e for e in entries if (e["timestamp"], e["trigger_order_id"]) < below]
    page = entries[: params.get("count", 20)]
    more = len(entries) > len(page)
    last = page[-1] if page else None
    continuation = f"{last['timestamp']}.{last['trigger_order_id']}" if more and last else None
    return {"entries": page, "continuation": continuation}


def register(sim: SimState) -> None:
    """Install the history handler and the trigger watch on ``sim``."""
    sim.methods["private/get_trigger_order_history"] = get_trigger_order_history
    sim.on_market_move.append(functools.partial(on_market_move, sim))
