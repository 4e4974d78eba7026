"""Deribit's subscription manager: channel registry, typed routing, book sequencing.

Rules: each live channel is a route in the protocol's table, so its notifications are parsed
once, straight into their model, and the read loop hands them to the channel without a
second lookup (a channel's lone reader, books excepted, gets the frames themselves and
parses each as it takes it: see ``Stream.decode_frames``); subscribers are the engine's
:class:`~deribit_client._core.streams.Stream` (bounded, cancel-safe, with policies);
channels are shared and reference-counted; the registry survives reconnects so the
supervisor's last establish step resubscribes every live channel once.
"""

from __future__ import annotations

import asyncio
import logging
import operator
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from functools import partial
from typing import Any, Final, TypeVar

from ._catalogue import channel_facts, max_length
from ._catalogue.payloads import payload_type
from ._core.errors import ClientClosed, ClientError, ConnectionLost, DeribitError
from ._core.streams import (
    DEFAULT_MAXSIZE,
    ErrorCallback,
    Gap,
    GapReason,
    Policy,
    Stream,
    check_maxsize,
)
from ._core.supervisor import ReconnectPolicy, retry_delay, retry_with_backoff
from ._core.tasks import stop_tasks
from ._errors import RpcError, SubscriptionRejected, credentials_required
from ._rpc.codec import DECODE_ERRORS, decoder_for, encode, notification_decoder
from ._rpc.methods import MAX_FRAME_BYTES
from ._rpc.protocol import ChannelRoute
from ._rpc.wire import Notification, NotificationParams
from .models.channels import BookChange

__all__ = [
    "DEFAULT_MAXSIZE",
    "Callback",
    "Gap",
    "Notification",
    "Policy",
    "Subscription",
    "SubscriptionManager",
    "is_private_channel",
]

log = logging.getLogger("deribit_client")

# Room left in a 32 kB frame for the envelope around the channel list.
_FRAME_BUDGET: Final = MAX_FRAME_BYTES - 512
MAX_LABEL: Final = max_length("private/subscribe", "label")
"""Longest ``label`` ``private/subscribe`` accepts (Deribit's limit)."""
TRANSIENT_ATTEMPTS: Final = 5
"""Tries at resubscribing a book channel after a gap, or at unsubscribing a channel nobody
reads any more, while Deribit answers with errors it documents as transient (13028
temporarily_unavailable, 10040 retry...)."""


def _transient(error: BaseException) -> bool:
    """What a resync or a release tries again: the errors Deribit calls transient."""
    return isinstance(error, RpcError) and error.retryable


def is_private_channel(channel: str) -> bool:
    """True if the channel needs ``private/subscribe`` on an authenticated connection:
    the private families of the catalogue, and any ``raw`` interval (REFERENCE 5). A family
    newer than the spec is private when it is a ``user.*`` one."""
    if channel.endswith(".raw"):
        return True
    facts = channel_facts(channel)
    return facts.private if facts is not None else channel.startswith("user.")


T = TypeVar("T")

Item = Notification[Any] | Gap
Callback = Callable[[Item], Any]


def _channel_of(item: Notification[Any]) -> str:
    return item.channel


class Subscription(Stream[Notification[T]]):
    """A subscriber of one or more Deribit channels, iterable with ``async for``.

    ``Subscription[Ticker]`` (from ``client.subscribe(channels.ticker(...))``) yields
    notifications whose ``data`` is a :class:`~deribit_client.models.Ticker`.

    Create it with ``client.subscribe(...)`` and enter it (``async with`` or ``await``) to
    subscribe; leaving the block unsubscribes channels no other subscriber uses. Iteration
    yields :class:`~deribit_client.Notification` and :class:`~deribit_client.Gap` items;
    cancelling or timing out ``anext(sub)`` loses nothing.

    Attributes:
        channels: the channels of this subscriber (a session-level ``unsubscribe`` removes
            channels from it).
        label: the label Deribit adds to this subscriber's private-channel notifications.
        policy: what happens when the queue is full (see the README).
        maxsize: queue bound (markers included).
        received: notifications handed to this subscriber's queue or callback.
        dropped: notifications discarded by the drop-oldest or error policy.
        conflated: notifications replaced by a newer one under keep-latest.
    """

    __slots__ = (
        "_manager",
        "channels",
        "label",
    )

    def __init__(
        self,
        manager: SubscriptionManager,
        channels: tuple[str, ...],
        policy: Policy,
        maxsize: int,
        callback: Callback | None,
        on_error: ErrorCallback | None = None,
        label: str | None = None,
    ) -> None:
        name = channels[0] if len(channels) == 1 else "*"
        super().__init__(name, policy, maxsize, callback, on_error, _channel_of)
        self._manager = manager
        self.channels = channels
        self.label = label

    def __repr__(self) -> str:
        return (
            f"Subscription({', '.join(self.channels)}, policy={self.policy!r}, "
            f"queued={len(self)}, dropped={self.dropped})"
        )

    async def _attach(self) -> None:
        await self._manager.attach(self)

    async def _detach(self) -> None:
        await self._manager.detach(self)

    def _on_failed(self) -> None:
        # Failed from the read loop (overflow): release its channels from a task.
        self._manager.release_soon(self)

    def _malformed_frame(self, exc: Exception) -> Gap:
        self._manager.count_malformed(self.name, repr(exc))
        return super()._malformed_frame(exc)


