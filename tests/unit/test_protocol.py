"""The sans-I/O core: bytes in, events out; no sockets, no event loop."""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import math
import numbers
from decimal import Decimal
from fractions import Fraction
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deribit_client import (
    ClientError,
    ConnectionLost,
    InsufficientFundsError,
    LateReply,
    NotFoundError,
    OrderOutcomeUnknown,
    ProtocolError,
    RequestTimeout,
    RequestTooLarge,
    ResponseDecodeError,
)
from deribit_client._client import ORDER_OUTCOMES
from deribit_client._core.protocol import UNSETTLED_KEPT
from deribit_client._rpc.protocol import (
    Heartbeat,
    NotificationParams,
    Reply,
    RpcProtocol,
    UnmatchedReply,
    Violation,
)
from deribit_client.models import Ticker


class Recorder:
    """A route as the subscription side provides it."""

    def __init__(self, frame_decoder: msgspec.json.Decoder[Any], raw_frames: bool = False) -> None:
        self.frame_decoder = frame_decoder
        self.raw_frames = raw_frames

    def deliver(self, item: Any) -> None:
        raise AssertionError("the protocol never delivers by itself")

    def malformed(self, reason: str) -> None:
        raise AssertionError("the protocol never reports by itself")


def make() -> RpcProtocol[str]:
    return RpcProtocol(ids=itertools.count(1), outcome=ORDER_OUTCOMES)


def reply(request_id: Any, result: Any = None, **extra: Any) -> bytes:
    envelope = {"jsonrpc": "2.0", "id": request_id, "result": result, **extra}
    return msgspec.json.encode(envelope)


def test_request_uses_named_params_integer_ids_and_omits_none() -> None:
    protocol = make()
    rid, frame = protocol.prepare_request(
        "public/get_instruments", {"currency": "BTC", "kind": None}, Any, None, "w"
    )
    assert rid == 1
    assert msgspec.json.decode(frame) == {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "public/get_instruments",
        "params": {"currency": "BTC"},
    }
    _, second = protocol.prepare_request("public/get_time", None, Any, None, "w")
    assert msgspec.json.decode(second)["id"] == 2
    assert msgspec.json.decode(second)["params"] == {}


class _Leg(msgspec.Struct):
    amount: Decimal


def test_decimals_go_out_as_json_numbers_with_every_digit() -> None:
    # As text Deribit refuses them ("wrong format"); as floats they would lose digits.
    price = "50000.123456789012345"
    params = {"price": Decimal(price), "legs": [{"amount": Decimal("1E-8")}, _Leg(Decimal("2.50"))]}
    _, frame = make().prepare_request("private/buy", params, Any, None, "w")
    assert f'"price":{price},'.encode() in frame
    assert b'"legs":[{"amount":1E-8},{"amount":2.50}]' in frame
    assert msgspec.json.decode(frame)["params"]["price"] == float(price)


# 1E+400 overflows the double a venue parses it into: the simulator (like any such
# parser) answered with a parse error without an id, and the call waited out its timeout.
@pytest.mark.parametrize("bad", ["NaN", "-Infinity", "sNaN", "1E+400", "-2E+308"])
def test_a_decimal_that_is_not_finite_is_refused_by_name(bad: str) -> None:
    protocol = make()
    with pytest.raises(ClientError, match=r"'legs\[0\]\.amount' is Decimal"):
        protocol.prepare_request("private/x", {"legs": [_Leg(Decimal(bad))]}, Any, None, "w")
    with pytest.raises(ClientError, match=r"'price' is Decimal"):
        protocol.prepare_request("private/buy", {"price": Decimal(bad)}, Any, None, "w")
    assert protocol.pending_count == 0


def test_aware_datetimes_go_out_as_deribits_milliseconds() -> None:
    # Deribit counts every moment in milliseconds since the epoch; msgspec would send a
    # datetime as ISO text, which Deribit answers with 'wrong format'.
    paris = dt.timezone(dt.timedelta(hours=1))
    params = {
        "instrument_name": "BTC-PERPETUAL",
        "start_timestamp": dt.datetime(2026, 11, 1, 1, 0, 0, 123999, tzinfo=paris),
        "end_timestamp": dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        "count": None,
    }
    _, frame = make().prepare_request("public/x", params, Any, None, "w")
    assert msgspec.json.decode(frame)["params"] == {
        "instrument_name": "BTC-PERPETUAL",
        "start_timestamp": 1793491200123,  # the microseconds below a millisecond dropped
        "end_timestamp": 1793577600000,
    }


