"""Simulator trading engine: orders against each instrument's book, fills, positions,
account summaries, cancel-all execution reports and ``user.*`` notifications."""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence
from typing import Any

from . import _mmp
from ._accounting import (
    account_figures,
    account_position,
    account_summary,
    book_trade,
    exposure,
    holds_position,
    margin_room,
    spot_reserve,
    trade_fee,
)
from ._accounts import LIVE_STATES, Account, unfilled
from ._logs import remember
from ._market import (
    Book,
    currency_of,
    deribit_id,
    is_combo,
    kind_matches,
    opposite,
    public_trade,
    side_of,
    trading_product,
)
from ._notices import notify_user
from ._session import Session, SimError, invalid_param, public_view
from ._settlement import deliver
from ._state import Call, SimState, account_of
from ._streams import instrument_state_changed, market_moved

__all__ = [
    "BOOK_STATES",
    "account_identity",
    "account_of",
    "book_state_changed",
    "check_margin",
    "currency_of",
    "fill",
    "new_order",
    "on_tick",
    "public_view",
    "reference_price",
    "register",
    "require_open",
]

_TRIGGER_TYPES = frozenset(
    {"stop_limit", "stop_market", "take_limit", "take_market", "trailing_stop"}
)
_ORDER_TYPES = frozenset({"limit", "market", "market_limit"}) | _TRIGGER_TYPES
_LIMIT_TYPES = frozenset({"limit", "stop_limit", "take_limit"})
"""Order types that have a limit price (trigger ones once triggered)."""
_TRIGGERS = ("last_price", "mark_price", "index_price")
_TIME_IN_FORCE = frozenset(
    {"good_til_cancelled", "good_til_day", "fill_or_kill", "immediate_or_cancel"}
)
_EPS = 1e-9


# -- helpers ------------------------------------------------------------------------------


def _instrument(call: Call, name: str | None = None) -> dict[str, Any]:
    return call.sim.market.require(name if name is not None else call.param("instrument_name"))


BOOK_STATES = ("open", "settlement", "delivered", "inactive", "locked", "halted", "archivized")
"""Deribit's order book lifecycle states (REFERENCE 7.4)."""
# What each book state accepts (REFERENCE 7.4): an open book everything, a locked one
# only cancels; settlement, delivered, inactive, halted and archivized books nothing.
_ACCEPTS = {"open": frozenset({"order", "edit", "cancel"}), "locked": frozenset({"cancel"})}
# Book states that cancel resting orders on entry: all of them, or good-til-day ones.
_CANCELS_ON_ENTRY = {"delivered": None, "inactive": None, "archivized": None,
                     "settlement": "good_til_day"}  # fmt: skip


def accepts(sim: SimState, instrument: dict[str, Any], action: str) -> bool:
    """Whether ``instrument``'s book takes ``action`` (``order``, ``edit`` or
    ``cancel``) in its state; a platform lock of its index locks an open book."""
    state = instrument["state"]
    if state == "open" and instrument["price_index"] in sim.locked_indices:
        state = "locked"
    return action in _ACCEPTS.get(state, ())


def require_open(sim: SimState, instrument: dict[str, Any], action: str) -> None:
    """``13019 orderbook_closed`` when ``instrument``'s book does not take ``action``."""
    if not accepts(sim, instrument, action):
        raise SimError(13019, "orderbook_closed")


def require_may_trade(account: Account, instrument: dict[str, Any]) -> None:
    """``11098 account_locked`` when the account is locked in the instrument's currencies;
    ``13021 forbidden`` when it is a subaccount whose main account disabled the
    instrument's product (``set_disabled_trading_products``; Deribit's code for this is
    not documented, so the simulator answers as for any forbidden action)."""
    account.require_unlocked(currency_of(instrument), instrument["base_currency"])
    product = trading_product(instrument)
    if product in account.disabled_products:
        raise SimError(13021, "forbidden", {"reason": f"trading {product} is disabled"})


_ENDED = frozenset({"delivered", "inactive", "archivized"})
"""Book states after which an instrument never trades again."""


async def set_book_state(sim: SimState, instrument: dict[str, Any], state: str) -> None:
    """Move ``instrument``'s book to ``state``: tell ``instrument.state.*`` subscribers,
    end the orders the state ends, and move the combos it is a leg of along."""
    if instrument["state"] == state:
        return
    instrument["state"] = state
    await instrument_state_changed(sim, instrument)
    await book_state_changed(sim, instrument)
    if state == "delivered" and not is_combo(instrument):  # a combo's legs deliver
        deliver(sim, instrument)
    market = sim.market
    name = instrument["instrument_name"]
    for combo_name, legs in list(market.combo_legs.items()):
        if any(leg == name for leg, _ in legs):
            states = (market.instruments[leg]["state"] for leg, _ in legs)
            await set_book_state(
                sim,
                market.instruments[combo_name],
                next((s for s in states if s != "open"), "open"),
            )
            record = market.combos.get(combo_name)
            ended = market.instruments[combo_name]["state"] in _ENDED
            if record is not None and (record["state"] == "inactive") != ended:
                record["state"] = "inactive" if ended else "active"
                record["state_timestamp"] = sim.now_ms()


async def book_state_changed(sim: SimState, instrument: dict[str, Any]) -> None:
    """Cancel the resting orders the instrument's new book state ends (reason
    ``settlement``) and tell their owners."""
    if instrument["state"] not in _CANCELS_ON_ENTRY:
        return
    only = _CANCELS_ON_ENTRY[instrument["state"]]
    name = instrument["instrument_name"]
    for account in list(sim.trading.accounts.values()):
        ended = [
            o
            for o in account.live_orders()
            if o["instrument_name"] == name and only in (None, o["time_in_force"])
        ]
        for order in ended:
            cancel_one(sim, order, "settlement")
        if ended:
            await notify(sim, account, instrument, ended, [])
    await aftermath(sim)


def on_tick(price: float, tick: float) -> bool:
    """Whether ``price`` (or an amount) is a whole number of ``tick`` steps."""
    steps = price / tick
    return abs(steps - round(steps)) < 1e-6


def _type_matches(order: dict[str, Any], wanted: str | None) -> bool:
    order_type: str = order["order_type"]
    if wanted in (None, "all"):
        return True
    if wanted == "limit":
        return order_type == "limit"
    if wanted == "trigger_all":
        return order_type in _TRIGGER_TYPES
    if wanted in ("stop", "stop_all"):
        return order_type.startswith("stop")
    if wanted in ("take", "take_all"):
        return order_type.startswith("take")
    if wanted in ("trailing_all", "trailing_stop"):
        return order_type == "trailing_stop"
    return order_type == wanted


# -- the book -----------------------------------------------------------------------------


def _rest(book: Book, direction: str, price: float, amount: float) -> None:
    book.add(side_of(direction), price, amount)


def shown(order: dict[str, Any]) -> float:
    """What of an open order its book level shows: what is left of it, of an iceberg
    (``display_amount``) only its display."""
    left = unfilled(order)
    display = order.get("display_amount")
    return left if display is None else min(float(display), left)


def unrest(book: Book, direction: str, price: float, amount: float) -> None:
    book.add(side_of(direction), price, -amount)


def prevent_self_trade(
    sim: SimState, account: Account, order: dict[str, Any], instrument: dict[str, Any]
) -> list[tuple[Account, dict[str, Any]]]:
    """Deribit's self-trade prevention for ``order`` about to match: the resting orders of
    :func:`_self_trade_accounts` it would reach before it is filled. With the account's
    ``self_trading_reject_mode`` ``reject_taker`` that is ``10003 order_overlap``, raised
    before anything trades or changes (a refused order or edit leaves the book, the
    order and the positions as they were); with ``cancel_maker`` they are returned for
    :func:`cancel_self_matched` and the order trades past them."""
    own = _self_trade_orders(sim, account, order)
    if not own:
        return []
    reject = account.settings["self_trading_reject_mode"] == "reject_taker"
    limit = order["price"] if order["order_type"] in _LIMIT_TYPES else None
    remaining = unfilled(order)
    taken = side_of(opposite(order["direction"]))
    reached: list[tuple[Account, dict[str, Any]]] = []
    for price, available in sim.market.books[instrument["instrument_name"]].levels(taken):
        if remaining <= _EPS or past_limit(order["direction"], price, limit):
            break
        here = [(owner, o) for owner, o in own if abs(o["price"] - price) < _EPS]
        if here and reject:
            raise SimError(10003, "order_overlap")  # self-trading is not allowed
        reached += here
        remaining -= available - sum(shown(o) for _, o in here)
    return reached


def cancel_self_matched(
    sim: SimState, reached: list[tuple[Account, dict[str, Any]]], matched: Matched
) -> None:
    """Cancel the resting orders :func:`prevent_self_trade` found (``cancel_maker``);
    their owners are told by :func:`settle`. Deribit documents no ``cancel_reason`` for
    it, so none is given."""
    for owner, resting in reached:
        cancel_one(sim, resting, None)
        matched.cancelled.append((owner, sim.market.instruments[resting["instrument_name"]],
                                  resting))  # fmt: skip


