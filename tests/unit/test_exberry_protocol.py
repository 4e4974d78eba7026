"""Exberry's sans-I/O stream protocol: frames in, events out; signatures; samples."""

from __future__ import annotations

import pathlib
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import msgspec
import numpy as np
import pytest

from deribit_client import (
    ClientError,
    ConnectionLost,
    DeribitError,
    OrderOutcomeUnknown,
    ProtocolError,
)
from deribit_client._core.protocol import LateReply, Reply, Violation
from deribit_client.exberry import (
    NotFound,
    OrderValidationError,
    SessionError,
    StreamDisconnected,
    decode_frame,
    session_signature,
)
from deribit_client.exberry.client import MUTATION_OUTCOMES, ExberryStream, lost_mutation_error
from deribit_client.exberry.models import (
    Add,
    BookEvent,
    BrokerBalance,
    BrokerOrder,
    BrokerTransactionsPage,
    CalendarEndOfDay,
    PlaceOrderResult,
)
from deribit_client.exberry.protocol import ExberryProtocol, StreamClosed, frame_decoder

SAMPLES = pathlib.Path(__file__).resolve().parents[3] / "shared" / "exberry" / "samples"
BOOK = "v2/exchange.market/orderBookDepth"


class Route:
    def __init__(self) -> None:
        self.frame_decoder = frame_decoder(BookEvent)

    def deliver(self, item: Any) -> None:
        raise AssertionError("the protocol never delivers by itself")

    def malformed(self, reason: str) -> None:
        raise AssertionError("the protocol never reports by itself")


def frame(**members: Any) -> bytes:
    return msgspec.json.encode(members)


def test_the_documented_signature_vector() -> None:
    signature = session_signature("MySecretKey", "1234567abcdz", 1558941516123)
    assert signature == "265cfbc40c22355d6c1ecc1f3a1e87e8c46954db9096a7bd6967241dd8bc65b6"
    assert session_signature("MySecretKey", "1234567abcdz", "1558941516123") == signature


def test_a_request_resolves_on_sig_1_with_its_item() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol()
    sid, sent = protocol.prepare_request(
        "v1/exchange.market/placeOrder", {"mpOrderId": 1}, PlaceOrderResult, False, "w"
    )
    assert msgspec.json.decode(sent) == {
        "q": "v1/exchange.market/placeOrder", "sid": sid, "d": {"mpOrderId": 1},
    }  # fmt: skip
    q = "v1/exchange.market/placeOrder"
    assert protocol.receive(frame(q=q, sid=sid, d={"orderId": 7, "orderStatus": "Pending"})) is None
    reply = protocol.receive(frame(sig=1, q=q, sid=sid))
    assert isinstance(reply, Reply)
    assert (reply.waiter, reply.value) == ("w", PlaceOrderResult(orderId=7, orderStatus="Pending"))
    assert protocol.pending_count == 0


def test_numbers_go_out_as_json_numbers_and_what_json_cannot_carry_is_refused() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol()
    q = "v1/exchange.market/placeOrder"
    d = {"quantity": Decimal("0.000001"), "price": np.float32(10.5), "mpOrderId": np.int64(3)}
    _, sent = protocol.prepare_request(q, d, PlaceOrderResult, False, "w")
    assert b'"d":{"quantity":0.000001,"price":10.5,"mpOrderId":3}' in sent
    for bad, problem in [(Fraction(1, 2), "Fraction values"), (object(), "object values")]:
        with pytest.raises(ClientError, match=f"cannot encode params for {q}: {problem}"):
            protocol.prepare_request(q, {"quantity": bad}, PlaceOrderResult, False, "w")
    assert protocol.pending_count == 1


def test_echoes_resolve_on_their_item_and_hold_no_sid_for_the_sockets_life() -> None:
    # A bot pinging every second keeps one socket for weeks: each echo may be followed by
    # a sig 1 (the docs show none), so its sid is held for a while, not forever.
    protocol: ExberryProtocol[str] = ExberryProtocol()
    q = "v1/heartbeat/ping"
    for value in [0, -1, *range(1, 5_000)]:
        sid, _ = protocol.prepare_request(q, value, int, False, "w")
        reply = protocol.receive(frame(q=q, sid=sid, d=value))
        assert isinstance(reply, Reply)
        assert (reply.value, reply.error) == (value, None)
    assert protocol.pending_count == 0
    assert protocol.receive(frame(sig=1, q=q, sid=sid)) is None  # a late sig 1: expected
    assert protocol.unknown_sids == 0
    assert len(protocol._closing) <= 1_024  # what is held is bounded


