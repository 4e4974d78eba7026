"""The engine's connection driver running Deribit's protocol over the in-memory mock transport."""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import Iterable
from typing import Any

import msgspec
import pytest

from deribit_client import (
    ConnectionLost,
    InvalidRequestError,
    OrderOutcomeUnknown,
    RequestTimeout,
)
from deribit_client._rpc.protocol import NotificationParams
from deribit_client.transports import MockTransport
from tests.helpers import RpcConnection, until


def answer(frame: bytes, result: Any) -> bytes:
    request = msgspec.json.decode(frame)
    return msgspec.json.encode({"jsonrpc": "2.0", "id": request["id"], "result": result})


def echo(frame: bytes) -> Iterable[bytes]:
    request = msgspec.json.decode(frame)
    return [answer(frame, request["params"])]


@pytest.fixture
async def silent() -> Any:
    transport = MockTransport()
    dispatcher = RpcConnection(transport, default_timeout=5)
    dispatcher.start()
    yield transport, dispatcher
    await dispatcher.close()


async def test_answered_calls_leave_no_garbage_for_the_cycle_collector() -> None:
    # Reported (benchmarks): every answered call left its future and reply in a reference
    # cycle, so only the cycle collector freed them: more collections under load, and
    # memory held longer than the call.
    dispatcher = RpcConnection(MockTransport(echo))
    dispatcher.start()
    try:
        await dispatcher.rpc("public/echo", {"n": 0}, Any)  # warm caches
        gc.collect()
        gc.disable()
        try:
            results = await asyncio.gather(
                *(dispatcher.rpc("public/echo", {"n": n}, Any) for n in range(100))
            )
            assert results == [{"n": n} for n in range(100)]
            assert gc.collect() == 0
        finally:
            gc.enable()
    finally:
        await dispatcher.close()


async def test_thousand_concurrent_calls_answered_shuffled_resolve_to_their_own_result() -> None:
    held: list[bytes] = []

    def handler(frame: bytes) -> Iterable[bytes]:
        held.append(answer(frame, msgspec.json.decode(frame)["params"]["n"]))
        if len(held) < 1000:
            return []
        random.Random(1).shuffle(held)
        return held

    dispatcher = RpcConnection(MockTransport(handler))
    dispatcher.start()
    try:
        replies = await asyncio.gather(
            *(dispatcher.rpc("public/echo", {"n": n}, int) for n in range(1000))
        )
        assert replies == list(range(1000))
        assert dispatcher.protocol.pending_count == 0
    finally:
        await dispatcher.close()


async def test_timeout_leaves_no_pending_entry_and_late_reply_is_counted(silent: Any) -> None:
    transport, dispatcher = silent
    with pytest.raises(RequestTimeout) as info:
        await dispatcher.rpc("public/get_time", None, int, timeout=0.01)
    assert info.value.method == "public/get_time"
    assert dispatcher.protocol.pending_count == 0
    transport.push(answer(transport.sent[0], 1))
    await until(lambda: dispatcher.protocol.late_replies == 1)


async def test_cancelled_caller_leaves_no_pending_entry(silent: Any) -> None:
    transport, dispatcher = silent
    task = asyncio.create_task(dispatcher.rpc("public/get_time", None, int))
    await until(lambda: len(transport.sent) == 1)
    assert dispatcher.protocol.pending_count == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dispatcher.protocol.pending_count == 0


async def test_dropped_connection_fails_every_waiter_at_once_and_resends_nothing(
    silent: Any,
) -> None:
    transport, dispatcher = silent
    closed: list[str] = []
    dispatcher._on_closed = lambda _conn, reason: closed.append(reason)
    reads = [asyncio.create_task(dispatcher.rpc("public/get_time", None, int)) for _ in range(5)]
    buy = asyncio.create_task(
        dispatcher.rpc("private/buy", {"instrument_name": "X", "label": "mine"}, Any)
    )
    await until(lambda: len(transport.sent) == 6)
    transport.drop("cable cut")
    results = await asyncio.gather(*reads, buy, return_exceptions=True)
    assert all(type(r) is ConnectionLost for r in results[:5])
    assert isinstance(results[5], OrderOutcomeUnknown)
    assert results[5].label == "mine"
    assert len(transport.sent) == 6
    assert closed
    assert "cable cut" in closed[0]
    with pytest.raises(ConnectionLost):
        await dispatcher.rpc("public/get_time", None, int)


async def test_read_loop_survives_garbage_unknown_ids_and_idless_errors(silent: Any) -> None:
    transport, dispatcher = silent
    transport.push(b"not json at all")
    transport.push(b'{"jsonrpc":"2.0","id":424242,"result":1}')
    transport.push(b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}}')
    transport.push(b'{"jsonrpc":"2.0","id":"zzz","result":1}')
    transport.push(b"[]")
    task = asyncio.create_task(dispatcher.rpc("public/get_time", None, int))
    await until(lambda: len(transport.sent) == 1)
    transport.push(answer(transport.sent[0], 77))
    assert await task == 77
    assert dispatcher.protocol.violations == 3
    assert dispatcher.protocol.unknown_replies == 2


