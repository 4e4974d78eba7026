"""A bundled Exberry simulator: ``q``/``sid``/``d``/``sig`` streams on 127.0.0.1.

An independent implementation of the exchange API (REFERENCE sections 3-7): it shares no
code with ``deribit_client.exberry`` (its own signature check, envelope handling and
models), so tests against it can catch the client's mistakes. It runs sessions (API key
with an HMAC signature, token, or username/password), a price-time matching engine for
limit, market and stop orders (IOC, FOK, ``minQuantity``, self-trade prevention, replaces that
lose priority re-queued, GTD and DAY orders expiring, icebergs and hidden orders) with
the documented validation errors, ``orderBookState`` and ``massOrderStatus`` snapshots,
instrument rules (quantity and price precision, quantity bounds, tick size; quantities
kept exact to their precision), and the ``orderBookDepth``, ``executionReports`` and
``trades`` streams with tracking numbers (one number per action, shared by the events it
causes, as on Exberry) and replay from a tracking number; trade reports (locked-in and
alleged) and requests for quotes (its :attr:`~ExberrySimulator.rfq` desk, in
``_exberry_rfq``) with their events and reports; a ledger (:attr:`~ExberrySimulator.ledger`:
balances streamed by ``accountBalance``, deposit and withdrawal requests, and on the
instruments it settles, orders holding what they may deliver and trades settling); instrument
states, auctions (call phase, equilibrium uncross, calendar auctions; rules in
``_exberry_auction``), the calendar's end of day, and strategy instruments with implied
orders (``_exberry_implied``); the Market Data API's requests and streams are
``_exberry_md``'s, a socket and its streams ``_exberry_peer``'s.

Fault hooks: :meth:`drop_connections`, :meth:`fail_streams` (``sig: 2``),
:meth:`send_raw` (malformed frames), :meth:`inject_error` and :meth:`delay` (per
qualifier).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import hmac
import itertools
import logging
import math
import random
import re
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from operator import itemgetter
from typing import Any, Concatenate, Literal, NamedTuple, ParamSpec, TypeVar, get_args

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from ._exberry_auction import (
    TIMES_IN_FORCE,
    Auction,
    Uncross,
    auction_terms,
    check_time_in_force,
    equilibrium,
)
from ._exberry_broker import BROKER_Q, BrokerDesk, invalid_parameter
from ._exberry_calendar import Calendar, Market, calendar_of
from ._exberry_implied import Level, Quote, Strategy, implied_quotes, opposite, strategy_of
from ._exberry_ledger import (
    REQUEST_STATUSES,
    TRANSACTION_TYPES,
    TRANSFER_STATUSES,
    LedgerDesk,
    Leg,
    account_filtered,
)
from ._exberry_md import MarketDataApi
from ._exberry_peer import Peer
from ._exberry_positions import PositionBook
from ._exberry_rfq import MAX_RFQ_EXPIRE_TIME, RfqDesk
from ._exberry_rules import (
    BY_CREATION,
    BY_EVENT,
    DAY,
    Fail,
    Participant,
    Types,
    check_parties,
    failure,
    iso,
    numeric_role,
    parse_day,
    public,
    report_day,
    report_times,
    typed,
    visible,
)
from ._faults import FaultHooks, check_seconds
from ._json import is_json
from ._logs import HISTORY, UsedIds, forget_closed, remember
from ._outbox import Outbox
from ._serve import serve, spawn

__all__ = [
    "INSTRUMENT_DEFAULTS",
    "SIM_API_KEY",
    "SIM_API_SECRET",
    "SIM_BROKER_TOKEN",
    "ExberrySimulator",
    "Participant",
    "trader_key",
]

SIM_API_KEY = "sim-exberry-key"
"""The API key every Exberry simulator accepts (``api_keys=`` adds more)."""
SIM_API_SECRET = "sim-exberry-secret"
SIM_BROKER_TOKEN = "sim-broker-jwt"
"""A trader JWT for the broker API: the ``exberry_broker`` fixture adds it to the
simulator's ``tokens`` (none is accepted by default)."""


def trader_key(token: str) -> str:
    """Who a session by ``token`` trades as (exchange ``token=`` and broker
    ``broker_token=`` sessions alike): the participant key to give
    ``ledger.open_account`` or ``place_order`` for that trader."""
    return f"trader:{token[:8]}"


_ORDER_TYPES = {"Limit", "Market", "MarketToLimit", "Stop", "StopLimit", "MIT", "LIT"}
_PRICED = ("Limit", "StopLimit", "LIT")  # the types with a limit price (REFERENCE 5)
_STOPS = ("Stop", "StopLimit", "MIT", "LIT")  # suspended until the last trade reaches stopPrice
_SIDES = {"Buy", "Sell"}
_OPEN = ("Active", "Suspended")  # the statuses of orders that may still trade
_STP_ACTIONS = {"CancelIncomingOrder", "CancelRestingOrder", "CancelBothOrders"}
_WINDOW_MS = 60_000
_RESTING_TIFS = ("GTC", "GTD", "DAY")
_OPEN_FOR_TRADING = {"tradingStatus": "Trade", "marketStatus": "Opened", "status": "Active"}
_INSTRUMENT_STATES = {  # member -> its values (REFERENCE 6, InstrumentStatus)
    "tradingStatus": ("Trade", "Halt"),
    "marketStatus": ("Opened", "Closed", "AuctionCall", "AuctionCrossing"),
    "status": ("Active", "Disabled"),
}
_DISPLAY = {  # displayMethod -> the display quantities it takes (REFERENCE 5)
    "DisplayQuantity": ("displayQuantity",),
    "Random": ("displayLowQuantity", "displayHighQuantity"),
    "Hidden": (),
}
_TOO_SLOW = "Your connection is slow, please reduce data consumed"


log = logging.getLogger("deribit_client.testing")


MarketIdentity = Literal["disclosed", "anonymous", "pseudonymous"]
# orderBookDepth's participant members: (id, that participant's own ids for its order/RFQ)
_IDENTITIES = (
    ("mpId", ("mpOrderId", "mpQuoteReqId")), ("makerMpId", ("makerMpOrderId",)),
    ("takerMpId", ("takerMpOrderId",)), ("buyMpId", ()), ("sellMpId", ()),
)  # fmt: skip


INSTRUMENT_DEFAULTS: dict[str, Any] = {
    "minQuantity": 0.000001, "maxQuantity": 1000000, "pricePrecision": 4,
    "quantityPrecision": 6, "activityStatus": "ACTIVE", "quoteCurrency": "USD",
    "tradingModels": ["CLOB"],
}  # fmt: skip
"""The members of an instrument given by name (those of Exberry's ``instrumentList``
sample; its ``calendarId`` is the first calendar's); an instrument given as a mapping
overrides any of them (``activityStatus`` ``DISABLED`` starts it disabled)."""


def _instrument(spec: str | Mapping[str, Any], calendars: list[int]) -> dict[str, Any]:
    definition = {
        **INSTRUMENT_DEFAULTS,
        "calendarId": calendars[0],
        **({"symbol": spec} if isinstance(spec, str) else spec),
    }
    symbol = definition.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise ValueError(f"an instrument needs a symbol, not {spec!r}")
    if definition["calendarId"] not in calendars:
        raise ValueError(f"{symbol}: calendarId must be one of the calendars', {calendars}")
    if definition["activityStatus"] not in ("ACTIVE", "DISABLED"):
        raise ValueError(f"{symbol}: activityStatus must be ACTIVE or DISABLED")
    for name in ("pricePrecision", "quantityPrecision"):
        if type(definition[name]) is not int or definition[name] < 0:
            raise ValueError(f"{symbol}: {name} must be an int >= 0, not {definition[name]!r}")
    low, high = definition["minQuantity"], definition["maxQuantity"]
    if not all(type(v) in (int, float) and v > 0 for v in (low, high)) or low > high:
        raise ValueError(f"{symbol}: minQuantity and maxQuantity must be 0 < min <= max")
    return definition


def _decimal(value: float) -> Decimal:
    """A number as its JSON text says it, exactly (``0.1`` is 1/10, not the nearest double)."""
    return Decimal(repr(value))


def _decimals(value: float) -> int:
    """How many decimals ``value`` has as JSON writes it."""
    exponent = _decimal(value).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


P = ParamSpec("P")
R = TypeVar("R")


def _acts(
    method: Callable[Concatenate[ExberrySimulator, P], R],
) -> Callable[Concatenate[ExberrySimulator, P], R]:
    """An action of the engine (a request's, a test's or a timer's): when the outermost
    one ends, the implied orders follow the books it changed."""

    @functools.wraps(method)
    def act(self: ExberrySimulator, /, *args: P.args, **kwargs: P.kwargs) -> R:
        self._acting += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._acting -= 1
            if not self._acting and self.strategies:
                self._settle()

    return act


class _Party(NamedTuple):
    """One side of a trade: ``order`` what traded (None: no order, as the System's side
    of an implied trade); ``record`` whose ``trades`` record it is (the order itself, the
    strategy order a leg trade is allocated to, with ``legs`` its ``IndividualLeg``
    members, or None: the System's, which no participant hears of)."""

    order: dict[str, Any] | None
    record: dict[str, Any] | None
    side: str
    legs: Mapping[str, Any] | None = None


