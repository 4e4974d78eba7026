"""The generated method catalogue: fresh, complete, and the only source of method flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from deribit_client._catalogue import METHODS, method_facts
from deribit_client._catalogue._generator import outputs
from deribit_client._rpc import methods

GENERATED = outputs()  # rendered once for the whole module


@pytest.mark.parametrize("path", list(GENERATED), ids=lambda p: p.name)
def test_the_committed_generated_code_is_what_the_generator_renders(path: Path) -> None:
    # Stale? Run: python -m deribit_client._catalogue._generator
    assert path.read_text() == GENERATED[path]


def test_every_method_of_the_spec_is_there() -> None:
    assert len(METHODS) == 174
    assert all(name.startswith(("public/", "private/")) for name in METHODS)
    assert method_facts("public/nope") is None


def test_flags_come_from_the_spec_and_the_overrides() -> None:
    expected_ws_only = {
        "private/logout", "public/set_heartbeat", "public/disable_heartbeat",
        "public/subscribe", "public/unsubscribe", "public/unsubscribe_all",
        "private/subscribe", "private/unsubscribe", "private/unsubscribe_all",
        "public/hello",
    }  # fmt: skip
    assert expected_ws_only == methods.WS_ONLY_METHODS
    assert methods.SUBSCRIPTION_METHODS < methods.WS_ONLY_METHODS
    assert {"private/buy", "private/cancel_all", "private/mass_quote"} <= methods.ORDER_MUTATIONS
    # Orders in the book go through the matching engine; block trades and moves do not.
    book = {m for m in methods.ORDER_MUTATIONS if "block" not in m and "move" not in m}
    assert all(METHODS[m].matching_engine for m in book)
    assert {"private/execute_block_trade", "private/move_positions"} <= methods.ORDER_MUTATIONS
    assert methods.is_read_only_public("public/get_book_summary_by_currency")
    assert not methods.is_read_only_public("public/auth")  # not a read
    assert not methods.is_read_only_public("public/hello")  # WebSocket only
    assert not methods.is_read_only_public("private/get_positions")
    assert methods.is_read_only_public("public/get_index_chart_data")  # newer than the spec


def test_parameters_carry_names_requiredness_types_and_descriptions() -> None:
    buy = METHODS["private/buy"]
    by_name = {p.name: p for p in buy.params}
    assert by_name["instrument_name"].required
    assert by_name["type"].enum  # the order types
    assert "limit" in by_name["type"].enum
    assert by_name["amount"].type == "number"
    assert by_name["otoco_config"].type == "array"  # the spec's "JSON string", fixed
    assert all(p.description for p in buy.params)


def test_the_committed_channel_catalogue_is_fresh_and_complete() -> None:
    from deribit_client._catalogue import CHANNELS

    assert len(CHANNELS) == 40  # the spec's 39 and instrument.creation, newer than it


def test_channel_auth_comes_from_the_catalogue_and_its_overrides() -> None:
    from deribit_client._catalogue import channel_facts
    from deribit_client._subscriptions import is_private_channel

    facts = channel_facts("book.BTC-PERPETUAL.none.10.100ms")
    assert facts is not None
    assert facts.pattern == "book.(instrument_name).(group).(depth).(interval)"
    # The AsyncAPI file does not tag it private; Deribit does (REFERENCE 5): an override.
    assert is_private_channel("block_trade_confirmations.BTC")
    assert is_private_channel("block_rfq.maker.quotes.BTC")
    assert not is_private_channel("block_rfq.trades.BTC")
    assert is_private_channel("ticker.BTC-PERPETUAL.raw")  # any raw interval
    assert is_private_channel("user.liquidation")  # a user.* family newer than the spec
    assert channel_facts("nope.x") is None
