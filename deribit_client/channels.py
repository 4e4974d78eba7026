"""Typed channel names: ``client.subscribe(channels.ticker("BTC-PERPETUAL", "100ms"))``
yields notifications whose ``.data`` type-checks as :class:`~deribit_client.models.Ticker`.

Each builder is named after the channel family (``user.orders.*`` -> :func:`user_orders`;
the ``(kind).(currency)`` variants end in ``_by_currency``), takes the family's parts in
order and returns a :class:`Channel`: a plain ``str`` (raw channel strings keep working)
that also carries the payload type for the type checker. The name is checked against the
catalogue's pattern, and the payload type is the catalogue's (a test keeps them equal).
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar, overload

from ._catalogue import CHANNEL_PARTS, channel_facts
from ._errors import ClientError
from .models import (
    AccessLogEntry,
    AccountSummary,
    Announcement,
    BlockRfq,
    BlockRfqQuote,
    BlockRfqTrade,
    BookChange,
    BookSnapshot,
    Candle,
    EstimatedExpirationPrice,
    IncrementalTicker,
    Instrument,
    InstrumentState,
    MarkPriceOption,
    MmpStatus,
    Order,
    PendingBlockTrade,
    PerpetualInterest,
    PlatformState,
    PriceIndex,
    PriceRanking,
    PriceStatistics,
    PublicMethodsState,
    PublicTrade,
    Quote,
    Ticker,
    UserChanges,
    UserLock,
    UserTrade,
    VolatilityIndex,
)

__all__ = [
    "Channel",
    "Interval",
    "Kind",
    "Resolution",
    "announcements",
    "block_rfq_maker",
    "block_rfq_maker_quotes",
    "block_rfq_taker",
    "block_rfq_trades",
    "block_trade_confirmations",
    "book",
    "book_grouped",
    "chart_trades",
    "deribit_price_index",
    "deribit_price_ranking",
    "deribit_price_statistics",
    "deribit_volatility_index",
    "estimated_expiration_price",
    "incremental_ticker",
    "instrument_creation",
    "instrument_state",
    "markprice_options",
    "perpetual",
    "platform_state",
    "platform_state_public_methods_state",
    "quote",
    "ticker",
    "trades",
    "trades_by_currency",
    "user_access_log",
    "user_changes",
    "user_changes_by_currency",
    "user_combo_trades",
    "user_combo_trades_by_currency",
    "user_lock",
    "user_mmp_trigger",
    "user_orders",
    "user_orders_by_currency",
    "user_portfolio",
    "user_trades",
    "user_trades_by_currency",
]

T = TypeVar("T")

# The Literals restate the catalogue's CHANNEL_PARTS for the type checker (tests keep them
# equal); at run time _build checks parts against the catalogue itself.
Interval = Literal["raw", "100ms", "agg2"]
"""Notification intervals: ``raw`` (every change; needs an authenticated connection),
``100ms`` or ``agg2``."""
Kind = Literal["future", "option", "spot", "future_combo", "option_combo", "combo", "any"]
Resolution = Literal["1", "3", "5", "10", "15", "30", "60", "120", "180", "240", "D", "W", "M"]
"""Candle resolutions: minutes, or a day, week or month."""


class Channel(str, Generic[T]):
    """A channel name that also tells the type checker what its ``data`` is."""

    __slots__ = ()


def _build(pattern: str, *parts: object) -> Channel[Any]:
    """The channel of ``pattern`` with ``parts`` filled in, checked against the catalogue
    (its pattern, and the values it lists for parts such as ``interval`` or ``kind``)."""
    names = [p.strip("()") for p in pattern.split(".") if p.startswith("(")]
    # A str subclass (a user's enum of instruments) by its text: str() of an enum member
    # is 'Cls.MEMBER'.
    parts = tuple(str.__str__(p) if isinstance(p, str) else p for p in parts)
    for name, part in zip(names, parts, strict=True):
        allowed = CHANNEL_PARTS.get(name)
        # Numbers only where Deribit lists numbers (depth 10, resolution 60): an int
        # instrument, currency or index name is a mistake, not a name.
        numeric = allowed is not None and type(part) is int
        if not numeric and (type(part) is not str or not part):
            raise ClientError(f"{pattern}: {name} must be a non-empty str, not {part!r}")
        if "." in str(part):
            raise ClientError(f"{pattern}: a part cannot contain '.', got {part!r}")
        if allowed is not None and str(part) not in allowed:
            raise ClientError(
                f"{pattern}: {name} must be one of {', '.join(allowed)}, not {part!r}"
            )
    filled = iter(parts)
    name = ".".join(str(next(filled)) if p.startswith("(") else p for p in pattern.split("."))
    facts = channel_facts(name)
    if facts is None or facts.pattern != pattern:
        raise ClientError(f"{name!r} is not a {pattern!r} channel")
    return Channel(name)


# -- market data ------------------------------------------------------------------------


def ticker(instrument_name: str, interval: Interval) -> Channel[Ticker]:
    """``ticker.(instrument_name).(interval)``: best prices, mark, index, stats."""
    return _build("ticker.(instrument_name).(interval)", instrument_name, interval)


def incremental_ticker(instrument_name: str) -> Channel[IncrementalTicker]:
    """``incremental_ticker.(instrument_name)``: a snapshot, then only changed fields."""
    return _build("incremental_ticker.(instrument_name)", instrument_name)


def quote(instrument_name: str) -> Channel[Quote]:
    """``quote.(instrument_name)``: best bid and ask."""
    return _build("quote.(instrument_name)", instrument_name)


def book(instrument_name: str, interval: Interval) -> Channel[BookChange]:
    """``book.(instrument_name).(interval)``: a snapshot, then changes (the SDK checks
    ``prev_change_id`` and marks gaps)."""
    return _build("book.(instrument_name).(interval)", instrument_name, interval)


def book_grouped(
    instrument_name: str,
    group: Literal["none", "1", "2", "5", "10", "25", "100", "250"],
    depth: Literal[1, 10, 20],
    interval: Literal["100ms", "agg2"],
) -> Channel[BookSnapshot]:
    """``book.(instrument_name).(group).(depth).(interval)``: the top ``depth`` levels,
    price-grouped, as a full snapshot every interval."""
    pattern = "book.(instrument_name).(group).(depth).(interval)"
    return _build(pattern, instrument_name, group, depth, interval)


def trades(instrument_name: str, interval: Interval) -> Channel[list[PublicTrade]]:
    """``trades.(instrument_name).(interval)``: public trades of one instrument."""
    return _build("trades.(instrument_name).(interval)", instrument_name, interval)


def trades_by_currency(kind: Kind, currency: str, interval: Interval) -> Channel[list[PublicTrade]]:
    """``trades.(kind).(currency).(interval)``: public trades of a kind and currency."""
    return _build("trades.(kind).(currency).(interval)", kind, currency, interval)


def perpetual(instrument_name: str, interval: Interval) -> Channel[PerpetualInterest]:
    """``perpetual.(instrument_name).(interval)``: interest rate of a perpetual."""
    return _build("perpetual.(instrument_name).(interval)", instrument_name, interval)


def chart_trades(instrument_name: str, resolution: Resolution) -> Channel[Candle]:
    """``chart.trades.(instrument_name).(resolution)``: candles (resolution in minutes,
    or ``D``, ``W``, ``M``)."""
    return _build("chart.trades.(instrument_name).(resolution)", instrument_name, resolution)


def deribit_price_index(index_name: str) -> Channel[PriceIndex]:
    """``deribit_price_index.(index_name)``, e.g. ``btc_usd``."""
    return _build("deribit_price_index.(index_name)", index_name)


def deribit_price_ranking(index_name: str) -> Channel[list[PriceRanking]]:
    """``deribit_price_ranking.(index_name)``: the index's constituent exchanges."""
    return _build("deribit_price_ranking.(index_name)", index_name)