class ExberrySimulator(FaultHooks):
    """A local Exberry exchange gateway. Use it as an async context manager; pass ``url``
    to ``ExberryClient``.

    Args:
        host: address to bind (loopback by default).
        port: 0 picks a free port.
        instruments: tradable instruments: a symbol, or a mapping of ``instrumentList``
            members (``symbol``, ``minQuantity``, ``maxQuantity``, ``pricePrecision``,
            ``quantityPrecision``, ...) whose missing members are
            :data:`INSTRUMENT_DEFAULTS`. Orders are held to them: precision ``1005``,
            quantity bounds ``1006``.
        tick_size: the price increment of every instrument (``tickSizeList`` says it;
            prices off it get ``1014``).
        api_keys: accepted ``{apiKey: secret}`` (default: ``SIM_API_KEY``).
        tokens: accepted trader tokens (also the JWTs of the Nebula broker API's
            sessions, :attr:`broker`); users: accepted ``{username: password}``.
        clock: seconds since the epoch: signature timestamps and GTD/DAY expiries follow
            it (:meth:`expire_orders`).
        market_identity: what the public ``orderBookDepth`` stream tells of other
            participants (your own ids are always shown): ``"disclosed"`` their ``mpId``
            and ``mpOrderId``, ``"anonymous"`` neither, ``"pseudonymous"`` a stable
            stand-in ``mpId`` per participant and no ``mpOrderId``.
        max_rfq_expire_time: the longest an RFQ may live (seconds), and its life when
            ``submitRFQ`` names no ``expireTime``; the RFQ desk is :attr:`rfq`.
        calendars: the trading calendars, as ``calendarList`` shows them: ``id``,
            ``name``, ``timeZone`` (``"+05:30"``), ``marketOpen``/``marketClose``
            (``"HH:MM"``), ``tradingDays`` (``"MONDAY"``...), ``holidays``
            (``"YYYY-MM-DD"``) and ``auctions`` (members as :meth:`start_auction` takes
            them); default: one, ``"Always"`` (id 1), every day 00:00-23:59 UTC, which
            trades around the clock. An instrument follows the calendar of its
            ``calendarId`` (the first's by default). Outside its calendar's sessions an
            instrument's market is ``Closed`` (orders ``1003``); at each open it is
            ``Opened`` (and triggers the stop orders due), at each close ``DAY`` orders
            expire, the day ends (``CalendarEndOfDay``; the ledger's holdings and the
            positions' end of day follow the first calendar) and the market closes (not
            if the next session opens within a minute). A ``TimeBased`` auction starts
            its calendar's instruments, trading or closed, at each of its ``startTimes``
            (the calendar's time zone, on its ``days``: every day if none; one starting
            before the open is an opening auction), a ``Resume`` one an instrument that
            resumes after a halt; each runs for its ``duration``, then the market is as
            the calendar has it. ``AutoResume`` ones are listed only (the simulator never
            halts by itself). Instruments in an auction move when it ends.
        strategies: strategy instruments (``_exberry_implied``): each a mapping of
            ``symbol`` (one of ``instruments``), ``type`` (``Spread``: the bought leg's
            price minus the sold one's; ``StripEqualPrice``; ``StripAveragePrice``),
            ``legs`` (``{instrument, side}``: the side of each leg when buying the
            strategy, one of each per strategy) and ``impliedOrders`` (default false).
            A strategy's own trades are ``MultiLegSecurity`` records. With implied orders
            the System (``mpId`` -1) shows, while the strategy and its legs all trade
            continuously, implied in orders on the strategy (from its legs' best visible
            orders) and, for two legs, implied out orders on each leg (from the
            strategy's best order and the other leg's): an order that trades with one
            trades the orders it was made of, and its owner hears of its strategy's leg
            trades as ``IndividualLeg`` records (maker and taker as Exberry's
            implied-orders page says). They follow the books after each action and never
            trade with each other; one made crossing a resting order trades at once, at
            its own price (so that the legs' prices add up to it). Strategy instruments
            and their legs cannot settle in the :attr:`ledger`.
        max_events: stream events kept for replay; a resume from before them gets 1201.
        history: closed orders, trades (Market Data API) and ``calls`` entries kept, the
            newest first (trimmed in batches): a bot may run against it for days. An
            ``mpOrderId`` (``mpRfqId``, ``mpQuoteId``, ``externalTradeId``) is refused
            (``1002``) while its order is open and until ``history`` newer ones were used.

    Attributes:
        calls: the requests received as ``(q, d)`` (the newest ``history`` at least).
        max_backlog: bytes a socket may leave unread (beyond the kernel's buffers) before
            it counts as too slow: its Market Data API streams end with error 100 "Your
            connection is slow, please reduce data consumed" and the socket is closed
            (code 1008, the same reason). ``None``: no limit.
        slow_disconnects: sockets closed as too slow.
        candle_interval: seconds between two updates of a live ``candles`` stream (3, as
            Exberry's documentation says; a test may shorten it).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        instruments: Iterable[str | Mapping[str, Any]] = ("BTC", "ETH"),
        tick_size: float = 0.5,
        api_keys: dict[str, str] | None = None,
        tokens: set[str] | None = None,
        users: dict[str, str] | None = None,
        md_tokens: set[str] | None = None,
        clock: Callable[[], float] = time.time,
        max_events: int = 100_000,
        history: int = HISTORY,
        market_identity: MarketIdentity = "disclosed",
        max_rfq_expire_time: float = MAX_RFQ_EXPIRE_TIME,
        calendars: Iterable[Mapping[str, Any]] = ({},),
        strategies: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__()
        if market_identity not in get_args(MarketIdentity):
            choices = ", ".join(map(repr, get_args(MarketIdentity)))
            raise ValueError(f"market_identity must be one of {choices}, not {market_identity!r}")
        self.market_identity = market_identity
        self._participants: dict[str, Participant] = {}  # session key -> its participant
        if type(history) is not int or history < 1:
            raise ValueError(f"history must be a positive int, not {history!r}")
        self.history = history
        self._orders_cap = 2 * history  # prune closed orders when there are more than this
        self.host, self.port = host, port
        self.calendars: dict[int, Calendar] = {}
        """Calendar id -> the trading calendar (``calendarList``); :meth:`expire_orders`
        follows them."""
        for given in calendars:
            defined = calendar_of(given)
            if defined.members["id"] in self.calendars:
                raise ValueError(f"two calendars with id {defined.members['id']}")
            self.calendars[defined.members["id"]] = defined
        if not self.calendars:
            raise ValueError("the simulator needs a calendar")
        self.instruments: dict[str, dict[str, Any]] = {}
        """Symbol -> its ``instrumentList`` members."""
        for spec in instruments:
            definition = _instrument(spec, list(self.calendars))
            self.instruments[definition["symbol"]] = definition
        self.strategies: dict[str, Strategy] = {}
        """Strategy instruments by symbol (``strategies=``)."""
        for spec in strategies:
            strategy = strategy_of(spec, self.instruments)
            if (
                strategy.symbol in self.strategies
                or any(leg in self.strategies for leg in strategy.instruments[1:])
                or any(strategy.symbol in s.instruments[1:] for s in self.strategies.values())
            ):
                raise ValueError(
                    f"{strategy.symbol}: a strategy is defined once and is no strategy's leg"
                )
            self.strategies[strategy.symbol] = strategy
        self._acting = 0  # nested engine actions (``_acts``)
        self._traded: set[str] = set()  # instruments implied trades reached (``_settle``)
        if isinstance(tick_size, bool) or not isinstance(tick_size, int | float) or tick_size <= 0:
            raise ValueError(f"tick_size must be a positive number, not {tick_size!r}")
        self.tick_size = tick_size
        self.api_keys = dict(api_keys or {SIM_API_KEY: SIM_API_SECRET})
        self.tokens = set(tokens or ())
        self.users = dict(users or {})
        self.md_tokens = set(md_tokens or {"sim-md-token"})
        """Public-mode tokens of the Market Data API (requests carry one, no session)."""
        self.trade_log: dict[str, list[list[Any]]] = {i: [] for i in self.instruments}
        self.instrument_status: dict[str, dict[str, str]] = {
            i: {**_OPEN_FOR_TRADING, "status": d["activityStatus"].capitalize()}
            for i, d in self.instruments.items()
        }
        """Symbol -> its ``tradingStatus``, ``marketStatus`` and ``status`` (change them
        with :meth:`set_instrument_status`)."""
        self.clock = clock
        self.calls: list[tuple[str, Any]] = []
        self.max_backlog: int | None = 8 * 1024 * 1024
        self.candle_interval = 3.0
        self.slow_disconnects = 0
        self.peers: set[Peer] = set()
        self.orders: dict[int, dict[str, Any]] = {}
        self.books: dict[str, dict[str, list[dict[str, Any]]]] = {
            i: {"Buy": [], "Sell": []} for i in self.instruments
        }
        self._used_ids = UsedIds[tuple[str, int]](history, self._open_order_ids)
        self._order_ids = itertools.count(1000)
        self._arrivals = itertools.count()  # time priority within a price level
        self._match_ids = itertools.count(1)
        self._event_ids = itertools.count(1)
        self._tracking = 0
        # (trackingNumber, kind, owner mp or None, payload): what a stream replays.
        self.events: deque[tuple[int, str, str | None, dict[str, Any]]] = deque(maxlen=max_events)
        self._forgotten = 0  # the newest tracking number with an event gone from ``events``
        self._pending: list[tuple[str, str | None, dict[str, Any]]] = []  # to publish
        self._new_trades: dict[str, list[list[Any]]] = {}  # liveTrades rows to publish
        self._publishing = False  # a publish of what a direct engine call emitted is due
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._next_expiry = math.inf  # the soonest a resting GTD or DAY order may expire
        self._random = random.Random(0)  # Random display slices: the same run every time
        # Calendar id -> its market as last followed (the first calendar's is the venue's).
        self._markets = {key: Market.at(c, clock()) for key, c in self.calendars.items()}
        for symbol, state in self.instrument_status.items():
            if not self._market(symbol).open:
                state["marketStatus"] = "Closed"
        self._running: dict[str, Auction] = {}
        """The instruments in an auction (``AuctionCall`` or ``AuctionCrossing``)."""
        self._stops: dict[str, list[dict[str, Any]]] = {i: [] for i in self.instruments}
        """Suspended stop orders per instrument, oldest first."""
        self._expiry_timer: asyncio.TimerHandle | None = None
        self.alleged_trades: dict[int, dict[str, Any]] = {}
        """Trade reports of the ``AllegedSystemMatch`` flow by ``allegedTradeId``: each
        reporter's own, ``Active`` until the counterparty's matching report, a cancel or
        the market close."""
        self._alleged_ids = itertools.count(1)
        self._external_ids = UsedIds[tuple[str, int]](history, self._alleging)  # (reporter, id)
        if check_seconds(max_rfq_expire_time) == 0:
            raise ValueError("max_rfq_expire_time must be above 0")
        self.rfq = RfqDesk(self, max_rfq_expire_time)
        """Requests for quotes and their quotes."""
        self.ledger = LedgerDesk(
            self._balances_changed, self._now_ns, self.participant, self._participants, history,
            self.instruments, self._open_orders,
            {s for strategy in self.strategies.values() for s in strategy.instruments},
        )  # fmt: skip
        """Ledger accounts, balances, transaction requests, transfers and holdings."""
        self.positions = PositionBook(self.participant, self._instrument_id, self._now_ns, history)
        """Each participant's positions per instrument (``mp/positions``)."""
        self.broker = BrokerDesk(self, self._broker_write)
        """Nebula's Trading App (broker API) on this exchange, for sessions by token."""
        self._md_api = MarketDataApi(self)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> ExberrySimulator:
        app = web.Application()
        app.router.add_get("/", self._socket)
        self._runner, self.port = await serve(app, self.host, self.port)
        self._arm(min(market.next_moment for market in self._markets.values()))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(peer.outbox.close() for peer in list(self.peers)))
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The WebSocket URL for ``ExberryClient``."""
        return f"ws://{self.host}:{self.port}/"

    # -- fault hooks ----------------------------------------------------------------------

    def drop_connections(self, reason: str | None = None) -> None:
        """Cut every socket at the TCP level, without a close frame; with ``reason``, close
        each with a close frame (code 1008) carrying it instead."""
        for peer in list(self.peers):
            if reason is None:
                peer.outbox.abort()
            else:
                spawn(self._tasks, peer.outbox.close(WSCloseCode.POLICY_VIOLATION, reason))

    def inject_error(
        self,
        q: str,
        code: int,
        message: str = "injected error",
        *,
        times: int | None = 1,
        close: bool = False,
    ) -> None:
        """Answer the next ``times`` requests of qualifier ``q`` (``None``: all; ``"*"``:
        any qualifier) with ``sig: 2`` and this ``errorCode``/``errorMessage``, without
        running them (a stream opening fails the same way); ``close=True`` closes the
        socket right after, without a close frame."""
        if type(code) is not int or type(message) is not str:
            raise ValueError(f"an Exberry error is an int code and a str message: {code!r}")
        self._errors.add(q, Fail(code, message), times, close)

    def delay(self, q: str, seconds: float, *, times: int | None = 1) -> None:
        """Hold the next ``times`` requests of ``q`` (``None``: all; ``"*"``: any) for
        ``seconds`` before running and answering them; later requests are not held, so
        an order can reach the book after its sender gave up waiting."""
        self._delays.add(q, check_seconds(seconds), times)

    def lose_replies(self, q: str, *, times: int | None = 1) -> None:
        """Run the next ``times`` requests of ``q`` (``None``: all; ``"*"``: any), then cut
        their socket at the TCP level instead of answering: Exberry took the request and
        its reply never came, the case a bot reconciles (a trading request raises
        ``OrderOutcomeUnknown``). Nothing more is sent on that socket once the request
        arrived, stream events included (a resumed stream replays them)."""
        self._lost.add(q, None, times)

    async def fail_streams(self, code: int = 2, message: str = "Stream disconnected") -> int:
        """End every open long-lived stream with ``sig: 2``; returns how many."""
        count = 0
        for peer in list(self.peers):
            for sid, (_, q, _) in list(peer.streams.items()):
                peer.end(sid)
                peer.write(failure(q, sid, Fail(code, message)))
                count += 1
        return count

    async def send_raw(self, frame: str) -> None:
        """Send ``frame`` as is on every socket (malformed JSON, unknown sids...)."""
        for peer in list(self.peers):
            peer.outbox.put(frame.encode())

    # -- the socket -----------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        peer = Peer(Outbox(request, ws, lambda: self.max_backlog, lambda: self._too_slow(peer)))
        self.peers.add(peer)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._frame(peer, msg.data)
        finally:
            self.peers.discard(peer)
            peer.end_all()
        return ws

    def _too_slow(self, peer: Peer) -> None:
        # Market Data API streams end with the documented error 100; the socket is then
        # closed, which the trading streams survive by resuming from their tracking number.
        self.slow_disconnects += 1
        log.info("closing a socket that does not read: %s", _TOO_SLOW)
        for sid, (kind, q, _) in list(peer.streams.items()):
            if kind.startswith("md:"):
                peer.end(sid)
                peer.write(failure(q, sid, Fail(100, _TOO_SLOW)))
        spawn(self._tasks, peer.outbox.close(WSCloseCode.POLICY_VIOLATION, _TOO_SLOW))

    async def _frame(self, peer: Peer, text: str) -> None:
        try:
            frame = msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError):  # also JSON too deep to decode
            return  # the docs: invalid JSON is ignored
        sid = frame.get("sid") if isinstance(frame, dict) else None
        if type(sid) is not int:  # no sid to answer on: nothing a client can match
            return
        q, d = frame.get("q") or "", frame.get("d") or {}
        if type(q) is not str:
            peer.write(failure(str(q), sid, Fail(1200, "The qualifier q must be a string")))
            return
        remember(self.calls, (q, d), self.history)
        if frame.get("sig") == 3:
            if peer.end(sid) is not None:
                peer.write({"sig": 1, "q": q, "sid": sid})
            return
        delay = self._delays.take(q)
        if delay is not None:
            spawn(self._tasks, self._answer(peer, frame, q, sid, d, delay.action))
            return
        await self._answer(peer, frame, q, sid, d)

    async def _answer(
        self, peer: Peer, frame: dict[str, Any], q: str, sid: int, d: Any, delay: float = 0.0
    ) -> None:
        if delay:
            await asyncio.sleep(delay)
        lost = self._lost.take(q) is not None
        if lost:
            peer.outbox.mute()  # cut as the request arrived: nothing reaches this peer
        try:
            await self._request(peer, frame, q, sid, d)
        except Fail as fail:
            peer.write(failure(q, sid, fail))
        except Exception:  # a simulator gap, not the client's: answer, keep the socket
            log.exception("Exberry simulator failed on %s", q)
            peer.write(failure(q, sid, Fail(1200, "General error")))
        if lost:
            peer.outbox.abort()

    async def _request(self, peer: Peer, frame: dict[str, Any], q: str, sid: int, d: Any) -> None:
        fault = self._errors.take(q)
        if fault is not None:
            peer.write(failure(q, sid, fault.action))
            if fault.close:
                peer.outbox.abort()
            return
        if self.clock() >= self._next_expiry:  # a test's own clock has moved past one
            self.expire_orders()
        if q == "v1/heartbeat/ping":  # echoed unchanged (a 0 or [] too), nothing else
            peer.write({k: v for k, v in frame.items() if k in ("q", "sid", "d")})
            return
        if q.startswith(("v1/exchange.marketdata/", "v1/exchange.marketdata.history/")):
            self._md_api.request(peer, q, sid, d, frame.get("token"))
            return
        await self._dispatch(peer, q, sid, d)

    async def _dispatch(self, peer: Peer, q: str, sid: int, d: Any) -> None:
        if q.startswith(BROKER_Q):
            self._broker_request(peer, q, sid, d)
            return
        if q == "exchange.market/createSession":
            peer.mp = self._session(d)
            self.participant(peer.mp)  # numbered in the order they first connect
            peer.write({"q": q, "sid": sid, "d": {}})
            peer.write({"sig": 1, "q": q, "sid": sid})
            return
        if peer.mp is None:
            raise Fail(1007, "Invalid session", "401")
        if not isinstance(d, dict):
            raise Fail(1001, "Invalid request data")
        key = q.split("/", 1)[1] if q[:1] == "v" and "/" in q else q  # without the version
        name = key.removeprefix("exchange.market/")
        if name in ("orderBookDepth", "executionReports", "trades"):
            self._open_stream(peer, q, sid, name, d)
            return
        if key == "exchange.ledger/accountBalance":  # a snapshot, then one at each change
            ledger_account_id = self.ledger.subscribe(peer.mp, d)
            peer.balances[sid] = (q, ledger_account_id)
            peer.write({"q": q, "sid": sid, "d": self.ledger.snapshot(ledger_account_id)})
            return
        handler = _HANDLERS.get(key) or _HANDLERS.get(name)
        if handler is None:
            raise Fail(1200, f"Unknown qualifier {q}")
        items = handler(self, peer.mp, d)
        for item in items:
            peer.write({"q": q, "sid": sid, "d": item})
        peer.write({"sig": 1, "q": q, "sid": sid})
        self._publish()

    def _broker_request(self, peer: Peer, q: str, sid: int, d: Any) -> None:
        """The broker API (:class:`BrokerDesk`): a session by one of :attr:`tokens`, as
        the same trader as the exchange API's token sessions."""
        name = q.removeprefix(BROKER_Q)
        if name == ".oms/createSession":
            token = d.get("token") if isinstance(d, dict) else None
            if type(token) is not str:
                raise Fail(6002, "Missing fields: 'token'", "401")
            if token not in self.tokens:
                raise Fail(6000, "Authentication failed", "401")
            peer.mp = trader_key(token)
            self.participant(peer.mp)
            peer.write({"sig": 1, "q": q, "sid": sid})
            return
        if peer.mp is None:
            raise Fail(10, "Permission denied", "401")
        if not isinstance(d, dict):
            raise invalid_parameter("d")
        if name in (".account/orders", ".account/balance"):
            instrument = d.get("instrument")
            if instrument is not None and type(instrument) is not str:
                raise invalid_parameter("instrument")
            if name == ".account/orders":
                peer.broker[sid] = ("orders", q, instrument)
                items = self.broker.orders_snapshot(peer.mp, instrument)
            else:
                peer.broker[sid] = ("balance", q, None)
                items = self.broker.balance_snapshot(peer.mp)
            for item in items:
                peer.write({"q": q, "sid": sid, "d": item})
            return
        handler = _BROKER_HANDLERS.get(name)
        if handler is None:
            raise Fail(100, f"Unknown qualifier {q}", "400")  # the broker's "invalid" code
        for item in handler(self.broker, peer.mp, d):
            peer.write({"q": q, "sid": sid, "d": item})
        peer.write({"sig": 1, "q": q, "sid": sid})
        self._publish()

    def _broker_write(self, mp: str, event: dict[str, Any]) -> None:
        """Send a broker order event to ``mp``'s orders streams that follow its instrument."""
        for peer in self.peers:
            if peer.mp != mp:
                continue
            for sid, (kind, q, instrument) in peer.broker.items():
                if kind == "orders" and instrument in (None, event.get("instrument")):
                    peer.write({"q": q, "sid": sid, "d": event})

    def _session(self, d: Any) -> str:
        if not isinstance(d, dict):
            raise Fail(6002, "Missing fields: 'apiKey'", "401")
        if not typed(d, _SESSION_TYPES):
            raise Fail(6000, "Authentication failed", "401")
        if "token" in d:
            if d["token"] not in self.tokens:
                raise Fail(6000, "Authentication failed", "401")
            return trader_key(d["token"])
        if "username" in d:
            if self.users.get(d["username"]) != d.get("password"):
                raise Fail(6000, "Authentication failed", "401")
            return f"trader:{d['username']}"
        missing = [k for k in ("apiKey", "timestamp", "signature") if k not in d]
        if missing:
            raise Fail(6002, f"Missing fields: {', '.join(repr(m) for m in missing)}", "401")
        secret = self.api_keys.get(str(d["apiKey"]))
        if secret is None:
            raise Fail(6000, "Authentication failed", "401")
        stamp = str(d["timestamp"])
        if not stamp.isdigit() or abs(int(stamp) - self.clock() * 1000) > _WINDOW_MS:
            raise Fail(6001, "Wrong timestamp", "401")
        text = f'"apiKey":"{d["apiKey"]}","timestamp":"{stamp}"'
        expected = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
        given = str(d["signature"]).encode("utf-8", "surrogatepass")  # any text, not only ASCII
        if not hmac.compare_digest(expected.encode(), given):
            raise Fail(6000, "Authentication failed", "401")
        return str(d["apiKey"])

    # -- streams --------------------------------------------------------------------------

    def _open_stream(self, peer: Peer, q: str, sid: int, kind: str, d: dict[str, Any]) -> None:
        start = d.get("trackingNumber")
        if start is not None and (
            not isinstance(start, int) or start > self._tracking or start < self._forgotten
        ):  # unknown, or its events are no longer all kept: nothing to replay faithfully
            raise Fail(1201, "Wrong trackingNumber")
        peer.streams[sid] = (kind, q, self._tracking)
        if start is not None:
            for number, event_kind, owner, payload in list(self.events):
                if number > start and event_kind == kind and owner in (None, peer.mp):
                    peer.write({"q": q, "sid": sid, "d": self._view(peer, owner, payload)})

    def _publish(self) -> None:
        touched = {p["instrument"] for _, _, p in self._pending if "instrument" in p}
        for symbol in touched & self._running.keys():
            self._indicate(symbol)
        self._publish_streams()
        if touched:
            self._md_api.publish(touched, self._new_trades)
        self._new_trades.clear()

    def _publish_streams(self) -> None:
        pending, self._pending = self._pending, []
        for kind, owner, payload in pending:
            if kind == "executionReports" and owner is not None:
                event = self.broker.order_event(payload)
                if event is not None:
                    self._broker_write(owner, event)
            for peer in list(self.peers):
                if owner is not None and owner != peer.mp:
                    continue
                for sid, (stream_kind, q, opened_at) in list(peer.streams.items()):
                    # Events up to the opening were replayed (or predate the stream); a
                    # real-time one (no tracking number) goes to the streams open now.
                    if (
                        stream_kind == kind
                        and payload.get("trackingNumber", opened_at + 1) > opened_at
                    ):
                        peer.write({"q": q, "sid": sid, "d": self._view(peer, owner, payload)})

    def _view(self, peer: Peer, owner: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload`` as ``peer`` may see it: a public event (no ``owner``) tells of other
        participants only what :attr:`market_identity` allows."""
        if self.market_identity == "disclosed" or owner is not None or peer.mp is None:
            return payload
        own = self.participant(peer.mp).mp_id
        seen = dict(payload)
        for id_key, own_ids in _IDENTITIES:
            mp_id = seen.get(id_key)
            if mp_id is None or mp_id == own or mp_id == -1:  # -1: the System's
                continue
            if self.market_identity == "pseudonymous":
                seen[id_key] = _pseudonym(mp_id)
            else:
                del seen[id_key]
            for key in own_ids:
                seen.pop(key, None)
        return seen

    def participant(self, key: str) -> Participant:
        """The participant a session key stands for (an API key, ``trader:<token or
        user>``, or the name a test acts under, as in ``sim.place_order("other-mp", ...)``):
        numbered from 1 in the order the simulator first meets them."""
        found = self._participants.get(key)
        if found is None:
            number = len(self._participants) + 1
            found = self._participants[key] = Participant(number, f"Participant{number}")
        return found

    def _emit(self, kind: str, owner: str | None, payload: dict[str, Any]) -> None:
        payload["trackingNumber"] = self._tracking
        if kind == "trades" and owner is not None:  # every trade passes here: book, RFQ...
            self.positions.apply(owner, payload)
        events = self.events
        if len(events) == events.maxlen:
            self._forgotten = events[0][0]  # pushed out by this append
        events.append((self._tracking, kind, owner, payload))
        self._pending.append((kind, owner, payload))
        if not self._publishing:
            # A request publishes after its reply; a test acting for another participant
            # (``sim.place_order("other-mp", ...)``) has no request: publish on the next
            # turn, or nobody would hear of it before the client's next request.
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # no event loop: no peer to publish to either
                return
            self._publishing = True
            spawn(self._tasks, self._publish_due())

    async def _publish_due(self) -> None:
        self._publishing = False
        self._publish()

    def _balances_changed(self, ledger_account_id: int) -> None:
        """Send the account's balances to the ``accountBalance`` streams of it."""
        snapshot = None
        for peer in self.peers:
            for sid, (q, streamed) in peer.balances.items():
                if streamed == ledger_account_id:
                    snapshot = snapshot or self.ledger.snapshot(ledger_account_id)
                    peer.write({"q": q, "sid": sid, "d": snapshot})
            for sid, (kind, q, _) in peer.broker.items():
                if (
                    kind == "balance"
                    and peer.mp is not None
                    and self.broker.ledger_account(peer.mp) == ledger_account_id
                ):
                    for item in self.broker.balances(ledger_account_id):
                        peer.write({"q": q, "sid": sid, "d": item})

    def _next_action(self) -> int:
        self._tracking += 1
        return self._tracking

    def _now_ns(self) -> int:
        return int(self.clock() * 1e9)

    # -- the matching engine --------------------------------------------------------------

    @_acts
    def place_order(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``placeOrder`` for participant ``mp`` (an API key) with request data ``d``, as
        if it came over the wire: checked, matched, streamed; returns the reply's items.
        Raises ``Fail`` with Exberry's error code for what the venue refuses."""
        missing = [
            k for k in ("mpOrderId", "orderType", "side", "instrument", "quantity") if k not in d
        ]
        if missing:
            raise Fail(1000, f"Missing fields: {', '.join(missing)}")
        if not typed(d, _PLACE_ORDER_TYPES):
            raise Fail(1001, "Invalid request data")
        order_type, side, instrument = d["orderType"], d["side"], d["instrument"]
        quantity, price = d["quantity"], d.get("price")
        tif = d.get("timeInForce", "GTC")
        if order_type not in _ORDER_TYPES or side not in _SIDES or tif not in TIMES_IN_FORCE:
            raise Fail(1001, "Wrong orderType, side or timeInForce value")
        if quantity <= 0:
            raise Fail(1001, "Quantity must be positive")
        stop = d.get("stopPrice")
        _check_prices(order_type, price, stop)
        _check_conditions(d, tif, quantity)
        _check_display(d, d.get("displayMethod"), quantity, order_type, tif)
        check_parties(d.get("parties", []))
        _check_labels(d)
        if instrument not in self.instruments:
            raise Fail(1010, f"Instrument {instrument} not found")
        expires = _expiry(d, tif, self.clock(), self._market(instrument).calendar)
        self._check_trading(instrument)
        auction = self._running.get(instrument)
        check_time_in_force(order_type, tif, auction, d.get("minQuantity"))
        self._check_terms(instrument, quantity, (price, stop), *_display_quantities(d))
        if not isinstance(d["mpOrderId"], int) or (mp, d["mpOrderId"]) in self._used_ids:
            raise Fail(1002, "mpOrderId already in use")
        settled = instrument in self.ledger.settlements
        ledger_account = self.ledger.trading_account(mp, d.get("parties")) if settled else None
        participant = self.participant(mp)
        order: dict[str, Any] = {
            "orderId": next(self._order_ids), "mpOrderId": d["mpOrderId"], "_mp": mp,
            "mpId": participant.mp_id, "mpName": participant.mp_name,
            "orderType": order_type, "side": side, "instrument": instrument,
            "quantity": quantity, "price": price, "timeInForce": tif,
            "filledQuantity": 0, "remainingOpenQuantity": quantity,
            "orderTimestamp": self._now_ns(), "stopPrice": stop,
            "status": "Suspended" if order_type in _STOPS else "Active",
            "minQuantity": d.get("minQuantity"), "stpAction": d.get("stpAction"),
            "parties": d.get("parties"), "accountType": d.get("accountType"),
            "metadata": d.get("metadata"), "expiryDate": d.get("expiryDate"),
            "expiryDay": d.get("expiryDay"), "_expires": expires,
            "marketModel": "T" if auction is None else auction.market_model,
            "lastEventId": None, "_last_event": 0,  # set by its first report
            **{k: d.get(k) for k in _DISPLAY_MEMBERS}, "_shown": None,
            "_ledger": ledger_account, "_implied": None,
        }  # fmt: skip
        self._hold(order)  # 2000 if the account lacks what the order may deliver
        self._used_ids.claim((mp, d["mpOrderId"]))
        self.orders[order["orderId"]] = order
        if len(self.orders) > self._orders_cap:
            self._prune_orders()
        self._next_action()
        if order["status"] == "Suspended":
            self._suspend(order)
        else:
            self._match(order)
        self._trigger_stops(instrument)
        return [{"orderId": order["orderId"], "orderStatus": "Pending"}]

    # -- instrument states ----------------------------------------------------------------

    @_acts
    def set_instrument_status(
        self,
        symbol: str,
        *,
        tradingStatus: str | None = None,
        marketStatus: str | None = None,
        status: str | None = None,
    ) -> None:
        """Change an instrument's state as the venue's operator or calendar would:
        ``tradingStatus`` ``Trade``/``Halt``, ``marketStatus`` ``Opened``/``Closed``/
        ``AuctionCall``/``AuctionCrossing``, ``status`` ``Active``/``Disabled``. The
        ``orderBookDepth`` stream hears an ``InstrumentStatus`` event with the members
        that changed; ``lightTickers`` show it (a disabled instrument is a "Wrong symbol"
        item there). Until it is open again, orders, cancels, replaces and mass cancels of
        the instrument are refused: ``1004`` disabled, ``1003`` closed, ``1009`` halted,
        ``1030`` crossing (resting orders stay, and GTD/DAY ones still expire).

        ``marketStatus`` ``AuctionCall`` (or ``AuctionCrossing``) starts an auction with
        the default terms (:meth:`start_auction` takes others), ``Opened`` ends it with
        its uncross, ``Closed`` without one. ``tradingStatus`` ``Trade`` after a halt
        starts the calendar's ``Resume`` auction (``auctions=``) if it has one."""
        if symbol not in self.instruments:
            raise ValueError(f"unknown instrument {symbol!r}")
        asked = {"tradingStatus": tradingStatus, "marketStatus": marketStatus, "status": status}
        for name, value in asked.items():
            if value is not None and value not in _INSTRUMENT_STATES[name]:
                choices = ", ".join(_INSTRUMENT_STATES[name])
                raise ValueError(f"{name} must be one of {choices}, not {value!r}")
        state = self.instrument_status[symbol]
        changed = {k: v for k, v in asked.items() if v is not None and state[k] != v}
        market = changed.pop("marketStatus", None)
        if changed:
            self._set_states(symbol, changed)
            auction = self._running.get(symbol)
            if auction is not None and auction.ends is not None:
                self._arm(auction.ends)  # resumed: an auction's end may be due now
        if market is not None:
            self._move_market(symbol, market)
        elif changed.get("tradingStatus") == "Trade" and state["marketStatus"] == "Opened":
            resume = self._market(symbol).calendar.auction("Resume")
            if resume is not None:  # a halt ends with an (unscheduled) auction
                self._start_auction(symbol, resume)
        self._trigger_stops(symbol)  # those due while it was not open

    def _set_states(self, symbol: str, changed: dict[str, str]) -> None:
        """Take the instrument's new states (one action) and tell the book stream (and
        the instrument lists, of a new ``status``: their ``activityStatus``)."""
        self.instrument_status[symbol].update(changed)
        if "status" in changed:
            self.instruments[symbol]["activityStatus"] = changed["status"].upper()
            self._md_api.instrument_changed(symbol)
        self._next_action()
        self._emit("orderBookDepth", None, {
            "messageType": "InstrumentStatus", "eventTimestamp": self._now_ns(),
            "instrument": symbol, **changed,
        })  # fmt: skip

    def _move_market(self, symbol: str, to: str) -> None:
        """The one path of ``marketStatus`` changes: an auction state starts an auction if
        none runs, and leaving the auction states ends it."""
        if to.startswith("Auction") and symbol not in self._running:
            self._start_auction(symbol, auction_terms({}))
        if to in ("Opened", "Closed") and symbol in self._running:
            self._end_auction(symbol, uncross=to == "Opened", then=to)
        elif self.instrument_status[symbol]["marketStatus"] != to:
            self._set_states(symbol, {"marketStatus": to})

    # -- auctions -------------------------------------------------------------------------

    @_acts
    def start_auction(self, /, symbol: str, **terms: Any) -> None:
        """Start an auction of ``symbol`` now, as its calendar or the operator would.
        ``terms`` are ``calendarList`` auction members: ``duration`` (ms; none: until
        ``set_instrument_status(symbol, marketStatus="Opened")``), ``allowedTimeInForces``
        (of GTC, GTD, IOC, GAA, DAY; all by default), ``eventsModes`` (``LIT``: the book
        stream shows the orders as they come, else at the crossing; ``INDICATIVE_PRICE``:
        ``AuctionIndicativeEP`` events), ``trigger`` (``Resume``/``AutoResume``: an
        unscheduled auction, ``marketModel``/``tradingMode`` ``UA``, else ``A``/``IA``).

        In the call phase (``AuctionCall``) orders rest without trading (limit orders of
        the allowed times in force, market orders ``IOC``; others ``1030``, ``minQuantity``
        ``1033``); at the end the auction crosses (``AuctionCrossing``: ``1030``) at the
        equilibrium price, cancels what is left of ``GAA`` (``Expiration``) and ``IOC``
        (``ImmediateOrder``) orders, opens, and triggers the stop orders its price reached.
        ``ValueError`` for an unknown instrument, one in an auction, or bad terms."""
        if symbol not in self.instruments:
            raise ValueError(f"unknown instrument {symbol!r}")
        if symbol in self._running:
            raise ValueError(f"{symbol} is in an auction already")
        self._start_auction(symbol, auction_terms(terms))

    def _start_auction(self, symbol: str, terms: dict[str, Any]) -> None:
        duration = terms["duration"]
        ends = None if duration is None else self.clock() + duration / 1000
        self._running[symbol] = Auction(terms, ends)
        self._set_states(symbol, {"marketStatus": "AuctionCall"})
        if ends is not None:
            self._arm(ends)

    def _end_auction(self, symbol: str, uncross: bool, then: str) -> None:
        """End ``symbol``'s auction, crossing it if ``uncross``, and move its market to
        ``then`` (``Opened``, or ``Closed``: the calendar's market may have closed)."""
        auction = self._running[symbol]
        if uncross and self.instrument_status[symbol]["marketStatus"] != "AuctionCrossing":
            self._set_states(symbol, {"marketStatus": "AuctionCrossing"})
        self._next_action()
        for order in auction.dark:  # the book hears of the orders it was not shown
            order["_dark"] = False
            if order["status"] == "Active" and order["displayMethod"] != "Hidden":
                self._book_event("Add", order, quantity=visible(order))
        if uncross:
            self._uncross(symbol, auction)
        del self._running[symbol]
        book = self.books[symbol]
        for order in [o for side in book.values() for o in side]:
            if order["timeInForce"] in ("GAA", "IOC"):  # good for the auction only
                self._next_action()
                self._cancel(
                    order, "Expiration" if order["timeInForce"] == "GAA" else "ImmediateOrder"
                )
        self._set_states(symbol, {"marketStatus": then})
        self._trigger_stops(symbol)

    def _equilibrium(self, symbol: str) -> Uncross:
        book = self.books[symbol]
        trades = [row[0] for row in self.trade_log[symbol] if row[1] > 0]
        return equilibrium(
            [(o["price"], o["remainingOpenQuantity"]) for o in book["Buy"]],
            [(o["price"], o["remainingOpenQuantity"]) for o in book["Sell"]],
            trades[-1] if trades else None,
            functools.partial(self._exact, symbol),
        )

    def _uncross(self, symbol: str, auction: Auction) -> None:
        """Trade the auction's paired quantity at its equilibrium price, the orders of
        each side in priority (market orders, then the best prices, then time); of each
        pair the older order is the maker, and what it hides trades as
        ``NonDisplayTrade``."""
        result = self._equilibrium(symbol)
        price = result.price
        if price is None:
            return
        book = self.books[symbol]
        buys = [o for o in book["Buy"] if o["price"] is None or o["price"] >= price]
        sells = [o for o in book["Sell"] if o["price"] is None or o["price"] <= price]
        left = result.paired
        while left > 0 and buys and sells:
            buy, sell = buys[0], sells[0]
            qty = min(buy["remainingOpenQuantity"], sell["remainingOpenQuantity"], left)
            qty = self._affordable(buy, qty, price)
            if qty <= 0:  # a market buy its account cannot pay for more of
                buys.pop(0)
                continue
            maker, taker = sorted((buy, sell), key=itemgetter("_arrival"))
            shown = min(qty, visible(maker))
            hidden = self._exact(symbol, qty - shown)
            for part, is_hidden in ((shown, False), (hidden, True)):
                if part > 0:  # (a resting taker's slice goes first: _execute)
                    self._fill(maker, taker, part, price, is_hidden, auction.trading_mode)
            left = self._exact(symbol, left - qty)
            for side in (buys, sells):
                if side[0]["remainingOpenQuantity"] <= 0:
                    side.pop(0)
        for side in book.values():
            self._tidy(side)

    def _indicative(self, symbol: str) -> dict[str, Any]:
        """``symbol``'s ``AuctionIndicativeEP`` members now: the equilibrium price, its
        paired quantity and imbalance, or without one (``NA``) the best prices and their
        quantities (0 for an empty side; all 0 outside an auction)."""
        best: dict[str, float] = dict.fromkeys(
            ("bestBuyPrice", "bestBuyQuantity", "bestSellPrice", "bestSellQuantity"), 0
        )
        if symbol not in self._running:
            return {"indicativePrice": 0, "pairedQuantity": 0, "imbalanceQuantity": 0,
                    "imbalanceSide": "NA", **best}  # fmt: skip
        result = self._equilibrium(symbol)
        if result.price is None:
            for side, prefix, pick in (("Buy", "bestBuy", max), ("Sell", "bestSell", min)):
                orders = [o for o in self.books[symbol][side] if o["price"] is not None]
                if orders:
                    top = pick(o["price"] for o in orders)
                    at_top = sum(o["remainingOpenQuantity"] for o in orders if o["price"] == top)
                    best[f"{prefix}Price"] = top
                    best[f"{prefix}Quantity"] = self._exact(symbol, at_top)
        return {
            "indicativePrice": result.price or 0, "pairedQuantity": result.paired,
            "imbalanceQuantity": result.imbalance, "imbalanceSide": result.side, **best,
        }  # fmt: skip

    def _indicate(self, symbol: str) -> None:
        """Publish ``symbol``'s indicative price if it changed (its auction has
        ``INDICATIVE_PRICE`` events): real time only, without a tracking number, so a
        stream opened later never replays it (REFERENCE 6)."""
        auction = self._running[symbol]
        item = self._indicative(symbol)
        if item == auction.indicative or not auction.indicates:
            return
        auction.indicative = item
        self._pending.append(("orderBookDepth", None, {
            "eventId": next(self._event_ids), "messageType": "AuctionIndicativeEP",
            "eventTimestamp": self._now_ns(), "instrument": symbol, **item,
        }))  # fmt: skip

    def _market(self, symbol: str) -> Market:
        """The market of ``symbol``'s calendar."""
        return self._markets[self.instruments[symbol]["calendarId"]]

    def _listed(self, market: Market, running: bool = False) -> list[str]:
        """The instruments of ``market``'s calendar (but those in an auction unless
        ``running``)."""
        key = market.calendar.members["id"]
        return [
            symbol
            for symbol, definition in self.instruments.items()
            if definition["calendarId"] == key and (running or symbol not in self._running)
        ]

    def _trading(self, symbol: str) -> bool:
        """Whether trading requests of ``symbol`` are taken (see :meth:`_check_trading`)."""
        try:
            self._check_trading(symbol)
        except Fail:
            return False
        return True

    def _check_trading(self, symbol: str) -> None:
        """Refuse a trading request on an instrument that is not open for trading, with
        the code its state has in Exberry's error tables."""
        state = self.instrument_status[symbol]
        if state["status"] == "Disabled":
            raise Fail(1004, "Instrument trading is not allowed")
        if state["marketStatus"] == "Closed":
            raise Fail(1003, "Market is closed")
        if state["tradingStatus"] == "Halt":
            raise Fail(1009, "Instrument trading is halt")
        if state["marketStatus"] == "AuctionCrossing":
            raise Fail(1030, "Trading is not allowed during crossing")

    def _off_book_refusal(self, symbol: str) -> Fail | None:
        """Why off-book trading (trade reports, RFQs) of ``symbol`` is refused now, if it
        is: as orders are, and in an auction's call phase too (a trade off the book
        cannot wait for the uncross)."""
        try:
            self._check_trading(symbol)
        except Fail as refused:
            return refused
        if self.instrument_status[symbol]["marketStatus"] == "AuctionCall":
            return Fail(1030, "Trading is not allowed during auction call")
        return None

    def _check_reporting(self, symbol: str) -> None:
        """Refuse trade reporting on an instrument not open for it: code ``102`` with the
        state's message, as ``cancelAllegedTradeReport``'s table words them (a reading
        for ``createTradeReport``, whose table defers to the admin API's)."""
        refused = self._off_book_refusal(symbol)
        if refused is not None:
            raise Fail(102, refused.message)

    def _check_rfq(self, symbol: str) -> None:
        """Refuse an RFQ request (all five) on an instrument not open for it, as the RFQ
        API's tables word it: ``1003``, ``1004``, ``1009`` "halted", and ``1018`` "Trading
        is not allowed" in an auction (a reading: the one state refusal they list
        besides)."""
        refused = self._off_book_refusal(symbol)
        if refused is None:
            return
        if refused.code == 1009:
            raise Fail(1009, "Instrument trading is halted")
        if refused.code == 1030:  # an auction
            raise Fail(1018, "Trading is not allowed")
        raise refused

    def _suspend(self, order: dict[str, Any]) -> None:
        """Hold stop ``order`` off the book until its trigger (its owner hears
        ``Suspended``)."""
        self._stops[order["instrument"]].append(order)
        self._report("Suspended", order)
        if order["_expires"] is not None:
            self._arm(order["_expires"])

    def _trigger_stops(self, instrument: str) -> None:
        """Activate the suspended stop orders the last trade price has reached, oldest
        first, each trading as a new order (a Stop or MIT at market, a StopLimit or LIT at
        its price); their trades may reach more. Buy Stop/StopLimit trigger at or above
        their stopPrice, sell ones at or below; MIT and LIT the other way round. Only
        while the instrument is ``Opened`` and trading (an auction's uncross triggers them
        by its price), and only by a trade since the market opened."""
        state = self.instrument_status[instrument]
        if instrument in self._running or state != _OPEN_FOR_TRADING:
            return
        stops, log = self._stops[instrument], self.trade_log[instrument]
        while stops:
            row = next((row for row in reversed(log) if row[1] > 0), None)
            if row is None or row[3] < self._market(instrument).since * 1000:
                return
            order = next((o for o in stops if _triggered(o, row[0])), None)
            if order is None:
                return
            stops.remove(order)
            order["status"] = "Active"
            self._match(order)

    def _check_terms(
        self,
        instrument: str,
        quantity: float,
        prices: tuple[float | None, ...],
        *display: float,
        ticked: bool = True,
    ) -> None:
        """The instrument's rules (REFERENCE 5): precision ``1005`` (of the ``display``
        quantities and every price too), quantity bounds ``1006``, tick size ``1014``
        (unless not ``ticked``: trade reports are priced off the book)."""
        rules = self.instruments[instrument]
        for name, value, places in (
            *(("Price", p, rules["pricePrecision"]) for p in prices),
            *(("Quantity", q, rules["quantityPrecision"]) for q in (quantity, *display)),
        ):
            if value is not None and _decimals(value) > places:
                raise Fail(
                    1005, f"{name} precision exceeded: {instrument} allows {places} decimals"
                )
        low, high = rules["minQuantity"], rules["maxQuantity"]
        if not low <= quantity <= high:
            raise Fail(1006, f"Quantity must be between {_decimal(low)} and {_decimal(high)}")
        for price in prices if ticked else ():
            # Exact at any size (a Decimal remainder of 1e30 overflows its context).
            if price is not None and Fraction(repr(price)) % Fraction(repr(self.tick_size)):
                raise Fail(
                    1014, f"Price {price} is not a multiple of the tick size {self.tick_size}"
                )

    def _exact(self, instrument: str, quantity: float) -> float:
        """``quantity`` rounded to the instrument's precision: sums and differences of
        quantities stay the decimals the venue would compute, not binary residues."""
        places: int = self.instruments[instrument]["quantityPrecision"]
        return round(quantity, places)

    def _open_orders(self, instrument: str) -> int:
        """How many orders are open on ``instrument`` (resting or suspended)."""
        return sum(map(len, self.books[instrument].values())) + len(self._stops[instrument])

    def _exposure(self, order: dict[str, Any]) -> Decimal:
        """What open ``order`` may deliver: a sell its open quantity (of the base asset),
        a buy its open quantity times its limit price (of the quote asset; a market-to-limit
        one's the best offer it takes; nothing without a price: it pays as it trades)."""
        left = _decimal(order["remainingOpenQuantity"])
        if order["side"] == "Sell" or not left:
            return left
        price, instrument = order["price"], order["instrument"]
        if (
            price is None
            and order["orderType"] == "MarketToLimit"
            and instrument not in self._running
        ):
            offers = self.books[instrument]["Sell"]
            price = offers[0]["price"] if offers else None
        return Decimal(0) if price is None else left * _decimal(price)

    def _hold(self, order: dict[str, Any]) -> None:
        """Make ``order`` hold in the ledger what it may deliver (``_exposure``) if its
        instrument settles there: ``2000`` if its account lacks that."""
        settlement = self.ledger.settlements.get(order["instrument"])
        if settlement is None or order["_ledger"] is None:
            return
        asset = settlement.base if order["side"] == "Sell" else settlement.quote
        self.ledger.hold(order["orderId"], order["_ledger"], asset.assetId, self._exposure(order))

    def _affordable(
        self, order: dict[str, Any], qty: float, price: float, spent: Decimal = Decimal(0)
    ) -> float:
        """``qty``, or what less of it a buy without a price (which holds nothing) can pay
        for at ``price`` in a settled instrument after spending ``spent`` more (a walk of
        the book; a fill's earlier trades are paid already)."""
        if order["side"] == "Sell" or order["price"] is not None or order["_ledger"] is None:
            return qty
        instrument = order["instrument"]
        can = self.ledger.affordable(
            order["_ledger"], self.ledger.settlements[instrument].quote.assetId,
            _decimal(price), self.instruments[instrument]["quantityPrecision"], spent,
        )  # fmt: skip
        return min(qty, float(can))

    def _open_order_ids(self) -> Iterator[tuple[str, int]]:
        """The mpOrderIds of the orders still open: used however old they are."""
        for order in self.orders.values():
            if not _order_closed(order):
                yield order["_mp"], order["mpOrderId"]

    def _prune_orders(self) -> None:
        """Forget all but the newest ``history`` closed orders (resting ones stay)."""
        forget_closed(self.orders, _order_closed, self.history)
        self._orders_cap = len(self.orders) + self.history

    def _match(self, taker: dict[str, Any], requeue: bool = False) -> None:
        """Trade incoming ``taker`` against the book, a price level at a time, then rest,
        queue (``requeue``: an order the book already shows, replaced) or cancel what is
        left. In an auction's call phase orders rest until the uncross."""
        auction = self._running.get(taker["instrument"])
        if auction is not None:
            if requeue:
                self._queue(taker)
                return
            if not auction.lit:  # the book stream hears of it at the crossing
                taker["_dark"] = True
                auction.dark.append(taker)
            self._rest(taker)
            return
        opposite = self.books[taker["instrument"]]["Sell" if taker["side"] == "Buy" else "Buy"]
        if taker["orderType"] == "MarketToLimit" and taker["price"] is None and opposite:
            # A limit at the best opposite price: it trades there only, and the rest rests
            # at that price (with an empty opposite side it is a market order: cancelled).
            taker["price"] = opposite[0]["price"]
        # FOK fills all or nothing, IOC with minQuantity at least that much or nothing.
        need = taker["quantity"] if taker["timeInForce"] == "FOK" else taker["minQuantity"]
        if need is not None and self._fillable(taker, opposite) < need:
            self._cancel(taker, "ImmediateOrder")
            return
        traded = taker["filledQuantity"]
        while (
            opposite
            and taker["status"] == "Active"
            and taker["remainingOpenQuantity"] > 0
            and _crosses(taker, opposite[0])
        ):
            level = [o for o in opposite if o["price"] == opposite[0]["price"]]
            for maker, hidden in _turns(level):
                if taker["status"] != "Active" or taker["remainingOpenQuantity"] <= 0:
                    break  # filled, or cancelled by self-trade prevention
                if maker["status"] != "Active":
                    continue  # filled or cancelled on an earlier turn
                if taker["stpAction"] is not None and maker["_mp"] == taker["_mp"]:
                    self._prevent_self_trade(taker, maker)
                    continue
                available = self._reserve(maker) if hidden else visible(maker)
                qty = min(available, taker["remainingOpenQuantity"])
                qty = self._affordable(taker, qty, maker["price"])
                if qty > 0:
                    self._fill(maker, taker, qty, maker["price"], hidden)
            # Always, however the level's turns ended: the orders they filled leave the
            # book and spent display slices are renewed (a taker that self-trade
            # prevention stopped half-way had left a filled order on the book as a 0 level).
            self._tidy(opposite)
            if all(maker["status"] == "Active" for maker in level):
                break  # nothing traded (a guard: every turn above takes what it is shown)
        if taker["status"] == "Cancelled":
            return  # by self-trade prevention
        if taker["remainingOpenQuantity"] <= 0:
            taker["status"] = "Executed"
        elif taker["price"] is None or taker["timeInForce"] in ("IOC", "FOK"):  # at market
            self._cancel(taker, "ImmediateOrder")
        elif requeue and (taker["_shown"] is None or taker["filledQuantity"] == traded):
            self._queue(taker)
        elif requeue:  # a display order that traded as the taker: a fresh slice
            self._rest(taker, report=False)
        else:
            self._rest(taker)

    def _prevent_self_trade(self, taker: dict[str, Any], maker: dict[str, Any]) -> None:
        """Apply the taker's ``stpAction`` to its own resting ``maker``: cancel the maker,
        the taker or both."""
        stp = taker["stpAction"]
        if stp != "CancelIncomingOrder":
            self._cancel(
                maker, "STPRestingOrder" if stp == "CancelRestingOrder" else "STPBothOrders"
            )
        if stp != "CancelRestingOrder":
            reason = "STPIncomingOrder" if stp == "CancelIncomingOrder" else "STPBothOrders"
            self._cancel(taker, reason)

    def _fillable(self, taker: dict[str, Any], opposite: list[dict[str, Any]]) -> float:
        """How much of ``taker`` the book would fill now: the crossing levels in turn, up
        to an own order that self-trade prevention stops at (FOK and IOC orders only take
        ``CancelIncomingOrder``)."""
        total, spent = 0.0, Decimal(0)
        prices = list(dict.fromkeys(o["price"] for o in opposite if _crosses(taker, o)))
        for price in prices:
            for maker, hidden in _turns([o for o in opposite if o["price"] == price]):
                if taker["stpAction"] is not None and maker["_mp"] == taker["_mp"]:
                    return self._exact(taker["instrument"], total)
                shown = self._reserve(maker) if hidden else visible(maker)
                # What the taker's account pays for (less of the book: it stops there).
                taken = self._affordable(taker, shown, price, spent)
                total += taken
                if taken < shown:
                    return self._exact(taker["instrument"], total)
                spent += _decimal(taken) * _decimal(price)
        return self._exact(taker["instrument"], total)

    def _rest(self, order: dict[str, Any], report: bool = True) -> None:
        """Put ``order`` on the book with a fresh display slice, showing what it displays
        (``report``: tell its owner; an iceberg's refilled slice is news to the book only)."""
        order["_shown"] = self._slice(order)
        self._queue(order)
        if order["displayMethod"] != "Hidden":
            self._book_event("Add", order, quantity=visible(order))
        if report:
            self._report("Add", order)

    def _queue(self, order: dict[str, Any]) -> None:
        """Put ``order`` on its side of the book, last at its price (price-time priority;
        hidden orders after the displayed ones at a price; an auction's market orders
        first)."""
        side = self.books[order["instrument"]][order["side"]]
        order["_arrival"] = next(self._arrivals)  # not reported: "_" members are internal
        side.append(order)
        sign = -1 if order["side"] == "Buy" else 1
        side.sort(
            key=lambda o: (
                -math.inf if o["price"] is None else sign * o["price"],
                o["displayMethod"] == "Hidden",
                o["_arrival"],
            )
        )
        if order["_expires"] is not None:
            self._arm(order["_expires"])

    def _reserve(self, order: dict[str, Any]) -> float:
        """What the book does not show of ``order``."""
        return self._exact(order["instrument"], order["remainingOpenQuantity"] - visible(order))

    def _slice(self, order: dict[str, Any]) -> float | None:
        """The working display quantity of resting ``order``: ``None`` for a plain order
        (it shows all), 0 for a hidden one, else its ``displayQuantity`` or a random size
        between its low and high (at most what is left)."""
        method = order["displayMethod"]
        if method is None:
            return None
        if method == "Hidden":
            return 0
        if method == "DisplayQuantity":
            size = order["displayQuantity"]
        else:
            size = self._exact(
                order["instrument"],
                self._random.uniform(order["displayLowQuantity"], order["displayHighQuantity"]),
            )
            size = min(max(size, order["displayLowQuantity"]), order["displayHighQuantity"])
        return float(min(size, order["remainingOpenQuantity"]))

    def _working(self, order: dict[str, Any]) -> dict[str, Any]:
        """``workingDisplayQuantity``/``workingHiddenQuantity`` of an order with a
        ``displayMethod`` (massOrderStatus)."""
        if order["displayMethod"] is None:
            return {}
        return {
            "workingDisplayQuantity": visible(order),
            "workingHiddenQuantity": self._reserve(order),
        }

    @_acts
    def expire_orders(self) -> int:
        """Cancel the open (resting or suspended) GTD and DAY orders whose expiry
        ``clock()`` has reached, each its own action with ``cancelReason``
        ``Expiration``; returns how many. It runs by itself at the soonest expiry and
        before each request (so a test's own ``clock``, moved on, expires orders at the
        next request or call of this). Alleged trades still unmatched at the market close
        and RFQs at their ``expireTime`` lapse the same way (not counted), auctions
        start at their calendar times and uncross at the end of their ``duration``, and
        the market opens and closes as the calendar says."""
        now = self.clock()
        turned = [market for market in self._markets.values() if market.turned(now)]
        for symbol, auction in list(self._running.items()):
            if auction.ends is not None and auction.ends <= now and self._trading(symbol):
                self._end_auction(symbol, uncross=True, then=self._market(symbol).status)
        for market in self._markets.values():
            terms = market.auction_due(now)
            if terms is None:
                continue
            for symbol in self._listed(market):
                state = self.instrument_status[symbol]  # trading, or closed: an opening
                if state["status"] == "Active" and state["tradingStatus"] == "Trade":
                    self._start_auction(symbol, terms)
        resting = [o for book in self.books.values() for side in book.values() for o in side]
        resting += [o for stops in self._stops.values() for o in stops]
        due = [o for o in resting if o["_expires"] is not None and o["_expires"] <= now]
        for order in due:
            self._next_action()
            self._cancel(order, "Expiration")
        alleged = [a for a in self.alleged_trades.values() if a["status"] == "Active"]
        lapsed = [a for a in alleged if a["_expires"] <= now]
        for trade in lapsed:
            self._next_action()
            self._end_alleged(trade, "Expiration")
        for market in self._markets.values():
            if market.day_ended(now) is not None:  # of a clock jumping several: the last
                self._end_of_day(market)
        for market in turned:  # its instruments in an auction move when that ends
            for symbol in self._listed(market):
                self._move_market(symbol, market.status)
                self._trigger_stops(symbol)
        later = (
            [o["_expires"] for o in resting if o["_expires"] is not None and o["status"] in _OPEN]
            + [a["_expires"] for a in alleged if a["status"] == "Active"]
            + [self.rfq.expire(now)]
            + [market.next_moment for market in self._markets.values()]
            # A halted auction's end waits for the resume (which arms it again).
            + [a.ends for s, a in self._running.items() if a.ends is not None and self._trading(s)]
        )
        self._next_expiry = math.inf
        # Only what lies ahead: whatever is still due now waits for the change that lets
        # it happen (re-arming a past moment would run this again at once, for ever).
        self._arm(min((t for t in later if t > now), default=math.inf))
        return len(due)

    def _end_of_day(self, market: Market) -> None:
        """The end of ``market``'s last day: a ``CalendarEndOfDay`` event on
        ``orderBookDepth`` and on every participant's ``trades`` stream (one action: they
        share a tracking number, as the samples show), then the day's end for the
        positions in its instruments and, for the first calendar, the ledger (holdings,
        lapsed transfers)."""
        day, members = market.last_eod, market.calendar.members
        calendar = {"calendarId": members["id"], "calendarName": members["name"],
                    "eodDate": day}  # fmt: skip
        self._next_action()
        self._emit("orderBookDepth", None, {
            "messageType": "CalendarEndOfDay", "eventTimestamp": self._now_ns(), **calendar,
        })  # fmt: skip
        self._emit("trades", None, {
            "actionType": "CalendarEndOfDay", "timestamp": self._now_ns(), **calendar,
        })  # fmt: skip
        self.positions.end_of_day(day, self._listed(market, running=True))
        if market is next(iter(self._markets.values())):  # the ledger's is the venue's day
            self.ledger.end_of_day(day)
        self._md_api.calendar_changed(market)

    def _arm(self, expires: float) -> None:
        """Have :meth:`expire_orders` run at ``expires`` if that is sooner than planned."""
        if expires >= self._next_expiry:
            return
        self._next_expiry = expires
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop: requests check the expiry on arrival
            return
        # Looked at again within a minute: the wall clock and the loop's may drift apart.
        wait = min(max(expires - self.clock(), 0.0), 60.0)
        self._expiry_timer = loop.call_later(wait, self._expiry_due)

    def _expiry_due(self) -> None:
        self._expiry_timer = None
        if self.clock() >= self._next_expiry:
            self.expire_orders()
        else:  # woken early (the minute cap, or a clock of the test's own)
            expires, self._next_expiry = self._next_expiry, math.inf
            self._arm(expires)

    def _tidy(self, side: list[dict[str, Any]]) -> None:
        """Take the orders that trading filled off a book ``side``, and give those whose
        display slice it used up a new one, last at their price."""
        done = [
            o for o in side
            if o["status"] == "Executed" or (o["_shown"] == 0 and o["displayMethod"] != "Hidden")
        ]  # fmt: skip
        for order in done:
            side.remove(order)
            if order["status"] != "Executed":
                self._rest(order, report=False)

    def _fill(
        self,
        maker: dict[str, Any],
        taker: dict[str, Any],
        qty: float,
        price: float,
        hidden: bool,
        mode: str = "CT",
    ) -> None:
        """Trade ``qty`` at ``price``; ``hidden``: from what the maker does not show (the
        book hears ``NonDisplayTrade``, not ``Executed``); ``mode``: the ``tradingMode``
        (``CT`` continuous, ``IA``/``UA`` in an auction)."""
        if maker["_implied"] is not None or taker["_implied"] is not None:
            self._fill_implied(maker, taker, qty)
            return
        match_id = self._trade(
            maker["instrument"], price, qty, _Party(maker, maker, maker["side"]),
            _Party(taker, taker, taker["side"]), hidden, mode,
        )  # fmt: skip
        if maker["instrument"] in self.ledger.settlements:
            buyer, seller = (maker, taker) if maker["side"] == "Buy" else (taker, maker)
            self.ledger.trade(
                maker["instrument"], match_id, _decimal(qty), _decimal(price),
                *(Leg(o["orderId"], o["_ledger"], self._exposure(o)) for o in (buyer, seller)),
            )  # fmt: skip

    def _trade(
        self,
        instrument: str,
        price: float,
        qty: float,
        maker: _Party,
        taker: _Party,
        hidden: bool = False,
        mode: str = "CT",
    ) -> int:
        """One trade of ``instrument``: the parties' orders fill, the book stream hears
        ``Executed`` (or ``NonDisplayTrade``), the orders' owners ``Executed`` reports,
        the records' owners ``trades`` records, the Market Data API a trade; returns its
        ``tradeId``."""
        match_id = next(self._match_ids)
        kind = self._reporting(instrument, maker.legs is not None or taker.legs is not None)
        row = [price, qty, maker.side, self._now_ns() // 10**6, kind]
        remember(self.trade_log[instrument], row, self.history)
        self._new_trades.setdefault(instrument, []).append(row)
        for party in (maker, taker):
            if party.order is not None:
                self._execute(party.order, qty, not (hidden and party is maker))
        self._emit("orderBookDepth", None, {
            "messageType": "NonDisplayTrade" if hidden else "Executed",
            "eventId": next(self._event_ids), "eventTimestamp": self._now_ns(),
            "instrument": instrument, **_trader("maker", maker.order),
            **_trader("taker", taker.order), "matchId": match_id, "executedQuantity": qty,
            "executedPrice": price,
        })  # fmt: skip
        for party, role in ((maker, "Maker"), (taker, "Taker")):
            if party.order is not None and party.order["_mp"] is not None:
                self._report(
                    "Executed", party.order, lastFilledQuantity=qty, lastFilledPrice=price,
                    matchId=match_id, makerTaker=role, tradingMode=mode,
                )  # fmt: skip
            owner = party.record
            if owner is None:
                continue
            ids = (
                {} if party.legs else {"orderId": owner["orderId"], "mpOrderId": owner["mpOrderId"]}
            )
            self._emit("trades", owner["_mp"], {
                "eventId": next(self._event_ids), "timestamp": self._now_ns(),
                "actionType": "MatchedTrade", **ids, "mpId": owner["mpId"],
                "mpName": owner["mpName"], "instrumentId": self._instrument_id(instrument),
                "instrument": instrument, "side": party.side, "price": price,
                "quantity": qty, "tradeId": match_id, "makerTaker": role, "tradingMode": mode,
                "tradeDate": self._trade_date(instrument),
                "multiLegReportingType": self._reporting(instrument, party.legs is not None),
                **{k: owner[k] for k in ("accountType", "parties") if owner.get(k)},
                **(party.legs or {}),
            })  # fmt: skip
        return match_id

    def _reporting(self, instrument: str, allocated: bool) -> str:
        """The ``multiLegReportingType`` of a trade of ``instrument`` (``allocated``: a
        strategy order's leg trade)."""
        if allocated:
            return "IndividualLeg"
        return "MultiLegSecurity" if instrument in self.strategies else "SingleSecurity"

    def _execute(self, order: dict[str, Any], qty: float, shown: bool) -> None:
        """Fill ``qty`` of ``order`` (``shown``: of what its display slice shows; a
        taker's slice is renewed when it rests again)."""
        instrument = order["instrument"]
        if order["_shown"] and shown:
            order["_shown"] = max(self._exact(instrument, order["_shown"] - qty), 0.0)
        order["filledQuantity"] = self._exact(instrument, order["filledQuantity"] + qty)
        order["remainingOpenQuantity"] = self._exact(
            instrument, order["remainingOpenQuantity"] - qty
        )
        if order["remainingOpenQuantity"] <= 0:
            order["status"] = "Executed"

    # -- implied orders (``_exberry_implied``) ------------------------------------------

    def _settle(self) -> None:
        """After an action: the implied orders follow the books, and the stop orders that
        implied trades reached trigger, until nothing changes."""
        while True:
            self._imply()
            traded, self._traded = self._traded, set()
            if not traded:
                return
            for symbol in sorted(traded):
                self._trigger_stops(symbol)

    def _imply(self) -> None:
        """Withdraw the implied orders the books no longer make (``BaseOrderChanged``) and
        add those they make now, until they agree."""
        changed = True
        while changed:
            changed = False
            for strategy in self.strategies.values():
                if strategy.implied:
                    changed |= self._imply_strategy(strategy)

    def _imply_strategy(self, strategy: Strategy) -> bool:
        live = all(self._trading(s) and s not in self._running for s in strategy.instruments)
        wanted: dict[tuple[str, str], Quote] = {}
        for quote in implied_quotes(strategy, self._best) if live else ():
            orderable = self._orderable(quote)
            if orderable is not None:
                wanted[orderable.target, orderable.side] = orderable
        changed = False
        for order in self._implied_orders(strategy):
            kept = wanted.get((order["instrument"], order["side"]))
            # Its remaining quantity too: an iceberg base shows the same slice again
            # after a fill, so the quote can be unchanged while the order traded.
            if (
                kept is not None
                and kept == order["_implied"][1]
                and (order["remainingOpenQuantity"] == float(kept.quantity))
            ):
                del wanted[kept.target, kept.side]  # as it was
            else:
                self._cancel(order, "BaseOrderChanged")
                changed = True
        for quote in wanted.values():
            if not self._crosses_implied(quote):  # implied orders never trade together
                self._add_implied(strategy, quote)
                changed = True
        return changed

    def _bases(self, instrument: str, side: str) -> list[dict[str, Any]]:
        """The orders of a book side that implied orders are made of: the non-implied ones
        showing a priced quantity, in priority."""
        return [
            o for o in self.books[instrument][side]
            if o["_implied"] is None and o["price"] is not None and visible(o) > 0
        ]  # fmt: skip

    def _best(self, instrument: str, side: str) -> Level | None:
        """The best price of a book side's base orders, and what they show there."""
        shown = self._bases(instrument, side)
        if not shown:
            return None
        price = shown[0]["price"]
        quantity = sum((_decimal(visible(o)) for o in shown if o["price"] == price), Decimal(0))
        return Level(instrument, side, _decimal(price), quantity)

    def _orderable(self, quote: Quote) -> Quote | None:
        """``quote`` as an order may be: its quantity to the coarsest precision of the
        instruments it trades and at most the target's ``maxQuantity``; None when the
        target's rules would refuse such an order (a price off the tick, as an average
        strip's may be, or a quantity below ``minQuantity``) or a leg's price is not
        positive."""
        places = min(
            self.instruments[s]["quantityPrecision"]
            for s in (quote.target, *(level.instrument for level in quote.bases))
        )
        quantity = min(
            quote.quantity.quantize(Decimal(1).scaleb(-places), ROUND_DOWN),
            _decimal(self.instruments[quote.target]["maxQuantity"]),
        )
        if quote.leg is not None and quote.price <= 0:
            return None
        try:
            self._check_terms(quote.target, float(quantity), (float(quote.price),))
        except Fail:
            return None
        return replace(quote, quantity=quantity)

    def _implied_orders(self, strategy: Strategy) -> list[dict[str, Any]]:
        return [
            o for symbol in strategy.instruments for side in self.books[symbol].values()
            for o in side if o["_implied"] is not None and o["_implied"][0] is strategy
        ]  # fmt: skip

    def _crosses_implied(self, quote: Quote) -> bool:
        """Whether ``quote`` would trade with a resting implied order."""
        sign = 1 if quote.side == "Buy" else -1
        return any(
            o["_implied"] is not None and sign * (float(quote.price) - o["price"]) >= 0
            for o in self.books[quote.target][opposite(quote.side)]
        )

    def _add_implied(self, strategy: Strategy, quote: Quote) -> None:
        """Put the System's implied order for ``quote`` on its book: it trades first if
        it crosses resting orders."""
        quantity = float(quote.quantity)
        order: dict[str, Any] = {
            "orderId": next(self._order_ids), "mpOrderId": None, "_mp": None, "mpId": -1,
            "mpName": "System", "orderType": "Limit", "side": quote.side,
            "instrument": quote.target, "quantity": quantity, "price": float(quote.price),
            "timeInForce": "GTC", "filledQuantity": 0, "remainingOpenQuantity": quantity,
            "orderTimestamp": self._now_ns(), "stopPrice": None, "status": "Active",
            "minQuantity": None, "stpAction": None, "_expires": None, "marketModel": "T",
            **dict.fromkeys(_DISPLAY_MEMBERS), "_shown": None, "_ledger": None,
            "_implied": (strategy, quote),
        }  # fmt: skip
        self._match(order)

    def _fill_implied(self, maker: dict[str, Any], taker: dict[str, Any], qty: float) -> None:
        """Trade ``qty`` of an implied order with a regular one: in turn with each order
        of its base levels, in time priority. One whose bases gave less (another implied
        order took them) is withdrawn."""
        implied, regular = (maker, taker) if maker["_implied"] is not None else (taker, maker)
        strategy, quote = implied["_implied"]
        queues: list[list[tuple[dict[str, Any], Decimal]]] = [
            [(o, _decimal(visible(o))) for o in self._bases(level.instrument, level.side)
             if o["price"] == float(level.price)]
            for level in quote.bases
        ]  # fmt: skip
        left = _decimal(qty)
        while left > 0 and all(queues):
            chunk = min(left, *(queue[0][1] for queue in queues))
            bases = [queue[0][0] for queue in queues]
            self._implied_trade(
                strategy, quote, implied, regular, bases, float(chunk), implied is taker
            )
            left -= chunk
            for queue in queues:
                base, shown = queue[0]
                if shown > chunk:
                    queue[0] = (base, shown - chunk)
                else:
                    queue.pop(0)
        for level in quote.bases:
            self._tidy(self.books[level.instrument][level.side])
        self._traded.update(strategy.instruments)
        if left > 0 and implied["status"] == "Active":
            self._cancel(implied, "BaseOrderChanged")

    def _implied_trade(
        self,
        strategy: Strategy,
        quote: Quote,
        implied: dict[str, Any],
        regular: dict[str, Any],
        bases: list[dict[str, Any]],
        qty: float,
        resting: bool,
    ) -> None:
        """One trade per instrument: the strategy's, then its legs' in leg order (``resting``:
        the regular order rested, the implied one came). Roles as Exberry's
        implied-orders page has them: an implied in order's trade and its bases' take its
        role, the regular order and its leg trades the other; implied out, the strategy
        order and its leg trades are takers, the rest makers."""
        own = _Party(regular, regular, regular["side"])
        if quote.leg is None:  # in: the regular order trades the strategy, its legs the bases
            system = _Party(implied, None, implied["side"])
            parties = (own, system) if resting else (system, own)
            trade_id = self._trade(strategy.symbol, implied["price"], qty, *parties)
            legs = self._allocation(strategy, regular, implied["price"], trade_id)
            for index, (base, level) in enumerate(zip(bases, quote.bases, strict=True)):
                filled = _Party(base, base, base["side"])
                leg = _Party(None, regular, opposite(base["side"]),
                             legs=legs | {"tradeLegRefId": index + 1})  # fmt: skip
                sides = (leg, filled) if resting else (filled, leg)
                self._trade(level.instrument, float(level.price), qty, *sides)
            return
        # Out: the strategy order trades with the System; its legs with the other leg's
        # order and with the regular order, through the implied one.
        parent, contra = bases
        parent_level, contra_level = quote.bases
        system = _Party(None, None, opposite(parent["side"]))
        strategy_price = float(parent_level.price)
        trade_id = self._trade(
            strategy.symbol, strategy_price, qty, system,
            _Party(parent, parent, parent["side"]),
        )  # fmt: skip
        legs = self._allocation(strategy, parent, strategy_price, trade_id)
        other = 1 - quote.leg
        self._trade(
            contra_level.instrument, float(contra_level.price), qty,
            _Party(contra, contra, contra["side"]),
            _Party(None, parent, opposite(contra["side"]),
                   legs=legs | {"tradeLegRefId": other + 1}),
        )  # fmt: skip
        self._trade(
            quote.target, implied["price"], qty, own,
            _Party(implied, parent, implied["side"], legs=legs | {"tradeLegRefId": quote.leg + 1}),
        )  # fmt: skip

    def _allocation(
        self, strategy: Strategy, order: dict[str, Any], price: float, trade_id: int
    ) -> dict[str, Any]:
        """The ``IndividualLeg`` members of strategy ``order``'s leg trades."""
        return {
            "multiLegDifferentialPrice": price,
            "multiLegStrategyInstrumentId": self._instrument_id(strategy.symbol),
            "multiLegStrategyInstrument": strategy.symbol, "multiLegStrategyTradeId": trade_id,
            "multiLegStrategyOrderId": order["orderId"],
            "multiLegStrategyMpOrderId": order["mpOrderId"],
        }  # fmt: skip

    def _trade_date(self, instrument: str) -> str:
        """Today's trading day of ``instrument``, as trades name it (``tradeDate``)."""
        return self._market(instrument).calendar.trading_day(self.clock()).isoformat()

    def _cancel(self, order: dict[str, Any], reason: str) -> None:
        left = order["remainingOpenQuantity"]
        side = self.books[order["instrument"]][order["side"]]
        if order in side:
            side.remove(order)
        suspended = order["status"] == "Suspended"  # never on the book
        if suspended:
            self._stops[order["instrument"]].remove(order)
        shown = visible(order)  # the book loses what it showed (a whole market order's rest)
        order["remainingOpenQuantity"], order["status"] = 0, "Cancelled"
        self._hold(order)  # releases what it held
        if order["displayMethod"] != "Hidden" and not suspended:
            self._book_event("Cancelled", order, cancelledQuantity=shown)
        self._report("Cancelled", order, cancelledQuantity=left, cancelReason=reason)

    def _book_event(self, kind: str, order: dict[str, Any], **extra: Any) -> None:
        """Tell the book stream of ``order`` (not of one a dark auction holds back; an
        auction's market order has no ``price``)."""
        if order.get("_dark"):
            return
        payload = {
            "messageType": kind, "eventId": next(self._event_ids),
            "eventTimestamp": self._now_ns(), "instrument": order["instrument"],
            "orderId": order["orderId"], "mpId": order["mpId"], "mpOrderId": order["mpOrderId"],
            "side": order["side"], "quantity": order["quantity"], "price": order["price"],
            **extra,
        }  # fmt: skip
        for key in ("price", "mpOrderId"):  # an auction's market order, an implied order
            if payload[key] is None:
                del payload[key]
        self._emit("orderBookDepth", None, payload)

    def _report(self, kind: str, order: dict[str, Any], **extra: Any) -> None:
        if order["_mp"] is None:  # an implied order: the System's, nobody hears of it
            return
        fields = ("orderId", "mpOrderId", "orderType", "side", "instrument", "quantity",
                  "price", "timeInForce", "orderTimestamp", "filledQuantity",
                  "remainingOpenQuantity", "mpId", "mpName", "minQuantity", "stpAction",
                  "marketModel", "accountType", "metadata",
                  "parties", "expiryDate", "expiryDay", "stopPrice",
                  *_DISPLAY_MEMBERS)  # fmt: skip
        payload = {k: order[k] for k in fields if order.get(k) is not None}
        payload.update(messageType=kind, eventId=next(self._event_ids),
                       eventTimestamp=self._now_ns(), **extra)  # fmt: skip
        order["lastEventId"], order["_last_event"] = payload["eventId"], payload["eventTimestamp"]
        self._emit("executionReports", order["_mp"], payload)

    def _own(self, mp: str, d: dict[str, Any]) -> dict[str, Any]:
        if "instrument" not in d:
            raise Fail(1103, "Missing fields: instrument")
        by_id, by_mp = d.get("orderId"), d.get("mpOrderId")
        if by_id is not None and by_mp is not None:
            raise Fail(1104, "Only one of orderId or mpOrderId is allowed")
        if by_id is None and by_mp is None:
            raise Fail(1103, "Missing fields: orderId or mpOrderId")
        if not typed(d, _OWN_TYPES):  # a list or an object for one of them matches no order
            raise Fail(1001, "Invalid request data")
        if d["instrument"] in self.instruments:
            self._check_trading(d["instrument"])
        for order in self.orders.values():
            if (
                order["_mp"] == mp and order["instrument"] == d["instrument"]
                and order["status"] in _OPEN
                and (order["orderId"] == by_id or (by_id is None and order["mpOrderId"] == by_mp))
            ):  # fmt: skip
                return order
        raise Fail(1100, f"Order not found for instrument {d['instrument']}")

    @_acts
    def cancel_order(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``cancelOrder`` for participant ``mp`` (see :meth:`place_order`)."""
        order = self._own(mp, d)
        self._next_action()
        self._cancel(order, "CancelRequest")
        return [{"orderId": order["orderId"]}]

    @_acts
    def replace_order(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``replaceOrder`` for participant ``mp`` (see :meth:`place_order`)."""
        order = self._own(mp, {k: d[k] for k in ("instrument", "orderId") if k in d})
        if not typed(d, _PLACE_ORDER_TYPES):
            raise Fail(1001, "Invalid request data")
        order_type, suspended = order["orderType"], order["status"] == "Suspended"
        if order_type == "MarketToLimit":  # one that rests became a limit order at its price
            order_type = "Limit"
        if order_type in _STOPS and not suspended:
            raise Fail(1019, "Stop orders can be replaced only while suspended")
        quantity = d.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity <= 0:
            raise Fail(1001, "Quantity must be positive")
        # Only a replace reducing the open quantity may leave the price out (REFERENCE 5);
        # a null price is none given, not a limit order turned market.
        new_price = d.get("price")
        if new_price is None and order_type in _PRICED:
            if quantity >= order["remainingOpenQuantity"]:
                raise Fail(1000, "Missing fields: price (the quantity is not reduced)")
            new_price = order["price"]
        new_stop = d.get("stopPrice", order["stopPrice"])
        _check_prices(order_type, new_price, new_stop)
        prices = (new_price, new_stop)
        self._check_terms(order["instrument"], quantity, prices, *_display_quantities(d))
        if quantity <= order["filledQuantity"]:  # nothing would be left open
            raise Fail(1001, "Quantity must be above the filled quantity")
        _check_labels(d)
        terms = self._replaced_terms(order, d, quantity)
        left = self._exact(order["instrument"], quantity - order["filledQuantity"])
        self._hold({**order, "remainingOpenQuantity": left, "price": new_price})  # may be 2000
        self._next_action()
        order.update(terms, stopPrice=new_stop, metadata=d.get("metadata", order["metadata"]))
        lost = new_price != order["price"] or quantity > order["quantity"]
        order["remainingOpenQuantity"] = left
        order["quantity"], order["price"] = quantity, new_price
        if suspended:  # off the book: its owner hears of it, then it may trigger at once
            self._report("Modified", order, lostPriority=lost)
            if order["_expires"] is not None:
                self._arm(order["_expires"])
            self._trigger_stops(order["instrument"])
            return _replaced(order)
        order["_shown"] = self._slice(order)
        # The book shows open quantities (an Add carries what rests): so does newQuantity.
        if order["displayMethod"] != "Hidden":
            self._book_event("Modified", order, newQuantity=visible(order), lostPriority=lost)
        self._report("Modified", order, lostPriority=lost)
        if lost:  # as a new order: it trades if it crosses now, then queues last at its price
            self.books[order["instrument"]][order["side"]].remove(order)
            self._match(order, requeue=True)
            self._trigger_stops(order["instrument"])
        elif order["_expires"] is not None:
            self._arm(order["_expires"])
        return _replaced(order)

    def _replaced_terms(
        self, order: dict[str, Any], d: dict[str, Any], quantity: float
    ) -> dict[str, Any]:
        """The order's members a replace's ``d`` changes besides quantity and price. A
        request with any of ``timeInForce``/``expiryDate``/``expiryDay`` states the new
        terms in full (a GTD one names its expiry); without them the order keeps its own.
        A resting order stays GTC, GTD or DAY; ``minQuantity`` (IOC only) does not apply
        to it: ``1001``."""
        changed: dict[str, Any] = {}
        tif = order["timeInForce"]
        if any(k in d for k in ("timeInForce", "expiryDate", "expiryDay")):
            tif = d.get("timeInForce", tif)
            auction = order["instrument"] in self._running
            if tif not in _RESTING_TIFS and not (auction and tif == "GAA"):
                raise Fail(1001, f"Wrong timeInForce value {tif} for a resting order")
            changed.update(
                timeInForce=tif, expiryDate=d.get("expiryDate"), expiryDay=d.get("expiryDay"),
                _expires=_expiry(d, tif, self.clock(), self._market(order["instrument"]).calendar),
            )  # fmt: skip
        _check_conditions(d, tif, quantity)
        if "stpAction" in d:
            changed["stpAction"] = d["stpAction"]
        display = {k: d[k] for k in _DISPLAY_QUANTITIES if k in d}
        if display:  # new display quantities for the order's own displayMethod
            method = order["displayMethod"]
            merged = {k: order[k] for k in _DISPLAY_QUANTITIES} | display
            _check_display(merged, method, quantity, order["orderType"], tif)
            changed.update(display)
        return changed

    @_acts
    def mass_cancel(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """Counters for the requested ``targetEntities`` only; with ``targetParties`` an
        order (RFQ, quote, alleged trade) is hit only if it carries every listed party
        (REFERENCE 5)."""
        if not typed(d, _MASS_CANCEL_TYPES):
            raise Fail(1001, "Invalid request data")
        scope = d.get("targetScope", "Instrument")
        if scope == "Instrument" and "instrument" not in d:
            raise Fail(1000, "Missing fields: instrument")
        if scope == "Instrument" and d["instrument"] in self.instruments:
            self._check_trading(d["instrument"])
        entities, parties = d.get("targetEntities", ["Order"]), d.get("targetParties", [])
        if not isinstance(entities, list) or not all(
            type(e) is str and e in _COUNTERS for e in entities
        ):
            raise Fail(1001, "Wrong targetEntities value")
        check_parties(parties)
        self._next_action()

        def targeted(
            entity: str, records: Iterable[dict[str, Any]], owner: Callable[[Any], Any]
        ) -> list[dict[str, Any]]:
            """The open records of ``entity`` the request hits (``owner``: its side)."""
            return [
                r for r in records
                if entity in entities and r["_mp"] == mp and r["status"] in _OPEN
                and (scope == "All" or r["instrument"] == d["instrument"])
                and (r["instrument"] not in self.instruments or self._trading(r["instrument"]))
                and all(p in (owner(r)["parties"] or ()) for p in parties)
            ]  # fmt: skip

        hit = targeted("Order", self.orders.values(), _itself)
        for order in hit:
            self._cancel(order, "MassCancelRequest")
        alleged = targeted("AllegedTrade", self.alleged_trades.values(), itemgetter("_side"))
        for trade in alleged:
            self._end_alleged(trade, "MassCancelRequest")
        hits = self.rfq.mass_cancel(lambda entity, records: targeted(entity, records, _itself))
        hits.update(Order=len(hit), AllegedTrade=len(alleged))
        return [{_COUNTERS[e]: hits.get(e, 0) for e in entities}]

    def order_book_state(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``orderBookState``: the visible resting orders and status of every book, then the
        tracking number to start ``orderBookDepth`` from."""
        items: list[dict[str, Any]] = []
        for instrument in sorted(self.books):
            for side in ("Buy", "Sell"):
                for o in self.books[instrument][side]:
                    if o["displayMethod"] == "Hidden" or o.get("_dark"):
                        continue
                    item = {"messageType": "Order", "orderId": o["orderId"], "side": side,
                            "instrument": instrument, "quantity": visible(o)}  # fmt: skip
                    if o["price"] is not None:  # an auction's market order has none
                        item["price"] = o["price"]
                    items.append(item)
            items.append(
                {
                    "messageType": "InstrumentStatus",
                    "instrumentId": self._instrument_id(instrument),
                    "instrument": instrument,
                    **self.instrument_status[instrument],
                }
            )
        return [*items, *self.rfq.book_state(), {"lastTrackingNumber": self._tracking}]

    # -- trade reporting --------------------------------------------------------------------

    def create_trade_report(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``createTradeReport``: an off-book trade between ``buy`` and ``sell`` (each
        ``{mpName, accountType?, parties?}``). ``LockedIn`` (by one of the sides) and
        ``ThirdPartyLockedIn`` (by anyone) make the trade at once (``{tradeId}``);
        ``AllegedSystemMatch`` records the reporter's side (``{allegedTradeId}``) until
        the counterparty reports the same trade (instrument, ``externalTradeId``, type,
        price, quantity and sides), which makes it. Refusals use the trade report API's
        ``100 Missing or invalid parameter: <name>`` where its samples do. A reporter's
        ``externalTradeId`` stays in use (``1002``) unless its alleged trade was
        cancelled, so re-sending a report whose reply was lost cannot report the trade
        twice."""
        for name in ("instrument", "type", "flow", "externalTradeId", "price", "quantity",
                     "buy", "sell"):  # fmt: skip
            if name not in d or not is_json(d[name], _TRADE_REPORT_TYPES[name]):
                raise Fail(100, f"Missing or invalid parameter: {name}")
        instrument, flow, external = d["instrument"], d["flow"], d["externalTradeId"]
        if flow not in _FLOWS:
            raise Fail(100, "Missing or invalid parameter: flow")
        if instrument not in self.instruments:
            raise Fail(1010, f"Instrument {instrument} not found")
        self._check_reporting(instrument)
        if d["quantity"] <= 0 or d["price"] <= 0 or not d["type"]:
            raise Fail(1001, "Price and quantity must be positive, type not empty")
        buy, sell = (self._report_side(d[side], side) for side in ("buy", "sell"))
        self._check_terms(instrument, d["quantity"], (d["price"],), ticked=False)
        for entry in self.instruments[instrument].get("minQuantityTradeEntries") or ():
            if entry.get("type") == d["type"] and d["quantity"] < entry.get("amount", 0):
                raise Fail(1006, f"Quantity must be at least {entry['amount']} for {d['type']}")
        sides = {"Buy": buy, "Sell": sell}
        own = next((side for side, s in sides.items() if s["_mp"] == mp), None)
        if own is None and flow != "ThirdPartyLockedIn":
            raise Fail(1032, "The reporting participant is not a side of the trade")
        if (mp, external) in self._external_ids:
            raise Fail(1002, f"externalTradeId {external} already in use")
        self._external_ids.claim((mp, external))
        self._next_action()
        terms = {k: d[k] for k in ("instrument", "price", "quantity", "externalTradeId")}
        terms["tradeType"] = d["type"]
        if flow != "AllegedSystemMatch":
            return [{"tradeId": self._report_trade(terms, flow, sides)}]
        assert own is not None
        alleged_id = next(self._alleged_ids)
        now = self._now_ns()
        if len(self.alleged_trades) >= 2 * self.history:  # in batches: amortised O(1)
            forget_closed(self.alleged_trades, lambda a: a["status"] != "Active", self.history)
        trade = self.alleged_trades[alleged_id] = {
            **terms, "allegedTradeId": alleged_id, "flow": flow, "status": "Active",
            "side": own, "_mp": mp, "_sides": sides, "_side": sides[own],
            "_other": sides["Sell" if own == "Buy" else "Buy"], "_created": now,
            "_expires": self._market(terms["instrument"]).calendar.close_after(self.clock()),
            "cancelReason": None,
        }  # fmt: skip
        match = next((
            a for a in self.alleged_trades.values()
            if a["status"] == "Active" and a["_mp"] == trade["_other"]["_mp"]
            and a["side"] != own and all(a[k] == trade[k] for k in (*terms, "flow"))
            and a["_other"]["_mp"] == mp
        ), None)  # fmt: skip
        if match is None:
            self._alleged_event("AllegedTradeCreated", trade)
            self._arm(trade["_expires"])
            return [{"allegedTradeId": alleged_id}]
        both = {match["side"]: match["_side"], own: trade["_side"]}  # each side as it said
        self._report_trade(terms, flow, both)
        for each in (match, trade):
            each["status"] = "Executed"
            each["_last_event"], each["lastEventId"] = now, next(self._event_ids)
        return [{"allegedTradeId": alleged_id}]

    def _report_side(self, side: Any, name: str) -> dict[str, Any]:
        """A ``buy``/``sell`` member: a known participant by ``mpName``, an
        ``accountType``, parties (roles as numbers or, as in the samples, digit text)."""
        mp_name = side.get("mpName")
        mp = next((k for k, p in self._participants.items() if p.mp_name == mp_name), None)
        if mp is None:
            raise Fail(100, f"Missing or invalid parameter: {name}.mpName")
        parties = side.get("parties")
        if isinstance(parties, list):
            parties = [numeric_role(party) for party in parties]
        check_parties(parties or [])
        account = side.get("accountType")
        if account is not None and not isinstance(account, str):
            raise Fail(100, f"Missing or invalid parameter: {name}.accountType")
        participant = self.participant(mp)
        return {"_mp": mp, "mpId": participant.mp_id, "mpName": participant.mp_name,
                "accountType": account, "parties": parties}  # fmt: skip

    def _report_trade(
        self, terms: dict[str, Any], flow: str, sides: dict[str, dict[str, Any]]
    ) -> int:
        """Make a reported trade: the public book's ``TradeReport``, and each side's
        execution report and trade record (``tradingMode`` ``ON``, off the book)."""
        trade_id = next(self._match_ids)
        instrument, price, quantity = terms["instrument"], terms["price"], terms["quantity"]
        self._emit("orderBookDepth", None, {
            "messageType": "TradeReport", "eventId": next(self._event_ids),
            "eventTimestamp": self._now_ns(), "instrument": instrument,
            "tradeType": terms["tradeType"], "matchId": trade_id, "quantity": quantity,
            "price": price, "buyMpId": sides["Buy"]["mpId"], "sellMpId": sides["Sell"]["mpId"],
        })  # fmt: skip
        for side, who in sides.items():
            common = {
                "side": side, "instrument": instrument, "quantity": quantity, "price": price,
                "tradeType": terms["tradeType"], "tradingMode": "ON", "mpId": who["mpId"],
                "mpName": who["mpName"],
                **{k: who[k] for k in ("accountType", "parties") if who[k]},
            }  # fmt: skip
            self._emit("executionReports", who["_mp"], {
                "messageType": "TradeReport", "eventId": next(self._event_ids),
                "eventTimestamp": self._now_ns(), "matchId": trade_id, "flow": flow,
                "externalTradeId": terms["externalTradeId"], **common,
            })  # fmt: skip
            self._emit("trades", who["_mp"], {
                "eventId": next(self._event_ids), "timestamp": self._now_ns(),
                "actionType": "TradeReport", "tradeId": trade_id,
                "instrumentId": self._instrument_id(instrument),
                "tradeDate": self._trade_date(instrument),
                "multiLegReportingType": "SingleSecurity", **common,
            })  # fmt: skip
        return trade_id

    def _alleged_view(self, trade: dict[str, Any]) -> dict[str, Any]:
        """An alleged trade as its reporter's streams tell it."""
        own, other = trade["_side"], trade["_other"]
        return {
            "side": trade["side"], "instrument": trade["instrument"],
            "quantity": trade["quantity"], "price": trade["price"],
            **{k: own[k] for k in ("accountType", "parties") if own[k]},
            "tradeType": trade["tradeType"], "mpId": own["mpId"], "mpName": own["mpName"],
            "flow": trade["flow"], "counterMpId": other["mpId"],
            "counterMpName": other["mpName"], "externalTradeId": trade["externalTradeId"],
            "allegedTradeId": trade["allegedTradeId"],
        }  # fmt: skip

    def _alleged_event(self, kind: str, trade: dict[str, Any], **extra: Any) -> None:
        payload = {"messageType": kind, **self._alleged_view(trade),
                   "eventTimestamp": self._now_ns(), "eventId": next(self._event_ids),
                   **extra}  # fmt: skip
        trade["_last_event"], trade["lastEventId"] = payload["eventTimestamp"], payload["eventId"]
        self._emit("executionReports", trade["_mp"], payload)

    def _alleging(self) -> Iterator[tuple[str, int]]:
        """The externalTradeIds of the alleged trades still waiting for a match."""
        for trade in self.alleged_trades.values():
            if trade["status"] == "Active":
                yield trade["_mp"], trade["externalTradeId"]

    def _end_alleged(self, trade: dict[str, Any], reason: str) -> None:
        trade["status"], trade["cancelReason"] = "Cancelled", reason
        self._external_ids.release((trade["_mp"], trade["externalTradeId"]))  # free again
        self._alleged_event("AllegedTradeCancelled", trade, cancelReason=reason)

    def cancel_alleged_trade_report(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``cancelAllegedTradeReport``: withdraw one's own active alleged trade
        (``instrument`` and ``allegedTradeId``)."""
        for name in ("instrument", "allegedTradeId"):
            if name not in d or not is_json(d[name], _TRADE_REPORT_TYPES[name]):
                raise Fail(100, f"Missing or invalid parameter: {name}")
        if d["instrument"] not in self.instruments:
            raise Fail(1010, f"Instrument {d['instrument']} not found")
        self._check_reporting(d["instrument"])
        trade = self.alleged_trades.get(d["allegedTradeId"])
        if trade is None or trade["_mp"] != mp or trade["instrument"] != d["instrument"]:
            raise Fail(1100, "Alleged trade not found for that instrument")
        if trade["status"] != "Active":
            raise Fail(1001, f"Alleged trade {d['allegedTradeId']} is {trade['status']}")
        self._next_action()
        self._end_alleged(trade, "CancelRequest")
        return [{"allegedTradeId": trade["allegedTradeId"]}]

    def report_alleged_trades(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/allegedTrades``: the participant's alleged trades, filtered like the other
        reports (``dateFrom``/``dateTo`` bound their creation, ``statuses``,
        ``instruments``), by ``lastEventTimestamp`` or ``createdAt``; each side under
        ``buy``/``sell``, the reporter's with its account and parties."""
        rows = []
        for trade in self.alleged_trades.values():
            if trade["_mp"] != mp:
                continue
            sides = {  # the reporter's side in full, the other by its participant
                side.lower(): public(who) if who is trade["_side"]
                else {"mpId": who["mpId"], "mpName": who["mpName"]}
                for side, who in trade["_sides"].items()
            }  # fmt: skip
            rows.append({
                **public({k: trade[k] for k in (
                    "allegedTradeId", "externalTradeId", "instrument", "status", "price",
                    "quantity", "tradeType", "flow", "cancelReason", "lastEventId")}),
                "instrumentId": self._instrument_id(trade["instrument"]), **sides,
                **report_times(trade["_created"], trade["_last_event"]),
            })  # fmt: skip
        return self._page(d, rows, "allegedTrades", BY_EVENT)

    # -- reporting --------------------------------------------------------------------------

    def _page(
        self,
        d: dict[str, Any],
        rows: list[dict[str, Any]],
        key: str,
        sort_fields: tuple[str, ...],
        lists: Mapping[str, tuple[str, tuple[str, ...]]] | None = None,
    ) -> list[dict[str, Any]]:
        """One page of ``rows`` (each with its times as ``_createdAt``-style hidden ns
        members) that pass ``d``'s filters (``lists``: the list filters of this report),
        in ``d``'s order (``sort_fields``, the first by default, newest first)."""
        if not typed(d, _REPORT_TYPES):
            raise Fail(1001, "Invalid request data")
        limit, offset = d.get("limit", 25), d.get("offset", 0)
        if not 1 <= limit <= 100:
            raise Fail(1001, "Wrong limit")
        if offset < 0:
            raise Fail(1001, "Wrong offset")
        order_by = d.get("orderBy") or {}
        field, direction = order_by.get("field", sort_fields[0]), order_by.get("direction", "Desc")
        if field not in sort_fields or direction not in ("Asc", "Desc"):
            raise Fail(1001, "Wrong orderBy value")
        lists = _REPORT_LISTS if lists is None else lists
        for name, (_, choices) in lists.items():
            if any(v not in choices for v in d.get(name, ()) if choices):
                raise Fail(1001, f"Wrong {name} value")
        if "tradeDate" in d:
            report_day(d, "tradeDate", "")
        low, high = _report_time(d, "dateFrom", 0), _report_time(d, "dateTo", 2**63)
        if high <= low:
            raise Fail(1001, "dateTo must be after dateFrom")
        # dateFrom/dateTo bound a record's creation (a trade's time: its creation).
        dated = "_createdAt" if "createdAt" in sort_fields else "_" + sort_fields[0]
        wanted = [
            r for r in rows
            if low <= r[dated] <= high
            and all(r.get(member) in d[name] for name, (member, _) in lists.items()
                    if name in d)
            and all(str(r.get(name)) == str(d[name]) for name in _REPORT_EQUALS if name in d)
        ]  # fmt: skip
        wanted.sort(key=lambda r: r["_" + field], reverse=direction == "Desc")
        page = [{k: v for k, v in r.items() if k[0] != "_"} for r in wanted]
        return [{key: page[offset : offset + limit], "count": len(wanted)}]

    def report_orders(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/orders`` v2: the participant's orders, filtered by ``dateFrom``/``dateTo``
        (their creation), ``statuses``, ``instruments``, ``mpId``, ``accountIds``,
        ``orderId``/``mpOrderId`` (with exactly one instrument); by ``lastEventTimestamp``
        or ``createdAt``. The simulator's orders carry no account: ``accountIds`` matches
        none of them."""
        instruments = d.get("instruments")
        if ("orderId" in d or "mpOrderId" in d) and not (
            type(instruments) is list and len(instruments) == 1
        ):
            raise Fail(1001, "Single instrument needs to be selected")
        rows = [
            {**{k: v for k, v in public(o).items() if k != "orderTimestamp"},
             "instrumentId": self._instrument_id(o["instrument"]),
             **report_times(o["orderTimestamp"], o["_last_event"])}
            for o in self.orders.values() if o["_mp"] == mp
        ]  # fmt: skip
        return self._page(d, rows, "orders", BY_EVENT)

    def report_trades(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/trades`` v3: the participant's trade records, filtered by ``dateFrom``/
        ``dateTo``, ``instruments``, ``mpId``, ``accountIds``, ``tradeId``,
        ``actionTypes``, ``multiLegReportingTypes``, ``tradeDate``, ``orderId``,
        ``mpOrderId``; by ``timestamp``."""
        rows = [
            {**payload, "timestamp": iso(payload["timestamp"]), "_timestamp": payload["timestamp"]}
            for _, kind, owner, payload in self.events
            if kind == "trades" and owner == mp
        ]
        return self._page(d, rows, "trades", ("timestamp",))

    def report_transaction_requests(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/transactionRequests``: the participant's deposit and withdrawal requests,
        by ``createdAt`` (newest first) or ``lastEventTimestamp``; filtered by
        ``dateFrom``/``dateTo`` (their creation), ``type``, ``statuses``, ``assetId``,
        ``mpId``, ``ledgerAccountId`` and ``id``."""
        rows = self.ledger.report_requests(mp)
        lists = {**_REPORT_LISTS, "statuses": ("status", REQUEST_STATUSES)}
        return self._page(d, rows, "transactionRequests", BY_CREATION, lists)

    def report_alleged_transfers(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/allegedTransfers``: the participant's alleged transfers, by ``createdAt``
        (newest first) or ``lastEventTimestamp``; filtered by ``dateFrom``/``dateTo``
        (their creation), ``type``, ``statuses``, ``assetId`` (sending or receiving),
        ``mpId`` (either side), ``ledgerAccountId``, ``allegedTransferId``,
        ``externalId``."""
        rows = self.ledger.report_transfers(mp, d)
        rest = {k: v for k, v in d.items() if k not in ("assetId", "mpId")}  # applied
        lists = {**_REPORT_LISTS, "statuses": ("status", TRANSFER_STATUSES)}
        return self._page(rest, rows, "allegedTransfers", BY_CREATION, lists)

    def report_transactions(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/transactions``: the participant's ledger transactions, newest first;
        filtered by ``dateFrom``/``dateTo``, ``assetId``, ``mpId``, ``ledgerAccountId``
        (the documentation spells it ``ledgerAaccountId``: both are taken),
        ``transactionId`` and ``transactionTypes`` (all but reservations by default)."""
        d = account_filtered(d)
        rows = self.ledger.report_transactions(mp, d)
        lists = {**_REPORT_LISTS, "transactionTypes": ("transactionType", TRANSACTION_TYPES)}
        return self._page(d, rows, "transactions", ("timestamp",), lists)

    def report_fees(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/fees`` (v1.54): the simulator charges no fees, so every page is empty;
        the request is checked as the sample writes it (days, a list of types)."""
        if not typed(d, _FEES_TYPES):
            raise Fail(1001, "Invalid request data")
        for name in ("dateFrom", "dateTo"):
            if name in d:
                report_day(d, name, "")
        return self._page({k: d[k] for k in ("limit", "offset") if k in d}, [], "fees", ("date",))

    def report_positions(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/positions`` (v1.56): the participant's positions
        (:class:`PositionBook`), by ``lastEventTimestamp`` (newest first)."""
        rows = self.positions.report(mp, d)
        paging = {k: v for k, v in d.items() if k in ("limit", "offset", "orderBy")}
        return self._page(paging, rows, "positions", ("lastEventTimestamp",))

    def report_holdings(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/holdingsSummary``: the participant's end-of-day holdings
        (:meth:`LedgerDesk.end_of_day`), oldest day first."""
        rows = self.ledger.report_holdings(mp, d)
        paging = {k: v for k, v in d.items() if k in ("limit", "offset")}
        ascending = {**paging, "orderBy": {"field": "eodDate", "direction": "Asc"}}
        return self._page(ascending, rows, "holdings", ("eodDate",))

    def _instrument_id(self, symbol: str) -> int:
        """An instrument's ``id`` as ``instrumentList`` numbers them."""
        return list(self.instruments).index(symbol) + 1

    def mass_order_status(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``massOrderStatus`` for participant ``mp``: its open orders (and RFQs, quotes,
        alleged trades), then the tracking number to start ``executionReports`` from."""
        own = [
            {"messageType": "OrderStatus", **public(o), **self._working(o),
             "lastEventTimestamp": o["_last_event"]}
            for o in self.orders.values() if o["_mp"] == mp and o["status"] in _OPEN
        ]  # fmt: skip
        alleged = [
            {"messageType": "AllegedTradeStatus", **self._alleged_view(a),
             "status": a["status"], "lastEventTimestamp": a["_last_event"],
             "lastEventId": a["lastEventId"], "createdTimestamp": a["_created"]}
            for a in self.alleged_trades.values() if a["_mp"] == mp and a["status"] == "Active"
        ]  # fmt: skip
        return [*own, *alleged, *self.rfq.statuses(mp), {"lastTrackingNumber": self._tracking}]


_HANDLERS: dict[str, Callable[[ExberrySimulator, str, dict[str, Any]], list[dict[str, Any]]]] = {
    "exchange.reporting/mp/orders": ExberrySimulator.report_orders,
    "exchange.reporting/mp/trades": ExberrySimulator.report_trades,
    "placeOrder": ExberrySimulator.place_order,
    "cancelOrder": ExberrySimulator.cancel_order,
    "replaceOrder": ExberrySimulator.replace_order,
    "modifyOrder": ExberrySimulator.replace_order,
    "massCancel": ExberrySimulator.mass_cancel,
    "orderBookState": ExberrySimulator.order_book_state,
    "massOrderStatus": ExberrySimulator.mass_order_status,
    "createTradeReport": ExberrySimulator.create_trade_report,
    "cancelAllegedTradeReport": ExberrySimulator.cancel_alleged_trade_report,
    "exchange.reporting/mp/allegedTrades": ExberrySimulator.report_alleged_trades,
    "submitRFQ": lambda sim, mp, d: sim.rfq.submit_rfq(mp, d),
    "cancelRFQ": lambda sim, mp, d: sim.rfq.cancel_rfq(mp, d),
    "acceptQuote": lambda sim, mp, d: sim.rfq.accept_quote(mp, d),
    "submitQuote": lambda sim, mp, d: sim.rfq.submit_quote(mp, d),
    "cancelQuote": lambda sim, mp, d: sim.rfq.cancel_quote(mp, d),
    "exchange.reporting/mp/rfqs": lambda sim, mp, d: sim.rfq.report_rfqs(mp, d),
    "exchange.ledger/createTransactionRequest": (
        lambda sim, mp, d: sim.ledger.create_transaction_request(mp, d)
    ),
    "exchange.ledger/cancelTransactionRequest": (
        lambda sim, mp, d: sim.ledger.cancel_transaction_request(mp, d)
    ),
    "exchange.reporting/mp/transactionRequests": ExberrySimulator.report_transaction_requests,
    "exchange.ledger/createAllegedTransfer": (
        lambda sim, mp, d: sim.ledger.create_alleged_transfer(mp, d)
    ),
    "exchange.ledger/cancelAllegedTransfer": (
        lambda sim, mp, d: sim.ledger.cancel_alleged_transfer(mp, d)
    ),
    "exchange.ledger/createCashTransfer": lambda sim, mp, d: sim.ledger.create_cash_transfer(mp, d),
    "exchange.reporting/mp/allegedTransfers": ExberrySimulator.report_alleged_transfers,
    "exchange.reporting/mp/transactions": ExberrySimulator.report_transactions,
    "exchange.reporting/mp/holdingsSummary": ExberrySimulator.report_holdings,
    "exchange.reporting/mp/positions": ExberrySimulator.report_positions,
    "exchange.reporting/mp/fees": ExberrySimulator.report_fees,
    "exchange.reporting/mp/quotes": lambda sim, mp, d: sim.rfq.report_quotes(mp, d),
}


_BROKER_HANDLERS: dict[str, Callable[[BrokerDesk, str, dict[str, Any]], list[dict[str, Any]]]] = {
    ".oms/placeOrder": BrokerDesk.place_order,
    ".oms/cancelOrder": BrokerDesk.cancel_order,
    ".account/ordersHistory": BrokerDesk.orders_history,
    ".account/tradesHistory": BrokerDesk.trades_history,
    ".wallet/transactions": BrokerDesk.transactions,
}


def _pseudonym(mp_id: int) -> int:
    """The stand-in for participant ``mp_id`` on pseudonymous streams: the same one every
    time, not the id's neighbour."""
    return zlib.crc32(f"pseudonym {mp_id}".encode()) or 1


"""A calendar day as the venue writes it (``expiryDay``, ``tradeDate``)."""
_REPORT_TIME = re.compile(DAY.pattern + r"T\d\d:\d\d:\d\d(?:\.\d{1,6})?")


def _report_time(d: dict[str, Any], name: str, default: int) -> int:
    """Reporting's ``dateFrom``/``dateTo`` (``YYYY-MM-DDThh:mm:ss[.SSS]``, GMT) in ns."""
    text = d.get(name)
    if text is None:
        return default
    if not _REPORT_TIME.fullmatch(text):
        raise Fail(1001, f"Wrong {name} format, expected YYYY-MM-DDThh:mm:ss[.SSS]")
    whole, _, fraction = text.partition(".")
    try:
        moment = dt.datetime.fromisoformat(whole).replace(tzinfo=dt.UTC)
    except ValueError:  # a month 13, a day 32
        raise Fail(1001, f"Wrong {name} value") from None
    return int(moment.timestamp()) * 10**9 + int(fraction.ljust(9, "0"))


_SESSION_TYPES: Types = {"token": str, "username": str, "password": str}
_FEES_TYPES: Types = {
    "dateFrom": str, "dateTo": str, "ledgerAccountId": (int, str), "groupBy": str,
    "types": list, "limit": int, "offset": int,
}  # fmt: skip
_PLACE_ORDER_TYPES: Types = {
    "instrument": str, "orderType": str, "side": str, "timeInForce": str, "quantity": float,
    "price": (float, type(None)), "mpOrderId": int,  # a null price: none (Market)
    "minQuantity": float, "stpAction": str, "expiryDate": int, "expiryDay": str,
    "stopPrice": float,
    "displayMethod": str, "displayQuantity": float, "displayLowQuantity": float,
    "displayHighQuantity": float, "accountType": str, "metadata": str,
}  # fmt: skip
_OWN_TYPES: Types = {"instrument": str, "orderId": int, "mpOrderId": int}
"""What names one of a participant's orders (a cancel, a replace)."""
_MASS_CANCEL_TYPES: Types = {"instrument": str, "targetScope": str}
"""What scopes a mass cancel (its entity and party lists are checked by value)."""
_REPORT_LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "statuses": ("status", ("Active", "Executed", "Cancelled", "Suspended")),
    "instruments": ("instrument", ()),
    "accountIds": ("accountId", ()),
    "actionTypes": ("actionType", ("MatchedTrade", "TradeReport", "TradeCancel")),
    "multiLegReportingTypes": (
        "multiLegReportingType", ("SingleSecurity", "MultiLegSecurity", "IndividualLeg"),
    ),
}  # fmt: skip
"""Reporting's list filters: the member each matches, and its values (any if none)."""
_REPORT_EQUALS = ("mpId", "orderId", "mpOrderId", "tradeId", "tradeDate", "status", "rfqId",
                  "quoteId", "type", "assetId", "ledgerAccountId", "id", "allegedTransferId",
                  "externalId", "transactionId")  # fmt: skip
"""Reporting's one-value filters (``mpId`` as a number or its text: the samples have both)."""
_REPORT_TYPES: Types = {
    "dateFrom": str, "dateTo": str, "mpId": (int, str), "orderId": int, "mpOrderId": int,
    "tradeId": int, "tradeDate": str, "orderBy": dict, "limit": int, "offset": int,
    "status": str, "rfqId": int, "quoteId": int, "type": str, "transactionTypes": list,
    **dict.fromkeys(("assetId", "ledgerAccountId", "ledgerAaccountId", "id", "allegedTransferId",
                     "externalId", "transactionId"), (int, str)),
    **dict.fromkeys(_REPORT_LISTS, list),
}  # fmt: skip
_DISPLAY_QUANTITIES = ("displayQuantity", "displayLowQuantity", "displayHighQuantity")
_DISPLAY_MEMBERS = ("displayMethod", *_DISPLAY_QUANTITIES)
_ACCOUNT_TYPES = ("Client", "House")
_METADATA_LIMIT = 1000
"""An order's ``metadata`` is free text of at most this many characters (v1.50)."""


def _check_labels(d: dict[str, Any]) -> None:
    """An order's ``accountType`` (``Client`` or ``House``) and ``metadata`` (1001
    otherwise; their JSON types are checked with the other members')."""
    if d.get("accountType", "Client") not in _ACCOUNT_TYPES:
        raise Fail(1001, "Wrong accountType value")
    if len(d.get("metadata", "")) > _METADATA_LIMIT:
        raise Fail(1001, f"metadata must be at most {_METADATA_LIMIT} characters")


_FLOWS = ("LockedIn", "ThirdPartyLockedIn", "AllegedSystemMatch")
"""``createTradeReport`` flows (the documentation's samples)."""
_TRADE_REPORT_TYPES: Types = {
    "instrument": str, "type": str, "flow": str, "externalTradeId": int, "price": float,
    "quantity": float, "buy": dict, "sell": dict, "allegedTradeId": int,
}  # fmt: skip
_COUNTERS = {
    "Order": "numberOfOrders", "RFQ": "numberOfRfqs", "Quote": "numberOfQuotes",
    "AllegedTrade": "numberOfAllegedTrades",
}  # fmt: skip


def _check_prices(order_type: str, price: float | None, stop: float | None) -> None:
    """A limit price on exactly the priced types (``1001``), a ``stopPrice`` on exactly
    the stop types (``1000`` missing, ``1001`` not allowed): REFERENCE 5."""
    if order_type in _PRICED and price is None:
        raise Fail(1001, f"Price is mandatory for {order_type} orders")
    if order_type not in _PRICED and price is not None:
        raise Fail(1001, f"Price is not allowed for {order_type} orders")
    if order_type in _STOPS and stop is None:
        raise Fail(1000, "Missing fields: stopPrice")
    if order_type not in _STOPS and stop is not None:
        raise Fail(1001, f"stopPrice is not allowed for {order_type} orders")


def _check_conditions(d: dict[str, Any], tif: str, quantity: float) -> None:
    """``minQuantity`` (IOC only, up to the quantity) and ``stpAction`` (FOK and IOC take
    only ``CancelIncomingOrder``): ``1001`` otherwise (REFERENCE 5)."""
    low, stp = d.get("minQuantity"), d.get("stpAction")
    if low is not None:
        if tif != "IOC":
            raise Fail(1001, "minQuantity is allowed only for IOC orders")
        if not 0 < low <= quantity:
            raise Fail(1001, "minQuantity must be positive and not above quantity")
    if stp is not None:
        if stp not in _STP_ACTIONS:
            raise Fail(1001, f"Wrong stpAction value {stp}")
        if tif in ("FOK", "IOC") and stp != "CancelIncomingOrder":
            raise Fail(1001, "FOK and IOC orders allow only the CancelIncomingOrder stpAction")


def _expiry(d: dict[str, Any], tif: str, now: float, calendar: Calendar) -> float | None:
    """When an order of ``tif`` placed (or replaced) at ``now`` expires, in epoch seconds:
    GTD at its ``expiryDate`` (epoch seconds) or at the ``calendar``'s close of its
    ``expiryDay`` (``YYYY-MM-DD``), exactly one of them (``1000`` otherwise, REFERENCE
    5); DAY at the next market close; the others never. ``1001`` for a malformed or past
    expiry, or one given with another time in force."""
    date, day = d.get("expiryDate"), d.get("expiryDay")
    if tif != "GTD":
        if date is not None or day is not None:
            raise Fail(1001, "expiryDate and expiryDay are allowed only for GTD orders")
        return calendar.close_after(now) if tif == "DAY" else None
    if (date is None) == (day is None):
        raise Fail(1000, "GTD orders need exactly one of expiryDate or expiryDay")
    if day is None:
        expires = float(d["expiryDate"])
    else:
        date_of_expiry = parse_day(day)
        if date_of_expiry is None:
            raise Fail(1001, f"Wrong expiryDay {day!r}: YYYY-MM-DD expected")
        expires = calendar.close_on(date_of_expiry)
    if expires <= now:
        raise Fail(1001, "The expiry of a GTD order must be in the future")
    return expires


def _check_display(
    d: dict[str, Any], method: Any, quantity: float, order_type: str, tif: str
) -> None:
    """The display rules (REFERENCE 5: ``1001``): ``displayMethod`` is one of
    :data:`_DISPLAY`, on a limit order that rests, with exactly the quantities it takes,
    each positive and not above the order's (a Random low not above its high)."""
    given = {k for k in _DISPLAY_QUANTITIES if d.get(k) is not None}
    if method is None:
        if given:
            raise Fail(1001, f"{min(given)} needs a displayMethod")
        return
    if method not in _DISPLAY:
        raise Fail(1001, f"Wrong displayMethod value {method}")
    if order_type != "Limit" or tif not in _RESTING_TIFS:
        raise Fail(1001, "displayMethod is allowed only for GTC, GTD or DAY limit orders")
    if given != set(_DISPLAY[method]):
        wanted = " and ".join(_DISPLAY[method]) or "no display quantity"
        raise Fail(1001, f"displayMethod {method} takes {wanted}")
    sizes = [d[k] for k in _DISPLAY[method]]
    if not all(0 < size <= quantity for size in sizes) or sizes != sorted(sizes):
        raise Fail(1001, "Display quantities must be positive, ordered, not above quantity")


def _display_quantities(d: dict[str, Any]) -> list[float]:
    """The display quantities ``d`` gives (for the precision rule)."""
    return [d[k] for k in _DISPLAY_QUANTITIES if d.get(k) is not None]


def _turns(level: list[dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]:
    """The order in which a taker meets one price level's orders (best first): what they
    show, in time priority, then what they hide (hidden orders, icebergs' reserves):
    ``(order, hidden)`` pairs."""
    return [(o, False) for o in level] + [(o, True) for o in level]


def _replaced(order: dict[str, Any]) -> list[dict[str, Any]]:
    """replaceOrder's answer (the deprecated ids equal ``orderId`` since v1.48.0)."""
    ident = order["orderId"]
    return [{"orderId": ident, "originalOrderId": ident, "newOrderId": ident}]


def _triggered(order: dict[str, Any], last: float) -> bool:
    """Whether suspended stop ``order`` triggers at last trade price ``last``."""
    rising = (order["side"] == "Buy") == (order["orderType"] in ("Stop", "StopLimit"))
    return bool(last >= order["stopPrice"] if rising else last <= order["stopPrice"])


def _crosses(taker: dict[str, Any], maker: dict[str, Any]) -> bool:
    """Whether resting ``maker`` trades with incoming ``taker`` at its price."""
    if taker["price"] is None:  # Market
        return True
    if taker["side"] == "Buy":
        return bool(maker["price"] <= taker["price"])
    return bool(maker["price"] >= taker["price"])


def _order_closed(order: dict[str, Any]) -> bool:
    return order["status"] not in _OPEN


def _itself(record: dict[str, Any]) -> dict[str, Any]:
    """A record that is its own side (orders, RFQs, quotes: their parties are theirs)."""
    return record


def _trader(role: str, order: dict[str, Any] | None) -> dict[str, Any]:
    """``Executed``'s ``<role>MpId``/``MpOrderId``/``OrderId``: all -1 for a side without
    an order (implied trades), no ``MpOrderId`` for an implied order (the System's)."""
    if order is None:
        return {f"{role}MpId": -1, f"{role}MpOrderId": -1, f"{role}OrderId": -1}
    members = {f"{role}MpId": order["mpId"], f"{role}MpOrderId": order["mpOrderId"],
               f"{role}OrderId": order["orderId"]}  # fmt: skip
    if order["mpOrderId"] is None:
        del members[f"{role}MpOrderId"]
    return members
