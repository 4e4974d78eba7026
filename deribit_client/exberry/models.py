"""msgspec models of Exberry's objects, tolerant of what its own documentation samples do.

Tolerance (REFERENCE section 12): every member is optional except what identifies a message;
``mpId`` may be a string or an integer; stream timestamps are nanosecond integers (above
2**53, so never floats); enum spellings vary (``Trade``/``TRADE``), so enums are plain
``str``; undocumented members (``realBookState``) and removed ones (``removedQuantity``) are
ignored or kept optional. Book events are a tagged union on ``messageType``; the lowercase
``calendarEndOfDay`` the field tables use decodes to the same :class:`CalendarEndOfDay`.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AccountBalance",
    "Add",
    "AllegedTradesPage",
    "AllegedTransfersPage",
    "AssetBalance",
    "AuctionIndicativeEP",
    "BookEvent",
    "BookStateItem",
    "BrokerBalance",
    "BrokerOrder",
    "BrokerOrdersPage",
    "BrokerTrade",
    "BrokerTradesPage",
    "BrokerTransaction",
    "BrokerTransactionsPage",
    "CalendarAuction",
    "CalendarEndOfDay",
    "Cancelled",
    "Candle",
    "CashTransferResult",
    "Executed",
    "ExecutionReport",
    "Fee",
    "FeesPage",
    "Holding",
    "HoldingsPage",
    "InstrumentListUpdate",
    "InstrumentStatus",
    "LedgerTransaction",
    "LegPriceLimits",
    "LightTicker",
    "LiveTrade",
    "MarketSide",
    "MassCancelResult",
    "MdInstrument",
    "MdLevel",
    "Modified",
    "News",
    "NonDisplayTrade",
    "OrderBookState",
    "OrderIdResult",
    "OrderStatus",
    "OrdersPage",
    "PartialOrderBook",
    "Party",
    "PlaceOrderResult",
    "Position",
    "PositionsPage",
    "PriceLimits",
    "QuoteDetail",
    "QuoteResult",
    "QuotesPage",
    "RFQCancelled",
    "RFQCreated",
    "RFQEnded",
    "RFQEvent",
    "ReportedAllegedTrade",
    "ReportedAllegedTransfer",
    "ReportedOrder",
    "ReportedQuote",
    "ReportedRfq",
    "RfqResult",
    "RfqsPage",
    "SessionResult",
    "SettlementPrice",
    "TickSizeStep",
    "TickSizeTable",
    "Trade",
    "TradeCancel",
    "TradeEntryMinimum",
    "TradeIdResult",
    "TradeReport",
    "TradeReportSide",
    "TradesPage",
    "TradingCalendar",
    "TransactionRequest",
    "TransactionRequestsPage",
    "TransactionsPage",
    "TransferAsset",
    "TransferResult",
    "VolumeType",
]

MpId = str | int
"""A market participant id: the samples send both strings and integers."""


class _Object(msgspec.Struct, kw_only=True, gc=False, omit_defaults=True):
    """Base of Exberry objects: unknown members ignored, GC-untracked."""


class Party(_Object):
    """A party on an order: ``id`` (<= 20 printable ASCII), ``source`` (one char), ``role``."""

    id: str
    source: str | None = None
    role: int | None = None


class SessionResult(_Object):
    """``d`` of a successful ``createSession`` (empty in the docs)."""


class PlaceOrderResult(_Object):
    """``placeOrder``: the exchange's ``orderId``; ``orderStatus`` ``Pending`` means
    validated and accepted (further state arrives on the streams)."""

    orderId: int
    orderStatus: str | None = None


class OrderIdResult(_Object):
    """``cancelOrder``, ``modifyOrder`` and ``replaceOrder`` (``originalOrderId`` and
    ``newOrderId`` equal ``orderId`` since v1.48.0)."""

    orderId: int
    originalOrderId: int | None = None
    newOrderId: int | None = None


class MassCancelResult(_Object):
    """``massCancel``: counters for the requested entity kinds only."""

    numberOfOrders: int | None = None
    numberOfRfqs: int | None = None
    numberOfQuotes: int | None = None
    numberOfAllegedTrades: int | None = None


class _BookEvent(_Object, tag_field="messageType"):
    eventId: int | None = None
    eventTimestamp: int | None = None
    instrument: str | None = None
    trackingNumber: int | None = None


class Add(_BookEvent, tag="Add"):
    """A resting order entered the book."""

    orderId: int | None = None
    mpId: MpId | None = None
    mpOrderId: int | None = None
    side: str | None = None
    quantity: float | None = None
    price: float | None = None


class Cancelled(_BookEvent, tag="Cancelled"):
    """Quantity left the book (a cancel, or a market order's unfilled rest)."""

    orderId: int | None = None
    mpId: MpId | None = None
    mpOrderId: int | None = None
    side: str | None = None
    quantity: float | None = None
    price: float | None = None
    cancelledQuantity: float | None = None


class Executed(_BookEvent, tag="Executed"):
    """A match at the maker's price."""

    makerMpId: MpId | None = None
    makerMpOrderId: int | None = None
    makerOrderId: int | None = None
    takerMpId: MpId | None = None
    takerMpOrderId: int | None = None
    takerOrderId: int | None = None
    matchId: int | None = None
    executedQuantity: float | None = None
    executedPrice: float | None = None


class NonDisplayTrade(Executed, tag="NonDisplayTrade"):
    """A fill against hidden quantity (no visible book change)."""


class Modified(_BookEvent, tag="Modified"):
    """An order changed in place (``lostPriority`` true for a replace)."""

    orderId: int | None = None
    mpId: MpId | None = None
    mpOrderId: int | None = None
    side: str | None = None
    newQuantity: float | None = None
    price: float | None = None
    lostPriority: bool | None = None


class TradeReport(_BookEvent, tag="TradeReport"):
    """An off-book trade."""

    tradeType: str | None = None
    matchId: int | None = None
    quantity: float | None = None
    price: float | None = None
    buyMpId: MpId | None = None
    sellMpId: MpId | None = None


class TradeCancel(TradeReport, tag="TradeCancel"):
    """An off-book trade was cancelled."""


class InstrumentStatus(_BookEvent, tag="InstrumentStatus"):
    """Only the members that changed: ``tradingStatus`` (Trade/Halt), ``marketStatus``
    (Opened/Closed/AuctionCall/AuctionCrossing), ``status`` (Active/Disabled)."""

    instrumentId: int | None = None
    tradingStatus: str | None = None
    marketStatus: str | None = None
    status: str | None = None
    previousSymbol: str | None = None


class CalendarEndOfDay(_BookEvent, tag="CalendarEndOfDay"):
    """End of a trading day of a calendar."""

    calendarId: int | None = None
    calendarName: str | None = None
    eodDate: str | None = None


class _CalendarEndOfDayLower(CalendarEndOfDay, tag="calendarEndOfDay"):
    """The spelling of the field tables; the same event."""


class AuctionIndicativeEP(_BookEvent, tag="AuctionIndicativeEP"):
    """Indicative auction price (0 for an empty side)."""

    indicativePrice: float | None = None
    pairedQuantity: float | None = None
    imbalanceQuantity: float | None = None
    imbalanceSide: str | None = None
    bestBuyPrice: float | None = None
    bestBuyQuantity: float | None = None
    bestSellPrice: float | None = None
    bestSellQuantity: float | None = None


class News(_BookEvent, tag="News"):
    """A market announcement (v1.50)."""

    id: int | str | None = None
    message: str | None = None


class _RFQFields(_BookEvent):
    rfqId: int | None = None
    mpId: MpId | None = None
    mpQuoteReqId: int | None = None
    """The initiator's own id for the RFQ, as the samples name it; the field tables call it
    ``mpRfqId`` (the name ``submit_rfq`` takes): one of the two is set."""
    mpRfqId: int | None = None
    side: str | None = None
    quantity: float | None = None


class RFQCreated(_RFQFields, tag="RFQCreated"):
    """A request for quotes was submitted; ``expireTime`` in epoch seconds."""

    expireTime: int | None = None


class RFQCancelled(_RFQFields, tag="RFQCancelled"):
    """The RFQ was cancelled: by its initiator, or because its ``expireTime`` passed."""


class RFQEnded(_RFQFields, tag="RFQEnded"):
    """The RFQ ended: its initiator accepted a quote."""


RFQEvent = RFQCreated | RFQCancelled | RFQEnded
"""An RFQ's life on the book stream."""


BookEvent = (
    Add
    | Cancelled
    | Executed
    | NonDisplayTrade
    | Modified
    | TradeReport
    | TradeCancel
    | InstrumentStatus
    | CalendarEndOfDay
    | _CalendarEndOfDayLower
    | AuctionIndicativeEP
    | News
    | RFQCreated
    | RFQCancelled
    | RFQEnded
)
"""One ``v2/exchange.market/orderBookDepth`` event, by ``messageType``."""


class _OrderFields(_Object):
    messageType: str | None = None
    orderId: int | None = None
    mpOrderId: int | None = None
    orderType: str | None = None
    side: str | None = None
    instrument: str | None = None
    quantity: float | None = None
    price: float | None = None
    stopPrice: float | None = None
    timeInForce: str | None = None
    expiryDate: int | None = None
    expiryDay: str | None = None
    orderTimestamp: int | None = None
    marketModel: str | None = None
    parties: list[Party] = []
    accountType: str | None = None
    filledQuantity: float | None = None
    filledPrice: float | None = None
    remainingOpenQuantity: float | None = None
    displayMethod: str | None = None
    displayQuantity: float | None = None
    minQuantity: float | None = None
    stpAction: str | None = None
    mpId: MpId | None = None
    mpName: str | None = None
    metadata: str | None = None


class QuoteDetail(_Object):
    """One side of a dealer's quote."""

    side: str | None = None
    price: float | None = None
    quantity: float | None = None


class _PrivateFields(_OrderFields):
    """What execution reports and ``massOrderStatus`` items tell beyond orders: RFQs
    (``RFQCreated``... events, ``RFQStatus`` items: to the initiator), quotes
    (``QuoteCreated``... events, ``QuoteStatus`` items: to the dealer and the RFQ's
    initiator) and alleged trades."""

    rfqId: int | None = None
    mpRfqId: int | None = None
    mpQuoteReqId: int | None = None
    """The samples' name for ``mpRfqId`` (the field tables'): one of the two is set."""
    expireTime: int | None = None
    """The RFQ's expiry, epoch seconds."""
    quoteId: int | None = None
    mpQuoteId: int | None = None
    quoteDetails: list[QuoteDetail] = []
    tradeType: str | None = None
    flow: str | None = None
    """Alleged trades: ``AllegedSystemMatch`` (also ``LockedIn``, ``ThirdPartyLockedIn``
    on trade reports)."""
    allegedTradeId: int | None = None
    externalTradeId: int | None = None
    counterMpId: MpId | None = None
    counterMpName: str | None = None


class ExecutionReport(_PrivateFields):
    """One ``v1/exchange.market/executionReports`` event (``messageType`` Add, Cancelled,
    Executed, Modified, TradeReport, TradeCancel, Suspended, News, ...): one flat object,
    members present as the event has them."""

    eventId: int | None = None
    eventTimestamp: int | None = None
    trackingNumber: int | None = None
    lastFilledQuantity: float | None = None
    lastFilledPrice: float | None = None
    matchId: int | None = None
    tradingMode: str | None = None
    makerTaker: str | None = None
    cancelledQuantity: float | None = None
    cancelReason: str | None = None
    lostPriority: bool | None = None
    linkId: int | None = None
    id: int | str | None = None
    """``News``: the announcement's id."""
    message: str | None = None
    """``News``: its text."""
    removedQuantity: float | None = None
    """Dropped in v1.48.0; older venues still send it."""
    lastRemovedQuantity: float | None = None
    """Dropped in v1.48.0; older venues still send it."""
    userId: str | None = None
    """Sent by older venues."""
    accountId: int | None = None
    """Sent by older venues."""
    tradeId: int | None = None
    """``QuoteExecuted``: the trade (``side``, ``price``, ``quantity`` are this
    participant's side of it)."""


class OrderStatus(_PrivateFields):
    """An item of ``massOrderStatus``: one active or suspended order, or the closing
    ``{"lastTrackingNumber": N}``."""

    status: str | None = None
    lastTrackingNumber: int | None = None
    lastEventTimestamp: int | None = None
    lastEventId: int | None = None
    workingDisplayQuantity: float | None = None
    workingHiddenQuantity: float | None = None
    createdTimestamp: int | None = None


class Trade(_Object):
    """One side of a trade on ``v1/exchange.market/trades``."""

    eventId: int | None = None
    timestamp: int | str | None = None
    """Nanoseconds on the stream; an ISO string with microseconds in reporting."""
    actionType: str | None = None
    orderId: int | None = None
    mpOrderId: int | None = None
    mpId: MpId | None = None
    mpName: str | None = None
    instrumentId: int | None = None
    instrument: str | None = None
    side: str | None = None
    price: float | None = None
    quantity: float | None = None
    tradeId: int | None = None
    tradingMode: str | None = None
    accountType: str | None = None
    parties: list[Party] = []
    tradeType: str | None = None
    makerTaker: str | None = None
    tradeDate: str | None = None
    linkId: int | None = None
    trackingNumber: int | None = None
    multiLegReportingType: str | None = None
    tickReferencePrice: float | None = None
    tradeLegRefId: int | None = None
    multiLegDifferentialPrice: float | None = None
    multiLegStrategyInstrumentId: int | None = None
    multiLegStrategyInstrument: str | None = None
    multiLegStrategyTradeId: int | None = None
    multiLegStrategyOrderId: int | None = None
    multiLegStrategyMpOrderId: int | None = None
    calendarId: int | None = None
    """End-of-day records (``actionType`` ``CalendarEndOfDay``): the calendar and day."""
    calendarName: str | None = None
    eodDate: str | None = None
    userId: str | None = None
    """Sent by older venues (``v2`` reporting)."""


class ReportedOrder(_OrderFields):
    """An order of the reporting API (``v2/exchange.reporting/mp/orders``); its times are
    ISO strings with microseconds (``"2025-10-15T06:49:34.078198"``)."""

    instrumentId: int | None = None
    status: str | None = None
    createdAt: str | None = None
    lastEventTimestamp: str | int | None = None
    lastEventId: int | None = None


class OrdersPage(_Object):
    """One page of ``v2/exchange.reporting/mp/orders``; ``count`` is the total."""

    orders: list[ReportedOrder] = []
    count: int | None = None


class TradesPage(_Object):
    """One page of ``v3/exchange.reporting/mp/trades`` (two records per trade)."""

    trades: list[Trade] = []
    count: int | None = None


class BookStateItem(_Object):
    """An item of ``orderBookState``: a resting ``Order``, an ``InstrumentStatus``, or the
    closing ``{"lastTrackingNumber": N}``."""

    messageType: str | None = None
    orderId: int | None = None
    side: str | None = None
    instrument: str | None = None
    instrumentId: int | None = None
    quantity: float | None = None
    price: float | None = None
    tradingStatus: str | None = None
    marketStatus: str | None = None
    status: str | None = None
    lastTrackingNumber: int | None = None
    rfqId: int | None = None
    """``RFQ`` items: an open request for quotes, ``expireTime`` in epoch seconds."""
    expireTime: int | None = None


class OrderBookState(msgspec.Struct, frozen=True, gc=False):
    """``order_book_state()``: resting orders, instrument states, open RFQs, and the
    tracking number to start ``order_book_depth`` from without a gap."""

    orders: list[BookStateItem]
    instruments: list[BookStateItem]
    last_tracking_number: int | None
    rfqs: list[BookStateItem] = []
    """The open requests for quotes (``RFQ`` items)."""


# -- Market Data API (its own socket; REFERENCE section 10) ---------------------------------


class VolumeType(_Object):
    """One entry of ``LightTicker.volumeTypes``: the day's volume (base asset) of one kind
    of trade: ``Matched`` (order book), ``RFQ``, or a trade entry type (``EFRP``,
    ``Block``, ``Other``, ``Reversal``...)."""

    type: str
    volume: float | None = None


class _PriceBands(_Object):
    dailyMinPrice: float | None = None
    """The lowest price the daily price bands allow."""
    dailyMaxPrice: float | None = None
    tickMinPrice: float | None = None
    """The lowest price the tick price bands allow."""
    tickMaxPrice: float | None = None
    minPrice: float | None = None
    """The instrument's own lowest price."""
    maxPrice: float | None = None


class LegPriceLimits(_PriceBands):
    """The price limits of one leg of a strategy (``PriceLimits.legs``)."""

    id: int | None = None


class PriceLimits(_PriceBands):
    """``LightTicker.priceLimits``: the prices an order may have now. ``finalMinPrice``
    is the highest of the minimums, ``finalMaxPrice`` the lowest of the maximums."""

    finalMinPrice: float | None = None
    finalMaxPrice: float | None = None
    legs: list[LegPriceLimits] = []


class LightTicker(_Object):
    """``v1/exchange.marketdata/lightTickers``: one symbol's prices (times in ms).

    The day's figures (``openingPrice``, ``high``, ``low``, ``volume``...) count order
    book trades, or all trades with ``scope="All"``; members without a value are omitted
    (``None``), and an instrument that has not traded has only ``symbol``, ``status``,
    zero ``bidQuantity``/``askQuantity`` and ``timeStamp``. ``status``: ``Trading``,
    ``Closed``, ``Halted``, ``AuctionCall`` or ``AuctionCrossing``.

    A symbol Exberry does not know (or no longer trades) is told once, in the stream, as
    an item with ``errorCode`` 3 and ``errorMessage`` "Wrong symbol" (the other symbols go
    on); check :attr:`errorCode` before reading its zero quantities as an empty book."""

    symbol: str
    status: str | None = None
    lastPrice: float | None = None
    lastPriceTimestamp: int | None = None
    lastQuantity: float | None = None
    bidPrice: float | None = None
    """The highest bid; ``bidQuantity`` is what rests at it."""
    bidQuantity: float | None = None
    askPrice: float | None = None
    askQuantity: float | None = None
    timeStamp: int | None = None
    """When one of the members last changed."""
    openingPrice: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float | None = None
    """The day's volume in the base asset."""
    quoteVolume: float | None = None
    closingPrice: float | None = None
    """The previous day's last order book trade."""
    closingPriceTimestamp: int | None = None
    settlementPrice: float | None = None
    settlementPriceTimestamp: int | None = None
    referencePrice: float | None = None
    """What the daily price bands are measured from."""
    referencePriceTimestamp: int | None = None
    tickReferencePrice: float | None = None
    """What the tick price bands are measured from: the day's last order book trade,
    else ``referencePrice``."""
    tickReferencePriceTimestamp: int | None = None
    volumeTypes: list[VolumeType] = []
    priceLimits: PriceLimits | None = None
    errorCode: int | None = None
    errorMessage: str | None = None


class MdLevel(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A price level of ``partialOrderBook``: ``[price, quantity, numberOfOrders]``."""

    price: float
    quantity: float
    numberOfOrders: int = 0


class MarketSide(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Market orders waiting in an auction: ``[quantity, numberOfOrders]``."""

    quantity: float
    numberOfOrders: int = 0


class _MarketOrders(_Object):
    """Market orders waiting in an auction as the documentation's field table has them:
    an object (its sample sends ``[quantity, numberOfOrders]``)."""

    quantity: float
    numberOfOrders: int = 0


class PartialOrderBook(_Object):
    """``v1/exchange.marketdata/partialOrderBook``: the top ``levels`` of a book, best
    first; ``marketBids``/``marketAsks`` only during auctions, a :class:`MarketSide`
    whichever of the documented forms (array or object) they came in."""

    symbol: str
    timeStamp: int | None = None
    bids: list[MdLevel] = []
    asks: list[MdLevel] = []
    marketBids: MarketSide | dict[str, Any] | None = None
    marketAsks: MarketSide | dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # One type for users: the object form becomes the array form's MarketSide (a
        # union may not hold two untagged Structs: the object comes as a dict).
        for name in ("marketBids", "marketAsks"):
            side = getattr(self, name)
            if type(side) is dict:
                orders = msgspec.convert(side, _MarketOrders)
                setattr(self, name, MarketSide(orders.quantity, orders.numberOfOrders))


class LiveTrade(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One ``liveTrades`` record: ``[price, quantity, makerSide, timeStamp,
    multiLegReportingType]``. A negative quantity cancels a trade; the end of the
    snapshot repeats the last trade with quantity 0."""

    price: float
    quantity: float
    makerSide: str | None = None
    timeStamp: int | None = None
    multiLegReportingType: str | None = None


class TradeEntryMinimum(_Object):
    """The least quantity of a trade report of one ``type`` (``Block``, ``EFRP``...)."""

    type: str | None = None
    amount: float | None = None


class MdInstrument(_Object):
    """An ``instrumentList`` item; ``lastMessage: "Y"`` ends the snapshot."""

    id: int | None = None
    symbol: str | None = None
    calendarId: int | None = None
    activityStatus: str | None = None
    minQuantity: float | None = None
    maxQuantity: float | None = None
    pricePrecision: int | None = None
    quantityPrecision: int | None = None
    description: str | None = None
    quoteCurrency: str | None = None
    category: str | None = None
    subCategory: str | None = None
    tradingModels: list[str] = []
    underlyingAssets: str | None = None
    startDate: int | None = None
    """Epoch seconds."""
    stopDate: int | None = None
    """Epoch seconds."""
    maturityDate: str | None = None
    coupon: float | None = None
    periodOfCoupon: str | None = None
    accrualConvention: str | None = None
    minQuantityTradeEntries: list[TradeEntryMinimum] = []
    lastMessage: str | None = None


class InstrumentListUpdate(_Object):
    """A ``v1/exchange.marketdata/instrumentListWithPagination`` item: the page
    (``messageType`` ``snapshot``: ``instruments``, the ``count`` of instruments from
    the page's start on, and ``fromSymbol``, its last symbol: where the next page
    starts), then live changes of them (``update``: one ``instrument``)."""

    messageType: str | None = None
    instrument: MdInstrument | None = None
    instruments: list[MdInstrument] = []
    count: int | None = None
    fromSymbol: str | None = None


class Candle(_Object):
    """A ``candles`` bar (live or history)."""

    symbol: str | None = None
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None
    volume: float | None = None
    vwa: float | None = None
    timeStamp: int | None = None


class SettlementPrice(_Object):
    """A ``getSettlementPrices`` item."""

    symbol: str | None = None
    price: float | None = None
    lastUpdate: int | None = None


class TickSizeStep(_Object):
    """One step of a tick size table: ``tickSize`` from ``price`` up (the samples send
    prices as numbers and as strings)."""

    price: float | str | None = None
    tickSize: float | None = None


class TickSizeTable(_Object):
    """A ``tickSizeList`` item; ``lastMessage: "Y"`` ends the snapshot."""

    id: int | str | None = None
    name: str | None = None
    items: list[TickSizeStep] = []
    lastMessage: str | None = None


class CalendarAuction(_Object):
    """An auction of a trading calendar."""

    days: list[str] = []
    startTimes: list[str] = []
    duration: int | None = None
    matchingAlgorithm: str | None = None
    allowedTimeInForces: list[str] = []
    eventsModes: list[str] = []
    trigger: str | None = None
    """``TimeBased``, ``Resume``, ``AutoResume``."""
    overrideReferencePrice: bool | None = None


class TradingCalendar(_Object):
    """A ``calendarList`` item; ``lastMessage: "Y"`` ends the snapshot."""

    id: int | str | None = None
    name: str | None = None
    timeZone: str | None = None
    marketOpen: str | None = None
    marketClose: str | None = None
    tradingDays: list[str] = []
    holidays: list[str] = []
    auctions: list[CalendarAuction] = []
    lastEodDate: str | None = None
    lastMessage: str | None = None


# -- RFQ, trade reporting, ledger (REFERENCE section 9) ----------------------------------------


class RfqResult(_Object):
    """``submitRFQ`` and ``cancelRFQ``: the exchange's ``rfqId``; ``rfqStatus``
    ``Accepted`` for a new RFQ."""

    rfqId: int
    rfqStatus: str | None = None


class QuoteResult(_Object):
    """``submitQuote`` and ``cancelQuote``: the exchange's ``quoteId``; ``quoteStatus``
    ``Accepted`` for a new quote."""

    quoteId: int
    quoteStatus: str | None = None


class TradeIdResult(_Object):
    """``acceptQuote`` and a locked-in ``createTradeReport``: the ``tradeId``; an alleged
    ``createTradeReport`` and ``cancelAllegedTradeReport``: the ``allegedTradeId``."""

    tradeId: int | None = None
    allegedTradeId: int | None = None


class _ReportedRfqFields(_Object):
    """What RFQs and quotes of the reporting API share; times are ISO strings with
    microseconds."""

    rfqId: int | None = None
    instrumentId: int | None = None
    instrument: str | None = None
    mpId: MpId | None = None
    mpName: str | None = None
    status: str | None = None
    side: str | None = None
    quantity: float | None = None
    accountType: str | None = None
    parties: list[Party] = []
    createdAt: str | None = None
    lastEventTimestamp: str | None = None
    lastEventId: int | None = None


class ReportedRfq(_ReportedRfqFields):
    """An RFQ of the reporting API (``v1/exchange.reporting/mp/rfqs``)."""

    mpQuoteReqId: int | None = None
    mpRfqId: int | None = None
    """The field table's name for ``mpQuoteReqId`` (the samples')."""
    expireTime: str | None = None
    cancelReason: str | None = None
    """``Expiration`` or ``CancelRequest``."""


class RfqsPage(_Object):
    """One page of ``v1/exchange.reporting/mp/rfqs``; ``count`` is the total."""

    rfqs: list[ReportedRfq] = []
    count: int | None = None


class ReportedQuote(_ReportedRfqFields):
    """A dealer's quote of the reporting API (``v1/exchange.reporting/mp/quotes``)."""

    quoteId: int | None = None
    mpQuoteId: int | None = None
    price: float | None = None
    cancelReason: str | None = None
    """``RFQEnded``, ``Expiration``, ``RFQCancelled`` or ``CancelRequest``."""


class QuotesPage(_Object):
    """One page of ``v1/exchange.reporting/mp/quotes``; ``count`` is the total."""

    quotes: list[ReportedQuote] = []
    count: int | None = None


class TradeReportSide(_Object):
    """One side of a trade report: the participant (by ``mpName`` when reporting, with
    ``mpId`` too in reports), its ``accountType`` and ``parties``."""

    mpId: MpId | None = None
    mpName: str | None = None
    accountType: str | None = None
    parties: list[Party] = []


class ReportedAllegedTrade(_Object):
    """An alleged trade of the reporting API (``v1/exchange.reporting/mp/allegedTrades``)."""

    allegedTradeId: int | None = None
    externalTradeId: int | None = None
    instrumentId: int | None = None
    instrument: str | None = None
    buy: TradeReportSide | None = None
    sell: TradeReportSide | None = None
    status: str | None = None
    price: float | None = None
    quantity: float | None = None
    tradeType: str | None = None
    flow: str | None = None
    cancelReason: str | None = None
    createdAt: str | None = None
    lastEventTimestamp: str | None = None
    lastEventId: int | None = None


class AllegedTradesPage(_Object):
    """One page of ``v1/exchange.reporting/mp/allegedTrades``; ``count`` is the total."""

    allegedTrades: list[ReportedAllegedTrade] = []
    count: int | None = None


class AssetBalance(_Object):
    """One asset of a ledger account's balance."""

    assetId: int | None = None
    assetName: str | None = None
    availableBalance: float | None = None
    reservedBalance: float | None = None
    totalBalance: float | None = None
    transactionUnits: str | None = None


class AccountBalance(_Object):
    """``v1/exchange.ledger/accountBalance``: the account's assets."""

    balances: list[AssetBalance] = []


class TransferResult(_Object):
    """``createAllegedTransfer`` (``allegedTransferId``) and ``createTransactionRequest``
    (``id``): the new instruction and its ``status`` (``Instructed``)."""

    allegedTransferId: int | str | None = None
    id: int | str | None = None
    status: str | None = None


class CashTransferResult(_Object):
    """``createCashTransfer``: the accounts and the ledger transactions it made."""

    senderAccountId: int | str | None = None
    receiverAccountId: int | str | None = None
    transactionIds: list[int | str] = []


class TransferAsset(_Object):
    """An asset and amount of a transfer: what requests send (``assetId`` and
    ``amount``, numbers or, as the samples send them, text) and reports list (with the
    asset's name and ``units``)."""

    assetId: int | str | None = None
    assetName: str | None = None
    amount: float | str | None = None
    units: str | None = None


class _LedgerRow(_Object):
    """The participant and ledger account of a ledger report's row."""

    mpId: MpId | None = None
    mpName: str | None = None
    ledgerAccountId: int | None = None
    ledgerAccountName: str | None = None


class ReportedAllegedTransfer(_LedgerRow):
    """An alleged transfer of ``v1/exchange.reporting/mp/allegedTransfers``."""

    allegedTransferId: int | str | None = None
    externalId: str | None = None
    type: str | None = None
    status: str | None = None
    sendingAssets: list[TransferAsset] = []
    receivingAssets: list[TransferAsset] = []
    description: str | None = None
    counterpartyMpId: MpId | None = None
    counterpartyMpName: str | None = None
    expireTime: str | None = None
    cancelReason: str | None = None
    createdAt: str | None = None
    lastEventTimestamp: str | None = None


class AllegedTransfersPage(_Object):
    """One page of ``v1/exchange.reporting/mp/allegedTransfers``."""

    allegedTransfers: list[ReportedAllegedTransfer] = []
    count: int | None = None


class Fee(_LedgerRow):
    """One fee of ``v1/exchange.reporting/mp/fees`` (v1.54)."""

    date: str | None = None
    type: str | None = None
    fee: float | None = None
    feeAssetId: int | None = None
    feeAssetName: str | None = None


class FeesPage(_Object):
    """One page of ``v1/exchange.reporting/mp/fees``."""

    fees: list[Fee] = []
    count: int | None = None


class Holding(_Object):
    """One asset's end-of-day holding (``v1/exchange.reporting/mp/holdingsSummary``):
    ``mpName`` when grouped by participant or account, ``ledgerAccountName`` by account."""

    eodDate: str | None = None
    mpName: str | None = None
    ledgerAccountName: str | None = None
    instrumentId: int | None = None
    assetName: str | None = None
    eodHoldings: float | None = None
    transactionUnits: str | None = None


class HoldingsPage(_Object):
    """One page of ``v1/exchange.reporting/mp/holdingsSummary``."""

    holdings: list[Holding] = []
    count: int | None = None


class TransactionRequest(_LedgerRow):
    """A deposit or withdrawal request (``v1/exchange.reporting/mp/transactionRequests``)."""

    id: int | str | None = None
    type: str | None = None
    status: str | None = None
    assetId: int | None = None
    assetName: str | None = None
    amount: float | None = None
    units: str | None = None
    description: str | None = None
    instructionDetailsId: str | None = None
    assetDetailsId: str | None = None
    createdAt: str | None = None
    lastEventTimestamp: str | None = None


class TransactionRequestsPage(_Object):
    """One page of ``v1/exchange.reporting/mp/transactionRequests``."""

    transactionRequests: list[TransactionRequest] = []
    count: int | None = None


class LedgerTransaction(_LedgerRow):
    """One ledger movement (``v1/exchange.reporting/mp/transactions``); a trade or a
    transfer makes one per asset and side, sharing ``linkId``. ``amount`` is negative
    when the total balance falls or a reservation is released; deposits, withdrawals and
    adjustments also give it in the asset's in/out units; transfers name the
    counterparty."""

    timestamp: str | None = None
    transactionId: int | None = None
    transactionType: str | None = None
    amount: float | None = None
    transactionUnits: str | None = None
    assetId: int | None = None
    assetName: str | None = None
    description: str | None = None
    linkId: int | None = None
    amountInOutUnits: float | None = None
    inOutUnits: str | None = None
    counterpartyMpId: MpId | None = None
    counterpartyMpName: str | None = None


class TransactionsPage(_Object):
    """One page of ``v1/exchange.reporting/mp/transactions``."""

    transactions: list[LedgerTransaction] = []
    count: int | None = None


class Position(_Object):
    """A position (``v1/exchange.reporting/mp/positions``, v1.56) of a participant or,
    with ``positionAccountId``, of one of its position accounts: ``eodDate`` for an
    end-of-day one (none for the current one); gross (long and short apart) or net, as
    the participant's ``positionCalculation`` says."""

    eodDate: str | None = None
    mpId: MpId | None = None
    mpName: str | None = None
    positionAccountId: int | None = None
    positionAccountName: str | None = None
    instrumentId: int | None = None
    instrument: str | None = None
    grossLongPosition: float | None = None
    grossLongAvgPrice: float | None = None
    grossShortPosition: float | None = None
    grossShortAvgPrice: float | None = None
    netPosition: float | None = None
    netAvgPrice: float | None = None
    lastEventTimestamp: str | None = None
    lastEventId: int | None = None


class PositionsPage(_Object):
    """One page of ``v1/exchange.reporting/mp/positions``."""

    positions: list[Position] = []
    count: int | None = None


# -- Nebula "Trading App" (broker) API (REFERENCE section 11) ------------------------------


class BrokerOrder(_Object):
    """An order of the broker API: one event of ``v1/broker.account/orders``
    (``messageType`` ``ActiveOrder`` for each open order of the snapshot, ``SnapshotEnd``,
    then ``Added``, ``Executed``, ``Cancelled``, ``Rejected``), or a row of
    ``v1/broker.account/ordersHistory`` (no ``messageType``). A ``Rejected`` placement has
    no ``orderId``; a rejected cancel has no terms. ``createdAt`` is epoch milliseconds in
    most samples and nanoseconds in one: compare it only with the same stream's."""

    messageType: str | None = None
    orderId: int | None = None
    orderType: str | None = None
    side: str | None = None
    instrument: str | None = None
    quantity: float | None = None
    price: float | None = None
    timeInForce: str | None = None
    createdAt: int | None = None
    filledQuantity: float | None = None
    remainingOpenQuantity: float | None = None
    removedQuantity: float | None = None
    filledPrice: float | None = None
    """The average price of the fills so far."""
    cancelledQuantity: float | None = None
    lastFilledQuantity: float | None = None
    lastFilledPrice: float | None = None
    matchId: int | None = None
    user: str | int | None = None
    account: str | None = None
    accountId: int | None = None
    errorCode: int | None = None
    """``Rejected``: why (the broker's code, e.g. ``101`` "orderId not found")."""
    errorMessage: str | None = None


class BrokerOrdersPage(_Object):
    """One page of ``v1/broker.account/ordersHistory``; ``count`` is the total."""

    orders: list[BrokerOrder] = []
    count: int | None = None


class BrokerTrade(_Object):
    """One trade of ``v1/broker.account/tradesHistory``, from the account's side;
    ``timestamp`` is epoch milliseconds in the sample (the field table says
    microseconds)."""

    account: str | None = None
    timestamp: int | None = None
    tradeId: int | None = None
    instrument: str | None = None
    side: str | None = None
    quantity: float | None = None
    price: float | None = None
    orderId: int | None = None
    makerTaker: str | None = None


class BrokerTradesPage(_Object):
    """One page of ``v1/broker.account/tradesHistory``; ``count`` is the total."""

    trades: list[BrokerTrade] = []
    count: int | None = None


class BrokerBalance(_Object):
    """One event of ``v1/broker.account/balance``: an asset's ``free`` and ``locked``
    amounts (``messageType`` ``Balance``: one per asset, then ``SnapshotEnd``, then one
    at each change)."""

    messageType: str | None = None
    asset: str | None = None
    free: float | None = None
    locked: float | None = None


class BrokerTransaction(_Object):
    """One ledger movement of ``v1/broker.wallet/transactions`` (``type`` ``Deposit``,
    ``Withdrawal``, ``Trade``, ``Fee``); ``amount`` is a decimal string, negative when
    the asset leaves the account; ``timestamp`` is epoch seconds. A trade makes several,
    sharing ``internalReference`` (``"Gold-USD|trade|671"``)."""

    id: str | None = None
    type: str | None = None
    account: str | None = None
    asset: str | None = None
    amount: str | None = None
    ledgerReference: str | None = None
    internalReference: str | None = None
    timestamp: int | None = None
    requestId: str | None = None


class BrokerTransactionsPage(_Object):
    """One page of ``v1/broker.wallet/transactions``; ``count`` is the total."""

    transactions: list[BrokerTransaction] = []
    count: int | None = None
