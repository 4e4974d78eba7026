"""Shared test helpers."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import pathlib
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, TypedDict, TypeVar

import msgspec
from aiohttp import web

from deribit_client import ConnectionLost, DeribitClient, Gap, Notification, ReconnectPolicy
from deribit_client._client import ORDER_OUTCOMES
from deribit_client._core.connection import Connection
from deribit_client._rpc.protocol import RpcProtocol
from deribit_client.models import ApiKey, Instrument
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from deribit_client.testing.exberry import SIM_API_KEY, SIM_API_SECRET
from deribit_client.transports import (
    MockConnector,
    MockTransport,
    StreamTransport,
    WebSocketConnector,
)

T = TypeVar("T")
INSTANT = ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0)


class Key(TypedDict):
    """Deribit credentials as ``DeribitClient(**key)`` takes them (typed, so a test's
    ``**KEY`` is checked like the keywords it stands for)."""

    client_id: str
    client_secret: str


class ExberryKey(TypedDict):
    """Exberry credentials as ``ExberryClient(url, **key)`` takes them."""

    api_key: str
    secret: str


KEY: Final[Key] = {"client_id": SIM_CLIENT_ID, "client_secret": SIM_CLIENT_SECRET}
"""The Deribit simulator's credentials."""
MOCK_KEY: Final[Key] = {"client_id": "id", "client_secret": "secret"}
"""Credentials for a scripted server, which takes any."""
EXBERRY_KEY: Final[ExberryKey] = {"api_key": SIM_API_KEY, "secret": SIM_API_SECRET}
"""The Exberry simulator's credentials."""
"""Reconnect at once: tests wait for reconnects by condition, never by time."""


@asynccontextmanager
async def loopback(app: web.Application) -> AsyncIterator[int]:
    """Serve ``app`` on 127.0.0.1 for the block; yields its port."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


@asynccontextmanager
async def login(
    sim: DeribitSimulator, key: ApiKey, **options: object
) -> AsyncIterator[DeribitClient]:
    """A client of ``sim`` logged in with ``key`` (one ``private/create_api_key`` made)."""
    assert key.client_id is not None
    assert key.client_secret is not None
    options = {"heartbeat_interval": None, "reconnect": INSTANT, **options}
    async with DeribitClient(
        url=sim.url,
        client_id=key.client_id,
        client_secret=key.client_secret,
        **options,  # type: ignore[arg-type]
    ) as client:
        yield client


def normal(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def black_scholes(call: bool, spot: float, strike: float, years: float, iv: float) -> float:
    """An option's Black-Scholes value without rates, per coin of underlying (``iv`` in
    percent): the tests' own pricing, to check the simulator's against."""
    spread = iv / 100 * math.sqrt(years)
    d1 = (math.log(spot / strike) + spread * spread / 2) / spread
    d2 = d1 - spread
    usd = (
        spot * normal(d1) - strike * normal(d2)
        if call
        else strike * normal(-d2) - spot * normal(-d1)
    )
    return usd / spot


_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def expiry_in(sim: DeribitSimulator, days: int) -> tuple[str, int]:
    """Deribit's date code (``25DEC26``) of the day ``days`` after the simulator's today,
    and that day's 08:00 UTC expiry in milliseconds."""
    day = dt.datetime.fromtimestamp(sim.now_ms() / 1000, dt.UTC).date() + dt.timedelta(days)
    expiry = dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC)
    return f"{day.day}{_MONTHS[day.month - 1]}{day.year % 100:02d}", int(expiry.timestamp() * 1000)


def tick(seq: int) -> dict[str, Any]:
    """A BTC-PERPETUAL ticker payload whose timestamp carries a sequence number."""
    return {"instrument_name": "BTC-PERPETUAL", "timestamp": seq, "best_bid_price": 1.0}


ROOT = pathlib.Path(__file__).resolve().parents[1]
"""The repository: where ``deribit_client`` is imported from."""


