"""What a type checker sees of the public API, checked with mypy --strict: a stream entered
with ``async with`` or ``await`` keeps its own class, so its attributes (a subscription's
``channels``) type-check in users' code."""

from __future__ import annotations

import pathlib

from tests.helpers import mypy_strict

USES = """\
from typing import Any, assert_type

from deribit_client import DeribitClient, Notification, Subscription, channels
from deribit_client.exberry import ExberryClient, ExberryStream
from deribit_client.exberry.models import BookEvent
from deribit_client.models import Ticker


async def deribit(client: DeribitClient) -> None:
    async with client.subscribe(channels.ticker("BTC-PERPETUAL", "100ms")) as ticks:
        assert_type(ticks, Subscription[Ticker])
        channel_names: tuple[str, ...] = ticks.channels
    sub = await client.subscribe("ticker.BTC-PERPETUAL.100ms")
    assert_type(sub, Subscription[Any])
    async for item in sub:
        if isinstance(item, Notification):
            assert_type(item, Notification[Any])


async def exberry(client: ExberryClient) -> None:
    async with client.order_book_depth() as book:
        assert_type(book, ExberryStream[BookEvent])
"""


def test_an_entered_stream_keeps_its_own_type(tmp_path: pathlib.Path) -> None:
    (tmp_path / "uses.py").write_text(USES)
    mypy_strict(tmp_path)
