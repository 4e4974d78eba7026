"""The transport seam: transports only move bytes and know nothing of JSON-RPC."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Protocol, runtime_checkable

__all__ = ["Connector", "RequestTransport", "SendProgress", "StreamTransport"]


class SendProgress:
    """Whether a request may have reached the server yet, for a caller cancelled while a
    transport handles it: an order that never left is no unknown outcome.

    ``sent`` starts true (may have left); a transport that can tell sets it false when it
    starts and true again just before it writes the request.
    """

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = True


@runtime_checkable
class StreamTransport(Protocol):
    """A full-duplex message stream (WebSocket, or the in-memory mock).

    ``receive`` waits for the next message in the transport's own form and ``payload``
    turns it into the frame, raising :class:`~deribit_client.ConnectionLost` when the message
    says the stream closed (from either side). Two steps instead of one coroutine keep the
    read loop free of a wrapper per frame. ``send`` raises ConnectionLost once closed.

    Optionally, ``data_message_type``: a tuple type whose instances ``receive`` returns only
    for data messages, with the frame as their second member; the read loop takes the frame
    from those without calling ``payload`` (the WebSocket transport names aiohttp's text
    message type). And ``unsent(exc) -> bool``: whether an error ``send`` raised wrote
    nothing (``send`` itself stays a bare coroutine, with no wrapper to translate errors):
    an order whose frame never left is then not reported as outcome-unknown.
    """

    def send(self, frame: bytes) -> Awaitable[None]:
        """Send one text frame (UTF-8 JSON bytes); failures raise ``ConnectionError``.

        Raise :class:`~deribit_client.ConnectionLost` only when nothing was written; any
        other ``ConnectionError`` means the frame may have left, and an order sent with it
        is reported as outcome-unknown.

        Concurrent sends must never interleave: the whole frame is handed to the connection
        before the awaitable first suspends (aiohttp does this for uncompressed frames), so
        callers need no lock.
        """
        ...

    def receive(self) -> Awaitable[object]:
        """Wait for the next message (pass it to :meth:`payload`)."""
        ...

    def payload(self, message: object) -> bytes | str:
        """The frame carried by ``message``; raises ConnectionLost for a close."""
        ...

    async def close(self) -> None:
        """Close the stream with a (bounded) close handshake; idempotent."""

    async def abort(self) -> None:
        """Drop the connection at once, without a close handshake (dead or half-open link)."""


@runtime_checkable
class RequestTransport(Protocol):
    """A request/response transport (HTTP): one body in, one body out."""

    async def request(
        self,
        method: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        progress: SendProgress | None = None,
    ) -> bytes:
        """POST ``body`` for JSON-RPC ``method`` and return the reply body; ``progress``
        is kept up to date when the transport can tell (see :class:`SendProgress`).

        Raises:
            TimeoutError: no complete reply within ``timeout`` seconds.
            TransportError: the request could not be sent, or the reply carries no JSON.
        """

    async def close(self) -> None:
        """Release connections; idempotent."""


@runtime_checkable
class Connector(Protocol):
    """Opens a fresh stream transport for each (re)connection: what a client accepts as
    ``connector=`` (the way httpx accepts ``transport=``)."""

    async def connect(self) -> StreamTransport:
        """Open one connection.

        Raises:
            TransportError: the connection could not be opened.
        """
        ...
