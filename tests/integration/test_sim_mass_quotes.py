"""The simulator's mass quotes follow Deribit's "Mass Quotes Specifications" article: a
quote keeps its queue place only when it shrinks or changes its quote set, a side without
``amount`` amends the resting quote's price, a side that fails cancels the resting quote
it would have amended, sides moving the same way are amended in the order that cannot
cross them, and spot (and options on standard margin) cannot be quoted. Editing a
post-only order follows the post-only rules as placing one does."""

from __future__ import annotations

import asyncio

import pytest

from deribit_client import DeribitClient, Notification, RpcError
from deribit_client.models import MassQuoteParam, MassQuoteResult, Order, QuoteSideParam
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator

PERP = "BTC-PERPETUAL"


async def _spread(client: DeribitClient) -> tuple[float, float]:
    ticker = await client.public.ticker(PERP)
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    assert ticker.best_ask_price - ticker.best_bid_price >= 1.0  # room for bid + 0.5
    return ticker.best_bid_price, ticker.best_ask_price


async def _quoting(client: DeribitClient) -> None:
    await client.private.enable_cancel_on_disconnect()
    await client.private.set_mmp_config("btc_usd", 60, 0, mmp_group="mm", max_quote_quantity=1)


async def _quote(
    client: DeribitClient,
    instrument: str = PERP,
    *,
    bid: QuoteSideParam | None = None,
    ask: QuoteSideParam | None = None,
    quote_set_id: str = "perps",
    wait: bool = True,
) -> MassQuoteResult:
    quote: MassQuoteParam = {"instrument_name": instrument, "quote_set_id": quote_set_id}
    if bid is not None:
        quote["bid"] = bid
    if ask is not None:
        quote["ask"] = ask
    return await client.private.mass_quote(
        "q", "mm", [quote], detailed=True, wait_for_response=wait
    )


def _errors(result: MassQuoteResult) -> list[tuple[str | None, int | None]]:
    return [(e.side, (e.error or {}).get("code")) for e in result.errors or ()]


async def _ended_by_post_only(client: DeribitClient, order_id: str) -> None:
    """The order was cancelled for a post-only refusal, and nothing traded."""
    state = await client.private.get_order_state(order_id)
    assert (state.order_state, state.cancel_reason) == ("cancelled", "edit_post_only_reject")
    assert (await client.private.get_user_trades_by_instrument(PERP)).trades == []


def _only(result: MassQuoteResult) -> Order:
    assert result.orders is not None
    (order,) = result.orders
    return order


@pytest.mark.parametrize(
    ("first", "then", "quote_set_id", "filled_first"),
    [
        # (offset from the bid, amount) of the quote before and after the counterparty
        # joins the level at bid + 0.5
        pytest.param((-10, 10), (0.5, 10), "perps", "counterparty", id="moved-to-the-level"),
        pytest.param((0.5, 10), (0.5, 20), "perps", "counterparty", id="grown"),
        pytest.param((0.5, 20), (0.5, 10), "other", "quote", id="shrunk-and-relabelled"),
    ],
)
async def test_a_quote_keeps_its_queue_place_only_when_it_shrinks_or_is_relabelled(
    sim: DeribitSimulator,
    trader: DeribitClient,
    counterparty: DeribitClient,
    first: tuple[float, float],
    then: tuple[float, float],
    quote_set_id: str,
    filled_first: str,
) -> None:
    bid, _ = await _spread(trader)
    await _quoting(trader)
    await _quote(trader, bid={"price": bid + first[0], "amount": first[1]})
    await counterparty.private.buy(PERP, amount=10, price=bid + 0.5)
    await _quote(trader, bid={"price": bid + then[0], "amount": then[1]}, quote_set_id=quote_set_id)
    await sim.market_trade(PERP, "sell", 10, price=bid + 0.5)  # fills one of the two
    filled = {
        who: sum(
            t.amount or 0 for t in (await client.private.get_user_trades_by_instrument(PERP)).trades
        )
        for who, client in (("quote", trader), ("counterparty", counterparty))
    }
    assert filled == {"quote": 0, "counterparty": 0, filled_first: 10}


