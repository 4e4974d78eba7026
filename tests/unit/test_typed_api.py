"""The typed surface generated from the catalogue: every method has a wrapper that sends
the spec's parameter names, every result example of the spec decodes into Structs, and
each known spec defect is overridden."""

from __future__ import annotations

import inspect
import keyword
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from typing import Any, Literal

import msgspec
import pytest

from deribit_client import ClientError, DeribitClient, decode_response
from deribit_client._api import PrivateAPI, PublicAPI, _normalize
from deribit_client._catalogue import METHODS, RESULTS, ParamFacts
from deribit_client._catalogue._generator import load_spec, models, overrides, wrappers
from deribit_client._core.decoding import dec_hook
from deribit_client.models import (
    AccountSummary,
    BlockRfqQuote,
    Deposit,
    DeribitObject,
    HedgeParam,
    Instrument,
    MmpConfig,
    OriginatorParam,
    Position,
    PositionMoveTrade,
    RfqLegParam,
    SettlementsPage,
    UserTrade,
)
from deribit_client.models import params as models_params
from tests.helpers import MOCK_KEY, ScriptedDeribit


@cache
def spec() -> dict[str, Any]:
    return load_spec()


def examples() -> list[tuple[str, Any]]:
    """(method, result) of every response example in the spec."""
    out = []
    for path, item in spec()["paths"].items():
        operation = item.get("get") or item.get("post")
        content = operation["responses"]["200"].get("content", {}).get("application/json", {})
        for example in content.get("examples", {}).values():
            if "result" in example.get("value", {}):
                out.append((path.strip("/"), example["value"]["result"]))
    return out


def _objects(value: Any) -> list[Any]:
    """Every Struct in a decoded value, depth first."""
    if isinstance(value, msgspec.Struct):
        inner = [getattr(value, f) for f in value.__struct_fields__]
        return [value, *(o for v in inner for o in _objects(v))]
    if isinstance(value, list | tuple):
        return [o for v in value for o in _objects(v)]
    return []


@pytest.mark.parametrize(("method", "result"), examples(), ids=lambda v: str(v)[:40])
def test_every_result_example_of_the_spec_decodes_into_its_type(method: str, result: Any) -> None:
    frame = msgspec.json.encode({"jsonrpc": "2.0", "id": 1, "result": result})
    decoded = decode_response(method, frame)
    if isinstance(result, dict) and typing.get_origin(RESULTS[method]) is not dict:
        # An object decodes into a Struct, never a plain dict standing for one.
        assert isinstance(decoded, DeribitObject | list), (method, type(decoded))
        assert _objects(decoded)


def test_the_examples_cover_nearly_every_method() -> None:
    assert len({m for m, _ in examples()}) >= 150


# -- the spec's known defects, each overridden (REFERENCE 0 and issue #9) -----------------


def test_user_trade_flags_are_booleans() -> None:
    trade = {"trade_id": "1", "instrument_name": "BTC-PERPETUAL", "timestamp": 1}
    flags = {"post_only": False, "reduce_only": True, "direction": "buy"}
    decoded = msgspec.convert({**trade, **flags, "price": 1, "amount": 1}, UserTrade)
    assert (decoded.post_only, decoded.reduce_only) == (False, True)
    schema = spec()["components"]["schemas"]["user_trade"]["properties"]
    assert schema["post_only"]["type"] == schema["reduce_only"]["type"] == "boolean"


def test_instrument_tick_size_steps_is_an_array() -> None:
    raw = {"instrument_name": "ETH-PERPETUAL", "kind": "future", "tick_size": 0.05}
    steps = [{"above_price": 120, "tick_size": 0.1}, {"above_price": 200, "tick_size": 0.5}]
    instrument = msgspec.convert({**raw, "tick_size_steps": steps}, Instrument)
    assert [s.tick_size for s in instrument.tick_size_steps or ()] == [0.1, 0.5]


def test_instruments_with_members_no_reference_names_still_decode() -> None:
    # Deribit adds instrument members before documenting them (issue #11 names "currency
    # id" members no reference spells out): a client must not fail on them.
    frame = (
        b'{"instrument_name":"BTC-PERPETUAL","kind":"future","tick_size":0.5,'
        b'"base_currency_id":"1b2c","settlement_currency_uuid":{"v":1}}'
    )
    assert msgspec.json.decode(frame, type=Instrument).tick_size == 0.5


