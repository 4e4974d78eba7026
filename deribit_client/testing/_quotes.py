"""Simulator mass quotes: ``private/mass_quote`` places or replaces one quote per
instrument, side and MMP group (MMP orders with ``quote: true``), each side checked like an
order and refused on its own (``errors``); ``private/cancel_quotes`` cancels them by delta,
quote set, instrument, kind, currency, currency pair or all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _mmp
from ._accounts import Account, unfilled
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


def _draft(
    call: Call,
    account: Account,
    key: _mmp.MmpKey,
    quote: dict[str, Any],
    direction: str,
    side: Any,
    resting: dict[str, Any] | None,
) -> dict[str, Any]:
    """The risk check of one side of one quote: the order it places, or the amended
    ``resting`` quote (the group's quote on that side) as a copy. Nothing changes."""
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
        amount = unfilled(resting)
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
                 "amount": round(resting["filled_amount"] + float(amount), 10)}  # fmt: skip
    _mmp.check_order(sim, account, instrument, order)
    check_margin(sim, account, instrument, order, replacing=resting)
    return order


def _match(
    sim: SimState,
    account: Account,
    order: dict[str, Any],
    resting: dict[str, Any] | None,
    matched: Matched,
) -> list[dict[str, Any]]:
    """The matching engine's part of one side: the refusals ``execute`` could raise,
    checked before the resting quote changes, then the quote replaced and matched; returns
    its trades."""
    instrument = sim.market.instruments[order["instrument_name"]]
    book = sim.market.books[order["instrument_name"]]
    if not post_only_takes(book, order):
        prevent_self_trade(sim, account, order, instrument)  # 10003 with reject_taker
    elif order["reject_post_only"]:
        raise SimError(11054, "post_only_reject")
    if resting is not None:
        left = unfilled(resting)
        unrest(book, order["direction"], resting["price"], left)
        if order["price"] != resting["price"] or unfilled(order) > left:
            order.pop("_ahead", None)  # only a smaller or re-labelled quote keeps its place
        resting.clear()
        resting.update(order)
        order = resting
    return execute(sim, account, order, instrument, matched)


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


_Side = tuple[dict[str, Any], str, dict[str, Any] | None]
"""One side of one quote: the quote, ``bid`` or ``ask``, and the group's resting quote on
that side."""


def _sides_of(account: Account, group: str, quote: dict[str, Any]) -> list[_Side]:
    """The sides ``quote`` sets, in the order they are processed, each with the resting
    quote it amends as things stand now (an earlier quote of the request on the same
    instrument is amended, not doubled)."""
    name = quote.get("instrument_name")
    resting = {side: _resting(account, name, direction, group) for side, direction in _SIDES}
    return [(quote, s, resting[s]) for s in _sides(quote, resting) if quote.get(s) is not None]


class _Quoting:
    """One mass quote's work: sides placed, their trades, refusals and what they cancel."""

    def __init__(self, call: Call, account: Account, key: _mmp.MmpKey) -> None:
        self.call, self.account, self.key = call, account, key
        self.matched = Matched()
        self.orders: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []

    def draft(self, side: _Side) -> dict[str, Any]:
        """Risk-check ``side`` (raises its refusal)."""
        quote, name, resting = side
        return _draft(self.call, self.account, self.key, quote, _DIRECTION[name], quote[name],
                      resting)  # fmt: skip

    def place(self, side: _Side) -> SimError | None:
        """Risk-check and match ``side``; its refusal, if any, cancels the resting quote
        (Deribit: "errored amendments cancel the affected resting quote")."""
        try:
            order = self.draft(side)
            self.trades += _match(self.call.sim, self.account, order, side[2], self.matched)
        except SimError as exc:
            self.withdraw(side, exc)
            return exc
        self.orders.append(side[2] if side[2] is not None else order)
        return None

    def withdraw(self, side: _Side, exc: SimError) -> None:
        """Cancel the resting quote a refused side would have amended."""
        old = side[2]
        if old is not None and old["order_state"] == "open":
            cancel_one(self.call.sim, old, "edit_post_only_reject" if exc.code == 11054 else None)
            instrument = self.call.sim.market.instruments[old["instrument_name"]]
            self.matched.cancelled.append((self.account, instrument, old))

    async def publish(self) -> None:
        """Notify the orders and trades per instrument, then settle what they set off."""
        sim = self.call.sim
        for name in dict.fromkeys(o["instrument_name"] for o in self.orders):
            instrument = sim.market.instruments[name]
            await notify(sim, self.account, instrument,
                         [o for o in self.orders if o["instrument_name"] == name],
                         [t for t in self.trades if t["instrument_name"] == name])  # fmt: skip
        await settle(sim, self.matched)


