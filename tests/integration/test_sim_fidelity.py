"""The bundled simulator answers the way production Deribit does (issue #11)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp
import msgspec
import pytest

from deribit_client import (
    DeribitClient,
    DeribitError,
    Gap,
    HTTPStatusError,
    InsufficientFundsError,
    InvalidRequestError,
    LocalOrderBook,
    Notification,
    RpcError,
    TransportError,
)
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from deribit_client.transports import WebSocketTransport
from tests.helpers import KEY, until

PERP = "BTC-PERPETUAL"


async def http_get(sim: DeribitSimulator, method: str, **query: str) -> Any:
    """A raw GET, as curl or a browser would send it: every parameter is a string."""
    basic = base64.b64encode(f"{SIM_CLIENT_ID}:{SIM_CLIENT_SECRET}".encode()).decode()
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Basic {basic}"}) as http,
        http.get(f"{sim.http_url}/{method}", params=query) as response,
    ):
        return msgspec.json.decode(await response.read())


async def test_get_instruments_needs_no_currency(trader: DeribitClient) -> None:
    everything = await trader.call("public/get_instruments", {})
    currencies = {i["base_currency"] for i in everything}
    assert {"BTC", "ETH"} <= currencies


async def test_currencies_without_listed_instruments_are_still_valid(
    trader: DeribitClient,
) -> None:
    assert await trader.call("public/get_instruments", {"currency": "SOL"}) == []


async def test_get_query_strings_become_the_declared_types(sim: DeribitSimulator) -> None:
    book = await http_get(sim, "public/get_order_book", instrument_name=PERP, depth="5")
    assert len(book["result"]["bids"]) <= 5
    placed = await http_get(
        sim, "private/buy", instrument_name=PERP, amount="10", price="1000", label="12345"
    )
    order = placed["result"]["order"]
    assert order["label"] == "12345"  # a numeric-looking label stays a string
    assert order["amount"] == 10
    state = await http_get(sim, "private/get_order_state", order_id=order["order_id"])
    assert state["result"]["label"] == "12345"
    wrong = await http_get(sim, "public/get_order_book", instrument_name=PERP, depth="many")
    assert wrong["error"]["code"] == -32602
    # Only what JSON could carry: no NaN, infinity, "1_000", padding or non-ASCII digits.
    for price in ("nan", "inf", "-Infinity", "1e999", "1_000", " 1000", "\uff11\uff10\uff10\uff10"):
        refused = await http_get(sim, "private/buy", instrument_name=PERP, amount="10",
                                 price=price)  # fmt: skip
        assert refused["error"]["data"] == {"reason": "wrong format", "param": "price"}, price
    for depth in ("\uff15", "0x5", "+5"):
        refused = await http_get(sim, "public/get_order_book", instrument_name=PERP, depth=depth)
        assert refused["error"]["data"]["param"] == "depth", depth
    assert (await http_get(sim, "private/buy", instrument_name=PERP, amount="1e1",
                           price="1.0e3"))["result"]["order"]["amount"] == 10  # fmt: skip


async def test_filled_market_order_reports_a_numeric_price_and_its_amount(
    trader: DeribitClient,
) -> None:
    filled = await trader.private.buy(PERP, amount=50, type="market")
    assert filled.order.order_state == "filled"
    assert isinstance(filled.order.price, float)
    assert filled.order.price == pytest.approx(filled.order.average_price)
    assert filled.order.amount == 50


async def test_user_channels_match_their_currency_in_either_case(trader: DeribitClient) -> None:
    channels = ("user.portfolio.BTC", "user.trades.future.btc.100ms")
    async with trader.subscribe(*channels) as sub:
        await trader.private.buy(PERP, amount=10, type="market")
        seen: dict[str, Any] = {}
        async with asyncio.timeout(5):  # the old simulator never sent them
            while len(seen) < len(channels):
                item = await anext(sub)
                seen[item.channel] = item.data  # type: ignore[union-attr]
    assert seen["user.portfolio.BTC"].currency == "BTC"
    assert seen["user.trades.future.btc.100ms"][0].amount == 10


async def test_order_and_trade_ids_are_spelled_like_deribit(trader: DeribitClient) -> None:
    btc = await trader.private.buy(PERP, amount=10, type="market")
    eth = await trader.private.buy("ETH-PERPETUAL", amount=1, type="market")
    assert btc.order.order_id.isdigit()  # a numeric string, never a number
    assert btc.trades[0].trade_id.isdigit()
    assert eth.order.order_id.startswith("ETH-")
    assert eth.order.order_id.removeprefix("ETH-").isdigit()
    assert eth.trades[0].trade_id.startswith("ETH-")
    again = await trader.private.get_order_state(btc.order.order_id)
    assert again.order_id == btc.order.order_id


async def test_orders_need_margin_the_account_can_cover(trader: DeribitClient) -> None:
    await trader.private.change_margin_model("segregated_sm")  # BTC margins BTC alone
    # 100 M USD of BTC-PERPETUAL against 10 BTC of equity: Deribit says not_enough_funds.
    with pytest.raises(InsufficientFundsError) as info:
        await trader.private.buy(PERP, amount=100_000_000, type="market")
    assert info.value.code == 10009
    # Resting orders reserve margin: two orders each needing 60% of the equity.
    ticker = await trader.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    price = float(int(ticker.best_bid_price * 0.9))
    amount = round(0.6 * 10 * price / 0.02 / 10) * 10
    first = await trader.private.buy(PERP, amount=amount, type="limit", price=price)
    assert first.order.order_state == "open"
    with pytest.raises(InsufficientFundsError):
        await trader.private.buy(PERP, amount=amount, type="limit", price=price)
    await trader.private.cancel(first.order.order_id)
    again = await trader.private.buy(PERP, amount=amount, type="limit", price=price)
    assert again.order.order_state == "open"


async def _far_prices(trader: DeribitClient) -> tuple[float, float]:
    """A bid and an ask 10% away from the market: they rest."""
    ticker = await trader.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    return float(int(ticker.best_bid_price * 0.9)), float(int(ticker.best_ask_price * 1.1))


async def test_open_orders_hold_initial_margin_in_the_summary_and_the_position(
    trader: DeribitClient,
) -> None:
    bid, ask = await _far_prices(trader)
    before = await trader.private.get_account_summary("BTC")
    placed = await trader.private.buy(PERP, amount=100_000, price=bid)
    margins = await trader.private.get_order_margin_by_ids([placed.order.order_id])
    held = margins[0].initial_margin
    assert held is not None
    assert held == pytest.approx(100_000 / bid * 0.02)
    summary = await trader.private.get_account_summary("BTC")
    assert before.initial_margin is not None
    assert before.available_funds is not None
    assert summary.initial_margin == pytest.approx(before.initial_margin + held)
    assert summary.available_funds == pytest.approx(before.available_funds - held)
    assert (await trader.private.get_position(PERP)).open_orders_margin == pytest.approx(held)
    # A smaller sell quoted on the other side adds nothing: only one side can fill.
    await trader.private.sell(PERP, amount=100_000, price=ask)
    quoted = await trader.private.get_account_summary("BTC")
    assert quoted.initial_margin == pytest.approx(summary.initial_margin)
    await trader.private.cancel_all()
    after = await trader.private.get_account_summary("BTC")
    assert after.initial_margin == pytest.approx(before.initial_margin)
    assert after.available_funds == pytest.approx(before.available_funds)


async def test_an_order_closing_a_position_needs_no_margin_but_its_excess_does(
    trader: DeribitClient,
) -> None:
    _, ask = await _far_prices(trader)
    await trader.private.buy(PERP, amount=2_000, type="market")
    size = (await trader.private.get_position(PERP)).size
    assert size == 2_000
    held = await trader.private.get_account_summary("BTC")
    await trader.private.sell(PERP, amount=size, price=ask)  # closes the position
    closing = await trader.private.get_account_summary("BTC")
    assert closing.initial_margin == pytest.approx(held.initial_margin)
    await trader.private.sell(PERP, amount=size, price=ask)  # would open a short
    beyond = await trader.private.get_account_summary("BTC")
    assert held.initial_margin is not None
    assert beyond.initial_margin == pytest.approx(held.initial_margin + size / ask * 0.02)


async def test_cross_collateral_margins_orders_with_every_currency_held(
    trader: DeribitClient,
) -> None:
    await trader.private.withdraw("BTC", "bc1-elsewhere", 9.99)
    own = await trader.private.get_account_summary("BTC")
    assert (own.equity or 0) < 0.02
    assert (own.available_funds or 0) > 10  # ETH, USDC and USDT count, in BTC
    bid, _ = await _far_prices(trader)
    held = 100_000 / bid * 0.02  # twice the BTC left
    eth_before = await trader.private.get_account_summary("ETH")
    placed = await trader.private.buy(PERP, amount=100_000, price=bid)
    eth_after = await trader.private.get_account_summary("ETH")
    btc = (await trader.public.get_index_price("btc_usd")).index_price or 1
    eth = (await trader.public.get_index_price("eth_usd")).index_price or 1
    assert (eth_after.initial_margin or 0) - (eth_before.initial_margin or 0) == pytest.approx(
        held * btc / eth, rel=1e-6
    )
    await trader.private.cancel(placed.order.order_id)
    changes = await trader.private.change_margin_model("segregated_sm")
    (change,) = [c for c in changes if c.currency == "btc"]
    assert change.old_state is not None
    assert change.new_state is not None
    assert (change.new_state.available_balance or 0) < (change.old_state.available_balance or 0)
    with pytest.raises(InsufficientFundsError):
        await trader.private.buy(PERP, amount=100_000, price=bid)


async def test_an_edit_needs_the_margin_of_the_order_it_makes(trader: DeribitClient) -> None:
    bid, _ = await _far_prices(trader)
    placed = await trader.private.buy(PERP, amount=1_000, price=bid)
    order_id = placed.order.order_id
    with pytest.raises(InsufficientFundsError):
        await trader.private.edit(order_id, amount=100_000_000, price=bid)
    assert (await trader.private.get_order_state(order_id)).amount == 1_000
    # Its own margin is not counted twice: an edit within the equity goes through.
    most = round(0.9 * 10 * bid / 0.02 / 10) * 10
    edited = await trader.private.edit(order_id, amount=most, price=bid)
    assert edited.order.amount == most


async def test_a_long_running_bot_does_not_grow_the_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from deribit_client.testing import _logs

    monkeypatch.setattr(_logs, "HISTORY", 10)
    offset = [0.0]
    async with DeribitSimulator(clock=lambda: time.time() + offset[0]) as sim:
        sim.rate_limits.enabled = False  # 1,000 quick logins: about memory, not credits
        for _ in range(30):  # per-request Basic authorization leaves no token behind
            assert (await http_get(sim, "private/get_positions"))["result"] == []
        assert sim.trading.tokens == {}
        assert len(sim.calls) <= 20
        assert sim.calls[-1][0] == "private/get_positions"
        grant = {"client_id": SIM_CLIENT_ID, "client_secret": SIM_CLIENT_SECRET}
        offset[0] = -2 * 86_400  # tokens issued "two days ago" expire and are forgotten
        for _ in range(1_000):
            await http_get(sim, "public/auth", grant_type="client_credentials", **grant)
        offset[0] = 0.0
        await http_get(sim, "public/auth", grant_type="client_credentials", **grant)
        assert len(sim.trading.tokens) == len(sim.trading.refresh_tokens) == 1


async def test_closed_orders_are_forgotten_beyond_the_history_but_open_ones_never(
    monkeypatch: pytest.MonkeyPatch, sim: DeribitSimulator
) -> None:
    from deribit_client.testing import _logs

    monkeypatch.setattr(_logs, "HISTORY", 10)
    sim.rate_limits.enabled = False  # 145 orders and cancels: about memory, not credits
    async with DeribitClient(
        url=sim.url, client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET, rate_limit=False
    ) as trader:
        resting = [await trader.private.buy(PERP, amount=10, type="limit", price=1000.0 + i)
                   for i in range(25)]  # fmt: skip
        for _ in range(60):
            placed = await trader.private.buy(PERP, amount=10, type="limit", price=900.0)
            await trader.private.cancel(placed.order.order_id)
        orders = sim.trading.account(SIM_CLIENT_ID).orders
        assert len(orders) <= 25 + 2 * 10
        open_orders = await trader.private.get_open_orders_by_instrument(PERP)
        assert {o.order_id for o in open_orders} == {r.order.order_id for r in resting}
        state = await trader.private.get_order_state(placed.order.order_id)
        assert state.order_state == "cancelled"  # the newest closed ones stay readable
        for _ in range(30):
            await trader.private.buy(PERP, amount=10, type="market")
        account = sim.trading.account(SIM_CLIENT_ID)
        assert 10 <= len(account.trades) <= 2 * 10
        assert len(account.orders) <= 25 + 2 * 10


async def test_spent_nonces_are_forgotten_once_their_timestamp_is_refused() -> None:
    import time

    from deribit_client._auth import ws_signature

    offset = [0.0]
    async with DeribitSimulator(clock=lambda: time.time() + offset[0]) as sim:

        async def sign_in(nonce: str) -> Any:
            ts = sim.now_ms()
            signature = ws_signature(SIM_CLIENT_SECRET, ts, nonce)
            return await http_get(
                sim, "public/auth", grant_type="client_signature", client_id=SIM_CLIENT_ID,
                timestamp=str(ts), nonce=nonce, signature=signature,
            )  # fmt: skip

        assert "result" in await sign_in("first")
        assert (await sign_in("first"))["error"]["code"] == 13004  # a replay is refused
        for i in range(2_000):
            sim.trading.use_nonce(SIM_CLIENT_ID, f"n{i}", sim.now_ms())
        offset[0] = 120.0  # every nonce so far is now outside the signature window
        assert "result" in await sign_in("last")
        assert list(sim.trading.used_nonces) == [(SIM_CLIENT_ID, "last")]


def _levels(book: LocalOrderBook) -> tuple[list[tuple[float, float]], ...]:
    return (
        [(level.price, level.amount) for level in book.bids()],
        [(level.price, level.amount) for level in book.asks()],
    )


async def test_the_book_stream_publishes_every_change_of_own_orders(
    trader: DeribitClient,
) -> None:
    raw, aggregated = f"book.{PERP}.raw", f"book.{PERP}.100ms"
    books = {raw: LocalOrderBook(PERP), aggregated: LocalOrderBook(PERP)}
    async with trader.subscribe(raw, aggregated) as sub:
        seen: list[Any] = []

        async def settle() -> None:
            # each subscriber book must reach the server's book, change by change
            want = await trader.public.get_order_book(PERP, depth=1000)
            async with asyncio.timeout(5):  # the old simulator published no change
                while any(b.change_id != want.change_id for b in books.values()):
                    item = await anext(sub)
                    assert not isinstance(item, Gap), "a change id was skipped"
                    books[item.channel].apply(item)
                    seen.append(item.data)
            expected = (
                [(level.price, level.amount) for level in want.bids],
                [(level.price, level.amount) for level in want.asks],
            )
            for book in books.values():
                assert _levels(book) == expected

        await settle()  # the two snapshots
        top = await trader.public.get_order_book(PERP, depth=1)
        bid = top.bids[0].price + 0.5  # inside the spread: a new level
        first = await trader.private.buy(PERP, amount=10, price=bid)
        await settle()
        assert [c.bids[0].action for c in seen[-2:]] == ["new", "new"]
        second = await trader.private.buy(PERP, amount=20, price=bid)  # the level grows
        await settle()
        assert [c.bids[0].action for c in seen[-2:]] == ["change", "change"]
        await trader.private.cancel(first.order.order_id)
        await settle()
        await trader.private.cancel(second.order.order_id)  # the level empties
        await settle()
        assert [(c.bids[0].action, c.bids[0].price, c.bids[0].amount) for c in seen[-2:]] == [
            ("delete", bid, 0.0)
        ] * 2
        await trader.private.buy(PERP, amount=top.asks[0].amount + 10, type="market")
        await settle()  # a sweep through two levels: one change each, consecutive ids
        assert [level.action for level in seen[-1].asks] == ["delete", "change"]
    changes = [data for data in seen if data.type == "change"]
    assert len(changes) == 2 * 5


async def test_own_fills_appear_on_trades_channels_and_move_the_ticker(
    trader: DeribitClient,
) -> None:
    channels = (f"trades.{PERP}.raw", "trades.future.BTC.100ms", f"ticker.{PERP}.raw")
    async with trader.subscribe(*channels) as sub:
        filled = await trader.private.buy(PERP, amount=30, type="market")
        seen: dict[str, Any] = {}
        async with asyncio.timeout(5):  # the old simulator never published own fills
            while len(seen) < len(channels):
                item = await anext(sub)
                seen[item.channel] = item.data  # type: ignore[union-attr]
    fill = filled.trades[-1]
    for channel in channels[:2]:
        public = seen[channel][-1]
        assert (public.trade_id, public.price, public.amount) == (
            fill.trade_id,
            fill.price,
            fill.amount,
        )
        assert public.direction == "buy"
    assert seen[channels[2]].last_price == fill.price
    last = await trader.public.get_last_trades_by_instrument(PERP, count=1)
    assert last.trades[0].trade_id == fill.trade_id


async def test_generated_book_changes_reach_every_interval_without_gaps(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    channels = (f"book.{PERP}.raw", f"book.{PERP}.100ms", f"book.{PERP}.none.10.100ms")
    books = {channel: LocalOrderBook(PERP) for channel in channels[:2]}
    grouped = 0
    async with trader.subscribe(*channels) as sub:
        sim.start_streams(interval=0.001)
        async with asyncio.timeout(10):
            while min(b.changes for b in books.values()) < 5 or grouped < 5:
                item = await anext(sub)
                # the old streamer changed the book once per channel: each interval saw
                # the other's change ids as a gap
                assert not isinstance(item, Gap)
                if item.channel in books:
                    books[item.channel].apply(item)
                else:
                    grouped += 1
        sim.stop_streams()


async def test_instruments_carry_the_members_production_sends(trader: DeribitClient) -> None:
    (perpetual,) = [
        i
        for i in await trader.public.get_instruments("BTC", kind="future")
        if i.instrument_name == PERP
    ]
    assert perpetual.lot_size == perpetual.min_trade_amount
    assert perpetual.index_id is not None
    assert perpetual.product_group
    assert perpetual.underlying_type
    assert perpetual.max_non_default_leverage is not None


async def test_book_states_stop_trading_as_on_deribit(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    future = (await trader.public.get_instruments("BTC", kind="future"))[0].instrument_name
    resting = await trader.private.buy(PERP, amount=10, type="limit", price=1_000.0)
    day = await trader.private.buy(
        future, amount=10, type="limit", price=1_000.0, time_in_force="good_til_day"
    )
    kept = await trader.private.buy(future, amount=10, type="limit", price=1_000.0)

    await sim.set_instrument_state(PERP, "locked")  # only cancels
    with pytest.raises(RpcError) as refused:
        await trader.private.buy(PERP, amount=10, type="market")
    assert refused.value.code == 13019
    with pytest.raises(DeribitError):
        await trader.private.edit(resting.order.order_id, price=1_001.0)
    assert (await trader.private.cancel(resting.order.order_id)).order_state == "cancelled"

    await sim.set_instrument_state(future, "settlement")  # nothing; good-til-day ones end
    assert (await trader.private.get_order_state(day.order.order_id)).cancel_reason == "settlement"
    with pytest.raises(DeribitError):
        await trader.private.cancel(kept.order.order_id)
    assert await trader.private.cancel_all() == 0  # the settling book keeps its orders
    await sim.set_instrument_state(future, "inactive")  # its resting orders end
    assert (await trader.private.get_order_state(kept.order.order_id)).order_state == "cancelled"

    await sim.set_instrument_state(PERP, "open")
    await sim.set_platform_state(locked=True, price_index="btc_usd")  # locks every BTC book
    with pytest.raises(DeribitError):
        await trader.private.sell(PERP, amount=10, type="market")
    await sim.set_platform_state(locked=False, price_index="btc_usd")
    assert (await trader.private.sell(PERP, amount=10, type="market")).trades
    with pytest.raises(ValueError, match="unknown book state"):
        await sim.set_instrument_state(PERP, "closed")


async def test_a_33rd_connection_from_one_ip_gets_http_429(sim: DeribitSimulator) -> None:
    async with aiohttp.ClientSession() as http:
        held = [await http.ws_connect(sim.ws_url) for _ in range(32)]
        with pytest.raises(HTTPStatusError) as refused:
            await WebSocketTransport.connect(sim.ws_url)
        assert refused.value.status == 429
        assert isinstance(refused.value, TransportError)  # the client reconnects after it
        await held.pop().close()
        await until(lambda: len(sim.sessions) == 31)
        transport = await WebSocketTransport.connect(sim.ws_url)  # a freed slot is usable
        await transport.close()
        for ws in held:
            await ws.close()
    sim.max_connections_per_ip = None
    async with aiohttp.ClientSession() as http:
        many = [await http.ws_connect(sim.ws_url) for _ in range(40)]
        for ws in many:
            await ws.close()


async def test_http_connections_count_towards_the_per_ip_limit(sim: DeribitSimulator) -> None:
    sim.delay("public/get_time", 0.3, times=None)  # so that every request is open at once
    url = f"{sim.http_url}/public/get_time"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40)) as http:

        async def get_time() -> int:
            async with http.get(url) as response:
                return response.status

        statuses = await asyncio.gather(*(get_time() for _ in range(40)))
        assert sorted(statuses) == [200] * 32 + [429] * 8  # the 33rd to 40th connections
        # The 32 kept alive still count: a WebSocket from the same IP is refused.
        with pytest.raises(HTTPStatusError) as refused:
            await WebSocketTransport.connect(sim.ws_url)
        assert refused.value.status == 429
        assert await get_time() == 200  # a kept-alive connection, reused: still served
    transport = await connect_once_freed(sim)  # the closed ones stop counting
    await transport.close()


async def connect_once_freed(sim: DeribitSimulator) -> WebSocketTransport:
    """A WebSocket to ``sim``, retried while it still counts connections a client closed
    (it learns of each close a little later); each attempt is a round trip."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        try:
            return await WebSocketTransport.connect(sim.ws_url)
        except HTTPStatusError:
            if asyncio.get_running_loop().time() > deadline:
                raise