@pytest.mark.parametrize(
    ("moment", "problem"),
    [
        (dt.datetime(2026, 11, 1), "must be an aware datetime"),
        (dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), "before the Unix epoch"),
    ],
)
def test_a_naive_or_pre_epoch_datetime_is_refused_by_name(
    moment: dt.datetime, problem: str
) -> None:
    protocol = make()
    with pytest.raises(ClientError, match=f"^end_timestamp .*{problem}"):
        protocol.prepare_request("public/x", {"end_timestamp": moment}, Any, None, "w")
    assert protocol.pending_count == 0


def test_numpys_numbers_go_out_as_the_numbers_they_hold() -> None:
    # What a DataFrame hands out: int64 amounts, float32 prices, numpy bools, arrays.
    params = {
        "amount": np.int64(30),
        "price": np.float32(0.5),
        "post_only": np.bool_(True),
        "legs": [{"ratio": np.uint8(2)}],
        "ids": np.array([1, 2]),
    }
    _, frame = make().prepare_request("private/buy", params, Any, None, "w")
    assert msgspec.json.decode(frame)["params"] == {
        "amount": 30, "price": 0.5, "post_only": True, "legs": [{"ratio": 2}], "ids": [1, 2],
    }  # fmt: skip
    with pytest.raises(ClientError, match=r"'legs\[0\]\.price' is nan"):
        make().prepare_request(
            "private/x", {"legs": [{"price": np.float32("nan")}]}, Any, None, "w"
        )


def test_other_numbers_go_out_as_ints_and_floats_but_a_fraction_is_refused() -> None:
    class Count:  # another library's integer, an Integral by registration
        def __int__(self) -> int:
            return 7

    numbers.Integral.register(Count)
    _, frame = make().prepare_request("private/x", {"a": Count()}, Any, None, "w")
    assert msgspec.json.decode(frame)["params"] == {"a": 7}
    with pytest.raises(ClientError, match=r"private/x: Fraction values .* use Decimal"):
        make().prepare_request("private/x", {"a": Fraction(1, 3)}, Any, None, "w")
    with pytest.raises(ClientError, match=r"private/x: object values cannot be sent"):
        make().prepare_request("private/x", {"a": [object()]}, Any, None, "w")


def test_str_subclasses_go_out_as_their_text() -> None:
    class Label(str):
        pass

    class Side(str, enum.Enum):  # noqa: UP042  (a user's older enum)
        BUY = "buy"

    params = {"label": Label("grid-1"), "direction": Side.BUY, "names": [np.str_("BTC")]}
    _, frame = make().prepare_request("private/x", params, Any, None, "w")
    assert msgspec.json.decode(frame)["params"] == {
        "label": "grid-1", "direction": "buy", "names": ["BTC"],
    }  # fmt: skip


def test_oversized_request_is_refused_before_it_is_pending() -> None:
    protocol = make()
    with pytest.raises(RequestTooLarge, match="32768"):
        protocol.prepare_request("private/subscribe", {"channels": ["x" * 40_000]}, Any, None, "w")
    assert protocol.pending_count == 0


def test_unencodable_params_name_the_method() -> None:
    with pytest.raises(ClientError, match="public/ticker"):
        make().prepare_request("public/ticker", {"instrument_name": object()}, Any, None, "w")


def test_result_is_decoded_into_the_requested_type() -> None:
    protocol = make()
    rid, _ = protocol.prepare_request("public/ticker", {}, Ticker, None, "waiter")
    event = protocol.receive(
        reply(
            rid,
            {"instrument_name": "BTC-PERPETUAL", "timestamp": 5, "best_bid_price": 1.5},
            usIn=10,
            usOut=20,
            usDiff=10,
            testnet=True,
            unknown_member={"x": 1},
        )
    )
    assert isinstance(event, Reply)
    assert event.waiter == "waiter"
    assert event.error is None
    assert event.value == Ticker(instrument_name="BTC-PERPETUAL", timestamp=5, best_bid_price=1.5)
    assert (event.envelope.usIn, event.envelope.usDiff, event.envelope.testnet) == (10, 10, True)
    assert protocol.pending_count == 0


