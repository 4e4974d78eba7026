"""Subscriber streams: bounded queues with overflow policies, gap markers, cancel-safe
iteration, callbacks with an error hook, and a release hook the venue fills.

Rules: the producer side (called from the read loop) never awaits and never raises; the
consumer side is cancel-safe (cancelling or timing out ``anext(stream)`` takes nothing off the
queue, so iteration simply resumes); a queue's bound counts markers too, and a marker is never
dropped (data is dropped around it, and counted); a failure reaches the consumer: iterators
raise it, callback subscribers get ``on_error``; background consumer tasks are owned by the
stream and cancelled and awaited when it closes.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Hashable
from types import TracebackType
from typing import Any, Final, Generic, Literal, Self, TypeVar

from .errors import ClientError, SubscriberOverflow
from .tasks import finish_all, stop_tasks
from .values import check_int

__all__ = [
    "DEFAULT_MAXSIZE",
    "POLICIES",
    "ErrorCallback",
    "Gap",
    "GapReason",
    "Policy",
    "Stream",
    "check_maxsize",
    "check_stream_options",
]

log = logging.getLogger("deribit_client")

Policy = Literal["drop_oldest", "keep_latest", "error"]
POLICIES: Final = ("drop_oldest", "keep_latest", "error")
GapReason = Literal["reconnected", "book_gap", "overflow", "resync", "malformed"]
DEFAULT_MAXSIZE: Final = 10_000

T = TypeVar("T")
ErrorCallback = Callable[[BaseException], Any]


def check_maxsize(value: object) -> int:
    """Validate a queue bound.

    Raises:
        ClientError: ``value`` is not an int of at least 1 (bools are refused).
    """
    return check_int("maxsize", value, 1)


def check_stream_options(policy: object, callback: object, on_error: object) -> None:
    """Validate what every stream of every venue takes.

    Raises:
        ClientError: ``policy`` is not one of :data:`POLICIES`, or ``callback`` or
            ``on_error`` is given and not callable, or is a generator function.
    """
    if policy not in POLICIES:
        raise ClientError(f"policy must be drop_oldest, keep_latest or error, not {policy!r}")
    for name, function in (("callback", callback), ("on_error", on_error)):
        if function is None:
            continue
        if not callable(function):
            raise ClientError(f"{name} must be callable, not {function!r}")
        if _is_generator_function(function):
            # Calling one only makes a generator: its body, with every item, would never run.
            raise ClientError(
                f"{name} must be a function, not a generator function ({function!r} "
                "yields): calling it would run nothing"
            )


def _is_generator_function(function: object) -> bool:
    return any(
        inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f)
        for f in (function, type(function).__call__)
    )


def is_async_callable(function: Callable[..., object]) -> bool:
    """True when calling ``function`` makes a coroutine to await: an ``async def``
    function or method (a ``functools.partial`` of one too), or an object whose class
    defines ``async def __call__``."""
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        type(function).__call__
    )


class Gap:
    """An explicit break in a stream: items may be missing before the next one.

    ``reason`` is ``"reconnected"`` (the connection was re-established and the stream
    resumed), ``"book_gap"`` (a book sequence number did not follow; a fresh snapshot
    follows), ``"resync"`` (the stream was restarted, e.g. for a new book subscriber),
    ``"malformed"`` (a frame of the stream could not be decoded and was skipped) or
    ``"overflow"`` (``lost`` items were dropped by the drop-oldest policy).
    """

    __slots__ = ("channel", "lost", "reason")

    def __init__(self, channel: str, reason: GapReason, lost: int = 0) -> None:
        self.channel = channel
        self.reason = reason
        self.lost = lost

    def __repr__(self) -> str:
        lost = f", lost={self.lost}" if self.lost else ""
        return f"Gap({self.channel!r}, {self.reason!r}{lost})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Gap and (self.channel, self.reason, self.lost) == (
            other.channel,
            other.reason,
            other.lost,
        )

    def __hash__(self) -> int:
        return id(self)  # markers are events: two equal markers are still two markers


class Stream(Generic[T]):
    """A subscriber's end of one or more venue streams, iterable with ``async for``.

    Enter it (``async with`` or ``await``) to start; leaving the block, or :meth:`close`,
    releases it. Items are ``T`` or :class:`Gap`.

    Args:
        name: what the stream is (channel names), for markers and messages.
        policy: what happens when the queue is full (see the README).
        maxsize: queue bound, markers included.
        callback: instead of iterating, pass each item to this function: a plain function
            runs in the read loop (keep it quick), a coroutine function in a task the stream
            owns.
        on_error: called with the exception that ended the stream (a plain or coroutine
            function); without it, a callback subscriber's failure is logged as an error.
        key_of: for ``keep_latest``, the key under which newer items replace older ones.

    Attributes:
        received: items handed to this subscriber's queue or callback.
        dropped: items discarded by the drop-oldest or error policy.
        conflated: items replaced by a newer one under keep-latest.
    """

    # Slots: the read loop and the consumer touch these per item, and a subclass adding a
    # dozen attributes would push a plain instance dict past CPython's shared-keys limit
    # (30 in 3.11), where every attribute access takes the slow path.
    __slots__ = (
        "_active",
        "_callback",
        "_closed",
        "_consumer",
        "_decode",
        "_done",
        "_ended",
        "_error",
        "_hooks",
        "_inline",
        "_key_of",
        "_latest",
        "_markers",
        "_on_error",
        "_pending_loss",
        "_queue",
        "_started",
        "_unwrap",
        "_waiter",
        "conflated",
        "dropped",
        "maxsize",
        "name",
        "policy",
        "put",
        "received",
    )

    def __init__(
        self,
        name: str,
        policy: Policy,
        maxsize: int,
        callback: Callable[[T | Gap], Any] | None = None,
        on_error: ErrorCallback | None = None,
        key_of: Callable[[Any], Hashable] | None = None,
    ) -> None:
        check_stream_options(policy, callback, on_error)
        self.name = name
        self.policy: Policy = policy
        self.maxsize = maxsize
        self._callback = callback
        self._on_error = on_error
        self._key_of = key_of or _whole_stream
        # A plain function runs inline in the read loop; a coroutine function gets its own
        # consumer task. Decided up front: items may arrive before _start returns.
        self._inline = callback is not None and not is_async_callable(callback)
        self._queue: deque[T | Gap | bytes] = deque()
        self._markers: deque[Gap] = deque()  # markers pushed out of a full queue: kept, in order
        self._latest: OrderedDict[Hashable, T | Gap] = OrderedDict()  # keep_latest only
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._active = False
        self._started = False  # _start() under way or done: iteration may wait for items
        self._closed = False
        self._ended = False
        self._done: asyncio.Future[None] | None = None  # wait_closed's, made on demand
        self._pending_loss = 0
        self._consumer: asyncio.Task[None] | None = None
        self._hooks: set[asyncio.Task[None]] = set()  # running coroutine on_error hooks
        # How queued raw frames become items (see decode_frames); unused until offered.
        self._decode: Callable[[bytes], Any] = _no_decoder
        self._unwrap: Callable[[Any], T] = _no_decoder
        # The producer side is chosen once: the read loop calls it per item.
        self.put: Callable[[T], None] = (
            self._put_inline
            if self._inline
            else self._put_latest
            if policy == "keep_latest"
            else self._put_queued
        )
        self.received = 0
        self.dropped = 0
        self.conflated = 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name}, policy={self.policy!r}, "
            f"queued={len(self)}, dropped={self.dropped})"
        )

    def __len__(self) -> int:
        held = len(self._latest) if self.policy == "keep_latest" else len(self._queue)
        return held + len(self._markers)

    # -- the venue's hooks ----------------------------------------------------------------

    async def _attach(self) -> None:
        """Start the venue side (subscribe); the subclass fills it."""

    async def _detach(self) -> None:
        """Release the venue side (unsubscribe, cancel the stream); the subclass fills it."""

    # -- lifecycle ------------------------------------------------------------------------

    async def _start(self) -> Self:
        if self._active or self._closed:
            raise ClientError(f"{type(self).__name__} can be entered only once; subscribe again")
        self._started = True
        try:
            await self._attach()
        except BaseException:
            self._started = False  # not started after all: iterating must not wait forever
            raise
        self._active = True
        if self._callback is not None and not self._inline:
            self._consumer = asyncio.get_running_loop().create_task(
                self._run_async_callback(self._callback), name=f"deribit-callback {self.name}"
            )
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        return self._start().__await__()

    async def __aenter__(self) -> Self:
        if self._active and not self.closed:
            return self  # already started (``await``): the block only closes it
        return await self._start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the stream (venue resources still used by other subscribers stay) and
        end iteration. Idempotent; completes even if the caller is cancelled meanwhile."""
        if self._closed:
            return
        self._closed = True
        self.end()
        # Closed from inside its own callback or hook: that task ends by returning (and
        # clears itself as it ends: wait_closed waits for that).
        current = asyncio.current_task()
        consumer = self._consumer if self._consumer is not current else None

        async def stop_consumer() -> None:
            if consumer is not None:
                await stop_tasks(consumer)
                # Stopped, perhaps before it ever ran (so its own cleanup did not): ended.
                self._consumer = None
                self._settle()

        async def detach() -> None:
            if self._active:
                self._active = False
                await self._detach()

        await finish_all(
            stop_consumer,
            detach,
            lambda: stop_tasks(*(hook for hook in self._hooks if hook is not current)),
        )

    async def abandon(self) -> None:
        """Close without releasing the venue side: its connection is going away (the
        client is closing), so there is nothing to unsubscribe or cancel."""
        self._active = False
        await self.close()

    @property
    def closed(self) -> bool:
        """True once closed by the user, ended or failed."""
        return self._closed or self._ended or self._error is not None

    @property
    def error(self) -> BaseException | None:
        """The exception that ended this stream, if one did."""
        return self._error

    async def wait_closed(self) -> None:
        """Wait until the stream ends (closed, or the client closed); raise its error if it
        failed. Useful with a callback, where nothing else tells the caller.

        A coroutine callback has then had every item queued before the end, and
        ``on_error`` the error: leaving the ``async with`` afterwards loses nothing.
        """
        if not self.closed or self._consumer is not None:
            if self._done is None:
                self._done = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._done)
        if self._error is not None:
            raise self._error

    # -- consumer side --------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[T | Gap]:
        return self

    async def __anext__(self) -> T | Gap:
        # Nothing is taken off a queue before the one await: a cancelled or timed-out
        # anext() loses nothing and the next one resumes where it left off.
        while True:
            if self._markers:
                return self._markers.popleft()
            if self._pending_loss:
                lost, self._pending_loss = self._pending_loss, 0
                return Gap(self.name, "overflow", lost)
            if self._queue:
                item = self._queue.popleft()
                if type(item) is not bytes:  # exact: cheaper than isinstance, and enough
                    return item  # type: ignore[return-value]  # not bytes, so T or Gap
                decode, unwrap = self._decode, self._unwrap  # fetched, then called (~100 instr)
                try:
                    return unwrap(decode(item))
                except Exception as exc:  # the frame did not fit: a marker in its place
                    return self._malformed_frame(exc)
            if self._latest:
                return self._latest.popitem(last=False)[1]
            if self._error is not None:
                raise self._error
            if self._closed or self._ended:
                raise StopAsyncIteration
            if self._waiter is not None:
                raise ClientError(
                    f"{self.name} is already being read by another task; give each task "
                    "its own subscription"
                )
            if not self._started:  # nothing would ever arrive: say so instead of waiting
                raise ClientError(
                    f"{self.name} is not started: use `async with` or `await` on it before reading"
                )
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def decode_frames(self, decode: Callable[[bytes], Any], unwrap: Callable[[Any], T]) -> bool:
        """Offer this stream raw frames (``bytes``) in place of items, each turned into its
        item by ``unwrap(decode(frame))`` when the consumer takes it.

        A burst queued ahead of its consumer then holds the frames its transport read
        anyway, not thousands of decoded objects whose floats and small objects outgrow
        the interpreter's free lists (each item then costs more to allocate and free).
        Returns False, and keeps taking decoded items, where the producer side must see
        each item: callbacks run in the read loop, and keep-latest's key.
        """
        if self._inline or self.policy == "keep_latest":
            return False
        self._decode, self._unwrap = decode, unwrap
        return True

    def _malformed_frame(self, exc: Exception) -> Gap:
        """A queued frame did not decode: the venue counts it; the consumer gets a
        ``malformed`` marker where the item would have been."""
        return Gap(self.name, "malformed")

    async def _run_async_callback(self, callback: Callable[[T | Gap], Any]) -> None:
        try:
            async for item in self:
                try:
                    await callback(item)
                except Exception as exc:
                    self._report(exc, f"callback of {self.name} failed")
                if self._closed:
                    return  # the callback closed its stream: as from outside, it gets no more
        except Exception as exc:
            await self._notify_error(exc)
        finally:
            # Delivered all it will (or cancelled by close): the stream has ended now.
            self._consumer = None
            self._settle()

    # -- producer side (called from the read loop; never awaits, never raises) -----------

    # The three producers take data only (markers come through put_marker), so the read
    # loop's per-item path carries no marker checks.

    def _put_inline(self, item: T | Gap) -> None:
        self.received += 1
        callback = self._callback  # fetched, then called: see the read loop's deliver
        try:
            result = callback(item)  # type: ignore[misc]  # set whenever this producer is chosen
        except Exception as exc:
            self._report(exc, f"callback of {self.name} failed")
            return
        if result is not None and inspect.isawaitable(result):
            self._returned_awaitable(result)

    def _returned_awaitable(self, result: Awaitable[Any]) -> None:
        # A plain function handing back a coroutine (``lambda m: handle(m)`` with an async
        # ``handle``): it would never run, and each item would vanish. Say so, once.
        if inspect.iscoroutine(result):
            result.close()  # no "never awaited" warning on top of the error
        self.fail(
            ClientError(
                f"callback of {self.name} returned an awaitable, which nothing awaits: pass "
                "the async function itself (callback=handle, not lambda m: handle(m))"
            )
        )

    def _put_latest(self, item: T | Gap) -> None:
        self.received += 1
        key_of = self._key_of  # fetched, then called: see the read loop's deliver
        key = key_of(item)
        if key in self._latest:
            self.conflated += 1
        self._latest[key] = item
        self._wake()

    def _put_queued(self, item: T | Gap) -> None:
        self.received += 1
        queue = self._queue
        if len(queue) < self.maxsize:  # the common case, without _enqueue's and _wake's calls
            queue.append(item)
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        else:
            self._enqueue(item)

    def _enqueue(self, item: T | Gap) -> None:
        queue = self._queue
        if len(queue) >= self.maxsize:
            if self.policy == "error":
                self._overflow(item)
                return
            oldest = queue.popleft()
            if type(oldest) is Gap:
                self._markers.append(oldest)  # a marker is news too: keep it, drop data
            else:
                self.dropped += 1
                self._pending_loss += 1
        queue.append(item)
        self._wake()

    def put_marker(self, gap: Gap) -> None:
        """Queue a marker; it counts against ``maxsize`` but is never dropped."""
        if self.closed:
            return
        if self._inline:
            try:
                self._callback(gap)  # type: ignore[misc]
            except Exception as exc:
                self._report(exc, f"callback of {self.name} failed")
        elif self.policy == "keep_latest":
            self._latest[gap] = gap
            self._wake()
        else:
            self._enqueue(gap)

    def _overflow(self, item: T | Gap) -> None:
        discarded = len(self._queue) + (type(item) is not Gap)
        self.dropped += discarded
        self._queue.clear()
        self.fail(SubscriberOverflow(self.name, self.maxsize, discarded))

    def fail(self, error: BaseException) -> None:
        """End the stream with ``error``: iterators raise it, callbacks get ``on_error``."""
        if self._error is not None or self._ended:
            return
        self._error = error
        self._finish()
        if self._inline or (self._callback is not None and self._consumer is None):
            # No consumer task to raise into: the hook is the only way to hear of it.
            self._report(error, f"subscription {self.name} ended")
        self._on_failed()

    def end(self) -> None:
        """End the stream cleanly: iteration stops once the queue is drained."""
        if not self._ended:
            self._ended = True
            self._finish()

    def _on_failed(self) -> None:
        """The stream failed by itself (overflow, rejection): the subclass releases it."""

    def _finish(self) -> None:
        self._wake()
        if self._consumer is None:  # else it ends once its consumer has delivered the rest
            self._settle()

    def _settle(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- error reporting ------------------------------------------------------------------

    def _report(self, exc: BaseException, what: str) -> None:
        if self._on_error is None:
            log.error("%s: %r", what, exc, exc_info=exc)
            return
        try:
            result = self._on_error(exc)
            if inspect.isawaitable(result):
                self._spawn_awaitable(result)
        except Exception:
            log.exception("on_error of %s failed", self.name)

    async def _notify_error(self, error: BaseException) -> None:
        if self._on_error is None:
            log.error("subscription %s ended: %s", self.name, error)
            return
        try:
            result = self._on_error(error)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_error of %s failed", self.name)

    def _spawn_awaitable(self, awaitable: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await awaitable
            except Exception:
                log.exception("on_error of %s failed", self.name)

        task = asyncio.get_running_loop().create_task(run(), name=f"deribit-on-error {self.name}")
        self._hooks.add(task)
        task.add_done_callback(self._hooks.discard)


def _no_decoder(frame: Any) -> Any:
    raise TypeError("this stream was given a raw frame but no decoder for it")


def _whole_stream(item: object) -> Hashable:
    return None