async def test_http_connections_expire_after_http_max_age(sim: DeribitSimulator) -> None:
    url = f"{sim.http_url}/public/get_time"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.headers.get("Connection", "").lower() != "close"
        sim.http_max_age = 0.0  # the connection just used is now too old
        async with http.get(url) as response:
            assert response.status == 200
            assert response.headers["Connection"].lower() == "close"
    assert sim.http_expiries == 1
    async with DeribitClient(url=sim.url, transport="http", **KEY) as client:
        for _ in range(5):  # each on a new connection: the client does not notice
            assert await client.public.get_time() > 0
    # Every request but the very first ended its connection, the client's login too.
    assert sim.http_expiries == len(sim.calls) - 1


async def test_a_17th_named_session_on_a_key_drops_the_oldest(sim: DeribitSimulator) -> None:
    async with DeribitClient(url=sim.url, transport="http") as raw:

        async def login(name: str) -> dict[str, Any]:
            grant = {"grant_type": "client_credentials", "scope": f"session:{name}", **KEY}
            return dict(await raw.call("public/auth", grant))

        async def works(token: str) -> bool:
            """Whether a private call with ``token`` is served (else it is 13009)."""
            async with (
                aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
                http.get(f"{sim.http_url}/private/get_positions") as response,
            ):
                reply = msgspec.json.decode(await response.read())
            if "result" in reply:
                return True
            assert reply["error"]["code"] == 13009, reply
            return False

        first = await login("s0")
        again = await login("s0")  # a login into a session the key has: still 1 session
        tokens = [await login(f"s{i}") for i in range(1, 16)]
        assert await works(first["access_token"])
        assert await works(again["access_token"])
        await login("s16")  # the 17th: s0 ends, every token issued in it too
        assert not await works(first["access_token"])
        assert not await works(again["access_token"])
        with pytest.raises(DeribitError):
            await raw.call("public/auth", {"grant_type": "refresh_token",
                                           "refresh_token": first["refresh_token"]})  # fmt: skip
        assert all([await works(t["access_token"]) for t in tokens])


