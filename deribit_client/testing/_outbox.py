"""One connection's outgoing text frames, for both simulators.

A real venue buffers what each connection has yet to read: a client that stops reading
(a blocked event loop, a paused process) delays nobody else, and once too much piles up
it is dropped (Deribit: ``connection_too_slow``). Awaiting aiohttp's ``send_frame`` for
each client in turn would instead stall every stream, and every other client's replies,
behind the slowest reader once its socket buffers fill. So frames are written to the
connection's transport at once, in order, and never waited on: the transport buffers
what the kernel does not take yet, and that buffer's size is the connection's backlog.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

from aiohttp import WSCloseCode, web

__all__ = ["CLOSE_GRACE", "Outbox"]

CLOSE_GRACE = 5.0
"""Seconds a close waits for the peer to take what is buffered and answer the close frame
before the connection is cut."""

_SHORT, _MEDIUM, _LONG = struct.Struct("!BB"), struct.Struct("!BBH"), struct.Struct("!BBQ")
_FIN_TEXT = 0x81  # a final frame of opcode 1 (text)


def _text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked WebSocket text frame (RFC 6455 5.2; a server's frames
    are never masked, and a message may go uncompressed even where permessage-deflate was
    agreed, RFC 7692 6)."""
    size = len(payload)
    if size < 126:
        header = _SHORT.pack(_FIN_TEXT, size)
    elif size < 1 << 16:
        header = _MEDIUM.pack(_FIN_TEXT, 126, size)
    else:
        header = _LONG.pack(_FIN_TEXT, 127, size)
    return header + payload


class Outbox:
    """Writes one WebSocket's text frames, in order, without waiting for the peer.

    Args:
        request: the upgrade request, whose transport carries the frames.
        ws: the prepared WebSocket (for its close handshake).
        limit: returns the bytes that may wait in the transport's buffer (beyond the
            kernel's) before the peer counts as too slow and ``on_overflow`` is called
            (``None``: no limit); read at each write, so the owner's setting applies at once.
        on_overflow: called once, from :meth:`put`, when ``limit`` is passed: it may
            :meth:`put` a last word, and must start closing the connection.
    """

    __slots__ = ("_limit", "_on_overflow", "_overflowed", "_request", "closing", "ws")

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        limit: Callable[[], int | None],
        on_overflow: Callable[[], None],
    ) -> None:
        self._request = request
        self.ws = ws
        self._limit = limit
        self._on_overflow = on_overflow
        self._overflowed = False
        self.closing = False
        """Set once the connection is being closed: later frames are not sent."""

    @property
    def backlog(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        transport = self._request.transport
        return 0 if transport is None else transport.get_write_buffer_size()

    def put(self, payload: bytes) -> None:
        """Write ``payload`` as a text frame now; ignored once closing or closed."""
        transport = self._request.transport
        if self.closing or self.ws.closed or transport is None or transport.is_closing():
            return
        transport.write(_text_frame(payload))
        if self._overflowed:
            return  # the last word of on_overflow
        limit = self._limit()
        if limit is not None and transport.get_write_buffer_size() > limit:
            self._overflowed = True
            self._on_overflow()
            self.closing = True

    async def close(self, code: int = WSCloseCode.OK, reason: str = "") -> None:
        """A close frame with ``code`` and ``reason`` after what is buffered; a peer that
        does not take them and answer within :data:`CLOSE_GRACE` seconds is cut."""
        self.closing = True
        try:
            async with asyncio.timeout(CLOSE_GRACE):
                await self.ws.close(code=code, message=reason.encode())
        except TimeoutError:
            self.abort()

    def mute(self) -> None:
        """Send nothing more: the link is cut from now on, though :meth:`abort` only
        follows once the request in hand has run."""
        self.closing = True

    def abort(self) -> None:
        """Cut the TCP connection without a close frame; what the kernel has not taken yet
        is lost, as on a real cut."""
        self.closing = True
        transport = self._request.transport
        if transport is not None:
            transport.abort()
