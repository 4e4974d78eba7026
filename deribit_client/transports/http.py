"""HTTP transport over aiohttp: POST a JSON-RPC body to ``/api/v2/{method}``."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from .._core.errors import ConnectionLost, HTTPStatusError, TransportError

__all__ = ["HttpTransport"]

_JSON_HEADERS = {"Content-Type": "application/json"}


class HttpTransport:
    """Request/response transport. Deribit accepts a JSON-RPC body POSTed to the method's URL.

    Args:
        base_url: e.g. ``https://www.deribit.com/api/v2``.
        session: an aiohttp session to reuse; by default the transport owns one.
    """

    def __init__(self, base_url: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_session = session is None
        self._session = session or aiohttp.ClientSession()

    async def request(
        self,
        method: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """POST ``body`` and return the reply body.

        A JSON-RPC error comes back with a non-200 status and a JSON body: that body is
        returned so the protocol core turns it into the typed error. Other failures raise.

        ``timeout`` bounds the whole request through aiohttp's own per-request timers.

        Raises:
            TimeoutError: no complete reply within ``timeout`` after the request was sent.
            TransportError: could not connect, or the connect phase timed out (the request
                was not sent).
            ConnectionLost: the connection broke after the request may have been sent.
            HTTPStatusError: a non-200 reply without a JSON body (429, 502, ...).
        """
        all_headers = _JSON_HEADERS if headers is None else {**_JSON_HEADERS, **headers}
        # The connect phase gets half the budget and its own timer, so that running out of
        # time while connecting is told apart (ConnectionTimeoutError: nothing was sent)
        # from running out after sending (TimeoutError: the outcome is unknown).
        limit = (
            aiohttp.ClientTimeout(total=timeout, sock_connect=timeout / 2)
            if timeout is not None
            else None
        )
        try:
            async with self._session.post(
                f"{self.base_url}/{method}", data=body, headers=all_headers, timeout=limit
            ) as resp:
                data = await resp.read()
                status = resp.status
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            # The connect phase failed or timed out: nothing was sent (not an unknown outcome).
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