def test_streams_closed_without_a_confirmation_hold_no_sid_for_the_sockets_life() -> None:
    # A sig 3 the server never confirms (a stream it did not know: its opening was cut
    # short): the sid is held for a while, like an echo's, not for the socket's life.
    protocol: ExberryProtocol[str] = ExberryProtocol()
    for _ in range(5_000):
        route = Route()
        sid, _ = protocol.open_stream(BOOK, {}, route)
        assert protocol.close_stream(sid, route) is not None
    assert protocol.receive(frame(sig=1, q=BOOK, sid=sid)) is None  # a late confirmation
    assert protocol.unknown_sids == 0
    assert len(protocol._closing) <= 1_024


def test_sig_2_fails_the_request_with_a_typed_error() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol()
    sid, _ = protocol.prepare_request("v1/exchange.market/cancelOrder", {}, Any, False, "w")
    reply = protocol.receive(
        frame(sig=2, q="v1/exchange.market/cancelOrder", errorType="500", sid=sid,
              d={"errorCode": 1100, "errorMessage": "Order not found"})
    )  # fmt: skip
    assert isinstance(reply, Reply)
    assert isinstance(reply.error, NotFound)
    assert (reply.error.code, reply.error.sid, reply.error.error_type) == (1100, sid, "500")


def test_many_collects_every_item() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol()
    sid, _ = protocol.prepare_request("q", {}, int, True, "w")
    for n in range(3):
        protocol.receive(frame(q="q", sid=sid, d=n))
    reply = protocol.receive(frame(sig=1, q="q", sid=sid))
    assert isinstance(reply, Reply)
    assert reply.value == [0, 1, 2]


def test_stream_items_take_the_single_decode_path_and_sig_3_closes() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol()
    route = Route()
    sid, _ = protocol.open_stream(BOOK, {}, route)
    item = {"messageType": "Add", "orderId": 1, "mpId": "12", "trackingNumber": 5}
    event = protocol.receive(frame(q=BOOK, sid=sid, d=item))
    assert event == (route, Add(orderId=1, mpId="12", trackingNumber=5))
    assert protocol.close_stream(sid, Route()) is None  # another stream's sid: not closed
    close = protocol.close_stream(sid, route)
    assert close is not None
    assert msgspec.json.decode(close) == {"q": BOOK, "sid": sid, "sig": 3}
    # Not reused while closing, even though it is no longer open.
    other, _ = protocol.open_stream(BOOK, {}, route)
    assert other != sid
    assert protocol.receive(frame(q=BOOK, sid=sid, d=item)) is None  # a late item: dropped
    assert protocol.receive(frame(sig=1, q=BOOK, sid=sid)) is None  # confirmed: sid free


def test_items_go_by_their_own_sid_when_frames_start_alike() -> None:
    # Items of one stream share their first bytes, which the fast path remembers: a frame
    # that starts the same way must still reach the stream its own envelope names.
    protocol: ExberryProtocol[str] = ExberryProtocol()
    first, second = Route(), Route()
    a, _ = protocol.open_stream(BOOK, {}, first)
    b, _ = protocol.open_stream(BOOK, {}, second)
    item = {"messageType": "Add", "orderId": 1, "mpId": "12", "trackingNumber": 5}
    expected = Add(orderId=1, mpId="12", trackingNumber=5)
    for sid, route in ((a, first), (a, first), (b, second), (a, first)):
        assert protocol.receive(frame(q=BOOK, sid=sid, d=item)) == (route, expected)
    # A sid inside d, ahead of the envelope's: the item still goes to the envelope's sid.
    nested = b'{"q":"%s","d":{"sid":%d,"messageType":"Add","orderId":1,"mpId":"12",' \
        b'"trackingNumber":5},"sid":%d}' % (BOOK.encode(), a, b)  # fmt: skip
    for _ in range(2):
        assert protocol.receive(nested) == (second, expected)
    # Members in another order (sid last, after a long d) and text frames are items too.
    late_sid = frame(q=BOOK, d=dict(item, mpId="x" * 200), sid=b)
    assert protocol.receive(late_sid) == (second, Add(orderId=1, mpId="x" * 200, trackingNumber=5))
    assert protocol.receive(frame(q=BOOK, sid=a, d=item).decode()) == (first, expected)
    protocol.close_stream(a, first)
    assert protocol.receive(frame(q=BOOK, sid=a, d=item)) is None  # closed: dropped
    assert protocol.receive(frame(q=BOOK, sid=b, d=item)) == (second, expected)


