"""The simulator's wiring and serving: handlers installed on a SimState, JSON-RPC over
WebSocket and HTTP, fault injection."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from . import (
    _accounting,
    _activity,
    _api_keys,
    _block_rfq,
    _block_trades,
    _combos,
    _history,
    _liquidation,
    _mmp,
    _orders,
    _portfolio,
    _private,
    _public,
    _quotes,
    _settlement,
    _shaped,
    _statistics,
    _streams,
    _travel_rule,
    _triggers,
    _wallet,
)
from ._accounts import SIM_CLIENT_ID
from ._credits import RateLimits
from ._faults import FaultHooks, check_seconds
from ._logs import remember
from ._market import is_combo
from ._orders import BOOK_STATES
from ._serve import serve
from ._session import Session, SimError, json_encode
from ._shaped import check_param_types
from ._state import Call, SimState

__all__ = ["DeribitSimulator"]

log = logging.getLogger("deribit_client.testing")
_ENDED = frozenset({WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR})

_json_decode = msgspec.json.decode


class DeribitSimulator(SimState, FaultHooks):
    """A local Deribit stand-in speaking JSON-RPC on 127.0.0.1.

    WebSocket at ``/ws/api/v2``, HTTP at ``/api/v2/{method}`` (POST with a JSON-RPC body, or
    GET with query params). Use it as an async context manager; ``url`` goes to
    ``DeribitClient(url=...)``.

    Args:
        host: address to bind (loopback by default).
        port: 0 picks a free port.
        seed: seeds every random choice (market data, shuffled replies).
        clock: seconds since the epoch (inject for deterministic timestamps).
        rate_limits: Deribit's request-credit system as simulated (default: Deribit's
            defaults, matching-engine tier 4); also :attr:`rate_limits` later.

    Fault hooks: :meth:`inject_error`, :meth:`delay`, :meth:`shuffle_replies`,
    :meth:`drop_connections` and :attr:`refuse_websocket`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        rate_limits: RateLimits | None = None,
    ) -> None:
        super().__init__(seed=seed, clock=clock)
        FaultHooks.__init__(self)  # SimState does not chain on
        if rate_limits is not None:
            self.rate_limits = rate_limits
        self.host = host
        self.port = port
        self._streamer: asyncio.Task[None] | None = None
        self.refuse_websocket = False
        """When True, WebSocket upgrades are refused with HTTP 503 (tests HTTP fallback)."""
        self.max_connections_per_ip: int | None = 32
        """Open connections one IP may hold, WebSocket and HTTP alike (an HTTP connection
        kept alive between requests counts too: the stricter reading of Deribit's rule).
        A request on a later connection, a WebSocket upgrade included, gets HTTP 429 and
        the connection is closed, as on Deribit (REFERENCE 3). ``None``: no limit."""
        self.http_max_age: float | None = 900.0
        """Seconds an HTTP connection serves requests: the reply to a request after that
        closes it (``Connection: close``), as Deribit's HTTP connections expire after 15
        minutes (REFERENCE 3). ``None``: never."""
        self.http_expiries = 0
        """HTTP connections closed for their age."""
        self._opened: dict[web.RequestHandler, float] = {}
        self.max_backlog: int | None = 8 * 1024 * 1024
        """Bytes a WebSocket connection may leave unread (beyond the socket's buffers)
        before it is dropped as too slow: a close frame with code 1008 and reason
        ``connection_too_slow``, as Deribit does (REFERENCE 3). ``None``: no limit."""
        self.slow_disconnects = 0
        """Connections dropped as ``connection_too_slow``."""
        self.idle_timeout: float | None = 600.0
        """Seconds a WebSocket may go without a frame from the client (a request, a
        heartbeat answer, a ping) before it is closed: Deribit drops idle connections
        after about 10 minutes (REFERENCE 3). ``None``: never."""
        self.idle_disconnects = 0
        """Connections closed for being idle."""
        self._shuffle_left = 0
        self._held: list[tuple[Session, bytes]] = []
        self._runner: web.AppRunner | None = None
        for register in (
            _accounting.register,
            _public.register,
            _streams.register,
            _private.register,
            _api_keys.register,
            _orders.register,
            _triggers.register,
            _liquidation.register,  # after the triggers: a stop loss may save the account
            _mmp.register,
            _quotes.register,
            _history.register,
            _statistics.register,
            _block_trades.register,
            _combos.register,
            _block_rfq.register,
            _wallet.register,
            _portfolio.register,
            _settlement.register,
            _travel_rule.register,
        ):
            register(self)
        _shaped.register(self)  # last: every documented method without state, by shape

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> DeribitSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind and start serving; :attr:`port` holds the real port afterwards."""
        app = web.Application()
        app.router.add_get("/ws/api/v2", self._ws_handler)
        app.router.add_route("*", "/api/v2/{method:.+}", self._http_handler)
        self._runner, self.port = await serve(app, self.host, self.port)

    async def stop(self) -> None:
        """Close every connection and stop serving."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(session.close() for session in list(self.sessions)))
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:54321``; pass it as ``DeribitClient(url=...)``."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket endpoint."""
        return f"ws://{self.host}:{self.port}/ws/api/v2"

    @property
    def http_url(self) -> str:
        """The HTTP API base (methods are appended)."""
        return f"http://{self.host}:{self.port}/api/v2"

    # -- fault hooks --------------------------------------------------------------------

    def inject_error(
        self,
        method: str,
        code: int,
        message: str = "injected_error",
        data: Any = None,
        *,
        times: int | None = 1,
        close: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``None``: all) with this error;
        with ``close=True`` the connection is closed right after, as Deribit does on 10028.
        ``method="*"`` matches any method."""
        self._errors.add(method, SimError(code, message, data), times, close)

    def delay(self, method: str, seconds: float, *, times: int | None = 1) -> None:
        """Hold the next ``times`` calls of ``method`` (``None``: all; ``"*"``: any method)
        for ``seconds`` before running and answering them (others are not held)."""
        self._delays.add(method, check_seconds(seconds), times)

    def lose_replies(self, method: str, *, times: int | None = 1) -> None:
        """Run the next ``times`` calls of ``method`` (``None``: all; ``"*"``: any method),
        then cut their connection at the TCP level instead of answering: Deribit took the
        request and its reply never came, the case a bot reconciles (an order mutation
        raises ``OrderOutcomeUnknown``). Nothing more is sent on that connection once the
        call arrived; over HTTP the connection is dropped without a response."""
        self._lost.add(method, None, times)

    def shuffle_replies(self, count: int) -> None:
        """Hold the next ``count`` WebSocket replies, then send them in a shuffled order."""
        self._shuffle_left = count

    def drop_connections(self, reason: str | None = None) -> None:
        """Cut every WebSocket connection at the TCP level, without a close frame; with
        ``reason``, close each with a close frame (code 1008) carrying it instead, such as
        Deribit's ``"connection_too_slow"``."""
        for session in list(self.sessions):
            if reason is None:
                session.abort()
            else:
                self.spawn(session.close(WSCloseCode.POLICY_VIOLATION, reason))

    def go_silent(self) -> None:
        """Keep every WebSocket open but stop reading and sending (a half-open link)."""
        for session in self.sessions:
            session.silent = True

    async def send_raw(self, frame: bytes | str) -> None:
        """Send ``frame`` as is to every WebSocket connection (e.g. malformed JSON)."""
        for session in list(self.sessions):
            session.write(frame)

    def fail_cancel_all(
        self,
        currency: str,
        code: int = 10047,
        message: str = "matching_engine_queue_full",
        *,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` cancel-all style calls fail for ``currency`` only, giving
        an erroneous execution report next to the positive ones (a partial failure)."""
        self.trading.cancel_failures.setdefault(currency, []).extend([(code, message)] * times)

    def start_streams(self, interval: float = 0.1) -> None:
        """Move the market of every watched instrument and index every ``interval`` s and
        publish it to the subscribed channels: ``ticker.*``, ``book.*`` (consecutive
        changes, or grouped snapshots), ``quote.*``, ``trades.*``, ``perpetual.*``,
        ``deribit_price_index.*`` and the rest. The market's own trades fill users'
        resting orders once the liquidity queued ahead of them has traded, and index
        moves fire ``index_price`` triggers."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.stop_streams()
        self._streamer = asyncio.ensure_future(_streams.run_streams(self, interval, _activity.move))
        self.spawn(self._streamer)

    def stop_streams(self) -> None:
        """Stop :meth:`start_streams`."""
        if self._streamer is not None:
            self._streamer.cancel()
            self._streamer = None

    def end_windows(self) -> None:
        """End every aggregation window now: each ``100ms``/``agg2`` channel sends what it
        gathered. A test that wants several events in one window sets a long period in
        :attr:`aggregation_periods`, causes them, then calls this."""
        for session in self.sessions:
            session.windows.flush_all()

    async def publish_book_change(self, instrument: str, *, gap: bool = False) -> dict[str, Any]:
        """Change one level of ``instrument``'s book and publish it to every book channel
        of the instrument; ``gap=True`` loses one change id first (the message's
        ``prev_change_id`` is not the last one sent). Returns the ``change`` message
        (``raw`` channels get it as is; ``100ms`` and ``agg2`` ones merge it into their
        window's message)."""
        _activity.random_change(self, instrument)
        change = await _streams.market_moved(self, instrument, skip=1 if gap else 0)
        if change is None:
            raise ValueError(f"{instrument}'s book is empty: there is no level to change")
        return change

    async def market_trade(
        self, instrument: str, direction: str, amount: float, *, price: float | None = None
    ) -> list[dict[str, Any]]:
        """Someone outside the simulated users trades ``amount`` of ``instrument``
        (``direction`` is theirs: ``"sell"`` hits the bids), best price first and not
        beyond ``price``. At each price the market's liquidity queued ahead of the users'
        resting orders trades first, then those orders fill, oldest first (their owners
        are told on ``user.*`` as on Deribit), then the market's own liquidity. What it
        takes is gone, so a large trade moves the best price, and trigger orders watching
        it. Subscribers see the trades and the book change. Returns the public trades."""
        if self.market.instrument(instrument) is None:
            raise ValueError(f"no instrument {instrument!r} in the simulator")
        if direction not in ("buy", "sell"):
            raise ValueError(f"direction must be 'buy' or 'sell', not {direction!r}")
        if not amount > 0:
            raise ValueError(f"a trade needs a positive amount, not {amount}")
        return await _activity.trade(self, instrument, direction, amount, limit=price)

    async def move_market(self, instrument: str, price: float) -> list[dict[str, Any]]:
        """Move ``instrument``'s market to ``price`` (its mark follows the book's middle;
        an option's, its strike's volatility, which the middle moves):
        outsiders trade through every level on the way, filling the users' resting orders
        there, and the market's own liquidity then settles around ``price`` with its
        usual shape. Trigger orders and liquidations watching it react, subscribers see
        the trades and book changes. Returns the public trades."""
        found = self.market.instrument(instrument)
        if found is None:
            raise ValueError(f"no instrument {instrument!r} in the simulator")
        if is_combo(found):
            raise ValueError(f"{instrument} is a combo: move its legs' markets instead")
        if not (math.isfinite(price) and price > 0):
            raise ValueError(f"a market moves to a positive price, not {price}")
        book = self.market.books[instrument]
        return await _activity.move_to(self, instrument, max(book.tick, book.round(price)))

    async def set_index_price(self, index: str, price: float) -> None:
        """Move ``index`` (``btc_usd``, …) to ``price``: ``deribit_price_index.{index}``
        subscribers are told, tickers and trades report it, and trigger orders with
        ``trigger="index_price"`` on its instruments fire when it reaches them."""
        if index not in self.market.index_prices:
            raise ValueError(f"no index {index!r} in the simulator")
        if not price > 0:
            raise ValueError(f"an index price must be positive, not {price}")
        self.market.index_prices[index] = float(price)
        await _streams.index_moved(self, index)

    async def daily_settlement(self) -> None:
        """Run Deribit's daily settlement (08:00 UTC on the venue) now: each futures
        position's session profit and loss (``session_upl`` + ``session_rpl``) moves
        into the balance as a ``settlement`` transaction and a settlement record, and
        its session restarts from the mark (the new ``settlement_price``); options
        restart theirs without cash; ``user.changes`` and ``user.portfolio``
        subscribers are told."""
        _settlement.daily_settlement(self)

    async def set_instrument_state(self, instrument: str, state: str) -> None:
        """Move ``instrument``'s book to ``state`` (Deribit's lifecycle: ``open``,
        ``settlement``, ``delivered``, ``inactive``, ``locked``, ``halted``,
        ``archivized``): instruments and tickers report it, ``instrument.state.*``
        subscribers are told, and trading follows it as on Deribit (REFERENCE 7.4): only
        an ``open`` book takes orders and edits, a ``locked`` one still takes cancels,
        the others nothing (``13019 orderbook_closed``); ``delivered``, ``inactive`` and
        ``archivized`` cancel the resting orders, ``settlement`` the good-til-day ones;
        ``delivered`` also closes every position at the index price (a ``delivery``
        transaction and settlement record: a future's session profit, an option's value,
        less the delivery fee).
        Combos follow their legs: a combo's book is in its first leg's state that is not
        ``open`` (a leg that expires ends the combo, which turns ``inactive``). Setting
        the state a book is already in changes and publishes nothing."""
        found = self.market.instrument(instrument)
        if found is None:
            raise ValueError(f"no instrument {instrument!r} in the simulator")
        if state not in BOOK_STATES:
            raise ValueError(f"unknown book state {state!r}; one of {', '.join(BOOK_STATES)}")
        await _orders.set_book_state(self, found, state)

    async def list_instrument(self, name: str) -> dict[str, Any]:
        """List a new future or option as Deribit does every day, named as Deribit names
        them (``BTC-25DEC26``, ``BTC-25DEC26-80000-C``, ``XRP_USDC-25DEC26-0d6-P``;
        expiring at 08:00 UTC of that date): it trades at once, ``get_instruments``
        lists it, and ``instrument.creation.{kind}.{currency}`` subscribers are sent it,
        once. Its sizes, ticks, fees and index are those of the currency's other
        instruments of its kind; its book opens at the index (a future) or at its
        Black-Scholes value (an option). Returns the instrument.

        Raises:
            ValueError: the name is listed already, is not such a name, expires in the
                past, or names a currency the simulator lists no such instrument of.
        """
        instrument = self.market.list_instrument(name, self.now_ms())
        await _streams.instrument_created(self, instrument)
        return dict(instrument)

    async def set_platform_state(
        self, *, locked: bool = False, price_index: str | None = None, maintenance: bool = False
    ) -> None:
        """Lock or unlock trading on ``price_index`` (``public/status`` reports it), or
        announce maintenance; ``platform_state`` subscribers are told."""
        if maintenance:
            await self.publish("platform_state", {"maintenance": True})
            return
        if price_index is None:
            raise ValueError("set_platform_state needs price_index (or maintenance=True)")
        if locked:
            self.locked_indices.add(price_index)
        else:
            self.locked_indices.discard(price_index)
        await self.publish("platform_state", {"price_index": price_index, "locked": locked})

    def deposit(
        self,
        currency: str,
        amount: float,
        *,
        client_id: str = SIM_CLIENT_ID,
        needs_originator: bool = False,
    ) -> dict[str, Any]:
        """A deposit of ``amount`` arrives at ``client_id``'s current ``currency`` address:
        completed and credited at once, or, with ``needs_originator``, held ``pending``
        (``clearance_state`` ``pending_user_input``) until the user calls
        ``private/set_clearance_originator``. Returns the deposit as
        ``private/get_deposits`` lists it."""
        if amount <= 0:
            raise ValueError(f"a deposit needs a positive amount, not {amount}")
        account = self.trading.account(client_id)
        deposit = account.receive_deposit(
            self.now_ms(), currency.upper(), amount, needs_originator=needs_originator
        )
        return dict(deposit)

    async def set_user_lock(
        self,
        currency: str = "ALL",
        *,
        locked: bool = True,
        client_id: str = SIM_CLIENT_ID,
        message: str = "locked by the simulator",
    ) -> None:
        """Lock (or unlock) ``client_id``'s account in ``currency`` or entirely (``ALL``),
        as Deribit's risk team would: ``get_user_locks`` reports it, ``user.lock``
        subscribers are told, and orders, edits, withdrawals and transfers in a locked
        currency get ``11098 account_locked`` (cancels still work)."""
        currency = currency.upper()
        account = self.trading.account(client_id)
        if locked:
            account.locks[currency] = message
        else:
            account.locks.pop(currency, None)
        data = {"locked": locked, "currency": currency}
        await _streams.publish_to_account(self, account.client_id, "user.lock", data)

    async def set_public_methods_state(self, *, allowed: bool) -> None:
        """Say whether unauthenticated public requests are allowed
        (``platform_state.public_methods_state``; published only, not enforced)."""
        data = {"allow_unauthenticated_public_requests": allowed}
        await self.publish("platform_state.public_methods_state", data)

    async def announce(self, title: str, body: str, *, important: bool = False) -> int:
        """Publish an announcement (``announcements`` channel, ``get_announcements``);
        returns its id."""
        now = self.now_ms()
        # ids are publication times, unique even for two announcements in one millisecond
        last = self.announcements[-1]["id"] if self.announcements else 0
        entry = {"id": max(now, last + 1), "title": title, "body": body, "important": important,
                 "publication_timestamp": now, "action": "new"}  # fmt: skip
        remember(self.announcements, entry)
        await self.publish("announcements", entry)
        return int(entry["id"])

    # -- request handling ---------------------------------------------------------------

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_websocket:
            return web.Response(status=503, text="WebSocket disabled by the test")
        refused = self._refuse_past_ip_limit(request)
        if refused is not None:
            return refused
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1024 * 1024, decode_text=False)
        await ws.prepare(request)
        session = Session(
            "ws",
            request,
            ws,
            backlog_limit=lambda: self.max_backlog,
            on_too_slow=self._too_slow,
            aggregation=self.aggregation_period,
        )
        self.sessions.add(session)
        try:
            while True:
                try:
                    msg = await ws.receive(timeout=self.idle_timeout)
                except TimeoutError:
                    self.idle_disconnects += 1
                    await session.close()
                    break
                if msg.type is WSMsgType.TEXT:
                    await self._on_ws_frame(session, msg.data)
                elif msg.type in _ENDED:
                    break
        finally:
            self.sessions.discard(session)
            session.windows.close()
            for hook in self.on_disconnect:
                hook(session)
        return ws

    def _too_slow(self, session: Session) -> None:
        self.slow_disconnects += 1
        log.info("dropping connection %d: connection_too_slow", session.id)
        self.spawn(session.close(WSCloseCode.POLICY_VIOLATION, "connection_too_slow"))

    async def _on_ws_frame(self, session: Session, frame: bytes) -> None:
        if session.silent:
            return
        if len(frame) > 32 * 1024:
            error = SimError(-32600, "request entity too large")
            await self._deliver(session, _error_envelope(None, error))
            return
        req_id, method, params = _parse_request(frame)
        if isinstance(method, SimError):
            await self._deliver(session, _error_envelope(req_id, method))
            return
        remember(self.calls, (method, params))
        delay = self._delays.take(method)
        if delay is not None:
            self.spawn(self._answer_later(session, req_id, method, params, delay.action))
            return
        await self._answer(session, req_id, method, params)

    async def _answer(
        self, session: Session, req_id: Any, method: str, params: dict[str, Any]
    ) -> None:
        lost = self._lost.take(method) is not None
        if lost:
            session.mute()  # cut as the call arrived: nothing it makes reaches this peer
        call = Call(self, session, method, params)
        frame, _ = await self._execute(call, req_id)
        if lost:
            session.abort()
        else:
            await self._deliver(session, frame)
            for message in call.followups:
                await session.send(message)
        for work in call.afterwards:
            await work()
        if call.close_after and not lost:
            await session.close()

    async def _answer_later(
        self, session: Session, req_id: Any, method: str, params: dict[str, Any], seconds: float
    ) -> None:
        await asyncio.sleep(seconds)
        await self._answer(session, req_id, method, params)

    async def _deliver(self, session: Session, frame: bytes) -> None:
        if self._shuffle_left > 0:
            self._held.append((session, frame))
            self._shuffle_left -= 1
            if self._shuffle_left == 0:
                held, self._held = self._held, []
                self.rng.shuffle(held)
                for target, data in held:
                    target.write(data)
            return
        session.write(frame)

    def _refuse_past_ip_limit(self, request: web.Request) -> web.Response | None:
        """HTTP 429 for a request on a connection opened after ``max_connections_per_ip``
        others from its IP that are still open, else ``None``.

        Connections are ranked by when they were opened, so those within the limit keep
        working while a later one is refused; the refused one is closed so that it stops
        counting (a client's pool would otherwise keep reusing it).
        """
        limit = self.max_connections_per_ip
        if limit is None:
            return None
        peer, mine = request.remote, request.protocol
        earlier = 0
        for handler in self._open_connections():
            if handler is mine:
                break
            address = handler.peername
            if isinstance(address, tuple) and address[0] == peer:
                earlier += 1
        if earlier < limit:
            return None
        refusal = web.Response(status=429, text=f"too many connections from {peer}")
        refusal.force_close()
        return refusal

    def _expire_old_connection(self, request: web.Request, response: web.Response) -> None:
        """Close the connection after ``response`` once it is ``http_max_age`` old."""
        max_age = self.http_max_age
        if max_age is None:
            return
        now = asyncio.get_running_loop().time()
        handler = request.protocol
        opened = self._opened.setdefault(handler, now)
        if now - opened >= max_age:
            response.force_close()
            self.http_expiries += 1
            del self._opened[handler]
        if len(self._opened) > 64:
            # Forget connections that ended without expiring (closed by the client).
            alive = set(self._open_connections())
            self._opened = {h: t for h, t in self._opened.items() if h in alive}

    def _open_connections(self) -> list[web.RequestHandler]:
        """Every open connection (WebSocket or HTTP), in the order they were opened."""
        server = None if self._runner is None else self._runner.server
        return [] if server is None else server.connections

    async def _http_handler(self, request: web.Request) -> web.StreamResponse:
        refused = self._refuse_past_ip_limit(request)
        if refused is not None:
            return refused
        response = await self._answer_http(request)
        self._expire_old_connection(request, response)
        return response

    async def _answer_http(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        session = Session("http", request)
        req_id: Any = None
        if request.method == "POST":
            body = await request.read()
            session.state["body"] = body  # signature auth signs the exact body
            if len(body) > 32 * 1024:
                error = SimError(-32600, "request entity too large")
                return _http_reply(_error_envelope(None, error), ok=False)
            req_id, body_method, params = _parse_request(body)
            if isinstance(body_method, SimError):
                return _http_reply(_error_envelope(req_id, body_method), ok=False)
            method = body_method or method
        elif request.method == "GET":
            params = dict(request.query)  # strings: converted by the handlers' declared types
        else:
            return web.Response(status=405, text="use GET or POST")
        remember(self.calls, (method, params))
        delay = self._delays.take(method)
        if delay is not None:
            await asyncio.sleep(delay.action)
        call = Call(self, session, method, params)
        call.from_query = request.method == "GET"
        reply = _http_reply(*await self._execute(call, req_id))
        for work in call.afterwards:  # once the response is on its way
            self.spawn(work())
        if self._lost.take(method) is not None and request.transport is not None:
            request.transport.abort()  # run, and no response: the connection just ends
        return reply

    async def _execute(self, call: Call, req_id: Any) -> tuple[bytes, bool]:
        """Run one call; returns the reply envelope and whether it succeeded."""
        us_in = int(self.clock() * 1_000_000)
        method = call.method
        try:
            fault = self._errors.take(method)
            if fault is not None:
                call.close_after = fault.close
                raise fault.action
            handler = self.methods.get(method)
            if handler is None:
                raise SimError(-32601, "Method not found")
            if method.startswith("private/") and self.authorize is not None:
                call.token = self.authorize(call)
            self.charge_credits(call)
            # Also the params this call's handler does not read (a trigger_price on a
            # market order): Deribit refuses any mistyped one.
            check_param_types(call)
            result = handler(call)
            if asyncio.iscoroutine(result):
                result = await result
        except SimError as exc:
            return _error_envelope(req_id, exc, us_in, int(self.clock() * 1_000_000)), False
        except Exception:
            log.exception("simulator handler for %s failed", method)
            error = SimError(11094, "internal_server_error")
            return _error_envelope(req_id, error, us_in, int(self.clock() * 1_000_000)), False
        us_out = int(self.clock() * 1_000_000)
        frame = json_encode(
            {
                "jsonrpc": "2.0",
                "id": req_id,
                "result": result,
                "usIn": us_in,
                "usOut": us_out,
                "usDiff": us_out - us_in,
                "testnet": True,
            }
        )
        return frame, True


def _parse_request(frame: bytes | str) -> tuple[Any, str | SimError, dict[str, Any]]:
    """``(id, method, params)``, or ``(id, error, {})`` for a frame that is not a request;
    the id is echoed when the frame is an object that has one, so its sender can match
    the refusal."""
    try:
        request = _json_decode(frame)
    except (msgspec.DecodeError, RecursionError):  # nested too deep for the decoder
        return None, SimError(-32700, "Parse error"), {}
    if not isinstance(request, dict):
        return None, SimError(11050, "bad_request"), {}
    req_id = request.get("id")
    method = request.get("method")
    params = request.get("params", {})
    if not isinstance(method, str):
        return req_id, SimError(11050, "bad_request"), {}
    if not isinstance(params, dict):
        error = SimError(-32602, "Invalid params", {"reason": "params must be an object"})
        return req_id, error, {}
    return req_id, method, params


def _error_envelope(req_id: Any, error: SimError, us_in: int = 0, us_out: int = 0) -> bytes:
    return json_encode(
        {
            "jsonrpc": "2.0",
            "id": req_id,
            "error": error.to_json(),
            "usIn": us_in,
            "usOut": us_out,
            "usDiff": us_out - us_in,
            "testnet": True,
        }
    )


def _http_reply(envelope: bytes, ok: bool) -> web.Response:
    # Deribit answers JSON-RPC errors over HTTP with a non-200 status (REFERENCE.md 1).
    return web.Response(body=envelope, status=200 if ok else 400, content_type="application/json")