def past_limit(direction: str, price: float, limit: float | None) -> bool:
    """Whether a taker of ``direction`` limited to ``limit`` (None: a market order) may
    not trade at ``price``."""
    if limit is None:
        return False
    return price > limit + _EPS if direction == "buy" else price < limit - _EPS


def _self_trade_accounts(sim: SimState, account: Account) -> list[Account]:
    """The accounts ``account``'s orders must not trade with: itself, and when its main
    account's ``self_trading_extended_to_subaccounts`` is set (the main account decides
    for its subaccounts) the main account and every subaccount of it."""
    main = account if account.main is None else sim.trading.account(account.main)
    if not main.settings["self_trading_extended_to_subaccounts"]:
        return [account]
    return [main, *main.subaccounts.values()]


def _self_trade_orders(
    sim: SimState, account: Account, order: dict[str, Any]
) -> list[tuple[Account, dict[str, Any]]]:
    """The resting orders on the other side of ``order``'s book it must not trade with."""
    return [
        (owner, o)
        for owner in _self_trade_accounts(sim, account)
        for o in owner.live_orders()
        if o["order_state"] == "open"
        and o["instrument_name"] == order["instrument_name"]
        and o["direction"] != order["direction"]
        and o["order_type"] in _LIMIT_TYPES
    ]


