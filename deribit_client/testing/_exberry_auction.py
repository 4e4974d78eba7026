"""The Exberry simulator's trading phases: which order types and times in force each
phase takes (the venue's time-in-force tables), an auction's terms as ``calendarList``
shows them, and the equilibrium price an auction uncrosses at. Pure rules: the engine
(``exberry.py``) holds the state and applies them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._exberry_rules import DAYS, Fail

CONTINUOUS_TIFS: dict[str, tuple[str, ...]] = {
    "Limit": ("GTC", "GTD", "FOK", "IOC", "DAY"),
    "Market": ("FOK", "IOC"),
    "Stop": ("FOK", "IOC"),
    "StopLimit": ("GTC", "GTD", "FOK", "IOC", "DAY"),
    # The v1.53 types are not in the table (a reading): each as the type it trades as.
    "MarketToLimit": ("GTC", "GTD", "FOK", "IOC", "DAY"),  # rests as a limit order
    "MIT": ("FOK", "IOC"),  # a market order once triggered
    "LIT": ("GTC", "GTD", "FOK", "IOC", "DAY"),  # a limit order once triggered
}
"""Order type -> the times in force continuous trading takes (``GAA`` never: ``1031``;
others ``1001``): the documentation's "Availability During Continuous Trading"."""

AUCTION_TIFS: dict[str, tuple[str, ...]] = {
    "Limit": ("GTC", "GTD", "IOC", "GAA", "DAY"),
    "Market": ("IOC",),
}
"""Order type -> the times in force an auction's call phase takes, before the auction's
own ``allowedTimeInForces`` narrow them (others ``1030``; no stop order of any kind):
"Availability During Auction" (v1.33.0)."""

_TRIGGERS = ("TimeBased", "Resume", "AutoResume")
_EVENTS_MODES = ("LIT", "INDICATIVE_PRICE")
TIMES_IN_FORCE = ("GTC", "GTD", "FOK", "IOC", "DAY", "GAA")
"""The times in force the simulator takes (``OPG``/``ATC`` are not simulated: ``1001``)."""

AUCTION_DEFAULTS: dict[str, Any] = {
    "days": [],
    "startTimes": [],
    "duration": None,
    "matchingAlgorithm": "EQUILIBRIUM_PRICE",
    "allowedTimeInForces": list(AUCTION_TIFS["Limit"]),
    "eventsModes": ["LIT", "INDICATIVE_PRICE"],
    "trigger": "TimeBased",
    "overrideReferencePrice": False,
}
"""The terms of an auction that names none of its own (``duration`` ``None``: until
ended by hand)."""