def test_the_server_ending_a_stream_is_an_event() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol()
    route = Route()
    sid, _ = protocol.open_stream(BOOK, {}, route)
    ended = protocol.receive(
        frame(sig=2, q=BOOK, sid=sid, errorType="500",
              d={"errorCode": 2, "errorMessage": "Stream disconnected"})
    )  # fmt: skip
    assert isinstance(ended, StreamClosed)
    assert ended.route is route
    assert isinstance(ended.error, StreamDisconnected)


def test_garbage_unknown_sids_and_misfits_never_raise() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol()
    route = Route()
    sid, _ = protocol.open_stream(BOOK, {}, route)
    for bad in (b"{not json", b"[" * 1000, b'{"q":"x","sid":99,"d":1}', b'{"q":"x"}', b"\xff"):
        protocol.receive(bad)
    assert protocol.unknown_sids == 1
    misfit = protocol.receive(frame(q=BOOK, sid=sid, d={"messageType": "Unknown"}))
    assert isinstance(misfit, Violation)
    assert misfit.route is route


def test_a_lost_order_reply_is_outcome_unknown() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol(outcome=MUTATION_OUTCOMES)
    q = "v1/exchange.market/placeOrder"
    protocol.prepare_request(q, {"mpOrderId": 9}, Any, False, "order")
    protocol.prepare_request("v2/exchange.market/orderBookState", {}, Any, True, "read")
    failed = dict(protocol.connection_lost("cut"))
    assert isinstance(failed["order"], OrderOutcomeUnknown)
    assert failed["order"].params["mpOrderId"] == 9
    assert type(failed["read"]) is ConnectionLost


def test_a_late_reply_to_an_order_reported_unknown_is_a_late_reply_event() -> None:
    protocol: ExberryProtocol[str] = ExberryProtocol(outcome=MUTATION_OUTCOMES)
    q = "v1/exchange.market/placeOrder"
    sid, _ = protocol.prepare_request(q, {"mpOrderId": 9}, Any, False, "order", 1.0, 1.0)
    [(_, unknown)] = protocol.expire(1.0)[0]
    assert isinstance(unknown, OrderOutcomeUnknown)
    # Its item, then its end: the item is kept for the reply, as for a pending request.
    assert protocol.receive(frame(q=q, sid=sid, d={"orderId": 4, "mpOrderId": 9})) is None
    late = protocol.receive(frame(q=q, sid=sid, sig=1))
    assert isinstance(late, LateReply)
    assert (late.method, late.request_id, late.unknown) == (q, sid, unknown)
    assert late.value == {"orderId": 4, "mpOrderId": 9}
    assert protocol.receive(frame(q=q, sid=sid, sig=1)) is None  # no news twice
    assert protocol.unknown_sids == 1


def test_a_refusal_that_met_its_callers_cancellation_is_worth_reporting() -> None:
    # Exberry's errors name their request as q: the report must not depend on that.
    protocol: ExberryProtocol[str] = ExberryProtocol(outcome=MUTATION_OUTCOMES)
    q = "v1/exchange.market/placeOrder"
    sid, _ = protocol.prepare_request(q, {"mpOrderId": 9}, Any, False, "order")
    refusal = protocol.receive(
        frame(q=q, sid=sid, sig=2, d={"errorCode": 1002, "errorMessage": "in use"})
    )
    assert isinstance(refusal, Reply)
    assert isinstance(refusal.error, OrderValidationError)
    missed = protocol.unclaimed(q, sid, refusal.error)
    assert isinstance(missed, LateReply)
    assert (missed.method, missed.error, missed.unknown) == (q, refusal.error, None)


