"""The interface a sans-I/O wire protocol implements, and the events it hands the engine.

A protocol turns requests into ``(key, bytes)`` and incoming bytes into events; it never
awaits, reads a clock or raises out of :meth:`WireProtocol.receive`. The connection driver
(:mod:`.connection`) owns the waiters, the timer and the socket. Events:

- :class:`Reply`: a pending request is answered (value or typed error).
- ``(route, item)``: a stream item already decoded into its final type; the driver hands
  ``item`` to ``route.deliver``. A plain tuple because this is the per-frame hot path.
- :class:`Violation`: the frame broke the protocol; counted and logged, never fatal. When the
  frame belonged to a known stream, ``route`` is set so that stream can mark a gap.
- :class:`LateReply`: an order mutation's reply came after its outcome was reported
  unknown (see :class:`OutcomeRule`); logged, since no caller waits for it.
- ``None``: nothing to act on (the protocol counted it, or answered it by itself).
- anything else: venue-specific, passed to the facade's ``on_event``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Hashable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from .errors import ConnectionLost, DeribitError, OrderOutcomeUnknown, RequestTimeout

__all__ = [
    "UNSETTLED_KEPT",
    "LateReply",
    "LostErrorRule",
    "OutcomeRule",
    "PendingRequests",
    "Reply",
    "Route",
    "Violation",
    "WireProtocol",
    "excerpt",
    "expire_due",
]

W = TypeVar("W")


def excerpt(frame: bytes | str, limit: int = 200) -> bytes:
    """The first ``limit`` bytes of a frame for logs; frames that mention a token are hidden."""
    head = frame[:limit]
    data = bytes(head) if isinstance(head, bytes) else head.encode("utf-8", "replace")
    return b"<redacted: mentions a token>" if b"token" in data else data


class Route(Protocol):
    """Where a stream's items go (a channel, an Exberry stream); the protocol only keys it."""

    def deliver(self, item: Any) -> None:
        """Take one decoded item; called from the read loop, must not block."""

    def malformed(self, reason: str) -> None:
        """A frame of this stream could not be decoded: the consumer may have missed data."""


class Reply(msgspec.Struct, Generic[W], gc=False):
    """A reply matched to a pending request; exactly one of ``value``/``error`` is meaningful.

    ``envelope`` is the protocol's metadata of the frame (Deribit: ``usIn``/``usOut``).
    A Struct without GC tracking: one is built per reply, in C, and the driver clears
    ``waiter`` before the reply becomes that waiter's result, so it is never in a cycle.
    """

    waiter: W
    request_id: Hashable
    method: str
    value: Any
    error: DeribitError | None
    envelope: Any


class LateReply:
    """The outcome of an order mutation that its caller never saw: the reply came after the
    caller was told the outcome is unknown (the request timed out, or the caller was
    cancelled after sending it), or in the very loop turn that cancelled the caller.

    Attributes:
        method: the mutation (``private/buy``, ``placeOrder`` ...).
        request_id: its request id (Exberry: its sid).
        value: the decoded result when it succeeded (``None`` when it failed).
        error: the venue's error when it failed (``None`` when it succeeded).
        unknown: the outcome-unknown error reported for it before (the one the caller got,
            or the warning a cancelled caller left); ``None`` when the reply came as its
            caller was cancelled, before any such report.
    """

    __slots__ = ("error", "method", "request_id", "unknown", "value")

    def __init__(self, reply: Reply[Any], unknown: OrderOutcomeUnknown | None) -> None:
        self.method = reply.method
        self.request_id = reply.request_id
        self.value = reply.value
        self.error = reply.error
        self.unknown = unknown

    def __str__(self) -> str:
        # The value stays out of the text: a creation's result can hold a secret (an API key).
        what = "it succeeded" if self.error is None else f"it failed: {self.error}"
        request = f"{self.method} (id {self.request_id})"
        if self.unknown is None:
            return f"{request} was answered as its caller was cancelled: {what}"
        return f"late reply to {request}, whose outcome was reported unknown: {what}"


class Violation:
    """A frame that broke the protocol, or an error that cannot be tied to a request."""

    __slots__ = ("error", "excerpt", "reason", "route")

    def __init__(
        self,
        reason: str,
        frame: bytes | str,
        error: DeribitError | None = None,
        route: Route | None = None,
    ) -> None:
        self.reason = reason
        self.excerpt = excerpt(frame)
        self.error = error
        self.route = route


K = TypeVar("K")


