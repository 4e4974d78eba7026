"""The simulator's aggregated intervals: a ``100ms`` or ``agg2`` channel sends one merged
message per window, as Deribit does, while ``raw`` sends every event (REFERENCE 5). The
old simulator sent every event on every interval, so a bot that assumed consecutive
change ids or one order state per message passed here and failed on the venue."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from deribit_client import DeribitClient, Gap, LocalOrderBook, Subscription
from deribit_client.testing import DeribitSimulator

PERP = "BTC-PERPETUAL"
LONG = 3600.0
"""A window no test outlives: it ends when the test calls ``sim.end_windows()``."""


class Inbox:
    """A subscription's items sorted by channel, so a test can wait for one channel's
    next item without losing the others'."""

    def __init__(self, sub: Subscription[Any]) -> None:
        self.sub = sub
        self.items: dict[str, deque[Any]] = defaultdict(deque)

    async def next(self, channel: str) -> Any:
        """The next item (notification or Gap) of ``channel``."""
        waiting = self.items[channel]
        async with asyncio.timeout(5):
            while not waiting:
                item = await anext(self.sub)
                self.items[item.channel].append(item)
        return waiting.popleft()


@asynccontextmanager
async def inbox_of(trader: DeribitClient, *channels: str) -> AsyncIterator[Inbox]:
    """``channels`` subscribed together, their items sorted in an :class:`Inbox`."""
    async with trader.subscribe(*channels) as sub:
        yield Inbox(sub)


def levels(book: LocalOrderBook) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    return [(lv.price, lv.amount) for lv in book.bids()], [
        (lv.price, lv.amount) for lv in book.asks()
    ]


