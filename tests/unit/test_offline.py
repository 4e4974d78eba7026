"""Offline decoding of recorded envelopes uses the client's own decode path."""

from __future__ import annotations

import pytest

from deribit_client import (
    NotFoundError,
    ProtocolError,
    ResponseDecodeError,
    decode_response,
    decode_response_with_meta,
)
from deribit_client._catalogue import METHODS, RESULTS, result_type_of
from deribit_client.models import Instrument, OrderBook, PriceLevel, Ticker

RECORDED_BOOK = (
    b'{"jsonrpc":"2.0","id":3,"result":{"timestamp":1700000000000,"instrument_name":'
    b'"BTC-PERPETUAL","change_id":9,"bids":[[100.5,10.0]],"asks":[[101.0,20.0]],'
    b'"best_bid_price":100.5,"state":"open","new_field":true},'
    b'"usIn":1700000000000100,"usOut":1700000000000150,"usDiff":50,"testnet":false}'
)


def test_recorded_response_decodes_to_the_typed_result() -> None:
    book = decode_response("public/get_order_book", RECORDED_BOOK)
    assert isinstance(book, OrderBook)
    assert book.bids == (PriceLevel(100.5, 10.0),)
    price, amount = book.bids[0]  # levels unpack like Deribit's [price, amount] arrays
    assert (price, amount, book.bids[0][1], len(book.asks[0])) == (100.5, 10.0, 10.0, 2)
    assert book.change_id == 9


def test_str_input_and_metadata() -> None:
    response = decode_response_with_meta("public/get_order_book", RECORDED_BOOK.decode())
    assert (response.us_in, response.us_out, response.us_diff) == (
        1700000000000100,
        1700000000000150,
        50,
    )
    assert response.testnet is False
    assert response.request_id == 3


def test_recorded_error_raises_the_typed_error() -> None:
    frame = b'{"jsonrpc":"2.0","id":1,"error":{"code":13020,"message":"not_found"}}'
    with pytest.raises(NotFoundError):
        decode_response("public/get_instrument", frame)


def test_unknown_method_gives_plain_json_and_override_wins() -> None:
    frame = b'{"jsonrpc":"2.0","id":1,"result":{"a":[1,2]}}'
    assert decode_response("public/not_wrapped", frame) == {"a": [1, 2]}
    with pytest.raises(ResponseDecodeError):
        decode_response("public/not_wrapped", frame, result_type=int)


def test_not_an_envelope() -> None:
    with pytest.raises(ProtocolError):
        decode_response("public/get_time", b"<html>")


def test_every_method_has_its_result_type_in_the_catalogue() -> None:
    assert result_type_of("public/ticker") is Ticker
    assert result_type_of("public/get_instruments") == list[Instrument]
    assert result_type_of("public/get_time") is int
    assert set(METHODS) <= set(RESULTS)


def test_logout_decodes_whatever_the_server_sends() -> None:
    # The wrapper returns None (the server closes instead of answering); a recorded reply
    # still decodes instead of failing on the wrapper's annotation.
    frame = b'{"jsonrpc":"2.0","id":1,"result":"ok"}'
    assert decode_response("private/logout", frame) == "ok"


def test_malformed_envelope_metadata_never_fails_the_result() -> None:
    frame = (
        b'{"jsonrpc":"2.0","id":1,"result":5,"usIn":"bad","usOut":1.5,"usDiff":null,'
        b'"testnet":"yes"}'
    )
    response = decode_response_with_meta("public/get_time", frame)
    assert response.result == 5
    assert (response.us_in, response.us_out, response.us_diff, response.testnet) == (
        None,
        None,
        None,
        None,
    )


def test_an_expired_option_ticker_decodes() -> None:
    frame = (
        b'{"jsonrpc":"2.0","id":1,"result":{"instrument_name":"BTC-1JAN25-90000-C",'
        b'"timestamp":1,"estimated_delivery_price":"expired","mark_price":0.0}}'
    )
    ticker = decode_response("public/ticker", frame)
    assert isinstance(ticker, Ticker)
    assert ticker.estimated_delivery_price == "expired"