def auction_terms(given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` (``calendarList`` auction members) with the missing ones defaulted,
    checked: ``ValueError`` names a member the simulator cannot run."""
    unknown = set(given) - set(AUCTION_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown auction members: {', '.join(sorted(unknown))}")
    terms = {**AUCTION_DEFAULTS, **given}
    duration = terms["duration"]
    if duration is not None and (type(duration) is not int or duration <= 0):
        raise ValueError(f"duration must be a positive int of milliseconds, not {duration!r}")
    if terms["matchingAlgorithm"] != "EQUILIBRIUM_PRICE":
        raise ValueError("matchingAlgorithm: only EQUILIBRIUM_PRICE is simulated")
    for name, domain in (
        ("allowedTimeInForces", TIMES_IN_FORCE),
        ("eventsModes", _EVENTS_MODES),
        ("days", DAYS),
    ):
        values = terms[name]
        if isinstance(values, str) or not all(v in domain for v in values):
            raise ValueError(f"{name} must be a list of {', '.join(domain)}, not {values!r}")
        terms[name] = list(values)
    if terms["trigger"] not in _TRIGGERS:
        raise ValueError(f"trigger must be one of {', '.join(_TRIGGERS)}")
    starts = terms["startTimes"]
    if isinstance(starts, str) or not all(_start_time(s) is not None for s in starts):
        raise ValueError(f"startTimes must be a list of 'HH:MM:SS', not {starts!r}")
    terms["startTimes"] = list(starts)
    if terms["trigger"] == "TimeBased" and starts and duration is None:
        raise ValueError("a TimeBased auction with startTimes needs a duration")
    return terms


def _start_time(text: Any) -> dt.time | None:
    try:
        return dt.time.fromisoformat(text) if type(text) is str and len(text) == 8 else None
    except ValueError:
        return None


def next_start(
    auctions: Iterable[Mapping[str, Any]], after: float, zone: dt.tzinfo
) -> tuple[float, dict[str, Any] | None]:
    """The first scheduled (``TimeBased``) auction start later than ``after`` (epoch
    seconds; start times and days in the calendar's time ``zone``) within a week, and
    that auction's terms; ``(inf, None)`` if none. An auction without ``days`` runs
    every day."""
    day = dt.datetime.fromtimestamp(after, zone).date()
    for offset in range(8):
        date = day + dt.timedelta(days=offset)
        starts = [
            (dt.datetime.combine(date, moment, zone).timestamp(), dict(terms))
            for terms in auctions
            if terms["trigger"] == "TimeBased"
            and (not terms["days"] or DAYS[date.weekday()] in terms["days"])
            for moment in map(_start_time, terms["startTimes"])
            if moment is not None
        ]
        later = [start for start in starts if start[0] > after]
        if later:
            return min(later, key=lambda start: start[0])
    return math.inf, None


def check_time_in_force(
    order_type: str, tif: str, auction: Auction | None, min_quantity: Any
) -> None:
    """Refuse an order the trading phase does not take: outside an auction ``1031`` for
    ``GAA`` and ``1001`` for a time in force its type does not take; in an auction's call
    phase ``1030`` (worded as documented) and ``1033`` for ``minQuantity``."""
    if auction is None:
        if tif == "GAA":
            raise Fail(1031, "GAA is allowed only during auction")
        allowed = CONTINUOUS_TIFS[order_type]
        if tif not in allowed:
            raise Fail(1001, f"Wrong timeInForce: {order_type} orders take {', '.join(allowed)}")
        return
    if tif not in auction.allowed(order_type):
        limits = ", ".join(auction.allowed("Limit"))
        market = " (and IOC market orders)" if auction.allowed("Market") else ""
        raise Fail(1030, f"Only {limits} limit orders are allowed{market}")
    if min_quantity is not None:
        raise Fail(1033, "minQuantity is allowed only in continuous trading")


@dataclass
class Auction:
    """An instrument's auction while it runs."""

    terms: dict[str, Any]
    ends: float | None
    """Epoch seconds of the uncross, or ``None`` until ended by hand."""
    indicative: dict[str, Any] | None = None
    """The indicative price members last published."""
    dark: list[dict[str, Any]] = field(default_factory=list)
    """Orders placed in an auction without ``LIT`` events: the book hears of them at
    the crossing."""

    def allowed(self, order_type: str) -> list[str]:
        return [
            t for t in AUCTION_TIFS.get(order_type, ()) if t in self.terms["allowedTimeInForces"]
        ]

    @property
    def lit(self) -> bool:
        return "LIT" in self.terms["eventsModes"]

    @property
    def indicates(self) -> bool:
        return "INDICATIVE_PRICE" in self.terms["eventsModes"]

    @property
    def unscheduled(self) -> bool:
        """After a halt (``Resume``/``AutoResume``): ``marketModel``/``tradingMode``
        ``UA``, else ``A``/``IA``."""
        return bool(self.terms["trigger"] != "TimeBased")

    @property
    def market_model(self) -> str:
        return "UA" if self.unscheduled else "A"

    @property
    def trading_mode(self) -> str:
        return "UA" if self.unscheduled else "IA"


@dataclass(frozen=True)
class Uncross:
    """Where an auction would uncross now: ``price`` ``None`` if nothing would trade."""

    price: float | None
    paired: float
    imbalance: float
    side: str
    """``imbalanceSide``: ``Buy``, ``Sell``, ``None`` (balanced) or ``NA`` (no price)."""


Interest = list[tuple[float | None, float]]
"""One side's orders as ``(limit price or None for a market order, quantity)``."""


def equilibrium(
    buys: Interest, sells: Interest, reference: float | None, exact: Callable[[float], float]
) -> Uncross:
    """The equilibrium price: of the orders' limit prices (the ``reference`` price, the
    last trade, when only market orders meet), the one that trades the most; then the
    smallest surplus; then, if every such price leaves a surplus on the same side, the
    highest (buy surplus) or lowest (sell surplus); else the one nearest ``reference``,
    the lowest without one (Exberry documents no tie-break: a common exchange rule)."""
    prices = sorted({p for p, _ in buys + sells if p is not None})
    if not prices and reference is not None:
        prices = [reference]

    def volumes(price: float) -> tuple[float, float]:
        bought = exact(sum(q for p, q in buys if p is None or p >= price))
        sold = exact(sum(q for p, q in sells if p is None or p <= price))
        return bought, sold

    rows = [(price, *volumes(price)) for price in prices]
    best = max((min(b, s) for _, b, s in rows), default=0.0)
    if best <= 0:
        return Uncross(None, 0, 0, "NA")
    rows = [r for r in rows if min(r[1], r[2]) == best]
    least = min(abs(b - s) for _, b, s in rows)
    rows = [r for r in rows if abs(r[1] - r[2]) == least]
    if all(b > s for _, b, s in rows):
        price, bought, sold = rows[-1]
    elif all(s > b for _, b, s in rows):
        price, bought, sold = rows[0]
    else:
        anchor = reference if reference is not None else rows[0][0]
        price, bought, sold = min(rows, key=lambda r: (abs(r[0] - anchor), r[0]))
    side = "Buy" if bought > sold else "Sell" if sold > bought else "None"
    return Uncross(price, best, exact(abs(bought - sold)), side)