def expire_due(
    pending: dict[K, Any], now: float, timed_out: Callable[[K, float], DeribitError]
) -> tuple[list[tuple[Any, DeribitError]], float]:
    """The deadline sweep every protocol's ``expire`` is: drop the entries (``waiter``,
    ``deadline``, ``timeout`` attributes) due at ``now``
    (``timed_out`` removes one and returns its caller's error) and find the earliest
    deadline left (``inf`` if none), so the driver arms one timer for all requests."""
    expired: list[tuple[Any, DeribitError]] = []
    earliest = math.inf
    for key, entry in list(pending.items()):
        if entry.deadline <= now:
            expired.append((entry.waiter, timed_out(key, entry.timeout)))
        elif entry.deadline < earliest:
            earliest = entry.deadline
    return expired, earliest


LostErrorRule = Callable[[str, dict[str, Any], Any, DeribitError], OrderOutcomeUnknown]
"""``(method, params, key, error) -> error``: the error a caller gets for an order mutation
whose reply is lost (timed out, or the link failed after sending), given the timeout or
connection error behind it."""


@dataclass(frozen=True, slots=True)
class OutcomeRule:
    """A venue's policy for requests whose outcome matters: which they are, and what their
    caller gets when the reply is lost (an outcome-unknown error, so nobody re-sends an
    order blindly). Every other request keeps its timeout or connection error."""

    mutations: Container[str]
    """The methods (Exberry: ``q``) whose lost reply leaves an outcome unknown."""
    lost_error: LostErrorRule
    """Builds the error for one of them."""


UNSETTLED_KEPT = 256
"""How many mutations whose outcome was reported unknown a protocol remembers (the newest),
so that a reply arriving later is reported (:class:`LateReply`) rather than dropped."""


class PendingEntry(Protocol[W]):
    """What :class:`PendingRequests` reads of a venue's pending-request record."""

    method: str
    params: dict[str, Any]
    waiter: W
    deadline: float
    timeout: float


E = TypeVar("E", bound=PendingEntry[Any])


class PendingRequests(Generic[W, E]):
    """The request bookkeeping every wire protocol shares: pending entries by key, frames
    queued by the protocol itself, and the venue's rule for requests whose reply is lost.

    Venue protocols subclass it and add preparing requests and :meth:`receive`; a reply
    for a key :meth:`unsettled` knows they turn into a :class:`LateReply` with :meth:`settle`.
    """

    def __init__(self, outcome: OutcomeRule | None = None) -> None:
        self._outcome = outcome
        self._pending: dict[Any, E] = {}
        self._outbox: list[bytes] = []
        # Mutations reported as unknown, by key, oldest first: (entry, the error reported).
        self._unsettled: dict[Any, tuple[E, OrderOutcomeUnknown]] = {}

    def data_to_send(self) -> list[bytes]:
        """Take the frames the protocol queued by itself (heartbeat answers, stream
        re-opens and cancels)."""
        out, self._outbox = self._outbox, []
        return out

    @property
    def pending_count(self) -> int:
        """Requests waiting for their reply (internal ones included)."""
        return len(self._pending)

    def forget(self, key: Any) -> None:
        """The caller stopped waiting: drop the request; a late reply is counted."""
        self._pending.pop(key, None)

    def timed_out(self, key: Any, timeout: float) -> DeribitError:
        """Drop a timed-out request and return the exception its caller should get."""
        entry = self._pending.pop(key, None)
        if entry is None:
            return RequestTimeout("request", key, timeout)
        return self._unknown(entry, key, RequestTimeout(entry.method, key, timeout))

    def abandon(self, key: Any) -> DeribitError | None:
        """The caller was cancelled after the request may have left: drop it (a late reply
        is counted, as after :meth:`forget`). Returns the venue's lost-reply error when that
        leaves an outcome unknown (an order mutation), ``None`` otherwise."""
        entry = self._pending.pop(key, None)
        if entry is None or self._rule(entry.method) is None:
            return None
        cancelled = DeribitError("its caller was cancelled after its request was sent")
        return self._unknown(entry, key, cancelled)

    def unclaimed(
        self, method: str, key: Any, outcome: Reply[Any] | BaseException
    ) -> LateReply | DeribitError | None:
        """The caller of ``method`` ``key`` was cancelled in the loop turn its ``outcome``
        came (the reply, or the error its waiter was failed with): what to report so that
        it is not lost with the caller. For a mutation: a :class:`LateReply` for a reply
        (a venue's error reply included), the outcome-unknown error when that is what the
        caller missed; ``None`` for anything else."""
        if self._rule(method) is None:
            return None
        if type(outcome) is Reply:
            return LateReply(outcome, None)
        unsettled = self._unsettled.get(key)
        if unsettled is not None and unsettled[1] is outcome:
            return outcome  # timed out or lost: a reply that comes yet is reported as late
        if isinstance(outcome, DeribitError):  # the venue's answer: it failed
            return LateReply(Reply(None, key, method, None, outcome, None), None)
        return None

    def unsettled(self, key: Any) -> E | None:
        """The entry of a mutation reported as unknown, which a reply for ``key`` settles
        (``None``: ``key`` is not such a request)."""
        found = self._unsettled.get(key) if self._unsettled else None
        return found[0] if found is not None else None

    def settle(self, key: Any, reply: Reply[Any]) -> LateReply:
        """The late ``reply`` to :meth:`unsettled` ``key``: forget the request and hand the
        reply to the error its caller got (``late_reply``)."""
        _, unknown = self._unsettled.pop(key)
        late = unknown.late_reply = LateReply(reply, unknown)
        return late

    def _rule(self, method: str) -> OutcomeRule | None:
        """The venue's rule when a lost reply to ``method`` leaves an outcome unknown."""
        outcome = self._outcome
        return outcome if outcome is not None and method in outcome.mutations else None

    def _unknown(self, entry: E, key: Any, error: DeribitError) -> DeribitError:
        """The caller's error for ``entry`` whose reply is lost; a mutation's is remembered
        (a reply that still comes is reported as a :class:`LateReply`)."""
        rule = self._rule(entry.method)
        if rule is None:
            return error
        unknown = rule.lost_error(entry.method, entry.params, key, error)
        unsettled = self._unsettled
        unsettled[key] = (entry, unknown)
        if len(unsettled) > UNSETTLED_KEPT:
            del unsettled[next(iter(unsettled))]
        return unknown

    def lost(self, key: Any, reason: str) -> DeribitError:
        """Drop one request whose frame may have left before the link failed."""
        entry = self._pending.pop(key, None)
        if entry is None:
            return ConnectionLost(f"connection lost: {reason}")
        return self._lost(entry, key, reason)

    def expire(self, now: float) -> tuple[list[tuple[W, DeribitError]], float]:
        """Drop every request whose deadline is ``<= now``: the ``(waiter, error)`` pairs to
        fail and the earliest deadline still pending (``inf`` if none), so the driver arms
        one timer instead of one per request."""
        return expire_due(self._pending, now, self.timed_out)

    def _lost(self, entry: E, key: Any, reason: str) -> DeribitError:
        error = ConnectionLost(f"connection lost while waiting for {entry.method}: {reason}")
        return self._unknown(entry, key, error)

    def _fail_all(
        self, reason: str, wanted: Callable[[E], bool] | None = None
    ) -> list[tuple[W, DeribitError]]:
        """Drop every pending request (and queued frame); ``(waiter, error)`` for those
        ``wanted`` (all by default). Nothing is re-sent."""
        failed = [
            (entry.waiter, self._lost(entry, key, reason))
            for key, entry in self._pending.items()
            if wanted is None or wanted(entry)
        ]
        self._pending.clear()
        self._outbox.clear()
        return failed