class _Channel:
    """Registry entry and protocol route: decoders looked up once per channel, subscribers,
    book sequencing."""

    __slots__ = (
        "awaiting_snapshot",
        "decode",
        "deliver",
        "frame_decoder",
        "is_book",
        "label",
        "last_change_id",
        "manager",
        "name",
        "raw_frames",
        "single",
        "subscribers",
    )

    def __init__(self, name: str, manager: SubscriptionManager, label: str | None) -> None:
        self.name = name
        self.manager = manager
        self.label = label
        """Sent with ``private/subscribe``; Deribit labels private channels only."""
        tp = payload_type(name)
        self.decode: Callable[[Any], Any] = decoder_for(tp).decode
        self.frame_decoder = notification_decoder(tp)
        self.is_book = tp is BookChange
        self.subscribers: list[Subscription[Any]] = []
        self.last_change_id: int | None = None
        self.awaiting_snapshot = self.is_book
        self.raw_frames = False
        """Frames reach the lone subscriber undecoded (see :meth:`rewire`)."""
        self.single: Callable[[Notification[Any]], None] | None = None
        self.deliver: Callable[[Notification[Any]], None] = self._deliver_all
        """What the read loop calls per notification (see :meth:`rewire`)."""

    def _deliver_all(self, item: Notification[Any]) -> None:
        for subscriber in self.subscribers:
            put = subscriber.put  # fetched, then called: see the read loop's deliver
            put(item)

    def malformed(self, reason: str) -> None:
        """A frame of this channel did not decode: count it, tell subscribers with a Gap."""
        self.manager.count_malformed(self.name, reason)
        for subscriber in self.subscribers:
            subscriber.put_marker(Gap(self.name, "malformed"))

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
        put = self.single
        if put is not None:
            put(item)
        else:
            for subscriber in self.subscribers:
                subscriber.put(item)

    def rewire(self) -> None:
        """Pick the delivery function: the lone subscriber directly when nothing else has
        to happen (one call less per notification), with the frame itself when that
        subscriber decodes as it reads (books are sequenced here, so they arrive decoded)."""
        lone = self.subscribers[0] if len(self.subscribers) == 1 else None
        self.single = lone.put if lone is not None else None
        self.raw_frames = (
            lone is not None
            and not self.is_book
            and len(lone.channels) == 1  # one decoder per subscriber
            and lone.decode_frames(self.frame_decoder.decode, _params)
        )
        if self.is_book:
            self.deliver = self._deliver_book
        elif self.single is not None:
            self.deliver = self.single
        else:
            self.deliver = self._deliver_all


CallFn = Callable[[str, dict[str, Any], Any], Awaitable[Any]]
_Entry = tuple["Subscription[Any]", asyncio.Future[None]]
_Waiting = list[_Entry]
"""Subscribers waiting to be subscribed, each with the future its ``attach`` awaits."""
_params: Callable[[Any], Notification[Any]] = operator.attrgetter("params")


