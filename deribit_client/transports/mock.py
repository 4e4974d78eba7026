"""An in-memory stream transport for tests: script the server side without sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from .._core.errors import ConnectionLost, TransportError

__all__ = ["MockConnector", "MockTransport"]

_CLOSE = object()


class MockTransport:
    """A :class:`StreamTransport` whose server side is driven by the test.

    Args:
        handler: called with every frame the client sends; the frames it returns are
            delivered back to the client, in order. Without it, use :meth:`push`.

    Attributes:
        sent: every frame the client sent, in order.
    """

    def __init__(self, handler: Callable[[bytes], Iterable[bytes | str]] | None = None) -> None:
        self._handler = handler
        self._incoming: asyncio.Queue[bytes | str | object] = asyncio.Queue()
        self._closed_reason: str | None = None
        self.sent: list[bytes] = []

    @property
    def closed(self) -> bool:
        """True once either side closed the stream."""
        return self._closed_reason is not None

    def push(self, frame: bytes | str) -> None:
        """Deliver ``frame`` to the client as if the server sent it."""
        self._incoming.put_nowait(frame)

    def drop(self, reason: str = "dropped by test") -> None:
        """Close the stream from the server side: pending and later receives fail."""
        if self._closed_reason is None:
            self._closed_reason = reason
            self._incoming.put_nowait(_CLOSE)

    async def send(self, frame: bytes) -> None:
        """Record ``frame`` and let the handler answer it."""
        if self._closed_reason is not None:
            raise ConnectionLost(f"mock transport closed: {self._closed_reason}")
        self.sent.append(frame)
        if self._handler is not None:
            for reply in self._handler(frame):
                self.push(reply)

    async def receive(self) -> object:
        """Return the next pushed frame (or the close marker after :meth:`drop`)."""
        item = await self._incoming.get()
        if item is _CLOSE:
            self._incoming.put_nowait(_CLOSE)  # every later receive sees it too
        return item

    def payload(self, message: object) -> bytes | str:
        """The frame; ConnectionLost for the close marker."""
        if message is _CLOSE:
            raise ConnectionLost(f"mock transport closed: {self._closed_reason}")
        assert isinstance(message, bytes | str)
        return message

    async def close(self) -> None:
        """Close from the client side."""
        self.drop("closed by client")

    async def abort(self) -> None:
        """Drop from the client side."""
        self.drop("aborted by client")


class MockConnector:
    """A :class:`~deribit_client.transports.base.Connector` of :class:`MockTransport`s, for
    testing a bot without sockets: ``DeribitClient(connector=MockConnector(handler))``.

    Every (re)connection gets a fresh :class:`MockTransport` with ``handler``.

    Args:
        handler: answers every frame the client sends (see :class:`MockTransport`).

    Attributes:
        transports: every transport handed out, oldest first.
        refuse: while set to a message, :meth:`connect` fails with that message (a venue
            that cannot be reached).
    """

    def __init__(self, handler: Callable[[bytes], Iterable[bytes | str]] | None = None) -> None:
        self.handler = handler
        self.transports: list[MockTransport] = []
        self.refuse: str | None = None

    @property
    def current(self) -> MockTransport:
        """The newest transport."""
        if not self.transports:
            raise LookupError("no connection was opened yet")
        return self.transports[-1]

    async def connect(self) -> MockTransport:
        """Hand out a fresh transport, or fail while :attr:`refuse` is set."""
        if self.refuse is not None:
            raise TransportError(f"mock connector refused: {self.refuse}")
        transport = MockTransport(self.handler)
        self.transports.append(transport)
        return transport