async def test_error_reply_raises_typed_error(silent: Any) -> None:
    transport, dispatcher = silent
    task = asyncio.create_task(dispatcher.rpc("public/get_instrument", {}, Any))
    await until(lambda: len(transport.sent) == 1)
    rid = msgspec.json.decode(transport.sent[0])["id"]
    transport.push(
        msgspec.json.encode(
            {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {
                    "code": -32602,
                    "message": "Invalid params",
                    "data": {"param": "instrument_name"},
                },
            }
        )
    )
    with pytest.raises(InvalidRequestError) as info:
        await task
    assert info.value.data == {"param": "instrument_name"}


async def test_test_request_is_answered_by_the_core(silent: Any) -> None:
    transport, _dispatcher = silent
    transport.push(b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}')
    await until(lambda: len(transport.sent) == 1)
    assert msgspec.json.decode(transport.sent[0])["method"] == "public/test"


async def test_notifications_reach_the_handler_in_order() -> None:
    seen: list[NotificationParams] = []
    transport = MockTransport()
    dispatcher = RpcConnection(transport, on_event=seen.append)  # type: ignore[arg-type]
    dispatcher.start()
    try:
        for n in range(3):
            transport.push(
                b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"c","data":%d}}' % n
            )
        await until(lambda: len(seen) == 3)
        assert [bytes(p.data) for p in seen] == [b"0", b"1", b"2"]
    finally:
        await dispatcher.close()


async def test_close_fails_waiters_and_is_idempotent() -> None:
    transport = MockTransport(echo)
    dispatcher = RpcConnection(transport)
    dispatcher.start()
    assert await dispatcher.rpc("public/x", {"a": 1}, Any) == {"a": 1}
    transport._handler = None
    waiting: asyncio.Future[Any] = asyncio.ensure_future(dispatcher.rpc("public/x", {}, Any))
    await until(lambda: len(transport.sent) == 2)
    await dispatcher.close()
    await dispatcher.close()
    with pytest.raises(ConnectionLost):
        await waiting
    assert dispatcher.closed


async def test_short_timeout_fires_on_time_after_a_longer_one_was_armed(silent: Any) -> None:
    _transport, dispatcher = silent
    loop = asyncio.get_running_loop()
    slow = asyncio.create_task(dispatcher.rpc("public/get_time", None, int, timeout=30))
    await until(lambda: dispatcher.protocol.pending_count == 1)
    started = loop.time()
    with pytest.raises(RequestTimeout):
        await dispatcher.rpc("public/status", None, Any, timeout=0.05)
    assert loop.time() - started < 1.0
    assert dispatcher.protocol.pending_count == 1  # the slow call is still waiting
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert dispatcher.protocol.pending_count == 0


class FailingAfterWrite(MockTransport):
    """Writes the frame, then fails like a drain on a dying socket."""

    async def send(self, frame: bytes) -> None:
        self.sent.append(frame)
        raise ConnectionResetError("connection reset while draining")


async def test_send_failure_after_writing_makes_an_order_outcome_unknown() -> None:
    dispatcher = RpcConnection(FailingAfterWrite())
    dispatcher.start()
    try:
        with pytest.raises(OrderOutcomeUnknown) as info:
            await dispatcher.rpc("private/sell", {"label": "s1"}, Any)
        assert info.value.label == "s1"
        with pytest.raises(ConnectionLost):
            await dispatcher.rpc("public/get_time", None, int)
        assert dispatcher.protocol.pending_count == 0
    finally:
        await dispatcher.close()


@pytest.mark.parametrize(
    "method", ["private/execute_block_trade", "private/move_positions", "private/accept_block_rfq"]
)
async def test_trades_outside_the_book_are_outcome_unknown_when_the_reply_is_lost(
    method: str,
) -> None:
    # They move positions like an order does: a lost reply may still have traded.
    dispatcher = RpcConnection(FailingAfterWrite())
    dispatcher.start()
    try:
        with pytest.raises(OrderOutcomeUnknown) as info:
            await dispatcher.rpc(method, {"currency": "BTC"}, Any)
        assert info.value.method == method
    finally:
        await dispatcher.close()


class ResetOnSend(MockTransport):
    """Fails every send the way aiohttp does when the peer reset the connection."""

    async def send(self, frame: bytes) -> None:
        raise ConnectionResetError("Cannot write to closing transport")


async def test_reset_while_answering_a_heartbeat_is_a_lost_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: list[str] = []
    transport = ResetOnSend()
    dispatcher = RpcConnection(transport, on_closed=lambda _conn, reason: closed.append(reason))
    dispatcher.start()
    try:
        transport.push(b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}')
        await until(lambda: dispatcher.closed)
        assert closed == ["Cannot write to closing transport"]
        assert not [r for r in caplog.records if r.levelname == "ERROR"]  # not a crash
    finally:
        await dispatcher.close()
