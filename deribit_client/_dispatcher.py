"""Drives the sans-I/O core over a transport: read loop, futures by id, timeouts, writes.

Two drivers share one contract (``call`` returns the decoded result, or with ``meta=True``
the matched :class:`Reply`, or raises the typed error): :class:`StreamDispatcher` for
WebSocket-like streams and :class:`RequestDispatcher` for HTTP. Neither re-sends anything:
orders are not idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._errors import ConnectionLost, DeribitError, HTTPStatusError, ProtocolError, TransportError
from ._rpc.protocol import (
    ChannelSink,
    Heartbeat,
    NotificationParams,
    Reply,
    RpcProtocol,
    Violation,
)
from .transports.base import RequestTransport, StreamTransport

__all__ = ["DEFAULT_TIMEOUT", "RequestDispatcher", "StreamDispatcher"]

log = logging.getLogger("deribit_client")

DEFAULT_TIMEOUT = 10.0
"""Seconds a call waits for its reply unless the caller says otherwise."""

_CLOCK_SLACK = 1e-3

Future = asyncio.Future[Reply[Any]]


class StreamDispatcher:
    """Correlates requests and replies on one stream connection.

    Args:
        transport: a connected stream.
        on_notification: called synchronously from the read loop for every ``subscription``
            message that no channel sink took (raw :class:`NotificationParams`); it must
            not block.
        on_closed: called once when the read loop ends, with the reason.
        default_timeout: seconds a call waits when it does not pass ``timeout``.
        ids: request id source (tests inject one for deterministic frames).
    """

    def __init__(
        self,
        transport: StreamTransport,
        *,
        on_notification: Callable[[NotificationParams], None] | None = None,
        on_closed: Callable[[str], None] | None = None,
        default_timeout: float = DEFAULT_TIMEOUT,
        ids: Iterator[int] | None = None,
        channel_sinks: dict[bytes, ChannelSink] | None = None,
    ) -> None:
        self._transport = transport
        self._protocol: RpcProtocol[Future] = RpcProtocol(ids=ids, channel_sinks=channel_sinks)
        self._on_notification = on_notification
        self._on_closed = on_closed
        self.default_timeout = default_timeout
        self._reader: asyncio.Task[None] | None = None
        self._closed_reason: str | None = None
        self._abort_reason: str | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._sweep: asyncio.TimerHandle | None = None
        self._next_sweep = math.inf
        self.frames = 0
        """Frames received on this connection (any kind)."""

    @property
    def protocol(self) -> RpcProtocol[Future]:
        """The core's state: ``pending_count``, ``late_replies``, ``violations``, ..."""
        return self._protocol

    @property
    def closed(self) -> bool:
        """True once the connection is gone; every later call fails fast."""
        return self._closed_reason is not None

    def start(self) -> None:
        """Start the read loop (once)."""
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(
                self._read_loop(), name="deribit-read-loop"
            )

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: Any,
        timeout: float | None = None,
        access_token: str | None = None,
        meta: bool = False,
    ) -> Any:
        """Send one request and wait for its reply: the decoded result, or with ``meta`` the
        whole :class:`Reply` (envelope timing included).

        Raises:
            RpcError: the server answered with an error (typed by code).
            RequestTimeout: no reply within ``timeout`` (default :attr:`default_timeout`).
            ConnectionLost: the connection closed before the reply; nothing is re-sent.
            OrderOutcomeUnknown: instead of the two above, for order mutations.
        """
        if self._closed_reason is not None:
            raise ConnectionLost(f"connection is closed: {self._closed_reason}")
        loop = asyncio.get_running_loop()
        future: Future = loop.create_future()
        limit = self.default_timeout if timeout is None else timeout
        deadline = loop.time() + limit
        request_id, frame = self._protocol.prepare_request(
            method, params, result_type, future, access_token, deadline, limit
        )
        if deadline < self._next_sweep:
            self._arm_sweep(loop, deadline)
        try:
            try:
                await self._transport.send(frame)
            except ConnectionError as exc:
                if future.done() and not future.cancelled():
                    future.exception()  # already failed by the read loop; raise the send error
                if isinstance(exc, ConnectionLost):
                    raise  # the transport refused before writing: nothing was sent
                # The frame may be on the wire already (e.g. a failed drain after the write):
                # an order mutation's outcome is unknown.
                raise self._protocol.lost(request_id, f"send failed: {exc}") from exc
            reply = await future
            return reply if meta else reply.value
        finally:
            # A no-op when the reply arrived; after a cancellation it frees the entry.
            self._protocol.forget(request_id)

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
        expired, earliest = self._protocol.expire(loop.time() + _CLOCK_SLACK)
        for future, error in expired:
            if not future.done():
                future.set_exception(error)
        if earliest != math.inf and self._closed_reason is None:
            self._arm_sweep(loop, earliest)

    def watch(self, idle_limit: float) -> None:
        """Abort the connection when no frame at all arrives for ``idle_limit`` seconds.

        With Deribit's heartbeat on, silence longer than about two intervals means the link
        is dead or half-open (REFERENCE 1). The check counts frames instead of reading a
        clock per frame, so it costs the read loop nothing.
        """
        loop = asyncio.get_running_loop()
        step = idle_limit / 2
        seen = [self.frames, 0]  # frames at last check, consecutive silent checks

        def check() -> None:
            if self._closed_reason is not None:
                return
            if self.frames == seen[0]:
                seen[1] += 1
                if seen[1] >= 2:
                    self.abort(f"no traffic for {idle_limit:g} s (heartbeat missed)")
                    return
            else:
                seen[0], seen[1] = self.frames, 0
            self._watchdog = loop.call_later(step, check)

        self._watchdog = loop.call_later(step, check)

    def abort(self, reason: str) -> None:
        """End the connection now (dead link): waiters fail, the transport is dropped."""
        if self._closed_reason is None and self._reader is not None:
            self._abort_reason = reason
            self._reader.cancel()

    async def send_raw(self, frames: list[bytes]) -> None:
        """Send frames the protocol queued by itself (heartbeat answers)."""
        for frame in frames:
            await self._transport.send(frame)

    async def _read_loop(self) -> None:
        protocol = self._protocol
        receive, payload = self._transport.receive, self._transport.payload
        receive_frame = protocol.receive_frame
        on_notification = self._on_notification or _ignore
        reason = "read loop ended"
        try:
            while True:
                event = receive_frame(payload(await receive()))
                self.frames += 1
                # Exact type checks: cheapest dispatch, and mypy narrows on them. Typed
                # notifications were already handed to their channel's sink (event None).
                if event is None:
                    continue
                if type(event) is Reply:
                    future = event.waiter
                    if not future.done():
                        if event.error is None:
                            future.set_result(event)
                        else:
                            future.set_exception(event.error)
                elif type(event) is NotificationParams:
                    try:
                        on_notification(event)
                    except Exception:
                        log.exception("notification handler failed for %s", event.channel)
                elif type(event) is Heartbeat:
                    frames = protocol.data_to_send()
                    if frames:
                        await self.send_raw(frames)
                elif type(event) is Violation:
                    log.warning("ignored frame: %s; frame starts %r", event.reason, event.excerpt)
                # UnmatchedReply (late or unknown id) and None need nothing: the core counts them.
        except ConnectionError as exc:  # ConnectionLost, or the transport's own reset error
            reason = str(exc) or type(exc).__name__
        except asyncio.CancelledError:
            reason = self._abort_reason or "client closed the connection"
            raise
        except Exception as exc:  # a bug, not the wire: keep it visible, fail waiters
            log.exception("read loop crashed")
            reason = f"read loop crashed: {exc!r}"
        finally:
            self._shutdown(reason)

    def _shutdown(self, reason: str) -> None:
        if self._closed_reason is not None:
            return
        self._closed_reason = reason
        for handle in (self._watchdog, self._sweep):
            if handle is not None:
                handle.cancel()
        for future, error in self._protocol.connection_lost(reason):
            if not future.done():
                future.set_exception(error)
        if self._on_closed is not None:
            self._on_closed(reason)

    async def close(self) -> None:
        """Stop the read loop, fail every waiter, close the transport. Idempotent."""
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        self._shutdown("client closed the connection")
        if self._abort_reason is not None:
            await self._transport.abort()
        else:
            await self._transport.close()


