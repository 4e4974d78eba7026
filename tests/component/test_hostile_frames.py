"""No frame can end the read loop, fail another call, or escape offline decoding as anything
but a DeribitError (issue #8: 2.2 % of 100,000 mutated frames killed the loop)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from deribit_client import (
    ClientError,
    DeribitClient,
    DeribitError,
    Gap,
    Notification,
    ReconnectPolicy,
    decode_response,
)
from deribit_client._client import ORDER_OUTCOMES
from deribit_client._rpc.protocol import Reply, RpcProtocol, Violation
from deribit_client.models import OrderBook, OrderResponse, Ticker
from tests.helpers import MOCK_KEY, SILENT, ScriptedDeribit, until

ORDERS = "user.orders.BTC-PERPETUAL.raw"

HOSTILE: list[bytes] = [
    b"[" * 1000 + b"]" * 1000,  # RecursionError
    b'{"jsonrpc":"2.0","id":' + b"[" * 1000 + b"]" * 1000 + b"}",
    b'{"jsonrpc":"2.0","id":1,"result":"\xff\xfe"}',  # invalid UTF-8 in a string
    b'{"jsonrpc":"2.0","id":"\xc2\xb2","result":1}',  # "²": isdigit() but not int()
    b'{"jsonrpc":"2.0","id":"' + b"9" * 5000 + b'","result":1}',  # > 4,300 digits
    b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"result":1}',
    b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"x","data":"\xff"}}',
    b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":' + b"[" * 900 + b"]" * 900 + b"}}",
    b'{"jsonrpc":"2.0","id":1,"error":{"code":' + b"9" * 5000 + b',"message":"x"}}',
    b"\x00\x01\x02",
    b"",
]


class NoDecoder:
    """A type msgspec accepts only with a dec_hook: no reply could ever fit it."""


@pytest.fixture
def venue() -> ScriptedDeribit:
    return ScriptedDeribit()


@pytest.fixture
async def client(venue: ScriptedDeribit) -> AsyncIterator[DeribitClient]:
    policy = ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0)
    async with DeribitClient(
        connector=venue.connector, heartbeat_interval=None, reconnect=policy, **MOCK_KEY
    ) as c:
        yield c


async def test_hostile_frames_leave_the_connection_and_calls_in_flight_alone(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    venue.results["private/buy"] = lambda params: SILENT
    order = asyncio.create_task(client.private.buy("BTC-PERPETUAL", amount=10, type="market"))
    await until(lambda: bool(venue.held))
    for frame in HOSTILE:
        venue.transport.push(frame)
    venue.transport.push(" \ud800 ")  # a str frame with a lone surrogate
    request = msgspec.json.decode(venue.held[0])
    venue.transport.push(
        msgspec.json.encode(
            {"jsonrpc": "2.0", "id": request["id"], "result": {"order": _order(), "trades": []}}
        )
    )
    result = await order
    assert result.order.order_id == "1"
    assert len(venue.connector.transports) == 1  # never reconnected
    assert client.state == "ready"
    assert await client.public.get_time() == 1


async def test_invalid_utf8_notification_of_a_private_channel_is_counted_and_marked(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    async with client.subscribe(ORDERS) as sub:
        venue.transport.push(
            b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"'
            + ORDERS.encode()
            + b'","data":{"order_id":"\xff"}}}'
        )
        venue.notify(ORDERS, _order())
        marker, order = await anext(sub), await anext(sub)
        assert marker == Gap(ORDERS, "malformed")
        assert isinstance(order, Notification)
        assert client.subscriptions.malformed == 1


async def test_a_result_type_no_reply_can_fit_is_refused_before_sending(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    sent = len(venue.calls)
    with pytest.raises(ClientError, match="NoDecoder"):
        await client.call("public/get_time", result_type=NoDecoder)
    with pytest.raises(ClientError, match="NoDecoder"):
        await client.call("public/get_time", result_type=list[NoDecoder])
    assert len(venue.calls) == sent


def test_the_fast_path_resolves_only_the_id_of_the_envelope() -> None:
    # Reported: the first `"id":` within 64 bytes was trusted, so a result that precedes
    # `id` could resolve the wrong waiter.
    protocol: RpcProtocol[str] = RpcProtocol()
    first, _ = protocol.prepare_request("public/x", None, Any, None, "first")
    second, _ = protocol.prepare_request("public/x", None, Any, None, "second")
    frame = b'{"result":{"id":%d,"v":1},"id":%d,"jsonrpc":"2.0"}' % (second, first)
    event = protocol.receive(frame)
    assert isinstance(event, Reply)
    assert (event.waiter, event.request_id) == ("first", first)
    assert protocol.pending_count == 1


def mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        at = rng.randrange(len(data) + 1)
        if choice < 0.3 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.5:
            data[at:at] = rng.choice([b"[" * 600, b'"\xff"', b"9" * 4400, b'"\xc2\xb2"', b"{"])
        elif choice < 0.7 and data:
            del data[at : at + rng.randint(1, 8)]
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 5)))
    return bytes(data)


SEEDS = [
    b'{"jsonrpc":"2.0","id":1,"result":{"instrument_name":"BTC-PERPETUAL","timestamp":1}}',
    b'{"jsonrpc":"2.0","id":2,"error":{"code":10009,"message":"not_enough_funds"}}',
    b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.100ms",'
    b'"data":{"instrument_name":"BTC-PERPETUAL","timestamp":3}}}',
    b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}',
    b'{"jsonrpc":"2.0","id":"3","result":[1,2,{"a":null}],"usIn":1,"usOut":2,"usDiff":1}',
]


class Route:
    def __init__(self) -> None:
        from deribit_client._rpc.codec import notification_decoder

        self.frame_decoder = notification_decoder(Ticker)
        self.raw_frames = False


class Ids:
    """Request ids counting up from 10, or the ones a test forces next."""

    def __init__(self) -> None:
        self.counter = itertools.count(10)
        self.forced: list[int] = []

    def __iter__(self) -> Ids:
        return self

    def __next__(self) -> int:
        return self.forced.pop() if self.forced else next(self.counter)


def test_five_thousand_mutated_frames_never_raise() -> None:
    rng = random.Random(8)
    ids = Ids()
    protocol: RpcProtocol[str] = RpcProtocol(
        ids=ids,
        routes={b"ticker.BTC-PERPETUAL.100ms": Route()},  # type: ignore[dict-item]
        outcome=ORDER_OUTCOMES,
    )
    outcomes: dict[str, int] = {}
    for n in range(5000):
        if n % 50 == 0:
            for _ in range(3):
                protocol.prepare_request("public/ticker", None, Ticker, None, "w")
            # and orders whose callers gave up, with the seeds' ids: late replies
            for request_id in (1, 2):
                ids.forced.append(request_id)
                protocol.prepare_request("private/buy", {}, OrderResponse, None, "b")
                protocol.abandon(request_id)
        frame = mutate(rng, rng.choice(SEEDS))
        event = protocol.receive(frame)  # must not raise
        name = type(event).__name__
        outcomes[name] = outcomes.get(name, 0) + 1
        for method, tp in (("public/ticker", Ticker), ("public/get_order_book", OrderBook)):
            with contextlib.suppress(DeribitError):
                decode_response(method, frame, tp)
        with contextlib.suppress(DeribitError):
            decode_response("public/ticker", frame.decode("latin-1") + "\ud800")
    assert outcomes.get("Violation", 0) > 100  # the fuzz really produced garbage
    assert outcomes.get("LateReply", 0) > 100  # and reached the late-reply path


async def test_five_thousand_mutated_frames_never_end_the_read_loop(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    rng = random.Random(9)
    for _ in range(5000):
        venue.transport.push(mutate(rng, rng.choice(SEEDS)))
    await until(lambda: venue.transport._incoming.empty())
    assert client.state == "ready"
    assert len(venue.connector.transports) == 1
    assert await client.public.get_time() == 1


async def test_mutated_notifications_a_lone_reader_decodes_become_counted_markers(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    # A lone reader decodes its channel's frames as it takes them: whatever those frames
    # hold, iterating yields notifications or malformed markers, one counted per marker.
    rng = random.Random(10)
    channel = "ticker.BTC-PERPETUAL.100ms"
    async with client.subscribe(channel) as sub:
        for _ in range(5000):
            venue.transport.push(mutate(rng, SEEDS[2]))
        venue.notify(channel, {"instrument_name": "BTC-PERPETUAL", "timestamp": -1})
        kinds: dict[str, int] = {}
        async for item in sub:
            if isinstance(item, Gap):
                assert item == Gap(channel, "malformed")
                kinds["gap"] = kinds.get("gap", 0) + 1
                continue
            assert type(item.data) is Ticker
            kinds["ticker"] = kinds.get("ticker", 0) + 1
            if item.data.timestamp == -1:
                break
    assert kinds["gap"] > 100  # the fuzz really reached the reader
    assert kinds["gap"] == client.subscriptions.malformed
    assert client.state == "ready"


@pytest.mark.parametrize("frame", [*HOSTILE, " \ud800 ", "[" * 1000])
def test_offline_decoding_raises_only_deribit_errors(frame: bytes | str) -> None:
    with pytest.raises(DeribitError):
        decode_response("public/ticker", frame)
    with pytest.raises(DeribitError):
        decode_response("public/ticker", frame, Ticker)


def test_offline_decoding_refuses_an_undecodable_type() -> None:
    with pytest.raises(ClientError, match="NoDecoder"):
        decode_response("public/x", b'{"jsonrpc":"2.0","id":1,"result":{}}', NoDecoder)


def test_a_violation_never_carries_a_token() -> None:
    violation = Violation("x", b'{"access_token":"secret-value"')
    assert b"secret-value" not in violation.excerpt


def _order() -> dict[str, Any]:
    return {
        "order_id": "1",
        "instrument_name": "BTC-PERPETUAL",
        "direction": "buy",
        "amount": 10.0,
        "filled_amount": 10.0,
        "order_state": "filled",
        "order_type": "market",
        "creation_timestamp": 1,
        "last_update_timestamp": 1,
    }
