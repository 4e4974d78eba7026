"""DeribitClient: the composition root that owns the connection and exposes the typed API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar, overload
from urllib.parse import urlsplit

import aiohttp

from ._api import PrivateAPI, PublicAPI
from ._auth import Authenticator, Credentials, Grant, HttpAuth
from ._config import MIN_HEARTBEAT_INTERVAL, Endpoints, Environment, endpoints_for
from ._dispatcher import DEFAULT_TIMEOUT, RequestDispatcher, StreamDispatcher
from ._errors import (
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    DeribitError,
    RequestTimeout,
    TransportError,
    UnsupportedOperation,
)
from ._reconnect import ReconnectPolicy, retry_establish
from ._response import Response
from ._rpc.methods import WS_ONLY_METHODS, is_read_only_public
from ._rpc.protocol import Reply
from ._subscriptions import DEFAULT_MAXSIZE, Callback, Policy, Subscription, SubscriptionManager
from .transports import HttpTransport, WebSocketTransport

__all__ = ["ConnectionState", "DeribitClient", "TransportMode"]

log = logging.getLogger("deribit_client")

T = TypeVar("T")
TransportMode = Literal["auto", "websocket", "http"]
ConnectionState = Literal["disconnected", "connecting", "ready", "reconnecting", "failed", "closed"]


class DeribitClient:
    """Async client for Deribit's JSON-RPC API.

    Use it as an async context manager::

        async with DeribitClient(env="testnet") as client:
            now = await client.public.get_time()
            async with client.subscribe("ticker.BTC-PERPETUAL.100ms") as sub:
                async for message in sub:
                    ...

    Args:
        env: ``"prod"`` or ``"testnet"``; ignored when ``url`` is given.
        url: explicit server URL (e.g. the bundled simulator's ``sim.url``).
        transport: ``"auto"`` (WebSocket, falling back to HTTP if it cannot be opened),
            ``"websocket"`` or ``"http"``.
        timeout: default seconds a call waits for its reply.
        connect_timeout: seconds allowed to open the WebSocket.
        session: an aiohttp session to use; by default the client owns one.
        client_id: API key id; defaults to ``$DERIBIT_CLIENT_ID``.
        client_secret: API key secret; defaults to ``$DERIBIT_CLIENT_SECRET``.
        credentials: a :class:`Credentials` instead of ``client_id``/``client_secret``.
        grant: ``"client_signature"`` (default: HMAC, the secret never leaves the process)
            or ``"client_credentials"``.
        scope: scope to request, e.g. ``"session:bot trade:read_write"``.
        http_auth: how private HTTP calls authenticate: ``"bearer"`` (token from
            ``public/auth``), ``"basic"`` or ``"signature"`` (``deri-hmac-sha256``).
        send_access_token: also put ``access_token`` into every private WebSocket request
            (Deribit treats an authenticated connection as authorized; some setups want both).
        heartbeat_interval: seconds for ``public/set_heartbeat`` (minimum 10); ``None``
            disables heartbeats and dead-link detection.
        cancel_on_disconnect: enable connection-scoped cancel-on-disconnect after every
            (re)connect (WebSocket only).
        reconnect: a :class:`ReconnectPolicy`, or ``False`` to never reconnect.
        subscriber_maxsize: default queue bound of each subscriber.

    Attributes:
        public: typed ``public/*`` methods.
        private: typed ``private/*`` methods.
        endpoints: the resolved WebSocket and HTTP URLs.
        transport_kind: ``"websocket"`` or ``"http"`` once connected.
        fallback_reason: why ``"auto"`` fell back to HTTP, else ``None``.
        state: ``disconnected``, ``connecting``, ``ready``, ``reconnecting``, ``failed``
            or ``closed``.
        reconnect_count: successful reconnects so far.
        last_error: the last connection-level error, if any.
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
        client_id: str | None = None,
        client_secret: str | None = None,
        credentials: Credentials | None = None,
        grant: Grant = "client_signature",
        scope: str | None = None,
        http_auth: HttpAuth = "bearer",
        send_access_token: bool = False,
        heartbeat_interval: float | None = 30.0,
        cancel_on_disconnect: bool = False,
        reconnect: ReconnectPolicy | bool = True,
        subscriber_maxsize: int = DEFAULT_MAXSIZE,
    ) -> None:
        if transport not in ("auto", "websocket", "http"):
            raise ValueError(f"transport must be 'auto', 'websocket' or 'http', not {transport!r}")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeout and connect_timeout must be positive")
        if heartbeat_interval is not None and heartbeat_interval < MIN_HEARTBEAT_INTERVAL:
            raise ValueError(
                f"heartbeat_interval must be at least {MIN_HEARTBEAT_INTERVAL:g} s (Deribit's "
                "minimum), or None"
            )
        if http_auth not in ("bearer", "basic", "signature"):
            raise ValueError(f"http_auth must be bearer, basic or signature, not {http_auth!r}")
        if cancel_on_disconnect and transport == "http":
            raise UnsupportedOperation("cancel_on_disconnect needs a WebSocket connection")
        self.endpoints: Endpoints = endpoints_for(env, url)
        self.transport_mode: TransportMode = transport
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.heartbeat_interval = heartbeat_interval
        self.cancel_on_disconnect = cancel_on_disconnect
        if isinstance(reconnect, bool):
            reconnect = ReconnectPolicy(enabled=reconnect)
        self.reconnect_policy = reconnect
        self.http_auth: HttpAuth = http_auth
        self.send_access_token = send_access_token
        if credentials is None:
            credentials = _credentials(client_id, client_secret)
        elif client_id is not None or client_secret is not None:
            raise ClientError("pass credentials or client_id/client_secret, not both")
        self.auth: Authenticator | None = (
            Authenticator(credentials, grant=grant, scope=scope) if credentials else None
        )
        self._http_path = urlsplit(self.endpoints.http_url).path.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._stream: StreamDispatcher | None = None
        self._http: RequestDispatcher | None = None
        self._detour: RequestDispatcher | None = None  # public reads while reconnecting
        self._subs = SubscriptionManager(
            self._ready_stream_call,
            lambda: self.auth is not None,
            default_maxsize=subscriber_maxsize,
        )
        self._supervisor: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self.transport_kind: Literal["websocket", "http"] | None = None
        self.fallback_reason: str | None = None
        self.state: ConnectionState = "disconnected"
        self.reconnect_count = 0
        self.last_error: BaseException | None = None
        self.public = PublicAPI(self)
        self.private = PrivateAPI(self)

    def __repr__(self) -> str:
        key = f", client_id={self.auth.credentials.client_id!r}" if self.auth else ""
        return (
            f"DeribitClient(ws={self.endpoints.ws_url!r}, transport={self.transport_mode!r}, "
            f"state={self.state!r}{key})"
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
        """Connect (and authenticate, when credentials are configured).

        Raises:
            TransportError: the WebSocket could not be opened and ``transport="websocket"``.
            AuthenticationError: the credentials were rejected.
        """
        if self.state != "disconnected":
            raise ClientError(f"connect() needs a fresh client; this one is {self.state}")
        self.state = "connecting"
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            if self.transport_mode != "http":
                try:
                    await self._establish()
                    return
                except TransportError as exc:
                    if self.transport_mode == "websocket":
                        raise
                    if self.cancel_on_disconnect:
                        raise UnsupportedOperation(
                            f"WebSocket unavailable ({exc}) and cancel_on_disconnect needs it"
                        ) from exc
                    self.fallback_reason = str(exc)
                    log.warning(
                        "WebSocket unavailable (%s); falling back to HTTP %s: no subscriptions",
                        exc,
                        self.endpoints.http_url,
                    )
            self._http = self._new_http()
            self.transport_kind = "http"
            if self.auth is not None and self.http_auth == "bearer":
                await self.auth.login(self._http_call)
                self._start_refresher()
            self.state = "ready"
        except BaseException:
            self.state = "disconnected"
            await self._release()
            raise

    async def close(self) -> None:
        """Close everything: calls still waiting fail with ConnectionLost, subscribers end,
        background tasks are cancelled. Idempotent."""
        self.state = "closed"
        for task in (self._supervisor, self._refresher):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._supervisor, self._refresher) if t is not None),
            return_exceptions=True,
        )
        self._supervisor = self._refresher = None
        await self._subs.close()
        await self._release()

    async def _release(self) -> None:
        stream, self._stream = self._stream, None
        https = (self._http, self._detour)
        self._http = self._detour = None
        try:
            if stream is not None:
                await stream.close()
            for http in https:
                if http is not None:
                    await http.close()
        finally:
            if self._owns_session and self._session is not None:
                session, self._session = self._session, None
                await session.close()

    # -- connection establishment and reconnect -----------------------------------------

    async def _establish(self) -> None:
        """connect -> auth -> heartbeat -> cancel-on-disconnect -> resubscribe -> ready."""
        assert self._session is not None
        transport = await WebSocketTransport.connect(
            self.endpoints.ws_url, session=self._session, timeout=self.connect_timeout
        )
        stream = StreamDispatcher(
            transport,
            on_notification=self._subs.on_notification,
            on_closed=self._on_stream_closed,
            default_timeout=self.timeout,
            channel_sinks=self._subs.sinks,
        )
        stream.start()
        self._stream = stream
        try:
            if self.auth is not None:
                if self.auth.session_scoped:
                    # A session-scoped token survives reconnects: refreshing keeps the session.
                    await self.auth.refresh(self._stream_call)
                else:
                    await self.auth.login(self._stream_call)
            if self.heartbeat_interval is not None:
                await stream.call(
                    "public/set_heartbeat", {"interval": self.heartbeat_interval}, str
                )
                stream.watch(2 * self.heartbeat_interval)
            if self.cancel_on_disconnect:
                await stream.call(
                    "private/enable_cancel_on_disconnect", {"scope": "connection"}, str
                )
            await self._subs.resubscribe_all(self._stream_call)
        except BaseException:
            self._stream = None
            await stream.close()
            raise
        self.transport_kind = "websocket"
        self.state = "ready"
        if self.auth is not None:
            self._start_refresher()

    def _on_stream_closed(self, reason: str) -> None:
        stream = self._stream
        if stream is None or not stream.closed or self.state != "ready":
            return  # an old or half-built connection, or we are closing
        self.last_error = ConnectionLost(reason)
        if not self.reconnect_policy.enabled:
            log.warning("connection lost (%s); reconnect is disabled", reason)
            self.state = "failed"
            self._subs.fail_all(ConnectionLost(reason))
            return
        log.warning("connection lost (%s); reconnecting", reason)
        self.state = "reconnecting"
        self._supervisor = asyncio.get_running_loop().create_task(
            self._reconnect(stream), name="deribit-reconnect"
        )

    async def _reconnect(self, old: StreamDispatcher) -> None:
        self._stream = None
        await old.close()

        def failed(error: BaseException) -> None:
            self.last_error = error

        try:
            await retry_establish(self._establish, self.reconnect_policy, failed)
        except Exception as exc:
            log.error("giving up reconnecting: %s", exc)
            self.state = "failed"
            self.last_error = exc
            self._subs.fail_all(ConnectionLost(f"could not reconnect: {exc}"))
            return
        self.reconnect_count += 1
        log.info("reconnected (%d so far)", self.reconnect_count)

    def _start_refresher(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(
                self._refresh_tokens(), name="deribit-token-refresh"
            )

    async def _refresh_tokens(self) -> None:
        auth = self.auth
        assert auth is not None
        failures = 0
        while True:
            delay = auth.seconds_until_refresh()
            if delay is None:
                return
            await asyncio.sleep(delay)
            if auth.seconds_until_refresh():
                continue  # a reconnect logged in again meanwhile
            try:
                await auth.refresh(self._auth_call)
                failures = 0
            except DeribitError as exc:
                # Disconnected or rejected: the reconnect path logs in again; retry, backing
                # off so a persistent failure does not hammer the server.
                failures += 1
                log.warning("token refresh failed (%d in a row): %s", failures, exc)
                self.last_error = exc
                await asyncio.sleep(min(60.0, 2.0**failures))

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
        return await self._start(method, params, result_type, timeout, False)

    async def call_with_meta(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        result_type: Any = Any,
        timeout: float | None = None,
    ) -> Response[Any]:
        """Like :meth:`call`, returning a :class:`Response` with ``usIn``/``usOut``/``usDiff``."""
        reply: Reply[Any] = await self._start(method, params, result_type, timeout, True)
        return Response.from_reply(reply)

    def invoke(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: type[T],
        timeout: float | None,
    ) -> Awaitable[T]:
        """The :class:`Caller` entry point the typed namespaces use."""
        return self._start(method, params, result_type, timeout, False)

    def _start(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: Any,
        timeout: float | None,
        meta: bool,
    ) -> Awaitable[Any]:
        """Route a call and return the awaitable that performs it.

        A plain function, so the typed wrappers reach the dispatcher without extra coroutine
        layers; misuse raises here, before anything is sent.
        """
        private = method.startswith("private/")
        auth = self.auth
        if private and auth is None:
            raise CredentialsRequired(
                f"{method} needs API credentials: pass client_id/client_secret or set "
                "DERIBIT_CLIENT_ID/DERIBIT_CLIENT_SECRET"
            )
        if method in _SESSION_STATE:
            return self._stateful(method, params, result_type, timeout, meta)
        return self._route(method, params, result_type, timeout, meta, private)

    def _route(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: Any,
        timeout: float | None,
        meta: bool,
        private: bool,
    ) -> Awaitable[Any]:
        """Pick the connection for a call: the WebSocket, HTTP, or HTTP while reconnecting."""
        auth = self.auth
        stream = self._stream
        # "ready" also keeps user calls off a connection still re-authenticating.
        if stream is not None and self.state == "ready" and not stream.closed:
            token = auth.access_token if private and self.send_access_token and auth else None
            return stream.call(method, params, result_type, timeout, token, meta)
        if self._http is not None:
            if method in WS_ONLY_METHODS:
                raise UnsupportedOperation(f"{method} is only available over WebSocket")
            return self._http.call(method, params, result_type, timeout, meta)
        if self.state == "reconnecting":
            if self.transport_mode == "auto" and is_read_only_public(method):
                return self._reconnect_http().call(method, params, result_type, timeout, meta)
            raise ConnectionLost(f"{method} not sent: the WebSocket is reconnecting")
        raise ClientError(
            f"client is not connected ({self.state}): use `async with DeribitClient(...)` "
            "or `await connect()`"
        )

    async def _stateful(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: Any,
        timeout: float | None,
        meta: bool,
    ) -> Any:
        """Calls that change connection state the client must know about."""
        if method == "private/logout":
            return await self._logout(params, timeout, meta)
        result = await self._route(method, params, result_type, timeout, meta, True)
        # Replayed after every reconnect (REFERENCE 3: re-enable connection-scoped COD).
        scope = (params or {}).get("scope") or "connection"
        if scope == "connection":
            self.cancel_on_disconnect = method == "private/enable_cancel_on_disconnect"
        return result

    async def _logout(
        self, params: Mapping[str, Any] | None, timeout: float | None, meta: bool
    ) -> Any:
        # The server closes the socket in answer (REFERENCE 2.3): that must not reconnect.
        stream = self._stream
        if stream is None or stream.closed:
            raise UnsupportedOperation("private/logout is only available over WebSocket")
        self.state = "closed"
        try:
            return await stream.call("private/logout", params, Any, timeout or 2.0, None, meta)
        except (ConnectionLost, RequestTimeout):
            # No reply is the documented outcome: the server just closes the socket.
            return None
        finally:
            if self.auth is not None:
                self.auth.forget()
            await self.close()

    async def _stream_call(self, method: str, params: dict[str, Any], result_type: Any) -> Any:
        stream = self._stream
        if stream is None or stream.closed:
            raise ConnectionLost(f"{method} not sent: no WebSocket connection")
        return await stream.call(method, params, result_type)

    async def _ready_stream_call(
        self, method: str, params: dict[str, Any], result_type: Any
    ) -> Any:
        # Subscriber-initiated calls wait for "ready": the establish sequence resubscribes
        # every registered channel itself, once, after authenticating.
        if self.state != "ready":
            raise ConnectionLost(f"{method} not sent: the client is {self.state}")
        return await self._stream_call(method, params, result_type)

    async def _http_call(self, method: str, params: dict[str, Any], result_type: Any) -> Any:
        assert self._http is not None
        return await self._http.call(method, params, result_type)

    async def _auth_call(self, method: str, params: dict[str, Any], result_type: Any) -> Any:
        if self._http is not None:
            return await self._http_call(method, params, result_type)
        return await self._stream_call(method, params, result_type)

    def _new_http(self) -> RequestDispatcher:
        assert self._session is not None
        transport = HttpTransport(self.endpoints.http_url, session=self._session)
        return RequestDispatcher(
            transport, default_timeout=self.timeout, headers=self._http_headers
        )

    def _reconnect_http(self) -> RequestDispatcher:
        # Public reads keep working over HTTP while the WebSocket reconnects ("auto" only).
        if self._detour is None:
            self._detour = self._new_http()
        return self._detour

    def _http_headers(self, method: str, body: bytes) -> Mapping[str, str] | None:
        if self.auth is None or not method.startswith("private/"):
            return None
        uri = f"{self._http_path}/{method}"
        return {"Authorization": self.auth.http_authorization(self.http_auth, uri, body)}

    @property
    def pending_count(self) -> int:
        """Requests sent and still waiting for their reply, over every connection."""
        return sum(
            d.protocol.pending_count
            for d in (self._stream, self._http, self._detour)
            if d is not None
        )

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(
        self,
        *channels: str,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
    ) -> Subscription:
        """Subscribe to channels (WebSocket only); enter the result to start.

        ::

            async with client.subscribe("book.BTC-PERPETUAL.100ms") as sub:
                async for message in sub:       # Notification or Gap
                    ...

        Args:
            channels: Deribit channel names.
            policy: ``"drop_oldest"`` (default for market data), ``"keep_latest"`` or
                ``"error"`` (default for ``user.*``).
            maxsize: queue bound (default: the client's ``subscriber_maxsize``).
            callback: instead of iterating, have each item passed to this function; a plain
                function runs inside the read loop (keep it quick), a coroutine function in
                its own task.

        Raises:
            UnsupportedOperation: the client uses HTTP.
            CredentialsRequired: private channels without credentials.
        """
        if self.transport_kind == "http" or self.transport_mode == "http":
            raise UnsupportedOperation(
                "subscriptions need a WebSocket connection; this client uses HTTP "
                f"({self.fallback_reason or 'transport=http'})"
            )
        return self._subs.new(channels, policy, maxsize, callback)

    @property
    def subscriptions(self) -> SubscriptionManager:
        """The subscription manager: live ``channels`` and counters (``malformed``, ...)."""
        return self._subs


_SESSION_STATE = frozenset(
    {
        "private/enable_cancel_on_disconnect",
        "private/disable_cancel_on_disconnect",
        "private/logout",
    }
)


def _credentials(client_id: str | None, client_secret: str | None) -> Credentials | None:
    if client_id is None and client_secret is None:
        return Credentials.from_env()
    if not client_id or not client_secret:
        raise ClientError("pass both client_id and client_secret (or neither)")
    return Credentials(client_id, client_secret)