@pytest.mark.parametrize(
    ("q", "d", "hint", "advice"),
    [
        ("cancelOrder", {"instrument": "BTC", "orderId": 5}, "orderId=5", "cancel it again"),
        ("cancelOrder", {"instrument": "BTC", "mpOrderId": 7}, "mpOrderId=7", "1100"),
        ("replaceOrder", {"instrument": "BTC", "orderId": 5, "quantity": 2}, "orderId=5",
         "whether the replace took"),
        ("modifyOrder", {"instrument": "BTC", "orderId": 5, "quantity": 1}, "orderId=5",
         "before modifying"),
        ("massCancel", {"instrument": "BTC"}, "instrument='BTC'", "cancels what is still live"),
    ],
)  # fmt: skip
def test_a_lost_change_to_an_order_says_how_to_reconcile_that_change(
    q: str, d: dict[str, Any], hint: str, advice: str
) -> None:
    # Every order mutation said "re-send it with the same mpOrderId (Exberry refuses a
    # duplicate with 1002)": true of placeOrder only; a cancel by orderId has no mpOrderId.
    error = lost_mutation_error(f"v1/exchange.market/{q}", d, 3, ConnectionLost("cut"))
    assert isinstance(error, OrderOutcomeUnknown)
    assert hint in str(error)
    assert advice in error.advice
    assert "1002" not in error.advice
    assert "mass_order_status()" in error.advice


def samples() -> pathlib.Path:
    if not (SAMPLES / "MANIFEST.md").exists():
        pytest.skip("shared/exberry/samples is not beside this checkout")
    return SAMPLES


def valid_server_samples() -> list[pathlib.Path]:
    manifest = (samples() / "MANIFEST.md").read_text()
    out = []
    for name, direction in re.findall(
        r"^\| `([^`]+\.json)` \|[^|]*\|[^|]*\| ([^|]*) \|", manifest, re.M
    ):
        path = SAMPLES / name
        if "server->client" not in direction or not path.exists():
            continue
        try:
            message = msgspec.json.decode(path.read_bytes())
        except msgspec.DecodeError:
            continue  # the docs' own invalid JSON (comments, placeholders)
        if isinstance(message, dict) and "token" in message:
            continue  # only client frames carry the MD API token: a mislabeled request
        out.append(path)
    return out


# Client requests the manifest lists as server->client.
MISLABELED = {
    "release-notes-api-changes__2022-08-31__placeOrder__1.json",
    "release-notes-api-changes__2023-01-03__general__1.json",  # an mp/orders request
    "other-trade-reporting-trade-report-api__createTradeReport__Request-ThirdPartyLockedIn__1.json",
}
# Members the models leave out on purpose: undocumented ones.
UNDOCUMENTED = {"realBookState"}


def test_every_valid_server_sample_decodes_into_models() -> None:
    samples = valid_server_samples()
    assert len(samples) > 100
    typed = 0
    for path in samples:
        if path.name in MISLABELED:
            continue
        decoded = decode_frame(path.read_bytes())
        if decoded.item is not None and not isinstance(decoded.item, dict | list | int | str):
            typed += 1
        if decoded.sig == 2:
            assert isinstance(decoded.error, DeribitError)
    assert typed > 60


def dropped_members(raw: Any, decoded: Any, where: str) -> list[str]:
    """The members of ``raw`` (a sample's ``d``) its decoded model does not keep."""
    if isinstance(raw, list) and isinstance(decoded, list):
        return [m for r, d in zip(raw, decoded, strict=True) for m in dropped_members(r, d, where)]
    if not isinstance(raw, dict):
        return []
    if not isinstance(decoded, msgspec.Struct):
        return [f"{where}: a {type(decoded).__name__} stands for a documented object"]
    config = decoded.__struct_config__
    out = []
    for name, value in raw.items():
        if name in UNDOCUMENTED or (name == config.tag_field and config.tag is not None):
            continue
        if name not in decoded.__struct_fields__:
            out.append(f"{where}: {type(decoded).__name__} drops {name}")
        else:
            out += dropped_members(value, getattr(decoded, name), f"{where}.{name}")
    return out


