"""Drives one sans-I/O wire protocol over one transport: read loop, waiters, one timer, writes.

Two drivers share one contract (``call`` returns the decoded result, or with ``meta=True`` the
matched :class:`Reply`, or raises the typed error): :class:`Connection` for full-duplex streams
(WebSocket, mock) and :class:`RequestConnection` for request/response transports (HTTP).
Neither re-sends anything: orders are not idempotent.

Rules: no frame can end the read loop (the protocol never raises, and a failing route is
contained); user code is never awaited in the read loop; a call's ``timeout`` covers sending
as well as waiting; every waiter fails together when the link dies.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Generic, TypeVar

from ..transports.base import RequestTransport, SendProgress, StreamTransport
from .credits import CreditPool, refund_credits
from .errors import (
    ClientError,
    ConnectionLost,
    DeribitError,
    HTTPStatusError,
    ProtocolError,
    TransportError,
)
from .protocol import LateReply, Reply, Violation, WireProtocol
from .tasks import current_task, finish_all, loop_shortcuts, other_loop_error, stop_tasks

__all__ = ["DEFAULT_TIMEOUT", "Connection", "RequestConnection", "check_timeout"]

log = logging.getLogger("deribit_client")

DEFAULT_TIMEOUT = 10.0
"""Seconds a call waits for its reply unless the caller says otherwise."""

_CLOCK_SLACK = 1e-3
_WATCH_STEPS = 8  # watchdog checks per idle limit: a dead link is seen within 1 + 1/8 limits

Future = asyncio.Future[Reply[Any]]
P = TypeVar("P", bound=WireProtocol[Any])


def check_timeout(value: object, name: str = "timeout") -> float:
    """Validate a timeout in seconds: a finite positive number (bools are refused).

    Raises:
        ClientError: naming ``name``, when ``value`` is not such a number.
    """
    if type(value) is float or type(value) is int:
        if 0 < value < math.inf:  # also False for NaN
            return float(value)
        raise ClientError(f"{name} must be a positive number of seconds, not {value!r}")
    raise ClientError(f"{name} must be a number of seconds, not {type(value).__name__} {value!r}")


class Connection(Generic[P]):
    """One protocol over one stream transport.

    Args:
        transport: a connected stream.
        protocol: the wire protocol's state for this connection (fresh per connection).
        on_event: called synchronously from the read loop with every event that is not a
            reply, a routed item or a violation (venue-specific events); it must not block.
            Frames the protocol queued meanwhile are sent after it returns.
        on_closed: called once when the read loop ends, with the reason.
        on_error: called with the error of every reply that carries one (the venue's
            rate-limit refusals matter to a credit limiter); it must not block.
        default_timeout: seconds a call waits when it does not pass ``timeout``.
    """

    def __init__(
        self,
        transport: StreamTransport,
        protocol: P,
        *,
        on_event: Callable[[object], None] | None = None,
        on_closed: Callable[[Connection[P], str], None] | None = None,
        on_error: Callable[[DeribitError], None] | None = None,
        default_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._transport = transport
        # Optional transport hook: did a failed send write nothing at all?
        self._unsent: Callable[[BaseException], bool] = getattr(transport, "unsent", _never)
        self.protocol = protocol
        self._on_event = on_event
        self._on_closed = on_closed
        self._on_error = on_error
        self.default_timeout = default_timeout
        self._reader: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_future: Callable[[], Future]  # the loop's, set by start()
        self._clock: Callable[[], float]
        self._flusher: asyncio.Task[None] | None = None
        self._closed_reason: str | None = None
        self._abort_reason: str | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._sweep: asyncio.TimerHandle | None = None
        self._next_sweep = math.inf
        # Requests whose frame is still being written, by key: their deadline cancels the
        # sending task (see _expire_due), so a full write buffer cannot outlast a timeout.
        self._sending: dict[Future, asyncio.Task[Any]] = {}
        self._send_expired: set[Future] = set()
        self.frames = 0
        """Frames received on this connection (any kind)."""
        self.retry_after: float | None = None
        """Loop time before which the venue asked not to be called (a rate-limit hint)."""
        self.orphaned = False
        """True when the read loop ended with its event loop rather than by the link or the
        client: cancelled by the loop's shutdown, or destroyed after the loop stopped for
        good. Its owner must not reconnect."""

    @property
    def closed(self) -> bool:
        """True once the connection is gone; every later call fails fast."""
        return self._closed_reason is not None

    @property
    def closed_reason(self) -> str | None:
        """Why the connection ended, once it has."""
        return self._closed_reason

    def start(self) -> None:
        """Start the read loop (once); the connection belongs to the running loop."""
        if self._reader is None:
            self._loop = asyncio.get_running_loop()
            self._new_future, self._clock = loop_shortcuts(self._loop)
            self._reader = self._loop.create_task(self._read_loop(), name="deribit-read-loop")

    def call(
        self,
        timeout: float | None,
        meta: bool,
        pools: tuple[CreditPool, ...],
        prepare: Callable[..., tuple[Any, bytes]],
        a: Any,
        b: Any,
        c: Any,
        d: Any,
    ) -> Coroutine[Any, Any, Any]:
        """Prepare one request now and return the coroutine that sends it and waits for
        its reply.

        ``prepare(a, b, c, d, waiter, deadline, timeout)`` is the protocol's request
        preparation (four venue arguments: fixed, so no ``*args`` tuple lives as long as
        the call); it registers the waiter and returns ``(key, frame)``. Whatever refuses
        the request before any I/O (a closed connection, the protocol's validation) raises
        here, so a caller can tell "never sent" from the errors of the exchange itself.
        ``pools``: the credits the caller took for this request, given back when the
        transport refuses to write it (the caller gives them back for refusals here).
        ``a`` is the request's method (Exberry: its ``q``): what names it when its outcome
        has to be reported to nobody waiting (see :meth:`WireProtocol.unclaimed`).

        Returns:
            A coroutine returning the decoded result, or with ``meta`` the whole
            :class:`Reply`; it must be awaited (the request is registered already).

        Raises:
            ConnectionLost: the connection is closed; nothing was sent.
            ClientError: the protocol refused the request, or another event loop called.
        """
        if self._closed_reason is not None:
            raise ConnectionLost(f"connection is closed: {self._closed_reason}")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the loop is at hand here anyway: the check is free
            raise other_loop_error(self._loop)
        future: Future = self._new_future()
        limit = self.default_timeout if timeout is None else timeout
        deadline = self._clock() + limit
        key, frame = prepare(a, b, c, d, future, deadline, limit)
        if deadline < self._next_sweep:
            self._arm_sweep(loop, deadline)
        return self._exchange(loop, future, key, frame, limit, meta, pools, a)

    async def _exchange(
        self,
        loop: asyncio.AbstractEventLoop,
        future: Future,
        key: Any,
        frame: bytes,
        limit: float,
        meta: bool,
        pools: tuple[CreditPool, ...],
        method: str,
    ) -> Any:
        """Send a prepared request and wait for its reply (see :meth:`call`).

        Raises:
            RequestTimeout: no reply (or the frame could not be written) within the limit.
            ConnectionLost: the connection closed before the reply; nothing is re-sent.
            DeribitError: whatever the protocol maps a reply's error or a lost reply to.
        """
        protocol = self.protocol
        sending = self._sending
        task = current_task(loop)
        try:
            if task is not None:
                sending[future] = task
            try:
                await self._transport.send(frame)
            except asyncio.CancelledError:
                if future in self._send_expired and task is not None and task.uncancel() == 0:
                    # Our deadline interrupted a blocked write: a timeout, not a cancellation.
                    error = future.exception() or protocol.timed_out(key, limit)
                    raise error from error.__cause__  # keep the outcome rule's cause
                raise
            except ConnectionError as exc:
                if future.done() and not future.cancelled():
                    future.exception()  # already failed by the read loop; raise the send error
                # This call's own error first (it leaves the table), then the link: a failed
                # write means it is gone, whether or not its read side has seen it yet.
                broken = f"send failed: {exc}"
                # The transport's own ConnectionLost, or an error it says wrote nothing:
                # nothing was sent, so the call is no unknown outcome and costs no credits.
                own = isinstance(exc, ConnectionLost)
                if own or self._unsent(exc):
                    protocol.forget(key)
                    refund_credits(pools)
                    failure: BaseException = exc if own else ConnectionLost(f"not sent: {exc}")
                else:
                    # The frame may be on the wire already (e.g. a failed drain after the write).
                    failure = protocol.lost(key, broken)
                self._link_broken(broken)
                if failure is exc:
                    raise
                raise failure from exc
            finally:
                del sending[future]
                if self._send_expired:
                    self._send_expired.discard(future)
            reply = await future
        except asyncio.CancelledError:
            # The frame is written (aiohttp writes before it waits to drain): cancelling the
            # caller does not unsend it.
            if future.done() and not future.cancelled():
                # Its outcome came in the loop turn that cancelled the caller.
                outcome = future.exception() or future.result()
                _report_unseen(protocol.unclaimed(method, key, outcome))
            else:
                _report_unseen(protocol.abandon(key))
            raise
        except BaseException:
            # Failed: free the entry (a no-op where the error path already did).
            protocol.forget(key)
            raise
        return reply if meta else reply.value

    async def send(self, frame: bytes) -> None:
        """Write one frame no reply is expected for (opening or closing a long-lived
        stream), in order with the calls that follow it.

        Raises:
            ConnectionLost: the connection is closed or broke while writing.
        """
        if self._closed_reason is not None:
            raise ConnectionLost(f"connection is closed: {self._closed_reason}")
        try:
            await self._transport.send(frame)
        except ConnectionError as exc:
            self._link_broken(f"send failed: {exc}")
            raise ConnectionLost(f"send failed: {exc}") from exc

    def flush_soon(self) -> None:
        """Send the frames the protocol queued (``data_to_send``) from a task this
        connection owns: for frames no caller waits on, such as opening or closing a
        long-lived stream, which must not block or be lost to a cancellation."""
        if self._closed_reason is None and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(), name="deribit-writer"
            )

    async def _flush(self) -> None:
        try:
            while frames := self.protocol.data_to_send():
                for frame in frames:
                    await self._transport.send(frame)
        except ConnectionError as exc:
            log.debug("queued frame not sent: %r", exc)
            self._link_broken(f"send failed: {exc}")

    def _arm_sweep(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        # One timer per connection, at the earliest deadline, instead of one per request.
        if self._sweep is not None:
            self._sweep.cancel()
        self._next_sweep = when
        self._sweep = loop.call_at(when, self._expire_due)

    def _expire_due(self) -> None:
        self._sweep, self._next_sweep = None, math.inf
        loop = asyncio.get_running_loop()
        # Timers may fire a hair before their time on coarse clocks: allow for it.
        expired, earliest = self.protocol.expire(loop.time() + _CLOCK_SLACK)
        for future, error in expired:
            if not future.done():
                future.set_exception(error)
        if self._sending:
            # A request whose deadline passed while its frame was still being written: the
            # writer is stuck behind a full buffer (half-open link). Interrupt it.
            for waiter, task in list(self._sending.items()):
                if waiter.done() and waiter not in self._send_expired:
                    self._send_expired.add(waiter)
                    task.cancel()
        if earliest != math.inf and self._closed_reason is None:
            self._arm_sweep(loop, earliest)

    def watch(self, idle_limit: float) -> None:
        """Abort the connection when no frame at all arrives for ``idle_limit`` seconds.

        With heartbeats on, silence longer than about two intervals means the link is dead
        or half-open. The check counts frames instead of reading a clock per frame, so it
        costs the read loop nothing; it runs every ``idle_limit / 8`` seconds, so a dead
        link is detected between ``idle_limit`` and ``1.125 * idle_limit`` after the last
        frame.
        """
        loop = asyncio.get_running_loop()
        step = idle_limit / _WATCH_STEPS
        seen = [self.frames, 0]  # frames at last check, consecutive silent checks

        def check() -> None:
            if self._closed_reason is not None:
                return
            if self.frames == seen[0]:
                seen[1] += 1
                if seen[1] >= _WATCH_STEPS:
                    self.abort(f"no traffic for {idle_limit:g} s (heartbeat missed)")
                    return
            else:
                seen[0], seen[1] = self.frames, 0
            self._watchdog = loop.call_later(step, check)

        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = loop.call_later(step, check)

    def _link_broken(self, reason: str) -> None:
        """A write failed: the link is gone even when its read side has not seen it yet (a
        transport closing under a burst of calls that never yield to the read loop). End
        the connection now, so its owner reconnects and nothing treats it as ready."""
        self.abort(reason)  # the reader stops, the transport is dropped without a handshake
        self._shutdown(reason)  # now, not when the cancelled reader next runs

    def abort(self, reason: str) -> None:
        """End the connection now (dead link): waiters fail, the transport is dropped."""
        if self._closed_reason is None and self._reader is not None:
            self._abort_reason = reason
            self._reader.cancel()

    async def _read_loop(self) -> None:
        protocol = self.protocol
        receive, payload = self._transport.receive, self._transport.payload
        # Messages of exactly this type are (kind, frame, ...) tuples carrying data: taking
        # the frame here saves a call per frame; anything else (closes, errors) goes
        # through payload(). None for transports without such a type.
        data_type = getattr(self._transport, "data_message_type", None)
        receive_event = protocol.receive
        on_event = self._on_event or _ignore
        running = asyncio.get_running_loop().is_running
        reason = "read loop ended"
        try:
            while True:
                message = await receive()
                event = receive_event(
                    message[1] if type(message) is data_type else payload(message)  # type: ignore[index]
                )
                self.frames += 1
                # Exact type checks: cheapest dispatch. Routed items first (the hot path).
                if type(event) is tuple:
                    # Fetched, then called: on 3.11 a call through an attribute holding a
                    # callable (not a method) takes an unspecialised lookup (~100 instr).
                    deliver = event[0].deliver
                    try:
                        deliver(event[1])
                    except Exception:  # a bug on the subscriber side, not the wire
                        log.exception("delivering a stream item failed")
                elif type(event) is Reply:
                    future = event.waiter
                    # The reply becomes the future's result: were it to keep pointing back at
                    # the future, every call would leave a cycle only the collector frees.
                    event.waiter = None
                    if not future.done():
                        if event.error is None:
                            future.set_result(event)
                        else:
                            self._error_reply(event.error)
                            future.set_exception(event.error)
                    else:  # its caller was cancelled in this loop turn: it will not see this
                        _report_unseen(protocol.unclaimed(event.method, event.request_id, event))
                elif event is None:
                    continue
                elif type(event) is Violation:
                    self._violation(event)
                elif type(event) is LateReply:
                    _report_unseen(event)
                else:
                    try:
                        on_event(event)
                    except Exception:
                        log.exception("handling %s failed", type(event).__name__)
                    for frame in protocol.data_to_send():
                        await self._transport.send(frame)
        except ConnectionError as exc:  # ConnectionLost, or the transport's own reset error
            reason = str(exc) or type(exc).__name__
        except asyncio.CancelledError:
            if self._abort_reason is not None:
                reason = self._abort_reason
            elif self._reader is None:  # taken by close()
                reason = "client closed the connection"
            else:
                # Nothing of the client's cancelled it: its event loop is being shut down
                # with the client open (asyncio.run() ending). No reconnect can outlive that.
                self.orphaned = True
                reason = "the event loop was shut down with the client open"
            raise
        except Exception as exc:  # a bug, not the wire: keep it visible, fail waiters
            if running():  # else its loop is gone: below
                log.exception("read loop crashed")
            reason = f"read loop crashed: {exc!r}"
        finally:
            if not running():
                # Destroyed by the collector after its loop stopped for good with the client
                # open (closed, or just dropped): nothing can be awaited, nor reconnected.
                self.orphaned = True
                reason = "the event loop was dropped with the client open"
            self._shutdown(reason)
            if self.orphaned and running():
                # Nobody will close this connection while its loop still runs: drop the
                # socket now rather than leave it to the collector after the loop is gone.
                await self._transport.abort()

    def _violation(self, event: Violation) -> None:
        log.warning("ignored frame: %s; frame starts %r", event.reason, event.excerpt)
        if event.error is not None:
            self._error_reply(event.error)
        if event.route is not None:
            try:
                event.route.malformed(event.reason)
            except Exception:
                log.exception("reporting a malformed stream item failed")

    def _error_reply(self, error: DeribitError) -> None:
        # A rate-limit answer may be followed by the venue closing the socket (Deribit's
        # 10028): whoever reconnects must honour the hint (see the supervisor).
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, float) and hint > 0:
            until = asyncio.get_running_loop().time() + hint
            if self.retry_after is None or until > self.retry_after:
                self.retry_after = until
        _report_error(self._on_error, error)

    def _shutdown(self, reason: str) -> None:
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        for handle in (self._watchdog, self._sweep):
            if handle is not None:
                handle.cancel()
        for future, error in self.protocol.connection_lost(reason):
            if not future.done():
                future.set_exception(error)
        if self._on_closed is not None:
            self._on_closed(self, reason)

    async def close(self) -> None:
        """Stop the read loop, fail every waiter, close the transport. Idempotent.

        Runs to the end even when the calling task is cancelled meanwhile (for example
        inside an expired ``asyncio.timeout``): the socket is always released, then the
        cancellation is re-raised.
        """
        reader, self._reader = self._reader, None
        flusher, self._flusher = self._flusher, None

        async def release() -> None:
            self._shutdown("client closed the connection")
            if self._abort_reason is not None:
                await self._transport.abort()
                return
            try:
                await self._transport.close()
            except BaseException:
                await self._transport.abort()  # a failed close handshake: drop the socket
                raise

        await finish_all(lambda: stop_tasks(reader, flusher), release)


class RequestConnection(Generic[P]):
    """Runs calls over a request/response transport (HTTP) through the same protocol.

    Args:
        transport: an HTTP transport.
        protocol: the wire protocol's state (its replies are decoded like stream replies).
        default_timeout: seconds a call waits when it does not pass ``timeout``.
        headers: called per request with ``(label, frame)`` to produce extra headers.
        on_error: as for :class:`Connection`.
    """

    def __init__(
        self,
        transport: RequestTransport,
        protocol: P,
        *,
        default_timeout: float = DEFAULT_TIMEOUT,
        headers: Callable[[str, bytes], Mapping[str, str] | None] | None = None,
        on_error: Callable[[DeribitError], None] | None = None,
    ) -> None:
        self._transport = transport
        self.protocol = protocol
        self._headers = headers
        self._on_error = on_error
        self.default_timeout = default_timeout
        self._loop = asyncio.get_running_loop()  # created by a coroutine of its client
        self.closed = False
        """HTTP has no connection to lose; True once closed."""
        self.closed_reason: str | None = None
        self.retry_after: float | None = None
        self.orphaned = False  # no read loop to lose

    def call(
        self,
        timeout: float | None,
        meta: bool,
        pools: tuple[CreditPool, ...],
        label: str,
        prepare: Callable[..., tuple[Any, bytes]],
        a: Any,
        b: Any,
        c: Any,
        d: Any,
    ) -> Coroutine[Any, Any, Any]:
        """Prepare one request now and return the coroutine that POSTs it and decodes its
        reply; as :meth:`Connection.call`.

        ``label`` names the request for the transport (Deribit: the method, which is also
        the URL path).
        """
        if asyncio.get_running_loop() is not self._loop:
            raise other_loop_error(self._loop)
        limit = self.default_timeout if timeout is None else timeout
        key, frame = prepare(a, b, c, d, None, math.inf, limit)
        try:
            headers = self._headers(label, frame) if self._headers is not None else None
        except BaseException:
            self.protocol.forget(key)
            raise
        return self._post(label, key, frame, headers, limit, meta, pools)

    async def _post(
        self,
        label: str,
        key: Any,
        frame: bytes,
        headers: Mapping[str, str] | None,
        limit: float,
        meta: bool,
        pools: tuple[CreditPool, ...],
    ) -> Any:
        protocol = self.protocol
        progress = SendProgress()
        try:
            body = await self._transport.request(label, frame, headers, limit, progress)
        except TimeoutError:
            raise protocol.timed_out(key, limit) from None
        except ConnectionLost as exc:
            raise protocol.lost(key, str(exc)) from exc
        except HTTPStatusError as exc:
            if exc.status >= 500:  # a gateway error: the request may have been processed
                raise protocol.lost(key, str(exc)) from exc
            protocol.forget(key)  # refused at the edge (e.g. 429)
            raise
        except TransportError:
            protocol.forget(key)
            refund_credits(pools)  # could not connect: the server never saw the request
            raise
        except asyncio.CancelledError:
            if progress.sent:  # the POST may have gone out already
                _report_unseen(protocol.abandon(key))
            else:  # e.g. still waiting for a connection from the pool: nothing left
                protocol.forget(key)
                refund_credits(pools)
            raise
        except BaseException:
            protocol.forget(key)
            raise
        event = protocol.receive(body)
        if type(event) is Reply:
            if event.error is not None:
                _report_error(self._on_error, event.error)
                raise event.error
            return event if meta else event.value
        protocol.forget(key)
        raise _unexpected_http_reply(label, key, event)

    async def close(self) -> None:
        """Close the transport."""
        self.closed, self.closed_reason = True, "closed"
        await self._transport.close()


def _never(_: BaseException) -> bool:
    return False


def _ignore(_: object) -> None:
    pass


def _report_unseen(outcome: LateReply | DeribitError | None) -> None:
    """Log what a caller that gave up will never see of an order mutation (the caller gets
    its CancelledError, which cannot carry it; the warning's record does):

    - an outcome-unknown error (the request left, its caller was cancelled): the text is
      the error, ``record.outcome_unknown`` the error itself;
    - a :class:`LateReply` (the reply came after that, or as its caller was cancelled):
      ``record.late_reply``.
    """
    if isinstance(outcome, LateReply):
        log.warning("%s", outcome, extra={"late_reply": outcome})
    elif outcome is not None:
        log.warning("%s", outcome, extra={"outcome_unknown": outcome})


def _report_error(hook: Callable[[DeribitError], None] | None, error: DeribitError) -> None:
    if hook is not None:
        try:
            hook(error)
        except Exception:  # a bug in the hook must not end the read loop
            log.exception("error-reply hook failed")


def _unexpected_http_reply(label: str, key: object, event: object) -> DeribitError:
    if isinstance(event, Violation):
        return event.error or ProtocolError(f"HTTP reply to {label}: {event.reason}")
    return ProtocolError(f"HTTP reply to {label} does not answer request id {key}")