def test_user_change_lists_positions() -> None:
    members = spec()["components"]["schemas"]["user_change"]["properties"]
    assert "positions" in members
    assert "position" not in members


def test_combo_trades_decode_their_legs_as_user_trades() -> None:
    # Deribit's user.combo_trades example: the legs are trades of their own, and their
    # combo_trade_id is the combo trade's id string although the spec says "number"
    from deribit_client import decode_notification

    (combo,) = [p for c, p in channel_examples() if c.startswith("user.combo_trades.")][:1]
    params = {"channel": "user.combo_trades.BTC-PERPETUAL.100ms", "data": combo}
    frame = msgspec.json.encode({"jsonrpc": "2.0", "method": "subscription", "params": params})
    (trade,) = decode_notification(frame).data  # type: ignore[union-attr]
    assert trade.legs is not None
    assert [type(leg) for leg in trade.legs] == [UserTrade, UserTrade]
    assert {leg.combo_trade_id for leg in trade.legs} == {trade.trade_id}
    assert {leg.combo_id for leg in trade.legs} == {trade.instrument_name}


def test_settlements_carry_their_type() -> None:
    (result,) = [r for m, r in examples() if m == "public/get_last_settlements_by_currency"]
    page = decode_response(
        "public/get_last_settlements_by_currency",
        msgspec.json.encode({"jsonrpc": "2.0", "id": 1, "result": result}),
    )
    assert isinstance(page, SettlementsPage)  # the spec said `type: array` of strings
    assert page.settlements
    assert page.settlements[0].type == "delivery"


def _generated_page(tp: Any) -> bool:
    return getattr(tp, "__module__", "") == "deribit_client.models.objects" and str(
        tp.__name__
    ).endswith("Page")


@pytest.mark.parametrize("method", sorted(m for m, t in RESULTS.items() if _generated_page(t)))
def test_a_page_without_its_items_is_an_empty_page(method: str) -> None:
    """Users iterate a page's items with no None check, even when the server leaves an
    empty list out."""
    page = decode_response(method, b'{"jsonrpc": "2.0", "id": 1, "result": {}}')
    fields = msgspec.structs.fields(RESULTS[method])
    items = [getattr(page, f.name) for f in fields if typing.get_origin(f.type) is list]
    assert items == [[]]


def test_set_clearance_originator_returns_a_deposit() -> None:
    assert RESULTS["private/set_clearance_originator"] is Deposit  # spec: a missing ref
    facts = {p.name: p for p in METHODS["private/set_clearance_originator"].params}
    assert all(p.type != "string" or "JSON" not in p.description for p in facts.values())


def test_error_message_response_has_an_error_object() -> None:
    error = spec()["components"]["schemas"]["ErrorMessageResponse"]["properties"]["error"]
    assert set(error["properties"]) == {"code", "message", "data"}


def test_auth_grant_parameters_are_conditional() -> None:
    required = [p.name for p in METHODS["public/auth"].params if p.required]
    assert required == ["grant_type"]


def test_results_the_spec_gets_wrong_are_overridden() -> None:
    from deribit_client.models import CancelReport, OrderBook, Ticker

    assert RESULTS["public/ticker"] is Ticker  # the spec: ErrorResponse
    assert RESULTS["public/get_order_book"] is OrderBook
    assert RESULTS["private/cancel_all"] == int | list[CancelReport]  # spec: int only
    assert RESULTS["private/get_user_trades_by_order"] == list[UserTrade]  # spec: none
    assert RESULTS["private/get_positions"] == list[Position]
    # No schema; the example is an account summary (with the projected margins).
    assert RESULTS["private/simulate_portfolio"] is AccountSummary


