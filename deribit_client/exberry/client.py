"""ExberryClient: the engine wired to Exberry's stream protocol, sessions and streams.

Composition as for Deribit: a supervisor owns the state and runs the establish steps
(open the socket -> ``createSession`` -> resume every live stream -> ready); the connection
drives :class:`~.protocol.ExberryProtocol`; streams are the engine's subscriber queues.
A session lives as long as its socket, so every reconnect creates a new one first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import numbers
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from types import TracebackType
from typing import Any, Generic, Literal, NoReturn, TypeVar, get_args

import msgspec

from .._core.connection import DEFAULT_TIMEOUT, Connection, check_timeout
from .._core.errors import (
    ClientClosed,
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    DeribitError,
    NotReadyError,
)
from .._core.protocol import OutcomeRule
from .._core.streams import DEFAULT_MAXSIZE, ErrorCallback, Gap, Policy, Stream, check_maxsize
from .._core.supervisor import ConnectionState, ReconnectPolicy, Supervisor, refuse_after_a_turn
from .._core.tasks import finish_all
from .._core.values import (
    as_builtins,
    call_arguments,
    check_choice,
    check_int,
    check_sendable,
    epoch_seconds,
    utc,
)
from .._errors import OrderOutcomeUnknown
from ..transports.base import Connector
from ..transports.websocket import WebSocketConnector
from .auth import session_signature
from .errors import InsufficientPermissions, SessionError, StreamDisconnected, TrackingNumberError
from .models import (
    AccountBalance,
    AllegedTradesPage,
    AllegedTransfersPage,
    AuctionIndicativeEP,
    BookEvent,
    BookStateItem,
    BrokerBalance,
    BrokerOrder,
    BrokerOrdersPage,
    BrokerTradesPage,
    BrokerTransactionsPage,
    Candle,
    CashTransferResult,
    ExecutionReport,
    FeesPage,
    HoldingsPage,
    InstrumentListUpdate,
    LightTicker,
    LiveTrade,
    MassCancelResult,
    MdInstrument,
    MpId,
    OrderBookState,
    OrderIdResult,
    OrdersPage,
    OrderStatus,
    PartialOrderBook,
    Party,
    PlaceOrderResult,
    PositionsPage,
    QuoteDetail,
    QuoteResult,
    QuotesPage,
    RfqResult,
    RfqsPage,
    SessionResult,
    SettlementPrice,
    TickSizeTable,
    Trade,
    TradeIdResult,
    TradeReportSide,
    TradesPage,
    TradingCalendar,
    TransactionRequestsPage,
    TransactionsPage,
    TransferAsset,
    TransferResult,
)
from .protocol import ExberryProtocol, StreamClosed, frame_decoder

__all__ = ["CANDLE_INTERVALS", "MUTATIONS", "ExberryClient", "ExberryStream"]

log = logging.getLogger("deribit_client.exberry")

T = TypeVar("T")
MARKET = "v1/exchange.market"
LEDGER = "v1/exchange.ledger"
SESSION_Q = "exchange.market/createSession"  # the one qualifier without a version prefix
BROKER = "v1/broker"
"""Nebula's Trading App (broker) API: ``v1/broker.oms/...``, ``v1/broker.account/...``,
``v1/broker.wallet/...`` (REFERENCE section 11)."""

OrderType = Literal["Limit", "Market", "Stop", "StopLimit", "MarketToLimit", "MIT", "LIT"]
Side = Literal["Buy", "Sell"]
TimeInForce = Literal["GTC", "GTD", "FOK", "IOC", "DAY", "GAA", "OPG", "ATC"]
StpAction = Literal["CancelIncomingOrder", "CancelRestingOrder", "CancelBothOrders"]
"""Self-trade prevention (FOK and IOC orders take only ``CancelIncomingOrder``)."""
DisplayMethod = Literal["DisplayQuantity", "Hidden", "Random"]
TargetEntity = Literal["Order", "RFQ", "Quote", "AllegedTrade"]
"""What ``mass_cancel`` cancels (``["Order"]`` by default)."""
MdInterval = Literal[100, 1000, 2000]
"""The update intervals (ms) ``lightTickers`` and ``partialOrderBook`` accept."""
MdLevels = Literal[1, 5, 10, 20, 100]
"""The depths ``partialOrderBook`` accepts."""
MdScope = Literal["CLOB", "All"]
"""The ``scope`` values ``lightTickers`` accepts."""
CandleTimespan = Literal["MINUTE", "HOUR", "DAY"]
"""The ``timespan`` of candles; with ``multiplier`` one of :data:`CANDLE_INTERVALS`."""
CANDLE_INTERVALS = ((1, "MINUTE"), (5, "MINUTE"), (15, "MINUTE"), (1, "HOUR"), (4, "HOUR"),
                    (1, "DAY"))  # fmt: skip
"""The (``multiplier``, ``timespan``) pairs the Market Data API offers candles for."""
ReportedStatus = Literal["Active", "Executed", "Cancelled", "Suspended"]
"""The order statuses reporting filters on."""
RfqStatus = Literal["Active", "Cancelled", "Ended"]
"""The RFQ statuses ``mp_rfqs`` filters on."""
QuoteStatus = Literal["Active", "Executed", "Cancelled"]
"""The quote statuses ``mp_quotes`` filters on."""
TransactionType = Literal["Deposit", "Withdrawal"]
"""What a ledger transaction request asks for."""
TransactionRequestStatus = Literal["Instructed", "InProcess", "Settled", "Cancelled"]
"""The transaction request statuses ``mp_transaction_requests`` filters on."""
TransferType = Literal["DvP", "RvP", "FoP", "FoP_Receive", "DvD"]
"""An alleged transfer's kind: delivery versus payment (and its mirror, receipt versus
payment), free of payment (delivered, or received: ``FoP_Receive``), delivery versus
delivery. A transfer settles against the counterparty's mirror-image report."""
AllegedTransferStatus = Literal["Instructed", "Settled", "Cancelled"]
"""The alleged transfer statuses ``mp_alleged_transfers`` filters on."""
LedgerTransactionType = Literal[
    "Deposit", "Withdrawal", "Adjustment", "Trade", "DvP", "RvP", "FoP", "CashTransfer", "DvD",
    "ReserveBalance", "ReleaseBalance",
]  # fmt: skip
"""The ledger transaction types ``mp_transactions`` filters on (by default all but
``ReserveBalance`` and ``ReleaseBalance``)."""
HoldingsGroupBy = Literal["MP", "Account"]
"""How ``mp_holdings_summary`` sums holdings beyond day and asset."""
PositionReportType = Literal["MP", "Account"]
"""Whose positions ``mp_positions`` lists: participants' or position accounts'."""
BrokerTransactionType = Literal["Deposit", "Withdrawal", "Trade", "Fee"]
"""The wallet movements ``broker_transactions`` filters on."""
TradeActionType = Literal["MatchedTrade", "TradeReport", "TradeCancel"]
"""The trade record kinds reporting filters on (``actionTypes``)."""
MultiLegReportingType = Literal["SingleSecurity", "MultiLegSecurity", "IndividualLeg"]
"""Single instruments, strategies and their legs (``multiLegReportingTypes``)."""
TradeReportFlow = Literal["LockedIn", "ThirdPartyLockedIn", "AllegedSystemMatch"]
"""How a trade report becomes a trade: at once, reported by a side (``LockedIn``) or a third
party (``ThirdPartyLockedIn``), or once the counterparty reports it too
(``AllegedSystemMatch``)."""
Conn = Connection[ExberryProtocol[Any]]


_RECONCILE_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    f"{MARKET}/placeOrder": (
        ("mpOrderId",),
        "look its mpOrderId up with mass_order_status() once ready, or re-send it with the "
        "same mpOrderId (Exberry refuses a duplicate with 1002)",
    ),
    f"{MARKET}/cancelOrder": (
        ("orderId", "mpOrderId"),
        "look the order up with mass_order_status() once ready: still live, cancel it "
        "again; gone, it was cancelled or filled (a cancel of an order no longer live is "
        "refused with 1100)",
    ),
    f"{MARKET}/replaceOrder": (
        ("orderId",),
        "look the order up with mass_order_status() once ready: its price and quantity "
        "show whether the replace took; replace it again only if not",
    ),
    f"{MARKET}/modifyOrder": (
        ("orderId",),
        "look the order's quantity up with mass_order_status() once ready before "
        "modifying it again",
    ),
    f"{MARKET}/massCancel": (
        ("instrument", "targetScope"),
        "look the resting orders up with mass_order_status() once ready; sending it again "
        "is safe (it cancels what is still live)",
    ),
    f"{MARKET}/createTradeReport": (
        ("externalTradeId",),
        "look its externalTradeId up on execution_reports() or trades(), or, for an "
        "alleged trade, with mass_order_status() or mp_alleged_trades(), before re-sending",
    ),
    f"{MARKET}/cancelAllegedTradeReport": (
        ("allegedTradeId",),
        "look the alleged trade up with mass_order_status() or mp_alleged_trades()",
    ),
    f"{MARKET}/submitRFQ": (
        ("mpRfqId",),
        "look its mpRfqId up with mass_order_status() or mp_rfqs() once ready, or re-send it "
        "with the same mpRfqId (Exberry refuses a duplicate with 1002)",
    ),
    f"{MARKET}/cancelRFQ": (("rfqId",), "look the RFQ up with mass_order_status() or mp_rfqs()"),
    f"{MARKET}/acceptQuote": (
        ("quoteId",),
        "look the quote up with mp_quotes() or trades() before accepting again (a second "
        "accept of a quote that traded is refused)",
    ),
    f"{MARKET}/submitQuote": (
        ("mpQuoteId",),
        "look its mpQuoteId up with mass_order_status() or mp_quotes() once ready, or re-send "
        "it with the same mpQuoteId (Exberry refuses a duplicate with 1002)",
    ),
    f"{MARKET}/cancelQuote": (("quoteId",), "look the quote up with mass_order_status()"),
    f"{LEDGER}/createTransactionRequest": (
        ("amount",),
        "look for it with mp_transaction_requests() before re-sending: the request carries "
        "no id of yours, so a re-send is a second deposit or withdrawal",
    ),
    f"{LEDGER}/cancelTransactionRequest": (
        ("id",),
        "look its status up with mp_transaction_requests()",
    ),
    f"{LEDGER}/createAllegedTransfer": (
        ("externalId",),
        "look its externalId up with mp_alleged_transfers() before re-sending (while it is "
        "Instructed a re-send is refused with 1002; once settled it would be a second "
        "transfer)",
    ),
    f"{LEDGER}/cancelAllegedTransfer": (
        ("allegedTransferId",),
        "look its status up with mp_alleged_transfers()",
    ),
    f"{LEDGER}/createCashTransfer": (
        ("senderAccountId",),
        "look for its CashTransfer transactions with mp_transactions() before re-sending: "
        "the transfer carries no id of yours, so a re-send moves the assets again",
    ),
    f"{BROKER}.oms/placeOrder": (
        ("instrument",),
        "look for it with broker_orders_history() or on broker_orders() before re-sending: "
        "the order carries no id of yours, so a re-send is a second order",
    ),
    f"{BROKER}.oms/cancelOrder": (
        ("orderId",),
        "look the order up with broker_orders_history() or on broker_orders()",
    ),
}
"""Each mutation's keys (the first the request carries is named in the error) and how to
reconcile it when its reply is lost."""

MUTATIONS = frozenset(_RECONCILE_KEYS)
"""Qualifiers whose lost reply leaves the state of an order (trade report, RFQ, quote,
ledger request or transfer) unknown (never re-sent)."""