def mypy_strict(directory: pathlib.Path, config: str = "") -> str:
    """Run ``mypy --strict`` on the modules written in ``directory`` (``config`` adds
    sections to its ini); return its output, asserting it found no error."""
    (directory / "mypy.ini").write_text("[mypy]\nstrict = True\n" + config)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(directory / "mypy.ini"),
         "--cache-dir", str(directory / ".cache"), str(directory)],
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def deribit_tasks() -> list[asyncio.Task[Any]]:
    """The tasks the SDK has running: every one it starts is named ``deribit-...``."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("deribit")]


async def until(predicate: Callable[[], object], limit: float = 5.0) -> None:
    """Yield to the event loop until ``predicate()`` is truthy; fail after ``limit`` seconds.

    Used where the observable effect happens in another task (the read loop); each turn
    just lets ready tasks run, it does not sleep for a guessed duration.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached within the limit")
        await asyncio.sleep(0)


async def next_event(stream: AsyncIterator[object]) -> object:
    """The next item of ``stream`` past any Gaps, which must come within 5 s."""
    async with asyncio.timeout(5):
        async for item in stream:
            if not isinstance(item, Gap):
                return item
    raise AssertionError("the stream ended")


async def next_notification(
    stream: AsyncIterator[Notification[T] | Gap], timeout: float = 5.0
) -> Notification[T]:
    """The next item of a subscription, which must be a notification (not a Gap) and come
    within ``timeout`` seconds."""
    item = await asyncio.wait_for(anext(stream), timeout)
    assert isinstance(item, Notification), item
    return item


async def retry_at_once(attempt: Callable[[], Awaitable[object]], cap: int) -> int:
    """Run ``attempt`` until it succeeds, retrying at once on ``ConnectionLost`` as a naive
    bot would (no sleep, no ``wait_ready``); the number of refusals. Fails after ``cap``
    refusals: a retry loop that never lets the event loop run would otherwise hang."""
    refusals = 0
    while True:
        try:
            await attempt()
            return refusals
        except ConnectionLost:
            refusals += 1
            if refusals > cap:
                raise AssertionError("the retry loop starved the reconnect") from None


class WriteFails(MockTransport):
    """A link whose write side fails first (set ``write_error``): the reads have not seen
    the loss yet. ``wrote_nothing``: what ``unsent`` says of the failure."""

    write_error: OSError | None = None
    wrote_nothing = False

    async def send(self, frame: bytes) -> None:
        if self.write_error is not None:
            raise self.write_error
        await super().send(frame)

    def unsent(self, exc: BaseException) -> bool:
        return self.wrote_nothing


class WriteFailsConnector(MockConnector):
    async def connect(self) -> WriteFails:
        transport = WriteFails(self.handler)
        self.transports.append(transport)
        return transport


class FastHeartbeatClient(DeribitClient):
    """A client that accepts heartbeat intervals below Deribit's 10 s, for simulators set
    up with the same ``min_heartbeat_interval``."""

    min_heartbeat_interval = 0.01


class RpcConnection(Connection[RpcProtocol[Any]]):
    """Deribit's protocol on the engine's connection, with a method-first ``rpc`` call."""

    def __init__(
        self,
        transport: StreamTransport,
        *,
        on_event: Callable[[object], None] | None = None,
        on_closed: Callable[[Any, str], None] | None = None,
        default_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            transport,
            RpcProtocol(outcome=ORDER_OUTCOMES),
            on_event=on_event,
            on_closed=on_closed,
            default_timeout=default_timeout,
        )

    def rpc(
        self,
        method: str,
        params: dict[str, Any] | None,
        result_type: Any,
        timeout: float | None = None,
        meta: bool = False,
    ) -> Awaitable[Any]:
        return self.call(
            timeout, meta, (), self.protocol.prepare_request, method, params, result_type, None
        )


Result = Any | Callable[[dict[str, Any]], Any]


