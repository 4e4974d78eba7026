"""Subscriptions, backpressure, heartbeats and reconnects against the simulator."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deribit_client import (
    ClientClosed,
    ConnectionLost,
    CredentialsRequired,
    DeribitClient,
    DeribitError,
    Gap,
    Notification,
    RateLimitError,
    ReconnectPolicy,
    RpcError,
    SubscriberOverflow,
    Subscription,
    SubscriptionRejected,
)
from deribit_client.models import BookChange, Ticker
from deribit_client.testing import DeribitSimulator
from tests.helpers import INSTANT, FastHeartbeatClient, tick, until

TICKER = "ticker.BTC-PERPETUAL.100ms"
BOOK = "book.BTC-PERPETUAL.100ms"


@pytest.fixture(autouse=True)
def every_event_at_once(sim: DeribitSimulator) -> None:
    every_event(sim)


def every_event(sim: DeribitSimulator) -> None:
    """These tests drive the client with bursts of events on one channel: the simulator
    sends each at once instead of merging a ``100ms`` window (test_sim_intervals.py)."""
    sim.aggregation_periods.clear()


@pytest.fixture
async def client(sim: DeribitSimulator) -> AsyncIterator[DeribitClient]:
    async with DeribitClient(
        url=sim.url, transport="websocket", heartbeat_interval=None, reconnect=INSTANT
    ) as c:
        yield c


async def test_a_typed_channel_is_the_same_subscription(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    from deribit_client import channels

    typed = channels.ticker("BTC-PERPETUAL", "100ms")
    async with client.subscribe(typed) as sub:
        assert client.subscriptions.channels == [TICKER]
        await sim.publish(TICKER, tick(7))
        message = await anext(sub)
        assert isinstance(message, Notification)
        ticker: Ticker = message.data  # typed: Subscription[Ticker]
        assert ticker.timestamp == 7


async def test_typed_notifications_and_reference_counting(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(TICKER) as first, client.subscribe(TICKER) as second:
        assert len(sim.subscriptions) == 1  # the shared channel was subscribed once
        await sim.publish(TICKER, tick(1))
        one, two = await anext(first), await anext(second)
        assert isinstance(one, Notification)
        assert isinstance(one.data, Ticker)
        assert one.data.timestamp == 1
        assert isinstance(two, Notification)
        assert two.data is one.data
        await second.close()
        assert client.subscriptions.channels == [TICKER]
        assert not any(m == "public/unsubscribe" for m, _ in sim.calls)
    assert client.subscriptions.channels == []
    assert ("public/unsubscribe", {"channels": [TICKER]}) in sim.calls


async def test_leaving_a_subscription_whose_unsubscribe_is_refused_does_not_raise(
    client: DeribitClient, sim: DeribitSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    # The block's own exception (or none) is what the user sees; the release goes on.
    sim.inject_error("public/unsubscribe", 13028, "temporarily_unavailable", times=2)
    with caplog.at_level(logging.INFO, logger="deribit_client"):
        async with client.subscribe(TICKER):
            pass
    assert client.subscriptions.channels == []
    assert "unsubscribe of ticker.BTC-PERPETUAL.100ms failed" in caplog.text
    # A transient refusal is tried again: the server must not stream to nobody until the
    # connection ends (here the third try is accepted).
    await until(lambda: all(not session.channels for session in sim.sessions))
    assert [m for m, _ in sim.calls].count("public/unsubscribe") == 3
    async with client.subscribe(TICKER) as again:  # subscribing again works
        await sim.publish(TICKER, tick(2))
        assert (await anext(again)).data.timestamp == 2  # type: ignore[union-attr]


async def test_an_unsubscribe_refused_on_every_try_is_given_up_after_five(
    client: DeribitClient, sim: DeribitSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.inject_error("public/unsubscribe", 13028, "temporarily_unavailable", times=None)
    with caplog.at_level(logging.INFO, logger="deribit_client"):
        async with client.subscribe(TICKER):
            pass
        await until(lambda: "could not release" in caplog.text)
    # The first try and the retries together: TRANSIENT_ATTEMPTS, as for a resync.
    assert [m for m, _ in sim.calls].count("public/unsubscribe") == 5


async def test_a_refusal_no_retry_mends_leaves_the_unsubscribe_alone(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.inject_error("public/unsubscribe", 11050, "bad_request")
    async with client.subscribe(TICKER):
        pass
    await client.public.get_time()  # a round trip: a retry would have gone out before it
    assert [m for m, _ in sim.calls].count("public/unsubscribe") == 1


async def test_unknown_channels_arrive_as_plain_json(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe("announcements", "deribit_price_ranking.btc_usd") as sub:
        await sim.publish("deribit_price_ranking.btc_usd", [{"identifier": "x", "price": 1.5}])
        message = await anext(sub)
        assert isinstance(message, Notification)
        assert message.data[0].identifier == "x"
    # A channel family the SDK has no model for decodes to plain JSON, never an error.
    sim.reject_channels.clear()
    async with client.subscribe("platform_state.public_methods_state") as sub:
        await sim.publish(
            "platform_state.public_methods_state", {"allow_unauthenticated_public_requests": True}
        )
        assert (await anext(sub)).data.allow_unauthenticated_public_requests is True  # type: ignore[union-attr]


async def test_silently_dropped_channel_fails_the_subscriber_clearly(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.reject_channels.add("ticker.ETH-PERPETUAL.100ms")
    with pytest.raises(SubscriptionRejected) as info:
        async with client.subscribe(TICKER, "ticker.ETH-PERPETUAL.100ms"):
            pass
    assert info.value.channels == ["ticker.ETH-PERPETUAL.100ms"]
    assert client.subscriptions.channels == []
    assert all(not s.channels for s in sim.sessions)  # the accepted one was undone


async def test_private_channels_need_credentials_before_any_io(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    before = len(sim.calls)
    with pytest.raises(CredentialsRequired, match=r"user\.orders"):
        client.subscribe("user.orders.BTC-PERPETUAL.raw")
    with pytest.raises(CredentialsRequired, match="raw"):
        client.subscribe("book.BTC-PERPETUAL.raw")
    with pytest.raises(ValueError, match="at least one"):
        client.subscribe()
    assert len(sim.calls) == before


async def lose_a_change(sub: AsyncIterator[Any], sim: DeribitSimulator) -> None:
    """Read the book's snapshot, then publish a change whose predecessor never came: the
    subscriber gets ``Gap(reason="book_gap")`` and the client starts a resync."""
    assert (await anext(sub)).data.type == "snapshot"
    await lose_a_change_after_the_snapshot(sub, sim)


async def lose_a_change_after_the_snapshot(sub: AsyncIterator[Any], sim: DeribitSimulator) -> None:
    """Publish a change whose predecessor never came: the subscriber gets its Gap."""
    await sim.publish_book_change("BTC-PERPETUAL", gap=True)
    assert await anext(sub) == Gap(BOOK, "book_gap")


async def follows_a_fresh_snapshot(sub: AsyncIterator[Any], sim: DeribitSimulator) -> None:
    """The next item is a fresh snapshot (soon: not a wait for data that never comes), and
    the book's next change follows on from it, delivered without another gap."""
    async with asyncio.timeout(5):
        fresh = await anext(sub)
    assert isinstance(fresh, Notification)
    assert isinstance(fresh.data, BookChange)
    assert fresh.data.type == "snapshot"
    follow = await sim.publish_book_change("BTC-PERPETUAL")
    got = await anext(sub)
    assert isinstance(got, Notification)
    assert got.data.change_id == follow["change_id"]
    assert got.data.prev_change_id == fresh.data.change_id


