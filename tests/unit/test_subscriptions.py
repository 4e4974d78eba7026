"""Pure parts of the subscription manager: channel typing, privacy, batching."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from deribit_client._catalogue.payloads import PAYLOADS, payload_type
from deribit_client._rpc.methods import MAX_FRAME_BYTES
from deribit_client._subscriptions import _batches, is_private_channel
from deribit_client.models import (
    AccountSummary,
    BookChange,
    BookSnapshot,
    Order,
    PublicTrade,
    Ticker,
    UserChanges,
    UserTrade,
)


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("book.BTC-PERPETUAL.100ms", BookChange),
        ("book.BTC-PERPETUAL.none.10.100ms", BookSnapshot),
        ("ticker.BTC-PERPETUAL.raw", Ticker),
        ("trades.BTC-PERPETUAL.100ms", list[PublicTrade]),
        ("trades.future.BTC.100ms", list[PublicTrade]),
        ("user.orders.BTC-PERPETUAL.raw", Order),
        ("user.orders.future.BTC.raw", Order),
        ("user.orders.BTC-PERPETUAL.100ms", list[Order]),
        ("user.trades.any.any.100ms", list[UserTrade]),
        ("user.changes.BTC-PERPETUAL.raw", UserChanges),
        ("user.portfolio.btc", AccountSummary),
        ("some.future.channel", Any),
    ],
)
def test_channel_payload_types(channel: str, expected: Any) -> None:
    assert payload_type(channel) == expected


@pytest.mark.parametrize(
    ("channel", "private"),
    [
        ("ticker.BTC-PERPETUAL.100ms", False),
        ("ticker.BTC-PERPETUAL.raw", True),
        ("user.orders.any.any.100ms", True),
        ("block_rfq.taker.BTC", True),
        ("block_rfq.trades.BTC", False),
        ("announcements", False),
    ],
)
def test_private_channels(channel: str, private: bool) -> None:
    assert is_private_channel(channel) is private


def test_batches_split_public_private_and_stay_under_the_frame_limit() -> None:
    names = [f"ticker.INSTRUMENT-{i:05d}-WITH-A-LONG-NAME.100ms" for i in range(3000)]
    names += [f"user.orders.INSTRUMENT-{i:05d}.raw" for i in range(50)]
    batches = _batches("subscribe", names)
    assert {m for m, _ in batches} == {"public/subscribe", "private/subscribe"}
    assert len([b for m, b in batches if m == "public/subscribe"]) > 1
    flattened = [n for _, batch in batches for n in batch]
    assert sorted(flattened) == sorted(names)
    for method, batch in batches:
        frame = msgspec.json.encode(
            {"jsonrpc": "2.0", "id": 2**31, "method": method, "params": {"channels": batch}}
        )
        assert len(frame) < MAX_FRAME_BYTES


def test_every_payload_key_is_a_pattern_of_the_catalogue() -> None:
    from deribit_client._catalogue import CHANNELS

    assert set(PAYLOADS) <= set(CHANNELS)
