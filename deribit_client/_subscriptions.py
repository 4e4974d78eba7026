"""Subscription manager: channel registry, typed routing, book sequencing, subscriber queues.

Rules: the read loop hands each notification to its channel's sink (registered with the
protocol core in :attr:`SubscriptionManager.sinks`; :meth:`SubscriptionManager.on_notification`
takes the rest) and never awaits a consumer; each subscriber has its own bounded queue with
an explicit overflow policy; channels are shared and reference-counted; the registry
survives reconnects so the supervisor can resubscribe every live channel exactly once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from types import TracebackType
from typing import Any, Final, Literal

import msgspec

from ._errors import (
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    DeribitError,
    SubscriberOverflow,
    SubscriptionRejected,
)
from ._rpc.codec import decoder_for, encode, notification_decoder
from ._rpc.methods import MAX_FRAME_BYTES
from ._rpc.protocol import ChannelSink
from ._rpc.wire import Notification, NotificationParams
from .models.channels import BookChange, payload_type

__all__ = [
    "Gap",
    "Notification",
    "Policy",
    "Subscription",
    "SubscriptionManager",
    "is_private_channel",
]

log = logging.getLogger("deribit_client")

Policy = Literal["drop_oldest", "keep_latest", "error"]
GapReason = Literal["reconnected", "book_gap", "overflow", "resync"]
DEFAULT_MAXSIZE: Final = 10_000

# Room left in a 32 kB frame for the envelope around the channel list.
_FRAME_BUDGET: Final = MAX_FRAME_BYTES - 512
_PRIVATE_PREFIXES: Final = (
    "user.",
    "block_trade_confirmations",
    "block_rfq.maker",
    "block_rfq.taker",
)


def is_private_channel(channel: str) -> bool:
    """True if the channel needs ``private/subscribe`` on an authenticated connection:
    ``user.*`` and other private families, and any ``raw`` interval (REFERENCE 5)."""
    return channel.startswith(_PRIVATE_PREFIXES) or channel.endswith(".raw")


class Gap:
    """An explicit break in a channel's stream: messages may be missing before the next one.

    ``reason`` is ``"reconnected"`` (the connection was re-established and the channel
    resubscribed), ``"book_gap"`` (a book ``prev_change_id`` did not match; a fresh
    snapshot follows), ``"resync"`` (the channel was resubscribed, e.g. for a new book
    subscriber) or ``"overflow"`` (``lost`` messages were dropped by the drop-oldest policy).
    """

    __slots__ = ("channel", "lost", "reason")

    def __init__(self, channel: str, reason: GapReason, lost: int = 0) -> None:
        self.channel = channel
        self.reason = reason
        self.lost = lost

    def __repr__(self) -> str:
        lost = f", lost={self.lost}" if self.lost else ""
        return f"Gap({self.channel!r}, {self.reason!r}{lost})"


Item = Notification[Any] | Gap
Callback = Callable[[Item], Any]


class Subscription:
    """A subscriber of one or more channels, iterable with ``async for``.

    Create it with ``client.subscribe(...)`` and enter it (``async with`` or ``await``) to
    subscribe; leaving the block unsubscribes channels no other subscriber uses.

    Attributes:
        channels: the channels of this subscriber.
        policy: what happens when the queue is full (see the README).
        maxsize: queue bound.
        received: notifications handed to this subscriber's queue or callback.
        dropped: notifications discarded by the drop-oldest or error policy.
        conflated: notifications replaced by a newer one under keep-latest.
    """

    def __init__(
        self,
        manager: SubscriptionManager,
        channels: tuple[str, ...],
        policy: Policy,
        maxsize: int,
        callback: Callback | None,
    ) -> None:
        self._manager = manager
        self.channels = channels
        self.policy: Policy = policy
        self.maxsize = maxsize
        self._callback = callback
        # A plain function runs inline in the read loop; a coroutine function gets its own
        # consumer task. Decided up front: notifications may arrive before _start returns.
        self._inline = callback is not None and not inspect.iscoroutinefunction(callback)
        self._queue: deque[Item] = deque()
        self._latest: OrderedDict[object, Item] = OrderedDict()  # keep_latest only
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._active = False
        self._closed = False
        self._pending_loss = 0
        self._consumer: asyncio.Task[None] | None = None
        self._items: AsyncIterator[Item] | None = None
        # The producer side is chosen once: the read loop calls it per message.
        self._put: Callable[[Item], None] = (
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
            f"Subscription({', '.join(self.channels)}, policy={self.policy!r}, "
            f"queued={len(self)}, dropped={self.dropped})"
        )

    def __len__(self) -> int:
        return len(self._latest) if self.policy == "keep_latest" else len(self._queue)

    # -- lifecycle ----------------------------------------------------------------------

    async def _start(self) -> Subscription:
        if self._active or self._closed:
            raise ClientError("a Subscription can be entered only once; subscribe again")
        await self._manager.attach(self)
        self._active = True
        if self._callback is not None and not self._inline:
            self._consumer = asyncio.get_running_loop().create_task(
                self._run_async_callback(self._callback), name="deribit-subscription-callback"
            )
        return self

    def __await__(self) -> Generator[Any, None, Subscription]:
        return self._start().__await__()

    async def __aenter__(self) -> Subscription:
        return await self._start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Unsubscribe (channels still used by other subscribers stay) and end iteration."""
        if self._closed:
            return
        self._closed = True
        self._wake()
        consumer, self._consumer = self._consumer, None
        if consumer is not None and consumer is not asyncio.current_task():
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
        if self._active:
            self._active = False
            await self._manager.detach(self)

    @property
    def closed(self) -> bool:
        """True once closed by the user, or failed."""
        return self._closed or self._error is not None

    # -- consumer side ------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Item]:
        # One long-lived async generator: resuming it per item is cheaper than a new
        # coroutine frame per __anext__, and leaving an `async for` early loses nothing.
        if self._items is None:
            self._items = self._iterate()
        return self._items

    def __anext__(self) -> Awaitable[Item]:
        return self.__aiter__().__anext__()

    async def _iterate(self) -> AsyncIterator[Item]:
        queue, latest = self._queue, self._latest
        loop = asyncio.get_running_loop()
        while True:
            if self._pending_loss:
                lost, self._pending_loss = self._pending_loss, 0
                yield Gap(self.channels[0] if len(self.channels) == 1 else "*", "overflow", lost)
            # Items already queued are handed over without suspending: no task switch when
            # the consumer is behind.
            elif queue:
                yield queue.popleft()
            elif latest:
                yield latest.popitem(last=False)[1]
            elif self._error is not None:
                raise self._error
            elif self._closed:
                return
            else:
                waiter = self._waiter = loop.create_future()
                try:
                    await waiter
                finally:
                    self._waiter = None

    async def _run_async_callback(self, callback: Callback) -> None:
        try:
            async for item in self:
                try:
                    await callback(item)
                except Exception:
                    log.exception("subscription callback failed for %s", item.channel)
        except DeribitError as exc:
            log.error("subscription %s ended: %s", ", ".join(self.channels), exc)

    # -- producer side (called from the read loop; never awaits) ------------------------

    def _put_inline(self, item: Item) -> None:
        self.received += 1
        # Synchronous callback: runs in the read loop, so it must be quick. (_call_inline's
        # body, inlined: this runs once per message.)
        try:
            self._callback(item)  # type: ignore[misc]
        except Exception:
            log.exception("subscription callback failed for %s", item.channel)

    def _put_latest(self, item: Item) -> None:
        self.received += 1
        key: object = item.channel if type(item) is Notification else item
        if key in self._latest:
            self.conflated += 1
        self._latest[key] = item
        self._wake()

    def _put_queued(self, item: Item) -> None:
        self.received += 1
        queue = self._queue
        if len(queue) >= self.maxsize:
            if self.policy == "error":
                self._overflow(item.channel)
                return
            if type(queue.popleft()) is Notification:  # a dropped marker is not data
                self.dropped += 1
                self._pending_loss += 1
        queue.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _put_event(self, gap: Gap) -> None:
        """Queue a marker; markers never count as received or dropped data."""
        if self._inline:
            self._call_inline(gap)
            return
        if self.policy == "keep_latest":
            self._latest[gap] = gap
        else:
            self._queue.append(gap)
        self._wake()

    def _call_inline(self, item: Item) -> None:
        # Synchronous callback: runs in the read loop, so it must be quick; errors are logged.
        assert self._callback is not None
        try:
            self._callback(item)
        except Exception:
            log.exception("subscription callback failed for %s", item.channel)

    def _overflow(self, channel: str) -> None:
        discarded = len(self._queue) + 1
        self.dropped += discarded
        self._queue.clear()
        self._fail(SubscriberOverflow(channel, self.maxsize, discarded))
        self._manager.release_soon(self)

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Channel:
    """Registry entry: decoders looked up once per channel, subscribers, book sequencing."""

    __slots__ = (
        "awaiting_snapshot",
        "decode",
        "frame_decoder",
        "is_book",
        "last_change_id",
        "manager",
        "name",
        "subscribers",
    )

    def __init__(self, name: str, manager: SubscriptionManager) -> None:
        self.name = name
        self.manager = manager
        tp = payload_type(name)
        self.decode: Callable[[Any], Any] = decoder_for(tp).decode
        self.frame_decoder = notification_decoder(tp)
        self.is_book = tp is BookChange
        self.subscribers: list[Subscription] = []
        self.last_change_id: int | None = None
        self.awaiting_snapshot = self.is_book

    def deliver(self, item: Notification[Any]) -> None:
        """Hand one notification to every subscriber (books: after the sequence check)."""
        if self.is_book:
            self._deliver_book(item)
        else:
            for subscriber in self.subscribers:
                subscriber._put(item)

    def _deliver_book(self, item: Notification[Any]) -> None:
        book: BookChange = item.data
        if book.type == "snapshot":
            self.awaiting_snapshot = False
        elif self.awaiting_snapshot:
            return  # changes before the (re)subscription snapshot cannot be applied
        elif book.prev_change_id != self.last_change_id:
            # REFERENCE 5: prev_change_id must equal the previous change_id, else resubscribe.
            self.manager._book_gap(self, book)
            return
        self.last_change_id = book.change_id
        for subscriber in self.subscribers:
            subscriber._put(item)

    def sink(self) -> Callable[[Notification[Any]], None]:
        """What the protocol core calls per notification: the lone subscriber directly
        when nothing else has to happen."""
        if self.is_book:
            return self._deliver_book
        if len(self.subscribers) == 1:
            return self.subscribers[0]._put
        return self.deliver