async def test_logins_are_in_the_access_log_and_its_channel(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    async with trader.subscribe("user.access_log") as logins:
        async with DeribitClient(url=sim.url, transport="http", **KEY) as second:
            await second.private.get_account_summary("BTC")  # logs in over HTTP
        login = await asyncio.wait_for(anext(logins), 5)
    log = await trader.private.get_access_log(count=5)
    assert log.records_total == 2  # the trader's login, then the second one
    assert log.data is not None
    assert [entry.id for entry in log.data] == [2, 1]  # newest first
    assert isinstance(login, Notification)
    assert login.data.id == 2
    assert login.data.ip == "127.0.0.1"


async def test_an_auth_refused_for_a_bad_param_issues_no_token(sim: DeribitSimulator) -> None:
    async with DeribitClient(url=sim.url, transport="http") as anonymous:
        with pytest.raises(RpcError) as refused:
            await anonymous.call(
                "public/auth", {"grant_type": "client_credentials", "state": 5, **KEY}
            )
    assert refused.value.code == -32602
    assert sim.trading.tokens == {}  # nothing was granted, nothing was logged
    assert sim.trading.account(SIM_CLIENT_ID).access_log == []


async def test_reject_taker_refuses_an_order_or_edit_that_would_trade_with_itself(
    trader: DeribitClient,
) -> None:
    await trader.private.set_self_trading_config("reject_taker", False)
    book = await trader.public.get_order_book(PERP, depth=5)
    ask, bid = float(book.asks[0][0]), float(book.bids[0][0])
    own_ask = await trader.private.sell(PERP, amount=20, price=ask)  # joins the best ask
    far = bid - 5
    bid_order = await trader.private.buy(PERP, amount=30, price=far)
    before = await trader.public.get_order_book(PERP, depth=20)

    with pytest.raises(RpcError) as refused:  # would sweep the ask level, own order too
        await trader.private.buy(PERP, amount=10_000, price=ask)
    assert refused.value.code == 10003
    with pytest.raises(RpcError) as refused:
        await trader.private.edit(bid_order.order.order_id, amount=10_000, price=ask)
    assert refused.value.code == 10003

    assert await trader.private.get_positions(currency="BTC") == []  # nothing traded
    kept = await trader.private.get_order_state(bid_order.order.order_id)
    assert (kept.price, kept.amount, kept.order_state) == (far, 30, "open")
    after = await trader.public.get_order_book(PERP, depth=20)
    assert (after.bids, after.asks) == (before.bids, before.asks)
    assert (await trader.private.get_order_state(own_ask.order.order_id)).filled_amount == 0


async def test_cancel_maker_cancels_the_own_orders_a_taker_reaches(
    trader: DeribitClient,
) -> None:
    # Deribit's default self-trading mode: the resting order goes, the taker trades on
    book = await trader.public.get_order_book(PERP, depth=5)
    ask = float(book.asks[0][0])
    market_ask = float(book.asks[0][1])
    async with trader.subscribe(f"user.orders.{PERP}.raw") as orders:
        own_ask = await trader.private.sell(PERP, amount=20, price=ask)
        assert (await anext(orders)).data.order_state == "open"  # type: ignore[union-attr]
        taken = await trader.private.buy(PERP, amount=market_ask + 10, price=ask)
        told: dict[str, str] = {}
        async with asyncio.timeout(5):
            while own_ask.order.order_id not in told:
                order = (await anext(orders)).data  # type: ignore[union-attr]
                told[order.order_id] = order.order_state
    assert told[own_ask.order.order_id] == "cancelled"
    assert taken.order.filled_amount == market_ask  # the market's liquidity, not its own
    assert [t.liquidity for t in taken.trades] == ["T"]
    assert (await trader.private.get_order_state(own_ask.order.order_id)).order_state == (
        "cancelled"
    )
    (position,) = await trader.private.get_positions(currency="BTC")
    assert position.size == market_ask


async def test_malformed_requests_get_json_rpc_errors_and_the_socket_keeps_serving(
    sim: DeribitSimulator,
) -> None:
    # Users test raw clients against the simulator: every refusal is an answer, one they
    # can match by id when the frame has one, and no frame ends their connection.
    deep = '{"jsonrpc":"2.0","id":1,"method":"public/get_time","params":{"a":%s}}' % (
        "[" * 10_000 + "]" * 10_000  # under the 32 kB limit
    )
    frames = {
        deep: (None, -32700),
        '{"jsonrpc":"2.0","id":2,"method":"public/get_time","params":[1]}': (2, -32602),
        '{"jsonrpc":"2.0","id":"three","method":7}': ("three", 11050),
        "[1, 2]": (None, 11050),
    }
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.ws_url) as ws:
        for frame, (request_id, code) in frames.items():
            await ws.send_str(frame)
            reply = msgspec.json.decode(await asyncio.wait_for(ws.receive_str(), 5))
            assert (reply["id"], reply["error"]["code"]) == (request_id, code), frame[:60]
        await ws.send_str('{"jsonrpc":"2.0","id":5,"method":"public/get_time"}')
        reply = msgspec.json.decode(await asyncio.wait_for(ws.receive_str(), 5))
        assert reply["id"] == 5
        assert "result" in reply
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{sim.http_url}/public/get_time", data=deep) as response,
    ):
        assert (await response.json())["error"]["code"] == -32700


