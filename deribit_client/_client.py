"""DeribitClient: the composition root that wires the engine to Deribit and exposes the API.

The engine (:mod:`._core`) owns connections, state and streams; this module supplies what is
Deribit's: the JSON-RPC protocol, the establish steps (auth -> heartbeat -> cancel-on-disconnect
-> resubscribe), the outcome-unknown rule for order mutations, call routing (WebSocket, HTTP,
HTTP detour for public reads while reconnecting) and argument checks made before any I/O.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from functools import partial
from types import TracebackType
from typing import Any, Literal, TypeVar, overload
from urllib.parse import urlsplit

import aiohttp

from ._api import PrivateAPI, PublicAPI
from ._auth import Authenticator, Credentials, Grant, HttpAuth
from ._config import MIN_HEARTBEAT_INTERVAL, Endpoints, Environment, endpoints_for
from ._core.connection import DEFAULT_TIMEOUT, Connection, RequestConnection, check_timeout
from ._core.credits import CreditPool, refund_credits, take_credits, try_take_credits
from ._core.errors import (
    ClientClosed,
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    DeribitError,
    RequestTimeout,
    TransportError,
    UnsupportedOperation,
)
from ._core.protocol import OutcomeRule
from ._core.streams import DEFAULT_MAXSIZE, ErrorCallback, Policy, check_maxsize
from ._core.supervisor import (
    ConnectionState,
    ReconnectPolicy,
    Supervisor,
    refuse_after_a_turn,
)
from ._core.tasks import finish_all, stop_tasks
from ._core.values import check_int
from ._credits import CreditLimiter
from ._errors import (
    AuthenticationError,
    OrderOutcomeUnknown,
    PermissionDeniedError,
    credentials_required,
)
from ._response import Response
from ._rpc.methods import (
    FOUND_WITH,
    FUNDS_MOVEMENTS,
    ORDER_MUTATIONS,
    SESSION_STATE,
    SUBSCRIPTION_METHODS,
    WS_ONLY_METHODS,
    is_read_only_public,
)
from ._rpc.protocol import Heartbeat, NotificationParams, Reply, RpcProtocol
from ._subscriptions import Callback, Subscription, SubscriptionManager
from .channels import Channel
from .models import AccountSummary
from .transports import HttpTransport, WebSocketConnector
from .transports.base import Connector
from .transports.http import MAX_CONNECTIONS, capped_session

__all__ = ["ConnectionState", "DeribitClient", "TransportMode"]

log = logging.getLogger("deribit_client")

_TOKEN_REFUSED = frozenset({10000, 13009})
"""Error codes of a private call refused for the token (``authorization_required``,
``unauthorized``), not for its scope (``13021 forbidden``)."""
_EARLY_LOGIN_SPACING = 10.0
"""Seconds between two logins started because the token was refused."""

T = TypeVar("T")
TransportMode = Literal["auto", "websocket", "http"]
AnyConnection = Connection[RpcProtocol[Any]] | RequestConnection[RpcProtocol[None]]


_RECONCILE = "reconcile with client.private.reconcile(error) before retrying"


def lost_order_error(
    method: str, params: dict[str, Any], request_id: int, error: DeribitError
) -> OrderOutcomeUnknown:
    """Deribit's error for an order mutation, a funds movement or a creation whose reply is
    lost: its outcome is unknown (it may have happened), with ``error`` as the cause."""
    found_with = FOUND_WITH.get(method)
    advice = _RECONCILE if found_with is None else _lookup_advice(method, found_with)
    unknown = OrderOutcomeUnknown(method, params, request_id, str(error), advice=advice)
    unknown.__cause__ = error
    return unknown


ORDER_OUTCOMES = OutcomeRule(ORDER_MUTATIONS | frozenset(FOUND_WITH), lost_order_error)
"""Deribit's requests whose lost reply leaves an outcome unknown (the catalogue's
``order_mutation`` and ``found_with`` facts), and their error."""


def _lookup_advice(method: str, found_with: str) -> str:
    """How to find out what a funds movement or a creation whose reply was lost did: none
    carries an id of the caller's, so only the account's lists can tell."""
    if "cancel" in method:
        return f"look its state up with {found_with} before cancelling again"
    if method in FUNDS_MOVEMENTS:
        return (
            f"look for it with {found_with} (same currency, amount and destination) before "
            "re-sending: a re-send would move the funds a second time"
        )
    return f"look for it with {found_with} before re-sending: a re-send would create a second"


def is_fatal(error: BaseException) -> bool:
    """Errors no reconnect attempt can fix: bad credentials, missing permission, misuse."""
    return isinstance(error, AuthenticationError | PermissionDeniedError | ClientError)


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
        connector: opens the stream for each (re)connection instead of a WebSocket to
            ``url``, e.g. a :class:`~deribit_client.transports.MockConnector`; implies
            ``transport="websocket"``.
        timeout: default seconds a call waits for its reply (sending included).
        connect_timeout: seconds allowed to open the WebSocket.
        session: an aiohttp session to use; by default the client owns one.
        max_connections: connections the client's own session holds at once, its WebSocket
            included (default 8; Deribit refuses a 33rd from one IP with HTTP 429): HTTP
            calls beyond them wait for a free one. A ``session`` you pass keeps its
            connector's own limit.
        client_id: API key id; defaults to ``$DERIBIT_CLIENT_ID``.
        client_secret: API key secret; defaults to ``$DERIBIT_CLIENT_SECRET``.
        credentials: a :class:`Credentials` instead of ``client_id``/``client_secret``.
        grant: ``"client_signature"`` (default: HMAC, the secret never leaves the process)
            or ``"client_credentials"``.
        scope: scope to request, e.g. ``"session:bot trade:read_write"``.
        subaccount_id: act for this subaccount of the key's account (its user id, as
            ``get_subaccounts`` lists it): each login exchanges the token for the
            subaccount's (``public/exchange_token``), so orders, positions, subscriptions
            and request credits are the subaccount's, across reconnects too.
        http_auth: how private HTTP calls authenticate: ``"bearer"`` (token from
            ``public/auth``), ``"basic"`` or ``"signature"`` (``deri-hmac-sha256``).
        send_access_token: also put ``access_token`` into every private WebSocket request.
        heartbeat_interval: seconds for ``public/set_heartbeat`` (minimum 10); ``None``
            disables heartbeats and dead-link detection.
        cancel_on_disconnect: enable connection-scoped cancel-on-disconnect after every
            (re)connect (WebSocket only).
        reconnect: a :class:`ReconnectPolicy`, or ``True``/``False``.
        subscriber_maxsize: default queue bound of each subscriber.
        rate_limit: ``True`` (default) keeps calls under Deribit's request-credit limits by
            delaying them (calibrated from the account's ``limits`` after authenticating);
            a :class:`CreditLimiter` to share one between clients of one sub-account;
            ``False`` sends every call at once.

    Attributes:
        public: typed ``public/*`` methods.
        private: typed ``private/*`` methods.
        endpoints: the resolved WebSocket and HTTP URLs.
        transport_kind: ``"websocket"`` or ``"http"`` once connected.
        fallback_reason: why ``"auto"`` fell back to HTTP, else ``None``.
        rate_limiter: the :class:`CreditLimiter` in use (its pools count delays and
            refusals), or ``None`` with ``rate_limit=False``.
    """

    min_heartbeat_interval: float = MIN_HEARTBEAT_INTERVAL
    """Smallest ``heartbeat_interval`` accepted (Deribit's minimum). A subclass may lower it
    to test against a simulator configured the same way."""

    def __init__(
        self,
        *,
        env: Environment = "prod",
        url: str | None = None,
        transport: TransportMode = "auto",
        connector: Connector | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = MAX_CONNECTIONS,
        client_id: str | None = None,
        client_secret: str | None = None,
        credentials: Credentials | None = None,
        grant: Grant = "client_signature",
        scope: str | None = None,
        subaccount_id: int | None = None,
        http_auth: HttpAuth = "bearer",
        send_access_token: bool = False,
        heartbeat_interval: float | None = 30.0,
        cancel_on_disconnect: bool = False,
        reconnect: ReconnectPolicy | bool = True,
        subscriber_maxsize: int = DEFAULT_MAXSIZE,
        rate_limit: CreditLimiter | bool = True,
    ) -> None:
        if transport not in ("auto", "websocket", "http"):
            raise ClientError(f"transport must be 'auto', 'websocket' or 'http', not {transport!r}")
        if connector is not None:
            if not isinstance(connector, Connector):
                raise ClientError(f"connector must have an async connect(), not {connector!r}")
            if transport == "http":
                raise ClientError(
                    "a connector opens streams: it cannot be used with transport='http'"
                )
            transport = "websocket"
        self.timeout = check_timeout(timeout)
        self.connect_timeout = check_timeout(connect_timeout, "connect_timeout")
        if heartbeat_interval is not None:
            heartbeat_interval = check_timeout(heartbeat_interval, "heartbeat_interval")
            if heartbeat_interval < self.min_heartbeat_interval:
                raise ClientError(
                    f"heartbeat_interval must be at least {self.min_heartbeat_interval:g} s "
                    "(Deribit's minimum), or None"
                )
        if http_auth not in ("bearer", "basic", "signature"):
            raise ClientError(f"http_auth must be bearer, basic or signature, not {http_auth!r}")
        if subaccount_id is not None and http_auth != "bearer":
            raise ClientError(
                f"subaccount_id needs http_auth='bearer': a {http_auth} header authenticates "
                "the key's own account, not the subaccount"
            )
        if cancel_on_disconnect and transport == "http":
            raise UnsupportedOperation("cancel_on_disconnect needs a WebSocket connection")
        if type(reconnect) is bool:
            reconnect = ReconnectPolicy(enabled=reconnect)
        elif not isinstance(reconnect, ReconnectPolicy):
            raise ClientError(
                f"reconnect must be True, False or a ReconnectPolicy, not {reconnect!r}"
            )
        if type(rate_limit) is bool:
            self.rate_limiter = CreditLimiter() if rate_limit else None
        elif isinstance(rate_limit, CreditLimiter):
            self.rate_limiter = rate_limit
        else:
            raise ClientError(
                f"rate_limit must be True, False or a CreditLimiter, not {rate_limit!r}"
            )
        self.endpoints: Endpoints = endpoints_for(env, url)
        self.transport_mode: TransportMode = transport
        self.heartbeat_interval = heartbeat_interval
        self.cancel_on_disconnect = cancel_on_disconnect
        self.reconnect_policy = reconnect
        self.http_auth: HttpAuth = http_auth
        self.send_access_token = send_access_token
        if credentials is None:
            credentials = _credentials(client_id, client_secret)
        elif client_id is not None or client_secret is not None:
            raise ClientError("pass credentials or client_id/client_secret, not both")
        if subaccount_id is not None and credentials is None:
            raise credentials_required("subaccount_id")
        self._auth: Authenticator | None = (
            Authenticator(credentials, grant=grant, scope=scope, subject_id=subaccount_id)
            if credentials
            else None
        )
        self._connector = connector
        self._http_path = urlsplit(self.endpoints.http_url).path.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self.max_connections = check_int("max_connections", max_connections, 1)
        if session is not None and max_connections != MAX_CONNECTIONS:
            raise ClientError(
                "max_connections sizes the client's own session; set the limit on the "
                "connector of the session you pass instead"
            )
        self._detour: RequestConnection[RpcProtocol[None]] | None = None
        self._subs = SubscriptionManager(
            self._subscription_call,
            lambda: self._auth is not None,
            self._reconnect_wait,
            self.reconnect_policy,
            default_maxsize=check_maxsize(subscriber_maxsize),
        )
        self._supervisor = self._new_supervisor()
        self._refresher: asyncio.Task[None] | None = None
        # Set when Deribit refused the client's token on a private call: the refresher then
        # logs in again at once instead of at the token's refresh time.
        self._token_refused = asyncio.Event()
        self._early_login_at = -_EARLY_LOGIN_SPACING
        self.transport_kind: Literal["websocket", "http"] | None = None
        self.fallback_reason: str | None = None
        self.public = PublicAPI(self)
        self.private = PrivateAPI(self)

    def __repr__(self) -> str:
        auth = self._auth
        key = f", client_id={auth.credentials.client_id!r}" if auth else ""
        if auth is not None and auth.subject_id is not None:
            key += f", subaccount_id={auth.subject_id}"
        return (
            f"DeribitClient(ws={self.endpoints.ws_url!r}, transport={self.transport_mode!r}, "
            f"state={self.state.value!r}{key})"
        )

    # -- state ----------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection state (a :class:`ConnectionState`, equal to its lowercase name)."""
        return self._supervisor.state

    @property
    def auth(self) -> Authenticator:
        """The token state (login counts, granted scope).

        Raises:
            CredentialsRequired: the client has no credentials.
        """
        if self._auth is None:
            raise CredentialsRequired("this client has no credentials")
        return self._auth

    @property
    def has_credentials(self) -> bool:
        """True when the client was given an API key."""
        return self._auth is not None

    @property
    def reconnect_count(self) -> int:
        """Successful reconnects so far."""
        return self._supervisor.reconnect_count

    @property
    def last_error(self) -> BaseException | None:
        """The last connection-level error, if any."""
        return self._supervisor.last_error

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the client is ``ready`` (e.g. after a reconnect), instead of polling.

        Args:
            timeout: seconds to wait (default: the client's ``timeout``).

        Raises:
            NotReadyError: not ready in time.
            ClientClosed: the client was closed.
            ConnectionLost: the connection is lost for good (reconnect off or given up).
        """
        limit = self.timeout if timeout is None else check_timeout(timeout)
        await self._supervisor.wait_ready(limit)

    # -- lifecycle ------------------------------------------------------------------------

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
            ClientError: the client was already connected or closed.
        """
        if self.state is not ConnectionState.DISCONNECTED:
            if self.state is ConnectionState.CLOSED:
                raise ClientClosed("this client is closed; create a new one")
            raise ClientError(f"connect() needs a fresh client; this one is {self.state.value}")
        if self._session is None:
            self._session = capped_session(self.max_connections)
        try:
            if self.transport_mode != "http":
                try:
                    await self._supervisor.connect()
                    return
                except TransportError as exc:
                    if self.transport_mode == "websocket" or isinstance(exc, ConnectionLost):
                        # ConnectionLost: the WebSocket opened and then dropped while
                        # establishing. A network failure, not a venue refusing WebSocket:
                        # no fallback that would end subscriptions for the client's life.
                        raise
                    if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
                        # The host itself cannot be reached (refused, no route, no DNS):
                        # HTTP goes to the same host, so falling back would only fail later.
                        host = urlsplit(self.endpoints.ws_url).netloc
                        raise TransportError(
                            f"cannot reach {host} ({exc.__cause__}); no HTTP fallback: it "
                            "uses the same host"
                        ) from exc
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
                    self.transport_mode = "http"
                    self._supervisor = self._new_supervisor()
            await self._supervisor.connect()
        except BaseException:
            await finish_all(self._release_session)
            raise

    async def close(self) -> None:
        """Close everything: calls still waiting fail with ConnectionLost, subscribers end,
        background tasks are cancelled and awaited, sockets are closed. Idempotent, and it
        completes even when called inside an expired ``asyncio.timeout`` or cancelled.

        Raises:
            ClientError: called from another event loop than the one the client connected
                on while that one is still open (if it is closed, the client is dropped).
        """
        if self._supervisor.left_behind():
            return
        self._supervisor.begin_close()
        refresher, self._refresher = self._refresher, None

        async def close_detour() -> None:
            detour, self._detour = self._detour, None
            if detour is not None:
                await detour.close()

        await finish_all(
            lambda: stop_tasks(refresher),
            self._subs.close,
            self._supervisor.close,
            close_detour,
            self._release_session,
        )

    async def _release_session(self) -> None:
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # -- connection establishment ---------------------------------------------------------

    def _new_supervisor(self) -> Supervisor[AnyConnection]:
        steps: list[tuple[str, Any]] = [
            ("authenticate", self._step_auth),
            ("calibrate-credits", self._step_calibrate),
        ]
        if self.transport_mode == "http":
            opener: Any = self._open_http
        else:
            opener = self._open_stream
            steps += [
                ("heartbeat", self._step_heartbeat),
                ("cancel-on-disconnect", self._step_cod),
                ("resubscribe", self._step_resubscribe),
            ]
        return Supervisor(
            opener,
            steps,
            self.reconnect_policy,
            is_fatal=is_fatal,
            on_give_up=self._subs.fail_all,
            on_ready=self._on_ready,
        )

    async def _open_stream(self) -> Connection[RpcProtocol[Any]]:
        assert self._session is not None
        connector = self._connector or WebSocketConnector(
            self.endpoints.ws_url, session=self._session, timeout=self.connect_timeout
        )
        transport = await connector.connect()
        conn: Connection[RpcProtocol[Any]] = Connection(
            transport,
            RpcProtocol(routes=self._subs.routes, outcome=ORDER_OUTCOMES),
            on_event=self._on_event,
            on_closed=self._supervisor_closed,
            on_error=self._on_error_reply,
            default_timeout=self.timeout,
        )
        conn.start()
        self.transport_kind = "websocket"
        return conn

    async def _open_http(self) -> RequestConnection[RpcProtocol[None]]:
        self.transport_kind = "http"
        return self._new_http()

    def _supervisor_closed(self, conn: Connection[RpcProtocol[Any]], reason: str) -> None:
        self._supervisor.connection_closed(conn, reason)

    def _on_event(self, event: object) -> None:
        if type(event) is NotificationParams:
            self._subs.on_notification(event)
        # Heartbeat: the protocol queued its answer, which the connection sends now.
        # UnmatchedReply (late or unknown id): the protocol counted it.
        elif type(event) is not Heartbeat:
            log.debug("ignored %r", event)

    def _on_error_reply(self, error: DeribitError) -> None:
        if self.rate_limiter is not None:
            self.rate_limiter.refused(error)
        if (
            isinstance(error, AuthenticationError)
            and error.code in _TOKEN_REFUSED
            and (error.method or "").startswith("private/")
            and self._auth is not None
            and self._auth.authenticated
        ):
            # The token the client holds no longer works: its session was dropped (a 17th
            # named session on the key) or revoked. Every private call, cancels included,
            # would be refused until the next scheduled refresh.
            self._token_refused.set()

    def _on_ready(self, conn: AnyConnection) -> None:
        if self._auth is not None and (self._refresher is None or self._refresher.done()):
            self._refresher = asyncio.get_running_loop().create_task(
                self._refresh_tokens(), name="deribit-token-refresh"
            )

    async def _step_auth(self, conn: AnyConnection) -> None:
        auth = self._auth
        if auth is None:
            return
        call = partial(self._call_on, conn)
        if type(conn) is RequestConnection:
            if self.http_auth == "bearer":
                await auth.login(call)
        elif auth.session_scoped:
            # A session-scoped token survives reconnects: refreshing keeps the session.
            await auth.refresh(call)
        else:
            await auth.login(call)

    async def _step_calibrate(self, conn: AnyConnection) -> None:
        # Size the credit pools from the account's own limits (its matching-engine tier),
        # once and then when Deribit may have recalculated them (hourly) or after a refusal.
        limiter = self.rate_limiter
        if limiter is None or self._auth is None or not limiter.needs_calibration():
            return
        try:
            summary = await self._call_on(
                conn, "private/get_account_summary", {"currency": "BTC"}, AccountSummary
            )
        except (ConnectionLost, RequestTimeout):
            raise  # the link failed: the supervisor reconnects
        except DeribitError as exc:  # e.g. no account:read scope, a gateway refusal
            log.info("credit limits not read (%s); keeping Deribit's defaults", exc)
            limiter.calibrate(None)
        else:
            limiter.calibrate(summary.limits)

    async def _step_heartbeat(self, conn: AnyConnection) -> None:
        if self.heartbeat_interval is not None and type(conn) is Connection:
            await self._call_on(
                conn, "public/set_heartbeat", {"interval": self.heartbeat_interval}, str
            )
            conn.watch(2 * self.heartbeat_interval)

    async def _step_cod(self, conn: AnyConnection) -> None:
        if self.cancel_on_disconnect:
            # Connection-scoped cancel-on-disconnect dies with the socket: replay it.
            await self._call_on(
                conn, "private/enable_cancel_on_disconnect", {"scope": "connection"}, str
            )

    async def _step_resubscribe(self, conn: AnyConnection) -> None:
        await self._subs.resubscribe_all(partial(self._call_on, conn))

    async def _call_on(
        self, conn: AnyConnection, method: str, params: dict[str, Any] | None, result_type: Any
    ) -> Any:
        """A call on a given connection, ready or not (establish steps, auth)."""
        timeout = None  # the connection's default
        limiter = self.rate_limiter
        websocket = type(conn) is Connection
        pools = limiter.pools_for(method, params, websocket) if limiter is not None else ()
        if not try_take_credits(pools):
            timeout = await take_credits(pools, self.timeout, method)
        call: Awaitable[Any]
        try:
            if type(conn) is Connection:
                prepare = conn.protocol.prepare_request
                call = conn.call(timeout, False, pools, prepare, method, params, result_type, None)
            else:
                assert isinstance(conn, RequestConnection)
                call = _over_http(conn, method, params, result_type, timeout, False, pools)
        except BaseException:
            refund_credits(pools)
            raise
        return await call

    async def _refresh_tokens(self) -> None:
        auth = self._auth
        assert auth is not None
        failures = 0
        loop = asyncio.get_running_loop()
        while True:
            delay = auth.seconds_until_refresh()
            if delay is None:
                return
            try:
                async with asyncio.timeout(delay):
                    await self._token_refused.wait()
            except TimeoutError:
                if auth.seconds_until_refresh():
                    continue  # a reconnect logged in again meanwhile
            else:
                # At most one early login per spacing: a server refusing every token would
                # otherwise get a login per refused call.
                wait = self._early_login_at + _EARLY_LOGIN_SPACING - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._token_refused.clear()  # refusals until now are answered by this login
                self._early_login_at = loop.time()
                log.warning("Deribit refused the access token; logging in again")
            try:
                conn = self._supervisor.ready_connection
                if conn is None:
                    raise ConnectionLost("token refresh waits for a ready connection")
                await auth.refresh(partial(self._call_on, conn))
                failures = 0
            except DeribitError as exc:
                # Disconnected or rejected: the reconnect path logs in again; retry, backing
                # off so a persistent failure does not hammer the server.
                failures += 1
                log.warning("token refresh failed (%d in a row): %s", failures, exc)
                self._supervisor.last_error = exc
                await asyncio.sleep(min(60.0, 2.0**failures))

    # -- calls ----------------------------------------------------------------------------

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
            timeout: seconds to wait for the reply, sending included (default: the
                client's ``timeout``).

        Raises:
            RpcError: the server answered with an error; the subclass matches its code.
            RequestTimeout, ConnectionLost, OrderOutcomeUnknown: see the README.
            ClientError: refused before any I/O (bad arguments, closed client, ...).
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
        reply: Reply[Any] = await self.invoke(method, params, result_type, timeout, True)
        return Response.from_reply(reply)

    def invoke(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: type[T],
        timeout: float | None,
        meta: bool = False,
    ) -> Awaitable[T]:
        """The :class:`Caller` entry point the typed namespaces use: check a call and return
        the awaitable that performs it (with ``meta``, one that returns the whole reply).

        A plain function, so the typed wrappers reach the connection without extra
        coroutine layers; misuse raises here, before anything is sent. A call refused
        because no connection is ready raises when awaited, after one turn of the event
        loop (see ``refuse_after_a_turn``). The request (its credits, its id) is prepared
        by this call: await the result at once.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        if type(method) is not str:
            if not isinstance(method, str):
                raise ClientError(f"method must be a str such as 'public/get_time', not {method!r}")
            method = str.__str__(method)  # a StrEnum member's text, for lookups and messages
        if method in SUBSCRIPTION_METHODS:
            raise UnsupportedOperation(
                f"{method} through call() would leave its notifications undelivered: use "
                f"client.subscribe(...) or client.{method.replace('/', '.')}(...) instead"
            )
        private = method.startswith("private/")
        if private and self._auth is None:
            raise credentials_required(method)
        if method in SESSION_STATE:
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
        taken: tuple[CreditPool, ...] | None = None,
    ) -> Awaitable[Any]:
        """Take the call's credits (the usual case: they are there; else wait for them in
        :meth:`_route_later`) and send it on the WebSocket, over HTTP, or over HTTP while
        reconnecting. One function for both steps: it runs once per call.

        ``taken``: the credits :meth:`_route_later` waited for. A call refused before it is
        sent (bad arguments, no connection: raised here, where the request is prepared)
        gives its credits back.
        """
        conn = self._supervisor.ready_connection
        pools = taken
        if pools is None:
            limiter = self.rate_limiter
            if limiter is None:
                pools = ()
            else:
                pools = limiter.pools_for(method, params, type(conn) is Connection)
                if not try_take_credits(pools):
                    return self._route_later(
                        pools, method, params, result_type, timeout, meta, private
                    )
        try:
            if type(conn) is Connection:
                auth = self._auth
                token = auth.access_token if private and self.send_access_token and auth else None
                return conn.call(
                    timeout, meta, pools, conn.protocol.prepare_request, method, params,
                    result_type, token,
                )  # fmt: skip
            if conn is not None:
                if method in WS_ONLY_METHODS:
                    raise UnsupportedOperation(f"{method} is only available over WebSocket")
                assert isinstance(conn, RequestConnection)
                return _over_http(conn, method, params, result_type, timeout, meta, pools)
            meanwhile = self._http_meanwhile(method, params, result_type, timeout, meta, pools)
            if meanwhile is not None:
                return meanwhile
        except BaseException:
            refund_credits(pools)
            raise
        refund_credits(pools)
        return refuse_after_a_turn(self._supervisor.refusal(method))

    async def _route_later(
        self,
        pools: tuple[CreditPool, ...],
        method: str,
        params: Mapping[str, Any] | None,
        result_type: Any,
        timeout: float | None,
        meta: bool,
        private: bool,
    ) -> Any:
        left = await take_credits(pools, self.timeout if timeout is None else timeout, method)
        return await self._route(method, params, result_type, left, meta, private, pools)

    def _http_meanwhile(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: Any,
        timeout: float | None,
        meta: bool,
        pools: tuple[CreditPool, ...],
    ) -> Awaitable[Any] | None:
        """With ``transport="auto"``, a read-only public call made while the WebSocket
        reconnects goes over HTTP; ``None`` for every other call (refused)."""
        if (
            self.state is ConnectionState.RECONNECTING
            and self.transport_mode == "auto"
            and is_read_only_public(method)
            and self._supervisor.foreign_loop() is None  # the HTTP session is that loop's
        ):
            http = self._reconnect_http()
            return _over_http(http, method, params, result_type, timeout, meta, pools)
        return None

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
        scope = (params or {}).get("scope") or "connection"
        if scope == "connection" and self.transport_kind == "http":
            raise UnsupportedOperation(
                f"{method} with connection scope needs a WebSocket connection; "
                "over HTTP use scope='account'"
            )
        result = await self._route(method, params, result_type, timeout, meta, True)
        # Replayed after every reconnect (REFERENCE 3: re-enable connection-scoped COD).
        if scope == "connection":
            self.cancel_on_disconnect = method == "private/enable_cancel_on_disconnect"
        return result

    async def _logout(
        self, params: Mapping[str, Any] | None, timeout: float | None, meta: bool
    ) -> Any:
        # The server closes the socket in answer (REFERENCE 2.3): that must not reconnect.
        conn = self._supervisor.ready_connection
        if type(conn) is not Connection:
            raise UnsupportedOperation("private/logout is only available over WebSocket")
        self._supervisor.begin_close()
        try:
            return await conn.call(
                timeout or 2.0,
                meta,
                (),
                conn.protocol.prepare_request,
                "private/logout",
                params,
                Any,
                None,
            )
        except (ConnectionLost, RequestTimeout):
            # No reply is the documented outcome: the server just closes the socket.
            return None
        finally:
            if self._auth is not None:
                self._auth.forget()
            await self.close()

    def _reconnect_wait(self) -> float | None:
        # A subscribe cut off by a lost connection waits up to the call timeout for the
        # reconnect's resubscribe; none when the client is not reconnecting.
        return self.timeout if self.state is ConnectionState.RECONNECTING else None

    async def _subscription_call(
        self, method: str, params: dict[str, Any], result_type: Any
    ) -> Any:
        # Subscriber-initiated calls need a ready connection: the establish sequence
        # resubscribes every registered channel itself, once, after authenticating.
        conn = self._supervisor.ready_connection
        if type(conn) is not Connection:
            if conn is not None:
                raise UnsupportedOperation(f"{method} needs a WebSocket; this client uses HTTP")
            await refuse_after_a_turn(self._supervisor.refusal(method))
        return await self._call_on(conn, method, params, result_type)

    def _new_http(self) -> RequestConnection[RpcProtocol[None]]:
        assert self._session is not None
        transport = HttpTransport(self.endpoints.http_url, session=self._session)
        return RequestConnection(
            transport,
            RpcProtocol(outcome=ORDER_OUTCOMES),
            default_timeout=self.timeout,
            headers=self._http_headers,
            on_error=self._on_error_reply,
        )

    def _reconnect_http(self) -> RequestConnection[RpcProtocol[None]]:
        # Public reads keep working over HTTP while the WebSocket reconnects ("auto" only).
        if self._detour is None:
            self._detour = self._new_http()
        return self._detour

    def _http_headers(self, method: str, body: bytes) -> Mapping[str, str] | None:
        if self._auth is None or not method.startswith("private/"):
            return None
        uri = f"{self._http_path}/{method}"
        return {"Authorization": self._auth.http_authorization(self.http_auth, uri, body)}

    @property
    def pending_count(self) -> int:
        """Requests sent and still waiting for their reply, over every connection."""
        return sum(
            conn.protocol.pending_count
            for conn in (self._supervisor.connection, self._detour)
            if conn is not None
        )

    # -- subscriptions --------------------------------------------------------------------

    @overload
    def subscribe(
        self,
        *channels: Channel[T],
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        label: str | None = None,
    ) -> Subscription[T]: ...

    @overload
    def subscribe(
        self,
        *channels: str,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        label: str | None = None,
    ) -> Subscription[Any]: ...

    def subscribe(
        self,
        *channels: str,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        label: str | None = None,
    ) -> Subscription[Any]:
        """Subscribe to channels (WebSocket only); enter the result to start.

        ::

            async with client.subscribe("book.BTC-PERPETUAL.100ms") as sub:
                async for message in sub:       # Notification or Gap
                    ...

        Args:
            channels: Deribit channel names; built with :mod:`deribit_client.channels`
                (``channels.ticker("BTC-PERPETUAL", "100ms")``), the subscription's
                ``data`` is typed.
            policy: ``"drop_oldest"`` (default for market data), ``"keep_latest"`` or
                ``"error"`` (default for ``user.*``).
            maxsize: queue bound, markers included (default: the client's
                ``subscriber_maxsize``).
            callback: instead of iterating, have each item passed to this function; a plain
                function runs inside the read loop (keep it quick), a coroutine function in
                a task the subscription owns.
            on_error: called with the exception that ends the subscription
                (``SubscriptionRejected`` after a reconnect, ``ConnectionLost`` when the
                client gives up, ``SubscriberOverflow``); the way callback subscribers learn
                of failures.
            label: up to 16 characters Deribit adds to each notification of the private
                channels (``Notification.label``); a live channel keeps its first label.

        Raises:
            UnsupportedOperation: the client uses HTTP.
            CredentialsRequired: private channels without credentials.
            ClientError: bad arguments, or the client is closed.
        """
        if self.transport_kind == "http" or self.transport_mode == "http":
            raise UnsupportedOperation(
                "subscriptions need a WebSocket connection; this client uses HTTP "
                f"({self.fallback_reason or 'transport=http'})"
            )
        if self.state is ConnectionState.CLOSED:
            raise ClientClosed("cannot subscribe: the client is closed; create a new one")
        return self._subs.new(channels, policy, maxsize, callback, on_error, label)

    @property
    def subscriptions(self) -> SubscriptionManager:
        """The subscription manager: live ``channels`` and counters (``malformed``, ...)."""
        return self._subs


def _over_http(
    conn: RequestConnection[RpcProtocol[None]],
    method: str,
    params: Mapping[str, Any] | None,
    result_type: Any,
    timeout: float | None,
    meta: bool,
    pools: tuple[CreditPool, ...],
) -> Awaitable[Any]:
    """A call over an HTTP connection (the method also names the URL path; no token in
    params: HTTP authorizes by header)."""
    prepare = conn.protocol.prepare_request
    return conn.call(timeout, meta, pools, method, prepare, method, params, result_type, None)


def _credentials(client_id: str | None, client_secret: str | None) -> Credentials | None:
    if client_id is None and client_secret is None:
        return Credentials.from_env()
    if not client_id or not client_secret:
        raise ClientError("pass both client_id and client_secret (or neither)")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise ClientError("client_id and client_secret must be str")
    return Credentials(client_id, client_secret)