def test_null_result_is_a_value_not_a_violation() -> None:
    protocol = make()
    rid, _ = protocol.prepare_request("public/x", {}, Any, None, "w")
    event = protocol.receive(reply(rid, None))
    assert isinstance(event, Reply)
    assert event.error is None
    assert event.value is None


def test_string_id_echo_still_matches() -> None:
    protocol = make()
    rid, _ = protocol.prepare_request("public/get_time", {}, int, None, "w")
    event = protocol.receive(reply(str(rid), 123))
    assert isinstance(event, Reply)
    assert event.value == 123


def test_error_reply_becomes_typed_error_with_context() -> None:
    protocol = make()
    rid, _ = protocol.prepare_request("private/buy", {"label": "a"}, Any, None, "w")
    frame = msgspec.json.encode(
        {"jsonrpc": "2.0", "id": rid, "error": {"code": 10009, "message": "not_enough_funds"}}
    )
    event = protocol.receive(frame)
    assert isinstance(event, Reply)
    assert isinstance(event.error, InsufficientFundsError)
    assert (event.error.code, event.error.method, event.error.request_id) == (
        10009,
        "private/buy",
        rid,
    )


def test_result_that_does_not_fit_the_type_fails_that_call_only() -> None:
    protocol = make()
    rid, _ = protocol.prepare_request("public/ticker", {}, Ticker, None, "w")
    event = protocol.receive(reply(rid, {"instrument_name": 5}))
    assert isinstance(event, Reply)
    assert isinstance(event.error, ResponseDecodeError)
    assert "public/ticker" in str(event.error)


def test_reply_with_neither_result_nor_error_is_a_protocol_error() -> None:
    protocol = make()
    rid, _ = protocol.prepare_request("public/test", {}, Any, None, "w")
    event = protocol.receive(b'{"jsonrpc":"2.0","id":1}')
    assert isinstance(event, Reply)
    assert type(event.error) is ProtocolError
    assert rid == 1


@pytest.mark.parametrize(
    "frame",
    [b"not json", b"[1,2,3]", b'{"id": 1.5, "result": 1}', b"", b"\xff\xfe", "{", b'{"id":[1]}'],
)
def test_garbage_becomes_a_violation(frame: bytes | str) -> None:
    protocol = make()
    event = protocol.receive(frame)
    assert isinstance(event, Violation)
    assert protocol.violations == 1


