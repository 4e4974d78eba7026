"""The six (un)subscribe methods as typed wrappers (``client.public.subscribe`` ...): they go
through the subscription manager, so notifications are routed and survive reconnects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from deribit_client import (
    ClientError,
    CredentialsRequired,
    DeribitClient,
    Gap,
    Notification,
    RequestTimeout,
    channels,
)
from deribit_client.models import Ticker
from tests.helpers import INSTANT, SILENT, ScriptedDeribit, tick, until

TICKER = "ticker.BTC-PERPETUAL.100ms"
TRADES = "trades.BTC-PERPETUAL.100ms"
ORDERS = "user.orders.BTC-PERPETUAL.raw"


ORDER = {
    "order_id": "1",
    "instrument_name": "BTC-PERPETUAL",
    "direction": "buy",
    "order_state": "open",
    "order_type": "limit",
}


@pytest.fixture
def venue() -> ScriptedDeribit:
    return ScriptedDeribit()


@pytest.fixture
async def client(venue: ScriptedDeribit) -> AsyncIterator[DeribitClient]:
    async with DeribitClient(
        connector=venue.connector, client_id="id", client_secret="secret",
        heartbeat_interval=None, reconnect=INSTANT, rate_limit=False,
    ) as c:  # fmt: skip
        yield c


async def test_public_subscribe_returns_a_started_subscriber(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    sub = await client.public.subscribe([channels.ticker("BTC-PERPETUAL", "100ms")])
    assert venue.calls[-1] == ("public/subscribe", {"channels": [TICKER]})
    assert sub.channels == (TICKER,)
    venue.notify(TICKER, tick(1))
    message = await anext(sub)
    assert isinstance(message, Notification)
    assert isinstance(message.data, Ticker)
    await sub.close()
    assert venue.calls[-1] == ("public/unsubscribe", {"channels": [TICKER]})


async def test_private_subscribe_sends_the_label_and_notifications_carry_it(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    sub = await client.private.subscribe([ORDERS, TICKER], label="bot-7")
    # The label goes with the private channel only; public channels take public/subscribe.
    assert ("private/subscribe", {"channels": [ORDERS], "label": "bot-7"}) in venue.calls
    assert ("public/subscribe", {"channels": [TICKER]}) in venue.calls
    venue.notify(ORDERS, ORDER, label="bot-7")
    message = await anext(sub)
    assert isinstance(message, Notification)
    assert message.label == "bot-7"
    await sub.close()


async def test_the_label_is_sent_again_when_resubscribing_after_a_reconnect(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    async with client.subscribe(ORDERS, label="bot-7") as sub:
        venue.transport.drop("cut")
        await until(lambda: client.reconnect_count == 1)
        assert isinstance(await anext(sub), Gap)
        subscribes = [p for m, p in venue.calls if m == "private/subscribe"]
        assert subscribes == [{"channels": [ORDERS], "label": "bot-7"}] * 2


async def test_a_live_private_channel_keeps_its_label(client: DeribitClient) -> None:
    async with client.subscribe(ORDERS, label="a"):
        with pytest.raises(ClientError, match="already subscribed with label 'a'"):
            await client.private.subscribe([ORDERS], label="b")
        second = await client.private.subscribe([ORDERS], label="a")
        await second.close()


@pytest.mark.parametrize("label", ["", "x" * 17, 7, "tab\there"])
async def test_a_bad_label_is_refused_before_sending(
    venue: ScriptedDeribit, client: DeribitClient, label: Any
) -> None:
    sent = len(venue.calls)
    with pytest.raises(ClientError, match="label must be 1 to 16 printable characters"):
        await client.private.subscribe([ORDERS], label=label)
    assert len(venue.calls) == sent


async def test_unsubscribe_stops_a_channel_for_every_subscriber(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    only_ticker = await client.public.subscribe([TICKER])
    both = await client.public.subscribe([TICKER, TRADES])
    assert await client.public.unsubscribe([TICKER]) == [TICKER]
    assert venue.calls[-1] == ("public/unsubscribe", {"channels": [TICKER]})
    # The subscriber left without channels ends; the other keeps its trades.
    assert [item async for item in only_ticker] == []
    assert both.channels == (TRADES,)
    assert not both.closed
    venue.notify(TICKER, tick(1))  # arrives after the unsubscribe: nobody gets it
    venue.notify(TRADES, [])
    message = await anext(both)
    assert isinstance(message, Notification)
    assert message.channel == TRADES
    assert client.subscriptions.channels == [TRADES]
    await both.close()
    await only_ticker.close()  # closing an ended subscriber is harmless


async def test_unsubscribing_channels_not_subscribed_sends_nothing(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    sent = len(venue.calls)
    assert await client.private.unsubscribe([ORDERS]) == []
    assert len(venue.calls) == sent


@pytest.mark.parametrize("scope", ["public", "private"])
async def test_unsubscribe_all_ends_every_subscriber(
    venue: ScriptedDeribit, client: DeribitClient, scope: str
) -> None:
    ticker = await client.public.subscribe([TICKER])
    orders = await client.private.subscribe([ORDERS])
    api = client.public if scope == "public" else client.private
    assert await api.unsubscribe_all() == "ok"
    assert venue.calls[-1] == (f"{scope}/unsubscribe_all", {})
    assert ticker.closed
    assert orders.closed
    assert client.subscriptions.channels == []
    # Nothing is resubscribed after a reconnect.
    venue.transport.drop("cut")
    await until(lambda: client.reconnect_count == 1)
    assert venue.calls[-1][0] != "public/subscribe"


async def test_public_methods_refuse_private_channels(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    sent = len(venue.calls)
    with pytest.raises(ClientError, match=r"user\.orders.* need private/subscribe"):
        await client.public.subscribe([TICKER, ORDERS])
    with pytest.raises(ClientError, match="need private/unsubscribe"):
        await client.public.unsubscribe([ORDERS])
    with pytest.raises(ClientError, match="a list of channel names, not one str"):
        await client.public.subscribe(TICKER)
    assert len(venue.calls) == sent


async def test_private_methods_need_credentials(venue: ScriptedDeribit) -> None:
    async with DeribitClient(connector=venue.connector, heartbeat_interval=None) as client:
        with pytest.raises(CredentialsRequired):
            await client.private.subscribe([TICKER])
        with pytest.raises(CredentialsRequired):
            await client.private.unsubscribe_all()


async def test_a_subscribe_past_its_timeout_releases_the_channel(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    venue.results["public/subscribe"] = SILENT
    with pytest.raises(RequestTimeout, match="public/subscribe"):
        await client.public.subscribe([TICKER], timeout=0.05)
    # The request may have reached the venue: the orphaned channel is unsubscribed.
    await until(lambda: venue.calls[-1] == ("public/unsubscribe", {"channels": [TICKER]}))
    assert client.subscriptions.channels == []


async def test_a_started_subscriber_can_be_closed_by_a_with_block(
    venue: ScriptedDeribit, client: DeribitClient
) -> None:
    sub = await client.public.subscribe([TICKER])
    async with sub as entered:
        assert entered is sub
    assert sub.closed
    assert venue.calls[-1] == ("public/unsubscribe", {"channels": [TICKER]})
    assert [m for m, _ in venue.calls].count("public/subscribe") == 1