class SubscriptionManager:
    """Owns every channel and subscriber of a client, across reconnects.

    Args:
        call: makes an RPC on the current (ready) WebSocket connection.
        can_subscribe_private: True when the client has credentials for private channels.
        reconnect_wait: how long a subscribe whose connection was lost waits for the
            reconnect to subscribe its channels, or None when no reconnect is coming.
        policy: the client's reconnect policy, whose backoff paces the tries of a resync
            that Deribit refused for the moment.
        default_maxsize: queue bound when a subscriber does not choose one.

    Attributes:
        routes: channel (bytes) -> route, shared with every connection's protocol.
    """

    def __init__(
        self,
        call: CallFn,
        can_subscribe_private: Callable[[], bool],
        reconnect_wait: Callable[[], float | None],
        policy: ReconnectPolicy,
        *,
        default_maxsize: int = DEFAULT_MAXSIZE,
    ) -> None:
        self._call = call
        self._can_subscribe_private = can_subscribe_private
        self._reconnect_wait = reconnect_wait
        self._policy = policy
        self.default_maxsize = default_maxsize
        self._channels: dict[str, _Channel] = {}
        self.routes: dict[bytes, ChannelRoute] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        """Orders every change of what is subscribed: batches, leaves, resyncs and the
        reconnect's resubscribe (the last establish step, so whoever gets the lock after
        it finds the client ready)."""
        self._queued: _Waiting = []
        """Subscribers waiting for the next subscribe batch."""
        self._batcher: asyncio.Future[None] | None = None
        """The task sending the queued batches, while there are any."""
        self._sending: tuple[_Waiting, asyncio.Future[set[str]]] | None = None
        """The batch whose subscribe request is out, with that request's task."""
        self._parked: _Waiting = []
        """Subscribers whose subscribe the connection loss cut off: registered, they wait
        for the reconnect's resubscribe to confirm (or reject) their channels."""
        self.unrouted = 0
        """Notifications for channels nobody subscribes to (e.g. just unsubscribed)."""
        self.malformed = 0
        """Notifications whose payload did not decode; skipped, each a ``malformed`` Gap."""
        self.book_gaps = 0
        """Book sequence gaps detected (each triggers a resubscribe)."""

    @property
    def channels(self) -> list[str]:
        """Every live channel."""
        return list(self._channels)

    @property
    def awaiting_reconnect(self) -> int:
        """Subscribes the connection loss cut off, waiting for the reconnect to subscribe
        their channels."""
        return sum(not done.done() for _, done in self._parked)

    @property
    def private_allowed(self) -> bool:
        """True when the client has credentials for ``private/subscribe``."""
        return self._can_subscribe_private()

    def new(
        self,
        channels: Iterable[str],
        policy: Policy | None,
        maxsize: int | None,
        callback: Callback | None,
        on_error: ErrorCallback | None = None,
        label: str | None = None,
    ) -> Subscription[Any]:
        """Build a subscriber (not yet subscribed). Validates arguments before any I/O."""
        names = check_channels(channels)
        if not names:
            raise ClientError("subscribe() needs at least one channel")
        if label is not None and (
            not isinstance(label, str) or not 0 < len(label) <= MAX_LABEL or not label.isprintable()
        ):
            raise ClientError(f"label must be 1 to {MAX_LABEL} printable characters, not {label!r}")
        private = [name for name in names if is_private_channel(name)]
        if private and not self._can_subscribe_private():
            raise credentials_required(f"{', '.join(private)} (private/subscribe)")
        if policy is None:
            # Private streams (orders, trades, positions) must never drop silently.
            policy = "error" if any(n.startswith("user.") for n in names) else "drop_oldest"
        size = self.default_maxsize if maxsize is None else check_maxsize(maxsize)
        return Subscription(self, names, policy, size, callback, on_error, label)

    # -- hot path -----------------------------------------------------------------------

    def on_notification(self, message: NotificationParams) -> None:
        """Route a ``subscription`` message the protocol's fast path did not take (a frame
        that is not compact JSON, a str frame, or an unknown channel)."""
        channel = self._channels.get(message.channel)
        if channel is None:
            self.unrouted += 1
            return
        try:
            data = channel.decode(message.data)
        except DECODE_ERRORS as exc:
            channel.malformed(repr(exc))
            return
        channel.deliver(Notification(channel.name, data, message.label))

    def count_malformed(self, channel: str, reason: str) -> None:
        """A notification of ``channel`` did not decode: count it and say so."""
        self.malformed += 1
        log.warning("skipped malformed notification on %s: %s", channel, reason)

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

    async def attach(self, subscriber: Subscription[Any]) -> None:
        """Subscribe the channels nobody has yet and register ``subscriber``.

        Subscribers that start together (``asyncio.gather`` of several ``subscribe()``)
        share one subscribe request per batch (Deribit bills each request, and pools them
        at about three a second): each waits in a queue that a task of the manager's
        sends as one batch. The subscriber is registered before the request goes out:
        the first notification (a book snapshot) may be read before this coroutine
        resumes.

        A subscribe cut off by a lost connection (not sent, or sent and unanswered) rides
        through the reconnect: the subscriber stays registered and the reconnect's
        resubscribe confirms its channels, as it does for every live channel
        (subscribing is idempotent, unlike an order).

        Raises:
            SubscriptionRejected: the server left some of its channels out; nothing stays
                subscribed for this subscriber.
            ConnectionLost: the connection was lost and no reconnect subscribed the
                channels in time (``reconnect_wait``), or none is coming.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        request = (subscriber, done)
        self._queued.append(request)
        if self._batcher is None:
            self._batcher = self._spawn(self._attach_queued())
        try:
            await done
        except BaseException:
            if request in self._queued:  # never registered: nothing to undo
                self._queued.remove(request)
                raise
            # Cancelled once its batch was taken (even just after it was answered): the
            # server may subscribe anyway (and bills for it). Release what nobody else uses
            # (nothing when the batch already did), from a task we own; a batch nobody
            # waits for any more stops waiting for its reply.
            orphans = self._remove(subscriber)
            if orphans:
                self._spawn(self._release_orphans(orphans))
            sending = self._sending
            if sending is not None and all(d.done() for _, d in sending[0]):
                sending[1].cancel()
            raise

    async def _attach_queued(self) -> None:
        """Send the queued subscribers' channels, one batch per turn of the lock (other
        subscribe and unsubscribe work queues behind it, in order)."""
        try:
            while self._queued:
                async with self._lock:
                    batch, self._queued = self._queued, []
                    await self._attach_batch(batch)
        except asyncio.CancelledError:  # the client is closing
            for _, done in self._queued:
                _settle(done, ClientClosed("the client was closed"))
            self._queued.clear()
            raise
        finally:
            self._batcher = None

    async def _attach_batch(self, batch: _Waiting) -> None:
        """Register every subscriber of ``batch``, subscribe the new channels in as few
        requests as fit, and settle each subscriber's future."""
        joined: _Waiting = []
        fresh: dict[str, None] = {}  # the channels this batch subscribes, in order
        for subscriber, done in batch:
            try:
                self._check_labels(subscriber)
            except ClientError as exc:
                _settle(done, exc)
                continue
            joined.append((subscriber, done))
            self._register(subscriber, fresh)
        new = list(fresh)
        try:
            confirmed: set[str] = set()
            if new:
                call = asyncio.get_running_loop().create_task(
                    self._subscribe(new), name="deribit-subscribe"
                )
                self._sending = (joined, call)
                try:
                    await asyncio.wait([call])
                finally:
                    self._sending = None
                    call.cancel()  # the batcher itself was cancelled: so is its request
                confirmed = call.result()  # its error, or CancelledError when nobody waits
        except BaseException as exc:
            if isinstance(exc, ConnectionLost) and self._park(joined, exc):
                return
            # Cancelled, timed out or the link failed for good with the request possibly
            # sent: the server may have subscribed anyway. Release what nobody else uses.
            orphans = [name for subscriber, _ in joined for name in self._remove(subscriber)]
            if orphans:
                self._spawn(self._release_orphans(orphans))
            failure = exc if isinstance(exc, Exception) else ClientClosed("the client was closed")
            for _, done in joined:
                _settle(done, failure)
            task = asyncio.current_task()
            if not isinstance(exc, Exception | asyncio.CancelledError) or (
                task is not None and task.cancelling() > 0  # the batcher itself: close()
            ):
                raise
            return  # each subscriber was told (none waits for a cancelled request)
        refused = {name for name in new if name not in confirmed}
        unwanted: list[str] = []
        outcomes: list[tuple[asyncio.Future[None], BaseException | None]] = []
        for subscriber, done in joined:
            rejected = [name for name in subscriber.channels if name in refused]
            if rejected:
                # Nothing stays subscribed for a rejected subscriber.
                unwanted += [name for name in self._remove(subscriber) if name not in refused]
            outcomes.append((done, SubscriptionRejected(rejected) if rejected else None))
        try:
            if unwanted:  # undone before the subscriber hears of the rejection
                await self._release(unwanted)
        finally:
            for done, error in outcomes:
                _settle(done, error)

    def _park(self, waiting: _Waiting, lost: ConnectionLost) -> bool:
        """Keep subscribers whose subscribe the connection loss cut off registered until the
        reconnect's resubscribe settles them; each fails with ``ConnectionLost`` if that
        takes longer than ``reconnect_wait``. False (nothing parked) when no reconnect is
        coming."""
        wait = self._reconnect_wait()
        if wait is None:
            return False
        loop = asyncio.get_running_loop()
        for entry in waiting:
            done = entry[1]
            if not done.done():
                self._parked.append(entry)
                error = ConnectionLost(f"{lost}; not reconnected within {wait:g} s to subscribe")
                # Past the wait, the subscriber's own ``attach`` releases what it holds.
                timer = loop.call_later(wait, _settle, done, error)
                done.add_done_callback(partial(self._unparked, entry, timer))
        return True

    def _unparked(self, entry: _Entry, timer: asyncio.TimerHandle, _: object) -> None:
        # Settled, timed out or cancelled by its caller: no longer waiting.
        timer.cancel()
        if entry in self._parked:
            self._parked.remove(entry)

    def _settle_parked(self, confirmed: set[str] | None, error: BaseException | None) -> None:
        """Settle every parked subscriber: confirmed when all its channels are in
        ``confirmed``, else rejected; or failed with ``error``."""
        parked, self._parked = self._parked, []
        for subscriber, done in parked:
            if error is None:
                assert confirmed is not None
                rejected = [name for name in subscriber.channels if name not in confirmed]
                if rejected:
                    _settle(done, SubscriptionRejected(rejected, " after reconnecting"))
                    continue
            _settle(done, error)

    def _register(self, subscriber: Subscription[Any], fresh: dict[str, None]) -> None:
        """Add ``subscriber`` to its channels; those nobody had join ``fresh``."""
        for name in subscriber.channels:
            channel = self._channels.get(name)
            if channel is None:
                label = subscriber.label if is_private_channel(name) else None
                channel = self._channels[name] = _Channel(name, self, label)
                fresh[name] = None
            elif channel.is_book and channel.subscribers and name not in fresh:
                # A new book subscriber needs a snapshot: resync the shared channel (one
                # being subscribed in this batch gets its snapshot anyway).
                self._resync(channel, "resync")
            channel.subscribers.append(subscriber)
            self._rewire(channel)

    def _check_labels(self, subscriber: Subscription[Any]) -> None:
        # One subscription per channel per connection: a live private channel keeps the
        # label it was subscribed with.
        for name in subscriber.channels:
            channel = self._channels.get(name)
            if (
                channel is not None
                and is_private_channel(name)
                and channel.label != subscriber.label
            ):
                raise ClientError(
                    f"{name} is already subscribed with label {channel.label!r}; it cannot "
                    f"also carry {subscriber.label!r}"
                )

    async def detach(self, subscriber: Subscription[Any]) -> None:
        """Remove ``subscriber``; unsubscribe channels left without subscribers."""
        async with self._lock:
            orphans = self._remove(subscriber)
            if orphans:
                await self._release(orphans)

    async def _release(self, names: list[str]) -> None:
        """Unsubscribe ``names`` (the caller holds the lock). Never raises: notifications
        for them are unrouted already. A refusal Deribit calls transient is tried again
        from a task, backing off: a channel the server keeps streams to nobody, and
        costs bandwidth, until the connection ends."""
        try:
            await self._unsubscribe(names)
        except DeribitError as exc:
            log.info("unsubscribe of %s failed: %s", ", ".join(names), exc)
            if _transient(exc):
                self._spawn(self._release_orphans(names, after=exc))

    async def _release_orphans(self, names: list[str], after: DeribitError | None = None) -> None:
        """From a task: unsubscribe those of ``names`` nobody subscribed again meanwhile,
        trying transient refusals again (``after``: a first try's, waited out first and
        counted among the :data:`TRANSIENT_ATTEMPTS`)."""
        tries = TRANSIENT_ATTEMPTS
        if after is not None:
            tries -= 1
            await asyncio.sleep(retry_delay(self._policy, 1, after))

        async def release() -> None:
            async with self._lock:
                left = [name for name in names if name not in self._channels]
                if left:
                    await self._unsubscribe(left)

        try:
            await self._retry_transient(release, f"unsubscribe of {', '.join(names)}", tries)
        except DeribitError as exc:
            log.info("could not release %s: %s", ", ".join(names), exc)

    async def _retry_transient(
        self, attempt: Callable[[], Awaitable[None]], what: str, tries: int = TRANSIENT_ATTEMPTS
    ) -> None:
        """Run ``attempt`` until it succeeds, trying errors Deribit calls transient again
        with the reconnect policy's backoff, ``tries`` times at most."""
        await retry_with_backoff(
            attempt,
            self._policy,
            is_fatal=lambda error: not _transient(error),
            max_attempts=tries,
            what=what,
        )

    def _rewire(self, channel: _Channel) -> None:
        channel.rewire()
        self.routes[channel.name.encode()] = channel

    def _drop_channel(self, name: str) -> _Channel | None:
        self.routes.pop(name.encode(), None)
        return self._channels.pop(name, None)

    def _remove(self, subscriber: Subscription[Any]) -> list[str]:
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

    def release_soon(self, subscriber: Subscription[Any]) -> None:
        """Detach a failed subscriber from a task (the caller is the read loop)."""
        self._spawn(self.detach(subscriber))

    async def resubscribe_all(self, call: CallFn | None = None) -> None:
        """After a reconnect: subscribe every live channel once, batched; fail the
        subscribers of channels the server no longer confirms. ``call`` overrides the
        manager's call function (the connection is not "ready" yet)."""
        async with self._lock:
            names = list(self._channels)
            if not names:
                self._settle_parked(set(), None)  # e.g. unsubscribed meanwhile
                return
            for channel in self._channels.values():
                channel.awaiting_snapshot = channel.is_book
                channel.last_change_id = None
                # The marker goes first: fresh data (a snapshot) may arrive before the reply.
                for subscriber in channel.subscribers:
                    subscriber.put_marker(Gap(channel.name, "reconnected"))
            confirmed = await self._subscribe(names, call)
            parked = {subscriber for subscriber, _ in self._parked}
            self._settle_parked(confirmed, None)  # their own ``attach`` releases the rest
            for name in names:
                if name not in confirmed:
                    self._reject(name, SubscriptionRejected([name], " after reconnecting"), parked)

    async def unsubscribe(self, names: Iterable[str]) -> list[str]:
        """Session-level ``unsubscribe``: stop these channels for every subscriber (a
        subscriber left without channels ends); return the channels the venue unsubscribed.
        Channels not subscribed are skipped, as Deribit does."""
        async with self._lock:
            live = [name for name in check_channels(names) if name in self._channels]
            for name in live:
                dropped = self._drop_channel(name)
                for subscriber in dropped.subscribers if dropped else ():
                    subscriber.channels = tuple(c for c in subscriber.channels if c != name)
                    if not subscriber.channels:
                        subscriber.end()
            return await self._unsubscribe(live) if live else []

    async def unsubscribe_all(self, method: str) -> str:
        """Session-level ``unsubscribe_all`` (sent as ``method``): every subscriber ends."""
        async with self._lock:
            subscribers = self._subscribers()
            self._channels.clear()
            self.routes.clear()
            for subscriber in subscribers:
                subscriber.channels = ()
                subscriber.end()
            result: str = await self._call(method, {}, str)
            return result

    def _subscribers(self) -> list[Subscription[Any]]:
        return list(
            dict.fromkeys(s for channel in self._channels.values() for s in channel.subscribers)
        )

    def fail_all(self, error: BaseException) -> None:
        """The connection is lost for good: every subscriber fails with ``error``."""
        self._settle_parked(None, error)
        subscribers = self._subscribers()
        self._channels.clear()
        self.routes.clear()
        for subscriber in subscribers:
            subscriber.fail(error)

    async def close(self) -> None:
        """The client is closing: cancel background work and close every subscriber (their
        iteration ends; callback tasks are cancelled and awaited). A step of the client's
        ``finish_all``, whose own task no cancellation of the caller reaches."""
        self._settle_parked(None, ClientClosed("the client was closed"))
        subscribers = self._subscribers()
        self._channels.clear()
        self.routes.clear()
        for subscriber in subscribers:
            subscriber.end()
        await stop_tasks(*self._tasks)
        for subscriber in subscribers:
            await subscriber.abandon()

    # -- internals ----------------------------------------------------------------------

    def _resync(self, channel: _Channel, reason: GapReason) -> None:
        channel.awaiting_snapshot = True
        for subscriber in channel.subscribers:
            subscriber.put_marker(Gap(channel.name, reason))
        self._spawn(self._resubscribe_one(channel.name))

    async def _resubscribe_one(self, name: str) -> None:
        """Unsubscribe and subscribe ``name`` again: its fresh snapshot restarts the book.

        Its subscribers must never be left waiting for data that will not come: an error
        Deribit documents as transient is tried again with the reconnect policy's backoff
        (no sooner than the ``wait`` it asks for), :data:`TRANSIENT_ATTEMPTS` tries in all;
        any other answer that leaves the channel unsubscribed fails them. A lost
        connection is the reconnect's to mend: it resubscribes every channel.
        """

        async def resubscribe() -> None:
            # Under the lock: a gap marked while a reconnect resubscribes (the book already
            # streams, a private/subscribe is still out) is resynced once that is done and
            # the client is ready, not refused as "reconnecting" with nobody left to mend it.
            async with self._lock:
                if name not in self._channels:
                    return  # released meanwhile: nothing left to resync
                await self._unsubscribe([name])
                if name in self._channels and name not in await self._subscribe([name]):
                    self._reject(name, SubscriptionRejected([name], " on resync"))

        try:
            await self._retry_transient(resubscribe, f"resync of {name}")
        except RpcError as exc:
            error = SubscriptionRejected([name], f" on resync: {exc}")
            error.__cause__ = exc
            self._reject(name, error)
        except DeribitError as exc:
            log.info("resync of %s failed: %s", name, exc)

    def _reject(
        self, name: str, error: BaseException, spared: Iterable[Subscription[Any]] = ()
    ) -> None:
        """The server did not subscribe ``name``: drop it and fail its subscribers (but
        ``spared``, which hear of it another way)."""
        channel = self._drop_channel(name)
        for subscriber in channel.subscribers if channel else ():
            if subscriber not in spared:
                subscriber.fail(error)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        # Named like every task of the SDK's, so a task dump says whose it is.
        task = asyncio.get_running_loop().create_task(coro, name="deribit-subscriptions")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _subscribe(self, names: list[str], call: CallFn | None = None) -> set[str]:
        by_label: dict[str | None, list[str]] = {}
        for name in names:
            channel = self._channels.get(name)
            by_label.setdefault(channel.label if channel else None, []).append(name)
        confirmed: set[str] = set()
        for label, group in by_label.items():
            for method, batch in _batches("subscribe", group):
                params: dict[str, Any] = {"channels": batch}
                if label is not None:
                    params["label"] = label  # only private channels carry one
                result = await (call or self._call)(method, params, list[str])
                confirmed.update(result)
        return confirmed

    async def _unsubscribe(self, names: list[str]) -> list[str]:
        done: list[str] = []
        for method, batch in _batches("unsubscribe", names):
            done += await self._call(method, {"channels": batch}, list[str])
        return done


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    """Settle ``done`` (with ``error``, or ``None`` for success) unless it is already."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


def check_channels(channels: Iterable[object]) -> tuple[str, ...]:
    """Channel names as exact ``str`` without repeats; ``ClientError`` names a bad one."""
    channels = tuple(channels)
    for name in channels:
        if isinstance(name, list | tuple | set | frozenset):
            raise ClientError(
                f"invalid channel name {name!r}: a collection of names; pass them as "
                "separate arguments: client.subscribe(*names)"
            )
        if not isinstance(name, str) or not name or name != name.strip():
            raise ClientError(
                f"invalid channel name {name!r}: expected e.g. 'ticker.BTC-PERPETUAL.100ms'"
            )
    # Exact str, the key notifications are routed by: a subclass's text (channels.Channel,
    # a user's enum, whose str() would be 'Cls.MEMBER').
    return tuple(dict.fromkeys(str.__str__(name) for name in channels))


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