class RequestDispatcher:
    """Runs calls over a request/response transport (HTTP) through the same core.

    Args:
        transport: an HTTP transport.
        default_timeout: seconds a call waits when it does not pass ``timeout``.
        headers: called per request to produce extra headers (authorization).
    """

    def __init__(
        self,
        transport: RequestTransport,
        *,
        default_timeout: float = DEFAULT_TIMEOUT,
        headers: Callable[[str, bytes], Mapping[str, str] | None] | None = None,
        ids: Iterator[int] | None = None,
    ) -> None:
        self._transport = transport
        self._protocol: RpcProtocol[None] = RpcProtocol(ids=ids)
        self._headers = headers
        self.default_timeout = default_timeout

    @property
    def protocol(self) -> RpcProtocol[None]:
        """The core's state (pending requests, counters)."""
        return self._protocol

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: Any,
        timeout: float | None = None,
        meta: bool = False,
    ) -> Any:
        """POST one request and decode its reply; as :meth:`StreamDispatcher.call`."""
        protocol = self._protocol
        request_id, frame = protocol.prepare_request(method, params, result_type, None)
        limit = self.default_timeout if timeout is None else timeout
        headers = self._headers(method, frame) if self._headers is not None else None
        try:
            body = await self._transport.request(method, frame, headers, limit)
        except TimeoutError:
            raise protocol.timed_out(request_id, limit) from None
        except ConnectionLost as exc:
            raise protocol.lost(request_id, str(exc)) from exc
        except HTTPStatusError as exc:
            if exc.status >= 500:  # a gateway error: the request may have been processed
                raise protocol.lost(request_id, str(exc)) from exc
            protocol.forget(request_id)  # refused at the edge (e.g. 429)
            raise
        except TransportError:
            protocol.forget(request_id)  # could not connect: never reached the server
            raise
        except BaseException:
            protocol.forget(request_id)
            raise
        event = protocol.receive_frame(body)
        if type(event) is Reply:
            if event.error is not None:
                raise event.error
            return event if meta else event.value
        protocol.forget(request_id)
        raise _unexpected_http_reply(method, request_id, event)

    async def close(self) -> None:
        """Close the transport."""
        await self._transport.close()


def _ignore(_: object) -> None:
    pass


def _unexpected_http_reply(method: str, request_id: int, event: object) -> DeribitError:
    if isinstance(event, Violation):
        return event.error or ProtocolError(f"HTTP reply to {method}: {event.reason}")
    return ProtocolError(f"HTTP reply to {method} does not answer request id {request_id}")