def test_error_without_id_is_a_violation_carrying_the_error() -> None:
    protocol = make()
    event = protocol.receive(b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"}}')
    assert isinstance(event, Violation)
    assert event.error is not None
    assert "Parse error" in event.reason


def test_unknown_and_late_ids_are_counted_separately() -> None:
    protocol = make()
    rid, _ = protocol.prepare_request("public/get_time", {}, int, None, "w")
    protocol.forget(rid)
    late = protocol.receive(reply(rid, 1))
    unknown = protocol.receive(reply(999, 1))
    foreign = protocol.receive(reply("abc", 1))
    assert isinstance(late, UnmatchedReply)
    assert late.late
    assert isinstance(unknown, UnmatchedReply)
    assert not unknown.late
    assert isinstance(foreign, UnmatchedReply)
    assert (protocol.late_replies, protocol.unknown_replies) == (1, 2)


def test_a_late_reply_to_a_mutation_reported_unknown_is_a_late_reply_event() -> None:
    protocol = make()
    buy, _ = protocol.prepare_request("private/buy", {"label": "g"}, int, None, "b", 1.0, 1.0)
    edit, _ = protocol.prepare_request("private/edit", {"order_id": "1"}, int, None, "e")
    read, _ = protocol.prepare_request("public/get_time", {}, int, None, "r", 1.0, 1.0)
    expired = dict(protocol.expire(1.0)[0])
    abandoned = protocol.abandon(edit)
    assert isinstance(abandoned, OrderOutcomeUnknown)
    placed = protocol.receive(reply(buy, 7))
    assert isinstance(placed, LateReply)
    assert (placed.method, placed.request_id, placed.value, placed.error) == (
        "private/buy",
        buy,
        7,
        None,
    )
    assert placed.unknown is expired["b"]
    refused = protocol.receive(
        reply(edit, None, error={"code": 10004, "message": "order_not_found"})
    )
    assert isinstance(refused, LateReply)
    assert isinstance(refused.error, NotFoundError)
    assert refused.unknown is abandoned
    # A read's late reply is only counted; a second reply to the buy is no news.
    for request_id in (read, buy):
        event = protocol.receive(reply(request_id, 1))
        assert isinstance(event, UnmatchedReply)
        assert event.late
    assert protocol.late_replies == 4


def test_only_the_newest_unknown_outcomes_are_remembered() -> None:
    protocol = make()
    keys = [
        protocol.prepare_request("private/buy", {}, int, None, "w")[0]
        for _ in range(UNSETTLED_KEPT + 1)
    ]
    for key in keys:
        protocol.abandon(key)
    assert isinstance(protocol.receive(reply(keys[0], 1)), UnmatchedReply)  # forgotten
    assert isinstance(protocol.receive(reply(keys[-1], 1)), LateReply)


def test_an_outcome_its_cancelled_caller_missed_is_worth_reporting_for_mutations_only() -> None:
    protocol = make()
    buy, _ = protocol.prepare_request("private/buy", {}, int, None, "b", 1.0, 1.0)
    read, _ = protocol.prepare_request("public/get_time", {}, int, None, "r")
    sell, _ = protocol.prepare_request("private/sell", {}, int, None, "s")
    timed_out = dict(protocol.expire(1.0)[0])["b"]
    # The waiter was failed with the timeout's unknown outcome as its caller was cancelled.
    assert protocol.unclaimed("private/buy", buy, timed_out) is timed_out
    got = protocol.receive(reply(read, 5))
    assert isinstance(got, Reply)
    assert protocol.unclaimed("public/get_time", read, got) is None
    refusal = protocol.receive(reply(sell, None, error={"code": 10009, "message": "x"}))
    assert isinstance(refusal, Reply)
    assert refusal.error is not None
    missed = protocol.unclaimed(
        "private/sell", sell, refusal.error
    )  # the error its waiter was failed with
    assert isinstance(missed, LateReply)
    assert (missed.method, missed.unknown, missed.error) == ("private/sell", None, refusal.error)
    assert (
        protocol.unclaimed("public/get_time", read, RequestTimeout("public/get_time", read, 1.0))
        is None
    )


def test_subscription_notification_keeps_data_raw() -> None:
    protocol = make()
    event = protocol.receive(
        b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.X.raw","data":{"a":1}}}'
    )
    assert isinstance(event, NotificationParams)
    assert event.channel == "ticker.X.raw"
    assert bytes(event.data) == b'{"a":1}'


def test_test_request_heartbeat_queues_public_test_and_swallows_its_reply() -> None:
    protocol = make()
    event = protocol.receive(
        b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}'
    )
    assert isinstance(event, Heartbeat)
    assert event.kind == "test_request"
    (frame,) = protocol.data_to_send()
    sent = msgspec.json.decode(frame)
    assert sent["method"] == "public/test"
    assert protocol.data_to_send() == []
    assert protocol.receive(reply(sent["id"], {"version": "1"})) is None
    assert protocol.pending_count == 0
    plain = protocol.receive(b'{"method":"heartbeat","params":{"type":"heartbeat"}}')
    assert isinstance(plain, Heartbeat)
    assert protocol.data_to_send() == []


def test_connection_lost_fails_every_waiter_and_flags_order_mutations() -> None:
    protocol = make()
    protocol.prepare_request("public/get_time", {}, int, None, "time")
    protocol.prepare_request("private/buy", {"label": "L1", "amount": 10}, Any, None, "buy")
    protocol.receive(b'{"method":"heartbeat","params":{"type":"test_request"}}')
    failed = dict(protocol.connection_lost("socket closed"))
    assert set(failed) == {"time", "buy"}  # the internal heartbeat answer has no waiter
    assert type(failed["time"]) is ConnectionLost
    buy = failed["buy"]
    assert isinstance(buy, OrderOutcomeUnknown)
    assert (buy.method, buy.label, buy.params["amount"], buy.request_id) == (
        "private/buy",
        "L1",
        10,
        2,
    )
    assert isinstance(buy.__cause__, ConnectionLost)
    assert protocol.pending_count == 0
    assert protocol.data_to_send() == []


