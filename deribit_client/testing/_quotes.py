"""Simulator mass quotes: ``private/mass_quote`` places or replaces one quote per
instrument, side and MMP group (MMP orders with ``quote: true``), each side checked like an
order and refused on its own (``errors``); ``private/cancel_quotes`` cancels them by delta,
quote set, instrument, kind, currency, currency pair or all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _mmp
from ._accounts import Account
from ._market import kind_matches
from ._orders import (
    Matched,
    account_of,
    cancel_many,
    cancel_one,
    check_amount,
    check_margin,
    check_price,
    currency_of,
    execute,
    new_order,
    notify,
    post_only_takes,
    prevent_self_trade,
    require_in_time,
    require_may_trade,
    require_open,
    settle,
    unrest,
)
from ._session import SimError, invalid_param, public_view
from ._shaped import declared_params
from ._state import Call, SimState

__all__ = ["register"]

_SIDES = (("bid", "buy"), ("ask", "sell"))
_DIRECTION = dict(_SIDES)


def _group_key(sim: SimState, account: Account, group: str) -> _mmp.MmpKey:
    """The MMP config of ``group``: a mass quote needs one (13040), unfrozen (13030)."""
    for key, protection in _mmp.protections(account).items():
        if not key[0] and key[2] == group:
            if protection.frozen(sim.now_ms()):
                raise SimError(13030, "mmp_trigger")
            return key
    raise SimError(13040, "mmp_required", {"reason": f"no MMP config for group {group!r}"})


def _resting(
    account: Account, name: object, direction: str, group: object
) -> dict[str, Any] | None:
    """The group's open quote on one side of an instrument (one at most)."""
    return next(
        (
            o
            for o in account.live_orders()
            if o.get("quote")
            and o["order_state"] == "open"
            and o["instrument_name"] == name
            and o["direction"] == direction
            and o["mmp_group"] == group
        ),
        None,
    )


def _quotable(account: Account, instrument: dict[str, Any]) -> None:
    """Spot is never quoted (Deribit does not margin it), nor are options on standard
    margin (long options are not margined there): ``13902``."""
    kind = instrument["kind"]
    if kind == "spot" or (kind == "option" and account.settings["margin_model"].endswith("_sm")):
        reason = (
            f"no mass quotes for {kind} instruments on a {account.settings['margin_model']} account"
        )
        raise SimError(13902, "mass_quotes_disabled", {"reason": reason})


