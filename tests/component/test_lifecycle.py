"""Connection lifecycle against a scripted server: each test reproduces a defect of issue #8.

The server is a :class:`ScriptedDeribit` behind a ``MockConnector``: deterministic, no sockets.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from deribit_client import (
    ClientClosed,
    ClientError,
    ConnectionLost,
    ConnectionState,
    DeribitClient,
    DeribitError,
    Gap,
    InsufficientFundsError,
    LateReply,
    Notification,
    NotReadyError,
    OrderOutcomeUnknown,
    ReconnectPolicy,
    RequestTimeout,
    SubscriptionRejected,
    TransportError,
)
from deribit_client._core.supervisor import TRANSITIONS
from deribit_client.transports import MockTransport
from tests.helpers import (
    INSTANT,
    MOCK_KEY,
    SILENT,
    Refuse,
    RpcConnection,
    ScriptedDeribit,
    WriteFails,
    WriteFailsConnector,
    deribit_tasks,
    drop,
    retry_at_once,
    tick,
    until,
)

TICKER = "ticker.BTC-PERPETUAL.100ms"


@pytest.fixture
def venue() -> ScriptedDeribit:
    return ScriptedDeribit()


@pytest.fixture
async def client(venue: ScriptedDeribit) -> AsyncIterator[DeribitClient]:
    async with DeribitClient(
        connector=venue.connector, heartbeat_interval=None, reconnect=INSTANT
    ) as c:
        yield c


# -- the state machine --------------------------------------------------------------------


def test_every_state_has_a_row_and_closed_is_final() -> None:
    assert set(TRANSITIONS) == set(ConnectionState)
    assert TRANSITIONS[ConnectionState.CLOSED] == frozenset()
    assert ConnectionState.READY in TRANSITIONS[ConnectionState.RECONNECTING]
    assert ConnectionState.READY not in TRANSITIONS[ConnectionState.FAILED]


async def test_a_server_that_hangs_up_after_the_last_step_is_not_ready(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    # Reported: the server answers the last establish step and closes at once; the client
    # said "ready" on the dead socket, never reconnected, and subscribers hung forever.
    async with client.subscribe(TICKER) as sub:
        venue.after["public/subscribe"] = drop  # the resubscribe of the next connection
        venue.transport.drop("cut")
        await until(lambda: len(venue.connector.transports) == 3 and client.state == "ready")
        assert not venue.transport.closed
        assert await client.public.get_time() == 1
        venue.notify(TICKER, tick(5))
        items = [await anext(sub), await anext(sub), await anext(sub)]
        assert [type(i) for i in items] == [Gap, Gap, Notification]
        assert client.reconnect_count == 1


async def test_wait_ready_waits_out_a_reconnect(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    venue.connector.refuse = "down for a moment"
    venue.transport.drop("cut")
    await until(lambda: client.state == "reconnecting")
    waiter = asyncio.create_task(client.wait_ready(5))
    await until(lambda: len(venue.calls) == 0 and not waiter.done())
    venue.connector.refuse = None
    await waiter
    assert client.state == "ready"
    venue.connector.refuse = "down"
    venue.transport.drop("cut again")
    await until(lambda: client.state == "reconnecting")
    with pytest.raises(NotReadyError):
        await client.wait_ready(0.05)


async def test_wait_ready_fails_fast_when_closed_or_given_up(venue: ScriptedDeribit) -> None:
    policy = ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0, max_attempts=1)
    client = DeribitClient(connector=venue.connector, heartbeat_interval=None, reconnect=policy)
    async with client:
        venue.connector.refuse = "gone"
        venue.transport.drop("cut")
        await until(lambda: client.state != "ready")
        with pytest.raises(ConnectionLost, match="down for good"):
            await client.wait_ready(5)
        assert client.state == "failed"
        # Link loss is a TransportError, not "refused before any I/O".
        with pytest.raises(ConnectionLost):
            await client.public.get_time()
    with pytest.raises(ClientClosed):
        await client.wait_ready(5)
    with pytest.raises(ClientClosed):
        await client.public.get_time()
    with pytest.raises(ClientClosed):
        client.subscribe(TICKER)


async def test_reconnect_keeps_going_through_errors_a_retry_can_fix(
    venue: ScriptedDeribit,
) -> None:
    # Reported: one 11094 on set_heartbeat (or 10001/11052/13778 from a resubscribe) made
    # the client give up reconnecting for good.
    attempts = {"n": 0}

    def flaky_heartbeat(params: dict[str, Any]) -> str:
        attempts["n"] += 1
        if attempts["n"] in (2, 3):
            raise Refuse(11094, "internal_server_error")
        return "ok"

    def flaky_subscribe(params: dict[str, Any]) -> Any:
        if attempts["n"] == 4 and not flaky_subscribe.failed:  # type: ignore[attr-defined]
            flaky_subscribe.failed = True  # type: ignore[attr-defined]
            raise Refuse(11052, "subscribe_error_unsubscribed")
        return params["channels"]

    flaky_subscribe.failed = False  # type: ignore[attr-defined]
    venue.results["public/set_heartbeat"] = flaky_heartbeat
    venue.results["public/subscribe"] = flaky_subscribe
    client = DeribitClient(connector=venue.connector, heartbeat_interval=10, reconnect=INSTANT)
    async with client, client.subscribe(TICKER):
        venue.transport.drop("cut")
        await until(lambda: client.reconnect_count == 1)
        assert client.state == "ready"
        assert attempts["n"] >= 4


async def test_a_bad_key_stops_reconnecting(venue: ScriptedDeribit) -> None:
    client = DeribitClient(
        connector=venue.connector, heartbeat_interval=None, reconnect=INSTANT, **MOCK_KEY
    )
    async with client:
        venue.results["public/auth"] = lambda params: (_ for _ in ()).throw(
            Refuse(13004, "invalid_credentials")
        )
        venue.transport.drop("cut")
        await until(lambda: client.state == "failed")
        assert len(venue.connector.transports) == 2


async def test_rate_limit_wait_hint_delays_the_reconnect(venue: ScriptedDeribit) -> None:
    # Reported: Deribit answers 10028 with a wait and closes; re-auth followed 2 ms later.
    opened: list[float] = []
    connect = venue.connector.connect

    async def timed_connect() -> MockTransport:
        opened.append(asyncio.get_running_loop().time())
        return await connect()

    venue.connector.connect = timed_connect  # type: ignore[method-assign]
    client = DeribitClient(connector=venue.connector, heartbeat_interval=None, reconnect=INSTANT)
    async with client:
        venue.results["public/status"] = lambda params: (_ for _ in ()).throw(
            Refuse(10028, "too_many_requests", {"wait": 0.3})
        )
        venue.after["public/status"] = drop
        with pytest.raises(Exception, match="too_many_requests"):
            await client.call("public/status")
        await until(lambda: client.reconnect_count == 1)
        assert opened[1] - opened[0] >= 0.29


# -- cancellation ---------------------------------------------------------------------


async def test_timing_out_anext_loses_nothing_and_iteration_resumes(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    async with client.subscribe(TICKER) as sub:
        for _ in range(3):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(sub), 0.01)
        venue.notify(TICKER, tick(1))
        first = await asyncio.wait_for(anext(sub), 5)
        assert isinstance(first, Notification)
        assert first.data.timestamp == 1
        seen: list[int] = []
        venue.notify(TICKER, tick(2))

        async def read_all() -> None:
            async with asyncio.timeout(0.05):
                async for item in sub:
                    assert isinstance(item, Notification)
                    seen.append(item.data.timestamp)

        with pytest.raises(TimeoutError):
            await read_all()
        venue.notify(TICKER, tick(3))
        async for item in sub:
            assert isinstance(item, Notification)
            seen.append(item.data.timestamp)
            break
        assert seen == [2, 3]
        assert client.subscriptions.channels == [TICKER]
        assert ("public/unsubscribe", {"channels": [TICKER]}) not in venue.calls


async def test_two_readers_of_one_subscription_get_a_clear_error(
    client: DeribitClient,
) -> None:
    async with client.subscribe(TICKER) as sub:
        first = asyncio.create_task(anext(sub))
        await until(lambda: sub._waiter is not None)
        with pytest.raises(ClientError, match="another task"):
            await anext(sub)
        first.cancel()


async def test_a_cancelled_subscribe_releases_the_server_subscription(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    # Reported: 100 unrouted notifications after a timed-out subscribe; each costs credits.
    venue.results["public/subscribe"] = lambda params: SILENT
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.subscribe(TICKER).__aenter__(), 0.05)
    await until(lambda: "public/unsubscribe" in venue.methods())
    assert ("public/unsubscribe", {"channels": [TICKER]}) in venue.calls
    assert client.subscriptions.channels == []


async def test_a_cancelled_call_removes_only_that_call(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    venue.results["public/status"] = lambda params: SILENT
    slow = asyncio.create_task(client.call("public/status"))
    other = asyncio.create_task(client.call("public/status"))
    await until(lambda: client.pending_count == 2)
    slow.cancel()
    await until(lambda: client.pending_count == 1)
    assert not other.done()
    other.cancel()


@pytest.fixture
async def silent_trader(venue: ScriptedDeribit) -> AsyncIterator[DeribitClient]:
    """A client with credentials whose buys and status calls the venue leaves unanswered
    (until :func:`answer_held`)."""
    venue.results["private/buy"] = lambda params: SILENT
    venue.results["public/status"] = lambda params: SILENT
    async with DeribitClient(connector=venue.connector, heartbeat_interval=None, **MOCK_KEY) as c:
        yield c


async def buy_in_flight(client: DeribitClient) -> asyncio.Task[Any]:
    """A market buy labelled ``grid-7``, sent and waiting for its reply."""
    pending = client.pending_count + 1
    buy = asyncio.create_task(
        client.private.buy("BTC-PERPETUAL", amount=10, type="market", label="grid-7")
    )
    await until(lambda: client.pending_count == pending)
    return buy


def answer_held(venue: ScriptedDeribit, method: str, reply: dict[str, Any]) -> None:
    """Answer the oldest unanswered (SILENT) request for ``method`` with ``reply``."""
    frame = next(f for f in venue.held if msgspec.json.decode(f)["method"] == method)
    venue.held.remove(frame)
    request_id = msgspec.json.decode(frame)["id"]
    venue.transport.push(msgspec.json.encode({"jsonrpc": "2.0", "id": request_id, **reply}))


PLACED = {
    "result": {
        "order": {
            "order_id": "ETH-7", "instrument_name": "BTC-PERPETUAL", "direction": "buy",
            "amount": 10.0, "filled_amount": 0.0, "order_state": "open",
            "order_type": "limit", "creation_timestamp": 1, "last_update_timestamp": 1,
            "label": "grid-7",
        },
        "trades": [],
    }
}  # fmt: skip


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_mutation_cancelled_after_it_was_sent_is_reported_as_an_unknown_outcome(
    silent_trader: DeribitClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A TaskGroup whose sibling failed cancels a buy in flight: the caller must get the
    # cancellation, and the order may exist all the same. That must not go unsaid.
    c = silent_trader
    buy = await buy_in_flight(c)
    status = asyncio.create_task(c.public.status())
    await until(lambda: c.pending_count == 2)
    caplog.clear()
    for task in (buy, status):
        task.cancel()
    for task in (buy, status):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert c.pending_count == 0
    [record] = warnings_of(caplog)  # the buy only
    unknown = getattr(record, "outcome_unknown", None)
    assert isinstance(unknown, OrderOutcomeUnknown)
    assert (unknown.method, unknown.label) == ("private/buy", "grid-7")
    assert record.getMessage() == str(unknown)
    assert "cancelled after its request was sent" in str(unknown)


async def test_a_reply_to_a_timed_out_order_that_comes_late_is_reported_with_the_order(
    venue: ScriptedDeribit, silent_trader: DeribitClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The buy's caller was told the outcome is unknown; the reply that says the order
    # exists must not be dropped in silence (a read's late reply is only counted).
    c = silent_trader
    with pytest.raises(OrderOutcomeUnknown) as raised:
        await c.private.buy("BTC-PERPETUAL", amount=10, type="market", label="grid-7", timeout=0.01)
    with pytest.raises(RequestTimeout):
        await c.public.status(timeout=0.01)
    caplog.clear()
    answer_held(venue, "public/status", {"result": {}})
    answer_held(venue, "private/buy", PLACED)
    await until(lambda: warnings_of(caplog))
    assert await c.public.get_time() == 1  # the read loop goes on
    [record] = warnings_of(caplog)  # the buy's, not the read's
    late = getattr(record, "late_reply", None)
    assert isinstance(late, LateReply)
    assert late.unknown is raised.value
    assert late.error is None
    assert late.value.order.order_id == "ETH-7"  # decoded into the buy's type
    assert record.getMessage() == (
        f"late reply to private/buy (id {raised.value.request_id}), whose outcome was "
        "reported unknown: it succeeded"
    )


async def test_a_refusal_that_comes_after_a_cancelled_order_was_reported_unknown_is_reported(
    venue: ScriptedDeribit, silent_trader: DeribitClient, caplog: pytest.LogCaptureFixture
) -> None:
    buy = await buy_in_flight(silent_trader)
    caplog.clear()
    buy.cancel()
    with pytest.raises(asyncio.CancelledError):
        await buy
    answer_held(venue, "private/buy", {"error": {"code": 10009, "message": "not_enough_funds"}})
    await until(lambda: len(warnings_of(caplog)) == 2)
    first, second = warnings_of(caplog)
    late = getattr(second, "late_reply", None)
    assert isinstance(late, LateReply)
    assert late.unknown is getattr(first, "outcome_unknown", None)
    assert isinstance(late.error, InsufficientFundsError)
    assert "it failed: [10009] not_enough_funds" in second.getMessage()


@pytest.mark.parametrize("read_first", [True, False], ids=["reply-dropped", "reply-untaken"])
async def test_an_order_answered_in_the_turn_its_caller_is_cancelled_is_reported(
    venue: ScriptedDeribit,
    silent_trader: DeribitClient,
    caplog: pytest.LogCaptureFixture,
    read_first: bool,
) -> None:
    # The reply and the cancellation meet in one loop turn. reply-dropped: the caller is
    # cancelled first, so the read loop finds its waiter done; reply-untaken: the read loop
    # hands the reply over and the caller is cancelled before it takes it. Either way the
    # order exists and nobody knew.
    buy = await buy_in_flight(silent_trader)
    caplog.clear()
    answer_held(venue, "private/buy", PLACED)  # wakes the read loop first
    if read_first:
        buy.cancel()
    else:
        asyncio.get_running_loop().call_soon(buy.cancel)  # after the read loop's turn
    with pytest.raises(asyncio.CancelledError):
        await buy
    [record] = warnings_of(caplog)
    late = getattr(record, "late_reply", None)
    assert isinstance(late, LateReply)
    assert late.unknown is None
    assert late.value.order.order_id == "ETH-7"
    assert record.getMessage().endswith("was answered as its caller was cancelled: it succeeded")


# -- close ------------------------------------------------------------------------------


async def test_close_inside_an_expired_timeout_still_closes_the_transport(
    venue: ScriptedDeribit,
) -> None:
    client = DeribitClient(connector=venue.connector, heartbeat_interval=None)
    await client.connect()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):
            await client.close()
    assert venue.transport.closed
    assert client.state == "closed"
    assert deribit_tasks() == []


def book(kind: str, change_id: int, prev: int | None = None) -> dict[str, Any]:
    """A ``book.BTC-PERPETUAL.100ms`` payload without levels."""
    return {"type": kind, "instrument_name": "BTC-PERPETUAL", "timestamp": change_id,
            "change_id": change_id, "prev_change_id": prev, "bids": [], "asks": []}  # fmt: skip


async def test_close_inside_an_expired_timeout_still_ends_every_subscriber_task(
    venue: ScriptedDeribit,
) -> None:
    # A callback stuck in its await, a book resync waiting out its backoff, a subscribe
    # still waiting for its reply: close() cut short by the caller's deadline must leave
    # none of them running.
    stuck = asyncio.Event()

    async def handle(item: Any) -> None:
        await stuck.wait()  # never set: only a cancel ends it

    client = DeribitClient(connector=venue.connector, heartbeat_interval=None)
    await client.connect()
    sub = await client.subscribe(TICKER, callback=handle)
    venue.notify(TICKER, tick(1))
    await until(lambda: sub.received == 1)
    channel = "book.BTC-PERPETUAL.100ms"
    books = await client.subscribe(channel)
    venue.notify(channel, book("snapshot", 10))
    assert (await anext(books)).data.type == "snapshot"  # type: ignore[union-attr]

    def busy(params: dict[str, Any]) -> None:
        raise Refuse(13028, "temporarily_unavailable")  # retried after the reconnect backoff

    venue.results["public/subscribe"] = busy
    venue.notify(channel, book("change", 12, prev=11))  # a change was lost: resync
    assert await anext(books) == Gap(channel, "book_gap")
    await until(lambda: venue.methods().count("public/subscribe") == 3)  # refused once
    venue.results["public/subscribe"] = lambda params: SILENT
    waiting = asyncio.ensure_future(client.subscribe("ticker.ETH-PERPETUAL.100ms").__aenter__())
    await until(lambda: bool(venue.held))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):
            await client.close()
    assert client.state == "closed"
    assert venue.transport.closed
    assert deribit_tasks() == []
    with pytest.raises(DeribitError):
        await waiting
    assert sub.closed


async def test_every_task_the_sdk_starts_is_named_for_it(venue: ScriptedDeribit) -> None:
    # So a task dump, or a check for leaks like ``deribit_tasks()``, shows whose each is.
    loop = asyncio.get_running_loop()
    started: list[tuple[str, asyncio.Task[Any]]] = []  # (what runs, its task) of the SDK's

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)  # named by create_task afterwards
        code = getattr(coro, "cr_code", None)
        if code is not None and "deribit_client" in code.co_filename:
            started.append((code.co_qualname, task))
        return task

    async def handle(item: Any) -> None:
        pass

    async def hook(error: BaseException) -> None:
        pass

    loop.set_task_factory(factory)
    try:
        async with DeribitClient(
            connector=venue.connector, heartbeat_interval=None, reconnect=INSTANT, **MOCK_KEY
        ) as client:
            channel = "book.BTC-PERPETUAL.100ms"
            async with client.subscribe(channel, callback=handle, on_error=hook) as books:
                venue.notify(channel, book("snapshot", 10))
                venue.notify(channel, book("change", 12, prev=11))  # a resync
                await until(lambda: venue.methods().count("public/subscribe") == 2)
                venue.transport.drop("cut")  # a reconnect
                await until(lambda: client.reconnect_count == 1 and client.state == "ready")
                books.fail(RuntimeError("ended"))  # the coroutine hook runs
                await client.public.get_time()
    finally:
        loop.set_task_factory(None)
    assert len(started) > 10
    assert [what for what, task in started if not task.get_name().startswith("deribit")] == []


async def test_close_during_a_reconnect_handshake_closes_the_new_socket(
    venue: ScriptedDeribit,
) -> None:
    client = DeribitClient(
        connector=venue.connector, heartbeat_interval=None, reconnect=INSTANT, **MOCK_KEY
    )
    await client.connect()
    venue.results["public/auth"] = lambda params: SILENT  # the re-auth never completes
    venue.transport.drop("cut")
    await until(lambda: len(venue.connector.transports) == 2 and venue.held)
    await client.close()
    assert all(t.closed for t in venue.connector.transports)
    assert deribit_tasks() == []


async def test_callback_subscribers_hear_of_failures_and_their_tasks_end_with_close(
    venue: ScriptedDeribit, caplog: pytest.LogCaptureFixture
) -> None:
    # Reported: plain callbacks were never told their subscription failed; async-callback
    # consumer tasks outlived close(), and every normal shutdown logged an ERROR.
    failures: list[BaseException] = []
    received: list[Any] = []

    async def slow_consumer(item: Any) -> None:
        received.append(item)

    client = DeribitClient(connector=venue.connector, heartbeat_interval=None, reconnect=INSTANT)
    with caplog.at_level(logging.WARNING, logger="deribit_client"):
        async with client:
            rejected = client.subscribe(
                "ticker.GONE.100ms", callback=received.append, on_error=failures.append
            )
            await rejected
            async with client.subscribe(TICKER, callback=slow_consumer):
                venue.results["public/subscribe"] = lambda params: [
                    c for c in params["channels"] if c != "ticker.GONE.100ms"
                ]
                venue.transport.drop("cut")
                await until(lambda: bool(failures))
                assert isinstance(failures[0], SubscriptionRejected)
                venue.notify(TICKER, tick(1))
                await until(lambda: any(type(i) is Notification for i in received))
        assert deribit_tasks() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_giving_up_reaches_callback_subscribers(venue: ScriptedDeribit) -> None:
    failures: list[BaseException] = []
    policy = ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0, max_attempts=1)
    client = DeribitClient(connector=venue.connector, heartbeat_interval=None, reconnect=policy)
    async with client:
        sub = await client.subscribe(TICKER, callback=lambda item: None, on_error=failures.append)
        venue.connector.refuse = "gone"
        venue.transport.drop("cut")
        await until(lambda: bool(failures))
        assert isinstance(failures[0], ConnectionLost)
        with pytest.raises(ConnectionLost):
            await sub.wait_closed()


# -- timeouts, loops --------------------------------------------------------------------


class StuckWriter(MockTransport):
    """A half-open link with a full write buffer: every send blocks."""

    async def send(self, frame: bytes) -> None:
        if b"public/subscribe" in frame or not self.sent:
            await super().send(frame)
            return
        self.sent.append(frame)
        await asyncio.get_running_loop().create_future()


async def test_timeout_covers_sending(venue: ScriptedDeribit) -> None:
    async def connect() -> MockTransport:
        transport = StuckWriter(venue.handle)
        venue.connector.transports.append(transport)
        return transport

    venue.connector.connect = connect  # type: ignore[method-assign]
    client = DeribitClient(
        connector=venue.connector,
        heartbeat_interval=None,
        reconnect=False,
        rate_limit=False,  # no account-limits read: only the first frame gets through
        **MOCK_KEY,
    )
    async with client:
        with pytest.raises(RequestTimeout):
            await client.public.get_time(timeout=0.05)
        with pytest.raises(OrderOutcomeUnknown) as info:
            await client.private.buy("BTC-PERPETUAL", amount=10, type="market", timeout=0.05)
        assert isinstance(info.value.__cause__, RequestTimeout)
        assert client.pending_count == 0


def call_from_another_loop(home: asyncio.AbstractEventLoop, client: DeribitClient) -> None:
    """Connect ``client`` on ``home``, then assert a call from a second loop is refused."""
    try:
        home.run_until_complete(client.connect())

        async def from_another_loop() -> None:
            with pytest.raises(ClientError, match="another event loop"):
                await client.public.get_time()

        asyncio.run(from_another_loop())
    finally:
        home.run_until_complete(client.close())


def test_a_client_is_bound_to_its_event_loop(venue: ScriptedDeribit) -> None:
    other = asyncio.new_event_loop()
    try:
        call_from_another_loop(
            other, DeribitClient(connector=venue.connector, heartbeat_interval=None)
        )
    finally:
        other.close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the unclosed loop, on purpose
def test_a_client_dropped_with_a_loop_that_never_shut_down_ends_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The get_event_loop().run_until_complete() style, with neither the client nor the
    # loop closed: the collector destroys the read loop's task unfinished. That ends the
    # connection like a shutdown (no reconnect attempted, no error raised from the SDK's
    # code, which pytest would report here as an unraisable exception).
    home = asyncio.new_event_loop()
    client = DeribitClient(connector=ScriptedDeribit().connector, heartbeat_interval=None)
    home.run_until_complete(client.connect())
    # Not closed either (a closed loop would make asyncio's own queues raise as they go).
    del client, home  # the venue's transports went with the client: nothing else holds it
    gc.collect()
    assert "the event loop was dropped with the client open); not reconnecting" in caplog.text
    assert "read loop crashed" not in caplog.text


async def test_connect_failure_is_a_transport_error(venue: ScriptedDeribit) -> None:
    venue.connector.refuse = "no route"
    client = DeribitClient(connector=venue.connector, heartbeat_interval=None)
    with pytest.raises(TransportError, match="no route"):
        await client.connect()
    assert client.state == "disconnected"


def test_an_http_client_is_bound_to_its_event_loop() -> None:
    from deribit_client.testing import DeribitSimulator

    other = asyncio.new_event_loop()
    sim = DeribitSimulator()
    other.run_until_complete(sim.__aenter__())
    try:
        call_from_another_loop(other, DeribitClient(url=sim.url, transport="http"))
    finally:
        other.run_until_complete(sim.__aexit__(None, None, None))
        other.close()


async def test_an_unreachable_host_fails_at_once_without_an_http_fallback() -> None:
    # Reported: with env= on a machine without a network, auto mode fell back to an HTTP
    # endpoint on the same host and failed only at the first call.
    client = DeribitClient(url="http://127.0.0.1:1", heartbeat_interval=None)
    with pytest.raises(TransportError, match="no HTTP fallback"):
        await client.connect()
    assert client.transport_kind is None
    await client.close()


async def test_a_failed_write_ends_the_connection_at_once() -> None:
    # A bot whose calls fail without ever suspending must not spin on a "ready" client:
    # the read side of a dropped link may not have seen the loss yet, the write did.
    venue = ScriptedDeribit()
    venue.results["private/buy"] = {"order": {"order_id": "1"}, "trades": []}
    connector = venue.connector = WriteFailsConnector(venue.handle)
    async with DeribitClient(
        connector=connector, heartbeat_interval=None, reconnect=INSTANT, rate_limit=False,
        client_id="id", client_secret="secret",
    ) as client:  # fmt: skip
        first = connector.transports[-1]
        assert isinstance(first, WriteFails)
        first.write_error = ConnectionResetError("reset by peer")  # the frame may have left
        with pytest.raises(OrderOutcomeUnknown):
            await client.private.buy("BTC-PERPETUAL", amount=10, type="market", label="a")
        assert client.state is ConnectionState.RECONNECTING  # not "ready" on a dead link
        with pytest.raises(ConnectionLost, match="reconnecting"):  # not tried on the dead one
            await client.public.get_time()
        await client.wait_ready(5)
        second = connector.transports[-1]
        assert isinstance(second, WriteFails)
        assert second is not first
        assert await client.public.get_time() == 1
        second.write_error = ConnectionResetError("closing transport")
        second.wrote_nothing = True  # the transport knows the frame never left
        with pytest.raises(ConnectionLost, match="not sent"):
            await client.private.buy("BTC-PERPETUAL", amount=10, type="market", label="b")
        assert client.state is ConnectionState.RECONNECTING
        await client.wait_ready(5)
        buy = {"instrument_name": "BTC-PERPETUAL", "amount": 10, "type": "market"}
        assert await client.call("private/buy", buy) == venue.results["private/buy"]
    # "a" may have reached the venue (outcome unknown), "b" never left the client.
    assert [p.get("label") for m, p in venue.calls if m == "private/buy"] == [None]


@pytest.mark.parametrize("queued", [False, True])
async def test_a_failed_stream_frame_write_ends_the_connection_too(queued: bool) -> None:
    # Opening or closing a long-lived stream writes without a waiting call: a failed
    # write there must end the connection as well, not wait for the read side.
    transport = WriteFails()
    closed: list[str] = []
    conn = RpcConnection(transport, on_closed=lambda _, reason: closed.append(reason))
    conn.start()
    transport.write_error = ConnectionResetError("reset by peer")
    if queued:  # a frame queued by the protocol, written by the connection's own task
        conn.protocol._queue_internal("public/test")
        conn.flush_soon()
        await until(lambda: conn.closed)
    else:
        with pytest.raises(ConnectionLost, match="send failed"):
            await conn.send(b'{"q":"open"}')
    assert conn.closed
    assert closed == ["send failed: reset by peer"]
    await conn.close()


@pytest.mark.parametrize("what", ["call", "subscribe"])
async def test_a_bot_retrying_at_once_while_reconnecting_lets_the_reconnect_run(
    what: str, venue: ScriptedDeribit, client: DeribitClient
) -> None:
    # Seen in a chaos run: a bot that retried a refused call at once (no sleep, no
    # wait_ready) spun forever. The refusal never suspended, so the event loop never ran
    # the reconnect, nor any timeout: the whole program hung.
    venue.transport.drop("cut")
    await until(lambda: client.state == "reconnecting")

    async def attempt() -> None:
        if what == "call":
            assert await client.public.get_time() == 1
        else:
            async with client.subscribe(TICKER):
                pass

    refusals = await retry_at_once(attempt, cap=100_000)  # old behaviour: nothing else runs
    # A call is refused while reconnecting; a subscribe waits for the reconnect instead.
    assert refusals >= 1 if what == "call" else refusals == 0
    assert client.state == "ready"
