"""The interface a sans-I/O wire protocol implements, and the events it hands the engine.

A protocol turns requests into ``(key, bytes)`` and incoming bytes into events; it never
awaits, reads a clock or raises out of :meth:`WireProtocol.receive`. The connection driver
(:mod:`.connection`) owns the waiters, the timer and the socket. Events:

- :class:`Reply`: a pending request is answered (value or typed error).
- ``(route, item)``: a stream item already decoded into its final type; the driver hands
  ``item`` to ``route.deliver``. A plain tuple because this is the per-frame hot path.
- :class:`Violation`: the frame broke the protocol; counted and logged, never fatal. When the
  frame belonged to a known stream, ``route`` is set so that stream can mark a gap.
- ``None``: nothing to act on (the protocol counted it, or answered it by itself).
- anything else: venue-specific, passed to the facade's ``on_event``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar

from .errors import DeribitError

__all__ = ["Reply", "Route", "Violation", "WireProtocol", "excerpt", "expire_due"]

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


class Reply(Generic[W]):
    """A reply matched to a pending request; exactly one of ``value``/``error`` is meaningful.

    ``envelope`` is the protocol's metadata of the frame (Deribit: ``usIn``/``usOut``).
    """

    __slots__ = ("envelope", "error", "method", "request_id", "value", "waiter")

    def __init__(
        self,
        waiter: W,
        request_id: Hashable,
        method: str,
        value: Any,
        error: DeribitError | None,
        envelope: Any,
    ) -> None:
        self.waiter = waiter
        self.request_id = request_id
        self.method = method
        self.value = value
        self.error = error
        self.envelope = envelope


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


class WireProtocol(Protocol[W]):
    """What the connection driver needs from a sans-I/O protocol (``W``: the waiter type).

    Preparing a request is venue-specific (its arguments differ); the driver takes the
    protocol's prepare function and calls it with the waiter, deadline and timeout appended.
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

    def expire(self, now: float) -> tuple[list[tuple[W, DeribitError]], float]:
        """Drop requests whose deadline is ``<= now``: ``(waiter, error)`` pairs and the
        earliest deadline still pending (``inf`` if none)."""
        ...

    def connection_lost(self, reason: str) -> list[tuple[W, DeribitError]]:
        """The link is gone: every pending request's ``(waiter, error)``; nothing is re-sent."""
        ...
