"""Bad input is refused before any I/O with an error that names the argument (issue #8)."""

from __future__ import annotations

import inspect
import math
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import pytest

from deribit_client import (
    ClientClosed,
    ClientError,
    ConnectionLost,
    DeribitClient,
    DeribitError,
    HTTPStatusError,
    LateReply,
    OrderOutcomeUnknown,
    ReconnectPolicy,
    RequestTimeout,
    SubscriberOverflow,
    SubscriptionRejected,
    error_from_code,
)
from deribit_client._core.protocol import Reply
from deribit_client.models import AuthResult
from tests.helpers import MOCK_KEY, ScriptedDeribit


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"heartbeat_interval": math.nan}, "heartbeat_interval"),
        ({"heartbeat_interval": math.inf}, "heartbeat_interval"),
        ({"heartbeat_interval": 1}, "heartbeat_interval"),
        ({"reconnect": 1}, "reconnect"),
        ({"reconnect": "yes"}, "reconnect"),
        ({"subscriber_maxsize": "10"}, "maxsize"),
        ({"subscriber_maxsize": 0}, "maxsize"),
        ({"transport": "ws"}, "transport"),
        ({"connector": object()}, "connector"),
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": "8"}, "max_connections"),
        ({"max_connections": True}, "max_connections"),
        # a session passed in keeps its own connector's limit: say so, do not ignore it
        ({"max_connections": 4, "session": object()}, "connector of the session"),
        ({"http_auth": "digest"}, "http_auth"),
        ({"transport": "http", "connector": ScriptedDeribit().connector}, "transport='http'"),
        ({"client_id": "id"}, "both client_id and client_secret"),
        ({"client_id": "id", "client_secret": ""}, "both client_id and client_secret"),
        ({"client_id": 1, "client_secret": 2}, "client_id"),
        ({"credentials": object(), **MOCK_KEY}, "not both"),
        ({"subaccount_id": 7}, "subaccount_id"),
        ({"subaccount_id": 7, "http_auth": "basic", **MOCK_KEY}, "subaccount"),
        ({"transport": "http", "cancel_on_disconnect": True, **MOCK_KEY}, "needs a WebSocket"),
    ],
)
def test_constructor_arguments_are_checked(
    kwargs: dict[str, Any], names: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DERIBIT_CLIENT_ID", "DERIBIT_CLIENT_SECRET"):  # no key from the shell
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ClientError, match=names):
        DeribitClient(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_delay": math.nan},
        {"max_delay": math.inf},
        {"jitter": -1},
        {"max_attempts": 0},
        {"max_attempts": 1.5},
        {"enabled": 1},
        {"initial_delay": 10, "max_delay": 1},  # the cap would silently overrule it
    ],
)
def test_reconnect_policy_is_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ClientError):
        ReconnectPolicy(**kwargs)


class _Float(float):
    """A float subclass, as numpy's ``float64`` is."""


class _Leg(msgspec.Struct):
    """A user's own Struct in params: msgspec sends it as an object."""

    amount: float


class _NotAModel:
    """Neither a msgspec type nor one with ``_from_json``: no reply could be decoded into it."""


@pytest.fixture
async def client_and_venue() -> AsyncIterator[tuple[DeribitClient, ScriptedDeribit]]:
    venue = ScriptedDeribit()
    async with DeribitClient(connector=venue.connector, heartbeat_interval=None, **MOCK_KEY) as c:
        yield c, venue