def _quote(
    call: Call,
    account: Account,
    key: _mmp.MmpKey,
    quote: dict[str, Any],
    direction: str,
    side: Any,
    resting: dict[str, Any] | None,
    matched: Matched,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Place one side of one quote, or amend ``resting`` (the group's quote on that side);
    returns the order and its trades. Nothing changes before every check has passed."""
    sim = call.sim
    if not isinstance(side, dict):
        raise SimError(11029, "invalid_arguments", {"reason": "a side is {price, amount}"})
    instrument = sim.market.require(str(quote.get("instrument_name")))
    _quotable(account, instrument)
    if instrument["price_index"] != key[1]:
        reason = f"mmp_group {key[2]!r} quotes {key[1]}, not {instrument['price_index']}"
        raise SimError(11029, "invalid_arguments", {"reason": reason})
    require_open(sim, instrument, "order")
    require_may_trade(account, instrument)
    amount, price = side.get("amount"), side.get("price")
    if amount is None and resting is not None:  # an amendment of the price alone
        amount = resting["amount"] - resting["filled_amount"]
    elif amount is None:
        raise SimError(10004, "order_not_found", {"reason": "no quote to amend on this side"})
    if not isinstance(amount, int | float) or not isinstance(price, int | float):
        raise SimError(11029, "invalid_arguments", {"reason": "a side needs price and amount"})
    check_amount(instrument, float(amount))
    check_price(sim, instrument, direction, float(price))
    members = {
        "quote_id": call.params["quote_id"],
        "quote_set_id": quote.get("quote_set_id", ""),
        "post_only": bool(side.get("post_only", False)),
        "reject_post_only": bool(side.get("reject_post_only", False)),
    }
    if resting is None:
        order = new_order(sim, instrument, direction, float(amount), float(price), mmp=True,
                          quote=True, mmp_group=key[2], api=False, **members,
                          _connection=call.session.id)  # fmt: skip
    else:  # one quote per instrument, side and group: the new one replaces it
        order = {**resting, **members, "price": float(price), "replaced": True,
                 "amount": resting["filled_amount"] + float(amount)}  # fmt: skip
    _mmp.check_order(sim, account, instrument, order)
    check_margin(sim, account, instrument, order)
    book = sim.market.books[instrument["instrument_name"]]
    # The refusals execute() could raise, raised before the resting quote changes.
    if not post_only_takes(book, order):
        prevent_self_trade(sim, account, order, instrument)  # 10003 with reject_taker
    elif order["reject_post_only"]:
        raise SimError(11054, "post_only_reject")
    if resting is not None:
        left = resting["amount"] - resting["filled_amount"]
        unrest(book, direction, resting["price"], left)
        if order["price"] != resting["price"] or float(amount) > left:
            order.pop("_ahead", None)  # only a smaller or re-labelled quote keeps its place
        resting.clear()
        resting.update(order)
        order = resting
    return order, execute(sim, account, order, instrument, matched)


def _sides(quote: dict[str, Any], resting: dict[str, dict[str, Any] | None]) -> tuple[str, ...]:
    """The order in which a quote's sides are amended: the ask first when both move up,
    so the quotes never cross each other on the way (the bid first otherwise)."""
    up = all(
        isinstance(quote.get(name), dict)
        and isinstance(quote[name].get("price"), int | float)
        and (old := resting[name]) is not None
        and quote[name]["price"] > old["price"]
        for name in ("bid", "ask")
    )
    return ("ask", "bid") if up else ("bid", "ask")


async def mass_quote(call: Call) -> dict[str, Any]:
    """Quotes need cancel-on-disconnect (13042), an MMP group's config, no
    ``freeze_quotes`` in force (13043) and ``valid_until`` in the future (13888). A side
    that fails cancels the group's resting quote on that side (Deribit: "errored
    amendments cancel the affected resting quote")."""
    params = declared_params(call)
    sim, account = call.sim, account_of(call)
    if not (call.session.state.get("cod") or account.cod["account"]):
        raise SimError(13042, "cod_not_enabled")
    require_in_time(call)
    if sim.now_ms() < account.quotes_frozen_until:
        raise SimError(13043, "quotes_frozen")
    key = _group_key(sim, account, params["mmp_group"])
    matched = Matched()
    orders: list[dict[str, Any]] = []
    trades: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for quote in params["quotes"]:
        if not isinstance(quote, dict):
            raise invalid_param("quotes", "a list of {instrument_name, quote_set_id, bid, ask}")
        name = quote.get("instrument_name")
        resting = {side: _resting(account, name, direction, key[2]) for side, direction in _SIDES}
        for side_name in _sides(quote, resting):
            side = quote.get(side_name)
            if side is None:
                continue
            old = resting[side_name]
            try:
                order, done = _quote(call, account, key, quote, _DIRECTION[side_name], side,
                                     old, matched)  # fmt: skip
            except SimError as exc:
                errors.append({"instrument_name": name, "side": side_name,
                               "error": {"code": exc.code, "message": exc.message}})  # fmt: skip
                if old is not None and old["order_state"] == "open":
                    reason = "edit_post_only_reject" if exc.code == 11054 else None
                    cancel_one(sim, old, reason)
                    instrument = sim.market.instruments[old["instrument_name"]]
                    matched.cancelled.append((account, instrument, old))
                continue
            orders.append(order)
            trades += done
    for name in dict.fromkeys(o["instrument_name"] for o in orders):
        instrument = sim.market.instruments[name]
        await notify(sim, account, instrument, [o for o in orders if o["instrument_name"] == name],
                      [t for t in trades if t["instrument_name"] == name])  # fmt: skip
    await settle(sim, matched)
    result: dict[str, Any] = {"errors": errors, "errors_count": len(errors),
                              "pending_requests_count": 0, "pending_requests": []}  # fmt: skip
    if params.get("detailed", False):
        result.update(orders=[public_view(o) for o in orders], trades=trades)
    return result


async def cancel_quotes(call: Call) -> int | list[dict[str, Any]]:
    """Cancel the account's open quotes that ``cancel_type`` selects (its parameter is
    required for it: ``-32602`` naming it otherwise)."""
    params = declared_params(call)
    sim = call.sim
    cancel_type = params["cancel_type"]
    needs = {"quote_set_id": "quote_set_id", "instrument": "instrument_name",
             "instrument_kind": "kind", "currency": "currency",
             "currency_pair": "currency_pair"}  # fmt: skip
    if cancel_type in needs and needs[cancel_type] not in params:
        raise invalid_param(needs[cancel_type], f"required for cancel_type {cancel_type}")
    low, high = params.get("min_delta", -1.0), params.get("max_delta", 1.0)
    choose: Callable[[dict[str, Any], dict[str, Any]], bool] = {
        "all": lambda o, i: True,
        "delta": lambda o, i: low <= _mmp.unit_greeks(sim, i)[0] <= high,
        "quote_set_id": lambda o, i: o["quote_set_id"] == params.get("quote_set_id"),
        "instrument": lambda o, i: o["instrument_name"] == params.get("instrument_name"),
        "instrument_kind": lambda o, i: kind_matches(i["kind"], params.get("kind")),
        "currency": lambda o, i: currency_of(i) == params.get("currency"),
        "currency_pair": lambda o, i: i["price_index"] == params.get("currency_pair"),
    }[cancel_type]
    return await cancel_many(call, lambda o, i: bool(o.get("quote")) and choose(o, i))


def register(sim: SimState) -> None:
    """Install the mass quote handlers on ``sim``."""
    sim.methods["private/mass_quote"] = mass_quote
    sim.methods["private/cancel_quotes"] = cancel_quotes