async def test_a_window_of_book_changes_is_one_netted_change(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    raw, merged = f"book.{PERP}.raw", f"book.{PERP}.100ms"
    sim.aggregation_periods["100ms"] = LONG
    books = {raw: LocalOrderBook(PERP), merged: LocalOrderBook(PERP)}
    server = sim.market.books[PERP]
    async with inbox_of(trader, raw, merged) as inbox:
        for channel, book in books.items():
            book.apply(await inbox.next(channel))
        snapshot_id = books[merged].change_id
        fleeting = server.best_bid[0] + 0.5  # type: ignore[index]  # inside the spread
        sim.market.books[PERP].set_level("bids", fleeting, 7.0)
        changes = [await sim.publish_book_change(PERP)]
        sim.market.books[PERP].set_level("bids", fleeting, 0.0)
        changes += [await sim.publish_book_change(PERP) for _ in range(4)]
        sim.end_windows()
        for _ in changes:
            books[raw].apply(await inbox.next(raw))
        one = await inbox.next(merged)
        books[merged].apply(one)
        assert (one.data.prev_change_id, one.data.change_id) == (
            snapshot_id,
            changes[-1]["change_id"],
        )
        # a level that came and went inside the window is not in its message
        assert fleeting not in [level.price for level in one.data.bids]
        assert levels(books[merged]) == levels(books[raw])
        assert levels(books[merged]) == (
            [tuple(level) for level in server.bids],
            [tuple(level) for level in server.asks],
        )
        # nothing else was sent for that window: the next message chains with it
        await sim.publish_book_change(PERP)
        sim.end_windows()
        assert (await inbox.next(merged)).data.prev_change_id == one.data.change_id


async def test_a_window_ends_after_its_period_and_each_interval_has_its_own(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.aggregation_periods["agg2"] = LONG  # 100ms keeps its 0.1 s
    fast, slow = f"book.{PERP}.100ms", f"book.{PERP}.agg2"
    async with inbox_of(trader, fast, slow) as inbox:
        await inbox.next(fast)
        await inbox.next(slow)
        change = await sim.publish_book_change(PERP)
        async with asyncio.timeout(5):  # the 100ms window ends by itself; agg2's stays open
            item = await anext(inbox.sub)
        assert (item.channel, item.data.change_id) == (fast, change["change_id"])  # type: ignore[union-attr]
        sim.end_windows()
        assert (await inbox.next(slow)).data.change_id == change["change_id"]


async def test_a_gap_inside_a_window_still_reaches_the_subscriber(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.aggregation_periods["100ms"] = LONG
    channel = f"book.{PERP}.100ms"
    async with inbox_of(trader, channel) as inbox:
        snapshot = await inbox.next(channel)
        first = await sim.publish_book_change(PERP)
        await sim.publish_book_change(PERP, gap=True)  # ends the window: sent as it was
        change = await inbox.next(channel)
        assert (change.data.prev_change_id, change.data.change_id) == (
            snapshot.data.change_id,
            first["change_id"],
        )
        sim.end_windows()
        gap = await inbox.next(channel)
        assert isinstance(gap, Gap)
        assert gap.reason == "book_gap"
        fresh = await inbox.next(channel)
        assert fresh.data.type == "snapshot"


async def test_orders_trades_and_tickers_merge_within_a_window(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.aggregation_periods["100ms"] = LONG
    orders, mine = f"user.orders.{PERP}.100ms", f"user.trades.{PERP}.100ms"
    public, ticker = f"trades.{PERP}.100ms", f"ticker.{PERP}.100ms"
    async with inbox_of(trader, orders, mine, public, ticker) as inbox:
        quote = await trader.public.ticker(PERP)
        assert quote.best_bid_price is not None
        resting = await trader.private.buy(PERP, amount=10, price=quote.best_bid_price - 50)
        await trader.private.edit(
            resting.order.order_id, amount=20, price=quote.best_bid_price - 60
        )
        await trader.private.cancel(resting.order.order_id)
        fills = [await trader.private.buy(PERP, amount=10, type="market") for _ in range(2)]
        sim.end_windows()
        got = {channel: (await inbox.next(channel)).data for channel in (orders, mine, public)}
        latest_ticker = (await inbox.next(ticker)).data
    # each order once, in its latest state
    states = {order.order_id: order.order_state for order in got[orders]}
    assert len(got[orders]) == len(states) == 3
    assert states[resting.order.order_id] == "cancelled"
    assert [states[fill.order.order_id] for fill in fills] == ["filled", "filled"]
    # every trade of the window in one array
    trade_ids = [trade.trade_id for fill in fills for trade in fill.trades]
    assert [trade.trade_id for trade in got[mine]] == trade_ids
    assert [trade.trade_id for trade in got[public]] == trade_ids
    assert latest_ticker.last_price == fills[-1].trades[-1].price


async def test_without_periods_every_event_goes_out_at_once(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.aggregation_periods.clear()  # the other reading of an interval: no merging at all
    channel = f"book.{PERP}.agg2"
    async with inbox_of(trader, channel) as inbox:
        await inbox.next(channel)
        changes = [await sim.publish_book_change(PERP) for _ in range(3)]
        got = [(await inbox.next(channel)).data.change_id for _ in changes]
    assert got == [change["change_id"] for change in changes]


async def test_an_unsubscribed_window_says_nothing_and_a_resubscription_chains(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    sim.aggregation_periods["100ms"] = LONG
    channel = f"book.{PERP}.100ms"
    async with inbox_of(trader, channel) as inbox:
        await inbox.next(channel)
        await sim.publish_book_change(PERP)  # gathered, then unsubscribed
    async with inbox_of(trader, channel) as inbox:
        snapshot = await inbox.next(channel)
        change = await sim.publish_book_change(PERP)
        sim.end_windows()
        item = await inbox.next(channel)
        assert (item.data.prev_change_id, item.data.change_id) == (
            snapshot.data.change_id,
            change["change_id"],
        )


async def test_a_grouped_book_is_sent_every_interval_even_unchanged(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # Deribit sends the grouped book "once per specified interval": the old simulator sent
    # it only when the book changed, so on a quiet instrument a subscriber got nothing
    sim.aggregation_periods["100ms"] = 0.01
    channel = f"book.{PERP}.none.10.100ms"
    server = sim.market.books[PERP]
    async with inbox_of(trader, channel) as inbox:
        snapshots = [(await inbox.next(channel)).data for _ in range(3)]
    for snapshot in snapshots:
        assert snapshot.change_id == server.change_id
        assert [tuple(level) for level in snapshot.bids] == [tuple(b) for b in server.bids[:10]]
        assert [tuple(level) for level in snapshot.asks] == [tuple(a) for a in server.asks[:10]]


async def test_a_grouped_book_published_by_hand_still_ends_each_window_once(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # A test publishing on a grouped channel opened a second window beside the periodic
    # one: end_windows() then sent two snapshots, and the published message never went.
    sim.aggregation_periods["100ms"] = LONG
    channel, sentinel = f"book.{PERP}.none.10.100ms", f"ticker.{PERP}.raw"
    mine = {"timestamp": 1, "instrument_name": PERP, "change_id": 42, "bids": [], "asks": []}
    async with inbox_of(trader, channel, sentinel) as inbox:
        await sim.publish(channel, mine)
        sim.end_windows()
        await sim.publish(sentinel, {"instrument_name": PERP, "timestamp": 1})
        await inbox.next(sentinel)  # everything sent before it is sorted in by now
        assert [item.data.change_id for item in inbox.items[channel]] == [42]


def grouped(levels: list[list[float]], group: int, side: str) -> list[tuple[float, float]]:
    """What a grouped book shows: bids rounded down and asks up to the group, amounts
    summed, best first."""
    summed: dict[float, float] = defaultdict(float)
    for price, amount in levels:
        steps = price / group
        summed[float((math.floor if side == "bids" else math.ceil)(steps) * group)] += amount
    return sorted(summed.items(), reverse=side == "bids")


async def test_a_grouped_book_rounds_prices_to_its_group_and_keeps_its_depth(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    # the old simulator ignored the group: every level came out at its own price
    sim.aggregation_periods["100ms"] = LONG
    server = sim.market.books[PERP]
    channels = {f"book.{PERP}.10.1.100ms": (10, 1), f"book.{PERP}.5.20.100ms": (5, 20)}
    async with inbox_of(trader, *channels) as inbox:
        sim.end_windows()
        for channel, (group, depth) in channels.items():
            snapshot = (await inbox.next(channel)).data
            for side in ("bids", "asks"):
                levels = server.levels(side)
                expected = grouped(levels, group, side)
                assert 0 < len(expected) < len(levels)  # levels did merge
                got = getattr(snapshot, side)
                assert [level.price for level in got] == [price for price, _ in expected[:depth]]
                assert [level.amount for level in got] == pytest.approx(
                    [amount for _, amount in expected[:depth]]
                )