async def test_array_params_check_their_items(sim: DeribitSimulator) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.ws_url) as ws:
        # Subscriptions go raw: the client refuses them through call().
        for n, (method, channels) in enumerate(
            [("public/subscribe", [{"a": 1}]), ("public/unsubscribe", [5])]
        ):
            request = {
                "jsonrpc": "2.0",
                "id": n,
                "method": method,
                "params": {"channels": channels},
            }
            await ws.send_str(msgspec.json.encode(request).decode())
            reply = msgspec.json.decode(await asyncio.wait_for(ws.receive_str(), 5))
            assert reply["error"]["data"]["param"] == "channels", method
    key = {"id": 1, "max_scope": "account:read"}
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("private/cancel_all_by_kind_or_type", {"currency": [["BTC"]]}, "currency"),
        ("private/edit_api_key", {**key, "enabled_features": [{"a": 1}]}, "enabled_features"),
        ("private/edit_api_key", {**key, "enabled_features": ["nope"]}, "enabled_features"),
    ]
    async with DeribitClient(url=sim.url, heartbeat_interval=None, **KEY) as client:
        for method, params, name in cases:
            with pytest.raises(InvalidRequestError) as refused:
                await client.call(method, params)
            assert refused.value.data["param"] == name, method
        assert await client.call("private/cancel_all_by_kind_or_type", {"currency": ["BTC"]}) == 0


