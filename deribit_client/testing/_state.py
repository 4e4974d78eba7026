"""The simulator's world as method handlers see it: market, accounts, connections, calls.

Layering of ``deribit_client.testing`` (no cycles): ``_json`` (JSON's value types),
``_logs`` (bounded inspection logs), ``_outbox`` (each connection's writes) and ``_faults``
(queued errors and delays), shared with the Exberry simulator; ``_windows`` (aggregated
intervals), ``_session``, ``_market``, ``_accounts`` hold state; this module gathers it for
the handlers; ``_public``, ``_private`` (auth and token scopes), ``_api_keys``,
``_streams``, ``_orders`` (which publishes through ``_streams``, books trades through
``_accounting``, tells accounts through ``_notices`` and delivers through
``_settlement``, which tells them the same way), ``_history``,
``_statistics``, ``_block_trades``, ``_combos``, ``_block_rfq`` (which trades through
``_block_trades``) and ``_wallet`` (which read accounts through ``_orders``) are handlers;
``_shaped`` answers the rest and checks declared parameters for all; ``_server`` is the one
module that wires handlers to a :class:`SimState` and serves them.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from ._accounts import Account, Trading
from ._credits import Credits, RateLimits
from ._json import JSON_NAMES, is_json
from ._market import Market, currency_of
from ._serve import spawn
from ._session import REQUIRED, Session, SimError, invalid_param, json_encode
from ._windows import DEFAULT_PERIODS

__all__ = ["Call", "Handler", "SimState", "account_of"]


class SimState:
    """Everything a simulated Deribit knows, shared by every method handler.

    Args:
        seed: seeds every random choice (market data, shuffled replies).
        clock: seconds since the epoch (inject for deterministic timestamps).
    """

    def __init__(self, *, seed: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.market = Market(random.Random(seed), clock)
        self.methods: dict[str, Handler] = {}
        self.sessions: set[Session] = set()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        """Every request received, as ``(method, params)``, in arrival order (before delays)."""
        self.subscriptions: list[tuple[int, str, list[str]]] = []
        """Every subscribe request served: ``(connection id, method, accepted channels)``."""
        self.reject_channels: set[str] = set()
        """Channels the simulator leaves out of subscribe replies (Deribit does it silently)."""
        self.aggregation_periods: dict[str, float] = dict(DEFAULT_PERIODS)
        """Channel interval -> seconds one window of it gathers before its merged message
        goes out (``{"100ms": 0.1, "agg2": 2.0}``; see :mod:`._windows`). An interval
        left out sends every event at once, as ``raw`` does."""
        self.min_heartbeat_interval = 10.0
        """Smallest ``public/set_heartbeat`` interval accepted (Deribit: 10 s)."""
        self.heartbeat_failures = 0
        """Connections closed because a ``test_request`` went unanswered."""
        self.test_requests_sent = 0
        self.locked_indices: set[str] = set()
        """Indices whose trading is locked (``public/status``)."""
        self.announcements: list[dict[str, Any]] = []
        """Announcements published, oldest first."""
        self.stream_memory: dict[str, Any] = {}
        """What streams last published where the next message depends on it (quotes)."""
        self.trading = Trading(self.now_ms)
        """API keys, tokens and accounts."""
        self.credits = Credits(RateLimits(), clock)
        """Request credits per sub-account (per IP without authentication); configure
        through :attr:`rate_limits`."""
        self.cod_cancellations = 0
        """Orders cancelled by cancel-on-disconnect."""
        self.authorize: Callable[[Call], Any] | None = None
        """Authenticates private calls, raising SimError (set by the auth handlers)."""
        self.on_disconnect: list[Callable[[Session], None]] = []
        """Called when a WebSocket connection ends (cancel-on-disconnect lives here)."""
        self.on_market_move: list[Callable[[Sequence[str]], Awaitable[None]]] = []
        """Awaited, in order, with the names of the instruments whose markets moved
        together (one for a trade or book change, every instrument on an index for an
        index move) once they are published: trigger orders watch their reference prices
        here, and liquidation runs after every trigger of the move has fired."""

        self._tasks: set[asyncio.Future[Any]] = set()

    async def publish(self, channel: str, data: Any) -> int:
        """Send a ``subscription`` notification to every connection subscribed to
        ``channel``; returns how many received it."""
        targets = [s for s in self.sessions if channel in s.channels and not s.silent]
        aggregated = self.aggregation_period(channel) is not None
        shared = None  # encoded once for every connection that did not label the channel
        for session in targets:
            if aggregated or channel in session.labels:
                session.notify(channel, data)
                continue
            if shared is None:
                shared = json_encode(session.notification(channel, data))
            session.write(shared)
        return len(targets)

    def aggregation_period(self, channel: str) -> float | None:
        """Seconds one window of ``channel`` gathers (``ticker.X.100ms``: 0.1), None when
        its events go out at once."""
        return self.aggregation_periods.get(channel.rpartition(".")[2])

    @property
    def rate_limits(self) -> RateLimits:
        """Deribit's credit system as simulated: ``sim.rate_limits.enabled = False`` serves
        everything, ``matching_engine_tier`` picks the trading tier, pools are editable."""
        return self.credits.limits

    @rate_limits.setter
    def rate_limits(self, limits: RateLimits) -> None:
        self.credits.limits = limits

    def charge_credits(self, call: Call) -> None:
        """Take ``call``'s credits from its sub-account (or IP) pool; on ``10028`` the
        connection closes after the reply, as on Deribit (not on ``13903``)."""
        session = call.session
        token = call.token if call.token is not None else session.auth
        subject = token.client_id if token is not None else f"ip:{session.request.remote}"
        params = call.params
        instrument = self._instrument_of(params, token.client_id if token else None)
        spot = instrument is not None and instrument["kind"] == "spot"
        if instrument is not None:
            currency: str | None = currency_of(instrument)
        else:
            named = params.get("currency")
            named = named[0] if isinstance(named, list) and len(named) == 1 else named
            currency = named if isinstance(named, str) and named.lower() != "any" else None
        try:
            self.credits.charge(
                subject,
                call.method,
                params,
                spot,
                currency.lower() if currency else None,
                websocket=session.is_websocket,
            )
        except SimError as exc:
            call.close_after = exc.code == 10028  # 13903 (too many quotes) leaves it open
            raise

    def _instrument_of(
        self, params: dict[str, Any], client_id: str | None
    ) -> dict[str, Any] | None:
        """The instrument a request concerns, for its credit pool: named, the instrument
        of the caller's open order it names, or its first leg's (block trades, quotes)."""
        name = params.get("instrument_name")
        order_id = params.get("order_id")
        if not isinstance(name, str) and isinstance(order_id, str) and client_id is not None:
            account = self.trading.accounts.get(client_id)
            order = account.orders.get(order_id) if account is not None else None
            name = order["instrument_name"] if order is not None else None
        for key in ("trades", "quotes", "legs"):
            legs = params.get(key)
            if not isinstance(name, str) and isinstance(legs, list) and legs:
                first = legs[0]
                name = first.get("instrument_name") if isinstance(first, dict) else None
        return self.market.instruments.get(name) if isinstance(name, str) else None

    def add_api_key(self, client_id: str, client_secret: str) -> None:
        """Accept another API key, the default key of a new account (the simulator's own
        is ``SIM_CLIENT_ID``/``SIM_CLIENT_SECRET``); ``private/create_api_key`` adds keys
        to an existing account."""
        self.trading.add_key(client_id, client_secret)

    @property
    def token_ttl(self) -> int:
        """Lifetime of issued access tokens in seconds (``expires_in``)."""
        return self.trading.token_ttl

    @token_ttl.setter
    def token_ttl(self, seconds: int) -> None:
        self.trading.token_ttl = seconds

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run ``coro`` in a task the simulator owns (cancelled on stop)."""
        spawn(self._tasks, coro)

    def now_ms(self) -> int:
        """The simulator clock in milliseconds."""
        return int(self.clock() * 1000)


