"""Simulator handlers for combos and the structures Block RFQs trade (REFERENCE 7.9, 7.10).

A structure is a list of legs ``{instrument_name, amount, direction}`` of one currency:
its ``amount`` is the greatest common divisor of the leg amounts and each leg's ``ratio``
the whole multiple of it. ``private/create_combo`` registers the combo of a structure (or
returns the existing one: a combo and its reverse are one book, bought or sold), which
``public/get_combos``, ``get_combo_ids`` and ``get_combo_details`` then list. Combos are
named as Deribit names them where the documentation shows the pattern (future spreads
``BTC-FS-29APR22_PERP``, call spreads ``BTC-CS-29APR22-39300_39600``, reversals
``BTC-REV-29APR22-37500``) and likewise put spreads (``PS``) and straddles (``STRD``);
other structures get the simulator's own ``BTC-COMBO-{instrument_id}``.
``private/get_leg_prices`` splits a structure's price over its legs.

Every combo is also a book (``Market.add_combo``): an instrument of kind ``future_combo`` or
``option_combo`` that orders trade like any other, each fill printing and filling its legs
(``_orders.fill``); positions are held in the legs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from ._market import AMOUNT_UNITS, SignedLegs
from ._orders import currency_of, require_open
from ._session import SimError, as_number, invalid_param, public_view
from ._shaped import declared_params
from ._state import Call, SimState
from ._streams import instrument_created

__all__ = [
    "Structure",
    "combo_for",
    "leg_prices",
    "register",
    "structure_of",
    "trade_step",
]

_LEG_SHAPE = "a non-empty list of {instrument_name, amount, direction}"


class Leg(NamedTuple):
    instrument_name: str
    direction: str
    ratio: int


class Structure(NamedTuple):
    """What a list of legs trades: ``amount`` times each leg's ``ratio``."""

    currency: str
    amount: float
    legs: tuple[Leg, ...]

    def sign(self, leg: Leg) -> int:
        return 1 if leg.direction == "buy" else -1

    def reported_legs(self) -> list[dict[str, Any]]:
        return [leg._asdict() for leg in self.legs]

    def signed(self) -> SignedLegs:
        """The legs as ``(instrument_name, ratio)``, negative for a sold leg."""
        return [(leg.instrument_name, self.sign(leg) * leg.ratio) for leg in self.legs]


