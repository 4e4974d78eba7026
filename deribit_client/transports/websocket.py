"""WebSocket transport over aiohttp: text frames in and out, as bytes, with no extra copies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Literal

import aiohttp

from .._errors import ConnectionLost, HTTPStatusError, TransportError

__all__ = ["WebSocketConnector", "WebSocketTransport"]

_CLOSE_GRACE = 2.0  # seconds a clean close waits for the server's close frame

_CLOSED_TYPES = frozenset(
    {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED}
)


# A (type, data, extra) named tuple with the frame's bytes, only ever for text frames
# (aiohttp >= 3.13.x; older releases fall back to payload() for every message).
_TEXT_BYTES: type[tuple[object, ...]] | None = getattr(aiohttp.http, "WSMessageTextBytes", None)


class WebSocketTransport:
    """A connected WebSocket. Create it with :meth:`connect`."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse[Literal[False]],
        session: aiohttp.ClientSession,
        owns_session: bool,
    ) -> None:
        self._ws = ws
        self._session = session
        self._owns_session = owns_session
        # aiohttp's own coroutine, bound once: no wrapper coroutine per frame.
        self.receive = ws.receive

    data_message_type: type[tuple[object, ...]] | None = _TEXT_BYTES
    """aiohttp's message type of a text frame handed over as bytes (``decode_text=False``):
    the read loop takes the frame (its second member) without calling :meth:`payload`."""

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
    ) -> WebSocketTransport:
        """Open a WebSocket to ``url``.

        Args:
            url: e.g. ``wss://www.deribit.com/ws/api/v2``.
            session: an aiohttp session to reuse; by default the transport owns one.
            timeout: seconds allowed for the TCP + TLS + upgrade handshake.

        Raises:
            HTTPStatusError: the server refused the upgrade with an HTTP status (429
                past Deribit's connections-per-IP limit).
            TransportError: the connection or the upgrade failed otherwise.
        """
        owns = session is None
        session = session or aiohttp.ClientSession()
        try:
            # The handshake is bounded here; receive has no timeout (heartbeats find dead links).
            async with asyncio.timeout(timeout):
                ws = await session.ws_connect(
                    url,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=_CLOSE_GRACE),
                    # Frames are JSON: hand text frames over as bytes so msgspec parses them
                    # without a UTF-8 decode + str copy first.
                    decode_text=False,
                    autoping=True,
                    max_msg_size=16 * 1024 * 1024,
                )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            if owns:
                await session.close()
            if isinstance(exc, aiohttp.WSServerHandshakeError) and exc.status >= 400:
                # Refused at the HTTP level (Deribit: 429 past 32 connections per IP).
                detail = f"cannot open WebSocket {url}: upgrade refused ({exc.message})"
                raise HTTPStatusError(exc.status, detail) from exc
            raise TransportError(f"cannot open WebSocket {url}: {_describe(exc)}") from exc
        except BaseException:
            if owns:
                await session.close()
            raise
        return cls(ws, session, owns)

    @property
    def closed(self) -> bool:
        """True once the socket is closed."""
        return self._ws.closed

    def send(self, frame: bytes) -> Awaitable[None]:
        """Send ``frame`` as one text frame (aiohttp's coroutine, without a wrapper layer).

        Failures surface as ``ConnectionError`` subclasses (aiohttp's
        ClientConnectionResetError); the connection reports them as ConnectionLost. No
        closed check here (it would cost a property call per request): aiohttp refuses a
        frame for a closed or closing socket before writing any of it (see :meth:`unsent`).
        """
        return self._ws.send_frame(frame, aiohttp.WSMsgType.TEXT)

    def unsent(self, exc: BaseException) -> bool:
        """Whether a failed :meth:`send` wrote nothing: aiohttp refuses a frame for a closing
        transport before writing any of it (a peer that dropped the link while calls were
        being made). Other failures (a lost drain after the write) may have sent it."""
        return isinstance(exc, aiohttp.ClientConnectionResetError) and "closing transport" in str(
            exc
        )

    def payload(self, message: object) -> bytes | str:
        """The data of a text or binary message; ConnectionLost for close and errors."""
        msg: aiohttp.WSMessage = message  # type: ignore[assignment]
        if msg.type is aiohttp.WSMsgType.TEXT or msg.type is aiohttp.WSMsgType.BINARY:
            data: bytes | str = msg.data
            return data
        if msg.type in _CLOSED_TYPES:
            # A close frame may say why (Deribit drops a slow reader: connection_too_slow).
            reason = msg.extra if msg.type is aiohttp.WSMsgType.CLOSE and msg.extra else None
            detail = f"code {self._ws.close_code}" + (f", reason {reason!r}" if reason else "")
            raise ConnectionLost(f"WebSocket closed by peer ({detail})")
        if msg.type is aiohttp.WSMsgType.ERROR:
            raise ConnectionLost(f"WebSocket error: {msg.data!r}")
        raise ConnectionLost(f"unexpected WebSocket message type {msg.type!r}")

    async def close(self) -> None:
        """Close the socket (and the session if this transport created it)."""
        try:
            await self._ws.close()
        finally:
            if self._owns_session:
                await self._session.close()

    async def abort(self) -> None:
        """Drop the TCP connection without waiting for the peer."""
        try:
            # Cancelling aiohttp's close() makes it release the connection abruptly.
            async with asyncio.timeout(0):
                await self._ws.close()
        except TimeoutError:
            pass
        finally:
            if self._owns_session:
                await self._session.close()


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class WebSocketConnector:
    """Opens a :class:`WebSocketTransport` to ``url`` for every (re)connection.

    Args:
        url: the WebSocket endpoint.
        session: an aiohttp session to reuse; by default each transport owns one.
        timeout: seconds allowed for each handshake.
    """

    def __init__(
        self, url: str, *, session: aiohttp.ClientSession | None = None, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.session = session
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WebSocketConnector({self.url!r})"

    async def connect(self) -> WebSocketTransport:
        """Open one WebSocket (see :meth:`WebSocketTransport.connect`)."""
        return await WebSocketTransport.connect(
            self.url, session=self.session, timeout=self.timeout
        )