def deribit_price_statistics(index_name: str) -> Channel[PriceStatistics]:
    """``deribit_price_statistics.(index_name)``: 24 h high, low and change."""
    return _build("deribit_price_statistics.(index_name)", index_name)


def deribit_volatility_index(index_name: str) -> Channel[VolatilityIndex]:
    """``deribit_volatility_index.(index_name)``, e.g. ``btc_usd``."""
    return _build("deribit_volatility_index.(index_name)", index_name)


def estimated_expiration_price(index_name: str) -> Channel[EstimatedExpirationPrice]:
    """``estimated_expiration_price.(index_name)``."""
    return _build("estimated_expiration_price.(index_name)", index_name)


def markprice_options(index_name: str) -> Channel[list[MarkPriceOption]]:
    """``markprice.options.(index_name)``: mark prices and IVs of all options."""
    return _build("markprice.options.(index_name)", index_name)


def instrument_state(kind: Kind, currency: str) -> Channel[InstrumentState]:
    """``instrument.state.(kind).(currency)``: instruments created, started, settled..."""
    return _build("instrument.state.(kind).(currency)", kind, currency)


def instrument_creation(kind: Kind, currency: str) -> Channel[Instrument]:
    """``instrument.creation.(kind).(currency)``: each instrument Deribit lists, once, as
    ``public/get_instruments`` shows it (kind may be ``future_combo``/``option_combo``)."""
    return _build("instrument.creation.(kind).(currency)", kind, currency)


def announcements() -> Channel[Announcement]:
    """``announcements``: platform announcements."""
    return _build("announcements")


def platform_state() -> Channel[PlatformState]:
    """``platform_state``: platform or index locks."""
    return _build("platform_state")


def platform_state_public_methods_state() -> Channel[PublicMethodsState]:
    """``platform_state.public_methods_state``: whether public methods are allowed."""
    return _build("platform_state.public_methods_state")