def test_hand_written_models_have_every_member_the_spec_lists() -> None:
    schemas = spec()["components"]["schemas"]
    builder = models._Builder(spec())
    import deribit_client.models as all_models

    for schema, name in overrides.HAND_MODELS.items():
        node = schemas[schema]
        node = builder._merge_all_of(node) if "allOf" in node else node
        fields = getattr(all_models, name).__struct_fields__
        assert set(node["properties"]) <= set(fields), (name, set(node["properties"]) - set(fields))


# -- wrappers -----------------------------------------------------------------------------


class Unused:
    """A Caller for looking at wrappers without calling them."""

    async def wait_ready(self, timeout: float | None = None) -> None:
        raise AssertionError("not for calls")

    async def invoke(
        self, method: str, params: Mapping[str, Any] | None, result_type: Any, timeout: Any
    ) -> Any:
        raise AssertionError("not for calls")

    def subscribe(self, *channels: str, **options: Any) -> Any:
        raise AssertionError("not for calls")

    @property
    def subscriptions(self) -> Any:
        raise AssertionError("not for calls")


def _value(param: ParamFacts) -> Any:
    if param.type == "array":
        item = {"type": param.items, "enum": param.enum}
        return [_value(msgspec.structs.replace(param, **item))] if param.items else []
    if param.enum:
        value = param.enum[0]
        return int(value) if param.type == "integer" else value
    samples = {"integer": 1, "number": 1.5, "boolean": True, "object": {"a": 1}}
    return samples.get(param.type, "x")


def _wrapper(name: str) -> Any:
    prefix, rest = name.split("/", 1)
    api = PublicAPI(Unused()) if prefix == "public" else PrivateAPI(Unused())
    return getattr(api, rest.replace("/", "_"))


def test_structured_parameters_take_their_json_shape() -> None:
    # The spec types them "JSON string containing array of objects" / "...: object data":
    # models.params types their members (test_structured_parameter_types_fit_...).
    hints = typing.get_type_hints(_wrapper("private/accept_block_rfq"))
    assert hints["legs"] == Sequence[RfqLegParam]  # any sequence: a tuple, or quote legs
    assert hints["hedge"] == HedgeParam | None  # one hedge leg: an object, not a list
    hints = typing.get_type_hints(_wrapper("private/set_clearance_originator"))
    assert hints["originator"] == OriginatorParam
    # Arrays of strings are lists of str; enumerated items are Literals.
    assert typing.get_type_hints(_wrapper("private/get_order_margin_by_ids"))["ids"] == list[str]
    products = typing.get_type_hints(_wrapper("private/set_disabled_trading_products"))
    (item,) = typing.get_args(products["trading_products"])
    assert set(typing.get_args(item)) == set(METHODS["private/set_disabled_trading_products"]
                                             .params[1].enum)  # fmt: skip


# Cancels answering a count, or execution reports with detailed=true.
CANCEL_FAMILY = {m for m, (flag, *_) in overrides.FLAG_RESULTS.items() if flag == "detailed"}
# The (un)subscribe wrappers return subscribers: tests/component/test_subscription_methods.py.
WRAPPED = sorted(name for name, facts in METHODS.items() if not facts.subscription)


def test_every_method_has_a_wrapper() -> None:
    assert len(METHODS) == 174
    for name, facts in METHODS.items():
        wrapper = _wrapper(name)
        assert callable(wrapper), name
        # Deribit's parameter names; subscription wrappers add the subscriber's options.
        accepted = set(inspect.signature(wrapper).parameters) - {"timeout"}
        spec = {p.name for p in facts.params}
        assert spec <= {a.rstrip("_") for a in accepted}, name
        if not facts.subscription:
            assert {a.rstrip("_") for a in accepted} == spec, name


def _reply(name: str) -> Any:
    """What the scripted venue answers: the spec's example, else the simplest JSON value
    that decodes into the method's result type."""
    found = [result for method, result in examples() if method == name]
    if found:
        return found[-1]
    tp = RESULTS[name]
    required: dict[str, Any] = {}
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        samples = {str: "x", int: 1, float: 1.0, bool: True}
        for field in msgspec.structs.fields(tp):
            if field.required:
                required[field.encode_name] = samples[field.type]
    candidate: object
    for candidate in (required, [], "ok", 0, True):
        try:
            msgspec.convert(candidate, tp)
        except msgspec.ValidationError:
            continue
        return candidate
    raise AssertionError(f"no reply decodes into {tp}")


