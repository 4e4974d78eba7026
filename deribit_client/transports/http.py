"""HTTP transport over aiohttp: POST a JSON-RPC body to ``/api/v2/{method}``."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from .._core.errors import ConnectionLost, HTTPStatusError, TransportError
from .base import SendProgress

__all__ = ["MAX_CONNECTIONS", "SENDING", "HttpTransport", "capped_session"]

_JSON_HEADERS = {"Content-Type": "application/json"}

MAX_CONNECTIONS = 8
"""Connections an aiohttp session the SDK creates holds at once, a WebSocket included.

Deribit answers HTTP 429 to a 33rd simultaneous connection from one IP, open HTTP
connections included (REFERENCE 3), and aiohttp's default pool opens up to 100: a burst
of concurrent HTTP calls would have most of them refused. Eight leave room for a few more
clients on the same IP (Deribit's web UI takes two); calls beyond them wait for a free one.
"""


async def _about_to_send(
    session: aiohttp.ClientSession,
    context: object,
    params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    # aiohttp signals this before it writes anything of the request: until then, nothing
    # of it has left (it may still be waiting for a connection from the pool).
    progress = getattr(context, "trace_request_ctx", None)
    if type(progress) is SendProgress:
        progress.sent = True


SENDING = aiohttp.TraceConfig()
"""Tells a request's :class:`SendProgress` when aiohttp starts writing it; the sessions the
SDK creates carry it (a session of yours may add it to its ``trace_configs``)."""
SENDING.on_request_headers_sent.append(_about_to_send)


def capped_session(max_connections: int = MAX_CONNECTIONS) -> aiohttp.ClientSession:
    """A new aiohttp session that holds at most ``max_connections`` connections and tells
    when a request starts going out (:data:`SENDING`)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections), trace_configs=[SENDING]
    )


class HttpTransport:
    """Request/response transport. Deribit accepts a JSON-RPC body POSTed to the method's URL.

    Args:
        base_url: e.g. ``https://www.deribit.com/api/v2``.
        session: an aiohttp session to reuse; by default the transport owns one holding
            at most :data:`MAX_CONNECTIONS` connections.
    """

    def __init__(self, base_url: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_session = session is None
        self._session = session or capped_session()
        # Whether aiohttp says when a request starts going out (see request()).
        self._tracks_sending = SENDING in self._session.trace_configs

    async def request(
        self,
        method: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        progress: SendProgress | None = None,
    ) -> bytes:
        """POST ``body`` and return the reply body.

        ``progress.sent`` stays false until aiohttp starts writing the request, when the
        session carries :data:`SENDING`; otherwise it is left true (may have been sent).

        A JSON-RPC error comes back with a non-200 status and a JSON body: that body is
        returned so the protocol core turns it into the typed error. Other failures raise.

        ``timeout`` bounds the whole request through aiohttp's own per-request timers.

        Raises:
            TimeoutError: no complete reply within ``timeout`` after the request was sent.
            TransportError: could not connect, or no connection was had (made, or free in
                the session's pool) within half of ``timeout``: the request was not sent.
            ConnectionLost: the connection broke after the request may have been sent.
            HTTPStatusError: a non-200 reply without a JSON body (429, 502, ...).
        """
        all_headers = _JSON_HEADERS if headers is None else {**_JSON_HEADERS, **headers}
        # Getting a connection (waiting for a free one in the pool, or making one) gets half
        # the budget and its own timer, so that running out of time before sending is told
        # apart (ConnectionTimeoutError: nothing was sent) from running out after sending
        # (TimeoutError: the outcome is unknown).
        limit = (
            aiohttp.ClientTimeout(total=timeout, connect=timeout / 2)
            if timeout is not None
            else None
        )
        if progress is not None and self._tracks_sending:
            progress.sent = False
        try:
            async with self._session.post(
                f"{self.base_url}/{method}",
                data=body,
                headers=all_headers,
                timeout=limit,
                trace_request_ctx=progress,
            ) as resp:
                data = await resp.read()
                status = resp.status
        except aiohttp.ConnectionTimeoutError as exc:
            # Nothing was sent (not an unknown outcome): the pool had no free connection,
            # or making one took too long.
            within = "" if timeout is None else f" within {timeout / 2:g} s"
            raise TransportError(
                f"no connection to {self.base_url}{within} (none free in the pool, or the "
                "host slow to answer): the request was not sent"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"cannot connect to {self.base_url}: {exc!r}") from exc
        except TimeoutError:
            raise  # before OSError/ClientError: aiohttp's timeouts subclass both
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionLost(f"HTTP request for {method} failed: {exc}") from exc
        if status != 200 and not data.lstrip().startswith(b"{"):
            snippet = data[:200].decode("utf-8", "replace")
            raise HTTPStatusError(status, snippet or "empty body")
        return data

    async def close(self) -> None:
        """Close the session if this transport created it."""
        if self._owns_session:
            await self._session.close()