class Matched:
    """What matching an order did besides the taker's trades: resting orders of other
    accounts it filled, MMP protections those fills tripped and resting orders
    self-trade prevention cancelled (all need notices)."""

    def __init__(self) -> None:
        self.makers: list[tuple[Account, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        """``(account, instrument, resting order, its trade)`` per maker fill."""
        self.tripped: list[tuple[Account, _mmp.MmpKey]] = []
        self.cancelled: list[tuple[Account, dict[str, Any], dict[str, Any]]] = []
        """``(account, instrument, order)`` per resting order self-trade prevention
        cancelled (``cancel_maker``)."""

    def count(self, sim: SimState, account: Account, instrument: dict[str, Any],
              order: dict[str, Any], price: float, amount: float) -> None:  # fmt: skip
        key = _mmp.record_fill(sim, account, instrument, order, amount, price)
        if key is not None:
            self.tripped.append((account, key))


def resting_orders(
    sim: SimState, name: str, direction: str, price: float
) -> list[tuple[Account, dict[str, Any]]]:
    """The simulated users' open limit orders of ``direction`` at ``price`` in ``name``'s
    book, oldest first: the queue of users at that level."""
    found = [
        (account, o)
        for account in sim.trading.accounts.values()
        for o in account.live_orders()
        if o["order_state"] == "open"
        and o["instrument_name"] == name
        and o["direction"] == direction
        and o["order_type"] in _LIMIT_TYPES
        and abs(o["price"] - price) < _EPS
    ]
    return sorted(found, key=lambda pair: pair[1].get("_queued", sys.maxsize))  # new: last


def market_part(
    book: Book, side: str, price: float, users: list[tuple[Account, dict[str, Any]]]
) -> float:
    """The simulated market's own liquidity in a level: what ``users``' orders (the level's
    :func:`resting_orders`) leave of it."""
    return max(0.0, round(book.amount_at(side, price) - sum(shown(o) for _, o in users), 10))


def _match(
    sim: SimState,
    account: Account,
    order: dict[str, Any],
    instrument: dict[str, Any],
    matched: Matched,
) -> list[dict[str, Any]]:
    """Take liquidity for ``order`` from the opposite side (never from orders it must not
    trade with: :func:`prevent_self_trade` is called first); returns the trades. At each price
    other accounts' resting orders fill first, oldest first (the simulated users trade
    with each other), then the simulated market's own liquidity."""
    name = instrument["instrument_name"]
    book = sim.market.books[name]
    taken_side = side_of(opposite(order["direction"]))
    if order["order_type"] in _LIMIT_TYPES:
        limit = order["price"]
    else:  # a market order takes no further than the price band (the ticker's min/max)
        low, high = sim.market.price_band(name)
        limit = high if order["direction"] == "buy" else low
    own = {o["price"] for _, o in _self_trade_orders(sim, account, order)}
    trades: list[dict[str, Any]] = []
    for level in list(book.levels(taken_side)):
        remaining = unfilled(order)
        if remaining <= _EPS:
            break
        price, available = level
        if past_limit(order["direction"], price, limit):
            break
        if any(abs(price - p) < _EPS for p in own):
            break  # prevent_self_trade ran first; only liquidity an MMP trip withdrew gets here
        market: float | None = None  # the market's own liquidity here, behind the users
        while remaining > _EPS:  # again while icebergs refresh their display at this price
            refreshed = False
            users = resting_orders(sim, name, opposite(order["direction"]), price)
            if market is None:
                market = min(market_part(book, taken_side, price, users), available)
            for maker, resting in users:
                if maker is account or _mmp.halted(sim, maker, instrument, resting):
                    continue  # a tripped protection's order: settle() cancels it
                take = min(remaining, shown(resting))
                if take <= _EPS:
                    continue
                public = sim.market.record_trade(name, order["direction"], price, take,
                                                 sim.now_ms(), **_print_members(order))  # fmt: skip
                trades.append(fill(sim, account, order, instrument, price, take, public=public))
                matched.count(sim, account, instrument, order, price, take)
                refreshed |= fill_resting(sim, maker, resting, instrument, public, matched)
                remaining = round(remaining - take, 10)
                if remaining <= _EPS:
                    break
            take = min(remaining, market)
            if take > _EPS:
                book.add(taken_side, price, -take)
                trades.append(fill(sim, account, order, instrument, price, take))
                matched.count(sim, account, instrument, order, price, take)
                remaining, market = round(remaining - take, 10), round(market - take, 10)
            if not refreshed:
                break
    return trades


def fill_resting(
    sim: SimState,
    maker: Account,
    resting: dict[str, Any],
    instrument: dict[str, Any],
    public: dict[str, Any],
    matched: Matched,
) -> bool:
    """Fill ``maker``'s resting order by the trade ``public`` printed: the order and its
    level shrink, and the maker's notice waits in ``matched`` for :func:`settle`. An
    iceberg whose display the fill used up shows ``refresh_amount`` again, at the back of
    the level's queue; returns whether one did."""
    price, amount = public["price"], public["amount"]
    made = fill(sim, maker, resting, instrument, price, amount, public=public, liquidity="M")
    matched.count(sim, maker, instrument, resting, price, amount)
    filled = resting["filled_amount"] >= resting["amount"] - _EPS
    resting.update(order_state="filled" if filled else "open", last_update_timestamp=sim.now_ms())
    matched.makers.append((maker, instrument, resting, made))
    book = sim.market.books[instrument["instrument_name"]]
    side = side_of(resting["direction"])
    book.add(side, price, -amount)
    if "refresh_amount" not in resting or filled:
        return False
    resting["display_amount"] = round(resting["display_amount"] - amount, 10)
    if resting["display_amount"] > _EPS:
        return False
    left = unfilled(resting)
    resting["display_amount"] = min(resting["refresh_amount"], left)
    book.add(side, price, resting["display_amount"])
    users = resting_orders(sim, instrument["instrument_name"], resting["direction"], price)
    resting.update(_queued=next(sim.trading.queue_places),
                   _ahead=market_part(book, side, price, users))  # fmt: skip
    return True


async def settle(sim: SimState, matched: Matched) -> None:
    """Tell the makers an order filled, end the MMP orders of tripped protections, and
    tell the owners of orders self-trade prevention cancelled."""
    for maker, instrument, resting, trade in matched.makers:
        notify_user(sim, maker, instrument, [resting], [trade])
    for account, key in matched.tripped:
        await _mmp_tripped(sim, account, key)
    for owner, instrument, resting in matched.cancelled:
        notify_user(sim, owner, instrument, [resting], [])
    await aftermath(sim)


async def _mmp_tripped(sim: SimState, account: Account, key: _mmp.MmpKey) -> None:
    """Cancel the open orders under a tripped MMP protection (reason ``mmp_trigger``) and
    announce it on ``user.mmp_trigger.{index_name}``."""
    tripped = [
        order
        for order in account.live_orders()
        if order["order_state"] == "open"
        and order["mmp"]
        and _mmp.key_of(sim.market.instruments[order["instrument_name"]], order) == key
    ]
    for order in tripped:
        order["mmp_cancelled"] = True
    await cancel_orders(sim, account, tripped, "mmp_trigger")
    await _mmp.announce(sim, account, key)


def fill(
    sim: SimState,
    account: Account,
    order: dict[str, Any],
    instrument: dict[str, Any],
    price: float,
    amount: float,
    *,
    public: dict[str, Any] | None = None,
    liquidity: str = "T",
    fee_rate: float | None = None,
) -> dict[str, Any]:
    """Fill ``amount`` of ``order`` at ``price``: the order, position, fee and ledger move,
    and the account's trade is returned. ``public`` is the market's print of it when it
    exists already (both sides of a block trade share one); else one is recorded. A
    combo's fill moves the positions in its legs, each leg's trade under ``legs``."""
    name = instrument["instrument_name"]
    order["filled_amount"] = round(order["filled_amount"] + amount, 10)
    linked_changed(sim, order)
    filled = order["filled_amount"]
    previous = order.get("average_price") or 0.0
    order["average_price"] = round((previous * (filled - amount) + price * amount) / filled, 8)
    if public is None:
        public = sim.market.record_trade(
            name, order["direction"], price, amount, sim.now_ms(), **_print_members(order)
        )
    state = "filled" if filled >= order["amount"] - _EPS else "open"
    if "legs" not in public:
        return _own_trade(sim, account, order, instrument, public, order["direction"], state,
                          liquidity, fee_rate)  # fmt: skip
    legs = [
        _own_trade(
            sim, account, order, sim.market.instruments[leg["instrument_name"]], leg,
            order["direction"] if leg["direction"] == public["direction"]
            else opposite(order["direction"]),
            state, liquidity, fee_rate,
        )
        for leg in public["legs"]
    ]  # fmt: skip
    trade = {
        **_trade_members(order, public, order["direction"], state, liquidity),
        "fee": 0.0,  # the legs pay
        "fee_currency": currency_of(instrument),
        "legs": legs,
    }
    remember(account.trades, trade)
    return trade


def _print_members(order: dict[str, Any]) -> dict[str, Any]:
    """What a print taken by ``order`` shows of it: ``liquidation`` ``T`` when the
    taker's side is being liquidated."""
    return {"liquidation": "T"} if order["is_liquidation"] else {}


def _own_trade(
    sim: SimState,
    account: Account,
    order: dict[str, Any],
    instrument: dict[str, Any],
    public: dict[str, Any],
    direction: str,
    state: str,
    liquidity: str,
    fee_rate: float | None,
) -> dict[str, Any]:
    """The account's side (``direction``) of the print ``public`` by ``order``: position,
    fee and ledger move; the trade is kept and returned."""
    name = instrument["instrument_name"]
    price, amount = public["price"], public["amount"]
    if fee_rate is None and order["is_liquidation"]:  # an extra fee on top of the taker's
        fee_rate = instrument["taker_commission"] + instrument.get("max_liquidation_commission", 0)
    value = exposure(sim, instrument, amount, price)
    fee = trade_fee(instrument, value, amount, price, liquidity, fee_rate)
    realized = book_trade(sim, account, instrument, direction, amount, price, fee,
                          trade_id=public["trade_id"], order_id=order["order_id"])  # fmt: skip
    if holds_position(instrument):
        repositioned(sim, account, name)
    trade = {
        **_trade_members(order, public, direction, state, liquidity),
        "fee": fee,
        "fee_currency": currency_of(instrument),
        "profit_loss": round(realized, 10),
    }
    remember(account.trades, trade)  # the newest HISTORY: a bot trades for days
    return trade


def _trade_members(
    order: dict[str, Any], public: dict[str, Any], direction: str, state: str, liquidity: str
) -> dict[str, Any]:
    """A user trade's members: the print's public ones, then the order's."""
    return {
        **public_trade(public),
        "direction": direction,  # the print shows the taker's
        "order_id": order["order_id"],
        "order_type": "liquidation" if order["is_liquidation"] else order["order_type"],
        "liquidity": liquidity,
        "state": state,
        "label": order["label"],
        "reduce_only": order["reduce_only"],
        "post_only": order["post_only"],
        "mmp": order["mmp"],
        "risk_reducing": False,
        "api": True,
        "profit_loss": 0.0,
        "matching_id": None,
        # an option's: the underlying its iv is of, and how an advanced order priced it
        **{k: public[k] for k in ("underlying_price",) if k in public},
        **{k: order[k] for k in ("advanced",) if k in order},
    }


# -- notifications ------------------------------------------------------------------------


async def notify(
    sim: SimState,
    account: Account,
    instrument: dict[str, Any],
    orders: list[dict[str, Any]],
    trades: list[dict[str, Any]],
) -> None:
    """Publish what an order operation did: the market's change to everyone, then the
    account's orders, trades, position and portfolio to its ``user.*`` channels."""
    await market_moved(sim, instrument["instrument_name"], trades)
    notify_user(sim, account, instrument, orders, trades)


# -- handlers -----------------------------------------------------------------------------


def new_order(
    sim: SimState,
    instrument: dict[str, Any],
    direction: str,
    amount: float,
    price: float | str,
    **members: Any,
) -> dict[str, Any]:
    """A new order object with Deribit's members: an open GTC limit order unless
    ``members`` say otherwise."""
    now = sim.now_ms()
    order: dict[str, Any] = {
        "order_id": deribit_id(currency_of(instrument), next(sim.trading.order_ids)),
        "instrument_name": instrument["instrument_name"],
        "direction": direction,
        "order_type": "limit",
        "order_state": "open",
        "price": price,
        "amount": amount,
        "contracts": round(amount / instrument["contract_size"], 10),
        "filled_amount": 0.0,
        "average_price": 0.0,
        "time_in_force": "good_til_cancelled",
        "label": "",
        "creation_timestamp": now,
        "last_update_timestamp": now,
        "post_only": False,
        "reject_post_only": False,
        "reduce_only": False,
        "api": True,
        "web": False,
        "replaced": False,
        "risk_reducing": False,
        "mmp": False,
        "is_liquidation": False,
        "_connection": None,
    }
    order.update(members)
    return order


def require_in_time(call: Call) -> None:
    """``valid_until``: a request the matching engine reaches after it is refused with
    ``13888 timed_out`` (buy, sell, edit, edit_by_label, mass_quote)."""
    valid_until = call.param("valid_until", int, None)
    if valid_until is not None and valid_until <= call.sim.now_ms():
        raise SimError(13888, "timed_out")


async def _place(call: Call, direction: str) -> dict[str, Any]:
    require_in_time(call)
    sim = call.sim
    account = account_of(call)
    instrument = _instrument(call)
    require_open(sim, instrument, "order")
    require_may_trade(account, instrument)
    order = build_order(call, instrument, direction)
    linked = _linked_orders(call, account, instrument, order)
    if order["mmp"]:
        if order["order_type"] != "limit":
            raise invalid_param("mmp", "only for limit orders")
        _mmp.check_order(sim, account, instrument, order)
    check_margin(sim, account, instrument, order)
    matched = Matched()
    trades = execute(sim, account, order, instrument, matched)
    for other in linked:  # an OCO partner runs now; an OTO secondary waits for the primary
        if "_waits" in other:
            account.keep_order(other)
        elif order["filled_amount"] > _EPS or order["order_state"] not in LIVE_STATES:
            # The primary traded or ended at once: its partner never reaches the book.
            other.update(order_state="cancelled", cancel_reason="oco_other_closed")
            account.keep_order(other)
        else:
            trades += execute(sim, account, other, instrument, matched)
    await notify(sim, account, instrument, [order, *linked], trades)
    await settle(sim, matched)
    return {"order": public_view(order), "trades": [t for t in trades if t["order_id"] ==
                                                    order["order_id"]]}  # fmt: skip


def build_order(call: Call, instrument: dict[str, Any], direction: str) -> dict[str, Any]:
    """The order a ``buy``/``sell`` request's params describe, checked but not placed."""
    sim = call.sim
    order_type = call.param("type", str, "limit")
    if order_type not in _ORDER_TYPES:
        raise invalid_param("type")
    amount = call.param("amount", float, None)
    contracts = call.param("contracts", float, None)
    size = instrument["contract_size"]
    if amount is None and contracts is None:
        raise invalid_param("amount", "amount or contracts required")
    if amount is None:
        amount = round(contracts * size, 10)
    elif contracts is not None and abs(contracts * size - amount) > _EPS:
        raise SimError(11029, "invalid_arguments", {"reason": "amount and contracts differ"})
    check_amount(instrument, amount)
    label = call.param("label", str, "")
    if len(label) > 64:
        raise invalid_param("label", "at most 64 characters")
    time_in_force = call.param("time_in_force", str, "good_til_cancelled")
    if time_in_force not in _TIME_IN_FORCE:
        raise invalid_param("time_in_force")
    post_only = call.param("post_only", bool, False)
    reject_post_only = call.param("reject_post_only", bool, False)
    if post_only and (order_type not in _LIMIT_TYPES or time_in_force != "good_til_cancelled"):
        # "Only valid in combination with time_in_force=good_til_cancelled"
        raise SimError(11055, "post_only_not_allowed")
    advanced = _advanced(call, instrument)
    if advanced and post_only:
        raise SimError(11039, "no_adv_postonly")
    price = call.param("price", float, None)
    if order_type in _LIMIT_TYPES:
        if price is None:
            raise invalid_param("price", "required for limit orders")
        if advanced:
            advanced[advanced["advanced"]] = price  # the order shows its usd or implv
            price = _advanced_price(sim, instrument, advanced)
        check_price(sim, instrument, direction, price)
    else:
        price = None  # "Only for limit and stop_limit orders": other types ignore it
        advanced = {}
    if order_type in _TRIGGER_TYPES and is_combo(instrument):
        raise SimError(13036, "unavailable_for_combo_books")
    iceberg = _iceberg(call, instrument, amount) if order_type in _LIMIT_TYPES else {}
    trigger = _trigger_params(call, instrument, order_type, direction)
    order = new_order(
        sim,
        instrument,
        direction,
        amount,
        price if price is not None else "market_price",
        order_type=order_type,
        order_state="untriggered" if order_type in _TRIGGER_TYPES else "open",
        time_in_force=time_in_force,
        label=label,
        post_only=post_only,
        reject_post_only=reject_post_only,
        reduce_only=call.param("reduce_only", bool, False),
        mmp=call.param("mmp", bool, False),
        _connection=call.session.id if call.session.is_websocket else None,
    )
    if trigger:
        order.update(trigger, triggered=False)
        order["trigger_order_id"] = f"{_TRIGGER_ID_PREFIX[order_type]}-{order['order_id']}"
    order.update(advanced, **iceberg)
    return order


def _iceberg(call: Call, instrument: dict[str, Any], amount: float) -> dict[str, Any]:
    """``display_amount`` and ``refresh_amount`` of an iceberg order (empty for others):
    the display must be at least 100 times the instrument's minimum amount and the hidden
    part less than 100 times the display (``10036`` otherwise). Options take none
    (``11048 wrong_max_show_for_option``: the simulator's reading of Deribit's "bad
    max-show for option")."""
    display = call.param("display_amount", float, None)
    if display is None or display >= amount:
        return {}
    if instrument["kind"] == "option":
        raise SimError(11048, "wrong_max_show_for_option")
    hidden = amount - display
    if display < 100 * instrument["min_trade_amount"] - _EPS or hidden >= 100 * display:
        raise SimError(10036, "invalid_max_show_amount")
    return {"display_amount": display, "refresh_amount": display}


def _advanced(call: Call, instrument: dict[str, Any]) -> dict[str, Any]:
    """``{"advanced": "usd" | "implv"}`` for an advanced option order (``11038`` outside
    options), else empty."""
    advanced = call.param("advanced", str, None)
    if advanced is None:
        return {}
    if advanced not in ("usd", "implv"):
        raise invalid_param("advanced")
    if instrument["kind"] != "option":
        raise SimError(11038, "no_adv_for_futures")
    return {"advanced": advanced}


def _advanced_price(sim: SimState, instrument: dict[str, Any], order: dict[str, Any]) -> float:
    """What an advanced order's ``usd`` or ``implv`` makes its price now."""
    kind = order["advanced"]
    if not order[kind] > 0:
        raise invalid_param("price", f"a positive {'USD price' if kind == 'usd' else 'volatility'}")
    return sim.market.advanced_price(instrument["instrument_name"], kind, order[kind],
                                     sim.now_ms())  # fmt: skip


async def _reprice_advanced(sim: SimState, names: Sequence[str]) -> None:
    """Deribit keeps an advanced order at its USD price or implied volatility: when the
    index moves, its price follows, as an edit would move it (behind the level's queue,
    trading if it now crosses)."""
    options = {n for n in names if sim.market.instruments[n]["kind"] == "option"}
    if not options:
        return
    for account in list(sim.trading.accounts.values()):
        for order in [o for o in account.live_orders() if o["instrument_name"] in options
                      and o["order_state"] == "open" and "advanced" in o]:  # fmt: skip
            instrument = sim.market.instruments[order["instrument_name"]]
            price = _advanced_price(sim, instrument, order)
            if price == order["price"]:
                continue
            try:
                reached = prevent_self_trade(sim, account, {**order, "price": price}, instrument)
            except SimError:  # it would trade with the account itself (reject_taker)
                await cancel_orders(sim, account, [order], None)
                continue
            book = sim.market.books[order["instrument_name"]]
            unrest(book, order["direction"], order["price"], shown(order))
            order.pop("_ahead", None)  # a new price: the back of the new level's queue
            order["price"] = price
            await _rematch(sim, account, order, instrument, reached, True)


_TRIGGER_ID_PREFIX = {"stop_limit": "SLL", "stop_market": "SLM", "take_limit": "TPL",
                      "take_market": "TPM", "trailing_stop": "TS"}  # fmt: skip


def reference_price(sim: SimState, instrument: dict[str, Any], trigger: str) -> float:
    """The price a trigger order watches: the last trade, the mark
    (:meth:`Market.mark_price`) or the instrument's index."""
    name = instrument["instrument_name"]
    last = float(sim.market.last_trade[name])
    if trigger == "index_price":
        return float(sim.market.index_prices.get(instrument["price_index"], last))
    if trigger == "mark_price":
        return sim.market.mark_price(name)
    return last


def trigger_reached(order_type: str, direction: str, reference: float, trigger: float) -> bool:
    """Whether a trigger order fires at ``reference``: buy stops (trailing or not) and
    sell take-profits once it rises to ``trigger``, the others once it falls to it."""
    rising = (direction == "sell") != order_type.startswith(("stop", "trailing"))
    return reference >= trigger if rising else reference <= trigger


def _check_unreached(
    sim: SimState, instrument: dict[str, Any], order: dict[str, Any], trigger_price: float
) -> None:
    """A stop or take-profit ``order``'s new ``trigger_price``: positive (``-32602``) and
    not yet reached by its reference price, or it would fire the moment it was placed:
    ``11036 invalid_trigger_price``, Deribit's "too high or too low in relation to the
    last trade, index or market price"."""
    if trigger_price <= 0:
        raise invalid_param("trigger_price", "must be positive")
    reference = reference_price(sim, instrument, order["trigger"])
    if trigger_reached(order["order_type"], order["direction"], reference, trigger_price):
        raise SimError(11036, "invalid_trigger_price")


def _trigger_params(
    call: Call, instrument: dict[str, Any], order_type: str, direction: str
) -> dict[str, Any]:
    """A trigger order's ``trigger``, ``trigger_price`` (on the tick: ``10044``; not
    reached yet: :func:`_check_unreached`) and, for a trailing stop, ``trigger_offset``
    with the reference price it trails from."""
    if order_type not in _TRIGGER_TYPES:
        return {}
    trigger = call.param("trigger", str, "last_price")
    if trigger not in _TRIGGERS:
        raise invalid_param("trigger", f"must be one of {', '.join(_TRIGGERS)}")
    if order_type == "trailing_stop":
        offset = call.param("trigger_offset", float, None)
        if offset is None or offset <= 0:
            raise invalid_param("trigger_offset", "a positive offset is required")
        reference = reference_price(call.sim, instrument, trigger)
        stop = reference - offset if direction == "sell" else reference + offset
        return {"trigger": trigger, "trigger_offset": offset, "trigger_reference_price": reference,
                "trigger_price": stop, "_peak": reference}  # fmt: skip
    trigger_price = _trigger_price(call, instrument)
    if trigger_price is None:
        raise invalid_param("trigger_price", "required for trigger orders")
    order = {"order_type": order_type, "direction": direction, "trigger": trigger}
    _check_unreached(call.sim, instrument, order, trigger_price)
    return {"trigger": trigger, "trigger_price": trigger_price}


def _trigger_price(call: Call, instrument: dict[str, Any]) -> float | None:
    """The ``trigger_price`` param, if sent: on the tick (``10044`` otherwise)."""
    trigger_price: float | None = call.param("trigger_price", float, None)
    if trigger_price is not None and not on_tick(trigger_price, instrument["tick_size"]):
        raise SimError(10044, "trigger_price_wrong_tick")
    return trigger_price


def check_amount(instrument: dict[str, Any], amount: float) -> None:
    """An order size's checks: ``10002 qty_too_low``, ``10027`` off the contract steps."""
    if amount < instrument["min_trade_amount"] - _EPS:
        raise SimError(10002, "qty_too_low")
    if not on_tick(amount, instrument["min_trade_amount"]):
        raise SimError(10027, "non_integer_contract_amount")


def check_positive_price(instrument: dict[str, Any], price: float) -> None:
    """``-32602`` for a price at or below zero, which only a combo (a spread) can have."""
    if price <= 0.0 and not is_combo(instrument):
        raise invalid_param("price", "must be positive")


def check_price(sim: SimState, instrument: dict[str, Any], direction: str, price: float) -> None:
    """A limit price's checks: not positive (``-32602``), ``10043`` off the tick, outside
    the band (``10007``/``10005``)."""
    check_positive_price(instrument, price)
    if not on_tick(price, instrument["tick_size"]):
        raise SimError(10043, "price_wrong_tick")
    ticker = sim.market.ticker(instrument["instrument_name"], sim.now_ms())
    if direction == "buy" and price > ticker["max_price"]:
        raise SimError(10007, f"price_too_high {ticker['max_price']}")
    if direction == "sell" and price < ticker["min_price"]:
        raise SimError(10005, f"price_too_low {ticker['min_price']}")


def execute(
    sim: SimState,
    account: Account,
    order: dict[str, Any],
    instrument: dict[str, Any],
    matched: Matched,
) -> list[dict[str, Any]]:
    """Run a checked, new (or re-priced) order: trigger orders rest untriggered, a
    crossing post-only order is repriced (or refused: ``reject_post_only``), others match;
    then it rests, fills or ends, and the account keeps it. Returns its trades."""
    trades: list[dict[str, Any]] = []
    book = sim.market.books[instrument["instrument_name"]]
    direction, price = order["direction"], order["price"]
    if order["reduce_only"] and order["order_state"] == "open":
        _cap_reduce_only(sim, account, order, instrument)
    if order["order_state"] == "cancelled":
        pass  # a reduce-only order with nothing to reduce
    elif order["order_state"] == "untriggered":
        # Waits for its reference price (``_triggers`` watches every market move).
        waiting = sim.trading.untriggered.setdefault(instrument["instrument_name"], {})
        waiting[order["order_id"]] = (account, order)
    elif post_only_takes(book, order):
        if order["reject_post_only"]:
            raise SimError(11054, "post_only_reject")
        order["price"] = _inside_spread(book, direction, price)
    else:
        cancel_self_matched(sim, prevent_self_trade(sim, account, order, instrument), matched)
        trades = _match(sim, account, order, instrument, matched)
    if order["order_state"] != "cancelled":
        _finish(sim, account, order, book)
    order["last_update_timestamp"] = sim.now_ms()
    account.keep_order(order)
    linked_changed(sim, order)
    return trades


# -- reduce-only orders ---------------------------------------------------------------------
# Deribit's "Introduction to reduce-only": a reduce-only order never exceeds the open
# contracts it reduces; several never exceed them together, the one that would execute
# first keeping its quantity and those behind it adjusted down; a position reduced by
# other means adjusts them down too, one grown does not raise them.


def repositioned(sim: SimState, account: Account, name: str) -> None:
    """Note that ``account``'s reduce-only orders in ``name`` may no longer fit its
    position: :func:`_fit_reduce_only` adjusts them."""
    sim.trading.repositioned[(id(account), name)] = (account, name)


def _reduce_priority(order: dict[str, Any]) -> tuple[float, int]:
    """Which of an account's reduce-only orders would execute first: the best price (an
    unpriced order before any), then the earlier in its queue (a new one last)."""
    price = order["price"]
    if not isinstance(price, float):
        rank = float("-inf")
    else:
        rank = -price if order["direction"] == "buy" else price
    return rank, order.get("_queued", sys.maxsize)


def _reducing(account: Account, name: str, direction: str) -> list[dict[str, Any]]:
    """The account's open reduce-only orders of ``direction`` in ``name``, first first."""
    orders = [
        o
        for o in account.live_orders()
        if o["order_state"] == "open"
        and o["reduce_only"]
        and o["instrument_name"] == name
        and o["direction"] == direction
    ]
    return sorted(orders, key=_reduce_priority)


def _closable(account: Account, name: str, direction: str) -> float:
    """How much of the position in ``name`` an order of ``direction`` reduces."""
    size = float(account.positions.get(name, {}).get("size", 0.0))
    return max(-size if direction == "buy" else size, 0.0)


def _cap_reduce_only(
    sim: SimState, account: Account, order: dict[str, Any], instrument: dict[str, Any]
) -> None:
    """Cut a reduce-only order about to execute (placed, edited or triggered) to what the
    position leaves once the reduce-only orders ahead of it are counted; with nothing
    left it ends ``cancelled`` (its amount as asked)."""
    name, direction = instrument["instrument_name"], order["direction"]
    repositioned(sim, account, name)  # the orders behind it may have to shrink
    if is_combo(instrument):
        return  # a combo's position lies in its legs
    mine = _reduce_priority(order)
    ahead = sum(
        unfilled(o)
        for o in _reducing(account, name, direction)
        if o["order_id"] != order["order_id"] and _reduce_priority(o) <= mine
    )
    room = _closable(account, name, direction) - ahead
    if room <= _EPS:
        order["order_state"] = "cancelled"
    elif unfilled(order) > room:
        _resize(order, instrument, order["filled_amount"] + room)


def _resize(order: dict[str, Any], instrument: dict[str, Any], amount: float) -> None:
    order["amount"] = round(amount, 10)
    order["contracts"] = round(amount / instrument["contract_size"], 10)


async def _fit_reduce_only(sim: SimState) -> None:
    """Adjust the reduce-only orders of every position that moved (see
    :func:`repositioned`) down to what the position leaves each of them, in the order
    they would execute; one left with nothing is cancelled. Book subscribers see the
    levels change, owners each order."""
    pending, sim.trading.repositioned = sim.trading.repositioned, {}
    for account, name in pending.values():
        instrument = sim.market.instruments[name]
        if is_combo(instrument):
            continue
        changed = []
        for direction in ("buy", "sell"):
            room = _closable(account, name, direction)
            for order in _reducing(account, name, direction):
                left = unfilled(order)
                if left > room + _EPS:
                    if room <= _EPS:
                        cancel_one(sim, order, None)  # Deribit documents no reason for it
                    else:
                        before = shown(order)
                        _resize(order, instrument, order["filled_amount"] + room)
                        unrest(sim.market.books[name], direction, order["price"],
                               before - shown(order))  # fmt: skip
                        order["last_update_timestamp"] = sim.now_ms()
                    changed.append(order)
                room = max(room - left, 0.0)
        if changed:
            await notify(sim, account, instrument, changed, [])  # the book changed too


async def aftermath(sim: SimState) -> None:
    """What order changes set off once they are done, until nothing more follows:
    reduce-only orders refitted to their positions, linked orders placed or cancelled."""
    while sim.trading.repositioned or sim.trading.linked:
        await _fit_reduce_only(sim)
        await _follow_links(sim)


# -- linked orders ----------------------------------------------------------------------
# Deribit's linked_order_type: "one_triggers_other" (the primary's execution places the
# secondaries of otoco_config), "one_cancels_other" (the execution of one order of the pair
# cancels the other) and "one_triggers_one_cancels_other" (the primary's execution places
# a stop-loss and take-profit pair that cancel each other); trigger_fill_condition
# first_hit (any execution places them whole), complete_fill (the primary's complete
# execution does) or incremental (each fill places its share, rounded down to the
# contract size). A secondary waits ``untriggered`` (``is_secondary_oto``); one whose
# primary closes without placing it is cancelled (``oto_primary_closed``), an OCO order
# whose partner traded or closed too (``oco_other_closed``).

_LINKED_TYPES = {"one_triggers_other": None, "one_cancels_other": 1,
                 "one_triggers_one_cancels_other": 2}  # fmt: skip
"""Each linked order type and how many orders its ``otoco_config`` holds (None: any)."""
_FILL_CONDITIONS = frozenset({"first_hit", "complete_fill", "incremental"})


def linked_changed(sim: SimState, order: dict[str, Any]) -> None:
    """Note that a linked order traded or closed: :func:`aftermath` follows its links."""
    if "_owner" in order:
        sim.trading.linked[order["order_id"]] = order


def _linked_orders(
    call: Call, account: Account, instrument: dict[str, Any], order: dict[str, Any]
) -> list[dict[str, Any]]:
    """The orders a request's ``otoco_config`` links to ``order`` (built and checked, not
    placed); none without ``linked_order_type``. Unless a config order names its
    ``direction`` and ``amount``, it has the primary's amount and closes what the
    primary opens (OTO, OTOCO) or, in an OCO pair, trades the primary's way."""
    kind = call.param("linked_order_type", str, None)
    config = call.param("otoco_config", list, None, items=dict)
    if kind is None:
        for name in ("otoco_config", "trigger_fill_condition"):
            if name in call.params:
                raise invalid_param(name, "only with linked_order_type")
        return []
    if kind not in _LINKED_TYPES:
        raise invalid_param("linked_order_type")
    condition = call.param("trigger_fill_condition", str, "first_hit")
    if condition not in _FILL_CONDITIONS:
        raise invalid_param("trigger_fill_condition")
    wanted = _LINKED_TYPES[kind]
    if not config or (wanted is not None and len(config) != wanted):
        raise invalid_param("otoco_config", f"{kind} links {wanted or 'one or more'} orders")
    primary_way = order["direction"] if kind == "one_cancels_other" else None
    linked = []
    for entry in config:
        params = {"amount": order["amount"], "direction": primary_way or
                  opposite(order["direction"]), **entry,
                  "instrument_name": instrument["instrument_name"]}  # fmt: skip
        one = Call(call.sim, call.session, call.method, params)
        direction = one.param("direction", str)
        if direction not in ("buy", "sell"):
            raise invalid_param("otoco_config", "a direction is buy or sell")
        linked.append(build_order(one, instrument, direction))
    for other in (order, *linked):
        other["_owner"] = account
    ref = f"OCO-{order['order_id']}"
    if kind == "one_cancels_other":
        for other in linked:
            check_margin(call.sim, account, instrument, other)
        for other in (order, *linked):
            other["oco_ref"] = ref
        return linked
    order.update(oto_order_ids=[o["order_id"] for o in linked], trigger_fill_condition=condition,
                 _secondaries=linked)  # fmt: skip
    if kind == "one_triggers_one_cancels_other":
        order["is_primary_otoco"] = True
    for other in linked:
        other.update(is_secondary_oto=True, primary_order_id=order["order_id"],
                     _waits=other["order_state"], order_state="untriggered")  # fmt: skip
        if kind == "one_triggers_one_cancels_other":
            other["oco_ref"] = ref
    return linked


async def run_waiting(
    sim: SimState, account: Account, instrument: dict[str, Any], order: dict[str, Any]
) -> None:
    """Run an order that waited (a trigger order that fired, a secondary its primary
    placed); if the account cannot cover its margin now or the market refuses it
    (self-trading, say), it ends ``rejected`` instead of failing what set it off."""
    matched = Matched()
    try:
        check_margin(sim, account, instrument, order)
        trades = execute(sim, account, order, instrument, matched)
    except SimError as refused:
        order.update(order_state="rejected", reject_reason=refused.message)
        linked_changed(sim, order)  # an OCO partner or a secondary follows
        trades = []
    await notify(sim, account, instrument, [order], trades)
    await settle(sim, matched)


async def _follow_links(sim: SimState) -> None:
    """Place or cancel what the linked orders noted by :func:`linked_changed` decide."""
    pending, sim.trading.linked = sim.trading.linked, {}
    for order in pending.values():
        account: Account = order["_owner"]
        closed = order["order_state"] not in LIVE_STATES
        if "oco_ref" in order and (closed or order["filled_amount"] > _EPS):
            partners = [o for o in account.live_orders()
                        if o.get("oco_ref") == order["oco_ref"] and o is not order]  # fmt: skip
            for partner in partners:
                cancel_one(sim, partner, "oco_other_closed")
            if partners:
                instrument = sim.market.instruments[order["instrument_name"]]
                await notify(sim, account, instrument, partners, [])
        if "_secondaries" in order:
            await _trigger_secondaries(sim, account, order, closed)


async def _trigger_secondaries(
    sim: SimState, account: Account, primary: dict[str, Any], closed: bool
) -> None:
    instrument = sim.market.instruments[primary["instrument_name"]]
    size = instrument["contract_size"]
    filled, condition = primary["filled_amount"], primary["trigger_fill_condition"]
    for order in primary["_secondaries"]:
        if order["order_state"] not in LIVE_STATES:
            continue  # cancelled by its owner, or placed and ended
        waiting = "_waits" in order
        whole = order.setdefault("_whole", order["amount"])  # its amount until first placed
        if condition == "incremental":
            share = whole * filled / primary["amount"]
            due = math.floor(share / size + _EPS) * size
        elif condition == "first_hit" or primary["order_state"] == "filled":
            due = whole if filled > _EPS else 0.0
        else:  # complete_fill, not complete yet
            due = 0.0
        if waiting and due > _EPS:
            _resize(order, instrument, due)
            order["order_state"] = order.pop("_waits")
            await run_waiting(sim, account, instrument, order)
        elif waiting and closed:
            del order["_waits"]
            cancel_one(sim, order, "oto_primary_closed")
            await notify(sim, account, instrument, [order], [])
        elif not waiting and due > order["amount"] + _EPS:  # incremental: its share grows
            before = shown(order)
            _resize(order, instrument, due)
            if order["order_state"] == "open":
                _rest(sim.market.books[instrument["instrument_name"]], order["direction"],
                      order["price"], shown(order) - before)  # fmt: skip
            await notify(sim, account, instrument, [order], [])


def check_margin(
    sim: SimState,
    account: Account,
    instrument: dict[str, Any],
    order: dict[str, Any],
    *,
    replacing: dict[str, Any] | None = None,
) -> None:
    """Refuse an order whose added initial margin the account cannot cover (``10009``),
    as Deribit does (``replacing``: the live order it would become, as an edit's; see
    :func:`margin_room`); what only reduces a position needs none. A spot order needs
    what it spends, beyond what the account's other spot orders hold (``10039``)."""
    if instrument["kind"] == "spot":
        _check_spot_funds(sim, account, instrument, order)
        return
    if order["reduce_only"]:
        return
    added, available = margin_room(sim, account, instrument, order, replacing=replacing)
    # An order adding nothing (one that closes) is let through even below water.
    if added > 1e-12 and added > available:
        raise SimError(10009, "not_enough_funds")


def _check_spot_funds(
    sim: SimState, account: Account, instrument: dict[str, Any], order: dict[str, Any]
) -> None:
    left = unfilled(order)
    if order["direction"] == "sell":
        currency, needed = instrument["base_currency"], left
    else:
        price = order["price"]
        if not isinstance(price, float):  # a market buy: at most the band's top
            price = sim.market.price_band(instrument["instrument_name"])[1]
        currency, needed = instrument["quote_currency"], left * float(price)
    summary = account_figures(sim, account, currency, pooled=False)  # spot spends what is there
    others = spot_reserve(sim, account, currency, besides=order)
    free = summary["available_funds"] + summary["spot_reserve"] - others
    if needed > free + 1e-9:
        raise SimError(10039, f"not_enough_funds_in_currency {currency}")


def post_only_takes(book: Book, order: dict[str, Any]) -> bool:
    """Whether ``order`` is a post-only limit order its price would make a taker: it is
    then refused (``reject_post_only``) or rests a tick inside the spread instead."""
    return (
        bool(order["post_only"])
        and order["order_type"] in _LIMIT_TYPES
        and _crosses(book, order["direction"], order["price"])
    )


def _inside_spread(book: Book, direction: str, price: float) -> float:
    """Where a post-only order that would take rests: a tick inside the opposite best."""
    best = (book.best_ask if direction == "buy" else book.best_bid) or [price]
    return book.round(best[0] - book.tick if direction == "buy" else best[0] + book.tick)


def _crosses(book: Book, direction: str, price: float | None) -> bool:
    if price is None:
        return True
    best = book.best_ask if direction == "buy" else book.best_bid
    return best is not None and (price >= best[0] if direction == "buy" else price <= best[0])


def _finish(sim: SimState, account: Account, order: dict[str, Any], book: Book) -> None:
    """Settle an order's state after matching: filled, resting, or cancelled remainder."""
    if order["order_state"] == "untriggered":
        return  # the one case where Deribit reports "market_price" as the price
    if order["price"] == "market_price":
        # A market order that ran reports a number: what it filled at on average (or, if
        # nothing filled, the book's mid), never the placeholder string.
        filled = order["filled_amount"] > 0
        order["price"] = order["average_price"] if filled else (book.mid() or 0.0)
    remaining = unfilled(order)
    if remaining <= _EPS:
        order["order_state"] = "filled"
    elif order["order_type"] not in _LIMIT_TYPES or order["time_in_force"] in (
        "immediate_or_cancel",
        "fill_or_kill",
    ):
        # Deribit keeps the requested amount; filled_amount says how much executed.
        order["order_state"] = "cancelled" if order["filled_amount"] == 0 else "filled"
    else:
        order["order_state"] = "open"
        # Queued behind the users before it and the market's liquidity already in the
        # level (its trades take that first: _activity); a re-rested order keeps a place
        # it had at the same price.
        side, price = side_of(order["direction"]), order["price"]
        users = resting_orders(sim, order["instrument_name"], order["direction"], price)
        ahead = market_part(book, side, price, [pair for pair in users if pair[1] is not order])
        if "_ahead" in order:
            order["_ahead"] = min(ahead, order["_ahead"])
        else:
            order.update(_ahead=ahead, _queued=next(sim.trading.queue_places))
        if "refresh_amount" in order:  # an iceberg shows its display, at most what is left
            order["display_amount"] = min(order["display_amount"] or order["refresh_amount"],
                                          remaining)  # fmt: skip
        _rest(book, order["direction"], price, shown(order))


async def buy(call: Call) -> dict[str, Any]:
    return await _place(call, "buy")


async def sell(call: Call) -> dict[str, Any]:
    return await _place(call, "sell")


def _open_order(call: Call, order_id: str) -> dict[str, Any]:
    order = account_of(call).orders.get(order_id)
    if order is None:
        raise SimError(10004, "order_not_found")
    if order["order_state"] not in LIVE_STATES:
        raise SimError(10010, "already_closed")
    return order


async def _edit(call: Call, order: dict[str, Any]) -> dict[str, Any]:
    require_in_time(call)
    sim = call.sim
    account = account_of(call)
    instrument = _instrument(call, order["instrument_name"])
    require_open(sim, instrument, "edit")
    require_may_trade(account, instrument)
    book = sim.market.books[order["instrument_name"]]
    amount = call.param("amount", float, None)
    contracts = call.param("contracts", float, None)
    if amount is None and contracts is not None:
        amount = contracts * instrument["contract_size"]
    price = call.param("price", float, None)
    if amount is None and price is None:
        raise invalid_param("amount", "amount or price required")
    if amount is not None and amount < order["filled_amount"] - _EPS:
        raise SimError(10021, "invalid_amount")
    advanced = _advanced(call, instrument)
    if advanced and "advanced" not in order:
        raise SimError(11041, "not_adv_order")
    if price is not None and advanced:  # the price is the order's usd or implv again
        advanced[advanced["advanced"]] = price
        price = _advanced_price(sim, instrument, advanced)
    if price is not None:
        check_price(sim, instrument, order["direction"], price)
    trigger_price = _trigger_price(call, instrument)
    if order["order_state"] != "untriggered" or order["order_type"] == "trailing_stop":
        trigger_price = None  # only a waiting stop or take-profit has one to move
    if trigger_price is not None:
        _check_unreached(sim, instrument, order, trigger_price)
    # Checked as the order it becomes, before anything changes.
    edited = {**order, "amount": order["amount"] if amount is None else amount,
              "price": order["price"] if price is None else price,
              "post_only": call.param("post_only", bool, order["post_only"]),
              "reject_post_only": call.param("reject_post_only", bool,
                                             order["reject_post_only"]),
              "reduce_only": call.param("reduce_only", bool, order["reduce_only"])}  # fmt: skip
    if order["mmp"]:
        _mmp.check_order(sim, account, instrument, edited)
    check_margin(sim, account, instrument, edited, replacing=order)
    iceberg = (
        _iceberg(call, instrument, edited["amount"]) if "display_amount" in call.params else None
    )
    takes = order["order_state"] == "open"
    if takes and edited["reduce_only"]:
        _cap_reduce_only(sim, account, edited, instrument)
        if edited["order_state"] == "cancelled":  # nothing left to reduce
            order["reduce_only"] = True
            await cancel_orders(sim, account, [order], None)
            return {"order": public_view(order), "trades": []}
        amount = edited["amount"]
    if takes and post_only_takes(book, edited):
        if edited["reject_post_only"]:
            # Deribit's cancel reason for it: "cancelled on edit because of reject_post_only".
            await cancel_orders(sim, account, [order], "edit_post_only_reject")
            raise SimError(11054, "post_only_reject")
        price = edited["price"] = _inside_spread(book, order["direction"], edited["price"])
        takes = False
    reached = prevent_self_trade(sim, account, edited, instrument) if takes else []
    if order["order_state"] == "open":
        unrest(book, order["direction"], order["price"], shown(order))
    if (price is not None and price != order["price"]) or (
        amount is not None and amount > order["amount"] + _EPS
    ):
        order.pop("_ahead", None)  # a new price or a bigger order joins the back of the queue
    if amount is not None:
        order["amount"] = amount
        order["contracts"] = round(amount / instrument["contract_size"], 10)
    if trigger_price is not None:
        order["trigger_price"] = trigger_price
    if price is not None:
        order["price"] = price
        for key in ("advanced", "usd", "implv"):  # a plain price ends an advanced order
            order.pop(key, None)
        order.update(advanced)
    for flag in ("post_only", "reject_post_only", "reduce_only"):
        order[flag] = edited[flag]
    if iceberg is not None:  # a new display (or none: shown whole)
        order.pop("display_amount", None)
        order.pop("refresh_amount", None)
        order.update(iceberg)
    order["replaced"] = True
    trades = await _rematch(sim, account, order, instrument, reached, takes)
    return {"order": public_view(order), "trades": trades}


async def _rematch(
    sim: SimState,
    account: Account,
    order: dict[str, Any],
    instrument: dict[str, Any],
    reached: list[tuple[Account, dict[str, Any]]],
    takes: bool,
) -> list[dict[str, Any]]:
    """Put back an open order taken out of its level to change (an edit, an advanced
    order's new price): it trades first if ``takes`` (past the own orders ``reached``
    cancelled), then rests; its owner and the makers are told. Returns its trades."""
    matched = Matched()
    cancel_self_matched(sim, reached, matched)
    trades = _match(sim, account, order, instrument, matched) if takes else []
    _finish(sim, account, order, sim.market.books[instrument["instrument_name"]])
    order["last_update_timestamp"] = sim.now_ms()
    await notify(sim, account, instrument, [order], trades)
    await settle(sim, matched)
    return trades


async def edit(call: Call) -> dict[str, Any]:
    return await _edit(call, _open_order(call, call.param("order_id")))


async def edit_by_label(call: Call) -> dict[str, Any]:
    name = call.param("instrument_name")
    label = call.param("label")
    matches = [
        o
        for o in account_of(call).live_orders()
        if o["label"] == label and o["instrument_name"] == name and o["order_state"] == "open"
    ]
    if not matches:
        raise SimError(10004, "order_not_found")
    if len(matches) > 1:
        raise SimError(13032, "non_unique_order_label")
    return await _edit(call, matches[0])


def cancel_one(sim: SimState, order: dict[str, Any], reason: str | None) -> None:
    linked_changed(sim, order)
    if order["order_state"] == "open":
        book = sim.market.books[order["instrument_name"]]
        unrest(book, order["direction"], order["price"], shown(order))
    order["order_state"] = "cancelled"
    if reason is not None:
        order["cancel_reason"] = reason
    order["last_update_timestamp"] = sim.now_ms()


async def cancel_orders(
    sim: SimState, account: Account, orders: list[dict[str, Any]], reason: str | None
) -> None:
    """Cancel ``account``'s ``orders`` and publish them (their owner and the books hear of
    it, one notice per instrument), then what the cancellations set off (linked orders,
    reduce-only refits)."""
    by_instrument: dict[str, list[dict[str, Any]]] = {}
    for order in orders:
        cancel_one(sim, order, reason)
        by_instrument.setdefault(order["instrument_name"], []).append(order)
    for name, cancelled in by_instrument.items():
        await notify(sim, account, sim.market.instruments[name], cancelled, [])
    await aftermath(sim)


async def cancel(call: Call) -> dict[str, Any]:
    order = _open_order(call, call.param("order_id"))
    instrument = _instrument(call, order["instrument_name"])
    require_open(call.sim, instrument, "cancel")
    await cancel_orders(call.sim, account_of(call), [order], "user_request")
    return public_view(order)


async def cancel_many(call: Call, select: Any) -> int | list[dict[str, Any]]:
    """Cancel the open orders ``select`` accepts; build Deribit's execution reports."""
    sim = call.sim
    account = account_of(call)
    detailed = call.param("detailed", bool, False)
    if call.param("freeze_quotes", bool, False):
        account.quotes_frozen_until = sim.now_ms() + 1000  # new quotes refused for 1 s
    chosen = [
        o
        for o in account.live_orders()
        if select(o, sim.market.instruments[o["instrument_name"]])
        # books that accept no cancel (settlement, halted, ...) keep their orders
        and accepts(sim, sim.market.instruments[o["instrument_name"]], "cancel")
    ]
    failures = call.sim.trading.cancel_failures
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for order in chosen:
        instrument = sim.market.instruments[order["instrument_name"]]
        kind = "trigger" if order["order_type"] in _TRIGGER_TYPES else "limit"
        groups.setdefault((currency_of(instrument), kind, order["instrument_name"]), []).append(
            order
        )
    reports: list[dict[str, Any]] = []
    failed_currencies: dict[str, tuple[int, str]] = {}
    for currency in {key[0] for key in groups}:
        queue = failures.get(currency)
        if queue:
            failed_currencies[currency] = queue.pop(0)
    for currency, (code, message) in sorted(failed_currencies.items()):
        # One erroneous report per failed internal sub-request (REFERENCE 7.8).
        reports.append(
            {"currency": currency, "type": "limit", "error": {"code": code, "message": message}}
        )
    cancelled = 0
    for (currency, kind, name), orders in sorted(groups.items()):
        if currency in failed_currencies:
            continue
        for order in orders:
            cancel_one(sim, order, "user_request")
        cancelled += len(orders)
        reports.append(
            {
                "currency": currency,
                "type": kind,
                "instrument_name": name,
                "result": [public_view(o) for o in orders],
            }
        )
        await notify(sim, account, sim.market.instruments[name], orders, [])
    await aftermath(sim)
    return reports if detailed else cancelled


async def cancel_all(call: Call) -> int | list[dict[str, Any]]:
    return await cancel_many(call, lambda order, instrument: True)


async def cancel_all_by_currency(call: Call) -> int | list[dict[str, Any]]:
    currency = call.param("currency")
    kind = call.param("kind", str, None)
    wanted = call.param("type", str, None)
    return await cancel_many(
        call,
        lambda o, i: (
            currency_of(i) == currency
            and kind_matches(i["kind"], kind)
            and _type_matches(o, wanted)
        ),
    )


async def cancel_all_by_currency_pair(call: Call) -> int | list[dict[str, Any]]:
    pair = call.param("currency_pair")
    kind = call.param("kind", str, None)
    wanted = call.param("type", str, None)
    return await cancel_many(
        call,
        lambda o, i: (
            i["price_index"] == pair and kind_matches(i["kind"], kind) and _type_matches(o, wanted)
        ),
    )


async def cancel_all_by_instrument(call: Call) -> int | list[dict[str, Any]]:
    name = _instrument(call)["instrument_name"]
    wanted = call.param("type", str, None)
    names = {name}
    if call.param("include_combos", bool, False):  # and the combos with a leg in it
        combo_legs = call.sim.market.combo_legs.items()
        names |= {combo for combo, legs in combo_legs if any(leg == name for leg, _ in legs)}
    return await cancel_many(
        call, lambda o, i: o["instrument_name"] in names and _type_matches(o, wanted)
    )


async def cancel_all_by_kind_or_type(call: Call) -> int | list[dict[str, Any]]:
    currency = call.param("currency", (str, list), items=str)
    currencies = {currency} if isinstance(currency, str) else set(currency)
    kind = call.param("kind", str, None)
    wanted = call.param("type", str, None)
    return await cancel_many(
        call,
        lambda o, i: (
            ("any" in currencies or currency_of(i) in currencies)
            and kind_matches(i["kind"], kind)
            and _type_matches(o, wanted)
        ),
    )


async def cancel_by_label(call: Call) -> int | list[dict[str, Any]]:
    label = call.param("label")
    currency = call.param("currency", str, None)
    return await cancel_many(
        call, lambda o, i: o["label"] == label and currency in (None, currency_of(i))
    )


async def close_position(call: Call) -> dict[str, Any]:
    instrument = _instrument(call)
    name = instrument["instrument_name"]
    size = account_of(call).positions.get(name, {}).get("size", 0.0)
    if abs(size) < _EPS:
        raise SimError(10010, "already_closed")
    call.params.update(amount=abs(size), reduce_only=True)
    if call.param("type") not in ("limit", "market"):
        raise invalid_param("type")
    return await _place(call, "sell" if size > 0 else "buy")


def _orders(call: Call, select: Any, *, live: bool = False) -> list[dict[str, Any]]:
    """The caller's stored orders ``select`` accepts (``live``: open and untriggered
    ones only, without walking the history)."""
    account = account_of(call)
    return [
        public_view(o)
        for o in (account.live_orders() if live else account.orders.values())
        if select(o, call.sim.market.instruments[o["instrument_name"]])
    ]


def get_open_orders(call: Call) -> list[dict[str, Any]]:
    kind, wanted = call.param("kind", str, None), call.param("type", str, None)
    return _orders(
        call,
        lambda o, i: kind_matches(i["kind"], kind) and _type_matches(o, wanted),
        live=True,
    )


def get_open_orders_by_currency(call: Call) -> list[dict[str, Any]]:
    currency = call.param("currency")
    kind, wanted = call.param("kind", str, None), call.param("type", str, None)
    return _orders(
        call,
        lambda o, i: (
            currency_of(i) == currency
            and kind_matches(i["kind"], kind)
            and _type_matches(o, wanted)
        ),
        live=True,
    )


def get_open_orders_by_instrument(call: Call) -> list[dict[str, Any]]:
    name = _instrument(call)["instrument_name"]
    wanted = call.param("type", str, None)
    return _orders(
        call,
        lambda o, i: o["instrument_name"] == name and _type_matches(o, wanted),
        live=True,
    )


def get_open_orders_by_label(call: Call) -> list[dict[str, Any]]:
    currency, label = call.param("currency"), call.param("label")
    return _orders(
        call,
        lambda o, i: o["label"] == label and currency_of(i) == currency,
        live=True,
    )


def get_order_state(call: Call) -> dict[str, Any]:
    order = account_of(call).orders.get(call.param("order_id"))
    if order is None:
        raise SimError(10004, "order_not_found")
    return public_view(order)


def get_order_state_by_label(call: Call) -> list[dict[str, Any]]:
    currency, label = call.param("currency"), call.param("label")
    return _orders(call, lambda o, i: o["label"] == label and currency_of(i) == currency)


def get_user_trades_by_order(call: Call) -> list[dict[str, Any]]:
    order_id = call.param("order_id")
    # a combo order's leg trades are listed under its trades (``legs``), not beside them
    own = account_of(call).trades
    return [t for t in own if t["order_id"] == order_id and "combo_trade_id" not in t]


def get_position(call: Call) -> dict[str, Any]:
    return account_position(call.sim, account_of(call), _instrument(call)["instrument_name"])


def get_positions(call: Call) -> list[dict[str, Any]]:
    currency = call.param("currency", str, "any")
    kind = call.param("kind", str, None)
    account = account_of(call)
    member = account.member(call.param("subaccount_id", int, account.user_id))
    out = []
    for name in member.positions:
        instrument = call.sim.market.instruments[name]
        if currency in ("any", currency_of(instrument)) and kind_matches(instrument["kind"], kind):
            out.append(account_position(call.sim, member, name))
    return out


def get_account_summary(call: Call) -> dict[str, Any]:
    currency = call.param("currency")
    if not isinstance(currency, str) or not currency.isalpha():
        raise invalid_param("currency")
    account = account_of(call)
    account = account.member(call.param("subaccount_id", int, account.user_id))
    summary = account_summary(call.sim, account, currency.upper())
    if call.param("extended", bool, False):
        summary.update(account_identity(account))
    return summary


def account_identity(account: Account) -> dict[str, Any]:
    """Who the account (main or sub) is, as the extended account summaries and
    ``get_subaccounts`` report it."""
    return {
        "id": account.user_id,  # the id get_subaccounts and move_positions know it by
        "username": account.username,
        "system_name": account.client_id,
        "email": account.profile.get("email", f"{account.client_id}@simulator.invalid"),
        "type": "main" if account.main is None else "subaccount",
        "creation_timestamp": account.created_ms,
        "login_enabled": account.profile.get("login_enabled", True),
        "security_keys_enabled": False,
        "mmp_enabled": bool(account.mmp),
        "interuser_transfers_enabled": True,
        **{
            key: account.settings[key]
            for key in (
                "self_trading_reject_mode",
                "self_trading_extended_to_subaccounts",
                "block_rfq_self_match_prevention",
            )
        },
    }


def get_account_summaries(call: Call) -> dict[str, Any]:
    account = account_of(call)
    return {
        **account_identity(account),
        "summaries": [account_summary(call.sim, account, c) for c in sorted(account.balances)],
    }


def _cod_scope(call: Call) -> str:
    scope = call.param("scope", str, "connection")
    if scope not in ("connection", "account"):
        raise invalid_param("scope")
    if scope == "connection" and not call.session.is_websocket:
        raise SimError(10030, "must_be_websocket_request")
    return str(scope)


def _set_cod(call: Call, enabled: bool) -> str:
    if _cod_scope(call) == "account":
        account_of(call).cod["account"] = enabled
    else:
        call.session.state["cod"] = enabled
    return "ok"


def enable_cancel_on_disconnect(call: Call) -> str:
    return _set_cod(call, True)


def disable_cancel_on_disconnect(call: Call) -> str:
    return _set_cod(call, False)


def get_cancel_on_disconnect(call: Call) -> dict[str, Any]:
    scope = _cod_scope(call)
    enabled = (
        account_of(call).cod["account"]
        if scope == "account"
        else bool(call.session.state.get("cod"))
    )
    return {"scope": scope, "enabled": enabled}


def _on_disconnect(sim: SimState, session: Session) -> None:
    """Cancel-on-disconnect: cancel the orders this connection created (REFERENCE 3)."""
    token = session.auth
    if token is None or session.state.get("logged_out"):
        return
    account = sim.trading.account(token.client_id)
    if not (session.state.get("cod") or account.cod["account"]):
        return
    cancelled = [o for o in account.live_orders() if o["_connection"] == session.id]
    for order in cancelled:
        cancel_one(sim, order, "cancel_on_disconnect")
    sim.cod_cancellations += len(cancelled)
    for name in sorted({o["instrument_name"] for o in cancelled}):
        sim.spawn(market_moved(sim, name))  # the books lost these orders' levels


def register(sim: SimState) -> None:
    """Install the trading handlers."""
    handlers = [
        buy, sell, edit, edit_by_label, cancel, cancel_all, cancel_all_by_currency,
        cancel_all_by_currency_pair, cancel_all_by_instrument, cancel_all_by_kind_or_type,
        cancel_by_label, close_position, get_open_orders, get_open_orders_by_currency,
        get_open_orders_by_instrument, get_open_orders_by_label, get_order_state,
        get_order_state_by_label, get_user_trades_by_order, get_position, get_positions,
        get_account_summary, get_account_summaries, enable_cancel_on_disconnect,
        disable_cancel_on_disconnect, get_cancel_on_disconnect,
    ]  # fmt: skip
    for fn in handlers:
        sim.methods[f"private/{fn.__name__}"] = fn
    sim.on_disconnect.append(lambda session: _on_disconnect(sim, session))
    sim.on_market_move.append(functools.partial(_reprice_advanced, sim))