def test_every_documented_member_of_every_sample_is_kept() -> None:
    # A model without a member decodes the sample but hands the user nothing of it (News
    # on executionReports came without its text, alleged trades without their ids).
    dropped = []
    for path in valid_server_samples():
        if path.name in MISLABELED:
            continue
        message = msgspec.json.decode(path.read_bytes())
        decoded = decode_frame(path.read_bytes())
        if decoded.sig is None:  # errors are checked by the test above
            dropped += dropped_members(message.get("d"), decoded.item, path.name)
    assert dropped == []


def test_a_light_ticker_keeps_every_member_its_documentation_lists() -> None:
    # The Market Data API page's full response is not among the samples, and the model
    # had guessed names (bid, ask, last...) that Exberry does not send: prices came as None.
    d = {
        "status": "Trading", "symbol": "INS10", "lastPrice": 0.5, "lastQuantity": 0.25,
        "lastPriceTimestamp": 1675869327000, "bidPrice": 0.5, "bidQuantity": 1.5,
        "askPrice": 0.75, "askQuantity": 3.5, "timeStamp": 1675869327183,
        "openingPrice": 1.25, "low": 0.5, "high": 1.25, "volume": 12.5, "quoteVolume": 10.5,
        "closingPrice": 1, "closingPriceTimestamp": 1675807200002, "settlementPrice": 1.5,
        "settlementPriceTimestamp": 1673793853931, "referencePrice": 1.75,
        "referencePriceTimestamp": 1686002400000, "tickReferencePrice": 2,
        "tickReferencePriceTimestamp": 1696002400000,
        "volumeTypes": [{"type": "EFRP", "volume": 1234}, {"type": "Matched", "volume": 7}],
        "priceLimits": {
            "dailyMinPrice": 9.5, "dailyMaxPrice": 11.5, "tickMinPrice": 9.75,
            "tickMaxPrice": 12, "minPrice": 1, "maxPrice": 1000, "finalMinPrice": 9.75,
            "finalMaxPrice": 11.5,
            "legs": [{"id": 1, "minPrice": 1, "maxPrice": 1000}, {"id": 2, "minPrice": 1.25}],
        },
    }  # fmt: skip
    decoded = decode_frame(frame(q="v1/exchange.marketdata/lightTickers", sid=10, d=d))
    assert dropped_members(d, decoded.item, "lightTickers") == []


def test_auction_market_orders_decode_in_either_documented_form() -> None:
    # The field table has marketBids/marketAsks as {quantity, numberOfOrders} objects,
    # the sample as arrays; the model took arrays only, so the table's form failed to
    # decode.
    from deribit_client.exberry.models import MarketSide, PartialOrderBook

    q = "v1/exchange.marketdata/partialOrderBook"
    for bids, asks in (
        ([6, 2], [3, 1]),
        ({"quantity": 6, "numberOfOrders": 2}, {"quantity": 3, "numberOfOrders": 1}),
    ):
        d = {"symbol": "yael1", "bids": [[100, 5, 1]], "asks": [], "marketBids": bids,
             "marketAsks": asks}  # fmt: skip
        item = decode_frame(frame(q=q, sid=101, d=d)).item
        assert isinstance(item, PartialOrderBook)
        assert (item.marketBids, item.marketAsks) == (MarketSide(6, 2), MarketSide(3, 1))


def test_decode_frame_handles_spelling_variants_and_raises_only_sdk_errors() -> None:
    lower = decode_frame(
        frame(q=BOOK, sid=1, d={"messageType": "calendarEndOfDay", "calendarId": 1})
    )
    assert isinstance(lower.item, CalendarEndOfDay)
    failure = {"errorCode": 6002, "errorMessage": "Missing fields"}
    error = decode_frame(frame(sig=2, q="exchange.market/createSession", sid=1, d=failure))
    assert isinstance(error.error, SessionError)
    for bad in (b"{", b"[" * 1000, b"\xff", "\ud800"):
        with pytest.raises(ProtocolError):
            decode_frame(bad)