def _error(side: _Side, exc: SimError) -> dict[str, Any]:
    return {"instrument_name": side[0].get("instrument_name"), "side": side[1],
            "error": {"code": exc.code, "message": exc.message}}  # fmt: skip


async def mass_quote(call: Call) -> dict[str, Any]:
    """Quotes need cancel-on-disconnect (13042), an MMP group's config, no
    ``freeze_quotes`` in force (13043) and ``valid_until`` in the future (13888). Each
    side is risk-checked, then matched; a side refused at either step cancels the group's
    resting quote on that side. With ``wait_for_response: false`` the reply follows the
    risk checks (``pending_requests`` names the sides passed on) and the matching
    engine's work, refusals included, shows only in ``user.orders``/``user.trades``.
    ``detailed`` adds ``orders`` and ``trades`` (when waited for) and lists pending sides
    instead of counting them; ``errors`` is always there (``errors_count`` without
    ``detailed``)."""
    params = declared_params(call)
    sim, account = call.sim, account_of(call)
    if not (call.session.state.get("cod") or account.cod["account"]):
        raise SimError(13042, "cod_not_enabled")
    require_in_time(call)
    if sim.now_ms() < account.quotes_frozen_until:
        raise SimError(13043, "quotes_frozen")
    group = params["mmp_group"]
    key = _group_key(sim, account, group)
    quotes: list[dict[str, Any]] = params["quotes"]  # objects: their declared type
    quoting = _Quoting(call, account, key)
    errors: list[dict[str, Any]] = []
    detailed = params.get("detailed", False)
    result: dict[str, Any] = {"errors": errors}
    if params.get("wait_for_response", True):
        for quote in quotes:
            for side in _sides_of(account, group, quote):
                if (exc := quoting.place(side)) is not None:
                    errors.append(_error(side, exc))
        await quoting.publish()
        if detailed:
            result.update(orders=[public_view(o) for o in quoting.orders], trades=quoting.trades)
    else:
        pending: list[tuple[int, _Side]] = []  # (the quote's index, side)
        refused: list[tuple[_Side, SimError]] = []
        for index, quote in enumerate(quotes):
            for side in _sides_of(account, group, quote):
                try:
                    quoting.draft(side)
                except SimError as exc:
                    errors.append(_error(side, exc))
                    refused.append((side, exc))
                else:
                    pending.append((index, side))

        async def matching_engine() -> None:
            # Resting quotes are looked up again: an earlier side of the request, or
            # another connection, may have moved them since the risk check.
            for side, exc in refused:
                quoting.withdraw(side, exc)
            passed = {(index, side[1]) for index, side in pending}
            for index, quote in enumerate(quotes):
                for side in _sides_of(account, group, quote):
                    if (index, side[1]) in passed:
                        quoting.place(side)
            await quoting.publish()

        call.then_run(matching_engine)
        if detailed:
            result["pending_requests"] = [
                {"instrument_name": quote.get("instrument_name"), "side": name}
                for _, (quote, name, _) in pending
            ]
        else:
            result["pending_requests_count"] = len(pending)
    if not detailed:
        result["errors_count"] = len(errors)
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
