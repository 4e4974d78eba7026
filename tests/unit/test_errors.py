"""The error tree and the one code -> class table, walked in full."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from deribit_client import (
    ERROR_CODES,
    DeribitError,
    RateLimitError,
    RpcError,
    decode_response,
    error_from_code,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "deribit" / "REFERENCE.md"
DOCUMENTED_RETRYABLE = {10028, 10040, 10041, 10047, 10066, 11051, 13028, 13780, 12998}


@pytest.mark.parametrize("entry", list(ERROR_CODES.values()), ids=lambda e: str(e.code))
def test_every_code_maps_to_its_class_through_the_decode_path(entry: object) -> None:
    assert entry is not None
    code = entry.code  # type: ignore[attr-defined]
    frame = msgspec.json.encode(
        {"jsonrpc": "2.0", "id": 7, "error": {"code": code, "message": "m", "data": {"x": 1}}}
    )
    with pytest.raises(RpcError) as info:
        decode_response("private/buy", frame)
    error = info.value
    assert type(error) is entry.cls  # type: ignore[attr-defined]
    assert issubclass(entry.cls, RpcError)  # type: ignore[attr-defined]
    assert (error.code, error.message, error.data) == (code, "m", {"x": 1})
    assert (error.method, error.request_id) == ("private/buy", 7)
    assert error.retryable is (code in DOCUMENTED_RETRYABLE)
    assert error.name == entry.name  # type: ignore[attr-defined]


def test_every_documented_code_is_in_the_table() -> None:
    if not REFERENCE.exists():
        pytest.skip("shared/deribit/REFERENCE.md is not beside this checkout")
    text = REFERENCE.read_text()
    section = text[text.index("## 6. Error codes") : text.index("## 7.")]
    documented = {int(m) for m in re.findall(r"^\| (-?\d+) \|", section, flags=re.M)}
    assert len(documented) > 150
    assert documented - set(ERROR_CODES) == set()
    assert set(ERROR_CODES) - documented == set()


def test_retryable_codes_are_exactly_the_documented_transient_ones() -> None:
    assert {code for code, e in ERROR_CODES.items() if e.retryable} == DOCUMENTED_RETRYABLE


def test_unknown_code_is_a_plain_rpc_error() -> None:
    error = error_from_code(424242, "brand_new_error extra", None)
    assert type(error) is RpcError
    assert not error.retryable
    assert error.name == "brand_new_error"
    assert isinstance(error, DeribitError)


def test_wait_hint_is_read_from_data() -> None:
    error = error_from_code(13780, "move_positions_over_limit", {"wait": 12})
    assert isinstance(error, RateLimitError)
    assert error.wait == 12.0
    assert error_from_code(10028, "too_many_requests").wait is None


def test_message_suffix_does_not_change_the_class() -> None:
    error = error_from_code(10007, "price_too_high 43666.4288")
    assert error.name == "price_too_high"
    assert "price_too_high 43666.4288" in str(error)


def test_error_text_names_what_was_wrong() -> None:
    from deribit_client import error_from_code

    error = error_from_code(
        -32602,
        "Invalid params",
        {"reason": "wrong format", "param": "amount"},
        method="private/buy",
    )
    assert "param" in str(error)
    assert "amount" in str(error)
    assert str(error_from_code(10009, "not_enough_funds")) == "[10009] not_enough_funds"
    long = error_from_code(11050, "bad_request", {"blob": "x" * 1000})
    assert len(str(long)) < 300