def structure_of(sim: SimState, param: str, value: Any) -> Structure:
    """The structure ``value`` (a list of ``{instrument_name, amount, direction}``)
    describes, each instrument open for trading and all of one currency; ``-32602``
    naming ``param`` when the list is malformed."""
    if not isinstance(value, list) or not value:
        raise invalid_param(param, _LEG_SHAPE)
    named: list[tuple[str, str, int]] = []
    currencies = set()
    for leg in value:
        if not isinstance(leg, dict) or not isinstance(leg.get("instrument_name"), str):
            raise invalid_param(param, _LEG_SHAPE)
        instrument = sim.market.require(leg["instrument_name"])
        require_open(sim, instrument, "order")
        direction = leg.get("direction")
        if direction not in ("buy", "sell"):
            raise invalid_param(param, "direction must be buy or sell")
        amount = as_number(leg.get("amount"))
        if amount is None or amount <= 0:
            raise invalid_param(param, "amount must be a positive number")
        units = round(amount * AMOUNT_UNITS)
        if units % round(instrument["min_trade_amount"] * AMOUNT_UNITS):
            raise SimError(10027, "non_integer_contract_amount")
        named.append((instrument["instrument_name"], direction, units))
        currencies.add(currency_of(instrument))
    if len(currencies) > 1:
        raise invalid_param(param, "all legs must settle in one currency")
    if len({name for name, _, _ in named}) < len(named):
        raise invalid_param(param, "an instrument appears in more than one leg")
    step = math.gcd(*(units for _, _, units in named))
    legs = tuple(Leg(name, direction, units // step) for name, direction, units in named)
    return Structure(currencies.pop(), step / AMOUNT_UNITS, legs)


def trade_step(sim: SimState, structure: Structure) -> float:
    """The smallest amount of ``structure`` that trades whole contracts on every leg."""
    return sim.market.combo_step(structure.signed())


# -- naming ------------------------------------------------------------------------------


def _name_parts(name: str) -> list[str]:
    return name.split("-")


def _expiry_code(instrument: dict[str, Any]) -> str:
    code = _name_parts(instrument["instrument_name"])[1]
    return "PERP" if code == "PERPETUAL" else code


def _pattern(sim: SimState, legs: Sequence[tuple[str, int]]) -> str | None:
    """Deribit's name for a two-leg structure in this orientation (``(instrument, signed
    ratio)``), or None when the orientation or the structure has no pattern."""
    if len(legs) != 2 or {abs(ratio) for _, ratio in legs} != {1}:
        return None
    (a, ra), (b, rb) = sorted(legs)
    first, second = sim.market.instruments[a], sim.market.instruments[b]
    prefix = _name_parts(a)[0]
    if ra < 0 < rb:
        first, second, ra, rb = second, first, rb, ra
    kinds = {first["kind"], second["kind"]}
    if kinds == {"future"} and ra > 0 > rb:
        # the later expiry is bought; the perpetual counts as the nearest
        def due(instrument: dict[str, Any]) -> int:
            perpetual = instrument["settlement_period"] == "perpetual"
            return 0 if perpetual else int(instrument["expiration_timestamp"])

        if due(first) > due(second):
            return f"{prefix}-FS-{_expiry_code(first)}_{_expiry_code(second)}"
        return None
    if kinds != {"option"} or first["expiration_timestamp"] != second["expiration_timestamp"]:
        return None
    expiry = _expiry_code(first)
    types = (first["option_type"], second["option_type"])
    strikes = (int(first["strike"]), int(second["strike"]))
    if ra > 0 > rb and types == ("call", "call") and strikes[0] < strikes[1]:
        return f"{prefix}-CS-{expiry}-{strikes[0]}_{strikes[1]}"
    if ra > 0 > rb and types == ("put", "put") and strikes[0] > strikes[1]:
        return f"{prefix}-PS-{expiry}-{strikes[0]}_{strikes[1]}"
    if strikes[0] == strikes[1] and types == ("call", "put"):
        if ra > 0 > rb:
            return f"{prefix}-REV-{expiry}-{strikes[0]}"
        if ra > 0 and rb > 0:
            return f"{prefix}-STRD-{expiry}-{strikes[0]}"
    return None


def combo_for(sim: SimState, structure: Structure) -> tuple[dict[str, Any], int]:
    """The combo of a multi-leg structure, registered on first use, and ``1`` when the
    structure buys the combo, ``-1`` when it sells it."""
    signed = list(structure.signed())
    orientations = ((1, signed), (-1, [(name, -ratio) for name, ratio in signed]))
    for sign, legs in orientations:
        name = _pattern(sim, legs)
        if name is not None:
            return _registered(sim, name, legs, structure), sign
    # no pattern: the orientation whose first leg (by name) is bought
    sign, legs = orientations[0] if min(signed)[1] > 0 else orientations[1]
    for combo in sim.market.combos.values():
        if combo["_legs"] == sorted(legs):
            return combo, sign
    return _registered(sim, None, legs, structure), sign


def _registered(
    sim: SimState, name: str | None, legs: list[tuple[str, int]], structure: Structure
) -> dict[str, Any]:
    market = sim.market
    if name is not None and name in market.combos:
        return market.combos[name]
    instrument_id = next(market.combo_ids)
    name = name or f"{_name_parts(legs[0][0])[0]}-COMBO-{instrument_id}"
    # legs in the order of the structure that first named the combo
    now = sim.now_ms()
    combo = {
        "id": name,
        "instrument_id": instrument_id,
        "state": "active",
        "state_timestamp": now,
        "creation_timestamp": now,
        "legs": [{"instrument_name": n, "amount": ratio} for n, ratio in legs],
        "_legs": sorted(legs),
        "_currency": structure.currency,
    }
    market.combos[name] = combo
    sim.spawn(instrument_created(sim, market.add_combo(combo)))  # a new instrument: announced
    return combo


# -- prices ------------------------------------------------------------------------------


def structure_mark(sim: SimState, structure: Structure) -> float:
    """The structure's price from its legs' mark prices (bought legs add, sold subtract)."""
    return sim.market.combo_mark(structure.signed())


def leg_prices(sim: SimState, structure: Structure, price: float) -> list[float]:
    """Leg prices whose signed, ratio-weighted sum is ``price`` (``Market.leg_prices``)."""
    return sim.market.leg_prices(structure.signed(), price)


# -- handlers ----------------------------------------------------------------------------


def create_combo(call: Call) -> dict[str, Any]:
    structure = structure_of(call.sim, "trades", declared_params(call)["trades"])
    if len(structure.legs) < 2:
        raise invalid_param("trades", "a combo has at least two legs")
    combo, _ = combo_for(call.sim, structure)
    return public_view(combo)


def _combos(call: Call, currency: str) -> list[dict[str, Any]]:
    return [
        combo
        for combo in call.sim.market.combos.values()
        if currency in ("any", combo["_currency"])
    ]


def get_combos(call: Call) -> list[dict[str, Any]]:
    currency = declared_params(call)["currency"]
    return [public_view(c) for c in _combos(call, currency) if c["state"] == "active"]


def get_combo_ids(call: Call) -> list[str]:
    params = declared_params(call)
    state = params.get("state", "active")
    return [c["id"] for c in _combos(call, params["currency"]) if c["state"] == state]


def get_combo_details(call: Call) -> dict[str, Any]:
    combo_id = declared_params(call)["combo_id"]
    combo = call.sim.market.combos.get(combo_id)
    if combo is None:
        raise SimError(13020, "not_found", {"reason": f"no combo {combo_id}"})
    return public_view(combo)


def get_leg_prices(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    structure = structure_of(call.sim, "legs", params["legs"])
    prices = leg_prices(call.sim, structure, params["price"])
    return {
        "amount": structure.amount,
        "legs": [
            {**leg._asdict(), "price": price}
            for leg, price in zip(structure.legs, prices, strict=True)
        ],
    }


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    sim.methods["private/create_combo"] = create_combo
    sim.methods["private/get_leg_prices"] = get_leg_prices
    for fn in (get_combos, get_combo_ids, get_combo_details):
        sim.methods[f"public/{fn.__name__}"] = fn