async def test_calls_are_checked_before_anything_is_sent(
    client_and_venue: tuple[DeribitClient, ScriptedDeribit],
) -> None:
    client, venue = client_and_venue
    sent = len(venue.calls)
    quotes: list[Any] = [  # one malformed on purpose
        {"instrument_name": "BTC-PERPETUAL", "side": "buy", "amount": 10.0, "price": 1.0},
        {"instrument_name": "ETH-PERPETUAL", "bid": {"price": math.nan, "amount": 1.0}},
    ]
    bad_calls: list[tuple[Callable[[], Awaitable[Any]], str]] = [
        (lambda: client.call(123), "method"),  # type: ignore[call-overload]
        (lambda: client.call(None), "method"),  # type: ignore[call-overload]
        (lambda: client.call("public/get_time", [1, 2]), "mapping"),  # type: ignore[call-overload]
        (lambda: client.call("public/get_time", timeout=math.nan), "timeout"),
        (lambda: client.call("public/get_time", timeout=0), "timeout"),
        (lambda: client.call("public/get_time", timeout=-1), "timeout"),
        (lambda: client.call("public/get_time", timeout="5"), "timeout"),  # type: ignore[call-overload]
        (lambda: client.private.buy("BTC-PERPETUAL", amount=10, price=math.nan), "price"),
        (lambda: client.private.buy("BTC-PERPETUAL", amount=math.inf, price=1.0), "amount"),
        (lambda: client.private.buy("BTC-PERPETUAL", amount=1, price=1.0, label=123), "label"),  # type: ignore[arg-type]
        (lambda: client.private.buy("BTC-PERPETUAL", amount=1, price=1.0, timeout=0), "timeout"),
        (lambda: client.call("public/subscribe", {"channels": ["x"]}), "subscribe"),
        (lambda: client.call("public/get_time", result_type=_NotAModel), "result_type"),
        # Nested numbers go out as null too: a mass quote's price, a float subclass (numpy).
        (lambda: client.private.mass_quote("q1", "g", quotes), r"'quotes\[1\]\.bid\.price'"),
        (lambda: client.private.buy("BTC-PERPETUAL", amount=1, price=_Float("nan")), "price"),
        (lambda: client.call("private/x", {"legs": [_Leg(math.inf)]}), r"'legs\[0\]\.amount'"),
    ]
    for make, name in bad_calls:
        with pytest.raises(ClientError, match=name):
            await make()
    with pytest.raises(ClientError, match="maxsize"):
        client.subscribe("ticker.BTC-PERPETUAL.100ms", maxsize="10")  # type: ignore[call-overload]
    with pytest.raises(ClientError, match="policy"):
        client.subscribe("ticker.BTC-PERPETUAL.100ms", policy="latest")  # type: ignore[call-overload]
    with pytest.raises(ClientError, match="channel"):
        client.subscribe(42)  # type: ignore[call-overload]
    # Deribit's own subscribe takes a list: the mistake of passing one gets the remedy.
    with pytest.raises(ClientError, match=r"separate arguments: client\.subscribe\(\*names\)"):
        client.subscribe(["ticker.BTC-PERPETUAL.100ms"])  # type: ignore[call-overload]
    with pytest.raises(ClientError, match="not started"):  # neither entered nor awaited
        await anext(aiter(client.subscribe("ticker.BTC-PERPETUAL.100ms")))
    assert len(venue.calls) == sent
    assert client.pending_count == 0


class _Label(str):
    """A user's own string type: msgspec alone would not encode it."""


async def test_str_subclasses_pass_the_checks_and_go_out_as_their_text(
    client_and_venue: tuple[DeribitClient, ScriptedDeribit],
) -> None:
    client, venue = client_and_venue
    venue.results["private/get_open_orders_by_label"] = []
    assert await client.private.get_open_orders_by_label("BTC", label=_Label("grid-1")) == []
    assert await client.call(_Label("public/get_time")) == 1  # a method's name, too
    async with client.subscribe("user.orders.BTC-PERPETUAL.raw", label=_Label("bot")):
        pass
    sent = dict(venue.calls)
    assert sent["private/get_open_orders_by_label"]["label"] == "grid-1"
    assert sent["private/subscribe"]["label"] == "bot"


def test_auth_result_hides_tokens_everywhere() -> None:
    result = AuthResult(access_token="AT-SECRET", expires_in=900, refresh_token="RT-SECRET")
    shown = [repr(result), str(result), repr(list(result.__rich_repr__()))]
    assert not any("SECRET" in text for text in shown)