def _client_of(venue: ScriptedDeribit) -> DeribitClient:
    """A client of the scripted ``venue``: no heartbeats, reconnects or credit waits."""
    return DeribitClient(
        connector=venue.connector, heartbeat_interval=None, reconnect=False, rate_limit=False,
        **MOCK_KEY,
    )  # fmt: skip


def _sample_call(name: str) -> tuple[ScriptedDeribit, Any, dict[str, Any]]:
    """A recording venue that answers ``name``, its reply, and arguments of every parameter
    the wrapper accepts together."""
    venue = ScriptedDeribit()
    reply = [] if name in CANCEL_FAMILY else _reply(name)  # detailed=True: reports
    venue.results[name] = reply
    values = {p.name: _value(p) for p in METHODS[name].params}
    if name in ("private/buy", "private/sell"):
        values["type"] = "limit"
        values.pop("contracts")  # both are accepted; one is enough
    if name == "private/edit":
        values.pop("contracts")
    return venue, reply, values


def _bound_wrapper(client: DeribitClient, name: str) -> Any:
    prefix, rest = name.split("/", 1)
    return getattr(client.public if prefix == "public" else client.private,
                   rest.replace("/", "_"))  # fmt: skip


def _keywords(values: dict[str, Any]) -> dict[str, Any]:
    # A parameter named like a Python keyword takes a trailing underscore.
    return {k + "_" if keyword.iskeyword(k) else k: v for k, v in values.items()}


@pytest.mark.parametrize("name", WRAPPED)
async def test_each_wrapper_sends_exactly_the_spec_parameter_names(name: str) -> None:
    # Through the real client to a recording venue: what goes on the wire, and what
    # comes back typed.
    venue, reply, values = _sample_call(name)
    async with _client_of(venue) as client:
        wrapper = _bound_wrapper(client, name)
        accepted = set(inspect.signature(wrapper).parameters) - {"timeout"}
        assert {a.rstrip("_") for a in accepted} == {p.name for p in METHODS[name].params}
        result = await wrapper(**_keywords(values))
    method, params = venue.calls[-1]
    assert method == name
    assert params == msgspec.json.decode(msgspec.json.encode(values))
    if name not in overrides.HAND_WRAPPERS:
        decoded = msgspec.convert(reply, RESULTS[name], dec_hook=dec_hook)
        if name in overrides.NORMALIZED_RESULTS:
            decoded = getattr(_normalize, overrides.NORMALIZED_RESULTS[name][1])(decoded)
        assert result == decoded


_QUOTE = {"block_rfq_quote_id": 7, "block_rfq_id": 1, "price": 0.01, "amount": 10}
_MMP = {"index_name": "btc_usd", "interval": 60, "frozen_time": 0, "quantity_limit": 1}
_MOVED = {"instrument_name": "BTC-PERPETUAL", "direction": "buy", "amount": 10, "price": 1}


@pytest.mark.parametrize(
    ("method", "call", "shapes", "typed"),
    [
        (
            "private/get_block_rfq_quotes",
            lambda c: c.private.get_block_rfq_quotes(),
            [_QUOTE, [_QUOTE]],
            BlockRfqQuote,
        ),
        (
            "private/set_mmp_config",
            lambda c: c.private.set_mmp_config("btc_usd", 60, 0),
            [_MMP, [_MMP]],
            MmpConfig,
        ),
        (
            "private/move_positions",
            lambda c: c.private.move_positions(1, 2, [{"instrument_name": "BTC-PERPETUAL"}]),
            [{"trades": [_MOVED]}, [_MOVED]],
            PositionMoveTrade,
        ),
    ],
)
async def test_results_documented_in_two_shapes_come_in_one(
    method: str,
    call: Callable[[DeribitClient], Awaitable[list[Any]]],
    shapes: list[Any],
    typed: type,
) -> None:
    """The spec's schema and its example disagree: whichever the server sends, the wrapper
    returns a list of the objects, so users need no isinstance."""
    venue = ScriptedDeribit()
    async with _client_of(venue) as client:
        results = []
        for shape in shapes:
            venue.results[method] = shape
            results.append(await call(client))
    assert results[0] == results[1]
    assert len(results[0]) == 1
    assert isinstance(results[0][0], typed)


