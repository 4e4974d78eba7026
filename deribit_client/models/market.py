"""Market-data objects: instruments, tickers, books, currencies, index prices (REFERENCE 7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import msgspec

from ._base import DeribitObject

__all__ = [
    "BookLevel",
    "BookState",
    "Currency",
    "Greeks",
    "IndexPrice",
    "Instrument",
    "InstrumentKind",
    "OrderBook",
    "PriceLevel",
    "Status",
    "TickSizeStep",
    "Ticker",
    "TickerFields",
    "TickerStats",
    "VersionInfo",
    "WithdrawalPriority",
]

InstrumentKind = Literal["future", "option", "spot", "future_combo", "option_combo"]
BookState = str
"""Book lifecycle state: open, settlement, delivered, inactive, locked, halted, archivized, ...
(a plain ``str`` because Deribit adds states; REFERENCE 7.4)."""


class PriceLevel(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One book level, ``[price, amount]`` on the wire; unpacks like that tuple too.

    Levels are untracked by the garbage collector, which keeps queued book messages cheap.
    """

    price: float
    amount: float

    def __iter__(self) -> Iterator[float]:
        return iter((self.price, self.amount))

    def __getitem__(self, index: int) -> float:
        return (self.price, self.amount)[index]

    def __len__(self) -> int:
        return 2


class BookLevel(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One level change of a ``book.*`` stream, ``[action, price, amount]`` on the wire:
    ``action`` is ``new``, ``change`` or ``delete`` (amount 0)."""

    action: str
    price: float
    amount: float

    def __iter__(self) -> Iterator[Any]:
        return iter((self.action, self.price, self.amount))

    def __getitem__(self, index: int) -> Any:
        return (self.action, self.price, self.amount)[index]

    def __len__(self) -> int:
        return 3


class TickerStats(DeribitObject):
    """24 h statistics of a ticker; ``price_change`` is a percentage or ``None``."""

    volume: float | None = None
    volume_usd: float | None = None
    high: float | None = None
    low: float | None = None
    price_change: float | None = None


class Greeks(DeribitObject):
    """Option greeks."""

    delta: float | None = None
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None
    rho: float | None = None


class TickerFields(DeribitObject):
    """The optional members shared by tickers, order books and incremental tickers."""

    state: BookState | None = None
    stats: TickerStats | None = None
    open_interest: float | None = None
    best_bid_price: float | None = None
    best_bid_amount: float | None = None
    best_ask_price: float | None = None
    best_ask_amount: float | None = None
    index_price: float | None = None
    min_price: float | None = None
    max_price: float | None = None
    mark_price: float | None = None
    last_price: float | None = None
    estimated_delivery_price: float | str | None = None
    """A price, or ``"expired"`` on an option's expiry day."""
    settlement_price: float | None = None
    delivery_price: float | None = None
    # perpetuals
    funding_8h: float | None = None
    current_funding: float | None = None
    interest_value: float | None = None
    # options
    underlying_price: float | None = None
    underlying_index: str | None = None
    interest_rate: float | None = None
    bid_iv: float | None = None
    ask_iv: float | None = None
    mark_iv: float | None = None
    greeks: Greeks | None = None


class _MarketSnapshot(TickerFields, kw_only=True):
    instrument_name: str
    timestamp: int


class Ticker(_MarketSnapshot):
    """``public/ticker`` result and ``ticker.*`` payload. Prices ``None`` when absent/null."""


class OrderBook(_MarketSnapshot):
    """``public/get_order_book`` result: ticker fields plus ``[price, amount]`` levels, best first.

    Levels are sorted best first; ``change_id`` matches the ``book.*`` stream sequence.
    """

    change_id: int | None = None
    bids: tuple[PriceLevel, ...] = ()
    asks: tuple[PriceLevel, ...] = ()


class TickSizeStep(DeribitObject):
    """Above ``above_price`` the tick size becomes ``tick_size``."""

    above_price: float
    tick_size: float


class Instrument(DeribitObject):
    """``public/get_instrument(s)`` result (REFERENCE 7.5)."""

    instrument_name: str
    kind: str
    instrument_id: int | None = None
    instrument_type: str | None = None
    base_currency: str | None = None
    quote_currency: str | None = None
    counter_currency: str | None = None
    settlement_currency: str | None = None
    settlement_period: str | None = None
    is_active: bool | None = None
    state: BookState | None = None
    creation_timestamp: int | None = None
    expiration_timestamp: int | None = None
    tick_size: float | None = None
    tick_size_steps: list[TickSizeStep] = []
    contract_size: float | None = None
    min_trade_amount: float | None = None
    maker_commission: float | None = None
    taker_commission: float | None = None
    block_trade_commission: float | None = None
    block_trade_tick_size: float | None = None
    block_trade_min_trade_amount: float | None = None
    max_leverage: float | None = None
    max_liquidation_commission: float | None = None
    price_index: str | None = None
    strike: float | None = None
    option_type: Literal["call", "put"] | None = None
    future_type: str | None = None
    """Deprecated by Deribit in favour of ``instrument_type``."""
    # Members production sends that the spec snapshot does not document (issue #11):
    # typed loosely, since only their names are known here.
    underlying_type: str | None = None
    lot_size: float | None = None
    index_id: int | str | None = None
    product_group: str | None = None
    max_non_default_leverage: float | None = None


class WithdrawalPriority(DeribitObject):
    """One withdrawal priority of a currency."""

    name: str
    value: float


class Currency(DeribitObject):
    """``public/get_currencies`` item."""

    currency: str
    currency_long: str | None = None
    coin_type: str | None = None
    min_confirmations: int | None = None
    withdrawal_fee: float | None = None
    min_withdrawal_fee: float | None = None
    withdrawal_priorities: list[WithdrawalPriority] = []
    in_cross_collateral_pool: bool | None = None
    apr: float | None = None
    network_fee: float | None = None
    network_currency: str | None = None
    decimals: int | None = None


class IndexPrice(DeribitObject):
    """``public/get_index_price`` result."""

    index_price: float
    estimated_delivery_price: float | None = None


class Status(DeribitObject):
    """``public/status`` result.

    ``locked`` is documented as the string ``"true" | "partial" | "false"`` but examples show a
    boolean (REFERENCE 3, marked (?)): both decode; use :attr:`is_locked` to compare.
    """

    locked: str | bool
    locked_indices: list[str] = []
    locked_currencies: list[str] = []

    @property
    def is_locked(self) -> bool:
        """True when the platform is locked, fully or partially."""
        return self.locked is True or self.locked in ("true", "partial")


class VersionInfo(DeribitObject):
    """``public/test`` and ``public/hello`` result: the API version string."""

    version: str
