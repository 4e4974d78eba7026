"""Notification payloads of subscription channels, and the channel -> payload type table
(REFERENCE 5). Unknown channels decode to plain JSON values."""

from __future__ import annotations

from typing import Any, Literal

from ._base import DeribitObject
from .account import Position
from .market import BookLevel, PriceLevel, TickerFields
from .trading import Order, UserTrade

__all__ = [
    "AccessLogEntry",
    "Announcement",
    "BookChange",
    "BookSnapshot",
    "Candle",
    "EstimatedExpirationPrice",
    "IncrementalTicker",
    "InstrumentState",
    "MarkPriceOption",
    "PerpetualInterest",
    "PlatformState",
    "PriceIndex",
    "PriceRanking",
    "PriceStatistics",
    "PublicMethodsState",
    "Quote",
    "UserChanges",
    "UserLock",
    "VolatilityIndex",
]


class BookChange(DeribitObject):
    """``book.{instrument}.{interval}``: the first message is a ``snapshot``, then ``change``s.

    Levels are :class:`BookLevel` ``(action, price, amount)`` with action
    ``new``/``change``/``delete`` (amount 0). ``prev_change_id`` must equal the previous
    message's ``change_id``; the SDK checks it and resubscribes on a gap.
    """

    type: Literal["snapshot", "change"]
    timestamp: int
    instrument_name: str
    change_id: int
    prev_change_id: int | None = None
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()


class BookSnapshot(DeribitObject):
    """``book.{instrument}.{group}.{depth}.{interval}``: full top-``depth`` levels each time."""

    timestamp: int
    instrument_name: str
    change_id: int
    bids: tuple[PriceLevel, ...] = ()
    asks: tuple[PriceLevel, ...] = ()


class IncrementalTicker(TickerFields, kw_only=True):
    """``incremental_ticker.{instrument}``: a ``snapshot`` then ``change``s with only the
    fields that changed (absent fields stay ``None``)."""

    type: Literal["snapshot", "change"]
    instrument_name: str
    timestamp: int | None = None


class Quote(DeribitObject):
    """``quote.{instrument}``: best bid and ask."""

    timestamp: int
    instrument_name: str
    best_bid_price: float | None = None
    best_bid_amount: float | None = None
    best_ask_price: float | None = None
    best_ask_amount: float | None = None


class PerpetualInterest(DeribitObject):
    """``perpetual.{instrument}.{interval}``."""

    interest: float
    index_price: float
    timestamp: int


class PriceIndex(DeribitObject):
    """``deribit_price_index.{index_name}``."""

    index_name: str
    price: float
    timestamp: int


class PriceRanking(DeribitObject):
    """One constituent of ``deribit_price_ranking.{index_name}``."""

    identifier: str
    price: float | None = None
    original_price: float | None = None
    weight: float | None = None
    enabled: bool | None = None
    timestamp: int | None = None


class PriceStatistics(DeribitObject):
    """``deribit_price_statistics.{index_name}``."""

    index_name: str
    low24h: float | None = None
    high24h: float | None = None
    change24h: float | None = None
    high_volatility: bool | None = None


class VolatilityIndex(DeribitObject):
    """``deribit_volatility_index.{index_name}`` (DVOL)."""

    index_name: str
    volatility: float
    timestamp: int


class MarkPriceOption(DeribitObject):
    """One item of ``markprice.options.{index_name}``."""

    instrument_name: str
    mark_price: float
    iv: float | None = None
    timestamp: int | None = None


class EstimatedExpirationPrice(DeribitObject):
    """``estimated_expiration_price.{index_name}``."""

    price: float
    is_estimated: bool
    seconds: int


class Candle(DeribitObject):
    """``chart.trades.{instrument}.{resolution}``: the current candle, updated repeatedly."""

    tick: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    cost: float


class InstrumentState(DeribitObject):
    """``instrument.state.{kind}.{currency}``."""

    instrument_name: str
    state: str
    timestamp: int


class PlatformState(DeribitObject):
    """``platform_state``: ``{price_index, locked}`` or ``{maintenance: true}``."""

    price_index: str | None = None
    locked: bool | None = None
    maintenance: bool | None = None


class PublicMethodsState(DeribitObject):
    """``platform_state.public_methods_state``."""

    allow_unauthenticated_public_requests: bool


class Announcement(DeribitObject):
    """``announcements``."""

    id: int
    action: str | None = None
    title: str | None = None
    body: str | None = None
    publication_timestamp: int | None = None
    important: bool | None = None
    confirmation: bool | None = None
    unread: bool | None = None


class UserChanges(DeribitObject):
    """``user.changes.*``: one change set of your orders, trades and positions."""

    instrument_name: str | None = None
    orders: list[Order] = []
    trades: list[UserTrade] = []
    positions: list[Position] = []


class AccessLogEntry(DeribitObject):
    """``user.access_log``."""

    id: int
    timestamp: int
    ip: str | None = None
    country: str | None = None
    city: str | None = None
    log: str | None = None
    data: Any = None
    result: str | None = None
    """``success`` or ``failure`` for login entries."""


class UserLock(DeribitObject):
    """``user.lock``."""

    locked: bool
    currency: str