def test_reporting_versions_decode_into_their_own_shapes() -> None:
    from deribit_client.exberry.models import OrdersPage, Trade, TradesPage

    pages: dict[str, type] = {
        "ws-reporting-api__Orders-V2__Response__1.json": OrdersPage,
        "ws-reporting-api__Trades-v3__MatchedTrade__1.json": TradesPage,
        "ws-reporting-api__Trades-v2__SingleSecurity__1.json": Trade,
    }
    for name, model in pages.items():
        decoded = decode_frame((samples() / "exchange-api" / name).read_bytes())
        assert isinstance(decoded.item, model), name
        if isinstance(decoded.item, OrdersPage | TradesPage):
            assert decoded.item.count is not None


def test_a_resumed_stream_skips_what_it_delivered_whichever_way_the_server_replays() -> None:
    # Several events can share a trackingNumber: the stream resumes from the number before
    # the last and skips the replayed events it already delivered. Whether the server
    # replays from that number inclusive or exclusive (the docs do not say), the consumer
    # sees each event once, in order.
    def event(number: int, order_id: int) -> Add:
        return Add(trackingNumber=number, orderId=order_id)

    before = [event(1, 10), event(2, 20), event(2, 21)]
    after = [event(2, 22), event(3, 30)]
    for replay_from_inclusive in (True, False):
        got: list[Any] = []
        stream: ExberryStream[Any] = ExberryStream(
            cast(Any, None), BOOK, {}, BookEvent, "drop_oldest", 100, got.append, None
        )
        for item in before:
            stream.deliver(item)
        resume = stream.resume_request()
        assert resume["trackingNumber"] == 1
        replayed = before if replay_from_inclusive else before[1:]
        for item in [*replayed, *after]:
            stream.deliver(item)
        assert [item.orderId for item in got] == [10, 20, 21, 22, 30]


def test_1030_is_a_market_state_during_a_crossing_and_a_validation_error_otherwise() -> None:
    # One code, two documented messages: a bot that waits out MarketStateError must see
    # the crossing as one, and must not wait out a time in force the auction refuses.
    from deribit_client.exberry.errors import (
        MarketStateError,
        OrderValidationError,
        exberry_error,
    )

    crossing = exberry_error(1030, "Trading is not allowed during crossing")
    assert type(crossing) is MarketStateError
    rule = exberry_error(1030, "Only [GAA, GTC] limit orders are allowed")
    assert type(rule) is OrderValidationError


def test_the_broker_apis_samples_decode_into_its_models_and_errors() -> None:
    # Nebula's Trading App (REFERENCE 11): its own objects, and its own error codes.
    nebula = SAMPLES / "nebula-api"
    if not nebula.exists():
        pytest.skip("shared/exberry/samples is not beside this checkout")
    prefix = "trading-app-apis-"
    rejected = decode_frame(
        (nebula / f"{prefix}trading-api__Orders-Stream__Rejected__2.json").read_bytes()
    )
    assert isinstance(rejected.item, BrokerOrder)
    assert (rejected.item.messageType, rejected.item.orderId, rejected.item.errorCode) == (
        "Rejected",
        368,
        101,
    )
    nack = decode_frame((nebula / f"{prefix}trading-api__placeOrder__Nack__1.json").read_bytes())
    assert isinstance(nack.error, OrderValidationError)  # 100 on the exchange means "too slow"
    assert nack.error.code == 100
    page = decode_frame(
        (nebula / f"{prefix}reporting-api__Transactions__Response__1.json").read_bytes()
    ).item
    assert isinstance(page, BrokerTransactionsPage)
    assert (page.count, page.transactions[0].amount) == (33, "100000")
    balance = decode_frame(
        (nebula / f"{prefix}trading-api__Balances__Balance__1.json").read_bytes()
    ).item
    assert isinstance(balance, BrokerBalance)
    assert (balance.asset, balance.free, balance.locked) == ("USD", 1001.58, 8998.42)