def lost_mutation_error(
    q: str, d: dict[str, Any], sid: int, error: DeribitError
) -> OrderOutcomeUnknown:
    """Exberry's error for a trading action whose reply is lost: its outcome is unknown;
    the error names the request's key (a ``placeOrder``'s ``mpOrderId``...) and how to
    reconcile it (``_RECONCILE_KEYS``)."""
    keys, advice = _RECONCILE_KEYS[q]
    key = next((key for key in keys if key in d), keys[0])
    unknown = OrderOutcomeUnknown(q, d, sid, str(error), key=key, advice=advice)
    unknown.__cause__ = error
    return unknown


MUTATION_OUTCOMES = OutcomeRule(MUTATIONS, lost_mutation_error)
"""Exberry's requests whose lost reply leaves an outcome unknown, and their error."""


def _is_fatal(error: BaseException) -> bool:
    return isinstance(error, SessionError | InsufficientPermissions | ClientError)


QUICK_END = 1.0
"""A stream the server ends within this many seconds of opening it, before it delivered
anything, ended at once."""
MAX_QUICK_ENDS = 3
"""A stream the server ends at once (:data:`QUICK_END`) this many times in a row is
re-opened, the first time at once and then after the client's reconnect backoff; ended
at once once more, it fails with the server's error instead."""


class ExberryStream(Stream[T], Generic[T]):
    """A long-lived Exberry stream, iterable with ``async for`` (items ``T`` or ``Gap``).

    Enter it to open the stream; leaving the block sends ``sig: 3``. After a reconnect it
    resumes from the second-to-last ``trackingNumber`` it delivered and skips what it had
    already delivered, so the consumer sees a ``Gap`` only when events may really have
    been lost.
    """

    __slots__ = (
        "_at_last",
        "_client",
        "_convert",
        "_last",
        "_opened_at",
        "_prev",
        "_quick_ends",
        "_received_at_open",
        "_reopening",
        "_skip",
        "deliver",
        "frame_decoder",
        "q",
        "request",
        "resumable",
        "sid",
    )

    def __init__(
        self,
        client: ExberryClient,
        q: str,
        d: dict[str, Any],
        item_type: Any,
        policy: Policy,
        maxsize: int,
        callback: Callable[[Any], Any] | None,
        on_error: ErrorCallback | None,
        key_of: Callable[[Any], Any] | None = None,
        convert: Callable[[Any], list[Any]] | None = None,
    ) -> None:
        check_sendable(q, d)  # here, not where it opens: the caller hears of it at once
        super().__init__(q, policy, maxsize, callback, on_error, key_of)
        self._client = client
        self._convert = convert
        self.q = q
        self.request = dict(d)
        self.frame_decoder = frame_decoder(item_type)
        self.sid: int | None = None
        self._last: int | None = None  # trackingNumber of the newest item delivered
        self._prev: int | None = None  # the distinct number before it
        self._at_last = 0  # items delivered with number == _last
        self._skip = 0  # replayed items still to skip after a resume
        self._opened_at = 0.0  # when its opening frame was last made
        self._received_at_open = 0  # self.received then
        self._quick_ends = 0  # ends at once in a row
        self._reopening: asyncio.TimerHandle | None = None  # a re-open waiting its backoff
        self.resumable = q.endswith(("orderBookDepth", "executionReports", "trades"))
        """Ended by the server without an error, it is re-opened (tracking-number streams)."""
        self.deliver: Callable[[Any], None] = (
            self._deliver if convert is None else self._deliver_converted
        )

    def reopen_delay(self, policy: ReconnectPolicy) -> float | None:
        """Count an end by the server and say in how many seconds to re-open the stream:
        at once after an end that came a while after opening it or after it delivered
        something (a stream the server ends every second after delivering is working), or
        the first that came at once (:data:`QUICK_END`); after ``policy``'s backoff for
        the next ones in a row, so a venue in trouble is not asked again every round trip;
        ``None`` (fail it) after :data:`MAX_QUICK_ENDS` of them, since re-opening would
        only repeat that."""
        quick = (
            self.received == self._received_at_open
            and time.monotonic() - self._opened_at < QUICK_END
        )
        self._quick_ends = self._quick_ends + 1 if quick else 0
        if self._quick_ends > MAX_QUICK_ENDS:
            return None
        return policy.backoff(self._quick_ends - 1) if self._quick_ends > 1 else 0.0

    def reopen_after(self, delay: float, reopen: Callable[[], None]) -> None:
        """Call ``reopen`` in ``delay`` seconds, unless the stream is opened (by a
        reconnect) or ends first."""
        self.cancel_reopen()
        self._reopening = asyncio.get_running_loop().call_later(delay, reopen)

    def cancel_reopen(self) -> None:
        """Drop a re-open waiting for its backoff (the stream was opened or ended)."""
        if self._reopening is not None:
            self._reopening.cancel()
            self._reopening = None

    # -- route (called from the read loop) ----------------------------------------------

    def _deliver(self, item: Any) -> None:
        number = getattr(item, "trackingNumber", None)
        if number is not None:
            last = self._last
            if last is None or number > last:  # the usual case: a new number
                self._prev = last
                self._last = number
                self._at_last = 1
                self._skip = 0
            elif number == last:
                if self._skip:
                    self._skip -= 1
                    return  # replayed event sharing the last number: already delivered
                self._at_last += 1
            else:
                return  # replayed from before what we have: already delivered
        put = self.put  # fetched, then called: see the read loop's deliver
        put(item)

    def _deliver_converted(self, data: Any) -> None:
        convert = self._convert  # fetched, then called: see the read loop's deliver
        assert convert is not None
        try:
            items = convert(data)
        except (msgspec.ValidationError, TypeError, ValueError) as exc:
            self.malformed(repr(exc))
            return
        for item in items:
            self._deliver(item)

    def malformed(self, reason: str) -> None:
        """An item of this stream did not decode: counted, and the consumer gets a Gap."""
        self._client.malformed += 1
        log.warning("skipped malformed item on %s: %s", self.q, reason)
        self.put_marker(Gap(self.q, "malformed"))

    def resume_request(self) -> dict[str, Any]:
        """The request that resumes this stream; queues a Gap when items may have been lost
        (nothing delivered yet on a stream that asked only for live events)."""
        d = dict(self.request)
        if self._last is None:
            # Nothing delivered yet: resume where the user asked to start, if anywhere.
            if "trackingNumber" not in d:
                self.put_marker(Gap(self.q, "reconnected"))
            return d
        # Several events can share one number: resume from the number before the last
        # (the docs advise the second-to-last) and skip the ones already delivered.
        d["trackingNumber"] = self._prev if self._prev is not None else self._last - 1
        self._skip = self._at_last
        return d

    def restart_live(self) -> dict[str, Any]:
        """The server does not know the resume point (1201): restart from live events, with
        a Gap, since what happened in between is not replayed."""
        self.put_marker(Gap(self.q, "reconnected"))
        self.request.pop("trackingNumber", None)
        self._last = self._prev = None
        return dict(self.request)

    def opening(self, sid: int) -> None:
        """Its opening frame was made, under ``sid``: remember when (see
        :meth:`reopen_delay`); a re-open still waiting its backoff is superseded."""
        self.sid = sid
        self._opened_at = time.monotonic()
        self._received_at_open = self.received
        self.cancel_reopen()

    # -- lifecycle ------------------------------------------------------------------------

    def _finish(self) -> None:
        self.cancel_reopen()  # ended or failed: nothing to re-open
        super()._finish()

    async def _attach(self) -> None:
        await self._client._open_stream(self, self.request)

    async def _detach(self) -> None:
        await self._client._close_stream(self)


