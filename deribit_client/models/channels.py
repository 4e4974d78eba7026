"""Notification payloads of subscription channels, and the channel -> payload type table
(REFERENCE 5). Unknown channels decode to plain JSON values."""

from __future__ import annotations

from typing import Any, Literal

from ._base import DeribitObject
from .account import AccountSummary, Position
from .market import BookLevel, Instrument, PriceLevel, Ticker, TickerFields
from .trading import Order, PublicTrade, UserTrade

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
    "payload_type",
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


class UserLock(DeribitObject):
    """``user.lock``."""

    locked: bool
    currency: str


_BY_FAMILY: dict[str, Any] = {
    "ticker": Ticker,
    "incremental_ticker": IncrementalTicker,
    "quote": Quote,
    "trades": list[PublicTrade],
    "perpetual": PerpetualInterest,
    "deribit_price_index": PriceIndex,
    "deribit_price_ranking": list[PriceRanking],
    "deribit_price_statistics": PriceStatistics,
    "deribit_volatility_index": VolatilityIndex,
    "estimated_expiration_price": EstimatedExpirationPrice,
    "announcements": Announcement,
    "user.trades": list[UserTrade],
    "user.changes": UserChanges,
    "user.portfolio": AccountSummary,
    "user.access_log": AccessLogEntry,
    "user.lock": UserLock,
    "markprice.options": list[MarkPriceOption],
    "chart.trades": Candle,
    "instrument.state": InstrumentState,
    "instrument.creation": Instrument,
    "platform_state.public_methods_state": PublicMethodsState,
    "platform_state": PlatformState,
}


def payload_type(channel: str) -> Any:
    """The type a channel's ``data`` decodes into; ``Any`` (plain JSON) when unknown.

    Examples: ``book.BTC-PERPETUAL.100ms`` -> :class:`BookChange`,
    ``book.BTC-PERPETUAL.none.10.100ms`` -> :class:`BookSnapshot`,
    ``user.orders.BTC-PERPETUAL.raw`` -> :class:`Order`, ``user.orders.future.BTC.100ms`` ->
    ``list[Order]``.
    """
    parts = channel.split(".")
    if parts[0] == "book":
        return BookSnapshot if len(parts) == 5 else BookChange
    if parts[0] == "user" and len(parts) > 1 and parts[1] == "orders":
        # A single order per change on raw, an array on aggregated intervals (REFERENCE 5).
        return Order if parts[-1] == "raw" else list[Order]
    for length in (2, 1):  # longest family prefix wins: "user.trades" before "user"
        family = ".".join(parts[:length])
        if family in _BY_FAMILY:
            return _BY_FAMILY[family]
    return Any
