"""What an HTTP client says when a server (a proxy, a broken gateway) answers a call with
something that is not its reply: each case a clear error naming the call, never a hang,
and nothing left waiting afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import msgspec
import pytest
from aiohttp import web

from deribit_client import (
    ConnectionLost,
    DeribitClient,
    HTTPStatusError,
    OrderOutcomeUnknown,
    ProtocolError,
    ResponseDecodeError,
)
from tests.helpers import loopback, until

Answer = Callable[[bytes], Awaitable[web.Response]]


class Server:
    """A loopback HTTP server whose answer to every request a test chooses."""

    def __init__(self) -> None:
        self.answer: Answer = self.proper
        self.url = ""
        self.closing = asyncio.Event()  # ends answers held back, so the server can stop

    @staticmethod
    async def proper(body: bytes) -> web.Response:
        """A venue's answer: a token for ``public/auth``, 1 for anything else."""
        request = msgspec.json.decode(body)
        result = (
            {"access_token": "t", "expires_in": 900} if request["method"] == "public/auth" else 1
        )
        return web.json_response({"jsonrpc": "2.0", "id": request["id"], "result": result})

    async def handle(self, request: web.Request) -> web.Response:
        return await self.answer(await request.read())


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    server = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    async with loopback(app) as port:
        server.url = f"http://127.0.0.1:{port}"
        try:
            yield server
        finally:
            server.closing.set()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[DeribitClient]:
    async with DeribitClient(
        url=server.url, transport="http", timeout=5, client_id="bot", client_secret="s3cret"
    ) as client:
        yield client


def body(data: bytes, status: int = 200) -> Answer:
    async def answer(_: bytes) -> web.Response:
        return web.Response(body=data, status=status, content_type="application/json")

    return answer


def pending(client: DeribitClient) -> int:
    conn = client._supervisor.ready_connection
    assert conn is not None
    return conn.protocol.pending_count


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"jsonrpc":"2.0","id":987654,"result":1}', "does not answer request id"),
        (b"not json", "not a JSON-RPC object"),
        (b"", "not a JSON-RPC object"),
        (b"[1, 2]", "not a JSON-RPC object"),
        (b'{"jsonrpc":"2.0"}', "frame without id"),
    ],
)
async def test_a_body_that_is_not_the_calls_reply_is_a_protocol_error(
    server: Server, client: DeribitClient, data: bytes, message: str
) -> None:
    server.answer = body(data)
    with pytest.raises(ProtocolError, match=message) as caught:
        await client.public.get_time()
    assert "public/get_time" in str(caught.value)
    assert pending(client) == 0
    server.answer = Server.proper  # the next call is answered properly and succeeds
    assert await client.public.get_time() == 1


async def test_a_result_of_the_wrong_type_names_the_method_and_the_type(
    server: Server, client: DeribitClient
) -> None:
    async def text_result(data: bytes) -> web.Response:
        request = msgspec.json.decode(data)
        return web.json_response({"jsonrpc": "2.0", "id": request["id"], "result": "noon"})

    server.answer = text_result
    with pytest.raises(ResponseDecodeError, match=r"public/get_time.*int"):
        await client.public.get_time()


async def test_a_gateway_error_leaves_an_order_unknown_and_a_refusal_is_a_status_error(
    server: Server, client: DeribitClient
) -> None:
    server.answer = body(b"<html>bad gateway</html>", status=502)
    with pytest.raises(ConnectionLost, match="HTTP 502"):
        await client.public.get_time()
    # The gateway may have passed an order on before failing: its outcome is unknown.
    with pytest.raises(OrderOutcomeUnknown):
        await client.private.buy("BTC-PERPETUAL", amount=10, price=50_000.0, label="mine")
    server.answer = body(b"too many requests", status=429)
    with pytest.raises(HTTPStatusError) as refused:
        await client.public.get_time()
    assert refused.value.status == 429
    assert pending(client) == 0


@pytest.mark.parametrize("mutation", [False, True])
async def test_cancelling_a_call_waiting_on_the_server_leaves_nothing_waiting(
    server: Server, client: DeribitClient, mutation: bool, caplog: pytest.LogCaptureFixture
) -> None:
    arrived = asyncio.Event()

    async def held(data: bytes) -> web.Response:
        arrived.set()
        await server.closing.wait()
        return await Server.proper(data)

    server.answer = held
    sent: Coroutine[Any, Any, object] = (
        client.private.buy("BTC-PERPETUAL", amount=10, type="market", label="b-1")
        if mutation
        else client.public.get_time()
    )
    call = asyncio.ensure_future(sent)
    await asyncio.wait_for(arrived.wait(), 5)
    caplog.clear()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert pending(client) == 0
    # The server has the order request: a warning carries its unknown outcome.
    unknown = [r.outcome_unknown for r in caplog.records if hasattr(r, "outcome_unknown")]
    assert [(u.method, u.label) for u in unknown] == ([("private/buy", "b-1")] if mutation else [])
    server.answer = Server.proper
    assert await client.public.get_time() == 1


async def test_an_order_cancelled_while_waiting_for_a_pooled_connection_was_never_sent(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    # Its only connection taken by a slow read, the buy waits for the pool: cancelled
    # there, it never left, so it is no unknown outcome (it used to be reported as one).
    arrived: list[str] = []

    async def held(data: bytes) -> web.Response:
        arrived.append(msgspec.json.decode(data)["method"])
        if arrived[-1] == "public/get_time":
            await server.closing.wait()
        return await Server.proper(data)

    async with DeribitClient(
        url=server.url, transport="http", max_connections=1, client_id="bot",
        client_secret="s3cret",
    ) as client:  # fmt: skip
        server.answer = held
        slow = asyncio.ensure_future(client.public.get_time())
        await until(lambda: "public/get_time" in arrived)
        caplog.clear()
        buy = asyncio.ensure_future(
            client.private.buy("BTC-PERPETUAL", amount=10, type="market", label="b-2")
        )
        await until(lambda: pending(client) == 2)
        buy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await buy
        assert pending(client) == 1
        assert not [r for r in caplog.records if hasattr(r, "outcome_unknown")]
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
    assert "private/buy" not in arrived