def test_timeout_error_depends_on_the_method() -> None:
    protocol = make()
    read, _ = protocol.prepare_request("public/get_time", {}, int, None, "w")
    cancel, _ = protocol.prepare_request("private/cancel", {"order_id": "1"}, Any, None, "w")
    assert isinstance(protocol.timed_out(read, 2.0), RequestTimeout)
    unknown = protocol.timed_out(cancel, 2.0)
    assert isinstance(unknown, OrderOutcomeUnknown)
    assert isinstance(unknown.__cause__, RequestTimeout)
    assert protocol.pending_count == 0


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_receive_never_raises(frame: bytes | str) -> None:
    protocol = make()
    protocol.prepare_request("public/get_time", {}, int, None, "w")
    protocol.receive(frame)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "id",
                        "result",
                        "error",
                        "method",
                        "params",
                        "code",
                        "message",
                        "channel",
                        "data",
                        "type",
                    ]
                ),
                children,
                max_size=5,
            )
        ),
        max_leaves=12,
    )
)
def test_any_json_shape_is_classified_without_raising(value: Any) -> None:
    protocol = make()
    protocol.prepare_request("public/get_time", {}, int, None, "w")
    protocol.receive(msgspec.json.encode(value))


def test_replies_and_notifications_take_the_single_decode_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deribit_client._rpc import protocol as module
    from deribit_client._rpc.codec import notification_decoder
    from deribit_client._rpc.wire import Notification

    def fail(frame: Any) -> Any:
        raise AssertionError("generic envelope decode used")

    monkeypatch.setattr(module, "decode_envelope", fail)
    route = Recorder(notification_decoder(Ticker))
    protocol: RpcProtocol[str] = RpcProtocol(
        ids=itertools.count(1), routes={b"ticker.X.raw": route}
    )
    rid, _ = protocol.prepare_request("public/ticker", {}, Ticker, None, "w")
    event = protocol.receive(
        reply(rid, {"instrument_name": "X", "timestamp": 1}, usIn=3, usOut=5, usDiff=2)
    )
    assert isinstance(event, Reply)
    assert event.value == Ticker(instrument_name="X", timestamp=1)
    assert event.envelope.usDiff == 2
    frame = (
        b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.X.raw",'
        b'"data":{"instrument_name":"X","timestamp":2}}}'
    )
    # The protocol only routes: the driver hands the item to the route.
    assert protocol.receive(frame) == (
        route,
        Notification("ticker.X.raw", Ticker(instrument_name="X", timestamp=2)),
    )


def test_a_route_taking_raw_frames_gets_its_notifications_and_nothing_else() -> None:
    from deribit_client._rpc.codec import notification_decoder

    route = Recorder(notification_decoder(Ticker), raw_frames=True)
    protocol: RpcProtocol[str] = RpcProtocol(
        ids=itertools.count(1), routes={b"ticker.X.raw": route}
    )
    for timestamp in (1, 2):  # the channel found by search, then by the previous prefix
        frame = (
            b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.X.raw",'
            b'"data":{"instrument_name":"X","timestamp":%d}}}' % timestamp
        )
        event = protocol.receive(frame)
        assert type(event) is tuple
        assert event[0] is route
        assert event[1] is frame  # handed over as read: the subscriber decodes it
    # A reply may carry a "channel" member near its start too: it is still a reply.
    rid, _ = protocol.prepare_request("public/get_subscriptions", {}, Any, None, "w")
    event = protocol.receive(b'{"id":%d,"result":{"channel":"ticker.X.raw"}}' % rid)
    assert isinstance(event, Reply), event
    assert event.value == {"channel": "ticker.X.raw"}


