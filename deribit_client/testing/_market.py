"""The simulator's market: instruments, index prices and one order book per instrument."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import math
import random
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ._logs import HISTORY
from ._session import invalid_param, unsupported_instrument

__all__ = [
    "AMOUNT_UNITS",
    "PUBLIC_TRADE_FIELDS",
    "SignedLegs",
    "base_size",
    "currency_of",
    "is_inverse",
    "notional",
    "CURRENCIES",
    "CURRENCY_CODES",
    "DAY_MS",
    "HOUR_MS",
    "OPENING_IV",
    "RESOLUTION_MS",
    "Book",
    "Candle",
    "Market",
    "channel_covers",
    "currency_matches",
    "deribit_id",
    "expiry_code",
    "is_combo",
    "kind_matches",
    "leg_trades",
    "made_up_path",
    "public_trade",
    "side_of",
    "traded_volume",
]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
PERPETUAL_EXPIRY = 32503708800000  # Deribit's "never" for perpetuals (REFERENCE 7.5)
_EMPTY = 1e-9  # amounts and price differences below this are zero

AMOUNT_UNITS = 100_000_000
"""Amounts are compared in 1e-8 steps, finer than any minimum trade amount."""
_PRICE_BAND = 0.03  # orders are accepted within 3 % of the mark (Market._reach)
_OPTION_TICK = 0.0005
_OPTION_BAND = 0.04
"""An option trades within this much of its mark, per coin of underlying (Deribit's
option price limits: mark +/- 0.04 BTC; a linear option's in USDC, times the index),
never below a tick."""
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
OPENING_IV = 49.9
"""The implied volatility (percent) option books open around (their prices then move with
trading: tickers report the volatility of the price, :meth:`Market.implied_volatility`)."""
_IV_RANGE = (0.0, 1000.0)
"""The volatilities (percent) an option price is solved within."""
_IV_PRECISION = 1e-9
"""Solving a volatility stops within this share of the underlying's price, or of a point."""
DVOL_OPENING = 50.0
"""The volatility index (DVOL) when the simulator starts."""
_PAST_INTEREST_LIMIT = 100_000  # cached hourly funding values before the start
FUNDING_BAND = 0.0005
"""Premiums within +/- 0.05 % of the index pay no funding (Deribit's dampener)."""
RESOLUTION_MS = {
    **{str(m): m * 60_000 for m in (1, 3, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720)},
    "1D": DAY_MS,  # get_tradingview_chart_data's name for a day
    "D": DAY_MS,  # chart.trades' names
    "W": 7 * DAY_MS,
    "M": 30 * DAY_MS,
}
"""Candle resolution -> its length in ms (which names a method or channel accepts is
checked against the spec's values first)."""

Candle = tuple[int, float, float, float, float, float, float]
"""``(tick, open, high, low, close, volume, cost)``, as TradingView charts take them."""


def expiry_code(day: dt.date) -> str:
    """Deribit's date code: day without leading zero, month, two-digit year (``27MAR26``)."""
    return f"{day.day}{_MONTHS[day.month - 1]}{day.year % 100:02d}"


def _last_fridays(after: dt.date, count: int) -> list[dt.date]:
    out: list[dt.date] = []
    year, month = after.year, after.month
    while len(out) < count:
        last = calendar.monthrange(year, month)[1]
        day = dt.date(year, month, last)
        day -= dt.timedelta(days=(day.weekday() - 4) % 7)
        if day > after:
            out.append(day)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


class Book:
    """Price levels of one instrument, best first: ``[[price, amount], ...]``.

    Every mutation goes through :meth:`add` or :meth:`set_level`, which remember the levels
    they touched; :meth:`flush` turns them into one ``change`` with the next ``change_id``,
    so ``book.*`` subscribers see every mutation, each change id exactly once, in order.
    """

    def __init__(self, tick: float, min_amount: float, mid: float, rng: random.Random) -> None:
        self.tick = tick
        self.min_amount = min_amount
        self.change_id = rng.randrange(10_000_000, 90_000_000)
        self.bids: list[list[float]] = []
        self.asks: list[list[float]] = []
        # price -> whether the level existed at the last flush, per side
        self._touched: dict[str, dict[float, bool]] = {"bids": {}, "asks": {}}
        for side, price, amount in self._fresh(mid, rng):
            self.levels(side).append([price, amount])

    def _fresh(self, mid: float, rng: random.Random) -> Iterator[tuple[str, float, float]]:
        """The market's own liquidity around ``mid`` as ``(side, price, amount)``: twenty
        strictly widening levels on each side, best first (no bid below a tick: a cheap
        option's book has fewer)."""
        mid = self.round(mid)
        gap = 0.0
        for _ in range(20):
            gap += self.tick * rng.randint(1, 3)
            bid, amount = self.round(mid - gap), self._amount(rng)
            if bid >= self.tick:
                yield "bids", bid, amount
            yield "asks", self.round(mid + gap), self._amount(rng)

    def refill(self, mid: float, rng: random.Random, kept: dict[tuple[str, float], float]) -> None:
        """Replace the market's own liquidity by fresh levels around ``mid``; ``kept``
        (``(side, price)`` -> amount: what users' orders show there) stays."""
        wanted = dict(kept)
        for side, price, amount in self._fresh(mid, rng):
            wanted[side, price] = wanted.get((side, price), 0.0) + amount
        for side in ("bids", "asks"):
            for price, _ in list(self.levels(side)):
                if (side, price) not in wanted:
                    self.set_level(side, price, 0.0)
        for (side, price), amount in wanted.items():
            self.set_level(side, price, amount)

    def round(self, price: float) -> float:
        """Snap ``price`` to the tick grid."""
        return round(round(price / self.tick) * self.tick, 10)

    def _amount(self, rng: random.Random) -> float:
        return round(self.min_amount * rng.randint(1, 50), 10)

    def levels(self, side: str) -> list[list[float]]:
        """``bids`` or ``asks`` (a buy order rests on bids: pass ``side_of(direction)``)."""
        return self.bids if side == "bids" else self.asks

    def amount_at(self, side: str, price: float) -> float:
        """The amount resting at ``price`` (0 when there is no level)."""
        level = self._find(self.levels(side), price)
        return level[1] if level is not None else 0.0

    def add(self, side: str, price: float, delta: float) -> None:
        """Add ``delta`` (negative to take) to the level at ``price``."""
        self.set_level(side, price, self.amount_at(side, price) + delta)

    def set_level(self, side: str, price: float, amount: float) -> None:
        """Make the level at ``price`` hold ``amount``; an empty level is removed."""
        levels = self.levels(side)
        level = self._find(levels, price)
        if level is not None:
            price = level[0]  # one key per level, however the caller rounded
        self._touched[side].setdefault(price, level is not None)
        amount = round(amount, 10)
        if amount <= _EMPTY:
            if level is not None:
                levels.remove(level)
        elif level is not None:
            level[1] = amount
        else:
            levels.append([price, amount])
            levels.sort(key=(lambda lv: -lv[0]) if side == "bids" else (lambda lv: lv[0]))

    def flush(self, *, skip: int = 0) -> tuple[int, list[list[Any]], list[list[Any]]] | None:
        """The mutations since the last flush as ``(prev_change_id, bids, asks)`` with
        Deribit's actions (``new``, ``change``, ``delete`` with amount 0), advancing
        ``change_id`` once; None when nothing changed. ``skip`` first passes over that many
        ids as if their changes had been lost (an injected gap)."""
        bids = self._actions("bids")
        asks = self._actions("asks")
        if not bids and not asks:
            return None
        self.change_id += skip
        prev = self.change_id
        self.change_id += 1
        return prev, bids, asks

    def _actions(self, side: str) -> list[list[Any]]:
        touched = self._touched[side]
        if not touched:
            return []
        self._touched[side] = {}
        actions: list[list[Any]] = []
        for price in sorted(touched, reverse=side == "bids"):
            existed = touched[price]
            now = self._find(self.levels(side), price)
            if now is None:
                if existed:
                    actions.append(["delete", price, 0.0])
            else:
                actions.append(["change" if existed else "new", price, now[1]])
        return actions

    @staticmethod
    def _find(levels: list[list[float]], price: float) -> list[float] | None:
        for level in levels:
            if abs(level[0] - price) < _EMPTY:
                return level
        return None

    @property
    def best_bid(self) -> list[float] | None:
        """Best bid level, if any."""
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> list[float] | None:
        """Best ask level, if any."""
        return self.asks[0] if self.asks else None

    def mid(self) -> float | None:
        """Mid price, when both sides have liquidity."""
        if self.bids and self.asks:
            return (self.bids[0][0] + self.asks[0][0]) / 2
        return None


_COMMISSIONS = {
    "future": {"maker_commission": 0.0, "taker_commission": 0.0005},
    "option": {"maker_commission": 0.0003, "taker_commission": 0.0003},
    "spot": {"maker_commission": 0.0, "taker_commission": 0.0},
}


def is_inverse(instrument: dict[str, Any]) -> bool:
    """Whether ``instrument`` is an inverse future (sized in USD, settled in its coin);
    linear ones (``BTC_USDC-PERPETUAL``) are sized in the coin and settled in USDC."""
    return instrument["kind"] == "future" and instrument.get("instrument_type") != "linear"


def base_size(instrument: dict[str, Any], amount: float, price: float) -> float:
    """``amount`` in base currency: inverse futures are sized in USD, everything else in
    the base coin (REFERENCE 1)."""
    return amount / price if is_inverse(instrument) else amount


def notional(instrument: dict[str, Any], amount: float, price: float) -> float:
    """What ``amount`` at ``price`` is worth in the currency ``instrument`` settles in:
    the base size, times the price for a linear instrument (settled in the quote)."""
    size = base_size(instrument, amount, price)
    return size * price if instrument.get("instrument_type") == "linear" else size


SignedLegs = Sequence[tuple[str, int]]
"""A combo's legs: ``(instrument_name, ratio)``, the ratio negative for a sold leg (as
``public/get_combo_details`` lists them)."""

PUBLIC_TRADE_FIELDS = (
    "trade_id",
    "trade_seq",
    "instrument_name",
    "timestamp",
    "direction",
    "price",
    "amount",
    "contracts",
    "tick_direction",
    "index_price",
    "mark_price",
    "iv",
    "liquidation",
    "block_trade_id",
    "block_trade_leg_count",
    "block_rfq_id",
    "combo_id",
    "combo_trade_id",
)
"""What everyone sees of a trade (REFERENCE 7.2); a user's own fills add private fields."""


def public_trade(trade: dict[str, Any]) -> dict[str, Any]:
    """The public part of a print or of a user's trade."""
    return {k: trade[k] for k in PUBLIC_TRADE_FIELDS if k in trade}


TRADING_PRODUCTS = ("perpetual", "futures", "options", "future_combos", "option_combos", "spots")
"""What ``private/set_disabled_trading_products`` can disable."""


def trading_product(instrument: dict[str, Any]) -> str:
    """The product (of :data:`TRADING_PRODUCTS`) ``instrument`` belongs to."""
    kind = instrument["kind"]
    if kind == "future":
        return "perpetual" if instrument["settlement_period"] == "perpetual" else "futures"
    return f"{kind}s"  # options, spots, future_combos, option_combos


def leg_trades(trades: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The leg trades (``legs``) of combo trades or prints, by leg instrument."""
    by_leg: dict[str, list[dict[str, Any]]] = {}
    for trade in trades:
        for leg in trade.get("legs", ()):
            by_leg.setdefault(leg["instrument_name"], []).append(leg)
    return by_leg


def is_combo(instrument: dict[str, Any]) -> bool:
    """Whether ``instrument`` is a combo book (kind ``future_combo`` or ``option_combo``)."""
    return str(instrument["kind"]).endswith("_combo")


def kind_matches(instrument_kind: str, kind: str | None) -> bool:
    """A request's or channel's ``kind`` (``any``, ``combo`` or one kind) covers
    ``instrument_kind``; no kind covers all."""
    if kind in (None, "any"):
        return True
    if kind == "combo":
        return instrument_kind.endswith("_combo")
    return instrument_kind == kind


def channel_covers(selector: list[str], instrument: dict[str, Any]) -> bool:
    """Whether a channel's instrument selector, ``[instrument_name]`` or
    ``[kind, currency]`` (either may be ``any``; currencies in either case, as clients
    write both), covers ``instrument``: the one rule of ``trades.*``, ``user.*`` and
    ``instrument.state.*``."""
    if len(selector) == 1:
        return bool(selector[0] == instrument["instrument_name"])
    if len(selector) == 2:
        kind, currency = selector
        return kind_matches(instrument["kind"], kind) and currency_matches(
            currency, currency_of(instrument)
        )
    return False


def currency_matches(part: str, currency: str) -> bool:
    """A channel's currency part names ``currency`` (or ``any``), in either case."""
    return part.lower() in ("any", currency.lower())


def currency_of(instrument: dict[str, Any]) -> str:
    """The currency ``instrument`` settles in (spot pairs: their base currency)."""
    return str(instrument.get("settlement_currency") or instrument["base_currency"])


def deribit_id(currency: str, number: int) -> str:
    """Order and trade ids as Deribit spells them: a bare number for BTC instruments,
    ``ETH-584849853`` for the others (clients that parse them must see both)."""
    return str(number) if currency == "BTC" else f"{currency}-{number}"


def side_of(direction: str) -> str:
    """The book side an order of ``direction`` rests on."""
    return "bids" if direction == "buy" else "asks"


def opposite(direction: str) -> str:
    """The other direction (``buy`` <-> ``sell``)."""
    return "sell" if direction == "buy" else "buy"


class Market:
    """Instruments of BTC and ETH (inverse perpetual, futures and options, linear USDC
    perpetual), linear USDC options of SOL and XRP, and spot pairs."""

    def __init__(self, rng: random.Random, clock: Callable[[], float]) -> None:
        self.rng = rng
        self.clock = clock
        """Seconds since the epoch (the simulator's clock): option marks age with it."""
        now_ms = self.now_ms()
        self.started_ms = now_ms
        self.created_ms = now_ms - DAY_MS * 30
        self.index_prices: dict[str, float] = {
            "btc_usd": 64_750.12,
            "eth_usd": 3_402.55,
            "btc_usdc": 64_748.9,
            "eth_usdc": 3_402.1,
            "sol_usdc": 145.21,
            "xrp_usdc": 0.5231,
            "paxg_usdc": 2_650.4,
            "bnb_usdc": 580.7,
            "usdc_usdt": 1.0001,
        }
        self.volatility_index = {"btc_usd": DVOL_OPENING, "eth_usd": DVOL_OPENING}
        """DVOL per index (only BTC and ETH options have one)."""
        self.opening_prices: dict[str, float] = dict(self.index_prices)
        """Index prices and instrument marks when the simulator started: where the made-up
        history before it ends (so that history is the same at every request)."""
        self._past_interest: dict[tuple[str, int], float] = {}
        self.instruments: dict[str, dict[str, Any]] = {}
        self._index_ids: dict[str, int] = {}
        self.books: dict[str, Book] = {}
        self.last_trade: dict[str, float] = {}
        self.settlement_prices: dict[str, float] = {}
        """Each settled instrument's price at its last daily settlement (its mark then)."""
        self.delivery_prices: dict[str, float] = {}
        """Each delivered instrument's delivery price."""
        self.settlements: list[dict[str, Any]] = []
        """The market's settlements and deliveries, oldest first (``_settlement``)."""
        self.tapes: dict[str, deque[dict[str, Any]]] = {}
        """Public trades per instrument, oldest first (the newest :data:`HISTORY`)."""
        self._trade_ids = itertools.count(500_000)
        self.combos: dict[str, dict[str, Any]] = {}
        """Combos by id, as ``private/create_combo`` and Block RFQs registered them."""
        self.combo_legs: dict[str, SignedLegs] = {}
        """The legs of each combo book (:meth:`add_combo`), by its instrument name."""
        self.combo_ids = itertools.count(400_001)
        self._trade_seq: dict[str, int] = {}
        self._tick_direction: dict[str, int] = {}
        self._strikes: dict[str, list[str]] = {}
        """The options of each strike and expiry (``BTC-27NOV26-65000``): a call and a put
        sharing one volatility, as on Deribit's surface."""
        self._fits: dict[str, tuple[tuple[float | None, ...], float]] = {}
        """Each strike's last volatility (percent) fitted to its books (:meth:`mark_iv`)
        and what it was fitted to."""
        self._instrument_ids = itertools.count(100_001)
        today = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).date()
        next_id = self._instrument_ids
        for currency, tick, contract, spot in (
            ("BTC", 0.5, 10.0, 64_750.0),
            ("ETH", 0.05, 1.0, 3_402.5),
        ):
            self._add_future(
                f"{currency}-PERPETUAL", currency, tick, contract, PERPETUAL_EXPIRY,
                next(next_id), spot,
            )  # fmt: skip
            for day in _last_fridays(today, 2):
                self._add_future(
                    f"{currency}-{expiry_code(day)}", currency, tick, contract, _expiry_ms(day),
                    next(next_id), spot * 1.01,
                )  # fmt: skip
            step = 5_000.0 if currency == "BTC" else 200.0
            self._add_options(currency, today, spot, step, next_id)
            pair = f"{currency}_USDC"
            self._add(
                {
                    "instrument_name": pair,
                    "kind": "spot",
                    "instrument_type": "linear",
                    "base_currency": currency,
                    "quote_currency": "USDC",
                    "counter_currency": "USDC",
                    "price_index": f"{currency.lower()}_usdc",
                    "tick_size": 1.0 if currency == "BTC" else 0.1,
                    "contract_size": 0.0001,
                    "min_trade_amount": 0.0001,
                    "expiration_timestamp": PERPETUAL_EXPIRY,
                    "instrument_id": next(next_id),
                },
                spot,
            )
        # Linear perpetuals: sized in the coin, priced and settled in USDC.
        for currency, tick, contract in (("BTC", 1.0, 0.0001), ("ETH", 0.1, 0.001)):
            self._add_future(
                f"{currency}_USDC-PERPETUAL", currency, tick, contract, PERPETUAL_EXPIRY,
                next(next_id), self.index_prices[f"{currency.lower()}_usdc"], settles_in="USDC",
            )  # fmt: skip
        # Linear options: sized in the coin, priced and settled in USDC (the simulator's
        # own ticks and sizes).
        for currency, step, tick in (("SOL", 5.0, 0.01), ("XRP", 0.025, 0.0001)):
            self._add_options(
                currency, today, self.index_prices[f"{currency.lower()}_usdc"], step, next_id,
                settles_in="USDC", tick=tick, min_amount=1.0,
            )  # fmt: skip
        for options in self._strikes.values():  # marked once both books of a strike are up
            for name in options:
                self.opening_prices[name] = self.mark_price(name)

    # -- catalogue ----------------------------------------------------------------------

    def _add(self, spec: dict[str, Any], mid: float) -> None:
        index = spec["price_index"]
        instrument = {
            "is_active": True,
            "state": "open",
            # current members the spec snapshot lacks (values are the simulator's own)
            "underlying_type": "index",
            "lot_size": spec["min_trade_amount"],
            "index_id": self._index_ids.setdefault(index, len(self._index_ids) + 1),
            "product_group": f"{spec['base_currency']}_{spec['kind']}".lower(),
            "max_non_default_leverage": spec.get("max_leverage", 1),
            "creation_timestamp": self.created_ms,
            # Deribit's Fees article: futures 0% maker, 0.05% taker; options 0.03% of the
            # underlying either way (capped when trading); spot free.
            **_COMMISSIONS[spec["kind"].removesuffix("_combo")],
            "block_trade_commission": 0.00025,
            "block_trade_min_trade_amount": spec["min_trade_amount"] * 10,
            "block_trade_tick_size": spec["tick_size"],
            "tick_size_steps": [],
            **spec,
        }
        self.instruments[instrument["instrument_name"]] = instrument
        book = Book(instrument["tick_size"], instrument["min_trade_amount"], mid, self.rng)
        self.books[instrument["instrument_name"]] = book
        self.last_trade[instrument["instrument_name"]] = book.mid() or mid
        self.opening_prices[instrument["instrument_name"]] = book.mid() or mid

    def _add_future(
        self,
        name: str,
        currency: str,
        tick: float,
        contract: float,
        expiry: int,
        instrument_id: int,
        mid: float,
        settles_in: str | None = None,
    ) -> None:
        """A future of ``currency`` (a perpetual when ``expiry`` is
        :data:`PERPETUAL_EXPIRY`): inverse, or linear when it ``settles_in`` a stablecoin
        (which then quotes it and names its index)."""
        quote = settles_in or "USD"
        self._add(
            {
                "instrument_name": name,
                "kind": "future",
                "instrument_type": "linear" if settles_in else "reversed",
                "future_type": "linear" if settles_in else "reversed",
                "base_currency": currency,
                "quote_currency": quote,
                "counter_currency": quote,
                "settlement_currency": settles_in or currency,
                "settlement_period": "perpetual" if expiry == PERPETUAL_EXPIRY else "month",
                "price_index": f"{currency}_{quote}".lower(),
                "tick_size": tick,
                "contract_size": contract,
                "min_trade_amount": contract,
                "max_leverage": 50,
                "max_liquidation_commission": 0.0075,
                "expiration_timestamp": expiry,
                "instrument_id": instrument_id,
            },
            mid,
        )

    def _add_options(
        self,
        currency: str,
        today: dt.date,
        spot: float,
        step: float,
        ids: Iterator[int],
        *,
        settles_in: str | None = None,
        tick: float = _OPTION_TICK,
        min_amount: float = 0.1,
    ) -> None:
        """A call and a put of ``currency`` at three strikes ``step`` apart around
        ``spot``, expiring on the futures' two month ends (a calendar spread has two
        legs to trade): inverse (priced and settled in the coin), or linear when they
        ``settle_in`` a stablecoin (which prices them; Deribit writes their strikes'
        decimal point as ``d``: ``XRP_USDC-30JUN23-0d625-C``)."""
        atm = round(spot / step) * step
        prefix = f"{currency}_{settles_in}" if settles_in else currency
        index = f"{currency}_{settles_in or 'USD'}".lower()
        for day, strike in itertools.product(
            _last_fridays(today, 2), (atm - step, atm, atm + step)
        ):
            strike = round(strike, 10)
            code = f"{strike:.10f}".rstrip("0").rstrip(".").replace(".", "d")
            for option_type in ("call", "put"):
                name = f"{prefix}-{expiry_code(day)}-{code}-{option_type[0].upper()}"
                spec: dict[str, Any] = {
                    "instrument_name": name,
                    "kind": "option",
                    "instrument_type": "linear" if settles_in else "reversed",
                    "base_currency": currency,
                    "quote_currency": settles_in or currency,
                    "counter_currency": settles_in or "USD",
                    "settlement_currency": settles_in or currency,
                    "settlement_period": "month",
                    "price_index": index,
                    "tick_size": tick,
                    "tick_size_steps": [{"above_price": tick * 10, "tick_size": tick}],
                    "contract_size": 1.0,
                    "min_trade_amount": min_amount,
                    "strike": strike,
                    "option_type": option_type,
                    "expiration_timestamp": _expiry_ms(day),
                    "instrument_id": next(ids),
                }
                self._add_option(spec, spot, self.started_ms)

    def _add_option(self, spec: dict[str, Any], spot: float, now_ms: int) -> None:
        """List the option ``spec``, its book opening around its Black-Scholes value at
        :data:`OPENING_IV` (a tick at least), beside the other option of its strike."""
        usd = _option_usd(spec, spot, OPENING_IV, now_ms)
        self._add(spec, max(usd / _usd_per_price(spec, spot), spec["tick_size"]))
        self._strikes.setdefault(_strike_of(spec["instrument_name"]), []).append(
            spec["instrument_name"]
        )

    def list_instrument(self, name: str, now_ms: int) -> dict[str, Any]:
        """List a new future or option, named as Deribit names them (``BTC-25DEC26``,
        ``BTC-25DEC26-80000-C``, ``XRP_USDC-25DEC26-0d6-P``) and expiring at 08:00 UTC
        of its date: sizes, ticks, fees and index are those of a listed instrument of the
        same currency and kind; a future's book opens at its index, an option's at its
        Black-Scholes value at :data:`OPENING_IV`. Returns the instrument, created now.

        Raises:
            ValueError: the name is listed already, is not such a name, expires in the
                past, or names a currency or kind the simulator lists nothing like.
        """
        if name in self.instruments:
            raise ValueError(f"{name} is listed already")
        parts = name.split("-")
        if len(parts) not in (2, 4) or (len(parts) == 4 and parts[3] not in ("C", "P")):
            raise ValueError(
                f"{name!r} is neither a future (BTC-25DEC26) nor an option (BTC-25DEC26-80000-C)"
            )
        kind = "future" if len(parts) == 2 else "option"
        day = _expiry_day(parts[1])
        if day is None:
            raise ValueError(f"{name}: {parts[1]!r} is not a date such as 25DEC26")
        expiry = _expiry_ms(day)
        if expiry <= now_ms:
            raise ValueError(f"{name} would have expired already")
        template = next(
            (i for i in self.instruments.values()
             if i["kind"] == kind and i["instrument_name"].split("-")[0] == parts[0]),
            None,
        )  # fmt: skip
        if template is None:
            raise ValueError(f"{name}: the simulator lists no {kind} of {parts[0]} to model it on")
        friday = day.weekday() == 4
        spec = {
            **template,
            "instrument_name": name,
            "instrument_id": next(self._instrument_ids),
            "is_active": True,
            "state": "open",
            "creation_timestamp": now_ms,
            "expiration_timestamp": expiry,
            "settlement_period": (
                "month" if friday and day.month != (day + dt.timedelta(7)).month
                else "week" if friday else "day"
            ),
        }  # fmt: skip
        spot = self._spot(template)
        if kind == "future":
            self._add(spec, spot)
            return self.instruments[name]
        strike = _strike_value(parts[2])
        if strike is None:
            raise ValueError(f"{name}: {parts[2]!r} is not a strike such as 80000 or 0d6")
        spec.update(strike=strike, option_type="call" if parts[3] == "C" else "put")
        self._add_option(spec, spot, now_ms)
        self.opening_prices[name] = self.mark_price(name)
        return self.instruments[name]

    def add_combo(self, combo: dict[str, Any]) -> dict[str, Any]:
        """Open the book of a combo (a ``private/create_combo`` record): an instrument of
        kind ``future_combo`` (futures only) or ``option_combo``, priced as its legs'
        ratio-weighted sum (bought legs add, sold subtract), sized in combo units of which
        each leg trades ``ratio`` times, in whole contracts of every leg. The market's
        liquidity in it lies within the price band. Returns the instrument."""
        name = combo["id"]
        legs = tuple((leg["instrument_name"], int(leg["amount"])) for leg in combo["legs"])
        members = [self.instruments[leg] for leg, _ in legs]
        first = members[0]
        due = min(members, key=lambda m: int(m["expiration_timestamp"]))  # ends the combo
        kind = "future_combo" if all(m["kind"] == "future" for m in members) else "option_combo"
        spec: dict[str, Any] = {
            key: first[key]
            for key in ("instrument_type", "future_type", "base_currency", "quote_currency",
                        "counter_currency", "settlement_currency", "price_index",
                        "contract_size", "max_leverage", "max_liquidation_commission")
            if key in first
        }  # fmt: skip
        self.combo_legs[name] = legs
        self._add(
            {
                **spec,
                "instrument_name": name,
                "kind": kind,
                "settlement_period": due["settlement_period"],
                "tick_size": max(m["tick_size"] for m in members),
                "min_trade_amount": self.combo_step(legs),
                "expiration_timestamp": due["expiration_timestamp"],
                "instrument_id": combo["instrument_id"],
                "creation_timestamp": combo["creation_timestamp"],
            },
            self.combo_mark(legs),
        )
        book = self.books[name]
        low, high = self.price_band(name)
        book.bids[:] = [level for level in book.bids if level[0] >= low]
        book.asks[:] = [level for level in book.asks if level[0] <= high]
        return self.instruments[name]

    def combo_step(self, legs: SignedLegs) -> float:
        """The smallest amount of a combo that trades whole contracts on every leg."""
        step = 1
        for name, ratio in legs:
            minimum = round(self.instruments[name]["min_trade_amount"] * AMOUNT_UNITS)
            per_unit = minimum // math.gcd(minimum, abs(ratio))
            step = step * per_unit // math.gcd(step, per_unit)
        return step / AMOUNT_UNITS

    def combo_mark(self, legs: SignedLegs) -> float:
        """A combo's price from its legs' current marks."""
        return sum(ratio * self.mark_price(name) for name, ratio in legs)

    def leg_prices(self, legs: SignedLegs, price: float) -> list[float]:
        """Leg prices (on their ticks) whose ratio-weighted sum is ``price``: each leg at
        its mark, except that the difference goes to one leg whose price it raises (a
        bought leg when ``price`` is above the marks' sum, a sold one when below; a 1x
        leg first). When all legs go the other way the marks are scaled instead. What a
        leg's tick cannot take (a difference split over a ratio) goes to a 1x leg.
        ``-32602`` when no positive prices add up to ``price``."""

        def total(prices: list[float]) -> float:
            return sum(ratio * p for (_, ratio), p in zip(legs, prices, strict=True))

        prices = [self.books[name].round(self.mark_price(name)) for name, _ in legs]
        gap = price - total(prices)
        raising = [i for i, (_, ratio) in enumerate(legs) if (ratio > 0) == (gap >= 0)]
        if raising:
            self._shift(legs, prices, min(raising, key=lambda i: abs(legs[i][1])), gap)
        else:
            factor = price / (price - gap) if price != gap else 0.0
            if factor <= 0:
                raise invalid_param("price", "no positive leg prices add up to it")
            prices = [p * factor for p in prices]
            for index in range(len(legs)):
                self._shift(legs, prices, index, 0.0)  # onto the tick
        rest = price - total(prices)
        single = [i for i, (_, ratio) in enumerate(legs) if abs(ratio) == 1]
        if abs(rest) > _EMPTY and single:
            self._shift(legs, prices, single[0], rest)
        return prices

    def _shift(self, legs: SignedLegs, prices: list[float], index: int, amount: float) -> None:
        """Move the legs' combined price by ``amount`` through leg ``index``'s price (on
        its tick; never to zero or below)."""
        name, ratio = legs[index]
        book = self.books[name]
        prices[index] = max(book.tick, book.round(prices[index] + amount / ratio))

    def price_band(self, name: str) -> tuple[float, float]:
        """The lowest and highest prices ``name`` trades at now (the ticker's
        ``min_price`` and ``max_price``): limit orders beyond are refused, market orders
        take no further."""
        book, mark, reach = self.books[name], self.mark_price(name), self._reach(name)
        low = mark - reach
        if self.instruments[name]["kind"] == "option":
            low = max(low, book.tick)
        return book.round(low), book.round(mark + reach)

    def _reach(self, name: str) -> float:
        """How far from the mark ``name`` trades: 3% of it, an option's
        :data:`_OPTION_BAND`, a combo its legs' reaches times their ratios."""
        legs = self.combo_legs.get(name)
        if legs:
            return sum(abs(ratio) * self._reach(leg) for leg, ratio in legs)
        instrument = self.instruments[name]
        if instrument["kind"] == "option":
            return self.underlying_value(instrument, _OPTION_BAND)
        return abs(self.mark_price(name)) * _PRICE_BAND

    def _scale(self, name: str) -> float:
        """What price bands are fractions of: the mark, for a combo the value of its
        legs (its own price may be near zero or negative)."""
        legs = self.combo_legs.get(name)
        if legs:
            return sum(abs(ratio) * self.mark_price(leg) for leg, ratio in legs)
        return abs(self.mark_price(name))

    def record_trade(
        self, name: str, direction: str, price: float, amount: float, now_ms: int,
        **members: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """A public trade on ``name`` (taker ``direction``) with ``members`` added: ids,
        ``trade_seq`` per instrument and ``tick_direction`` as Deribit numbers them; kept
        on the tape and moving ``last_price``. A combo's print lists its legs' prints
        under ``legs`` (which :func:`public_trade` leaves out)."""
        instrument = self.instruments[name]
        seq = self._trade_seq.get(name, 0) + 1
        self._trade_seq[name] = seq
        last = self.last_trade[name]
        previous = self._tick_direction.get(name, 0)
        if price > last:
            tick_direction = 0  # plus
        elif price < last:
            tick_direction = 2  # minus
        else:  # zero-plus after a rise, zero-minus after a fall
            tick_direction = 1 if previous in (0, 1) else 3
        self._tick_direction[name] = tick_direction
        self.last_trade[name] = price
        trade: dict[str, Any] = {
            "trade_id": deribit_id(currency_of(instrument), next(self._trade_ids)),
            "trade_seq": seq,
            "instrument_name": name,
            "timestamp": now_ms,
            "direction": direction,
            "price": price,
            "amount": amount,
            "contracts": round(amount / instrument["contract_size"], 10),
            "tick_direction": tick_direction,
            "index_price": self.index_prices.get(instrument["price_index"], price),
            "mark_price": round(self.mark_price(name), 8),
            **members,
        }
        if instrument["kind"] == "option":
            trade["iv"] = self.implied_volatility(name, price, now_ms)
            trade["underlying_price"] = self._spot(instrument)  # user trades show it
        legs = self.combo_legs.get(name)
        if legs:
            # a combo trade prints on every leg too, at prices adding up to its own
            prices = self.leg_prices(legs, price)
            trade["legs"] = [
                self.record_trade(
                    leg, direction if ratio > 0 else opposite(direction), leg_price,
                    round(amount * abs(ratio), 10), now_ms,
                    combo_id=name, combo_trade_id=trade["trade_id"],
                )
                for (leg, ratio), leg_price in zip(legs, prices, strict=True)
            ]  # fmt: skip
        tape = self.tapes.get(name)
        if tape is None:
            tape = self.tapes[name] = deque(maxlen=HISTORY)
        tape.append(trade)
        return trade

    def candles(self, name: str, start: int, end: int, step: int) -> Iterator[Candle]:
        """A candle per ``step`` ms from ``start`` to ``end``: from the tape where it has
        trades, flat at the last close between them, and before the tape begins a made-up
        path ending at its first trade (the same on every run and at every resolution)."""
        instrument = self.instruments[name]
        book = self.books[name]
        tape = list(self.tapes.get(name, ()))
        first = tape[0]["timestamp"] if tape else end + 1
        anchor = tape[0]["price"] if tape else self.last_trade[name]
        close: float | None = None
        index = 0
        for tick in range(start, end + 1, step):
            bucket_end = tick + step
            if bucket_end <= first:
                o = book.round(made_up_path(name, tick, anchor, first))
                c = book.round(made_up_path(name, bucket_end, anchor, first))
                wick = book.tick * (1 + zlib.crc32(f"{name}:{tick}".encode()) % 3)
                amount = instrument["min_trade_amount"] * (1 + zlib.crc32(str(tick).encode()) % 20)
                volume, cost = traded_volume(instrument, [{"price": c, "amount": amount}])
                close = c
                yield tick, o, max(o, c) + wick, min(o, c) - wick, c, volume, cost
                continue
            while index < len(tape) and tape[index]["timestamp"] < tick:
                close = tape[index]["price"]
                index += 1
            trades = []
            while index < len(tape) and tape[index]["timestamp"] < bucket_end:
                trades.append(tape[index])
                index += 1
            if trades:
                prices = [t["price"] for t in trades]
                close = prices[-1]
                volume, cost = traded_volume(instrument, trades)
                yield tick, prices[0], max(prices), min(prices), close, volume, cost
            elif close is not None:
                yield tick, close, close, close, close, 0.0, 0.0

    def instrument(self, name: str) -> dict[str, Any] | None:
        """The instrument object, or None."""
        return self.instruments.get(name)

    def require(self, name: str) -> dict[str, Any]:
        """The instrument object; ``10020`` as Deribit answers when there is none."""
        instrument = self.instruments.get(name)
        if instrument is None:
            raise unsupported_instrument()
        return instrument

    def index_of(self, name: str) -> str:
        """The index name an instrument's prices follow."""
        return str(self.instruments[name]["price_index"])

    def now_ms(self) -> int:
        """The simulator clock in milliseconds."""
        return int(self.clock() * 1000)

    def mark_price(self, name: str) -> float:
        """An instrument's mark price: the middle of its book, else its last trade; a
        combo's is its legs' (:meth:`combo_mark`); an option's is its value at its
        strike's volatility (:meth:`mark_iv`), so it moves with the index."""
        legs = self.combo_legs.get(name)
        if legs:
            return self.combo_mark(legs)
        instrument = self.instruments[name]
        if instrument["kind"] == "option":
            now = self.now_ms()
            spot = self._spot(instrument)
            usd = _option_usd(instrument, spot, self.mark_iv(name, now), now)
            return usd / _usd_per_price(instrument, spot)
        return self.middle(name)

    def middle(self, name: str) -> float:
        """Where ``name``'s book trades now: the middle of its best bid and ask, else its
        last trade (every mark but an option's and a combo's)."""
        return self.books[name].mid() or float(self.last_trade[name])

    def settlement_price(self, name: str) -> float:
        """The instrument's price at the last daily settlement (before the simulator's
        first: a little below the mark, as if it had drifted since)."""
        settled = self.settlement_prices.get(name)
        return settled if settled is not None else round(self.mark_price(name) * 0.999, 8)

    def advanced_price(self, name: str, advanced: str, value: float, now_ms: int) -> float:
        """The price in the base currency of an option order priced ``advanced``: a USD
        price (``usd``) or an implied volatility in percent (``implv``, Black-Scholes on
        the index without rates), at the current index, snapped to the tick (one at
        least)."""
        instrument = self.instruments[name]
        spot = self._spot(instrument)
        usd = value if advanced == "usd" else _option_usd(instrument, spot, value, now_ms)
        book = self.books[name]
        return max(book.round(usd / _usd_per_price(instrument, spot)), book.tick)

    def implied_volatility(self, name: str, price: float, now_ms: int) -> float:
        """The volatility (percent, two decimals) at which Black-Scholes values option
        ``name`` at ``price`` (in its coin, a linear option's in USDC) at the underlying
        price, without rates: a ticker's ``mark_iv``/``bid_iv``/``ask_iv``, a trade's
        ``iv``. A price at or below the option's intrinsic value gives 0, one its value
        cannot reach the top of :data:`_IV_RANGE`."""
        instrument = self.instruments[name]
        spot = self._spot(instrument)
        target = price * _usd_per_price(instrument, spot)
        low, high = _IV_RANGE
        if target <= _option_usd(instrument, spot, low, now_ms):
            return low
        if target >= _option_usd(instrument, spot, high, now_ms):
            return high
        # Newton's steps on the vega, kept inside a bracket that halves when a step
        # would leave it (the value rises with the volatility): a few steps usually.
        volatility = OPENING_IV
        for _ in range(100):
            value, vega = _value_and_vega(instrument, spot, volatility, now_ms)
            if abs(value - target) < _IV_PRECISION * spot or high - low < _IV_PRECISION:
                break
            if value < target:
                low = volatility
            else:
                high = volatility
            step = volatility - (value - target) / vega if vega > 0 else low
            volatility = step if low < step < high else (low + high) / 2
        return round(volatility, 2)

    def mark_iv(self, name: str, now_ms: int) -> float:
        """The volatility an option is marked at (its ticker's ``mark_iv``), shared by
        the call and the put of its strike as on Deribit's volatility surface: the
        average of the volatilities of their books' middles (a book without both sides,
        or with a middle below its intrinsic value, says nothing: the strike keeps its
        last volatility, :data:`OPENING_IV` at first)."""
        strike = _strike_of(name)
        options = self._strikes[strike]
        middles = [self.books[option].mid() for option in options]
        # What the fit depends on: solving is the costly part of every option mark.
        inputs = (now_ms, self._spot(self.instruments[name]), *middles)
        fit = self._fits.get(strike)
        if fit is not None and fit[0] == inputs:
            return fit[1]
        low, high = _IV_RANGE
        fitted = [
            iv
            for option, middle in zip(options, middles, strict=True)
            if middle is not None
            and low < (iv := self.implied_volatility(option, middle, now_ms)) < high
        ]
        if fitted:
            volatility = round(sum(fitted) / len(fitted), 2)
        else:  # the books say nothing: the strike keeps its last volatility
            volatility = fit[1] if fit is not None else OPENING_IV
        self._fits[strike] = (inputs, volatility)
        return volatility

    def greeks(self, name: str, now_ms: int, volatility: float | None = None) -> dict[str, float]:
        """An option's greeks as its ticker gives them: Black-Scholes at the underlying
        price and ``volatility`` (percent; its :meth:`mark_iv` unless given), no rates;
        ``delta`` (negative for a put), ``gamma`` per USD, ``vega`` in USD per
        volatility point, ``theta`` in USD per day, ``rho`` in USD per rate point."""
        instrument = self.instruments[name]
        spot, strike = self._spot(instrument), instrument["strike"]
        if volatility is None:
            volatility = self.mark_iv(name, now_ms)
        years, d1, d2 = _black_scholes(instrument, spot, volatility, now_ms)
        root, sigma = math.sqrt(years), volatility / 100
        density = _density(d1)
        call = instrument["option_type"] == "call"
        greeks = {
            "delta": _normal(d1) if call else _normal(d1) - 1,
            "gamma": density / (spot * sigma * root),
            "vega": spot * density * root / 100,
            "theta": -spot * density * sigma / (2 * root) / 365,
            "rho": strike * years * (_normal(d2) if call else -_normal(-d2)) / 100,
        }
        return {key: round(value, 5) for key, value in greeks.items()}

    def underlying_value(self, instrument: dict[str, Any], amount: float) -> float:
        """What ``amount`` of an option's underlying is worth in its settlement currency
        (what its fees and margin are shares of): the coins themselves for an inverse
        option, their value at the index for a linear one."""
        spot = self._spot(instrument)
        return amount * spot / _usd_per_price(instrument, spot)

    def _spot(self, instrument: dict[str, Any]) -> float:
        """The underlying price options are valued at: the index (without rates the
        forward is the index)."""
        return self.index_prices[instrument["price_index"]]

    def price_at(self, name: str, time_ms: int) -> float:
        """An index price, or an instrument's mark price, at ``time_ms``: its current value
        since the simulator started, a made-up path ending at its opening value before."""
        if time_ms >= self.started_ms:
            if name in self.index_prices:
                return self.index_prices[name]
            return self.mark_price(name)
        return made_up_path(name, time_ms, self.opening_prices[name], self.started_ms)

    def funding_rate(self, name: str, time_ms: int) -> float:
        """A perpetual's funding rate (per 8 hours) at ``time_ms`` as Deribit computes it from
        the premium of the mark over the index: ``max(0.05 %, premium) + min(-0.05 %,
        premium)``, zero inside the band."""
        index = self.price_at(self.index_of(name), time_ms)
        premium = (self.price_at(name, time_ms) - index) / index if index else 0.0
        return round(max(FUNDING_BAND, premium) + min(-FUNDING_BAND, premium), 12)

    def interest_1h(self, name: str, hour_ms: int) -> float:
        """The funding a perpetual accrued in the hour ending at ``hour_ms``."""
        start = hour_ms - HOUR_MS
        if start >= self.started_ms:
            return self.funding_rate(name, start) / 8
        # The made-up past never changes: remember it (tickers ask for 8 hours each time).
        key = (name, start)
        value = self._past_interest.get(key)
        if value is None:
            if len(self._past_interest) >= _PAST_INTEREST_LIMIT:
                self._past_interest.clear()
            value = self._past_interest[key] = self.funding_rate(name, start) / 8
        return value

    def interest_8h(self, name: str, time_ms: int) -> float:
        """The funding a perpetual accrued in the eight whole hours up to ``time_ms``."""
        hour = time_ms // HOUR_MS * HOUR_MS
        return sum(self.interest_1h(name, hour - n * HOUR_MS) for n in range(8))

    # -- results ------------------------------------------------------------------------

    def ticker(self, name: str, now_ms: int) -> dict[str, Any]:
        """A ``public/ticker`` result built from the book (REFERENCE 7.3)."""
        instrument = self.instruments[name]
        book = self.books[name]
        bid, ask = book.best_bid, book.best_ask
        index_price = self.index_prices.get(instrument["price_index"], 0.0)
        mark = self.mark_price(name)
        scale = self._scale(name)
        low, high = self.price_band(name)
        ticker: dict[str, Any] = {
            "instrument_name": name,
            "timestamp": now_ms,
            "state": instrument["state"],
            "stats": {
                "volume": 1234.5,
                "volume_usd": 79_000_000.0,
                "high": book.round(mark + scale * 0.02),
                "low": book.round(mark - scale * 0.02),
                "price_change": -0.4512,
            },
            "open_interest": 512_345_670.0,
            "best_bid_price": bid[0] if bid else None,
            "best_bid_amount": bid[1] if bid else 0.0,
            "best_ask_price": ask[0] if ask else None,
            "best_ask_amount": ask[1] if ask else 0.0,
            "index_price": index_price,
            "min_price": low,
            "max_price": high,
            "mark_price": round(mark, 8),
            "last_price": self.last_trade[name],
            "estimated_delivery_price": index_price,
            "settlement_price": self.settlement_price(name),
        }
        if name in self.delivery_prices:
            ticker["delivery_price"] = self.delivery_prices[name]
        if instrument["kind"] == "future" and instrument["settlement_period"] == "perpetual":
            ticker.update(
                funding_8h=self.interest_8h(name, now_ms),
                current_funding=self.funding_rate(name, now_ms),
                interest_value=0.0,
            )
        if instrument["kind"] == "option":
            mark_iv = self.mark_iv(name, now_ms)
            ticker.update(
                underlying_price=self._spot(instrument),
                underlying_index=f"SYN.{instrument['base_currency']}-{name.split('-')[1]}",
                interest_rate=0.0,
                # Deribit's 0 for a missing side
                bid_iv=self.implied_volatility(name, bid[0], now_ms) if bid else 0.0,
                ask_iv=self.implied_volatility(name, ask[0], now_ms) if ask else 0.0,
                mark_iv=mark_iv,
                greeks=self.greeks(name, now_ms, mark_iv),
            )
        return ticker

    def order_book(self, name: str, depth: int, now_ms: int) -> dict[str, Any]:
        """A ``public/get_order_book`` result (REFERENCE 7.4)."""
        book = self.books[name]
        result = self.ticker(name, now_ms)
        result["change_id"] = book.change_id
        result["bids"] = [list(level) for level in book.bids[:depth]]
        result["asks"] = [list(level) for level in book.asks[:depth]]
        return result


def _black_scholes(
    instrument: dict[str, Any], spot: float, volatility: float, now_ms: int
) -> tuple[float, float, float]:
    """An option's years to expiry and Black-Scholes ``d1``, ``d2`` at ``spot`` and
    ``volatility`` in percent, without rates."""
    years = max(instrument["expiration_timestamp"] - now_ms, 1) / (365 * DAY_MS)
    spread = volatility / 100 * math.sqrt(years)
    d1 = (math.log(spot / instrument["strike"]) + spread * spread / 2) / spread if spread else 0.0
    return years, d1, d1 - spread


def _usd_per_price(instrument: dict[str, Any], spot: float) -> float:
    """What one unit of an option's price is worth in USD: the underlying's price for an
    inverse option (priced in its coin), 1 for a linear one (priced in a stablecoin)."""
    return 1.0 if instrument["instrument_type"] == "linear" else spot


def _strike_of(option: str) -> str:
    """An option's strike and expiry, ``BTC-27NOV26-65000`` of ``BTC-27NOV26-65000-C``."""
    return option.rpartition("-")[0]


def _option_usd(instrument: dict[str, Any], spot: float, volatility: float, now_ms: int) -> float:
    """An option's Black-Scholes value in USD at ``spot`` and ``volatility`` (percent),
    without rates; its intrinsic value at volatility 0."""
    return _value_and_vega(instrument, spot, volatility, now_ms)[0]


def _value_and_vega(
    instrument: dict[str, Any], spot: float, volatility: float, now_ms: int
) -> tuple[float, float]:
    """:func:`_option_usd` and its vega (USD per volatility point)."""
    strike = float(instrument["strike"])
    call = instrument["option_type"] == "call"
    if volatility <= 0:
        return max(0.0, spot - strike if call else strike - spot), 0.0
    years, d1, d2 = _black_scholes(instrument, spot, volatility, now_ms)
    vega = spot * _density(d1) * math.sqrt(years) / 100  # as greeks() reports it
    if call:
        return spot * _normal(d1) - strike * _normal(d2), vega
    return strike * _normal(-d2) - spot * _normal(-d1), vega


def _density(x: float) -> float:
    """The standard normal density."""
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _normal(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def made_up_path(key: str, time_ms: int, anchor: float, until: int, swing: float = 1.0) -> float:
    """A value ``anchor`` reaches at ``until``, wandering up to ~2 % (times ``swing``) away
    before it: the same for the same ``key`` on every run, changing once a minute."""
    hours = (until - time_ms) / HOUR_MS
    wobble = (zlib.crc32(f"{key}:{time_ms // 60_000}".encode()) % 2001 - 1000) / 1_000_000
    drift = 0.02 * (1 - 1 / (1 + hours / 24)) * (1 if zlib.crc32(key.encode()) % 2 else -1)
    return anchor * (1 + swing * (drift + wobble * min(1.0, hours)))


def traded_volume(
    instrument: dict[str, Any], trades: Iterable[dict[str, Any]]
) -> tuple[float, float]:
    """Volume in the base currency and cost in the quote (inverse futures trade USD
    amounts)."""
    volume = cost = 0.0
    for trade in trades:
        coins = base_size(instrument, trade["amount"], trade["price"])
        volume += coins
        cost += coins * trade["price"]
    return round(volume, 8), round(cost, 8)


def _expiry_day(code: str) -> dt.date | None:
    """The date of one of Deribit's date codes (``25DEC26``), or None."""
    day, month, year = code[:-5], code[-5:-2], code[-2:]
    if not (day.isdigit() and year.isdigit() and month in _MONTHS) or day.startswith("0"):
        return None
    try:
        return dt.date(2000 + int(year), _MONTHS.index(month) + 1, int(day))
    except ValueError:  # 31FEB27
        return None


def _strike_value(code: str) -> float | None:
    """The strike of an option name's strike part (``80000``; ``0d6`` is 0.6), or None."""
    whole, point, fraction = code.partition("d")
    if not whole.isdigit() or (point and not fraction.isdigit()):
        return None
    strike = float(f"{whole}.{fraction or 0}")
    return strike if strike > 0 else None


def _expiry_ms(day: dt.date) -> int:
    # Deribit expiries are at 08:00 UTC.
    return int(dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC).timestamp() * 1000)


CURRENCY_CODES = frozenset({"BTC", "ETH", "USDC", "USDT", "EURR", "SOL", "XRP", "PAXG", "BNB"})
"""Deribit's currencies (``get_currencies`` lists more over time): valid in requests and
channel names even where the simulator lists no instrument for them."""

CURRENCIES: list[dict[str, Any]] = [
    {
        "currency": code,
        "currency_long": long_name,
        "coin_type": coin_type,
        "min_confirmations": confirmations,
        "withdrawal_fee": fee,
        "min_withdrawal_fee": fee,
        "withdrawal_priorities": [
            {"name": "low", "value": 0.0},
            {"name": "high", "value": 1.0},
        ],
        "in_cross_collateral_pool": True,
        "network_fee": fee / 2,
        "network_currency": code,
        "decimals": decimals,
    }
    for code, long_name, coin_type, confirmations, fee, decimals in (
        ("BTC", "Bitcoin", "BITCOIN", 1, 0.0001, 8),
        ("ETH", "Ethereum", "ETHER", 1, 0.0006, 8),
        ("USDC", "USD Coin", "ETHER", 1, 1.0, 6),
        ("USDT", "Tether USD", "ETHER", 1, 2.0, 6),
        ("EURR", "StablR Euro", "ETHER", 1, 2.0, 6),
    )
]
"""``public/get_currencies`` result."""