# -- your account (private) --------------------------------------------------------------


@overload
def user_orders(instrument_name: str, interval: Literal["raw"]) -> Channel[Order]: ...
@overload
def user_orders(
    instrument_name: str, interval: Literal["100ms", "agg2"]
) -> Channel[list[Order]]: ...
def user_orders(instrument_name: str, interval: Interval) -> Channel[Any]:
    """``user.orders.(instrument_name).(interval)``: one order per message on ``raw``, a
    list on aggregated intervals."""
    if interval == "raw":
        return _build("user.orders.(instrument_name).raw", instrument_name)
    return _build("user.orders.(instrument_name).(interval)", instrument_name, interval)


@overload
def user_orders_by_currency(
    kind: Kind, currency: str, interval: Literal["raw"]
) -> Channel[Order]: ...
@overload
def user_orders_by_currency(
    kind: Kind, currency: str, interval: Literal["100ms", "agg2"]
) -> Channel[list[Order]]: ...
def user_orders_by_currency(kind: Kind, currency: str, interval: Interval) -> Channel[Any]:
    """``user.orders.(kind).(currency).(interval)``: as :func:`user_orders`."""
    if interval == "raw":
        return _build("user.orders.(kind).(currency).raw", kind, currency)
    return _build("user.orders.(kind).(currency).(interval)", kind, currency, interval)


def user_trades(instrument_name: str, interval: Interval) -> Channel[list[UserTrade]]:
    """``user.trades.(instrument_name).(interval)``: your fills."""
    return _build("user.trades.(instrument_name).(interval)", instrument_name, interval)


def user_trades_by_currency(
    kind: Kind, currency: str, interval: Interval
) -> Channel[list[UserTrade]]:
    """``user.trades.(kind).(currency).(interval)``: your fills."""
    return _build("user.trades.(kind).(currency).(interval)", kind, currency, interval)


def user_combo_trades(instrument_name: str, interval: Interval) -> Channel[list[UserTrade]]:
    """``user.combo_trades.(instrument_name).(interval)``: combo fills with their legs."""
    pattern = "user.combo_trades.(instrument_name).(interval)"
    return _build(pattern, instrument_name, interval)


def user_combo_trades_by_currency(
    kind: Kind, currency: str, interval: Interval
) -> Channel[list[UserTrade]]:
    """``user.combo_trades.(kind).(currency).(interval)``: combo fills with their legs."""
    return _build("user.combo_trades.(kind).(currency).(interval)", kind, currency, interval)


def user_changes(instrument_name: str, interval: Interval) -> Channel[UserChanges]:
    """``user.changes.(instrument_name).(interval)``: orders, trades and positions."""
    return _build("user.changes.(instrument_name).(interval)", instrument_name, interval)


def user_changes_by_currency(kind: Kind, currency: str, interval: Interval) -> Channel[UserChanges]:
    """``user.changes.(kind).(currency).(interval)``: orders, trades and positions."""
    return _build("user.changes.(kind).(currency).(interval)", kind, currency, interval)


def user_portfolio(currency: str) -> Channel[AccountSummary]:
    """``user.portfolio.(currency)``: balances and margins."""
    return _build("user.portfolio.(currency)", currency)


def user_access_log() -> Channel[AccessLogEntry]:
    """``user.access_log``: logins and API key changes."""
    return _build("user.access_log")


def user_lock() -> Channel[UserLock]:
    """``user.lock``: the account (or a currency) locked or unlocked."""
    return _build("user.lock")


def user_mmp_trigger(index_name: str) -> Channel[MmpStatus]:
    """``user.mmp_trigger.(index_name)``: a market-maker-protection limit tripped."""
    return _build("user.mmp_trigger.(index_name)", index_name)


def block_rfq_maker(currency: str) -> Channel[BlockRfq]:
    """``block_rfq.maker.(currency)``: new Block RFQs, for makers."""
    return _build("block_rfq.maker.(currency)", currency)


def block_rfq_maker_quotes(currency: str) -> Channel[list[BlockRfqQuote]]:
    """``block_rfq.maker.quotes.(currency)``: the state of your Block RFQ quotes."""
    return _build("block_rfq.maker.quotes.(currency)", currency)


def block_rfq_taker(currency: str) -> Channel[BlockRfq]:
    """``block_rfq.taker.(currency)``: the state of your Block RFQs."""
    return _build("block_rfq.taker.(currency)", currency)


def block_rfq_trades(currency: str) -> Channel[BlockRfqTrade]:
    """``block_rfq.trades.(currency)``: recent Block RFQ trades (public)."""
    return _build("block_rfq.trades.(currency)", currency)


def block_trade_confirmations(currency: str | None = None) -> Channel[PendingBlockTrade]:
    """``block_trade_confirmations`` (or ``.(currency)``): block trades to approve."""
    if currency is None:
        return _build("block_trade_confirmations")
    return _build("block_trade_confirmations.(currency)", currency)