class WireProtocol(Protocol[W]):
    """What the connection driver needs from a sans-I/O protocol (``W``: the waiter type).

    Preparing a request is venue-specific (its arguments differ); the driver takes the
    protocol's prepare function, which takes four venue arguments, and calls it with the
    waiter, deadline and timeout appended.
    """

    violations: int
    """Frames that broke the protocol (counted by the protocol, never fatal)."""

    @property
    def pending_count(self) -> int:
        """Requests waiting for their reply."""
        ...

    def receive(self, frame: bytes | str) -> object:
        """Classify one incoming frame into an event (see the module docstring); never raises."""
        ...

    def data_to_send(self) -> list[bytes]:
        """Frames the protocol queued by itself (heartbeat answers, stream cancels)."""
        ...

    def forget(self, key: Any) -> None:
        """The caller stopped waiting for ``key`` (cancelled): drop it, count a late reply."""
        ...

    def timed_out(self, key: Any, timeout: float) -> DeribitError:
        """Drop ``key`` after its timeout and return the error its caller gets."""
        ...

    def lost(self, key: Any, reason: str) -> DeribitError:
        """Drop ``key`` whose frame may have left before the link failed; its caller's error."""
        ...

    def abandon(self, key: Any) -> DeribitError | None:
        """Drop ``key`` whose caller was cancelled after its frame may have left; the error
        to report when that leaves an outcome unknown, else ``None``."""
        ...

    def unclaimed(
        self, method: str, key: Any, outcome: Reply[Any] | BaseException
    ) -> LateReply | DeribitError | None:
        """What to report of an ``outcome`` that came in the loop turn that cancelled its
        caller: a :class:`LateReply`, an outcome-unknown error, or ``None``."""
        ...

    def expire(self, now: float) -> tuple[list[tuple[W, DeribitError]], float]:
        """Drop requests whose deadline is ``<= now``: ``(waiter, error)`` pairs and the
        earliest deadline still pending (``inf`` if none)."""
        ...

    def connection_lost(self, reason: str) -> list[tuple[W, DeribitError]]:
        """The link is gone: every pending request's ``(waiter, error)``; nothing is re-sent."""
        ...
