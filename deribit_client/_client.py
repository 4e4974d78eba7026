"""DeribitClient: the composition root that owns the connection and exposes the typed API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import aiohttp

from ._api import PublicAPI
from ._config import Endpoints, Environment, endpoints_for
from ._dispatcher import DEFAULT_TIMEOUT, RequestDispatcher, StreamDispatcher
from ._errors import ClientError, TransportError, UnsupportedOperation
from ._response import Response
from ._rpc.methods import WS_ONLY_METHODS
from .transports import HttpTransport, WebSocketTransport

__all__ = ["DeribitClient", "TransportMode"]

log = logging.getLogger("deribit_client")

T = TypeVar("T")
TransportMode = Literal["auto", "websocket", "http"]


class DeribitClient:
    """Async client for Deribit's JSON-RPC API.

    Use it as an async context manager::

        async with DeribitClient(env="testnet") as client:
            now = await client.public.get_time()
            book = await client.public.get_order_book("BTC-PERPETUAL", depth=5)
            raw = await client.call("public/get_index_price", {"index_name": "btc_usd"})

    Args:
        env: ``"prod"`` or ``"testnet"``; ignored when ``url`` is given.
        url: explicit server URL (e.g. the bundled simulator's ``sim.url``).
        transport: ``"auto"`` (WebSocket, falling back to HTTP if it cannot be opened),
            ``"websocket"`` or ``"http"``.
        timeout: default seconds a call waits for its reply.
        connect_timeout: seconds allowed to open the WebSocket.
        session: an aiohttp session to use; by default the client owns one.

    Attributes:
        public: typed ``public/*`` methods.
        endpoints: the resolved WebSocket and HTTP URLs.
        transport_kind: ``"websocket"`` or ``"http"`` once connected.
        fallback_reason: why ``"auto"`` fell back to HTTP, else ``None``.
    """

    def __init__(
        self,
        *,
        env: Environment = "prod",
        url: str | None = None,
        transport: TransportMode = "auto",
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if transport not in ("auto", "websocket", "http"):
            raise ValueError(f"transport must be 'auto', 'websocket' or 'http', not {transport!r}")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeout and connect_timeout must be positive")
        self.endpoints: Endpoints = endpoints_for(env, url)
        self.transport_mode: TransportMode = transport
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._session = session
        self._owns_session = session is None
        self._dispatcher: StreamDispatcher | RequestDispatcher | None = None
        self.transport_kind: Literal["websocket", "http"] | None = None
        self.fallback_reason: str | None = None
        self.public = PublicAPI(self)

    def __repr__(self) -> str:
        return (
            f"DeribitClient(ws={self.endpoints.ws_url!r}, transport={self.transport_mode!r}, "
            f"connected={self.transport_kind!r})"
        )

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> DeribitClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection chosen by ``transport``.

        Raises:
            TransportError: the WebSocket could not be opened and ``transport="websocket"``.
        """
        if self._dispatcher is not None:
            raise ClientError("client is already connected")
        if self._session is None:
            self._session = aiohttp.ClientSession()
        if self.transport_mode != "http":
            try:
                ws = await WebSocketTransport.connect(
                    self.endpoints.ws_url, session=self._session, timeout=self.connect_timeout
                )
            except TransportError as exc:
                if self.transport_mode == "websocket":
                    await self._close_session()
                    raise
                self.fallback_reason = str(exc)
                log.warning(
                    "WebSocket unavailable (%s); falling back to HTTP %s: no subscriptions",
                    exc,
                    self.endpoints.http_url,
                )
            else:
                stream = StreamDispatcher(ws, default_timeout=self.timeout)
                stream.start()
                self._dispatcher = stream
                self.transport_kind = "websocket"
                return
        http = HttpTransport(self.endpoints.http_url, session=self._session)
        self._dispatcher = RequestDispatcher(http, default_timeout=self.timeout)
        self.transport_kind = "http"

    async def close(self) -> None:
        """Close the connection; calls still waiting fail with ConnectionLost. Idempotent."""
        dispatcher, self._dispatcher = self._dispatcher, None
        try:
            if dispatcher is not None:
                await dispatcher.close()
        finally:
            await self._close_session()

    async def _close_session(self) -> None:
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # -- calls --------------------------------------------------------------------------

    @overload
    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        result_type: type[T],
        timeout: float | None = None,
    ) -> T: ...

    @overload
    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any: ...

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        result_type: Any = Any,
        timeout: float | None = None,
    ) -> Any:
        """Call any JSON-RPC method by name.

        Args:
            method: e.g. ``"public/get_index_price"``.
            params: named params; ``None`` values are omitted from the request.
            result_type: decode the result into this type (a model, ``list[Model]``, ...);
                by default plain JSON values.
            timeout: seconds to wait for the reply (default: the client's ``timeout``).

        Raises:
            RpcError: the server answered with an error; the subclass matches its code.
            RequestTimeout, ConnectionLost, OrderOutcomeUnknown: see the README.
        """
        return await self.invoke(method, params, result_type, timeout)

    async def call_with_meta(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        result_type: Any = Any,
        timeout: float | None = None,
    ) -> Response[Any]:
        """Like :meth:`call`, returning a :class:`Response` with ``usIn``/``usOut``/``usDiff``."""
        reply = await self._dispatch(method, params, result_type, timeout)
        return Response.from_reply(reply)

    async def invoke(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: type[T],
        timeout: float | None,
    ) -> T:
        """The :class:`Caller` entry point the typed namespaces use."""
        reply = await self._dispatch(method, params, result_type, timeout)
        value: T = reply.value
        return value

    async def _dispatch(
        self, method: str, params: Mapping[str, Any] | None, result_type: Any, timeout: float | None
    ) -> Any:
        dispatcher = self._dispatcher
        if dispatcher is None:
            raise ClientError(
                "client is not connected: use `async with DeribitClient(...)` or `await connect()`"
            )
        if self.transport_kind == "http" and method in WS_ONLY_METHODS:
            raise UnsupportedOperation(f"{method} is only available over WebSocket")
        return await dispatcher.call(method, params, result_type, timeout)

    async def subscribe(self, *channels: str) -> Any:
        """Subscribe to channels (WebSocket only)."""
        if self.transport_kind == "http" or self.transport_mode == "http":
            raise UnsupportedOperation(
                "subscriptions need a WebSocket connection; this client uses HTTP "
                f"({self.fallback_reason or 'transport=http'})"
            )
        raise NotImplementedError