def test_fast_paths_fall_back_on_surprises() -> None:
    from deribit_client._rpc.codec import notification_decoder

    route = Recorder(notification_decoder(Ticker))
    protocol: RpcProtocol[str] = RpcProtocol(
        ids=itertools.count(1), routes={b"ticker.X.raw": route}
    )
    rid, _ = protocol.prepare_request("public/ticker", {}, Ticker, None, "w")
    error = msgspec.json.encode(
        {"jsonrpc": "2.0", "id": rid, "error": {"code": 10028, "message": "too_many_requests"}}
    )
    event = protocol.receive(error)
    assert isinstance(event, Reply)
    assert event.error is not None
    bad = (
        b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.X.raw",'
        b'"data":{"instrument_name":5}}}'
    )
    event = protocol.receive(bad)
    # A known channel's frame that does not fit: a violation naming the route, so the
    # channel can tell its subscribers (a Gap) instead of dropping it silently.
    assert isinstance(event, Violation)
    assert event.route is route
    assert protocol.violations == 1


@pytest.mark.parametrize(
    "template",
    [
        b'{"jsonrpc":"2.0","id":%d,"result":7,"usIn":1,"usOut":2,"usDiff":1}',  # Deribit's order
        b'{"id":%d,"jsonrpc":"2.0","result":7}',
        b'{"jsonrpc":"2.0","result":7,"id":%d}',  # id last: the general path
        b'{"jsonrpc":"2.0","id": %d ,"result":7}',
        b'{"jsonrpc":"2.0","id":"%d","result":7}',  # echoed as a string
    ],
)
def test_replies_match_in_any_member_order(template: bytes) -> None:
    protocol = make()
    rid, _ = protocol.prepare_request("public/get_time", {}, int, None, "w")
    event = protocol.receive(template % rid)
    assert isinstance(event, Reply)
    assert (event.waiter, event.value, event.error) == ("w", 7, None)
    assert protocol.pending_count == 0


def test_expire_fails_due_requests_and_reports_the_next_deadline() -> None:
    protocol = make()
    protocol.prepare_request("public/get_time", {}, int, None, "late", deadline=5.0, timeout=5.0)
    protocol.prepare_request(
        "private/buy", {"label": "x"}, Any, None, "buy", deadline=2.0, timeout=2.0
    )
    protocol.prepare_request("public/status", {}, Any, None, "far", deadline=9.0, timeout=9.0)
    expired, earliest = protocol.expire(1.0)
    assert (expired, earliest) == ([], 2.0)
    expired, earliest = protocol.expire(5.0)
    failed = dict(expired)
    assert set(failed) == {"late", "buy"}
    assert isinstance(failed["late"], RequestTimeout)
    assert isinstance(failed["buy"], OrderOutcomeUnknown)
    assert earliest == 9.0
    assert protocol.pending_count == 1


_finite_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(min_size=1, max_size=3), _finite_json, max_size=4))
def test_params_of_finite_numbers_go_out_as_they_are(params: dict[str, Any]) -> None:
    _, frame = make().prepare_request("private/x", params, int, None, "w")
    sent = msgspec.json.decode(frame)["params"]
    assert sent == {k: v for k, v in params.items() if v is not None}


@given(
    st.dictionaries(st.text(min_size=1, max_size=3), _finite_json, min_size=1, max_size=4),
    st.data(),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
def test_a_nan_or_infinity_anywhere_in_params_is_refused_by_its_path(
    params: dict[str, Any], data: st.DataObject, bad: float
) -> None:
    # Replace one leaf (at any depth) with the bad number; the error names where it sits.
    name = data.draw(st.sampled_from(sorted(params)))
    path, holder, key = name, params, name
    while isinstance(holder[key], list | dict) and holder[key]:
        inner = holder[key]
        key = data.draw(
            st.sampled_from(range(len(inner)) if type(inner) is list else sorted(inner))
        )
        path += f"[{key}]" if type(inner) is list else f".{key}"
        holder = inner
    holder[key] = bad
    protocol = make()
    with pytest.raises(ClientError) as refused:
        protocol.prepare_request("private/x", params, int, None, "w")
    assert f"parameter {path!r} is {bad!r}" in str(refused.value)
    assert protocol.pending_count == 0