def account_of(call: Call) -> Account:
    """The account of a private call's token."""
    return call.sim.trading.account(call.token.client_id)


Handler = Callable[["Call"], Any]
"""A method handler: takes the :class:`Call`, returns the ``result`` (or an awaitable of
it), or raises :class:`SimError`."""


class Call:
    """What a method handler receives: the simulator, the session and the params."""

    __slots__ = (
        "afterwards",
        "close_after",
        "followups",
        "from_query",
        "method",
        "params",
        "session",
        "sim",
        "token",
    )

    def __init__(
        self, sim: SimState, session: Session, method: str, params: dict[str, Any]
    ) -> None:
        self.sim = sim
        self.session = session
        self.method = method
        self.params = params
        self.token: Any = None
        """The authenticated token of a private call (set by the server)."""
        self.close_after = False
        """Close the connection after replying (injected faults such as 10028)."""
        self.followups: list[Any] = []
        """Messages sent on this connection right after the reply (e.g. a book snapshot)."""
        self.afterwards: list[Callable[[], Awaitable[None]]] = []
        """Work done once the reply is sent (a mass quote that does not wait for the
        matching engine), before the connection's next request."""
        self.from_query = False
        """True for an HTTP GET: every value arrived as a string and is converted to the
        type the handler asks for (a numeric-looking label stays a string)."""

    def then_send(self, message: Any) -> None:
        """Send ``message`` after the reply to this call."""
        self.followups.append(message)

    def then_run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` after the reply to this call (and its followups) is sent."""
        self.afterwards.append(work)

    def param(
        self,
        name: str,
        kind: type | tuple[type, ...] = str,
        default: Any = REQUIRED,
        *,
        items: type | None = None,
    ) -> Any:
        """Read a param, answering ``-32602 Invalid params`` like Deribit when it is wrong
        (with ``items``, also when an item of an array is not of that type)."""
        value = self.params.get(name, REQUIRED)
        if value is REQUIRED:
            if default is REQUIRED:
                raise invalid_param(name, "required")
            return default
        if type(value) is str and kind is not str and (self.from_query or kind in (list, dict)):
            # Deribit documents array and object params as "JSON string containing ...":
            # accept the string on every transport, not only in a GET query.
            value = _from_query(name, value, kind)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not is_json(value, kind):
            raise invalid_param(name)
        if items is not None and type(value) is list and not all(is_json(v, items) for v in value):
            raise invalid_param(name, f"every item must be a JSON {JSON_NAMES[items]}")
        return value


_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
"""Numbers as JSON writes them: Python's ``float()`` also takes ``nan``, ``inf``,
``1_000``, padding and non-ASCII digits, which no JSON body can carry."""


def _from_query(name: str, value: str, kind: Any) -> Any:
    """A GET query string converted to the type a handler declares, as Deribit does."""
    wanted = kind if isinstance(kind, tuple) else (kind,)
    try:
        if bool in wanted and value in ("true", "false"):
            return value == "true"
        if int in wanted and _INTEGER.fullmatch(value):
            return int(value)
        if float in wanted and _NUMBER.fullmatch(value):
            number = float(value)
            if math.isfinite(number):  # 1e999 overflows to inf
                return number
        if list in wanted or dict in wanted:
            return msgspec.json.decode(value)
    except (ValueError, msgspec.DecodeError, RecursionError):
        pass
    raise invalid_param(name)