# -- channels -----------------------------------------------------------------------------

_PARTS = {
    "instrument_name": "BTC-PERPETUAL",
    "currency": "BTC",
    "kind": "future",
    "index_name": "btc_usd",
    "group": "none",
    "depth": "10",
    "resolution": "1",
}


def channel_examples() -> list[tuple[str, Any]]:
    """(a concrete channel name, the payload) of every notification example of the
    AsyncAPI spec."""
    import json

    from deribit_client._catalogue._generator import CHANNEL_SPEC

    out = []
    for channel in json.loads(CHANNEL_SPEC.read_text())["channels"].values():
        for key, message in channel["messages"].items():
            if key == "subscribe_request":
                continue
            for example in message.get("examples", ()):
                payload = example["payload"]
                interval = "100ms" if isinstance(payload, list) else "raw"
                parts = [
                    _PARTS.get(p.strip("()"), interval) if p.startswith("(") else p
                    for p in channel["address"].split(".")
                ]
                out.append((".".join(parts), payload))
    return out


def test_every_channel_family_has_a_payload_type() -> None:
    from deribit_client._catalogue import CHANNELS
    from deribit_client._catalogue.payloads import PAYLOADS

    assert set(PAYLOADS) == set(CHANNELS)


@pytest.mark.parametrize(("channel", "payload"), channel_examples(), ids=lambda v: str(v)[:40])
def test_every_notification_example_decodes_into_structs(channel: str, payload: Any) -> None:
    from deribit_client import decode_notification
    from deribit_client._catalogue.payloads import payload_type

    params = {"channel": channel, "data": payload}
    frame = msgspec.json.encode({"jsonrpc": "2.0", "method": "subscription", "params": params})
    notification = decode_notification(frame)
    data = notification.data  # type: ignore[union-attr]
    assert payload_type(channel) is not Any
    if isinstance(payload, dict) or (payload and isinstance(payload[0], dict)):
        assert _objects(data), channel


def _dropped(raw: Any, decoded: Any, out: set[str]) -> set[str]:
    """``Model.member`` for every member of ``raw`` its decoded Struct has no field for."""
    if isinstance(decoded, msgspec.Struct) and isinstance(raw, dict):
        cls = type(decoded)
        wire = dict(zip(cls.__struct_encode_fields__, cls.__struct_fields__, strict=True))
        for key, value in raw.items():
            if key in wire:
                _dropped(value, getattr(decoded, wire[key]), out)
            else:
                out.add(f"{cls.__name__}.{key}")
    elif isinstance(raw, list) and isinstance(decoded, list | tuple):
        for r, d in zip(raw, decoded, strict=False):
            _dropped(r, d, out)
    return out


def test_no_member_of_any_example_is_dropped() -> None:
    from deribit_client._catalogue.payloads import payload_type
    from deribit_client._rpc.codec import decoder_for

    dropped: set[str] = set()
    for method, result in examples():
        decoded = decoder_for(RESULTS[method]).decode(msgspec.json.encode(result))
        _dropped(result, decoded, dropped)
    for channel, payload in channel_examples():
        decoded = decoder_for(payload_type(channel)).decode(msgspec.json.encode(payload))
        _dropped(payload, decoded, dropped)
    assert dropped == set()


@pytest.mark.parametrize("name", sorted(overrides.HAND_WRAPPERS))
def test_hand_written_wrappers_offer_the_spec_enums(name: str) -> None:
    # Their Literal types are written by hand: they must match the catalogue's values, and
    # currencies (an open list) stay plain str.
    hints = typing.get_type_hints(_wrapper(name))
    for param in METHODS[name].params:
        hint = hints[param.name]
        options = typing.get_args(hint) if typing.get_origin(hint) is not Literal else (hint,)
        values = {
            v for arg in options if typing.get_origin(arg) is Literal for v in typing.get_args(arg)
        }
        if param.name in overrides.OPEN_ENUMS:
            assert not values, param.name
        elif param.enum and param.type != "boolean":
            assert {str(v) for v in values} == set(param.enum), (name, param.name)


