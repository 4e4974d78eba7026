"""Typed channel builders: the names they build, the payload types they promise."""

from __future__ import annotations

import enum
import inspect
import typing
from typing import Literal

import pytest

from deribit_client import ClientError, channels
from deribit_client._catalogue import CHANNEL_PARTS, CHANNELS, channel_facts
from deribit_client._catalogue.payloads import PAYLOADS, payload_type
from deribit_client._subscriptions import check_channels
from deribit_client.models import Order, Ticker

SAMPLE = {
    "instrument_name": "BTC-PERPETUAL",
    "interval": "100ms",
    "kind": "future",
    "currency": "BTC",
    "index_name": "btc_usd",
    "group": "none",
    "depth": 10,
    "resolution": "1",
}


def _builders() -> list[typing.Any]:
    return [getattr(channels, n) for n in channels.__all__ if n[0].islower()]


def test_examples() -> None:
    assert channels.ticker("BTC-PERPETUAL", "100ms") == "ticker.BTC-PERPETUAL.100ms"
    grouped = channels.book_grouped("ETH-PERPETUAL", "none", 10, "100ms")
    assert grouped == "book.ETH-PERPETUAL.none.10.100ms"
    assert channels.user_orders("BTC-PERPETUAL", "raw") == "user.orders.BTC-PERPETUAL.raw"
    assert channels.block_trade_confirmations() == "block_trade_confirmations"
    assert isinstance(channels.quote("BTC-PERPETUAL"), str)  # raw strings keep working


@pytest.mark.parametrize("builder", _builders(), ids=lambda b: b.__name__)
def test_each_builder_promises_the_catalogue_payload_type(builder: typing.Any) -> None:
    hints = typing.get_type_hints(builder)
    params = inspect.signature(builder).parameters
    args = {n: SAMPLE[n] for n in params if n in SAMPLE}
    name = builder(**args)
    facts = channel_facts(name)
    assert facts is not None
    (promised,) = typing.get_args(hints["return"]) or (typing.Any,)
    if promised is not typing.Any:
        assert promised == payload_type(name), name


@pytest.mark.parametrize("builder", _builders(), ids=lambda b: b.__name__)
def test_each_literal_part_offers_the_catalogue_values(builder: typing.Any) -> None:
    # The Literals restate the catalogue for the type checker; they must not drift.
    for name, hint in typing.get_type_hints(builder).items():
        values = {str(v) for v in typing.get_args(hint) if typing.get_origin(hint) is Literal}
        if name == "return" or name not in CHANNEL_PARTS:
            assert not values, name  # open parts (instruments, currencies) are str
        elif builder is channels.book_grouped and name == "interval":
            assert values == {"100ms", "agg2"}  # grouped books have no raw interval
        else:
            assert values == set(CHANNEL_PARTS[name]), (builder.__name__, name)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: channels.ticker("BTC-PERPETUAL", "1s"), "interval must be one of raw, 100ms"),  # type: ignore[arg-type]
        (lambda: channels.trades_by_currency("bond", "BTC", "100ms"), "kind must be one of"),  # type: ignore[arg-type]
        (lambda: channels.book_grouped("BTC-PERPETUAL", "3", 10, "100ms"), "group must be"),  # type: ignore[arg-type]
        (lambda: channels.chart_trades("BTC-PERPETUAL", "1D"), "resolution must be one of"),  # type: ignore[arg-type]
    ],
)
def test_values_the_catalogue_does_not_list_are_refused(build: typing.Any, message: str) -> None:
    # Without a type checker the Literal does not stop them: the catalogue does.
    with pytest.raises(ClientError, match=message):
        build()


class Instrument(str, enum.Enum):  # noqa: UP042  (users' older enums: str() is 'Instrument.PERP')
    PERP = "BTC-PERPETUAL"
    TICKER = "ticker.BTC-PERPETUAL.raw"


class Interval(enum.StrEnum):
    FAST = "100ms"


def test_parts_and_names_given_as_str_subclasses_are_their_text() -> None:
    assert channels.ticker(Instrument.PERP, "100ms") == "ticker.BTC-PERPETUAL.100ms"
    assert channels.ticker("BTC-PERPETUAL", Interval.FAST) == "ticker.BTC-PERPETUAL.100ms"  # type: ignore[arg-type]
    built = channels.ticker(Instrument.PERP, "raw")
    names = check_channels([Instrument.TICKER, built, "ticker.BTC-PERPETUAL.raw"])
    assert names == ("ticker.BTC-PERPETUAL.raw",)
    assert all(type(name) is str for name in check_channels([Instrument.TICKER, built]))


def test_raw_user_orders_are_single_orders() -> None:
    raw = channels.user_orders_by_currency("future", "BTC", "raw")
    assert payload_type(raw) is Order
    assert payload_type(channels.user_orders_by_currency("any", "BTC", "agg2")) == list[Order]


def test_every_channel_family_has_a_builder() -> None:
    built = set()
    for builder in _builders():
        params = inspect.signature(builder).parameters
        for interval in ("raw", "100ms"):
            args = {n: SAMPLE[n] for n in params if n in SAMPLE}
            if "interval" in args:
                args["interval"] = interval
            facts = channel_facts(builder(**args))
            assert facts is not None
            built.add(facts.pattern)
    no_currency = channel_facts(channels.block_trade_confirmations())
    assert no_currency is not None
    built.add(no_currency.pattern)
    assert built == set(CHANNELS) == set(PAYLOADS)


@pytest.mark.parametrize("bad", ["", "BTC.PERP", None, True, 1.5, 5])
def test_bad_parts_are_refused_with_the_family_named(bad: typing.Any) -> None:
    # An int is a depth or a resolution, never an instrument name ("ticker.5.100ms").
    with pytest.raises(ClientError, match=r"ticker\.\(instrument_name\)"):
        channels.ticker(bad, "100ms")
    assert channels.book_grouped("BTC-PERPETUAL", 10, 10, "100ms").endswith(".10.10.100ms")  # type: ignore[arg-type]


def test_typed_data_reaches_the_subscriber_type() -> None:
    assert typing.get_type_hints(channels.ticker)["return"] == channels.Channel[Ticker]