class ExberryClient:
    """Async client for Exberry's exchange API (WebSocket, ``q``/``sid``/``d``/``sig``).

    ::

        async with ExberryClient(url, api_key="...", secret="...") as client:
            placed = await client.place_order(
                instrument="BTC", side="Buy", quantity=1, price=100.5, mpOrderId=1
            )
            async with client.order_book_depth() as book:
                async for event in book:
                    ...

    Args:
        url: the exchange gateway's WebSocket URL (``wss://...``), e.g. a simulator's.
        api_key: API key (with ``secret``) for a signed session.
        secret: the key's secret; never sent, never shown.
        token: a trader's Auth0 token instead of a key.
        username: a trader's e-mail (with ``password``) instead of a key.
        password: the trader's password.
        timeout: default seconds a request waits for its end (sending included).
        connect_timeout: seconds allowed to open the socket.
        connector: opens the stream for each (re)connection instead of a WebSocket to
            ``url`` (e.g. a ``MockConnector``).
        reconnect: a :class:`~deribit_client.ReconnectPolicy`, or ``True``/``False``.
        subscriber_maxsize: default queue bound of each stream.
        public_token: the Market Data API's routing token, for public (session-less) mode.
        broker_token: a trader's JWT for Nebula's Trading App (broker) API instead: the
            session is ``v1/broker.oms/createSession`` and the ``broker_*`` methods apply.
        clock: seconds since the epoch, for session timestamps (injectable for tests).

    Attributes:
        malformed: stream items that did not decode (each a ``malformed`` Gap).
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 10.0,
        connector: Connector | None = None,
        reconnect: ReconnectPolicy | bool = True,
        subscriber_maxsize: int = DEFAULT_MAXSIZE,
        public_token: str | None = None,
        broker_token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if type(url) is not str or not url.startswith(("ws://", "wss://")):
            raise ClientError(f"url must be a ws:// or wss:// URL, not {url!r}")
        forms = [
            api_key is not None or secret is not None,
            token is not None,
            username is not None or password is not None,
            public_token is not None,
            broker_token is not None,
        ]
        if sum(forms) > 1:
            raise ClientError(
                "pass one of api_key/secret, token, username/password, public_token or broker_token"
            )
        if (api_key is None) != (secret is None) or (username is None) != (password is None):
            raise ClientError("api_key needs secret, and username needs password")
        given = {
            "api_key": api_key,
            "secret": secret,
            "token": token,
            "username": username,
            "password": password,
            "public_token": public_token,
            "broker_token": broker_token,
        }
        for name, value in given.items():
            if value is not None and (not isinstance(value, str) or not value):
                # The value is not shown: it may be a secret.
                what = "an empty one" if isinstance(value, str) else type(value).__name__
                raise ClientError(f"{name} must be a non-empty str, not {what}")
        self.url = url
        self.timeout = check_timeout(timeout)
        self.connect_timeout = check_timeout(connect_timeout, "connect_timeout")
        if type(reconnect) is bool:
            reconnect = ReconnectPolicy(enabled=reconnect)
        elif not isinstance(reconnect, ReconnectPolicy):
            raise ClientError(f"reconnect must be a bool or a ReconnectPolicy, not {reconnect!r}")
        self.default_maxsize = check_maxsize(subscriber_maxsize)
        self._api_key, self._secret = api_key, secret
        self._token, self._username, self._password = token, username, password
        self._clock = clock
        self._public_token = public_token
        self._broker_token = broker_token
        self._connector = connector or WebSocketConnector(url, timeout=self.connect_timeout)
        self._live: list[ExberryStream[Any]] = []
        self._supervisor: Supervisor[Conn] = Supervisor(
            self._open,
            [("create session", self._step_session), ("resume streams", self._step_resume)],
            reconnect,
            is_fatal=_is_fatal,
            on_give_up=self._give_up,
        )
        self.malformed = 0

    def __repr__(self) -> str:
        who = f", api_key={self._api_key!r}" if self._api_key else ""
        return f"ExberryClient({self.url!r}, state={self.state.value!r}{who})"

    # -- state and lifecycle --------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection state (see ``DeribitClient.state``)."""
        return self._supervisor.state

    @property
    def reconnect_count(self) -> int:
        """Successful reconnects so far."""
        return self._supervisor.reconnect_count

    @property
    def last_error(self) -> BaseException | None:
        """The last connection-level error, if any (e.g. why the socket closed)."""
        return self._supervisor.last_error

    @property
    def live_streams(self) -> int:
        """Long-lived streams the client keeps open (and resumes after every reconnect),
        including those waiting for a reconnect to open them."""
        return len(self._live)

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until a session is open (see ``DeribitClient.wait_ready``)."""
        await self._supervisor.wait_ready(
            self.timeout if timeout is None else check_timeout(timeout)
        )

    async def __aenter__(self) -> ExberryClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await self.close()

    async def connect(self) -> None:
        """Open the socket and the session.

        Raises:
            TransportError: the socket could not be opened.
            SessionError: the session was refused (6000-6003).
        """
        if self.state is ConnectionState.CLOSED:
            raise ClientClosed("this client is closed; create a new one")
        await self._supervisor.connect()

    async def close(self) -> None:
        """Close the streams and the socket; idempotent, completes even if cancelled.

        Raises:
            ClientError: called from another event loop than the one the client connected
                on while that one is still open (if it is closed, the client is dropped).
        """
        if self._supervisor.left_behind():
            return
        self._supervisor.begin_close()
        streams, self._live = self._live, []
        for stream in streams:
            stream.end()

        async def close_streams() -> None:
            for stream in streams:
                await stream.abandon()  # the socket goes: no sig: 3 to send

        await finish_all(close_streams, self._supervisor.close)

    async def _open(self) -> Conn:
        transport = await self._connector.connect()
        conn: Conn = Connection(
            transport,
            ExberryProtocol(outcome=MUTATION_OUTCOMES, token=self._public_token),
            on_event=self._on_event,
            on_closed=self._supervisor_closed,
            default_timeout=self.timeout,
        )
        conn.start()
        return conn

    def _supervisor_closed(self, conn: Conn, reason: str) -> None:
        self._supervisor.connection_closed(conn, reason)

    def _give_up(self, error: BaseException) -> None:
        streams, self._live = self._live, []
        for stream in streams:
            stream.fail(error)

    async def _step_session(self, conn: Conn) -> None:
        if self._public_token is not None:
            return  # the Market Data API's public mode: every frame carries the token
        q, d = self._session_request()
        await self._call_on(conn, q, d, SessionResult, False, None)

    def _session_request(self) -> tuple[str, dict[str, Any]]:
        """The session's qualifier and ``d`` for the credentials given."""
        if self._broker_token is not None:
            return f"{BROKER}.oms/createSession", {"token": self._broker_token}
        if self._api_key is not None and self._secret is not None:
            stamp = str(int(self._clock() * 1000))
            signature = session_signature(self._secret, self._api_key, stamp)
            d = {"apiKey": self._api_key, "timestamp": stamp, "signature": signature}
            return SESSION_Q, d
        if self._token is not None:
            return SESSION_Q, {"token": self._token}
        if self._username is not None:
            return SESSION_Q, {"username": self._username, "password": self._password}
        raise CredentialsRequired("Exberry needs api_key/secret, token or username/password")

    async def _step_resume(self, conn: Conn) -> None:
        # The list changes while a frame is written: a stream closed meanwhile leaves it,
        # one entered meanwhile joins it. Each still live is opened once.
        opened: set[ExberryStream[Any]] = set()
        while (stream := next((s for s in self._live if s not in opened), None)) is not None:
            opened.add(stream)
            await conn.send(self._register(conn, stream, stream.resume_request()))

    # -- requests -------------------------------------------------------------------------

    async def _call_on(
        self, conn: Conn, q: str, d: Mapping[str, Any], item_type: Any, many: bool,
        timeout: float | None,
    ) -> Any:  # fmt: skip
        prepare = conn.protocol.prepare_request
        return await conn.call(timeout, False, (), prepare, q, dict(d), item_type, many)

    async def _not_ready(self, what: str) -> NoReturn:
        # After a loop turn: see refuse_after_a_turn. (Using the client from another event
        # loop is refused by the connection, or here.)
        await refuse_after_a_turn(self._supervisor.refusal(what))

    async def request(
        self,
        q: str,
        d: Mapping[str, Any] | None = None,
        *,
        item_type: Any = Any,
        many: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Any short-lived qualifier: send ``d``, wait for the stream's end.

        Returns the one ``d`` the server sent, decoded into ``item_type`` (``None`` if it
        sent none), or with ``many`` the list of every ``d``.

        Raises:
            ExberryError: the stream ended with ``sig: 2`` (typed by ``errorCode``).
            RequestTimeout, ConnectionLost, OrderOutcomeUnknown: as for Deribit calls.
        """
        q = _check_q_d(q, d)
        if type(many) is not bool:
            raise ClientError(f"many must be a bool, not {many!r}")
        if timeout is not None:
            timeout = check_timeout(timeout)
        conn = self._supervisor.ready_connection or await self._not_ready(q)
        return await self._call_on(conn, q, d or {}, item_type, many, timeout)

    def stream(
        self,
        q: str,
        d: Mapping[str, Any] | None = None,
        *,
        item_type: Any = Any,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[Any]:
        """Any long-lived qualifier; enter the result to open it (see the README)."""
        q = _check_q_d(q, d)
        if self.state is ConnectionState.CLOSED:
            raise ClientClosed("cannot open a stream: the client is closed")
        size = self.default_maxsize if maxsize is None else check_maxsize(maxsize)
        return ExberryStream(self, q, dict(d or {}), item_type, policy, size, callback, on_error)

    async def _open_stream(self, stream: ExberryStream[Any], d: dict[str, Any]) -> None:
        conn = self._supervisor.ready_connection
        if conn is not None:
            frame = self._register(conn, stream, d)
            self._live.append(stream)
            try:
                # Written before anything the caller sends next: a place_order right after
                # entering the block must not overtake the stream that should see its events.
                await conn.send(frame)
                return
            except ConnectionLost:
                if self.state is not ConnectionState.RECONNECTING:
                    self._forget(stream, conn)
                    raise
                # The socket went, and the stream with it: the reconnect opens it again.
            except BaseException:
                self._forget(stream, conn)
                raise
        elif self.state is ConnectionState.RECONNECTING:
            self._live.append(stream)
        else:
            await self._not_ready(stream.q)
        # The reconnect's resume step opens every live stream on the new socket, this one
        # with them: wait for it as long as for a reply.
        try:
            await self._supervisor.wait_ready(self.timeout)
        except BaseException as exc:
            self._forget(stream, self._supervisor.connection)
            if isinstance(exc, NotReadyError):
                raise ConnectionLost(
                    f"{stream.q} not opened: not reconnected within {self.timeout:g} s"
                ) from None
            raise

    def _forget(self, stream: ExberryStream[Any], conn: Conn | None) -> None:
        """A stream whose opening failed: not started, so no block will close it. Forget it
        here, or every reconnect would resume it for nobody; a write cut short by a
        cancellation may have reached the server: ``conn``'s writer asks it to end it."""
        if stream in self._live:
            self._live.remove(stream)
        if conn is not None and stream.sid is not None:
            close = conn.protocol.close_stream(stream.sid, stream)
            if close is not None:
                _send_soon(conn, close)

    def _register(self, conn: Conn, stream: ExberryStream[Any], d: dict[str, Any]) -> bytes:
        sid, frame = conn.protocol.open_stream(stream.q, d, stream)
        stream.opening(sid)
        return frame

    async def _close_stream(self, stream: ExberryStream[Any]) -> None:
        if stream in self._live:
            self._live.remove(stream)
        # The current connection, ready or not: a reconnect may have resumed the stream
        # on it already (``close_stream`` sends nothing for a sid it does not hold).
        conn = self._supervisor.connection
        if conn is None or stream.sid is None:
            return
        frame = conn.protocol.close_stream(stream.sid, stream)
        if frame is not None:
            with contextlib.suppress(ConnectionLost):  # the socket went: the stream with it
                await conn.send(frame)

    def _reopen(
        self, conn: Conn, stream: ExberryStream[Any], request: Callable[[], dict[str, Any]]
    ) -> None:
        """Re-open ``stream`` on ``conn``, unless it was closed meanwhile or ``conn`` is gone
        (a reconnect's resume step opens it then). ``conn`` may still be establishing: the
        server can end a stream the resume step opened while the step writes the next.
        Called from the read loop or a timer, which must not await a write."""
        if stream in self._live and conn is self._supervisor.connection and not conn.closed:
            _send_soon(conn, self._register(conn, stream, request()))

    def _on_event(self, event: object) -> None:
        if type(event) is StreamClosed:
            stream = event.route
            if stream not in self._live:
                return
            error = event.error
            conn = self._supervisor.connection  # the one reading this event, ready or not
            request: Callable[[], dict[str, Any]] | None = None
            if isinstance(error, StreamDisconnected) or (error is None and stream.resumable):
                request = stream.resume_request  # the server ended a long-lived stream
            elif isinstance(error, TrackingNumberError):
                request = stream.restart_live
            if conn is not None and request is not None:
                delay = stream.reopen_delay(self._supervisor.policy)
                if delay == 0.0:
                    self._reopen(conn, stream, request)
                    return
                if delay is not None:
                    stream.reopen_after(delay, lambda: self._reopen(conn, stream, request))
                    return
            self._live.remove(stream)
            stream.fail(error or ConnectionLost(f"{stream.q} ended by the server"))

    # -- trading (short-lived) ------------------------------------------------------------

    async def place_order(
        self,
        *,
        instrument: str,
        side: Side,
        quantity: float | Decimal,
        mpOrderId: int,
        orderType: OrderType = "Limit",
        price: float | Decimal | None = None,
        stopPrice: float | Decimal | None = None,
        timeInForce: TimeInForce | None = None,
        expiryDate: int | dt.datetime | None = None,
        expiryDay: str | dt.date | None = None,
        displayMethod: DisplayMethod | None = None,
        displayQuantity: float | Decimal | None = None,
        displayLowQuantity: float | Decimal | None = None,
        displayHighQuantity: float | Decimal | None = None,
        accountType: Literal["Client", "House"] | None = None,
        parties: Sequence[Party | Mapping[str, Any]] | None = None,
        minQuantity: float | Decimal | None = None,
        stpAction: StpAction | None = None,
        metadata: str | None = None,
        timeout: float | None = None,
    ) -> PlaceOrderResult:
        """``v1/exchange.market/placeOrder``. ``mpOrderId`` is the idempotency key: a lost
        reply raises ``OrderOutcomeUnknown`` (``params["mpOrderId"]``); once ready, sending
        the order again with the same ``mpOrderId`` is safe (Exberry refuses a copy of an
        order it took with 1002: then look it up with :meth:`mass_order_status` or
        :meth:`mp_orders`; see the README).
        Without a ``timeInForce``, orders that trade at market (``Market``, ``Stop``,
        ``MIT``) are ``IOC`` and the others ``GTC``: the ones Exberry takes for them. A
        ``GTD`` order expires at ``expiryDate`` (epoch seconds or an aware ``datetime``) or
        at the close of ``expiryDay`` (``YYYY-MM-DD`` or a ``date``)."""
        timeInForce = _order_terms(orderType, price, timeInForce)
        if orderType in ("Stop", "StopLimit", "MIT", "LIT") and stopPrice is None:
            raise ClientError(f"a {orderType} order needs stopPrice")
        if timeInForce == "GTD" and (expiryDate is None) == (expiryDay is None):
            raise ClientError("timeInForce GTD needs exactly one of expiryDate, expiryDay")
        if type(mpOrderId) is not int:
            raise ClientError(f"mpOrderId must be an int, not {mpOrderId!r}")
        d = _expiry(_members(call_arguments()))
        q = f"{MARKET}/placeOrder"
        return await self._request(q, d, PlaceOrderResult, timeout)

    async def cancel_order(
        self,
        *,
        instrument: str,
        orderId: int | None = None,
        mpOrderId: int | None = None,
        timeout: float | None = None,
    ) -> OrderIdResult:
        """``v1/exchange.market/cancelOrder`` by ``orderId`` or ``mpOrderId``, never both."""
        _exactly_one("cancel_order", orderId=orderId, mpOrderId=mpOrderId)
        return await self._request(
            f"{MARKET}/cancelOrder", _members(call_arguments()), OrderIdResult, timeout
        )

    async def replace_order(
        self,
        *,
        orderId: int,
        instrument: str,
        quantity: float | Decimal,
        price: float | Decimal | None = None,
        timeInForce: TimeInForce | None = None,
        expiryDate: int | dt.datetime | None = None,
        expiryDay: str | dt.date | None = None,
        stopPrice: float | Decimal | None = None,
        minQuantity: float | Decimal | None = None,
        stpAction: StpAction | None = None,
        displayQuantity: float | Decimal | None = None,
        displayLowQuantity: float | Decimal | None = None,
        displayHighQuantity: float | Decimal | None = None,
        metadata: str | None = None,
        timeout: float | None = None,
    ) -> OrderIdResult:
        """``v1/exchange.market/replaceOrder`` (quantity up or down; a new price loses
        priority). ``price`` may be left out only when ``quantity`` is below the open
        quantity (Exberry's rule); the display quantities are those of the order's
        ``displayMethod``."""
        q = f"{MARKET}/replaceOrder"
        d = _expiry(_members(call_arguments()))
        return await self._request(q, d, OrderIdResult, timeout)

    async def modify_order(
        self,
        *,
        orderId: int,
        instrument: str,
        quantity: float | Decimal,
        displayQuantity: float | Decimal | None = None,
        timeout: float | None = None,
    ) -> OrderIdResult:
        """``v1/exchange.market/modifyOrder``: deprecated by Exberry since v1.51.0 (warns);
        use :meth:`replace_order`."""
        warnings.warn(
            "modifyOrder is deprecated by Exberry (v1.51.0); use replace_order",
            DeprecationWarning,
            stacklevel=2,
        )
        q = f"{MARKET}/modifyOrder"
        return await self._request(q, _members(call_arguments()), OrderIdResult, timeout)

    async def mass_cancel(
        self,
        *,
        instrument: str | None = None,
        targetScope: Literal["Instrument", "All"] | None = None,
        targetEntities: Sequence[TargetEntity] | None = None,
        targetParties: Sequence[Party] | None = None,
        timeout: float | None = None,
    ) -> MassCancelResult:
        """``v1/exchange.market/massCancel``: counters per requested entity kind."""
        if targetScope in (None, "Instrument") and instrument is None:
            raise ClientError("mass_cancel of an instrument scope needs instrument")
        q = f"{MARKET}/massCancel"
        return await self._request(q, _members(call_arguments()), MassCancelResult, timeout)

    async def order_book_state(self, *, timeout: float | None = None) -> OrderBookState:
        """``v2/exchange.market/orderBookState``: the book as resting orders, instrument
        states, open RFQs, and the tracking number to start :meth:`order_book_depth`
        from."""
        q = "v2/exchange.market/orderBookState"
        items = await self._request_many(q, BookStateItem, timeout)
        last = next((i.lastTrackingNumber for i in items if i.lastTrackingNumber is not None), None)
        return OrderBookState(
            orders=[i for i in items if i.messageType == "Order"],
            instruments=[i for i in items if (i.messageType or "").lower() == "instrumentstatus"],
            last_tracking_number=last,
            rfqs=[i for i in items if i.messageType == "RFQ"],
        )

    async def mass_order_status(
        self, *, timeout: float | None = None
    ) -> tuple[list[OrderStatus], int | None]:
        """``v1/exchange.market/massOrderStatus``: every active or suspended order (and
        open RFQ, quote and alleged trade: ``messageType`` says which), and the tracking
        number to start :meth:`execution_reports` from."""
        items = await self._request_many(f"{MARKET}/massOrderStatus", OrderStatus, timeout)
        last = next((i.lastTrackingNumber for i in items if i.lastTrackingNumber is not None), None)
        return [i for i in items if i.lastTrackingNumber is None], last

    async def create_trade_report(
        self,
        *,
        instrument: str,
        type: str,
        flow: TradeReportFlow,
        externalTradeId: int,
        price: float | Decimal,
        quantity: float | Decimal,
        buy: TradeReportSide | Mapping[str, Any],
        sell: TradeReportSide | Mapping[str, Any],
        timeout: float | None = None,
    ) -> TradeIdResult:
        """``v1/exchange.market/createTradeReport``: report an off-book trade of ``type``
        (``Block``, ``EFRP``, ``EFP``... as the venue defines them) between ``buy`` and
        ``sell`` (each a :class:`TradeReportSide` or mapping with ``mpName``, and
        optionally ``accountType`` and ``parties``). ``LockedIn`` and
        ``ThirdPartyLockedIn`` return the ``tradeId``; ``AllegedSystemMatch`` the
        ``allegedTradeId`` of a report that waits for the counterparty's. A lost reply
        raises ``OrderOutcomeUnknown`` keyed on ``externalTradeId``."""
        check_choice("flow", flow, get_args(TradeReportFlow))
        check_int("externalTradeId", externalTradeId, 0)
        if not isinstance(type, str) or not type:
            raise ClientError(f"type must be a non-empty str, not {type!r}")
        d = _members(call_arguments())
        d["buy"], d["sell"] = _report_side("buy", buy), _report_side("sell", sell)
        q = f"{MARKET}/createTradeReport"
        return await self._request(q, d, TradeIdResult, timeout)

    async def cancel_alleged_trade_report(
        self, *, instrument: str, allegedTradeId: int, timeout: float | None = None
    ) -> TradeIdResult:
        """``v1/exchange.market/cancelAllegedTradeReport``: withdraw an alleged trade that
        the counterparty has not matched yet."""
        q = f"{MARKET}/cancelAllegedTradeReport"
        return await self._request(q, _members(call_arguments()), TradeIdResult, timeout)

    # -- request for quotes ----------------------------------------------------------------

    async def submit_rfq(
        self,
        *,
        instrument: str,
        side: Side,
        quantity: float | Decimal,
        mpRfqId: int,
        expireTime: int | dt.datetime | None = None,
        accountType: Literal["Client", "House"] | None = None,
        parties: Sequence[Party | Mapping[str, Any]] | None = None,
        timeout: float | None = None,
    ) -> RfqResult:
        """``v1/exchange.market/submitRFQ``: ask every participant for quotes to ``side``
        ``quantity``; ``expireTime`` (epoch seconds, or an aware ``datetime``) defaults to
        the venue's longest. Dealers see it on :meth:`order_book_depth`; their quotes
        arrive on :meth:`execution_reports` (``QuoteCreated``). ``mpRfqId`` is the
        idempotency key: a lost reply raises ``OrderOutcomeUnknown`` keyed on it."""
        check_int("mpRfqId", mpRfqId, 1)
        if expireTime is not None:
            expireTime = _epoch_seconds("expireTime", expireTime, 1)
        d = _members(call_arguments())
        return await self._request(f"{MARKET}/submitRFQ", d, RfqResult, timeout)

    async def cancel_rfq(
        self,
        *,
        instrument: str,
        rfqId: int | None = None,
        mpRfqId: int | None = None,
        timeout: float | None = None,
    ) -> RfqResult:
        """``v1/exchange.market/cancelRFQ`` by ``rfqId`` or ``mpRfqId``, never both: its
        open quotes are cancelled with it."""
        _exactly_one("cancel_rfq", rfqId=rfqId, mpRfqId=mpRfqId)
        q = f"{MARKET}/cancelRFQ"
        return await self._request(q, _members(call_arguments()), RfqResult, timeout)

    async def accept_quote(
        self,
        *,
        instrument: str,
        quoteId: int,
        side: Side,
        price: float | Decimal,
        quantity: float | Decimal,
        timeout: float | None = None,
    ) -> TradeIdResult:
        """``v1/exchange.market/acceptQuote``: trade with a quote on one's own RFQ.
        ``side`` is the initiator's (``Buy`` accepts a ``Sell`` quote); ``price`` and
        ``quantity`` must be the quote's (the venue refuses a quote that changed). The
        RFQ ends: its other quotes are cancelled. Returns the ``tradeId``."""
        check_choice("side", side, get_args(Side))
        q = f"{MARKET}/acceptQuote"
        return await self._request(q, _members(call_arguments()), TradeIdResult, timeout)

    async def submit_quote(
        self,
        *,
        instrument: str,
        rfqId: int,
        mpQuoteId: int,
        quoteDetails: Sequence[QuoteDetail | Mapping[str, Any]],
        accountType: Literal["Client", "House"] | None = None,
        parties: Sequence[Party | Mapping[str, Any]] | None = None,
        timeout: float | None = None,
    ) -> QuoteResult:
        """``v1/exchange.market/submitQuote``: answer RFQ ``rfqId`` with ``quoteDetails``
        (each a :class:`QuoteDetail` or mapping of ``side``, ``price``, ``quantity``;
        Exberry takes one, on the side opposite the RFQ's, for the RFQ's whole
        quantity). ``mpQuoteId`` is the idempotency key, as ``mpOrderId`` is for
        orders."""
        check_int("mpQuoteId", mpQuoteId, 1)
        _check_entries("quoteDetails", quoteDetails, QuoteDetail)
        q = f"{MARKET}/submitQuote"
        return await self._request(q, _members(call_arguments()), QuoteResult, timeout)

    async def cancel_quote(
        self,
        *,
        instrument: str,
        quoteId: int | None = None,
        mpQuoteId: int | None = None,
        timeout: float | None = None,
    ) -> QuoteResult:
        """``v1/exchange.market/cancelQuote`` by ``quoteId`` or ``mpQuoteId``, never
        both."""
        _exactly_one("cancel_quote", quoteId=quoteId, mpQuoteId=mpQuoteId)
        q = f"{MARKET}/cancelQuote"
        return await self._request(q, _members(call_arguments()), QuoteResult, timeout)

    # -- ledger ----------------------------------------------------------------------------

    def account_balance(
        self,
        *,
        accountId: int | str,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[AccountBalance]:
        """``v1/exchange.ledger/accountBalance``: the balances of trading account
        ``accountId``'s ledger account, then again at each change (a stream, not a
        request: the venue never closes it). Merge by ``assetId``: whether an update
        lists every asset or only those that changed is not documented."""
        if isinstance(accountId, bool) or not isinstance(accountId, int | str):
            raise ClientError(f"accountId must be an int or its text, not {accountId!r}")
        q = f"{LEDGER}/accountBalance"
        return self.stream(q, {"accountId": accountId}, item_type=AccountBalance,
                           policy=policy, maxsize=maxsize, callback=callback,
                           on_error=on_error)  # fmt: skip

    async def create_transaction_request(
        self,
        *,
        type: TransactionType,
        ledgerAccountId: int | str,
        assetId: int | str,
        amount: float | Decimal | str,
        description: str | None = None,
        instructionDetailsId: str | None = None,
        assetDetailsId: str | None = None,
        timeout: float | None = None,
    ) -> TransferResult:
        """``v1/exchange.ledger/createTransactionRequest``: ask the venue's operators to
        deposit or withdraw ``amount`` of ``assetId`` (ids and amount as numbers or, as the
        documentation's samples send them, text). Returns the request's ``id`` and
        ``status`` ``Instructed``; it is ``InProcess`` once approved, then ``Settled`` (or
        ``Cancelled``). Attachments (``instructionDetailsId``, ``assetDetailsId``) are
        uploaded over the venue's REST API; which ones a request needs depends on the
        asset (cash or not) and the type. A lost reply raises ``OrderOutcomeUnknown``: the
        request has no key of yours, so look before re-sending."""
        check_choice("type", type, get_args(TransactionType))
        if not _is_amount(amount):
            raise ClientError(f"amount must be a number or its text, not {amount!r}")
        q = f"{LEDGER}/createTransactionRequest"
        return await self._request(q, _members(call_arguments()), TransferResult, timeout)

    async def cancel_transaction_request(
        self, *, id: int | str, timeout: float | None = None
    ) -> None:
        """``v1/exchange.ledger/cancelTransactionRequest``: withdraw one's request while
        it is ``Instructed`` (the venue answers with no body)."""
        q = f"{LEDGER}/cancelTransactionRequest"
        await self._request_many(q, TransferResult, timeout, _members(call_arguments()))

    async def create_alleged_transfer(
        self,
        *,
        type: TransferType,
        ledgerAccountId: int | str,
        counterpartyMpId: MpId,
        externalId: str,
        sendingAssets: Sequence[TransferAsset | Mapping[str, Any]] | None = None,
        receivingAssets: Sequence[TransferAsset | Mapping[str, Any]] | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> TransferResult:
        """``v1/exchange.ledger/createAllegedTransfer``: report one's side of a transfer
        with participant ``counterpartyMpId`` under the ``externalId`` you agreed on.
        ``sendingAssets`` leave ``ledgerAccountId``, ``receivingAssets`` arrive (each a
        :class:`TransferAsset` or mapping of ``assetId`` and ``amount``, numbers or their
        text); ``FoP`` only sends, ``FoP_Receive`` only receives. Returns the
        ``allegedTransferId`` and ``status``: ``Settled`` if the counterparty had already
        reported the mirror image (the matching type, the same ``externalId``, the
        assets the other way round), else ``Instructed`` until it does. ``description``
        is not in the request table but in the reports: sent when given. A lost reply
        raises ``OrderOutcomeUnknown`` with the ``externalId``."""
        check_choice("type", type, get_args(TransferType))
        if not isinstance(externalId, str) or not externalId:
            raise ClientError(f"externalId must be non-empty text, not {externalId!r}")
        _check_transfer_assets("sendingAssets", sendingAssets)
        _check_transfer_assets("receivingAssets", receivingAssets)
        q = f"{LEDGER}/createAllegedTransfer"
        return await self._request(q, _members(call_arguments()), TransferResult, timeout)

    async def cancel_alleged_transfer(
        self, *, allegedTransferId: int | str, timeout: float | None = None
    ) -> None:
        """``v1/exchange.ledger/cancelAllegedTransfer``: withdraw one's alleged transfer
        while it is ``Instructed`` (the venue answers with no body)."""
        q = f"{LEDGER}/cancelAllegedTransfer"
        await self._request_many(q, TransferResult, timeout, _members(call_arguments()))

    async def create_cash_transfer(
        self,
        *,
        senderAccountId: int | str,
        senderAssets: Sequence[TransferAsset | Mapping[str, Any]],
        receiverAccountId: int | str,
        description: str | None = None,
        timeout: float | None = None,
    ) -> CashTransferResult:
        """``v1/exchange.ledger/createCashTransfer`` (``type`` ``Cash``): move
        ``senderAssets`` (each a :class:`TransferAsset` or mapping of ``assetId`` and
        ``amount``) from ledger account ``senderAccountId`` to ``receiverAccountId`` at
        once. Returns both accounts and the ``transactionIds`` of the ledger
        transactions it made. A lost reply raises ``OrderOutcomeUnknown``: the transfer
        carries no id of yours, so look for it with :meth:`mp_transactions` before
        re-sending."""
        _check_transfer_assets("senderAssets", senderAssets, required=True)
        q = f"{LEDGER}/createCashTransfer"
        d = {"type": "Cash", **_members(call_arguments())}
        return await self._request(q, d, CashTransferResult, timeout)

    # -- reporting (the reporting gateway's socket) ----------------------------------------

    async def mp_orders(
        self,
        *,
        dateFrom: str | dt.datetime | None = None,
        dateTo: str | dt.datetime | None = None,
        statuses: Sequence[ReportedStatus] | None = None,
        instruments: list[str] | None = None,
        mpId: MpId | None = None,
        accountIds: list[str] | None = None,
        orderId: int | None = None,
        mpOrderId: int | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> OrdersPage:
        """``v2/exchange.reporting/mp/orders``: one page of orders (``limit`` <= 100,
        default 25); ``count`` is the total. ``dateFrom``/``dateTo`` bound their creation:
        ``YYYY-MM-DDThh:mm:ss[.SSS]`` GMT, or an aware ``datetime``. ``orderBy``:
        ``{"field": "lastEventTimestamp" | "createdAt", "direction": "Asc" | "Desc"}``."""
        dateFrom, dateTo = _report_page(dateFrom, dateTo, orderBy, limit, offset, _BY_EVENT)
        _check_choices("statuses", statuses, ReportedStatus)
        _check_names("instruments", instruments)
        if (orderId is not None or mpOrderId is not None) and len(instruments or ()) != 1:
            raise ClientError("orderId/mpOrderId filters need exactly one instrument")
        q = "v2/exchange.reporting/mp/orders"
        return await self._request(q, _members(call_arguments()), OrdersPage, timeout)

    async def mp_trades(
        self,
        *,
        dateFrom: str | dt.datetime | None = None,
        dateTo: str | dt.datetime | None = None,
        instruments: list[str] | None = None,
        mpId: MpId | None = None,
        accountIds: list[str] | None = None,
        tradeId: int | None = None,
        actionTypes: Sequence[TradeActionType] | None = None,
        multiLegReportingTypes: Sequence[MultiLegReportingType] | None = None,
        tradeDate: str | dt.date | None = None,
        orderId: int | None = None,
        mpOrderId: int | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> TradesPage:
        """``v3/exchange.reporting/mp/trades``: one page of trade records (two per trade);
        dates as for :meth:`mp_orders`, ``tradeDate`` ``YYYY-MM-DD``, ``orderBy``
        ``{"field": "timestamp", "direction": "Asc" | "Desc"}``."""
        dateFrom, dateTo = _report_page(dateFrom, dateTo, orderBy, limit, offset, ("timestamp",))
        _check_choices("actionTypes", actionTypes, TradeActionType)
        _check_choices("multiLegReportingTypes", multiLegReportingTypes, MultiLegReportingType)
        _check_names("instruments", instruments)
        tradeDate = _day("tradeDate", tradeDate)
        q = "v3/exchange.reporting/mp/trades"
        return await self._request(q, _members(call_arguments()), TradesPage, timeout)

    async def mp_alleged_trades(
        self,
        *,
        dateFrom: str | dt.datetime | None = None,
        dateTo: str | dt.datetime | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> AllegedTradesPage:
        """``v1/exchange.reporting/mp/allegedTrades``: one page of the participant's
        alleged trades, dates and ``orderBy`` as for :meth:`mp_orders`."""
        dateFrom, dateTo = _report_page(dateFrom, dateTo, orderBy, limit, offset, _BY_EVENT)
        q = "v1/exchange.reporting/mp/allegedTrades"
        return await self._request(q, _members(call_arguments()), AllegedTradesPage, timeout)

    async def mp_rfqs(
        self,
        *,
        dateFrom: str | dt.datetime | None = None,
        dateTo: str | dt.datetime | None = None,
        status: RfqStatus | None = None,
        instruments: list[str] | None = None,
        mpId: MpId | None = None,
        rfqId: int | None = None,
        accountIds: list[str] | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> RfqsPage:
        """``v1/exchange.reporting/mp/rfqs``: one page of this participant's RFQs, dates
        and ``orderBy`` as for :meth:`mp_orders`; ``rfqId`` needs ``instruments``."""
        dateFrom, dateTo = _report_page(dateFrom, dateTo, orderBy, limit, offset, _BY_CREATION)
        _check_optional("status", status, RfqStatus)
        _check_names("instruments", instruments)
        if rfqId is not None and not instruments:
            raise ClientError("the rfqId filter needs instruments")
        q = "v1/exchange.reporting/mp/rfqs"
        return await self._request(q, _members(call_arguments()), RfqsPage, timeout)

    async def mp_quotes(
        self,
        *,
        dateFrom: str | dt.datetime | None = None,
        dateTo: str | dt.datetime | None = None,
        status: QuoteStatus | None = None,
        instruments: list[str] | None = None,
        mpId: MpId | None = None,
        rfqId: int | None = None,
        quoteId: int | None = None,
        accountIds: list[str] | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> QuotesPage:
        """``v1/exchange.reporting/mp/quotes``: one page of this participant's quotes
        (``side``, ``price``, ``quantity`` of their first detail), dates and ``orderBy``
        as for :meth:`mp_orders`; ``rfqId`` and ``quoteId`` need ``instruments``."""
        dateFrom, dateTo = _report_page(dateFrom, dateTo, orderBy, limit, offset, _BY_CREATION)
        _check_optional("status", status, QuoteStatus)
        _check_names("instruments", instruments)
        if (rfqId is not None or quoteId is not None) and not instruments:
            raise ClientError("the rfqId and quoteId filters need instruments")
        q = "v1/exchange.reporting/mp/quotes"
        return await self._request(q, _members(call_arguments()), QuotesPage, timeout)

    async def mp_transaction_requests(
        self,
        *,
        dateFrom: str | dt.datetime | None = None,
        dateTo: str | dt.datetime | None = None,
        type: TransactionType | None = None,
        statuses: Sequence[TransactionRequestStatus] | None = None,
        assetId: int | None = None,
        mpId: MpId | None = None,
        ledgerAccountId: int | None = None,
        id: int | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> TransactionRequestsPage:
        """``v1/exchange.reporting/mp/transactionRequests``: one page of this
        participant's deposit and withdrawal requests, newest first; dates bound their
        creation and ``orderBy`` takes ``createdAt`` or ``lastEventTimestamp``, as for
        :meth:`mp_orders`."""
        dateFrom, dateTo = _report_page(dateFrom, dateTo, orderBy, limit, offset, _BY_CREATION)
        _check_optional("type", type, TransactionType)
        _check_choices("statuses", statuses, TransactionRequestStatus)
        q = "v1/exchange.reporting/mp/transactionRequests"
        d = _members(call_arguments())
        return await self._request(q, d, TransactionRequestsPage, timeout)

    async def mp_alleged_transfers(
        self,
        *,
        dateFrom: str | dt.datetime | None = None,
        dateTo: str | dt.datetime | None = None,
        type: TransferType | None = None,
        statuses: Sequence[AllegedTransferStatus] | None = None,
        assetId: int | None = None,
        mpId: MpId | None = None,
        ledgerAccountId: int | None = None,
        allegedTransferId: int | None = None,
        externalId: int | str | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> AllegedTransfersPage:
        """``v1/exchange.reporting/mp/allegedTransfers``: one page of this participant's
        alleged transfers, newest first; ``assetId`` matches sending or receiving assets,
        ``mpId`` either side; dates and ``orderBy`` as for
        :meth:`mp_transaction_requests`."""
        dateFrom, dateTo = _report_page(dateFrom, dateTo, orderBy, limit, offset, _BY_CREATION)
        _check_optional("type", type, TransferType)
        _check_choices("statuses", statuses, AllegedTransferStatus)
        q = "v1/exchange.reporting/mp/allegedTransfers"
        d = _members(call_arguments())
        return await self._request(q, d, AllegedTransfersPage, timeout)

    async def mp_transactions(
        self,
        *,
        dateFrom: str | dt.datetime | None = None,
        dateTo: str | dt.datetime | None = None,
        assetId: int | None = None,
        mpId: MpId | None = None,
        ledgerAccountId: int | None = None,
        transactionId: int | None = None,
        transactionTypes: Sequence[LedgerTransactionType] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> TransactionsPage:
        """``v1/exchange.reporting/mp/transactions``: one page of ledger movements,
        newest first (a settled transfer's share one ``linkId``); dates bound their time,
        as for :meth:`mp_orders`. ``ledgerAccountId`` is sent under both its name and
        the documentation's spelling (``ledgerAaccountId``)."""
        dateFrom, dateTo = _report_page(dateFrom, dateTo, None, limit, offset, ())
        _check_choices("transactionTypes", transactionTypes, LedgerTransactionType)
        q = "v1/exchange.reporting/mp/transactions"
        return await self._request(q, _both_spellings(call_arguments()), TransactionsPage, timeout)

    async def mp_holdings_summary(
        self,
        *,
        groupBy: HoldingsGroupBy | None = None,
        eodDateFrom: str | dt.date | None = None,
        eodDateTo: str | dt.date | None = None,
        mpId: MpId | None = None,
        ledgerAccountId: int | None = None,
        assetId: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> HoldingsPage:
        """``v1/exchange.reporting/mp/holdingsSummary``: one page of end-of-day holdings
        per day and asset, summed over the participant's accounts (``groupBy="MP"``
        adds ``mpName``) or per account (``"Account"``); days from ``eodDateFrom``
        (included) to ``eodDateTo`` (excluded), ``YYYY-MM-DD`` or a ``date``.
        ``ledgerAccountId`` is sent under both its name and the documentation's
        spelling (``ledgerAaccountId``)."""
        _check_optional("groupBy", groupBy, HoldingsGroupBy)
        eodDateFrom, eodDateTo = _eod_range(eodDateFrom, eodDateTo, allow_equal=True)
        _check_page(limit, offset)
        q = "v1/exchange.reporting/mp/holdingsSummary"
        return await self._request(q, _both_spellings(call_arguments()), HoldingsPage, timeout)

    async def mp_fees(
        self,
        *,
        dateFrom: str | dt.date | None = None,
        dateTo: str | dt.date | None = None,
        ledgerAccountId: int | None = None,
        groupBy: str | None = None,
        types: list[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> FeesPage:
        """``v1/exchange.reporting/mp/fees`` (v1.54): one page of the fees charged to
        the participant's ledger accounts, by day (``dateFrom``/``dateTo``: days,
        ``YYYY-MM-DD`` or a ``date``, as the sample sends them). The documentation has
        only samples of it: ``groupBy`` ``"Type"``, ``types`` among ``Trading``,
        ``Transaction``, ``Storage`` and ``Manual``; other values are passed on as
        given."""
        dateFrom, dateTo = _day("dateFrom", dateFrom), _day("dateTo", dateTo)
        _check_names("types", types)
        _check_page(limit, offset)
        q = "v1/exchange.reporting/mp/fees"
        return await self._request(q, _members(call_arguments()), FeesPage, timeout)

    async def mp_positions(
        self,
        *,
        reportType: PositionReportType,
        eodDateFrom: str | dt.date | None = None,
        eodDateTo: str | dt.date | None = None,
        mpId: MpId | None = None,
        positionAccountId: int | None = None,
        instrument: str | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> PositionsPage:
        """``v1/exchange.reporting/mp/positions`` (v1.56, where the venue runs the
        positions module): one page of positions, newest first (``orderBy`` takes
        ``lastEventTimestamp``): end-of-day ones from ``eodDateFrom`` (included) to
        ``eodDateTo`` (excluded), and the current ones unless ``eodDateTo`` is given."""
        check_choice("reportType", reportType, get_args(PositionReportType))
        eodDateFrom, eodDateTo = _eod_range(eodDateFrom, eodDateTo, allow_equal=False)
        _report_page(None, None, orderBy, limit, offset, ("lastEventTimestamp",))
        q = "v1/exchange.reporting/mp/positions"
        return await self._request(q, _members(call_arguments()), PositionsPage, timeout)

    async def _request(
        self, q: str, d: dict[str, Any], item_type: type[T], timeout: float | None
    ) -> T:
        if timeout is not None:
            timeout = check_timeout(timeout)
        conn = self._supervisor.ready_connection or await self._not_ready(q)
        result: T = await self._call_on(conn, q, d, item_type, False, timeout)
        return result

    async def _request_many(
        self, q: str, item_type: type[T], timeout: float | None, d: dict[str, Any] | None = None
    ) -> list[T]:
        if timeout is not None:
            timeout = check_timeout(timeout)
        conn = self._supervisor.ready_connection or await self._not_ready(q)
        result: list[T] = await self._call_on(conn, q, d or {}, item_type, True, timeout)
        return result

    # -- long-lived streams ---------------------------------------------------------------

    def order_book_depth(
        self,
        *,
        trackingNumber: int | None = None,
        policy: Policy = "drop_oldest",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[BookEvent]:
        """``v2/exchange.market/orderBookDepth``: per-order book events, a tagged union on
        ``messageType`` (``trackingNumber``: 0 = from the first event, absent = from the
        next, N = after N)."""
        return self._typed_stream(
            "v2/exchange.market/orderBookDepth", trackingNumber, BookEvent,
            policy, maxsize, callback, on_error,
        )  # fmt: skip

    def execution_reports(
        self,
        *,
        trackingNumber: int | None = None,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[ExecutionReport]:
        """``v1/exchange.market/executionReports``: the lifecycle of this participant's
        orders (never dropped silently: the default policy is ``error``)."""
        return self._typed_stream(
            f"{MARKET}/executionReports", trackingNumber, ExecutionReport,
            policy, maxsize, callback, on_error,
        )  # fmt: skip

    def trades(
        self,
        *,
        trackingNumber: int | None = None,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[Trade]:
        """``v1/exchange.market/trades``: one record per side of each of your trades."""
        return self._typed_stream(
            f"{MARKET}/trades", trackingNumber, Trade, policy, maxsize, callback, on_error
        )

    # -- Market Data API (its own socket) ------------------------------------------------------

    def light_tickers(
        self,
        *,
        symbols: list[str],
        interval: MdInterval = 1000,
        scope: MdScope | None = None,
        policy: Policy = "keep_latest",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[LightTicker]:
        """``v1/exchange.marketdata/lightTickers``; by default only the newest ticker of
        each symbol waits in the queue (``keep_latest``)."""
        _check_names("symbols", symbols, required=True)
        check_choice("interval", interval, get_args(MdInterval))
        _check_optional("scope", scope, MdScope)
        d = _members({"symbols": symbols, "interval": interval, "scope": scope})
        return self._md_stream("lightTickers", d, LightTicker, policy, maxsize, callback, on_error)

    def partial_order_book(
        self,
        *,
        symbol: str,
        levels: MdLevels = 5,
        interval: MdInterval = 1000,
        decimals: int | None = None,
        policy: Policy = "keep_latest",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[PartialOrderBook]:
        """``v1/exchange.marketdata/partialOrderBook``: the top ``levels`` every
        ``interval`` ms, levels as ``[price, quantity, numberOfOrders]``; ``decimals``
        aggregates prices to that many decimals (the simulator: bids down, asks up).

        Raises:
            ClientError: ``levels`` or ``interval`` not one the API lists, or ``decimals``
                not an int >= 0 (before anything is sent).
        """
        check_choice("levels", levels, get_args(MdLevels))
        check_choice("interval", interval, get_args(MdInterval))
        if decimals is not None:
            check_int("decimals", decimals, 0)
        d = _members({"symbol": symbol, "levels": levels, "interval": interval,
                      "decimals": decimals})  # fmt: skip
        return self._md_stream(
            "partialOrderBook", d, PartialOrderBook, policy, maxsize, callback, on_error
        )

    def live_trades(
        self,
        *,
        symbol: str,
        limit: int = 100,
        policy: Policy = "drop_oldest",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[LiveTrade]:
        """``v1/exchange.marketdata/liveTrades``: the last ``limit`` trades (<= 10,000),
        then live ones, each a :class:`LiveTrade` (a frame may carry one positional array
        or a list of them: both are read)."""
        check_int("limit", limit, 1, 10_000)
        size = self.default_maxsize if maxsize is None else check_maxsize(maxsize)
        q = "v1/exchange.marketdata/liveTrades"
        return ExberryStream(
            self, q, {"symbol": symbol, "limit": limit}, list[Any], policy, size,
            callback, on_error, convert=_live_trades,
        )  # fmt: skip

    def instrument_list(
        self,
        *,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[MdInstrument]:
        """``v1/exchange.marketdata/instrumentList``: every instrument (the last of the
        snapshot has ``lastMessage == "Y"``), then live updates."""
        return self._md_stream(
            "instrumentList", {}, MdInstrument, policy, maxsize, callback, on_error
        )

    def instrument_list_with_pagination(
        self,
        *,
        fromSymbol: str | None = None,
        limit: int | None = None,
        calendarId: int | None = None,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[InstrumentListUpdate]:
        """``v1/exchange.marketdata/instrumentListWithPagination``: one page of at most
        ``limit`` instruments after ``fromSymbol`` (exclusive; by symbol, whatever its
        case), optionally of one trading calendar, as one ``snapshot`` item whose
        ``fromSymbol`` starts the next page; then ``update`` items for the page's
        instruments only (none created later)."""
        if fromSymbol is not None and not isinstance(fromSymbol, str):
            raise ClientError(f"fromSymbol must be a symbol, not {fromSymbol!r}")
        if limit is not None:
            check_int("limit", limit, 1)
        if calendarId is not None:
            check_int("calendarId", calendarId, 0)
        d = _members({"fromSymbol": fromSymbol, "limit": limit, "calendarId": calendarId})
        return self._md_stream(
            "instrumentListWithPagination", d, InstrumentListUpdate, policy, maxsize,
            callback, on_error,
        )  # fmt: skip

    def candles(
        self,
        *,
        symbol: str,
        timespan: CandleTimespan = "MINUTE",
        multiplier: int = 1,
        from_: int | dt.date | None = None,
        policy: Policy = "keep_latest",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[Candle]:
        """``v1/exchange.marketdata/candles``: live bars, the current one again as it
        changes (Exberry sends a change at most every 3 seconds, and a bar once more
        when it closes); ``keep_latest`` keeps the newest state of each bar. Without
        ``from_`` only bars changing from now on come; with it, first the bars from
        ``from_`` (Exberry's ``from``: epoch seconds or an aware ``datetime``, or for
        ``DAY`` bars a ``date`` or ``yyyyMMdd`` int). ``multiplier`` and ``timespan`` make
        one of
        :data:`CANDLE_INTERVALS`."""
        _check_candle_interval(multiplier, timespan)
        start = None if from_ is None else _candle_time("from_", from_, timespan)
        d = _members({"symbol": symbol, "timespan": timespan, "multiplier": multiplier,
                      "from": start})  # fmt: skip
        return self._md_stream(
            "candles", d, Candle, policy, maxsize, callback, on_error, key_of=_bar_of
        )

    async def candles_history(
        self,
        *,
        symbol: str,
        from_: int | dt.date,
        to: int | dt.date,
        timespan: CandleTimespan = "MINUTE",
        multiplier: int = 1,
        caAdjustments: bool | None = None,
        timeout: float | None = None,
    ) -> list[Candle]:
        """``v1/exchange.marketdata.history/candles``: the bars between ``from_`` and
        ``to`` (epoch seconds or an aware ``datetime``, or for ``DAY`` bars a ``date`` or
        ``yyyyMMdd`` int); with
        none in that range, Exberry answers the last bar before it. ``caAdjustments``:
        prices adjusted for corporate actions."""
        _check_candle_interval(multiplier, timespan)
        start, end = _candle_time("from_", from_, timespan), _candle_time("to", to, timespan)
        if end <= start:
            raise ClientError("candles_history needs to > from_")
        if caAdjustments is not None and type(caAdjustments) is not bool:
            raise ClientError(f"caAdjustments must be a bool, not {caAdjustments!r}")
        d = _members({"symbol": symbol, "timespan": timespan, "multiplier": multiplier,
                      "from": start, "to": end, "caAdjustments": caAdjustments})  # fmt: skip
        q = "v1/exchange.marketdata.history/candles"
        return await self._request_many(q, Candle, timeout, d)

    async def settlement_prices(
        self, *, symbols: list[str], timeout: float | None = None
    ) -> list[SettlementPrice]:
        """``v1/exchange.marketdata/getSettlementPrices``: the last settlement per symbol."""
        _check_names("symbols", symbols, required=True)
        q = "v1/exchange.marketdata/getSettlementPrices"
        return await self._request_many(q, SettlementPrice, timeout, {"symbols": symbols})

    def tick_size_list(
        self,
        *,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[TickSizeTable]:
        """``v1/exchange.marketdata/tickSizeList``: every tick size table, then updates."""
        return self._md_stream(
            "tickSizeList", {}, TickSizeTable, policy, maxsize, callback, on_error
        )

    def calendar_list(
        self,
        *,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[TradingCalendar]:
        """``v1/exchange.marketdata/calendarList``: every trading calendar, then updates."""
        return self._md_stream(
            "calendarList", {}, TradingCalendar, policy, maxsize, callback, on_error
        )

    def auction_indicative_ep(
        self,
        *,
        symbol: str,
        interval: MdInterval | None = None,
        policy: Policy = "keep_latest",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[AuctionIndicativeEP]:
        """``v1/exchange.marketdata/auctionIndicativeEP``: the indicative auction price."""
        _check_optional("interval", interval, MdInterval)
        d = _members({"symbol": symbol, "interval": interval})
        return self._md_stream(
            "auctionIndicativeEP", d, AuctionIndicativeEP, policy, maxsize, callback, on_error
        )

    async def ping(self, value: int = 1, *, timeout: float | None = None) -> int:
        """``v1/heartbeat/ping``: the Market Data API echoes ``value``."""
        if type(value) is not int:
            raise ClientError(f"ping value must be an int, not {value!r}")
        if timeout is not None:
            timeout = check_timeout(timeout)
        conn = self._supervisor.ready_connection or await self._not_ready("v1/heartbeat/ping")
        prepare = conn.protocol.prepare_request
        result: int = await conn.call(
            timeout, False, (), prepare, "v1/heartbeat/ping", value, int, False
        )
        return result

    def _md_stream(
        self, name: str, d: dict[str, Any], item_type: Any, policy: Policy,
        maxsize: int | None, callback: Callable[[Any], Any] | None,
        on_error: ErrorCallback | None, key_of: Callable[[Any], Any] | None = None,
    ) -> ExberryStream[Any]:  # fmt: skip
        """A Market Data API stream; ``keep_latest`` keeps the newest item per symbol
        unless ``key_of`` says what a newer item replaces."""
        size = self.default_maxsize if maxsize is None else check_maxsize(maxsize)
        q = f"v1/exchange.marketdata/{name}"
        return ExberryStream(
            self, q, d, item_type, policy, size, callback, on_error, key_of=key_of or _symbol_of
        )

    # -- Nebula Trading App (broker API; a client made with broker_token) ------------------

    async def broker_place_order(
        self,
        *,
        instrument: str,
        side: Side,
        quantity: float | Decimal,
        orderType: Literal["Limit", "Market"] = "Limit",
        price: float | Decimal | None = None,
        timeInForce: TimeInForce | None = None,
        timeout: float | None = None,
    ) -> None:
        """``v1/broker.oms/placeOrder``. The broker acknowledges with nothing more: the
        order's id arrives on :meth:`broker_orders` (``Added``), and so does a refusal by
        the exchange (``Rejected`` with ``errorCode``); a malformed request raises
        ``OrderValidationError`` (100). The order carries no id of yours: a lost reply
        raises ``OrderOutcomeUnknown``, and only the orders stream or
        :meth:`broker_orders_history` can tell whether it was placed.
        Without a ``timeInForce``, ``Market`` orders are ``IOC`` and the others ``GTC``."""
        timeInForce = _order_terms(orderType, price, timeInForce)
        await self._request(f"{BROKER}.oms/placeOrder", _members(call_arguments()), Any, timeout)

    async def broker_cancel_order(
        self, *, instrument: str, orderId: int, timeout: float | None = None
    ) -> None:
        """``v1/broker.oms/cancelOrder``; the outcome arrives on :meth:`broker_orders`
        (``Cancelled``, or ``Rejected`` with ``errorCode`` 101 "orderId not found")."""
        check_int("orderId", orderId, 0)
        await self._request(f"{BROKER}.oms/cancelOrder", _members(call_arguments()), Any, timeout)

    def broker_orders(
        self,
        *,
        instrument: str | None = None,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[BrokerOrder]:
        """``v1/broker.account/orders``: the account's open orders (``ActiveOrder`` each,
        then ``SnapshotEnd``), then ``Added``, ``Executed``, ``Cancelled``, ``Rejected``
        events, of one ``instrument`` or all. After a reconnect the consumer gets a
        ``Gap`` and a fresh snapshot (this stream has no tracking numbers to resume
        from)."""
        d = _members({"instrument": instrument})
        return self.stream(
            f"{BROKER}.account/orders", d, item_type=BrokerOrder, policy=policy,
            maxsize=maxsize, callback=callback, on_error=on_error,
        )  # fmt: skip

    def broker_balance(
        self,
        *,
        policy: Policy = "error",
        maxsize: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> ExberryStream[BrokerBalance]:
        """``v1/broker.account/balance``: one ``Balance`` per asset (``free``,
        ``locked``), ``SnapshotEnd``, then one ``Balance`` at each change; after a
        reconnect, a ``Gap`` and a fresh snapshot."""
        return self.stream(
            f"{BROKER}.account/balance", {}, item_type=BrokerBalance, policy=policy,
            maxsize=maxsize, callback=callback, on_error=on_error,
        )  # fmt: skip

    async def broker_orders_history(
        self,
        *,
        status: str | None = None,
        instrument: str | None = None,
        dateFrom: int | dt.datetime | None = None,
        dateTo: int | dt.datetime | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> BrokerOrdersPage:
        """``v1/broker.account/ordersHistory``: one page (``limit`` <= 100) of the
        account's orders; ``count`` is the total. ``dateFrom``/``dateTo``: epoch seconds
        or an aware ``datetime``; ``orderBy``: ``{"field": "timestamp", "direction":
        "Asc" | "Desc"}``."""
        d = _broker_page(call_arguments())
        q = f"{BROKER}.account/ordersHistory"
        return await self._request(q, d, BrokerOrdersPage, timeout)

    async def broker_trades_history(
        self,
        *,
        instrument: str | None = None,
        dateFrom: int | dt.datetime | None = None,
        dateTo: int | dt.datetime | None = None,
        orderBy: Mapping[str, str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> BrokerTradesPage:
        """``v1/broker.account/tradesHistory``: one page of the account's trades (as for
        :meth:`broker_orders_history`)."""
        d = _broker_page(call_arguments())
        q = f"{BROKER}.account/tradesHistory"
        return await self._request(q, d, BrokerTradesPage, timeout)

    async def broker_transactions(
        self,
        *,
        types: Sequence[BrokerTransactionType] | None = None,
        dateFrom: int | dt.datetime | None = None,
        dateTo: int | dt.datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> BrokerTransactionsPage:
        """``v1/broker.wallet/transactions``: one page of the account's ledger
        movements, newest first, of the ``types`` asked (all without)."""
        _check_choices("types", types, BrokerTransactionType)
        d = _broker_page(call_arguments())
        q = f"{BROKER}.wallet/transactions"
        return await self._request(q, d, BrokerTransactionsPage, timeout)

    def _typed_stream(
        self, q: str, tracking: int | None, item_type: Any, policy: Policy,
        maxsize: int | None, callback: Callable[[Any], Any] | None,
        on_error: ErrorCallback | None,
    ) -> ExberryStream[Any]:  # fmt: skip
        if tracking is not None:
            check_int("trackingNumber", tracking, 0)
        d = {} if tracking is None else {"trackingNumber": tracking}
        stream: ExberryStream[Any] = self.stream(
            q, d, item_type=item_type, policy=policy, maxsize=maxsize,
            callback=callback, on_error=on_error,
        )  # fmt: skip
        return stream


def _symbol_of(item: Any) -> Any:
    return getattr(item, "symbol", None)


def _bar_of(item: Any) -> Any:
    # A candle replaces only an older state of the same bar: a closed bar is kept.
    return getattr(item, "symbol", None), getattr(item, "timeStamp", None)


def _live_trades(data: list[Any]) -> list[LiveTrade]:
    # One positional array per frame, or a list of them: the docs do not settle it. An
    # empty list is an empty snapshot.
    if not data:
        return []
    if isinstance(data[0], list):
        return [msgspec.convert(row, LiveTrade) for row in data]
    return [msgspec.convert(data, LiveTrade)]


def _send_soon(conn: Conn, frame: bytes) -> None:
    """Write ``frame`` from the connection's own writer task, in order with what it queued:
    for callers that must not await a write (the read loop, a cancelled task)."""
    conn.protocol.queue(frame)
    conn.flush_soon()


_BY_EVENT = ("lastEventTimestamp", "createdAt")
"""The ``orderBy`` fields of orders and alleged trades (the first the venue's default)."""
_BY_CREATION = ("createdAt", "lastEventTimestamp")
"""The ``orderBy`` fields of RFQs, quotes and ledger requests."""


def _report_page(
    date_from: str | dt.datetime | None,
    date_to: str | dt.datetime | None,
    order_by: object,
    limit: object,
    offset: object,
    fields: tuple[str, ...],
) -> tuple[str | None, str | None]:
    """What every reporting request takes: a page (``limit`` 1 to 100, ``offset`` from
    0, ``orderBy`` one of ``fields`` Asc or Desc, all optional) and its dates as the venue
    takes them (:func:`_report_dates`)."""
    _check_page(limit, offset)
    _check_order_by(order_by, fields)
    return _report_dates(date_from, date_to)


def _check_order_by(order_by: object, fields: tuple[str, ...]) -> None:
    """``orderBy``, if given: ``{"field": one of fields, "direction": "Asc" | "Desc"}``."""
    if order_by is None:
        return
    if not isinstance(order_by, Mapping) or not set(order_by) <= {"field", "direction"}:
        raise ClientError(f"orderBy must be {{'field': ..., 'direction': ...}}, not {order_by!r}")
    if "field" in order_by:
        check_choice("orderBy field", order_by["field"], fields)
    if "direction" in order_by:
        check_choice("orderBy direction", order_by["direction"], ("Asc", "Desc"))


def _order_terms(
    order_type: OrderType, price: float | Decimal | None, time_in_force: TimeInForce | None
) -> TimeInForce:
    """An order's price checked against its type (a limit needs one, a market order takes
    none), and its time in force, by default ``IOC`` for orders that trade at market
    (``Market``, ``Stop``, ``MIT``) and ``GTC`` for the others: Exberry refuses GTC market
    orders, so a default must be one it takes."""
    if order_type in ("Limit", "StopLimit", "LIT") and price is None:
        raise ClientError(f"a {order_type} order needs a price")
    if order_type in ("Market", "MarketToLimit", "Stop", "MIT") and price is not None:
        raise ClientError(f"a {order_type} order takes no price")
    if time_in_force is None:
        return "IOC" if order_type in ("Market", "Stop", "MIT") else "GTC"
    return time_in_force


def _check_page(limit: object, offset: object) -> None:
    """A reporting page: ``limit`` 1 to 100, ``offset`` from 0 (both optional)."""
    if limit is not None:
        check_int("limit", limit, 1, 100)
    if offset is not None:
        check_int("offset", offset, 0)


def _broker_page(arguments: dict[str, Any]) -> dict[str, Any]:
    """A broker history request's ``d``: a page as for reporting, dates in epoch seconds
    (``dateTo`` after ``dateFrom``: the broker refuses it with 101 otherwise), and the
    instrument filter under its name and the samples' spelling (``istrument``), whichever
    the venue reads."""
    _check_page(arguments.get("limit"), arguments.get("offset"))
    _check_order_by(arguments.get("orderBy"), ("timestamp",))
    for name in ("dateFrom", "dateTo"):
        if arguments.get(name) is not None:
            arguments[name] = _epoch_seconds(name, arguments[name], 0)
    low, high = arguments.get("dateFrom"), arguments.get("dateTo")
    if low is not None and high is not None and high <= low:
        raise ClientError(f"dateTo ({high}) must be after dateFrom ({low})")
    d = _members(arguments)
    if "instrument" in d:
        d["istrument"] = d["instrument"]
    return d


def _both_spellings(arguments: dict[str, Any]) -> dict[str, Any]:
    """A ledger report's ``d`` whose account filter goes under its name and the
    documentation's spelling (``ledgerAaccountId``), whichever the venue reads."""
    d = _members(arguments)
    if "ledgerAccountId" in d:
        d["ledgerAaccountId"] = d["ledgerAccountId"]
    return d


def _exactly_one(method: str, **ids: object) -> None:
    """A cancel names its target by the venue's id or the participant's, never both."""
    if sum(value is not None for value in ids.values()) != 1:
        raise ClientError(f"{method} needs exactly one of {', '.join(ids)}")


def _check_entries(name: str, entries: object, model: type[msgspec.Struct]) -> Sequence[Any]:
    """``entries``, checked to be a non-empty list (or tuple) of ``model`` objects or
    mappings, as a quote's details and a transfer's assets are."""
    if not isinstance(entries, list | tuple) or not entries:
        raise ClientError(
            f"{name} must be a non-empty list of {model.__name__} objects or mappings, "
            f"not {entries!r}"
        )
    for entry in entries:
        if not isinstance(entry, model | Mapping):
            raise ClientError(
                f"{name}: every entry must be a {model.__name__} or mapping: {entry!r}"
            )
    return entries


def _check_transfer_assets(name: str, assets: object, required: bool = False) -> None:
    """A transfer's asset list: :class:`TransferAsset` objects or mappings, each with an
    ``assetId`` and an ``amount`` (numbers or their text)."""
    if assets is None and not required:
        return
    for asset in _check_entries(name, assets, TransferAsset):
        members = msgspec.structs.asdict(asset) if isinstance(asset, TransferAsset) else asset
        for member in ("assetId", "amount"):
            value = members.get(member)
            if not _is_amount(value):
                raise ClientError(f"{name}: {member} must be a number or its text: {asset!r}")


def _is_amount(value: object) -> bool:
    """Whether ``value`` is what the ledger takes for an id or amount: a number (a
    ``Decimal`` or numpy's too, not a bool) or its text."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real | Decimal | str)


def _check_optional(name: str, value: object, kind: Any) -> None:
    """``value``, when given, one of the ``Literal`` ``kind``'s."""
    if value is not None:
        check_choice(name, value, get_args(kind))


def _listed(name: str, values: object, item: str, *, required: bool = False) -> Iterable[Any]:
    """``values`` as a list argument holding ``item``s (any sequence or set, never a lone
    str); ``None`` (left out) unless ``required``, which also refuses an empty one."""
    if values is None and not required:
        return ()
    some = "a non-empty" if required else "a"
    if isinstance(values, str):  # would pass as its letters
        raise ClientError(f"{name} must be {some} list of {item}, not the string {values!r}")
    if (
        not isinstance(values, Sequence | AbstractSet)
        or isinstance(values, bytes | bytearray)
        or (required and not values)
    ):
        raise ClientError(f"{name} must be {some} list of {item}, not {values!r}")
    return values


def _check_names(name: str, values: object, *, required: bool = False) -> None:
    """``values`` a list of names (symbols, instruments, fee types); see :func:`_listed`."""
    if not all(isinstance(value, str) for value in _listed(name, values, "str", required=required)):
        raise ClientError(f"{name} must be a list of str, not {values!r}")


def _check_choices(name: str, values: Sequence[Any] | None, kind: Any) -> None:
    """``values`` (optional) a list of the ``Literal`` ``kind``'s values."""
    for value in _listed(name, values, "values"):
        check_choice(name, value, get_args(kind))


_DAY = re.compile(r"\d{4}-\d\d-\d\d")
_REPORT_DATE = re.compile(_DAY.pattern + r"T\d\d:\d\d:\d\d(?:\.\d{1,6})?")


def _report_dates(
    date_from: str | dt.datetime | None, date_to: str | dt.datetime | None
) -> tuple[str | None, str | None]:
    """Reporting's ``dateFrom``/``dateTo`` as the venue takes them (``YYYY-MM-DDThh:mm:ss
    [.SSS]``, GMT); a range that ends before it starts is refused (the venue's 1001)."""
    text_from, start = _report_date("dateFrom", date_from)
    text_to, end = _report_date("dateTo", date_to)
    if start is not None and end is not None and end <= start:
        raise ClientError(f"dateTo must be after dateFrom ({text_to} <= {text_from})")
    return text_from, text_to


def _report_date(
    name: str, value: str | dt.datetime | None
) -> tuple[str | None, dt.datetime | None]:
    """One reporting date as text and as a naive GMT moment: an aware ``datetime`` is
    converted; a naive one is refused (whose clock would it be?), as is text of another
    shape."""
    if value is None:
        return None, None
    if isinstance(value, dt.datetime):
        moment = utc(name, value).replace(tzinfo=None)
        return moment.isoformat(timespec="milliseconds"), moment
    if not isinstance(value, str) or not _REPORT_DATE.fullmatch(value):
        raise ClientError(f"{name} must be 'YYYY-MM-DDThh:mm:ss[.SSS]' (GMT), not {value!r}")
    try:
        return value, dt.datetime.fromisoformat(value)
    except ValueError:  # a month 13, a day 32
        raise ClientError(f"{name} is not a date: {value!r}") from None


def _day(name: str, value: str | dt.date | None) -> str | None:
    """A day as Exberry takes it (``YYYY-MM-DD``), from that text or a ``date``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):  # a moment: which day it is depends on the zone
        raise ClientError(f"{name} must be a date or 'YYYY-MM-DD', not a datetime")
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ClientError(f"{name} must be 'YYYY-MM-DD', not {value!r}")
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:  # a month 13, a day 32
        raise ClientError(f"{name} is not a date: {value!r}") from None


def _check_candle_interval(multiplier: int, timespan: str) -> None:
    check_choice("timespan", timespan, get_args(CandleTimespan))
    if (check_int("multiplier", multiplier, 1), timespan) not in CANDLE_INTERVALS:
        offered = ", ".join(f"{m} {t}" for m, t in CANDLE_INTERVALS)
        raise ClientError(f"no {multiplier} {timespan} candles: Exberry offers {offered}")


def _candle_time(name: str, value: int | dt.date, timespan: str) -> int:
    """A candle range bound as Exberry takes it: epoch seconds (from that int or an aware
    ``datetime``), or ``yyyyMMdd`` for ``DAY`` bars (from a ``date`` or that int)."""
    if timespan != "DAY":
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            return _epoch_seconds(name, value, 0)
        raise ClientError(
            f"{name} of {timespan} candles must be epoch seconds or an aware datetime, not a date"
        )
    if isinstance(value, dt.datetime):  # which day a moment is depends on the zone
        raise ClientError(f"{name} of DAY candles must be a date or a yyyyMMdd int, not a datetime")
    if isinstance(value, dt.date):
        return int(value.strftime("%Y%m%d"))
    text = str(check_int(name, value, 0))
    try:
        if len(text) != 8:
            raise ValueError(text)
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ClientError(
            f"{name} of DAY candles must be a date or a yyyyMMdd int, not {value!r}"
        ) from None
    return int(text)


def _eod_range(
    start: str | dt.date | None, end: str | dt.date | None, *, allow_equal: bool
) -> tuple[str | None, str | None]:
    """End-of-day filters (``eodDateFrom``/``eodDateTo``) as text; a range that ends
    before it starts is refused (the venue's 1001; positions also refuse an empty one)."""
    text_from, text_to = _day("eodDateFrom", start), _day("eodDateTo", end)
    if text_from and text_to:
        backwards = text_to < text_from if allow_equal else text_to <= text_from
        if backwards:
            raise ClientError(f"eodDateTo {text_to} must be after eodDateFrom {text_from}")
    return text_from, text_to


def _expiry(d: dict[str, Any]) -> dict[str, Any]:
    """An order's ``d`` with its GTD expiry as Exberry takes it: ``expiryDate`` in epoch
    seconds (an aware ``datetime`` converted), ``expiryDay`` as ``YYYY-MM-DD`` (a ``date``
    converted)."""
    if "expiryDate" in d:
        d["expiryDate"] = _epoch_seconds("expiryDate", d["expiryDate"], 1)
    if "expiryDay" in d:
        d["expiryDay"] = _day("expiryDay", d["expiryDay"])
    return d


def _epoch_seconds(name: str, moment: int | dt.datetime, minimum: int) -> int:
    """A time Exberry takes in epoch seconds, given so or as an aware ``datetime``."""
    if isinstance(moment, dt.datetime):
        moment = epoch_seconds(name, moment)
    return check_int(name, moment, minimum)


def _check_q_d(q: object, d: object) -> str:
    """What :meth:`ExberryClient.request` and :meth:`ExberryClient.stream` take; returns
    ``q`` as an exact str (a StrEnum member's text: the key replies are matched by)."""
    if not isinstance(q, str) or not q:
        raise ClientError(f"q must be a qualifier such as 'v1/exchange.market/...', not {q!r}")
    if d is not None and not isinstance(d, Mapping):
        raise ClientError(f"d must be a mapping, not {type(d).__name__}")
    return str.__str__(q)


def _members(values: dict[str, Any]) -> dict[str, Any]:
    """A method's arguments as a request ``d``: Exberry omits empty members."""
    return {name: _json(value) for name, value in values.items() if value is not None}


def _json(value: Any) -> Any:
    """An argument as JSON can carry it: a model (a party, a quote detail) as Exberry's
    object, any mapping (``orderBy``, a party given as one) as a dict, a tuple as a list."""
    if isinstance(value, msgspec.Struct):
        return as_builtins(value)
    if isinstance(value, Mapping):
        return {key: _json(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return [_json(item) for item in value]
    return value


def _report_side(name: str, side: object) -> dict[str, Any]:
    """A trade report's ``buy`` or ``sell`` as Exberry's JSON: it needs ``mpName``."""
    if isinstance(side, TradeReportSide):
        out: dict[str, Any] = as_builtins(side)
    elif isinstance(side, Mapping):
        out = _members(dict(side))  # Party objects as JSON, empty members left out
    else:
        raise ClientError(f"{name} must be a TradeReportSide or a mapping, not {side!r}")
    if not isinstance(out.get("mpName"), str) or not out["mpName"]:
        raise ClientError(f"{name} needs an mpName (the participant's name)")
    return out
