"""msgspec Structs that mirror Deribit objects, tolerant of unknown and absent fields."""

from ._base import DeribitObject
from .market import (
    BookState,
    Currency,
    Greeks,
    IndexPrice,
    Instrument,
    InstrumentKind,
    OrderBook,
    Status,
    Ticker,
    TickerStats,
    TickSizeStep,
    VersionInfo,
    WithdrawalPriority,
)

__all__ = [
    "BookState",
    "Currency",
    "DeribitObject",
    "Greeks",
    "IndexPrice",
    "Instrument",
    "InstrumentKind",
    "OrderBook",
    "Status",
    "TickSizeStep",
    "Ticker",
    "TickerStats",
    "VersionInfo",
    "WithdrawalPriority",
]