async def test_prices_at_or_below_zero_are_invalid_params(trader: DeribitClient) -> None:
    for price in (0.0, -1.0):
        with pytest.raises(InvalidRequestError, match="must be positive"):
            await trader.private.buy(PERP, amount=10, price=price)
        with pytest.raises(InvalidRequestError, match="must be positive"):
            await trader.private.get_margins(PERP, amount=10, price=price)
    order = await trader.private.buy(PERP, amount=10, price=1000.0)
    with pytest.raises(InvalidRequestError, match="must be positive"):
        await trader.private.edit(order.order.order_id, amount=10, price=0.0)
    edited = await trader.private.edit(order.order.order_id, amount=10, price=1001.0)
    assert edited.order.price == 1001.0


async def test_a_market_order_ignores_a_price(trader: DeribitClient) -> None:
    # "Only for limit and stop_limit orders": a market order's price is not its limit.
    order = await trader.private.buy(PERP, amount=10, type="market", price=0.0)
    assert order.order.order_state == "filled"
    assert order.order.price != 0.0


async def test_a_mistyped_param_is_refused_even_where_the_order_type_ignores_it(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    market = {"instrument_name": PERP, "amount": 10, "type": "market"}
    with pytest.raises(InvalidRequestError) as refused:
        await trader.call("private/buy", {**market, "trigger_price": "high"})
    assert refused.value.data == {"reason": "wrong format", "param": "trigger_price"}
    over_http = await http_get(sim, "private/buy", instrument_name=PERP, amount="10",
                               type="market", display_amount="nan")  # fmt: skip
    assert over_http["error"]["data"]["param"] == "display_amount"


async def test_malformed_credentials_are_invalid_credentials_not_server_errors(
    sim: DeribitSimulator,
) -> None:
    async def get(authorization: str) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{sim.http_url}/private/get_account_summary",
                params={"currency": "BTC"},
                headers={"Authorization": authorization},
            ) as response,
        ):
            return msgspec.json.decode(await response.read())

    not_utf8 = base64.b64encode(b"\xff\xfe:secret").decode()
    ts = sim.now_ms()
    for header in (
        f"Basic {not_utf8}",
        "Basic abc",  # bad padding
        f"deri-hmac-sha256 id={SIM_CLIENT_ID},ts={ts},sig=\u00e9\u00e9,nonce=n",
    ):
        reply = await get(header)
        assert reply["error"]["code"] == 13004, header
    good = base64.b64encode(f"{SIM_CLIENT_ID}:{SIM_CLIENT_SECRET}".encode()).decode()
    assert "result" in await get(f"basic {good}")  # schemes are case-insensitive
    with pytest.raises(RpcError) as refused:  # the WebSocket grant too
        async with DeribitClient(url=sim.url, heartbeat_interval=None) as client:
            await client.call(
                "public/auth",
                {"grant_type": "client_signature", "client_id": SIM_CLIENT_ID,
                 "timestamp": ts, "signature": "\u00e9", "nonce": "n"},
            )  # fmt: skip
    assert refused.value.code == 13004


