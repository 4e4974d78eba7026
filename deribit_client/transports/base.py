"""The transport seam: transports only move bytes and know nothing of JSON-RPC."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["RequestTransport", "StreamTransport"]


@runtime_checkable
class StreamTransport(Protocol):
    """A full-duplex message stream (WebSocket, or the in-memory mock).

    ``receive`` returns one whole message and raises :class:`~deribit_client.ConnectionLost`
    once the stream is closed from either side; ``send`` raises it when the stream is closed.
    """

    async def send(self, frame: bytes) -> None:
        """Send one text frame (UTF-8 JSON bytes)."""

    async def receive(self) -> bytes | str:
        """Wait for the next message."""

    async def close(self) -> None:
        """Close the stream with a (bounded) close handshake; idempotent."""

    async def abort(self) -> None:
        """Drop the connection at once, without a close handshake (dead or half-open link)."""


@runtime_checkable
class RequestTransport(Protocol):
    """A request/response transport (HTTP): one body in, one body out."""

    async def request(
        self, method: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> bytes:
        """POST ``body`` for JSON-RPC ``method`` and return the reply body.

        Raises:
            TransportError: the request could not be sent, or the reply carries no JSON.
        """

    async def close(self) -> None:
        """Release connections; idempotent."""