def _request_example(method: str) -> dict[str, Any]:
    item = spec()["paths"][f"/{method}"]
    operation = item.get("get") or item.get("post")
    examples = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    for example in examples.get("examples", {}).values():
        return dict(example["value"].get("params", {}))
    return {}


def _fits(value: Any, typed: Any, where: str) -> None:
    """``value`` has every required member of the TypedDict ``typed`` and no other than
    it declares, nested ones too (values are not checked: the examples write some
    numbers as strings)."""
    assert isinstance(value, dict), where
    declared = typed.__required_keys__ | typed.__optional_keys__
    assert typed.__required_keys__ <= value.keys() <= declared, (where, value)
    hints = typing.get_type_hints(typed)
    for key, member in value.items():
        if typing.is_typeddict(hints[key]):
            _fits(member, hints[key], f"{where}.{key}")


@pytest.mark.parametrize("key", sorted(overrides.PARAM_TYPES), ids="-".join)
def test_structured_parameter_types_fit_the_documented_examples(key: tuple[str, str]) -> None:
    method, name = key
    facts = {p.name: p for p in METHODS[method].params}
    assert name in facts, "PARAM_TYPES names a parameter the method does not have"
    assert "object" in (facts[name].type, facts[name].items)
    hint = typing.get_type_hints(_wrapper(method))[name]
    if not facts[name].required:
        (hint,) = (arg for arg in typing.get_args(hint) if arg is not type(None))
    declared = wrappers.as_sequence(overrides.PARAM_TYPES[key])
    assert hint == eval(declared, {**vars(models_params), "Sequence": Sequence})  # the wrapper's
    shape = typing.get_args(hint)[0] if typing.get_origin(hint) in (list, Sequence) else hint
    example = _request_example(method).get(name)
    if example is None or not typing.is_typeddict(shape):
        return  # nothing to hold it against (REFERENCE 7.10's word is all), or no members
    for number, item in enumerate(example if isinstance(example, list) else [example]):
        _fits(item, shape, f"{name}[{number}]")


# client.subscribe(label=...) has its own test (tests/component/test_subscription_methods.py).
LIMITED = [
    (m, p) for m, f in sorted(METHODS.items()) for p in f.params if p.max_length and m in WRAPPED
]


def test_string_limits_are_read_from_the_spec() -> None:
    # Deribit states them in prose only; every parameter whose description does carries
    # the figure, and nothing else has one.
    stated = {
        (m, p.name): p.max_length for m, f in METHODS.items() for p in f.params if p.max_length
    }
    assert stated[("private/buy", "label")] == stated[("private/cancel_by_label", "label")] == 64
    assert stated[("private/subscribe", "label")] == 16
    assert stated[("private/create_api_key", "name")] == 16
    assert stated[("private/set_mmp_config", "mmp_group")] == 64
    described = {
        (m, p.name)
        for m, f in METHODS.items()
        for p in f.params
        if "characters" in p.description.lower()
    }
    assert set(stated) == described


@pytest.mark.parametrize(("name", "param"), LIMITED, ids=[f"{m}:{p.name}" for m, p in LIMITED])
async def test_over_long_strings_are_refused_before_sending(name: str, param: ParamFacts) -> None:
    # No order or quote can carry a longer label: a lookup or cancel by one could only
    # find nothing. Refused by name, with the limit; the limit itself goes through.
    venue, _, values = _sample_call(name)
    kwargs = _keywords(values)
    async with _client_of(venue) as client:
        wrapper = _bound_wrapper(client, name)
        sent = len(venue.calls)  # the login
        with pytest.raises(ClientError, match=f"{param.name}.*{param.max_length}"):
            await wrapper(**{**kwargs, param.name: "x" * (param.max_length + 1)})
        assert len(venue.calls) == sent
        await wrapper(**{**kwargs, param.name: "x" * param.max_length})
        with pytest.raises(ClientError, match=f"{param.name} must be a str"):
            await wrapper(**{**kwargs, param.name: 7})
    assert [method for method, _ in venue.calls[sent:]] == [name]
