"""Which model each channel's ``data`` decodes into, keyed by the catalogue's patterns.

Hand-kept: the AsyncAPI file has payload examples but no schemas. A test checks that every
key is a pattern of the generated channel catalogue.
"""

from __future__ import annotations

from typing import Any

from ..models import (
    AccountSummary,
    BlockRfq,
    BlockRfqQuote,
    BlockRfqTrade,
    Instrument,
    MmpStatus,
    Order,
    PendingBlockTrade,
    PublicTrade,
    Ticker,
    UserTrade,
)
from ..models.channels import (
    AccessLogEntry,
    Announcement,
    BookChange,
    BookSnapshot,
    Candle,
    EstimatedExpirationPrice,
    IncrementalTicker,
    InstrumentState,
    MarkPriceOption,
    PerpetualInterest,
    PlatformState,
    PriceIndex,
    PriceRanking,
    PriceStatistics,
    PublicMethodsState,
    Quote,
    UserChanges,
    UserLock,
    VolatilityIndex,
)
from . import channel_facts

__all__ = ["PAYLOADS", "payload_type"]

PAYLOADS: dict[str, Any] = {
    "ticker.(instrument_name).(interval)": Ticker,
    "incremental_ticker.(instrument_name)": IncrementalTicker,
    "quote.(instrument_name)": Quote,
    "book.(instrument_name).(interval)": BookChange,
    "book.(instrument_name).(group).(depth).(interval)": BookSnapshot,
    "trades.(instrument_name).(interval)": list[PublicTrade],
    "trades.(kind).(currency).(interval)": list[PublicTrade],
    "perpetual.(instrument_name).(interval)": PerpetualInterest,
    "deribit_price_index.(index_name)": PriceIndex,
    "deribit_price_ranking.(index_name)": list[PriceRanking],
    "deribit_price_statistics.(index_name)": PriceStatistics,
    "deribit_volatility_index.(index_name)": VolatilityIndex,
    "estimated_expiration_price.(index_name)": EstimatedExpirationPrice,
    "markprice.options.(index_name)": list[MarkPriceOption],
    "chart.trades.(instrument_name).(resolution)": Candle,
    "instrument.state.(kind).(currency)": InstrumentState,
    "announcements": Announcement,
    "platform_state": PlatformState,
    "platform_state.public_methods_state": PublicMethodsState,
    # A single order per change on raw, an array on aggregated intervals (REFERENCE 5).
    "user.orders.(instrument_name).raw": Order,
    "user.orders.(kind).(currency).raw": Order,
    "user.orders.(instrument_name).(interval)": list[Order],
    "user.orders.(kind).(currency).(interval)": list[Order],
    "user.trades.(instrument_name).(interval)": list[UserTrade],
    "user.trades.(kind).(currency).(interval)": list[UserTrade],
    "user.changes.(instrument_name).(interval)": UserChanges,
    "user.changes.(kind).(currency).(interval)": UserChanges,
    "user.portfolio.(currency)": AccountSummary,
    "user.access_log": AccessLogEntry,
    "user.lock": UserLock,
    "user.combo_trades.(instrument_name).(interval)": list[UserTrade],
    "user.combo_trades.(kind).(currency).(interval)": list[UserTrade],
    "user.mmp_trigger.(index_name)": MmpStatus,
    "block_rfq.maker.(currency)": BlockRfq,
    "block_rfq.taker.(currency)": BlockRfq,
    "block_rfq.maker.quotes.(currency)": list[BlockRfqQuote],
    "block_rfq.trades.(currency)": BlockRfqTrade,
    "block_trade_confirmations": PendingBlockTrade,
    "block_trade_confirmations.(currency)": PendingBlockTrade,
    "instrument.creation.(kind).(currency)": Instrument,
}
"""The catalogue's channel pattern -> the model of its ``data`` (the AsyncAPI file has
examples but no schemas): every one of the 40 families (the spec's 39 and
``instrument.creation``). Objects the OpenAPI spec also returns from methods share their
Struct (a Block RFQ is one ``BlockRfq``)."""


def payload_type(channel: str) -> Any:
    """The type a channel's ``data`` decodes into; ``Any`` (plain JSON) when unknown.

    Examples: ``book.BTC-PERPETUAL.100ms`` -> :class:`BookChange`,
    ``book.BTC-PERPETUAL.none.10.100ms`` -> :class:`BookSnapshot`,
    ``user.orders.BTC-PERPETUAL.raw`` -> :class:`Order`, ``user.orders.future.BTC.100ms`` ->
    ``list[Order]``.
    """
    facts = channel_facts(channel)
    return Any if facts is None else PAYLOADS.get(facts.pattern, Any)
