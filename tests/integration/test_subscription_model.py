"""Subscriptions against a model: random interleavings of subscribers joining and leaving
(one at a time, together, or cancelled half way), dropped connections and book gaps. After
each run the simulator's connection must be subscribed to exactly the channels some live
subscriber holds, and every live subscriber must get the next message of each of its
channels. Reference counting, batching, resyncs and the reconnect's resubscribe all meet
here; a leaked or lost channel shows up as a set difference or a message that never comes."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deribit_client import DeribitClient, Gap, Notification, RpcError, Subscription
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from tests.helpers import INSTANT, tick, until

BOOK = "book.BTC-PERPETUAL.100ms"
CHANNELS = (
    "ticker.BTC-PERPETUAL.100ms",
    "ticker.ETH-PERPETUAL.100ms",
    "ticker.BTC-PERPETUAL.raw",
    BOOK,
)

METHODS = ("public/subscribe", "private/subscribe", "public/unsubscribe", "private/unsubscribe")

channel_sets = st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("open"), channel_sets),
        st.tuples(st.just("open_together"), st.lists(channel_sets, min_size=2, max_size=3)),
        st.tuples(st.just("open_cancelled"), channel_sets, st.integers(0, 3)),
        st.tuples(st.just("close"), st.integers(0, 10)),
        st.tuples(st.just("close_and_open"), st.integers(0, 10), channel_sets),
        st.tuples(st.just("drop")),
        st.tuples(st.just("gap")),
        st.tuples(st.sampled_from(["lose_reply", "delay", "refuse"]), st.sampled_from(METHODS)),
    ),
    min_size=1,
    max_size=20,
)


@dataclass
class Model:
    """The subscribers a run holds, in the order they were opened."""

    live: list[Subscription[Any]]

    def channels(self) -> set[str]:
        return {name for sub in self.live for name in sub.channels}


async def turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def run_step(
    step: tuple[Any, ...], client: DeribitClient, sim: DeribitSimulator, model: Model
) -> None:
    async def join(names: list[str]) -> None:
        try:
            model.live.append(await client.subscribe(*names).__aenter__())
        except RpcError as exc:  # only a refusal a step injected may fail a subscribe
            if exc.code != 13028:
                raise

    kind = step[0]
    if kind == "open":
        await join(step[1])
    elif kind == "open_together":
        await asyncio.gather(*(join(names) for names in step[1]))
    elif kind == "open_cancelled":
        task = asyncio.create_task(join(step[1]))
        await turns(step[2])
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # it may have finished before the cancel reached it
    elif kind == "close" and model.live:
        await model.live.pop(step[1] % len(model.live)).close()
    elif kind == "close_and_open":
        # A subscriber leaves while another joins, possibly on the same channels.
        leaving = model.live.pop(step[1] % len(model.live)) if model.live else None
        closing = leaving.close() if leaving is not None else turns(0)
        await asyncio.gather(closing, join(step[2]))
    elif kind == "drop":
        sim.drop_connections()  # the next steps run while the client reconnects
    elif kind == "gap" and BOOK in model.channels():
        await sim.publish_book_change("BTC-PERPETUAL", gap=True)
    elif kind == "lose_reply":  # the request runs; its connection is cut before the reply
        sim.lose_replies(step[1])
    elif kind == "delay":
        sim.delay(step[1], 0.05)
    elif kind == "refuse" and step[1].endswith("/subscribe"):
        sim.inject_error(step[1], 13028, "temporarily_unavailable")


async def next_data(sub: Subscription[Any], channel: str, match: Any) -> None:
    """Read ``sub`` until the notification on ``channel`` that ``match`` accepts; markers
    and other messages on the way are what earlier steps left queued."""
    async with asyncio.timeout(5):
        while True:
            item = await anext(sub)
            if isinstance(item, Gap):
                continue
            assert isinstance(item, Notification)
            if item.channel == channel and match(item.data):
                return


async def check(client: DeribitClient, sim: DeribitSimulator, model: Model) -> None:
    sim.clear_faults()  # no cut from here on; a request a delay holds is still answered
    await client.wait_ready()
    expected = model.channels()

    def settled() -> bool:
        # One connection, not one a step cut (still listed until its handler ends).
        sessions = [(s, s.outbox) for s in sim.sessions if s.outbox is not None]
        return (
            len(sessions) == 1
            and not sessions[0][1].closing
            and sessions[0][0].channels == expected
            and set(client.subscriptions.channels) == expected
        )

    try:
        await until(settled)
    except AssertionError:
        sessions = [sorted(s.channels) for s in sim.sessions if s.is_websocket]
        raise AssertionError(
            f"subscribers hold {sorted(expected)}; the client has "
            f"{sorted(client.subscriptions.channels)}, the simulator {sessions}"
        ) from None
    for seq, channel in enumerate(sorted(expected), start=1_000):
        holders = [sub for sub in model.live if channel in sub.channels]
        if channel == BOOK:
            change_id = (await sim.publish_book_change("BTC-PERPETUAL"))["change_id"]
            for sub in holders:
                # The change, or a later snapshot holding it (a resync may still be out).
                await next_data(sub, channel, lambda d, c=change_id: d.change_id >= c)
        else:
            await sim.publish(channel, tick(seq))
            for sub in holders:
                await next_data(sub, channel, lambda d, seq=seq: d.timestamp == seq)


async def scenario(script: list[tuple[Any, ...]]) -> None:
    async with DeribitSimulator(seed=7) as sim:
        sim.aggregation_periods.clear()  # every event at once: no window to wait for
        async with DeribitClient(
            url=sim.url,
            transport="websocket",
            heartbeat_interval=None,
            reconnect=INSTANT,
            client_id=SIM_CLIENT_ID,  # raw intervals are private channels
            client_secret=SIM_CLIENT_SECRET,
        ) as client:
            model = Model([])
            for step in script:
                await run_step(step, client, sim, model)
            await check(client, sim, model)
            for sub in model.live:
                assert not sub.closed, "a subscriber on valid channels was ended"
                await sub.close()
            await until(lambda: not client.subscriptions.channels)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_subscribed_channels_always_match_the_live_subscribers(
    script: list[tuple[Any, ...]],
) -> None:
    asyncio.run(scenario(script))