async def test_an_option_quote_amended_to_what_is_left_of_it_keeps_its_place_and_amount(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    # Amending a quote 0.1 of which filled to the 0.2 still open: 0.1 + 0.2 is
    # 0.30000000000000004 in binary floating point, which made the quote grow (losing its
    # place to the order queued behind it) and showed as its amount.
    option = "BTC-27NOV26-65000-C"
    await trader.private.change_margin_model("cross_pm")  # options are quoted on PM only
    await _quoting(trader)
    ticker = await trader.public.ticker(option)
    assert ticker.best_bid_price is not None
    assert ticker.best_ask_price is not None
    price = round(ticker.best_bid_price + 0.0005, 4)
    assert price < ticker.best_ask_price  # a level of its own, inside the spread
    await _quote(trader, option, bid={"price": price, "amount": 0.3})
    await sim.market_trade(option, "sell", 0.1, price=price)
    await counterparty.private.buy(option, amount=0.2, price=price)
    amended = _only(await _quote(trader, option, bid={"price": price, "amount": 0.2}))
    assert (amended.amount, amended.filled_amount) == (0.3, 0.1)
    await sim.market_trade(option, "sell", 0.2, price=price)
    quoted = (await trader.private.get_user_trades_by_instrument(option)).trades
    assert sum(t.amount or 0 for t in quoted) == pytest.approx(0.3)
    assert (await counterparty.private.get_user_trades_by_instrument(option)).trades == []


async def test_a_side_without_amount_amends_the_price_of_the_resting_quote(
    trader: DeribitClient,
) -> None:
    bid, ask = await _spread(trader)
    await _quoting(trader)
    placed = _only(await _quote(trader, bid={"price": bid - 10, "amount": 30}))
    moved = await _quote(trader, bid={"price": bid - 20}, ask={"price": ask + 10})
    assert _errors(moved) == [("ask", 10004)]  # no resting ask to amend
    order = _only(moved)
    assert (order.order_id, order.price, order.amount, order.replaced) == (
        placed.order_id,
        bid - 20,
        30,
        True,
    )


async def test_a_quote_replacing_the_resting_one_needs_only_its_own_margin(
    trader: DeribitClient,
) -> None:
    await _quoting(trader)
    await trader.private.withdraw("BTC", "bc1-elsewhere", 9.99)
    equity = (await trader.private.get_account_summary("BTC")).equity or 0.0
    bid, _ = await _spread(trader)
    price = bid - 100
    amount = round(0.6 * equity * price / 0.02 / 10) * 10  # 60% of the equity
    placed = _only(await _quote(trader, bid={"price": price, "amount": amount}))
    moved = await _quote(trader, bid={"price": price - 0.5, "amount": amount})
    assert _errors(moved) == []
    assert _only(moved).order_id == placed.order_id
    summary = await trader.private.get_account_summary("BTC")
    assert summary.initial_margin == pytest.approx(amount / (price - 0.5) * 0.02)


async def test_a_failed_amendment_cancels_the_resting_quote_on_that_side(
    trader: DeribitClient,
) -> None:
    bid, ask = await _spread(trader)
    await _quoting(trader)
    placed = await _quote(
        trader, bid={"price": bid - 10, "amount": 10}, ask={"price": ask + 10, "amount": 10}
    )
    assert placed.orders is not None
    resting_bid, resting_ask = placed.orders
    failed = await _quote(trader, bid={"price": bid - 10.25, "amount": 10})  # off the tick
    assert _errors(failed) == [("bid", 10043)]
    state = await trader.private.get_order_state(resting_bid.order_id)
    assert state.order_state == "cancelled"
    open_ids = [o.order_id for o in await trader.private.get_open_orders()]
    assert open_ids == [resting_ask.order_id]  # the other side stays
    book = await trader.public.get_order_book(PERP, depth=100)
    assert all(price != bid - 10 for price, _ in book.bids or ())  # gone from the book too


@pytest.mark.parametrize(
    ("wait", "errors", "pending"),
    [
        pytest.param(True, [("bid", 11054)], 0, id="waited-for"),
        # The risk check passes it on; the matching engine refuses it after the reply.
        pytest.param(False, [], 1, id="not-waited-for"),
    ],
)
async def test_a_post_only_amendment_that_would_cross_is_refused_and_cancels_the_quote(
    trader: DeribitClient, wait: bool, errors: list[tuple[str, int]], pending: int
) -> None:
    bid, ask = await _spread(trader)
    await _quoting(trader)
    resting = _only(await _quote(trader, bid={"price": bid - 10, "amount": 10}))
    crossing: QuoteSideParam = {
        "price": ask + 5,
        "amount": 10,
        "post_only": True,
        "reject_post_only": True,
    }
    refused = await _quote(trader, bid=crossing, wait=wait)
    assert (_errors(refused), len(refused.pending_requests or ())) == (errors, pending)
    await _ended_by_post_only(trader, resting.order_id)
    assert await trader.private.get_open_orders() == []


async def test_sides_moving_together_are_amended_in_the_order_that_never_crosses(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    book = await trader.public.get_order_book(PERP, depth=5)
    assert book.bids is not None
    assert book.asks is not None
    # Sweep five levels a side: a spread wide enough for two quotes to pass each other.
    await sim.market_trade(PERP, "buy", sum(amount for _, amount in book.asks))
    await sim.market_trade(PERP, "sell", sum(amount for _, amount in book.bids))
    bid, ask = await _spread(trader)
    assert ask - bid >= 5
    await _quoting(trader)
    first = await _quote(
        trader, bid={"price": bid + 0.5, "amount": 10}, ask={"price": bid + 1.5, "amount": 10}
    )
    up = await _quote(
        trader, bid={"price": bid + 2, "amount": 10}, ask={"price": bid + 3, "amount": 10}
    )
    down = await _quote(
        trader, bid={"price": bid + 0.5, "amount": 10}, ask={"price": bid + 1.5, "amount": 10}
    )
    ids = sorted(o.order_id for o in first.orders or ())
    for moved in (up, down):
        assert _errors(moved) == []
        assert sorted(o.order_id for o in moved.orders or ()) == ids  # amended, not replaced
        assert all(o.order_state == "open" for o in moved.orders or ())
    assert (await trader.private.get_user_trades_by_instrument(PERP)).trades == []


async def test_spot_and_standard_margin_options_cannot_be_quoted(trader: DeribitClient) -> None:
    await _quoting(trader)
    spot = await _quote(trader, "BTC_USDC", bid={"price": 100, "amount": 1})
    assert _errors(spot) == [("bid", 13902)]
    options = await trader.public.get_instruments("BTC", kind="option")
    option = options[0].instrument_name
    refused = await _quote(trader, option, bid={"price": 0.01, "amount": 1})
    assert _errors(refused) == [("bid", 13902)]
    await trader.private.change_margin_model("cross_pm")
    quoted = await _quote(trader, option, bid={"price": 0.01, "amount": 1})
    assert _errors(quoted) == []


async def test_editing_a_post_only_order_across_the_spread_never_takes(
    trader: DeribitClient,
) -> None:
    _, ask = await _spread(trader)
    order = (await trader.private.buy(PERP, amount=10, price=ask - 100, post_only=True)).order
    edited = await trader.private.edit(order.order_id, amount=10, price=ask + 50)
    assert edited.trades == []
    assert (edited.order.order_state, edited.order.price) == ("open", ask - 0.5)

    strict = await trader.private.buy(
        PERP, amount=10, price=ask - 100, post_only=True, reject_post_only=True
    )
    with pytest.raises(RpcError) as refused:
        await trader.private.edit(strict.order.order_id, amount=10, price=ask + 50)
    assert refused.value.code == 11054
    await _ended_by_post_only(trader, strict.order.order_id)


async def test_an_amendment_refused_for_self_trading_leaves_the_book_as_it_was(
    trader: DeribitClient,
) -> None:
    bid, _ = await _spread(trader)
    await trader.private.set_self_trading_config("reject_taker", False)
    await _quoting(trader)
    before = await trader.public.get_order_book(PERP, depth=50)
    await trader.private.sell(PERP, amount=10, price=bid + 0.5)  # the account's own offer
    resting = _only(await _quote(trader, bid={"price": bid, "amount": 10}))
    refused = await _quote(trader, bid={"price": bid + 0.5, "amount": 10})
    assert _errors(refused) == [("bid", 10003)]
    state = await trader.private.get_order_state(resting.order_id)
    assert (state.order_state, state.price) == ("cancelled", bid)  # never amended
    after = await trader.public.get_order_book(PERP, depth=50)
    assert after.bids == before.bids  # the quote's amount left its level exactly once


async def test_a_quote_not_waited_for_is_answered_after_the_risk_check(
    trader: DeribitClient,
) -> None:
    bid, ask = await _spread(trader)
    await _quoting(trader)
    quotes: list[MassQuoteParam] = [
        {"instrument_name": PERP, "quote_set_id": "perps",
         "bid": {"price": bid - 10, "amount": 10},
         "ask": {"price": ask + 10.25, "amount": 10}},  # off the tick: refused at once
    ]  # fmt: skip
    async with trader.subscribe(f"user.orders.{PERP}.raw") as orders:
        answer = await trader.private.mass_quote(
            "1", "mm", quotes, wait_for_response=False, detailed=True
        )
        # Nothing is matched yet: the orders come as notifications.
        assert (answer.orders, answer.trades) == (None, None)
        assert [(p.instrument_name, p.side) for p in answer.pending_requests or ()] == [
            (PERP, "bid")
        ]
        assert _errors(answer) == [("ask", 10043)]
        told = await asyncio.wait_for(anext(orders), 5)
    assert isinstance(told, Notification)  # not a gap
    placed = told.data
    assert (placed.direction, placed.price, placed.quote) == ("buy", bid - 10, True)
    # The connection's next request sees what the matching engine did.
    assert [o.order_id for o in await trader.private.get_open_orders()] == [placed.order_id]

    counted = await trader.private.mass_quote("2", "mm", quotes, wait_for_response=False)
    assert (counted.pending_requests_count, counted.errors_count) == (1, 1)
    assert (counted.pending_requests, counted.orders) == (None, None)


async def test_a_waited_quote_reports_orders_and_errors_as_documented(
    trader: DeribitClient,
) -> None:
    bid, _ = await _spread(trader)
    await _quoting(trader)
    quotes: list[MassQuoteParam] = [{"instrument_name": PERP, "quote_set_id": "perps",
               "bid": {"price": bid - 10, "amount": 10}}]  # fmt: skip
    detailed = await trader.private.mass_quote("1", "mm", quotes, detailed=True)
    assert (detailed.errors, detailed.trades) == ([], [])
    assert len(detailed.orders or ()) == 1
    assert (detailed.errors_count, detailed.pending_requests) == (None, None)
    brief = await trader.private.mass_quote("2", "mm", quotes)
    assert (brief.errors, brief.errors_count) == ([], 0)
    assert (brief.orders, brief.trades, brief.pending_requests_count) == (None, None, None)


async def test_an_instrument_quoted_twice_in_one_request_keeps_one_quote_a_side(
    trader: DeribitClient,
) -> None:
    bid, _ = await _spread(trader)
    await _quoting(trader)
    quotes: list[MassQuoteParam] = [
        {"instrument_name": PERP, "quote_set_id": "perps", "bid": {"price": p, "amount": 10}}
        for p in (bid - 10, bid - 20)
    ]
    for wait in (True, False):
        await trader.private.mass_quote("1", "mm", quotes, wait_for_response=wait)
        open_orders = await trader.private.get_open_orders()
        assert [o.price for o in open_orders] == [bid - 20]
        await trader.private.cancel_quotes("all")


async def test_a_quote_not_waited_for_over_http_is_matched_after_the_response(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    bid, _ = await _spread(trader)
    await trader.private.enable_cancel_on_disconnect(scope="account")  # HTTP has no connection
    await trader.private.set_mmp_config("btc_usd", 60, 0, mmp_group="mm", max_quote_quantity=1)
    quotes: list[MassQuoteParam] = [{"instrument_name": PERP, "quote_set_id": "perps",
               "bid": {"price": bid - 10, "amount": 10}}]  # fmt: skip
    async with (
        trader.subscribe(f"user.orders.{PERP}.raw") as orders,
        DeribitClient(
            url=sim.url, transport="http", client_id=SIM_CLIENT_ID,
            client_secret=SIM_CLIENT_SECRET,
        ) as http,
    ):  # fmt: skip
        answer = await http.private.mass_quote(
            "1", "mm", quotes, wait_for_response=False, detailed=True
        )
        assert (answer.orders, len(answer.pending_requests or ())) == (None, 1)
        told = await asyncio.wait_for(anext(orders), 5)
    assert isinstance(told, Notification)
    assert (told.data.price, told.data.order_state) == (bid - 10, "open")