async def test_a_write_to_a_link_the_peer_dropped_is_known_not_sent(sim: DeribitSimulator) -> None:
    # aiohttp refuses a frame for a closing transport before writing any of it: an order
    # refused that way never left, so it must not be reported as outcome-unknown.
    transport = await WebSocketTransport.connect(sim.ws_url)
    try:
        sim.drop_connections()
        frame = b'{"jsonrpc":"2.0","id":1,"method":"public/get_time"}'
        async with asyncio.timeout(5):
            while True:
                try:
                    await transport.send(frame)
                except ConnectionError as exc:
                    refused = exc
                    break
                await asyncio.sleep(0)  # a loop turn: the client side sees the reset
        assert transport.unsent(refused)
        assert not transport.unsent(aiohttp.ClientConnectionResetError("Connection lost"))
        assert not transport.unsent(ConnectionResetError("Cannot write to closing transport"))
    finally:
        await transport.close()


async def test_a_write_after_closing_the_websocket_is_refused_as_not_sent(
    sim: DeribitSimulator,
) -> None:
    # The transport keeps no closed flag of its own (a property call per request): aiohttp
    # refuses the frame, and the refusal still says nothing was written.
    transport = await WebSocketTransport.connect(sim.ws_url)
    await transport.close()
    with pytest.raises(ConnectionError) as refused:
        await transport.send(b'{"jsonrpc":"2.0","id":1,"method":"public/get_time"}')
    assert transport.unsent(refused.value)


async def test_fills_are_whole_amount_steps_without_float_residue(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    call = "BTC-27NOV26-65000-C"
    tick = (await trader.public.get_instrument(call)).tick_size or 0
    ticker = await trader.public.ticker(call)
    assert ticker.best_ask_price is not None
    assert ticker.best_bid_price is not None
    price = round(ticker.best_ask_price - tick, 4)
    assert price > ticker.best_bid_price  # the counterparty's offer is the best one
    await counterparty.private.sell(call, amount=0.9, price=price)
    bought = await trader.private.buy(call, amount=1.0, type="market")
    # 1.0 - 0.9 is 0.09999999999999998 in binary floating point: Deribit says 0.1.
    assert [t.amount for t in bought.trades] == [0.9, 0.1]
    prints = (await trader.public.get_last_trades_by_instrument(call, count=2)).trades
    assert sorted(t.amount for t in prints) == [0.1, 0.9]
    assert (await trader.private.get_position(call)).size == 1.0