@pytest.mark.parametrize(
    "error",
    [
        error_from_code(10009, "not_enough_funds", {"reason": "x"}, method="private/buy"),
        error_from_code(10028, "too_many_requests", {"wait": 1.5}, request_id=7),
        RequestTimeout("public/get_time", 3, 1.5),
        HTTPStatusError(502, "bad gateway"),
        OrderOutcomeUnknown("private/buy", {"label": "x", "amount": 1}, 9, "timeout"),
        ConnectionLost("gone"),
        ClientClosed("closed"),
        SubscriberOverflow("ticker.X", 10, 11),
        SubscriptionRejected(["a", "b"]),
    ],
)
def test_errors_survive_a_pickle_round_trip(error: DeribitError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


def test_an_unknown_outcome_with_its_late_reply_survives_a_pickle_round_trip() -> None:
    # The reply names the error it settles: the copy's does too.
    error = OrderOutcomeUnknown("private/buy", {"label": "x"}, 9, "timeout")
    error.late_reply = LateReply(
        Reply(None, 9, "private/buy", {"order_id": "7"}, None, None), error
    )
    copy = pickle.loads(pickle.dumps(error))
    assert copy.late_reply is not None
    assert copy.late_reply.unknown is copy
    assert copy.late_reply.value == {"order_id": "7"}


async def test_an_http_connect_timeout_is_not_an_unknown_outcome_and_takes_no_credits() -> None:
    # Reported: a connect timeout made an order OrderOutcomeUnknown, though nothing was sent.
    import aiohttp

    from deribit_client import TransportError
    from deribit_client._client import ORDER_OUTCOMES
    from deribit_client._core.connection import RequestConnection
    from deribit_client._core.credits import CreditPool, try_take_credits
    from deribit_client._rpc.protocol import RpcProtocol
    from deribit_client.transports import HttpTransport

    class Unreachable:
        trace_configs: tuple[aiohttp.TraceConfig, ...] = ()  # none: cannot tell

        def post(self, *args: Any, **kwargs: Any) -> Any:
            raise aiohttp.ConnectionTimeoutError("connect timed out")

        async def close(self) -> None:
            pass

    transport = HttpTransport("http://127.0.0.1:9/api/v2", session=Unreachable())  # type: ignore[arg-type]
    conn: RequestConnection[RpcProtocol[None]] = RequestConnection(
        transport, RpcProtocol(outcome=ORDER_OUTCOMES)
    )
    pool = CreditPool("matching_engine", cost=1, capacity=10, refill=1, clock=lambda: 0.0)
    before = pool.available
    assert try_take_credits((pool,))
    with pytest.raises(TransportError) as info:
        await conn.call(
            1.0, False, (pool,), "private/buy", conn.protocol.prepare_request, "private/buy",
            {}, Any, None,
        )  # fmt: skip
    assert not isinstance(info.value, OrderOutcomeUnknown)
    assert conn.protocol.pending_count == 0
    assert (pool.available, pool.requests) == (before, 0)  # nothing reached the venue


def test_every_exberry_stream_takes_the_same_delivery_options() -> None:
    # Three Market Data streams took only `policy`: no callback, no bounded queue.
    from deribit_client.exberry import ExberryClient, ExberryStream

    options = {"policy", "maxsize", "callback", "on_error"}
    streams = {
        name: inspect.signature(method)
        for name, method in inspect.getmembers(ExberryClient, inspect.isfunction)
        if not name.startswith("_")
        and ExberryStream.__name__ in str(inspect.signature(method).return_annotation)
    }
    assert len(streams) >= 16
    for name, signature in streams.items():
        kinds = {p.name: p.kind for p in signature.parameters.values()}
        assert options <= set(kinds), name
        assert all(kinds[o] is inspect.Parameter.KEYWORD_ONLY for o in options), name
