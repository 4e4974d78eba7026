"""Offline decoding of one recorded Exberry frame: the qualifier selects the model."""

from __future__ import annotations

from typing import Any

import msgspec

from .._core.errors import ProtocolError
from . import models
from .errors import ExberryError, exberry_error
from .wire import ErrorData, Frame

__all__ = ["ITEM_TYPES", "Decoded", "decode_frame"]

ITEM_TYPES: dict[str, Any] = {
    "exchange.market/createSession": models.SessionResult,
    "exchange.market/placeOrder": models.PlaceOrderResult,
    "exchange.market/cancelOrder": models.OrderIdResult,
    "exchange.market/replaceOrder": models.OrderIdResult,
    "exchange.market/modifyOrder": models.OrderIdResult,
    "exchange.market/massCancel": models.MassCancelResult,
    "exchange.market/orderBookDepth": models.BookEvent,
    "exchange.market/orderBookState": models.BookStateItem,
    "exchange.market/massOrderStatus": models.OrderStatus,
    "exchange.market/executionReports": models.ExecutionReport,
    "exchange.market/trades": models.Trade,
    "v2/exchange.reporting/mp/trades": models.Trade,
    "v3/exchange.reporting/mp/trades": models.TradesPage,
    "v2/exchange.reporting/mp/orders": models.OrdersPage,
    "v1/exchange.reporting/mp/orders": models.ReportedOrder,
    "exchange.marketdata/lightTickers": models.LightTicker,
    "exchange.marketdata/partialOrderBook": models.PartialOrderBook,
    "exchange.marketdata/candles": models.Candle,
    "exchange.marketdata.history/candles": models.Candle,
    "exchange.marketdata/instrumentList": models.MdInstrument,
    "exchange.marketdata/getSettlementPrices": models.SettlementPrice,
    "exchange.marketdata/tickSizeList": models.TickSizeTable,
    "exchange.marketdata/calendarList": models.TradingCalendar,
    "exchange.marketdata/auctionIndicativeEP": models.AuctionIndicativeEP,
    "exchange.marketdata/instrumentListWithPagination": models.InstrumentListUpdate,
    "exchange.market/submitRFQ": models.RfqResult,
    "exchange.market/cancelRFQ": models.RfqResult,
    "exchange.market/submitQuote": models.QuoteResult,
    "exchange.market/cancelQuote": models.QuoteResult,
    "exchange.market/acceptQuote": models.TradeIdResult,
    "exchange.market/createTradeReport": models.TradeIdResult,
    "exchange.market/cancelAllegedTradeReport": models.TradeIdResult,
    "exchange.reporting/mp/rfqs": models.RfqsPage,
    "exchange.reporting/mp/quotes": models.QuotesPage,
    "exchange.reporting/mp/allegedTrades": models.AllegedTradesPage,
    "exchange.ledger/accountBalance": models.AccountBalance,
    "exchange.ledger/createAllegedTransfer": models.TransferResult,
    "exchange.ledger/createTransactionRequest": models.TransferResult,
    "exchange.ledger/createCashTransfer": models.CashTransferResult,
    "exchange.reporting/mp/allegedTransfers": models.AllegedTransfersPage,
    "exchange.reporting/mp/fees": models.FeesPage,
    "exchange.reporting/mp/holdingsSummary": models.HoldingsPage,
    "exchange.reporting/mp/transactionRequests": models.TransactionRequestsPage,
    "exchange.reporting/mp/transactions": models.TransactionsPage,
    "exchange.reporting/mp/positions": models.PositionsPage,
    "heartbeat/ping": int,
    "broker.account/orders": models.BrokerOrder,
    "broker.account/ordersHistory": models.BrokerOrdersPage,
    "broker.account/tradesHistory": models.BrokerTradesPage,
    "broker.account/balance": models.BrokerBalance,
    "broker.wallet/transactions": models.BrokerTransactionsPage,
}
"""Qualifier -> the model of its ``d`` items: the versioned qualifier where versions differ
in shape (reporting), else the qualifier without its version prefix."""

_DECODE_ERRORS = (msgspec.DecodeError, RecursionError, ValueError)


class Decoded(msgspec.Struct, frozen=True, gc=False):
    """One decoded frame: an ``item`` (``d`` typed by qualifier; plain JSON for qualifiers
    without a model), the end of a stream (``sig`` 1 or 3), or an ``error`` (``sig`` 2)."""

    q: str | None
    sid: int | None
    item: Any = None
    sig: int | None = None
    error: ExberryError | None = None


def decode_frame(frame: bytes | str) -> Decoded:
    """Decode one recorded frame with the client's models.

    Raises:
        ProtocolError: the frame is not an Exberry frame, or its ``d`` does not fit the
            qualifier's model (nothing else escapes, whatever the input).
    """
    try:
        env = msgspec.json.decode(frame, type=Frame)
        q = env.q
        if env.sig == 2:
            data = msgspec.json.decode(env.d, type=ErrorData) if env.d else ErrorData(0)
            error = exberry_error(data.errorCode, data.errorMessage, q, env.sid, env.errorType)
            return Decoded(q, env.sid, sig=2, error=error)
        if env.sig is not None or not env.d:
            return Decoded(q, env.sid, sig=env.sig)
        q = q or ""
        item_type = ITEM_TYPES.get(q) or ITEM_TYPES.get(_unversioned(q), Any)
        return Decoded(q, env.sid, msgspec.json.decode(env.d, type=item_type))
    except _DECODE_ERRORS as exc:
        raise ProtocolError(f"not a decodable Exberry frame: {exc!r}") from None


def _unversioned(q: str) -> str:
    head, _, rest = q.partition("/")
    return rest if head[:1] == "v" and head[1:].isdigit() else q