class ScriptedDeribit:
    """A Deribit stand-in for :class:`MockConnector`: answers requests from ``results``.

    ``results`` maps a method to a value or to a function of the params; a function may
    raise :class:`Refuse` to answer with an error, or return :data:`SILENT` to leave the
    request unanswered. ``after`` maps a method to a one-shot action run right after that
    method's reply was queued (e.g. drop the socket). Every request is kept in ``calls``.
    """

    def __init__(self) -> None:
        self.connector = MockConnector(self.handle)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.results: dict[str, Result] = {
            "public/subscribe": lambda params: params["channels"],
            "private/subscribe": lambda params: params["channels"],
            "public/unsubscribe": lambda params: params["channels"],
            "private/unsubscribe": lambda params: params["channels"],
            "public/unsubscribe_all": "ok",
            "private/unsubscribe_all": "ok",
            "public/set_heartbeat": "ok",
            "public/test": {"version": "1"},
            "public/get_time": 1,
            "public/auth": {
                "access_token": "at",
                "refresh_token": "rt",
                "expires_in": 900,
                "scope": "connection trade:read_write",
            },
        }
        self.after: dict[str, Callable[[MockTransport], None]] = {}
        self.held: list[bytes] = []

    @property
    def transport(self) -> MockTransport:
        return self.connector.current

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def handle(self, frame: bytes) -> list[bytes]:
        request = msgspec.json.decode(frame)
        method, params = request["method"], request.get("params") or {}
        self.calls.append((method, params))
        result = self.results.get(method, None)
        try:
            value = result(params) if callable(result) else result
        except Refuse as refusal:
            reply = {"jsonrpc": "2.0", "id": request["id"], "error": refusal.error}
        else:
            if value is SILENT:
                self.held.append(frame)
                return []
            reply = {"jsonrpc": "2.0", "id": request["id"], "result": value}
        transport = self.connector.current
        transport.push(msgspec.json.encode(reply))
        action = self.after.pop(method, None)
        if action is not None:
            action(transport)
        return []

    def notify(self, channel: str, data: Any, label: str | None = None) -> None:
        params = {"channel": channel, "data": data}
        if label is not None:
            params["label"] = label
        self.transport.push(
            msgspec.json.encode({"jsonrpc": "2.0", "method": "subscription", "params": params})
        )


SILENT: Any = object()
"""A result that leaves the request unanswered (see :class:`ScriptedDeribit`)."""


class Refuse(Exception):
    """Raised by a scripted result: answer with this JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            self.error["data"] = data


def drop(transport: MockTransport) -> None:
    """An ``after`` action: the server hangs up right after answering."""
    transport.drop("server closed the connection")


async def nearest_options(client: DeribitClient) -> list[Instrument]:
    """BTC's options of the nearest expiry (a spread's legs share one)."""
    options = await client.public.get_instruments("BTC", kind="option")
    nearest = min(i.expiration_timestamp or 0 for i in options)
    return [i for i in options if i.expiration_timestamp == nearest]


NOON = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC).timestamp()
"""A Tuesday noon (UTC): the simulator's market closes at 23:59 UTC."""


class HeldOpens:
    """Connects to the simulator; while ``hold`` is set, a stream's opening frame waits in
    ``send`` (or, with ``refuse``, the next one fails unsent, as a write to a socket that
    just broke)."""

    def __init__(self, url: str) -> None:
        self.inner = WebSocketConnector(url)
        self.hold = self.refuse = False
        self.after_writing = False  # hold once the frame is written, as a slow drain does
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def connect(self) -> Any:
        transport = await self.inner.connect()
        connector = self

        class Held:
            def __getattr__(self, name: str) -> Any:
                return getattr(transport, name)

            async def send(self, frame: bytes) -> None:
                if b'"q":"v1/exchange.market/trades"' in frame and b'"sig"' not in frame:
                    if connector.refuse:
                        connector.refuse = False
                        raise ConnectionLost("not sent: the socket just broke")
                    if connector.hold:
                        connector.hold = False
                        if connector.after_writing:
                            await transport.send(frame)
                        connector.held.set()
                        await connector.release.wait()  # or until cancelled
                        if connector.after_writing:
                            return
                await transport.send(frame)

        return Held()