async def test_book_gap_is_marked_and_resynced_with_a_fresh_snapshot(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(BOOK) as sub:
        snapshot = await anext(sub)
        assert isinstance(snapshot, Notification)
        assert snapshot.data.type == "snapshot"
        change = await sim.publish_book_change("BTC-PERPETUAL")
        got = await anext(sub)
        assert isinstance(got, Notification)
        assert got.data.change_id == change["change_id"]
        await lose_a_change_after_the_snapshot(sub, sim)
        await follows_a_fresh_snapshot(sub, sim)  # the gapped change is never delivered
        assert client.subscriptions.book_gaps == 1


async def test_changes_between_a_gap_and_the_fresh_snapshot_are_not_delivered(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    # They follow a change the client never saw: applied, they would corrupt a local book;
    # checked, each would start another resync.
    async with client.subscribe(BOOK) as sub:
        sim.delay("public/unsubscribe", 0.2)  # the channel is still subscribed meanwhile
        await lose_a_change(sub, sim)
        await sim.publish_book_change("BTC-PERPETUAL")
        fresh = await anext(sub)
        assert isinstance(fresh, Notification)
        assert fresh.data.type == "snapshot"
        assert client.subscriptions.book_gaps == 1
        assert [method for method, _ in sim.calls].count("public/subscribe") == 2


async def test_a_resync_refused_for_a_moment_is_retried_until_a_snapshot_comes(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(BOOK) as sub:
        sim.inject_error("public/subscribe", 13028, "temporarily_unavailable", times=2)
        await lose_a_change(sub, sim)
        await follows_a_fresh_snapshot(sub, sim)
        assert [method for method, _ in sim.calls].count("public/subscribe") == 4


async def test_a_resync_refused_on_every_try_ends_the_subscriber(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(BOOK) as sub:
        sim.inject_error("public/subscribe", 13028, "temporarily_unavailable", times=None)
        await lose_a_change(sub, sim)
        async with asyncio.timeout(5):
            with pytest.raises(SubscriptionRejected, match="temporarily_unavailable"):
                await anext(sub)
        assert [method for method, _ in sim.calls].count("public/subscribe") == 1 + 5


async def test_a_resync_the_server_refuses_fails_the_subscriber_with_the_reason(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    # Reported from outside: after a book gap whose resubscribe Deribit refused, the
    # subscriber got its Gap and then nothing, ever, with no error.
    async with client.subscribe(BOOK) as sub:
        sim.inject_error("public/subscribe", 13025, "method_switched_off_by_admin")
        await lose_a_change(sub, sim)
        async with asyncio.timeout(5):
            with pytest.raises(SubscriptionRejected, match=r"on resync.*13025") as caught:
                await anext(sub)
        assert isinstance(caught.value.__cause__, RpcError)
        assert caught.value.__cause__.code == 13025
        assert BOOK not in client.subscriptions.channels


async def test_a_resync_whose_channel_is_not_confirmed_fails_the_subscriber(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(BOOK) as sub:
        sim.reject_channels.add(BOOK)  # answered, but without the channel
        await lose_a_change(sub, sim)
        async with asyncio.timeout(5):
            with pytest.raises(SubscriptionRejected, match="on resync") as caught:
                await anext(sub)
        assert caught.value.channels == [BOOK]
        assert BOOK not in client.subscriptions.channels


async def test_a_connection_lost_during_a_resync_is_mended_by_the_reconnect(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(BOOK) as sub:
        sim.delay("public/unsubscribe", 5)
        await lose_a_change(sub, sim)
        await until(lambda: "public/unsubscribe" in [method for method, _ in sim.calls])
        sim.drop_connections()  # the resync's unsubscribe never gets its answer
        assert await anext(sub) == Gap(BOOK, "reconnected")
        await follows_a_fresh_snapshot(sub, sim)
        assert client.subscriptions.book_gaps == 1


async def test_a_gap_while_the_reconnect_still_resubscribes_is_resynced(
    trader: DeribitClient, sim: DeribitSimulator
) -> None:
    # Found by test_subscription_model.py: the book is subscribed again and streaming while
    # the reconnect still waits for its private/subscribe. A gap then was marked, its
    # resync refused ("reconnecting") and left to a reconnect that had already passed:
    # the subscriber got its Gap and nothing ever after.
    raw = "ticker.BTC-PERPETUAL.raw"  # private: resubscribed by a second request
    async with trader.subscribe(BOOK) as sub, trader.subscribe(raw):
        assert (await anext(sub)).data.type == "snapshot"  # type: ignore[union-attr]
        sim.delay("private/subscribe", 0.3)
        dropped = {session.id for session in sim.sessions}
        sim.drop_connections()
        assert await anext(sub) == Gap(BOOK, "reconnected")
        assert (await anext(sub)).data.type == "snapshot"  # type: ignore[union-attr]
        assert trader.state == "reconnecting"  # private/subscribe is held
        assert any(BOOK in s.channels for s in sim.sessions if s.id not in dropped)
        await lose_a_change_after_the_snapshot(sub, sim)
        await follows_a_fresh_snapshot(sub, sim)


async def test_a_local_book_follows_the_stream_across_a_gap(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    from deribit_client import LocalOrderBook, channels

    book = LocalOrderBook("BTC-PERPETUAL")
    async with client.subscribe(channels.book("BTC-PERPETUAL", "100ms")) as sub:
        book.apply(await anext(sub))
        assert book.ready
        await sim.publish_book_change("BTC-PERPETUAL")
        book.apply(await anext(sub))
        assert book.changes == 1
        await sim.publish_book_change("BTC-PERPETUAL", gap=True)
        book.apply(await anext(sub))  # the Gap
        assert not bool(book.ready)  # bool(): mypy would keep the narrowing of `book.ready`
        fresh = await anext(sub)
        book.apply(fresh)
        assert book.ready
        assert isinstance(fresh, Notification)
        # Rebuilt from the snapshot alone: exactly its levels, best first.
        assert [lv.price for lv in book.bids()] == sorted(
            (lv.price for lv in fresh.data.bids if lv.amount > 0), reverse=True
        )
        best = book.best_bid()
        assert best is not None
        assert book.spread() is not None


async def test_second_book_subscriber_triggers_a_resync_for_both(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(BOOK) as first:
        assert (await anext(first)).data.type == "snapshot"  # type: ignore[union-attr]
        async with client.subscribe(BOOK) as second:
            marker = await anext(first)
            assert isinstance(marker, Gap)
            assert marker.reason == "resync"
            for sub in (first, second):  # both start again from a fresh snapshot
                item = await anext(sub)
                while isinstance(item, Gap):
                    item = await anext(sub)
                assert item.data.type == "snapshot"
        with pytest.raises(ValueError, match="only once"):
            await first  # entering a live subscription again is misuse


async def test_slow_consumer_on_drop_oldest_loses_only_counted_messages(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(TICKER, policy="drop_oldest", maxsize=10) as sub:
        for seq in range(1000):
            await sim.publish(TICKER, tick(seq))
        # The read loop never waits for the consumer: replies still come through.
        assert await client.public.get_time(timeout=2) > 0
        await until(lambda: sub.received == 1000)
        gap = await anext(sub)
        assert isinstance(gap, Gap)
        assert (gap.reason, gap.lost) == ("overflow", 990)
        rest = [await anext(sub) for _ in range(10)]
        assert [m.data.timestamp for m in rest] == list(range(990, 1000))  # type: ignore[union-attr]
        assert sub.dropped == 990


async def test_keep_latest_conflates_per_channel(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    async with client.subscribe(TICKER, policy="keep_latest") as sub:
        for seq in range(100):
            await sim.publish(TICKER, tick(seq))
        await until(lambda: sub.received == 100)
        latest = await asyncio.wait_for(anext(sub), 5)  # an item lost on the way: fail, not hang
        assert latest.data.timestamp == 99  # type: ignore[union-attr]
        assert sub.conflated == 99
        assert len(sub) == 0


async def test_error_policy_tells_the_consumer_it_fell_behind(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sub = await client.subscribe(TICKER, policy="error", maxsize=5)
    for seq in range(6):
        await sim.publish(TICKER, tick(seq))
    with pytest.raises(SubscriberOverflow) as info:
        async for _ in sub:
            pass
    assert info.value.discarded == 6
    await until(lambda: client.subscriptions.channels == [])
    await sub.close()


async def test_callbacks_sync_and_async(client: DeribitClient, sim: DeribitSimulator) -> None:
    seen: list[Any] = []
    done = asyncio.Event()

    async def on_message(item: Any) -> None:
        seen.append(("async", item.data.timestamp))
        if len(seen) == 6:
            done.set()

    def on_sync(item: Any) -> None:
        seen.append(("sync", item.data.timestamp))

    async with (
        client.subscribe(TICKER, callback=on_sync),
        client.subscribe(TICKER, callback=on_message),
    ):
        for seq in range(3):
            await sim.publish(TICKER, tick(seq))
        await asyncio.wait_for(done.wait(), 5)
    assert sorted(seen) == [
        ("async", 0),
        ("async", 1),
        ("async", 2),
        ("sync", 0),
        ("sync", 1),
        ("sync", 2),
    ]


async def test_malformed_notification_is_logged_and_skipped(
    client: DeribitClient, sim: DeribitSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    async with client.subscribe(TICKER) as sub:
        with caplog.at_level(logging.WARNING, logger="deribit_client"):
            await sim.send_raw(
                f'{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"{TICKER}",'
                '"data":{"instrument_name":5}}}'
            )
            await sim.send_raw("{not json")
            await sim.publish(TICKER, tick(7))
            marker = await anext(sub)
            message = await anext(sub)
        # The subscriber is told that something of its channel was lost.
        assert marker == Gap(TICKER, "malformed")
        assert message.data.timestamp == 7  # type: ignore[union-attr]
        assert client.subscriptions.malformed == 1
        assert any("malformed notification" in r.getMessage() for r in caplog.records)
        assert client.state == "ready"


@pytest.mark.parametrize("kind", ["plain", "coroutine"])
async def test_a_channels_lone_callback_gets_typed_notifications(
    client: DeribitClient, sim: DeribitSimulator, kind: str
) -> None:
    # Alone on its channel, a callback subscriber (run in the read loop, or by its own task)
    # gets each notification decoded, as an iterating one does.
    seen: list[Any] = []
    done = asyncio.Event()

    def on_plain(item: Any) -> None:
        seen.append(item)
        if len(seen) == 3:
            done.set()

    async def on_coroutine(item: Any) -> None:
        on_plain(item)

    callback = on_plain if kind == "plain" else on_coroutine
    async with client.subscribe(TICKER, callback=callback):
        for seq in range(3):
            await sim.publish(TICKER, tick(seq))
        await asyncio.wait_for(done.wait(), 5)
    assert [type(item) for item in seen] == [Notification] * 3
    assert [item.data.timestamp for item in seen] == [0, 1, 2]
    assert all(type(item.data) is Ticker for item in seen)


async def test_notifications_queued_for_a_lone_reader_arrive_whole_when_others_join(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    # A lone reader's queue holds frames it decodes as it reads them: those already
    # queued when a second subscriber joins (and the channel goes back to decoding on
    # arrival) must still come out as typed notifications, in order, none lost.
    async with client.subscribe(TICKER) as first:
        for seq in range(2):
            await sim.publish(TICKER, tick(seq))
        await until(lambda: len(first) == 2)
        async with client.subscribe(TICKER) as second:
            await sim.publish(TICKER, tick(2))
            items = [await anext(first) for _ in range(3)]
            joined = await anext(second)
    assert [type(item.data) for item in items] == [Ticker] * 3  # type: ignore[union-attr]
    assert [item.data.timestamp for item in items] == [0, 1, 2]  # type: ignore[union-attr]
    assert {item.channel for item in items} == {TICKER}
    assert joined.data.timestamp == 2  # type: ignore[union-attr]
    assert client.subscriptions.malformed == 0


async def test_in_flight_calls_fail_and_are_not_resent_across_a_reconnect(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.delay("public/get_time", 10)
    waiting = asyncio.create_task(client.public.get_time())
    await until(lambda: any(m == "public/get_time" for m, _ in sim.calls))
    sim.drop_connections()
    with pytest.raises(ConnectionLost):
        await waiting
    await until(lambda: client.reconnect_count == 1 and client.state == "ready")
    assert await client.public.status()
    assert [m for m, _ in sim.calls].count("public/get_time") == 1


async def subscribe_while_down(
    client: DeribitClient, sim: DeribitSimulator
) -> asyncio.Future[Subscription[Any]]:
    """Cut the link, keep the reconnect from succeeding (``sim.refuse_websocket``), and
    start a subscribe to ``TICKER``: it waits for the reconnect."""
    sim.refuse_websocket = True
    sim.drop_connections()
    await until(lambda: client.state == "reconnecting")
    entering = asyncio.ensure_future(client.subscribe(TICKER))
    await until(lambda: client.subscriptions.awaiting_reconnect == 1)
    assert not entering.done()
    return entering


async def test_a_subscribe_made_while_reconnecting_waits_for_the_new_connection(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    entering = await subscribe_while_down(client, sim)
    sim.refuse_websocket = False
    async with await entering as sub:
        assert client.state == "ready"
        assert subscribe_calls(sim) == [[TICKER]]  # by the reconnect, once
        await sim.publish(TICKER, tick(5))
        assert await anext(sub) == Gap(TICKER, "reconnected")
        assert (await anext(sub)).data.timestamp == 5  # type: ignore[union-attr]
    assert client.subscriptions.awaiting_reconnect == 0


async def test_a_subscribe_whose_link_drops_before_the_reply_is_confirmed_by_the_reconnect(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.delay("public/subscribe", 10)
    entering = asyncio.ensure_future(client.subscribe(TICKER))
    await until(lambda: subscribe_calls(sim) == [[TICKER]])
    sim.drop_connections()
    async with await entering as sub:
        assert subscribe_calls(sim) == [[TICKER], [TICKER]]
        await sim.publish(TICKER, tick(6))
        assert await anext(sub) == Gap(TICKER, "reconnected")
        assert (await anext(sub)).data.timestamp == 6  # type: ignore[union-attr]


async def test_a_subscribe_the_reconnect_rejects_raises_and_holds_nothing(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.delay("public/subscribe", 10)
    entering = asyncio.ensure_future(client.subscribe(TICKERS[0], TICKERS[1]))
    await until(lambda: len(subscribe_calls(sim)) == 1)
    sim.reject_channels.add(TICKERS[1])
    sim.drop_connections()
    with pytest.raises(SubscriptionRejected) as info:
        await entering
    assert info.value.channels == [TICKERS[1]]
    await until(lambda: not {c for s in sim.sessions for c in s.channels})
    assert client.subscriptions.channels == []


async def test_a_subscribe_waits_for_a_reconnect_no_longer_than_the_timeout(
    sim: DeribitSimulator,
) -> None:
    async with DeribitClient(
        url=sim.url, transport="websocket", heartbeat_interval=None, reconnect=INSTANT,
        timeout=0.2,
    ) as client:  # fmt: skip
        sim.refuse_websocket = True
        sim.drop_connections()
        await until(lambda: client.state == "reconnecting")
        with pytest.raises(ConnectionLost, match=r"not reconnected within 0\.2 s"):
            await client.subscribe(TICKER)
        assert client.subscriptions.channels == []
        assert client.subscriptions.awaiting_reconnect == 0


async def test_a_subscribe_cut_off_without_reconnect_fails_at_once(sim: DeribitSimulator) -> None:
    async with DeribitClient(
        url=sim.url, transport="websocket", heartbeat_interval=None, reconnect=False
    ) as client:
        sim.delay("public/subscribe", 10)
        entering = asyncio.ensure_future(client.subscribe(TICKER))
        await until(lambda: subscribe_calls(sim) == [[TICKER]])
        sim.drop_connections()
        with pytest.raises(ConnectionLost):
            await entering
        assert client.state == "failed"
        assert client.subscriptions.channels == []


async def test_closing_ends_a_subscribe_waiting_for_the_reconnect(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    entering = await subscribe_while_down(client, sim)
    await client.close()
    with pytest.raises(ClientClosed):
        await entering


async def test_rate_limit_error_that_closes_the_connection_recovers(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.inject_error("public/status", 10028, "too_many_requests", close=True)
    with pytest.raises(RateLimitError):
        await client.public.status()
    await until(lambda: client.reconnect_count == 1 and client.state == "ready")
    assert (await client.public.status()).is_locked is False


async def test_public_reads_detour_over_http_while_reconnecting(sim: DeribitSimulator) -> None:
    async with DeribitClient(url=sim.url, heartbeat_interval=None, reconnect=INSTANT) as client:
        sim.refuse_websocket = True
        sim.drop_connections()
        await until(lambda: client.state == "reconnecting")
        ticker = await client.public.ticker("BTC-PERPETUAL")
        assert ticker.instrument_name == "BTC-PERPETUAL"
        with pytest.raises(ConnectionLost, match="reconnecting"):
            await client.public.hello("bot", "1.0")
        sim.refuse_websocket = False
        await until(lambda: client.state == "ready")
        assert client.transport_kind == "websocket"


async def test_giving_up_ends_subscribers_with_the_reason(sim: DeribitSimulator) -> None:
    policy = ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0, max_attempts=2)
    async with (
        DeribitClient(
            url=sim.url, transport="websocket", heartbeat_interval=None, reconnect=policy
        ) as client,
        client.subscribe(TICKER) as sub,
    ):
        sim.refuse_websocket = True
        sim.drop_connections()
        with pytest.raises(ConnectionLost, match="could not reconnect"):
            async for _ in sub:
                pass
        assert client.state == "failed"
        assert client.last_error is not None


async def test_heartbeat_is_answered_and_never_missed(
    sim: DeribitSimulator,
) -> None:
    sim.min_heartbeat_interval = 0.01
    sim.idle_timeout = 0.5  # answering test_request keeps the connection alive
    async with FastHeartbeatClient(
        url=sim.url, heartbeat_interval=0.2, reconnect=INSTANT
    ) as client:
        await until(lambda: sim.test_requests_sent >= 5)
        assert sim.heartbeat_failures == 0
        assert sim.idle_disconnects == 0
        assert client.reconnect_count == 0
        assert ("public/set_heartbeat", {"interval": 0.2}) in sim.calls


async def test_an_idle_connection_is_closed_and_the_client_carries_on(
    sim: DeribitSimulator,
) -> None:
    # Deribit drops a connection that sent nothing for about 10 minutes (REFERENCE 3):
    # without heartbeats, a bot that only listens meets it.
    sim.idle_timeout = 0.2
    client = DeribitClient(url=sim.url, heartbeat_interval=None, reconnect=INSTANT)
    async with client, client.subscribe(TICKER) as sub:
        await until(lambda: client.reconnect_count == 1 and client.state == "ready")
        assert sim.idle_disconnects == 1
        assert "closed by peer (code 1000)" in str(client.last_error)
        marker = await anext(sub)
        assert isinstance(marker, Gap)
        assert marker.reason == "reconnected"
        assert [channels for _, _, channels in sim.subscriptions] == [[TICKER], [TICKER]]


async def test_half_open_link_is_detected_by_heartbeat(
    sim: DeribitSimulator,
) -> None:
    sim.min_heartbeat_interval = 0.01
    client = FastHeartbeatClient(url=sim.url, heartbeat_interval=0.1, reconnect=INSTANT)
    async with client, client.subscribe(TICKER) as sub:
        sim.go_silent()  # the socket stays open; nothing flows either way
        await until(lambda: client.reconnect_count == 1 and client.state == "ready")
        assert "no traffic" in str(client.last_error)
        marker = await anext(sub)
        assert isinstance(marker, Gap)
        assert marker.reason == "reconnected"
        await sim.publish(TICKER, tick(5))
        assert (await anext(sub)).data.timestamp == 5  # type: ignore[union-attr]


async def test_ten_thousand_notifications_cut_at_random_points() -> None:
    cuts = sorted(random.Random(42).sample(range(1, 10_000), 60))
    received: list[int] = []
    gaps: list[Gap] = []
    async with DeribitSimulator(seed=3) as sim:
        every_event(sim)
        async with DeribitClient(
            url=sim.url, transport="websocket", heartbeat_interval=None, reconnect=INSTANT
        ) as client:
            async with client.subscribe(TICKER, policy="error", maxsize=20_000) as sub:

                async def consume() -> None:
                    async for item in sub:
                        if isinstance(item, Gap):
                            gaps.append(item)
                        else:
                            received.append(item.data.timestamp)
                            if item.data.timestamp == 9_999:
                                return

                consumer = asyncio.create_task(consume())
                connections = 1
                for seq in range(10_000):
                    if cuts and seq == cuts[0]:
                        cuts.pop(0)
                        sim.drop_connections()
                        connections += 1
                        await until(
                            lambda n=connections: (
                                len(sim.subscriptions) == n  # type: ignore[misc]
                                and client.state == "ready"
                            )
                        )
                    await sim.publish(TICKER, tick(seq))
                await asyncio.wait_for(consumer, 10)
            assert client.reconnect_count == 60
        # Every connection subscribed the channel exactly once.
        sessions = [session for session, _, channels in sim.subscriptions if channels == [TICKER]]
        assert len(sessions) == 61
        assert len(set(sessions)) == 61
    assert received == list(range(10_000))
    assert [g.reason for g in gaps] == ["reconnected"] * 60
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftover == []


async def test_simulator_generates_consistent_market_streams(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    from deribit_client.models import PriceIndex, PublicTrade, Quote

    channels = (
        BOOK,
        TICKER,
        "trades.BTC-PERPETUAL.100ms",
        "quote.BTC-PERPETUAL",
        "deribit_price_index.btc_usd",
        "book.ETH-PERPETUAL.none.10.100ms",
    )
    seen: dict[str, list[Any]] = {c: [] for c in channels}
    sim.start_streams(0.005)
    async with client.subscribe(*channels) as sub:
        async for item in sub:
            assert isinstance(item, Notification)
            seen[item.channel].append(item.data)
            if all(len(v) >= 5 for v in seen.values()):
                break
    sim.stop_streams()
    assert client.subscriptions.book_gaps == 0  # consecutive change ids
    assert seen[BOOK][0].type == "snapshot"
    assert all(isinstance(t, Ticker) for t in seen[TICKER])
    assert all(isinstance(t[0], PublicTrade) for t in seen["trades.BTC-PERPETUAL.100ms"])
    assert all(isinstance(q, Quote) for q in seen["quote.BTC-PERPETUAL"])
    assert all(isinstance(p, PriceIndex) for p in seen["deribit_price_index.btc_usd"])
    assert len(seen["book.ETH-PERPETUAL.none.10.100ms"][0].bids) == 10


async def test_simulator_streams_survive_an_empty_book_side(sim: DeribitSimulator) -> None:
    # Reported: the stream task died with ZeroDivisionError once a book side was empty,
    # silently stopping every stream.
    sim.market.books["BTC-PERPETUAL"].asks.clear()
    channels = [BOOK, TICKER, "quote.BTC-PERPETUAL", "trades.BTC-PERPETUAL.100ms"]
    async with (
        DeribitClient(url=sim.url, transport="websocket", heartbeat_interval=None) as client,
        client.subscribe(*channels) as sub,
    ):
        sim.start_streams(0.005)
        seen: set[str] = set()
        async with asyncio.timeout(5):  # a dead stream task would otherwise hang here
            async for item in sub:
                if isinstance(item, Notification):
                    seen.add(item.channel)
                if {BOOK, TICKER, "quote.BTC-PERPETUAL"} <= seen:
                    break
        assert client.subscriptions.malformed == 0
        sim.stop_streams()


TICKERS = [f"ticker.{name}.100ms" for name in ("BTC-PERPETUAL", "ETH-PERPETUAL", "BTC_USDC")]


def subscribe_calls(sim: DeribitSimulator) -> list[list[str]]:
    return [params["channels"] for method, params in sim.calls if method == "public/subscribe"]


async def test_subscribers_started_together_share_one_subscribe_request(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    # Deribit bills each subscribe request and allows about three a second (burst 10):
    # twenty strategies starting at once took 3.4 s with a request each.
    names = [f"ticker.{name}.100ms" for name in sorted(sim.market.instruments)[:20]]
    before = len(subscribe_calls(sim))
    subs = await asyncio.gather(*(client.subscribe(name) for name in names))
    try:
        assert subscribe_calls(sim)[before:] == [names]
        assert sorted(client.subscriptions.channels) == sorted(names)
    finally:
        await asyncio.gather(*(sub.close() for sub in subs))


async def test_two_book_subscribers_of_one_batch_start_from_one_snapshot(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    first, second = await asyncio.gather(client.subscribe(BOOK), client.subscribe(BOOK))
    async with first, second:
        for sub in (first, second):
            message = await anext(sub)
            assert isinstance(message, Notification)
            assert message.data.type == "snapshot"
        # No resync of a channel that was only now subscribed.
        assert subscribe_calls(sim) == [[BOOK]]
        assert "public/unsubscribe" not in [method for method, _ in sim.calls]


async def test_a_rejected_subscriber_in_a_batch_leaves_the_others_subscribed(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.reject_channels.add(TICKERS[2])
    results: list[Any] = await asyncio.gather(
        client.subscribe(TICKERS[0]),
        client.subscribe(TICKERS[1], TICKERS[2]),
        return_exceptions=True,
    )
    ok, rejected = results
    assert isinstance(rejected, SubscriptionRejected)
    assert rejected.channels == [TICKERS[2]]
    assert not isinstance(ok, BaseException)
    async with ok:
        assert client.subscriptions.channels == [TICKERS[0]]
        # The rejected subscriber's accepted channel was undone before it heard.
        assert {c for s in sim.sessions for c in s.channels} == {TICKERS[0]}
        await sim.publish(TICKERS[0], {"instrument_name": "BTC-PERPETUAL", "timestamp": 1})
        assert (await anext(ok)).channel == TICKERS[0]


async def test_cancelling_one_subscriber_of_a_batch_loses_nothing_else(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.delay("public/subscribe", 0.2)
    kept = asyncio.ensure_future(client.subscribe(TICKERS[0]).__aenter__())
    gone = asyncio.ensure_future(client.subscribe(TICKERS[1]).__aenter__())
    await until(lambda: len(subscribe_calls(sim)) == 1)  # one request for both
    gone.cancel()
    sub = await kept
    with pytest.raises(asyncio.CancelledError):
        await gone
    async with sub:
        await until(lambda: ("public/unsubscribe", {"channels": [TICKERS[1]]}) in sim.calls)
        assert client.subscriptions.channels == [TICKERS[0]]
        await sim.publish(TICKERS[0], {"instrument_name": "BTC-PERPETUAL", "timestamp": 1})
        assert (await anext(sub)).channel == TICKERS[0]


async def test_a_subscribe_cancelled_before_its_batch_goes_out_sends_nothing(
    client: DeribitClient, sim: DeribitSimulator
) -> None:
    sim.delay("public/subscribe", 0.2)
    first = asyncio.ensure_future(client.subscribe(TICKERS[0]).__aenter__())
    await until(lambda: len(subscribe_calls(sim)) == 1)
    gone = asyncio.ensure_future(client.subscribe(TICKERS[1]).__aenter__())
    await asyncio.sleep(0)  # one turn: it is queued behind the batch in flight
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    async with await first, client.subscribe(TICKERS[2]):  # the queue still works
        assert client.subscriptions.channels == [TICKERS[0], TICKERS[2]]
    assert subscribe_calls(sim) == [[TICKERS[0]], [TICKERS[2]]]  # never TICKERS[1]


async def test_a_subscriber_waiting_for_its_batch_fails_cleanly_on_close(
    sim: DeribitSimulator,
) -> None:
    sim.delay("public/subscribe", 5.0)
    async with DeribitClient(url=sim.url, heartbeat_interval=None) as client:
        waiting = [asyncio.ensure_future(client.subscribe(name).__aenter__()) for name in TICKERS]
        await until(lambda: len(subscribe_calls(sim)) == 1)
        # One more, queued behind the batch in flight: its request never goes out.
        queued = asyncio.ensure_future(client.subscribe(BOOK).__aenter__())
        await asyncio.sleep(0)
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, DeribitError) for r in results), results
    with pytest.raises(ClientClosed):
        await asyncio.wait_for(queued, 5)
    assert len(subscribe_calls(sim)) == 1