CallFn = Callable[[str, dict[str, Any], Any], Awaitable[Any]]


class SubscriptionManager:
    """Owns every channel and subscriber of a client, across reconnects.

    Args:
        call: makes an RPC on the current WebSocket connection.
        can_subscribe_private: True when the client has credentials for private channels.
        default_maxsize: queue bound when a subscriber does not choose one.
    """

    def __init__(
        self,
        call: CallFn,
        can_subscribe_private: Callable[[], bool],
        *,
        default_maxsize: int = DEFAULT_MAXSIZE,
    ) -> None:
        self._call = call
        self._can_subscribe_private = can_subscribe_private
        self.default_maxsize = default_maxsize
        self._channels: dict[str, _Channel] = {}
        self.sinks: dict[bytes, ChannelSink] = {}
        """Channel -> (whole-frame decoder, sink), shared with every connection's protocol
        core: notifications of live channels are parsed once, straight into their model,
        and handed to their subscribers without a second lookup."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self.unrouted = 0
        """Notifications for channels nobody subscribes to (e.g. just unsubscribed)."""
        self.malformed = 0
        """Notifications whose payload did not decode; logged and skipped."""
        self.book_gaps = 0
        """Book sequence gaps detected (each triggers a resubscribe)."""

    @property
    def channels(self) -> list[str]:
        """Every live channel."""
        return list(self._channels)

    def new(
        self,
        channels: Iterable[str],
        policy: Policy | None,
        maxsize: int | None,
        callback: Callback | None,
    ) -> Subscription:
        """Build a subscriber (not yet subscribed). Validates arguments before any I/O."""
        names = tuple(dict.fromkeys(channels))
        if not names:
            raise ValueError("subscribe() needs at least one channel")
        for name in names:
            if not isinstance(name, str) or not name or name != name.strip():
                raise ValueError(f"invalid channel name {name!r}")
        private = [name for name in names if is_private_channel(name)]
        if private and not self._can_subscribe_private():
            raise CredentialsRequired(
                f"{', '.join(private)} need private/subscribe on an authenticated connection; "
                "configure client_id/client_secret"
            )
        if policy is None:
            # Private streams (orders, trades, positions) must never drop silently.
            policy = "error" if any(n.startswith("user.") for n in names) else "drop_oldest"
        if policy not in ("drop_oldest", "keep_latest", "error"):
            raise ValueError(f"policy must be drop_oldest, keep_latest or error, not {policy!r}")
        size = self.default_maxsize if maxsize is None else maxsize
        if size < 1:
            raise ValueError("maxsize must be at least 1")
        return Subscription(self, names, policy, size, callback)

    # -- hot path -----------------------------------------------------------------------

    def on_notification(self, message: NotificationParams) -> None:
        """Route a ``subscription`` message the core's channel sinks did not take: an
        unknown channel, or a frame that did not fit its model (reported as malformed)."""
        channel = self._channels.get(message.channel)
        if channel is None:
            self.unrouted += 1
            return
        try:
            data = channel.decode(message.data)
        except msgspec.DecodeError as exc:
            self.malformed += 1
            log.warning("skipped malformed notification on %s: %s", message.channel, exc)
            return
        channel.deliver(Notification(channel.name, data))

    def _book_gap(self, channel: _Channel, book: BookChange) -> None:
        self.book_gaps += 1
        log.warning(
            "book gap on %s: prev_change_id %s, expected %s; resubscribing",
            channel.name,
            book.prev_change_id,
            channel.last_change_id,
        )
        self._resync(channel, "book_gap")

    # -- subscribe / unsubscribe --------------------------------------------------------

    async def attach(self, subscriber: Subscription) -> None:
        """Subscribe the channels nobody has yet and register ``subscriber``.

        The subscriber is registered before the request goes out: the first notification
        (a book snapshot) may be read before this coroutine resumes.

        Raises:
            SubscriptionRejected: the server left some channels out; nothing stays subscribed
                for this subscriber.
        """
        async with self._lock:
            new = [name for name in subscriber.channels if name not in self._channels]
            for name in subscriber.channels:
                channel = self._channels.get(name)
                if channel is None:
                    channel = self._channels[name] = _Channel(name, self)
                elif channel.is_book and channel.subscribers:
                    # A new book subscriber needs a snapshot: resync the shared channel.
                    self._resync(channel, "resync")
                channel.subscribers.append(subscriber)
                self._rewire(channel)
            try:
                if new:
                    confirmed = await self._subscribe(new)
                    rejected = [name for name in new if name not in confirmed]
                    if rejected:
                        accepted = [name for name in new if name in confirmed]
                        if accepted:
                            await self._unsubscribe(accepted)
                        raise SubscriptionRejected(rejected)
            except BaseException:
                self._remove(subscriber)
                raise

    async def detach(self, subscriber: Subscription) -> None:
        """Remove ``subscriber``; unsubscribe channels left without subscribers."""
        async with self._lock:
            orphans = self._remove(subscriber)
            if orphans:
                try:
                    await self._unsubscribe(orphans)
                except DeribitError as exc:
                    # Best effort: notifications for these channels are now unrouted anyway.
                    log.info("unsubscribe of %s failed: %s", ", ".join(orphans), exc)

    def _rewire(self, channel: _Channel) -> None:
        self.sinks[channel.name.encode()] = (channel.frame_decoder, channel.sink())

    def _drop_channel(self, name: str) -> _Channel | None:
        self.sinks.pop(name.encode(), None)
        return self._channels.pop(name, None)

    def _remove(self, subscriber: Subscription) -> list[str]:
        """Unregister ``subscriber``; return the channels left without subscribers."""
        orphans = []
        for name in subscriber.channels:
            channel = self._channels.get(name)
            if channel is None or subscriber not in channel.subscribers:
                continue
            channel.subscribers.remove(subscriber)
            if channel.subscribers:
                self._rewire(channel)
            else:
                self._drop_channel(name)
                orphans.append(name)
        return orphans

    def release_soon(self, subscriber: Subscription) -> None:
        """Detach a failed subscriber from a task (the caller is the read loop)."""
        self._spawn(self.detach(subscriber))

    async def resubscribe_all(self, call: CallFn | None = None) -> None:
        """After a reconnect: subscribe every live channel once, batched; fail the
        subscribers of channels the server no longer confirms. ``call`` overrides the
        manager's call function (the connection is not "ready" yet)."""
        async with self._lock:
            names = list(self._channels)
            if not names:
                return
            for channel in self._channels.values():
                channel.awaiting_snapshot = channel.is_book
                channel.last_change_id = None
                # The marker goes first: fresh data (a snapshot) may arrive before the reply.
                for subscriber in channel.subscribers:
                    subscriber._put_event(Gap(channel.name, "reconnected"))
            confirmed = await self._subscribe(names, call)
            for name in names:
                if name not in confirmed:
                    dropped = self._drop_channel(name)
                    for subscriber in dropped.subscribers if dropped else ():
                        subscriber._fail(SubscriptionRejected([name], " after reconnecting"))

    def fail_all(self, error: BaseException) -> None:
        """The client gave up (closed or could not reconnect): end every subscriber."""
        for channel in self._channels.values():
            for subscriber in channel.subscribers:
                subscriber._fail(error)
        self._channels.clear()
        self.sinks.clear()

    async def close(self) -> None:
        """Cancel background work and end every subscriber."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.fail_all(ConnectionLost("client closed"))

    # -- internals ----------------------------------------------------------------------

    def _resync(self, channel: _Channel, reason: GapReason) -> None:
        channel.awaiting_snapshot = True
        for subscriber in channel.subscribers:
            subscriber._put_event(Gap(channel.name, reason))
        self._spawn(self._resubscribe_one(channel.name))

    async def _resubscribe_one(self, name: str) -> None:
        try:
            await self._unsubscribe([name])
            if name in self._channels:
                confirmed = await self._subscribe([name])
                if name not in confirmed:
                    channel = self._drop_channel(name)
                    for subscriber in channel.subscribers if channel else ():
                        subscriber._fail(SubscriptionRejected([name], " on resync"))
        except DeribitError as exc:
            # The connection is going away; the reconnect path resubscribes everything.
            log.info("resync of %s failed: %s", name, exc)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _subscribe(self, names: list[str], call: CallFn | None = None) -> set[str]:
        confirmed: set[str] = set()
        for method, batch in _batches("subscribe", names):
            result = await (call or self._call)(method, {"channels": batch}, list[str])
            confirmed.update(result)
        return confirmed

    async def _unsubscribe(self, names: list[str]) -> None:
        for method, batch in _batches("unsubscribe", names):
            await self._call(method, {"channels": batch}, list[str])


def _batches(verb: str, names: list[str]) -> list[tuple[str, list[str]]]:
    """Split channels into public/private calls, each frame under the 32 kB limit."""
    out: list[tuple[str, list[str]]] = []
    for scope in ("public", "private"):
        group = [n for n in names if is_private_channel(n) == (scope == "private")]
        batch: list[str] = []
        size = 0
        for name in group:
            cost = len(encode(name)) + 1
            if batch and size + cost > _FRAME_BUDGET:
                out.append((f"{scope}/{verb}", batch))
                batch, size = [], 0
            batch.append(name)
            size += cost
        if batch:
            out.append((f"{scope}/{verb}", batch))
    return out
