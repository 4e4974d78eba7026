"""Simulator accounting: what a trade does to an account's balances and positions, and
the positions and account summaries the API reports, as Deribit books them.

- Fees are the instrument's ``maker_commission``/``taker_commission`` of the traded
  value in the settlement currency (:func:`exposure`: an option's underlying); an
  option's never exceeds 12.5% of its price (Deribit's Fees article).
- Futures are inverse (sized in USD, settled in the coin) or linear (sized in the coin,
  settled in USDC: ``BTC_USDC-PERPETUAL``); their profit and loss stays
  in the session (``session_upl``/``session_rpl``, counted in the equity) until the daily
  settlement or the delivery moves it into the balance; a trade's cash is only its fee.
- An option's premium is paid or received at the trade (the transaction log's sample:
  ``change`` = -price x amount); its position is worth ``size x mark``
  (``options_value``), which the equity counts.
- A spot trade exchanges the pair's two currencies; it leaves no position.
- A perpetual position pays (long) or receives (short) funding: the funding rate (per 8
  hours, as the ticker's ``current_funding`` gives it when the position last changed)
  on its value in the settlement currency, for as long as it is held; it joins the
  session's realized profit (``realized_funding``) and settles with it.

Open orders hold initial margin (the account's ``initial_margin`` counts it beside the
positions', ``available_funds`` is what is left): per instrument, only what its orders
would add to the position if one side filled whole, the costlier side (the simulator's
reading: a two-sided quote is margined as the side a move against it would fill); the
part of a side that only closes the position needs none, nor do reduce-only and spot
orders (spot orders hold what they spend instead: :func:`spot_reserve`).

A position keeps ``size``, ``average_price`` (since it opened), ``basis`` (the price its
session profit counts from: the average price, or the last settlement price),
``session_rpl`` (profit realized since the last settlement, funding included) and, for
a perpetual, ``funding`` (the session's) and ``funded_at`` (when funding was last
counted).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from ._accounts import Account, unfilled
from ._market import HOUR_MS, base_size, currency_of, is_inverse, notional
from ._state import SimState

__all__ = [
    "account_figures",
    "account_position",
    "account_summary",
    "accrue_funding",
    "apply_position",
    "book_trade",
    "exposure",
    "holds_position",
    "liquidation_ratio",
    "margin_room",
    "order_margin",
    "orders_margin",
    "pnl",
    "position_view",
    "register",
    "spot_reserve",
    "trade_fee",
    "usd_price",
]

_EPS = 1e-9
OPTION_FEE_CAP = 0.125
"""An option's fee is at most this share of its price (Deribit's Fees article)."""
INITIAL_MARGIN_RATE = 0.02
"""Initial margin as a share of a position's value in its settlement currency (50x
leverage); maintenance is half of it. A bought option needs none."""


def holds_position(instrument: dict[str, Any]) -> bool:
    """Whether trading ``instrument`` opens a position: spot trades exchange currencies
    instead."""
    return bool(instrument["kind"] != "spot")


def trade_fee(
    instrument: dict[str, Any],
    value: float,
    amount: float,
    price: float,
    liquidity: str,
    rate: float | None,
) -> float:
    """The fee of trading ``amount`` at ``price`` as maker (``M``) or taker (``T``):
    ``rate`` (a block trade's commission) or the instrument's commission, of ``value``
    (:func:`exposure`: in the settlement currency, an option's underlying); an option's
    is capped at 12.5% of its premium."""
    if rate is None:
        rate = instrument["maker_commission" if liquidity == "M" else "taker_commission"]
    fee = value * rate
    if instrument["kind"] == "option":
        cap = OPTION_FEE_CAP * abs(price) * amount
        fee = max(-cap, min(cap, fee))
    return round(fee, 10)


def pnl(instrument: dict[str, Any], size: float, start: float, end: float) -> float:
    """The profit of a position of ``size`` (signed) from price ``start`` to ``end``, in
    the settlement currency: ``size x (1/start - 1/end)`` for inverse futures."""
    if not size or not start:
        return 0.0
    if is_inverse(instrument):
        return size * (1 / start - 1 / end)
    return size * (end - start)


def _blend(
    instrument: dict[str, Any], price: float, held: float, added_at: float, added: float
) -> float:
    """The average price of ``held`` at ``price`` and ``added`` at ``added_at``: harmonic
    (USD-weighted) for inverse futures, so that :func:`pnl` of the average is the sum of
    the parts'."""
    if not held:
        return added_at
    if is_inverse(instrument):
        return (held + added) / (held / price + added / added_at)
    return (price * held + added_at * added) / (held + added)


def _no_position() -> dict[str, Any]:
    """A position's state before its first trade."""
    return {"size": 0.0, "average_price": 0.0, "basis": 0.0, "session_rpl": 0.0}


def apply_position(
    positions: dict[str, dict[str, Any]],
    instrument: dict[str, Any],
    direction: str,
    amount: float,
    price: float,
) -> float:
    """Move the position in ``instrument`` by a trade; returns the profit it realized
    (the closed part's, counted from the position's ``basis``), which its
    ``session_rpl`` also takes."""
    position = positions.setdefault(instrument["instrument_name"], _no_position())
    signed = amount if direction == "buy" else -amount
    size = position["size"]
    new = round(size + signed, 10)
    realized = 0.0
    if abs(size) < _EPS or (size > 0) == (signed > 0):
        held = abs(size)
        position["average_price"] = _blend(
            instrument, position["average_price"], held, price, amount
        )
        position["basis"] = _blend(instrument, position["basis"], held, price, amount)
    else:
        closed = min(amount, abs(size))
        realized = pnl(instrument, closed if size > 0 else -closed, position["basis"], price)
        if abs(new) > _EPS and (new > 0) != (size > 0):  # flipped through zero
            position["average_price"] = position["basis"] = price
        elif abs(new) < _EPS:
            position["average_price"] = position["basis"] = 0.0
    position["size"] = new if abs(new) > _EPS else 0.0
    position["session_rpl"] = round(position["session_rpl"] + realized, 12)
    return realized


def _pending_funding(sim: SimState, instrument: dict[str, Any], position: dict[str, Any]) -> float:
    """The funding a perpetual position owes (negative) or earned since it was last
    counted."""
    start = position.get("funded_at")
    now = sim.now_ms()
    if start is None or now <= start or instrument.get("settlement_period") != "perpetual":
        return 0.0
    name = instrument["instrument_name"]
    rate = sim.market.funding_rate(name, start)
    value = notional(instrument, position["size"], sim.market.mark_price(name))
    return float(-value * rate * (now - start) / (8 * HOUR_MS))


def accrue_funding(sim: SimState, instrument: dict[str, Any], position: dict[str, Any]) -> None:
    """Count a position's funding up to now into its session (before it changes)."""
    owed = _pending_funding(sim, instrument, position)
    position["funding"] = position.get("funding", 0.0) + owed
    position["session_rpl"] += owed
    position["funded_at"] = sim.now_ms()


def book_position(
    sim: SimState,
    positions: dict[str, dict[str, Any]],
    instrument: dict[str, Any],
    direction: str,
    amount: float,
    price: float,
) -> float:
    """:func:`apply_position` for a trade that happens now: funding is counted up to it
    first; returns the realized profit."""
    held = positions.get(instrument["instrument_name"])
    if held is not None:
        accrue_funding(sim, instrument, held)
    realized = apply_position(positions, instrument, direction, amount, price)
    positions[instrument["instrument_name"]].setdefault("funded_at", sim.now_ms())
    return realized


def book_trade(
    sim: SimState,
    account: Account,
    instrument: dict[str, Any],
    direction: str,
    amount: float,
    price: float,
    fee: float | None,
    **logged: Any,
) -> float:
    """What a trade does to ``account``: its position moves (none for spot) and what it
    pays or receives at once (:func:`cash_moves`, and ``fee`` in the settlement
    currency: a trade on the book logs one even when it is 0; None: no fee at all, as a
    position move) is booked as ``trade`` transactions carrying ``logged``. Returns the
    profit the trade realized."""
    name, currency = instrument["instrument_name"], currency_of(instrument)
    moves = dict(cash_moves(instrument, direction, amount, price))
    if fee is not None:
        moves[currency] = moves.get(currency, 0.0) - fee
    realized = 0.0
    if holds_position(instrument):
        realized = book_position(sim, account.positions, instrument, direction, amount, price)
    for paid_in, change in moves.items():
        account.book(
            sim.now_ms(), paid_in, "trade", change,
            commission=fee if fee is not None and paid_in == currency else 0.0,
            instrument_name=name, side=direction, price=price, amount=amount,
            position=account.positions.get(name, {}).get("size"), **logged,
        )  # fmt: skip
    return realized


def cash_moves(
    instrument: dict[str, Any], direction: str, amount: float, price: float
) -> list[tuple[str, float]]:
    """What a trade pays or receives at once, by currency (fees apart): an option's
    premium, a spot trade's two currencies, nothing for a future."""
    signed = amount if direction == "buy" else -amount
    if instrument["kind"] == "option":
        return [(currency_of(instrument), -signed * price)]
    if instrument["kind"] == "spot":
        return [
            (instrument["base_currency"], signed),
            (instrument["quote_currency"], -signed * price),
        ]
    return []


def order_margin(sim: SimState, instrument: dict[str, Any], order: dict[str, Any]) -> float:
    """Initial margin ``order`` would reserve on its own, in the settlement currency (a
    combo's: its legs' at their marks). An option buy reserves its premium; spot orders
    reserve no margin (they hold what they spend: :func:`spot_reserve`)."""
    left = unfilled(order)
    market = sim.market
    buys = order["direction"] == "buy"
    legs = market.combo_legs.get(instrument["instrument_name"])
    if legs:
        return sum(
            _margin(
                sim,
                market.instruments[leg],
                left * abs(ratio),
                market.mark_price(leg),
                buys=buys == (ratio > 0),
            )
            for leg, ratio in legs
        )
    return _margin(sim, instrument, left, _order_price(sim, order), buys=buys)


def _order_price(sim: SimState, order: dict[str, Any]) -> float:
    """The price an order is valued at: its own, the mark for market and untriggered
    orders (which have none)."""
    price = order["price"]
    if isinstance(price, float):
        return price
    return sim.market.mark_price(order["instrument_name"])


def _margin(
    sim: SimState, instrument: dict[str, Any], amount: float, price: float, *, buys: bool
) -> float:
    kind = instrument["kind"]
    if kind == "spot":
        return 0.0
    if kind == "option" and buys:
        return amount * price
    return exposure(sim, instrument, amount, price) * INITIAL_MARGIN_RATE


def exposure(sim: SimState, instrument: dict[str, Any], amount: float, price: float) -> float:
    """What margin and fees are shares of, in the settlement currency: an option's
    underlying (:meth:`Market.underlying_value`), anything else's :func:`notional` at
    ``price``."""
    if instrument["kind"] == "option":
        return sim.market.underlying_value(instrument, amount)
    return notional(instrument, amount, price)


def orders_margin(
    sim: SimState, instrument: dict[str, Any], size: float, orders: Iterable[dict[str, Any]]
) -> float:
    """Initial margin the open ``orders`` in ``instrument`` hold beside a position of
    ``size`` (signed): each side's :func:`order_margin` for the part of it that would
    grow the position, the costlier side's (a combo's orders: all of theirs)."""
    if instrument["kind"] == "spot":
        return 0.0
    if instrument["instrument_name"] in sim.market.combo_legs:
        return sum(order_margin(sim, instrument, o) for o in orders if not o["reduce_only"])
    amounts = {"buy": 0.0, "sell": 0.0}
    margins = {"buy": 0.0, "sell": 0.0}
    for order in orders:
        if order["reduce_only"]:
            continue
        direction = order["direction"]
        amounts[direction] += unfilled(order)
        margins[direction] += order_margin(sim, instrument, order)
    grows = {
        "buy": max(0.0, size + amounts["buy"]) - max(0.0, size),
        "sell": max(0.0, amounts["sell"] - size) - max(0.0, -size),
    }
    return max(
        (margins[d] * grows[d] / amounts[d] for d in ("buy", "sell") if amounts[d] > _EPS),
        default=0.0,
    )


def _orders_in(
    sim: SimState, account: Account, currency: str, besides: dict[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """The account's live orders settled in ``currency`` by instrument, ``besides`` left
    out."""
    instruments = sim.market.instruments
    grouped: dict[str, list[dict[str, Any]]] = {}
    for order in account.live_orders():
        name = order["instrument_name"]
        if order is not besides and currency_of(instruments[name]) == currency:
            grouped.setdefault(name, []).append(order)
    return grouped


def _orders_of(account: Account, name: str, besides: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The account's live orders in ``name``, ``besides`` left out."""
    return [o for o in account.live_orders() if o["instrument_name"] == name and o is not besides]


def account_position(sim: SimState, account: Account, name: str) -> dict[str, Any]:
    """:func:`position_view` of the account's position in ``name``, with the margin of
    its open orders there and, for a future on a ``segregated_sm`` account (the only
    ones Deribit estimates it for), ``estimated_liquidation_price``: the mark times the
    :func:`liquidation_ratio` of its index (null when no move liquidates it)."""
    view = position_view(sim, account.positions, name, _orders_of(account, name, None))
    segregated = account.settings["margin_model"] == "segregated_sm"
    if segregated and view["kind"] == "future" and view["size"]:
        instrument = sim.market.instruments[name]
        figures, futures, _ = _figures(sim, account, currency_of(instrument), None)
        ratio = liquidation_ratio(sim, futures, figures, instrument["price_index"])
        view["estimated_liquidation_price"] = round(ratio * view["mark_price"], 8) or None
    return view


def margin_room(
    sim: SimState,
    account: Account,
    instrument: dict[str, Any],
    order: dict[str, Any],
    *,
    replacing: dict[str, Any] | None = None,
) -> tuple[float, float]:
    """What ``order`` adds to the account's initial margin (:func:`orders_margin` with
    it and without it) and the funds available to it; ``replacing`` (by default
    ``order`` itself, for one that is live already and fires) is the order it stands
    for, left out of both."""
    replacing = order if replacing is None else replacing
    name = instrument["instrument_name"]
    others = _orders_of(account, name, replacing)
    size = account.positions.get(name, {}).get("size", 0.0)
    added = orders_margin(sim, instrument, size, [*others, order]) - orders_margin(
        sim, instrument, size, others
    )
    figures = account_figures(sim, account, currency_of(instrument), besides=replacing)
    return added, figures["available_funds"]


def position_view(
    sim: SimState,
    positions: dict[str, dict[str, Any]],
    name: str,
    orders: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The position in ``name`` as ``private/get_position`` reports it:
    ``floating_profit_loss`` since the last settlement (or the opening),
    ``total_profit_loss`` since the opening, ``realized_profit_loss`` in the session,
    ``open_orders_margin`` of its open ``orders``."""
    instrument = sim.market.instruments[name]
    state = positions.get(name) or _no_position()
    size = state["size"]
    mark = sim.market.mark_price(name)
    kind = instrument["kind"]
    size_currency = base_size(instrument, size, mark)
    greeks = sim.market.greeks(name, sim.now_ms()) if kind == "option" else {"delta": 1.0}
    # A bought option's premium is paid: it needs no margin (Deribit's margin articles).
    long_option = kind == "option" and size > 0
    margin = (
        0.0 if long_option else exposure(sim, instrument, abs(size), mark) * INITIAL_MARGIN_RATE
    )
    floating = pnl(instrument, size, state["basis"], mark)
    owed = _pending_funding(sim, instrument, state)
    return {
        "instrument_name": name,
        "kind": kind,
        "direction": "zero" if abs(size) < _EPS else ("buy" if size > 0 else "sell"),
        "size": size,
        "size_currency": round(size_currency, 10),
        "average_price": round(state["average_price"], 8),
        "mark_price": round(mark, 8),
        "index_price": sim.market.index_prices.get(instrument["price_index"], mark),
        "settlement_price": round(sim.market.settlement_price(name), 8),
        "delta": round(size_currency * greeks["delta"], 10),
        **{g: round(size * greeks[g], 10) for g in ("gamma", "vega", "theta") if g in greeks},
        "initial_margin": round(margin, 10),
        "maintenance_margin": round(margin / 2, 10),
        "open_orders_margin": round(orders_margin(sim, instrument, size, orders), 10),
        "floating_profit_loss": round(floating, 10),
        "total_profit_loss": round(pnl(instrument, size, state["average_price"], mark), 10),
        "realized_profit_loss": round(state["session_rpl"] + owed, 10),
        "realized_funding": round(state.get("funding", 0.0) + owed, 10),
        "interest_value": 0.0,
        "leverage": 50,
        "estimated_liquidation_price": None,
    }


def spot_reserve(
    sim: SimState, account: Account, currency: str, *, besides: dict[str, Any] | None = None
) -> float:
    """What the account's open spot orders hold of ``currency``: a buy its price x amount
    of the quote currency, a sell its amount of the base currency (``besides`` left out)."""
    reserved = 0.0
    for order in account.live_orders():
        instrument = sim.market.instruments[order["instrument_name"]]
        if instrument["kind"] != "spot" or order is besides:
            continue
        left = unfilled(order)
        if order["direction"] == "sell" and instrument["base_currency"] == currency:
            reserved += left
        elif order["direction"] == "buy" and instrument["quote_currency"] == currency:
            reserved += left * _order_price(sim, order)
    return reserved


def register(sim: SimState) -> None:
    """Value accounts for the transaction log: each entry records the equity after it."""
    sim.trading.valuation = lambda account, currency: account_figures(
        sim, account, currency, pooled=False
    )["equity"]


def account_summary(sim: SimState, account: Account, currency: str) -> dict[str, Any]:
    """The account's ``private/get_account_summary`` in ``currency``: its
    :func:`account_figures` and the risk a summary adds: delta and option greeks per
    index, the estimated liquidation ratio (accounts without portfolio margin), the
    fees, the USD totals of every currency under cross collateral, the request
    ``limits``."""
    figures, futures, options = _figures(sim, account, currency, None, pooled=False)
    totals: dict[str, float] = {}
    if figures["cross_collateral_enabled"]:  # pooled here, the USD sums kept for the totals
        usd = _in_usd(sim, account, currency, figures, None)
        _pool(sim, figures, usd)
        keys = ("margin_balance", "initial_margin", "maintenance_margin", "delta_total")
        totals = {f"total_{key}_usd": round(usd[key], 6) for key in keys}
        totals["total_equity_usd"] = totals["total_margin_balance_usd"]  # own balance: equity
    market = sim.market
    indices = sorted(
        {
            i["price_index"]
            for i in market.instruments.values()
            if i["kind"] in ("future", "option") and currency_of(i) == currency
        }
    )
    summary = {
        **figures,
        "projected_delta_total": figures["delta_total"],
        "additional_reserve": 0.0,
    }
    deltas = _per_index(sim, futures + options, "delta")
    summary["delta_total_map"] = {i: round(deltas.get(i, 0.0), 10) for i in indices}
    for greek in ("delta", "gamma", "vega", "theta"):
        per_index = _per_index(sim, options, greek)
        summary[f"options_{greek}"] = round(sum(per_index.values()), 10)
        summary[f"options_{greek}_map"] = {i: round(v, 10) for i, v in per_index.items()}
    if not figures["portfolio_margining_enabled"]:
        summary["estimated_liquidation_ratio"] = liquidation_ratio(sim, futures, figures, None)
        summary["estimated_liquidation_ratio_map"] = {
            i: liquidation_ratio(sim, futures, figures, i) for i in indices
        }
    summary["fees"] = _fees(sim, currency)
    summary.update(totals)
    currencies = sorted({currency_of(i).lower() for i in market.instruments.values()})
    summary["limits"] = sim.rate_limits.report(currencies)
    return summary


def _per_index(sim: SimState, views: list[dict[str, Any]], key: str) -> dict[str, float]:
    """The sum of the position ``views``' ``key`` per price index."""
    sums: dict[str, float] = {}
    for view in views:
        index = sim.market.instruments[view["instrument_name"]]["price_index"]
        sums[index] = sums.get(index, 0.0) + view[key]
    return sums


def liquidation_ratio(
    sim: SimState, futures: list[dict[str, Any]], figures: dict[str, Any], index: str | None
) -> float:
    """By what factor the price of ``index`` (of every index: None) can move before the
    maintenance margin reaches the margin balance, the ``futures`` (position views) on
    it moving along and everything else held (options' value and margin, the other
    currencies' collateral); 0 when no move gets there. Deribit's definition: a
    future's mark times it is its estimated liquidation price."""
    inverse = inverse_margin = linear = linear_margin = 0.0
    for view in futures:
        instrument = sim.market.instruments[view["instrument_name"]]
        if index is not None and instrument["price_index"] != index:
            continue
        if is_inverse(instrument):
            inverse += view["size_currency"]
            inverse_margin += view["maintenance_margin"]
        else:
            linear += view["size"] * view["mark_price"]
            linear_margin += view["maintenance_margin"]
    if not (inverse or linear):
        return 0.0
    # At k times the price the equity gains inverse x (1 - 1/k) + linear x (k - 1) and
    # the maintenance margin is held + inverse_margin / k + linear_margin x k: equal
    # where a k^2 + b k + c = 0.
    held = figures["maintenance_margin"] - inverse_margin - linear_margin
    a = linear - linear_margin
    b = figures["margin_balance"] + inverse - linear - held
    c = -(inverse + inverse_margin)
    roots: list[float]
    if abs(a) < _EPS:
        roots = [-c / b] if b else []
    else:
        discriminant = b * b - 4 * a * c
        root = math.sqrt(discriminant) if discriminant >= 0 else math.nan
        roots = [(-b + root) / (2 * a), (-b - root) / (2 * a)]
    reached = [k for k in roots if k > _EPS]  # nan never is
    if not reached:
        return 0.0
    nearest: float = min(reached, key=lambda k: abs(math.log(k)))  # the first move there
    return float(f"{nearest:.10g}")  # significant digits: a far-off ratio is tiny


def _fees(sim: SimState, currency: str) -> list[dict[str, Any]]:
    """The extended summary's ``fees``: the commissions of each kind and index settled
    in ``currency`` (``fixed``: the rates themselves)."""
    fees: dict[tuple[str, str], dict[str, Any]] = {}
    for instrument in sim.market.instruments.values():
        if instrument["kind"] not in ("future", "option") or currency_of(instrument) != currency:
            continue
        kind = instrument["kind"]
        if instrument.get("settlement_period") == "perpetual":
            kind = "perpetual"
        fees.setdefault((kind, instrument["price_index"]), {
            "kind": kind,
            "index_name": instrument["price_index"],
            "value": {
                "default": {"type": "fixed", "taker": instrument["taker_commission"],
                            "maker": instrument["maker_commission"]},
                "block_trade": instrument["block_trade_commission"],
            },
        })  # fmt: skip
    return [fees[key] for key in sorted(fees)]


def usd_price(sim: SimState, currency: str) -> float:
    """What one unit of ``currency`` is worth in USD: its ``<coin>_usd`` index, 1 for a
    stable coin."""
    return sim.market.index_prices.get(f"{currency.lower()}_usd", 1.0)


_POOLED = (
    "margin_balance",
    "available_funds",
    "initial_margin",
    "maintenance_margin",
    "projected_initial_margin",
    "projected_maintenance_margin",
)
"""The figures cross collateral pools over the account's currencies."""


def _in_usd(
    sim: SimState,
    account: Account,
    currency: str,
    own: dict[str, Any],
    besides: dict[str, Any] | None,
) -> dict[str, float]:
    """The :data:`_POOLED` figures and the delta of every currency the account holds
    (``own``: ``currency``'s, unpooled), summed in USD."""
    instruments = sim.market.instruments
    held = set(account.balances) | {currency_of(instruments[n]) for n in account.positions}
    held |= {currency_of(instruments[o["instrument_name"]]) for o in account.live_orders()}
    sums = dict.fromkeys((*_POOLED, "delta_total"), 0.0)
    for each in held | {currency}:
        money = own if each == currency else _figures(sim, account, each, besides, pooled=False)[0]
        price = usd_price(sim, each)
        for key in sums:
            sums[key] += money[key] * price
    return sums


def account_figures(
    sim: SimState,
    account: Account,
    currency: str,
    *,
    besides: dict[str, Any] | None = None,
    pooled: bool = True,
) -> dict[str, Any]:
    """The account's money in ``currency`` as its summary reports it (what margin checks,
    the transaction log and liquidation read): the equity is the balance plus the
    futures' session profit (unrealized and realized) plus the options' value; the
    initial margin counts the positions' and the open orders' (``besides`` left out).
    Under a cross-collateral model (and ``pooled``), the margin balance, margins and
    available funds are those of every currency the account holds, converted at the
    USD indices (Deribit applies haircuts to some; the simulator none); the currency's
    own equity and balance stay its own, and it can withdraw no more than its own
    settled balance."""
    return _figures(sim, account, currency, besides, pooled=pooled)[0]


def _figures(
    sim: SimState,
    account: Account,
    currency: str,
    besides: dict[str, Any] | None,
    *,
    pooled: bool = True,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """:func:`account_figures` and the views of the futures and options positions they
    count."""
    instruments = sim.market.instruments
    orders = _orders_in(sim, account, currency, besides)
    futures: list[dict[str, Any]] = []
    options: list[dict[str, Any]] = []
    for name in account.positions:
        instrument = instruments[name]
        if currency_of(instrument) == currency:
            view = position_view(sim, account.positions, name, orders.pop(name, ()))
            (options if instrument["kind"] == "option" else futures).append(view)
    # Orders in instruments the account holds no position in yet.
    waiting = sum(orders_margin(sim, instruments[n], 0.0, o) for n, o in orders.items())
    f_upl = sum(p["floating_profit_loss"] for p in futures)
    f_rpl = sum(p["realized_profit_loss"] for p in futures)
    o_upl = sum(p["floating_profit_loss"] for p in options)
    o_rpl = sum(p["realized_profit_loss"] for p in options)
    o_value = sum(p["size"] * p["mark_price"] for p in options)
    f_pl = sum(p["total_profit_loss"] for p in futures)
    o_pl = sum(p["total_profit_loss"] for p in options)
    positions = futures + options
    initial = waiting + sum(p["initial_margin"] + p["open_orders_margin"] for p in positions)
    maintenance = sum(p["maintenance_margin"] for p in positions)
    balance = account.balances.get(currency, 0.0)
    equity = balance + f_upl + f_rpl + o_value
    reserve = spot_reserve(sim, account, currency)
    figures = {
        "currency": currency,
        "balance": round(balance, 10),
        "equity": round(equity, 10),
        "margin_balance": round(equity, 10),
        "available_funds": round(equity - initial - reserve, 10),
        # Session profit is withdrawable only once settled; option value never is.
        "available_withdrawal_funds": round(max(0.0, min(balance, equity) - initial - reserve), 10),
        "initial_margin": round(initial, 10),
        "maintenance_margin": round(maintenance, 10),
        "projected_initial_margin": round(initial, 10),
        "projected_maintenance_margin": round(maintenance, 10),
        "delta_total": round(sum(p["delta"] for p in positions), 10),
        "total_pl": round(f_pl + o_pl, 10),
        "session_upl": round(f_upl + o_upl, 10),
        "session_rpl": round(f_rpl + o_rpl, 10),
        "futures_pl": round(f_pl, 10),
        "futures_session_upl": round(f_upl, 10),
        "futures_session_rpl": round(f_rpl, 10),
        "options_pl": round(o_pl, 10),
        "options_session_upl": round(o_upl, 10),
        "options_session_rpl": round(o_rpl, 10),
        "options_value": round(o_value, 10),
        "fee_balance": 0.0,
        "spot_reserve": round(reserve, 10),
        "margin_model": account.settings["margin_model"],
        "portfolio_margining_enabled": account.settings["margin_model"].endswith("_pm"),
        "cross_collateral_enabled": account.settings["margin_model"].startswith("cross"),
    }
    if pooled and figures["cross_collateral_enabled"]:
        _pool(sim, figures, _in_usd(sim, account, currency, figures, besides))
    return figures, futures, options


def _pool(sim: SimState, figures: dict[str, Any], usd: dict[str, float]) -> None:
    """Turn a currency's own ``figures`` into cross collateral's: the :data:`_POOLED`
    ones from every currency's (``usd``: :func:`_in_usd`), converted into it; what it can
    withdraw stays within its own settled balance."""
    price = usd_price(sim, figures["currency"])
    for key in _POOLED:
        figures[key] = round(usd[key] / price, 10)
    settled = min(figures["balance"], figures["equity"]) - figures["spot_reserve"]
    figures["available_withdrawal_funds"] = round(
        max(0.0, min(settled, figures["available_funds"])), 10
    )
