"""Block RFQs between simulated users and combos (issue #11): a taker asks, makers quote,
the taker trades the best quotes after the grace period, and both hold their side; the
RFQ, its quotes and its trades read back and stream as on Deribit."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from deribit_client import DeribitClient, DeribitError, Notification, OrderOutcomeUnknown, RpcError
from deribit_client.models import HedgeParam, LegParam, RfqLegParam, RfqQuoteLegParam
from deribit_client.testing import DeribitSimulator
from tests.helpers import nearest_options, next_notification

PERP = "BTC-PERPETUAL"


@pytest.fixture
def now() -> list[float]:
    """The simulator's clock (seconds): tests move it past grace periods and expiries."""
    return [time.time()]


@pytest.fixture
async def sim(now: list[float]) -> AsyncIterator[DeribitSimulator]:
    async with DeribitSimulator(seed=7, clock=lambda: now[0]) as simulator:
        simulator.rate_limits.enabled = False  # a stopped clock refills no credits
        yield simulator


async def _call_spread(client: DeribitClient) -> tuple[str, str]:
    calls = sorted(
        (i.strike or 0.0, i.instrument_name)
        for i in await nearest_options(client)
        if i.option_type == "call"
    )
    return calls[0][1], calls[1][1]


def _legs(low: str, high: str, amount: float = 10) -> list[LegParam]:
    return [
        {"instrument_name": low, "amount": amount, "direction": "buy"},
        {"instrument_name": high, "amount": amount, "direction": "sell"},
    ]


def _quote(low: str, high: str, low_price: float, high_price: float) -> list[RfqQuoteLegParam]:
    """A call spread's legs priced (directions the structure's, good for either side)."""
    return [
        {"instrument_name": low, "ratio": 1, "direction": "buy", "price": low_price},
        {"instrument_name": high, "ratio": 1, "direction": "sell", "price": high_price},
    ]


async def test_a_block_rfq_trades_between_its_taker_and_the_best_maker(
    now: list[float], trader: DeribitClient, counterparty: DeribitClient
) -> None:
    low, high = await _call_spread(trader)
    async with counterparty.subscribe("block_rfq.maker.BTC") as asked:
        rfq = await trader.private.create_block_rfq(_legs(low, high), label="spread")
        seen = await next_notification(asked)
    assert rfq.state == "created"
    assert (rfq.amount, [leg.ratio for leg in rfq.legs or []]) == (10, [1, 1])
    assert rfq.combo_id is not None
    assert "-CS-" in rfq.combo_id
    assert isinstance(seen, Notification)
    assert (seen.data.block_rfq_id, seen.data.role, seen.data.state) == (
        rfq.block_rfq_id,
        "maker",
        "open",
    )
    taker_alias = (await trader.private.get_block_rfq_user_info()).parent
    assert taker_alias is not None
    assert seen.data.taker == taker_alias.identity

    bid = await counterparty.private.add_block_rfq_quote(
        rfq.block_rfq_id, 10, "buy", _quote(low, high, 0.02, 0.01)
    )
    ask = await counterparty.private.add_block_rfq_quote(
        rfq.block_rfq_id, 10, "sell", _quote(low, high, 0.03, 0.01), label="mine"
    )
    assert (bid.price, ask.price) == (0.01, 0.02)  # bought legs add, sold ones subtract
    (hidden,) = (await trader.private.get_block_rfqs(block_rfq_id=rfq.block_rfq_id)).block_rfqs
    assert (hidden.bids, hidden.asks) == ([], [])  # the 5 s grace period
    with pytest.raises(DeribitError):
        await trader.private.accept_block_rfq(
            rfq.block_rfq_id, 0.02, 10, "buy", _quote(low, high, 0, 0), "fill_or_kill"
        )

    now[0] += 6
    (shown,) = (await trader.private.get_block_rfqs(block_rfq_id=rfq.block_rfq_id)).block_rfqs
    assert [(b.price, b.amount) for b in shown.bids or []] == [(0.01, 10)]
    assert [(a.price, a.amount) for a in shown.asks or []] == [(0.02, 10)]
    async with trader.subscribe("block_rfq.trades.BTC") as tape:
        accepted = await trader.private.accept_block_rfq(
            rfq.block_rfq_id, 0.02, 10, "buy", _quote(low, high, 0, 0), "fill_or_kill"
        )
        printed = await next_notification(tape)
    (block,) = accepted.block_trades or []
    assert [(t.instrument_name, t.direction, t.price, t.amount) for t in block.trades or []] == [
        (low, "buy", 0.03, 10),
        (high, "sell", 0.01, 10),
    ]
    assert {t.block_rfq_id for t in block.trades or []} == {rfq.block_rfq_id}
    assert (await trader.private.get_position(low)).size == 10
    assert (await counterparty.private.get_position(low)).size == -10
    assert (await counterparty.private.get_block_trade(block.id)).id == block.id
    by_rfq = await counterparty.private.get_block_trades(block_rfq_id=rfq.block_rfq_id)
    assert [b.id for b in by_rfq] == [block.id]
    assert await counterparty.private.get_block_trades(block_rfq_id=rfq.block_rfq_id + 1) == []
    assert isinstance(printed, Notification)
    assert (printed.data.id, printed.data.amount, printed.data.direction) == (
        rfq.block_rfq_id,
        10,
        "buy",
    )

    (done,) = (await trader.private.get_block_rfqs(block_rfq_id=rfq.block_rfq_id)).block_rfqs
    assert done.state == "filled"
    assert [(t.price, t.amount) for t in done.trades or []] == [(0.02, 10)]
    # the maker's filled ask and its bid, cancelled with the RFQ, are no longer open
    assert await counterparty.private.get_block_rfq_quotes() == []
    public = await trader.public.get_block_rfq_trades("BTC")
    assert [r.id for r in public.block_rfqs] == [rfq.block_rfq_id]
    makers_view = await counterparty.private.get_block_rfqs(role="maker")
    assert [(r.role, r.state) for r in makers_view.block_rfqs] == [("maker", "filled")]


async def test_fill_or_kill_trades_all_or_nothing_and_a_trigger_waits_for_a_crossing_quote(
    now: list[float], trader: DeribitClient, counterparty: DeribitClient
) -> None:
    rfq = await trader.private.create_block_rfq(
        [{"instrument_name": PERP, "amount": 2_000, "direction": "buy"}]
    )
    # No direction: the reading where a quote's legs follow the RFQ's (REFERENCE 7.10 (?)).
    legs: list[RfqLegParam] = [{"instrument_name": PERP, "ratio": 1}]  # type: ignore[typeddict-item]
    await counterparty.private.add_block_rfq_quote(
        rfq.block_rfq_id, 1_000, "sell", [{**legs[0], "price": 64_000.0}]
    )
    now[0] += 6
    with pytest.raises(RpcError) as partial:
        await trader.private.accept_block_rfq(
            rfq.block_rfq_id, 64_000.0, 2_000, "buy", legs, "fill_or_kill"
        )
    assert partial.value.code == 13907  # not_fully_filled
    assert (await trader.private.get_position(PERP)).size == 0

    waiting = await trader.private.accept_block_rfq(
        rfq.block_rfq_id, 63_000.0, 2_000, "buy", legs, "good_til_cancelled"
    )
    assert waiting.block_trades == []
    assert waiting.trade_trigger is not None
    assert waiting.trade_trigger.state == "untriggered"
    async with trader.subscribe("block_rfq.taker.BTC") as taker:
        await counterparty.private.add_block_rfq_quote(
            rfq.block_rfq_id, 2_000, "sell", [{**legs[0], "price": 62_500.0}]
        )
        states = []
        while "filled" not in states:
            update = await next_notification(taker)
            assert isinstance(update, Notification)
            states.append(update.data.state)
    assert (await trader.private.get_position(PERP)).size == 2_000  # at the crossing quote

    other = await trader.private.create_block_rfq(
        [{"instrument_name": PERP, "amount": 1_000, "direction": "sell"}]
    )
    now[0] += 6
    await trader.private.accept_block_rfq(
        other.block_rfq_id, 70_000.0, 1_000, "sell", legs, "good_til_cancelled"
    )
    cancelled = await trader.private.cancel_block_rfq_trigger(other.block_rfq_id)
    assert cancelled.trade_trigger is not None
    assert (cancelled.trade_trigger.state, cancelled.state) == ("cancelled", "open")


async def test_quotes_trade_best_price_first_and_all_or_none_first_at_a_price(
    sim: DeribitSimulator,
    now: list[float],
    trader: DeribitClient,
    counterparty: DeribitClient,
) -> None:
    sim.add_api_key("third", "third-secret")
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, client_id="third", client_secret="third-secret"
    ) as third:
        rfq = await trader.private.create_block_rfq(
            [{"instrument_name": PERP, "amount": 3_000, "direction": "buy"}]
        )
        legs: list[RfqLegParam] = [{"instrument_name": PERP, "ratio": 1, "direction": "buy"}]
        late_best = await third.private.add_block_rfq_quote(
            rfq.block_rfq_id, 1_000, "sell", [{**legs[0], "price": 64_000.0}]
        )
        any_part = await counterparty.private.add_block_rfq_quote(
            rfq.block_rfq_id, 2_000, "sell", [{**legs[0], "price": 64_100.0}]
        )
        all_or_none = await third.private.add_block_rfq_quote(
            rfq.block_rfq_id,
            3_000,
            "sell",
            [{**legs[0], "price": 64_100.0}],
            execution_instruction="all_or_none",
        )
        with pytest.raises(RpcError) as partial_aon:  # all_or_none quotes the whole RFQ
            await third.private.add_block_rfq_quote(
                rfq.block_rfq_id,
                1_000,
                "sell",
                [{**legs[0], "price": 64_100.0}],
                execution_instruction="all_or_none",
            )
        assert partial_aon.value.code == -32602
        now[0] += 6
        accepted = await trader.private.accept_block_rfq(
            rfq.block_rfq_id, 64_100.0, 3_000, "buy", legs, "fill_or_kill"
        )
        # 1,000 at the best price; the all-or-none quote no longer fits the 2,000 left,
        # so the any-part-of quote at the next price fills them
        fills = [(t.price, t.amount) for b in accepted.block_trades or [] for t in b.trades or []]
        assert fills == [(64_000.0, 1_000), (64_100.0, 2_000)]
        quotes = {q.block_rfq_quote_id: q for q in await third.private.get_block_rfq_quotes()}
        assert late_best.block_rfq_quote_id not in quotes  # filled
        assert all_or_none.block_rfq_quote_id not in quotes  # cancelled with the filled RFQ
        assert any_part.block_rfq_quote_id != all_or_none.block_rfq_quote_id


async def test_makers_are_refused_what_deribit_refuses(
    sim: DeribitSimulator, now: list[float], trader: DeribitClient, counterparty: DeribitClient
) -> None:
    legs: list[LegParam] = [{"instrument_name": PERP, "amount": 1_000, "direction": "buy"}]
    priced: list[RfqQuoteLegParam] = [
        {"instrument_name": PERP, "ratio": 1, "direction": "buy", "price": 64_000.0}
    ]
    rfq = await trader.private.create_block_rfq(legs)
    with pytest.raises(RpcError) as own:
        await trader.private.add_block_rfq_quote(rfq.block_rfq_id, 1_000, "buy", priced)
    assert own.value.code == 11042
    await counterparty.private.add_block_rfq_quote(rfq.block_rfq_id, 1_000, "sell", priced)
    with pytest.raises(RpcError) as crossed:  # a bid at its own ask
        await counterparty.private.add_block_rfq_quote(rfq.block_rfq_id, 1_000, "buy", priced)
    assert crossed.value.code == 13910
    with pytest.raises(RpcError) as off_tick:
        await counterparty.private.add_block_rfq_quote(
            rfq.block_rfq_id, 1_000, "buy", [{**priced[0], "price": 60_000.25}]
        )
    assert off_tick.value.code == 10043
    with pytest.raises(RpcError) as anonymous:  # fewer than five makers
        await trader.private.create_block_rfq(legs, disclosed=False)
    assert anonymous.value.code == -32602

    sim.add_api_key("bystander", "bystander-secret")
    async with DeribitClient(
        url=sim.url, heartbeat_interval=None, client_id="bystander",
        client_secret="bystander-secret",
    ) as bystander:  # fmt: skip
        maker = (await counterparty.private.get_block_rfq_user_info()).parent
        assert maker is not None
        assert maker.identity is not None
        targeted = await trader.private.create_block_rfq(legs, makers=[maker.identity])
        with pytest.raises(RpcError) as untargeted:
            await bystander.private.add_block_rfq_quote(
                targeted.block_rfq_id, 1_000, "sell", priced
            )
        assert untargeted.value.code == 13020
        assert maker.identity in await bystander.private.get_block_rfq_makers()

    cancelled = await trader.private.cancel_block_rfq(targeted.block_rfq_id)
    assert cancelled.state == "cancelled"
    with pytest.raises(RpcError) as closed:
        await counterparty.private.add_block_rfq_quote(targeted.block_rfq_id, 1_000, "sell", priced)
    assert closed.value.code == 13019

    now[0] += 301  # five minutes: the RFQ and its quotes expire
    (expired,) = (await trader.private.get_block_rfqs(block_rfq_id=rfq.block_rfq_id)).block_rfqs
    assert expired.state == "expired"
    assert await counterparty.private.get_block_rfq_quotes() == []
    rating = (await trader.private.get_block_rfq_user_info()).users
    assert rating is not None
    assert rating[0].taker_rating == 0.0


async def test_a_maker_edits_and_cancels_its_quotes(
    trader: DeribitClient, counterparty: DeribitClient
) -> None:
    rfq = await trader.private.create_block_rfq(
        [{"instrument_name": PERP, "amount": 1_000, "direction": "buy"}]
    )
    priced: list[RfqQuoteLegParam] = [
        {"instrument_name": PERP, "ratio": 1, "direction": "buy", "price": 64_000.0}
    ]
    async with counterparty.subscribe("block_rfq.maker.quotes.BTC") as mine:
        added = await counterparty.private.add_block_rfq_quote(
            rfq.block_rfq_id, 1_000, "sell", priced, label="ask"
        )
        edited = await counterparty.private.edit_block_rfq_quote(
            [{**priced[0], "price": 64_500.0}], 500, block_rfq_id=rfq.block_rfq_id, label="ask"
        )
        updates = [await next_notification(mine) for _ in range(2)]
    assert edited.block_rfq_quote_id == added.block_rfq_quote_id
    assert (edited.price, edited.amount, edited.replaced) == (64_500.0, 500, True)
    assert all(isinstance(u, Notification) for u in updates)
    assert [u.data[0].price for u in updates if isinstance(u, Notification)] == [
        64_000.0,
        64_500.0,
    ]
    cancelled = await counterparty.private.cancel_block_rfq_quote(
        block_rfq_quote_id=added.block_rfq_quote_id
    )
    assert cancelled.quote_state == "cancelled"
    for _ in range(2):
        await counterparty.private.add_block_rfq_quote(rfq.block_rfq_id, 1_000, "sell", priced)
    assert await counterparty.private.cancel_all_block_rfq_quotes() == 2
    await counterparty.private.add_block_rfq_quote(rfq.block_rfq_id, 1_000, "sell", priced)
    (report,) = await counterparty.private.cancel_all_block_rfq_quotes(detailed=True)
    assert report.currency == "BTC"
    assert [q.quote_state for q in report.result] == ["cancelled"]
    assert await counterparty.private.get_block_rfq_quotes() == []


async def test_combos_are_named_as_deribit_names_them_and_listed(trader: DeribitClient) -> None:
    futures = await trader.public.get_instruments("BTC", kind="future")
    dated = max(
        (i for i in futures if i.settlement_period != "perpetual"),
        key=lambda i: i.expiration_timestamp or 0,
    ).instrument_name
    spread = await trader.private.create_combo(
        [
            {"instrument_name": PERP, "amount": 1_000, "direction": "sell"},
            {"instrument_name": dated, "amount": "1000", "direction": "buy"},  # type: ignore[typeddict-item]  # a string, as documented
        ]
    )
    assert spread.id == f"BTC-FS-{dated.split('-')[1]}_PERP"
    assert [(leg.instrument_name, leg.amount) for leg in spread.legs or []] == [
        (PERP, -1),
        (dated, 1),
    ]
    reverse = await trader.private.create_combo(
        (  # any sequence of legs
            {"instrument_name": PERP, "amount": 10, "direction": "buy"},
            {"instrument_name": dated, "amount": 10, "direction": "sell"},
        )
    )
    assert reverse.id == spread.id  # one book, bought or sold
    options = await nearest_options(trader)
    call = next(i for i in options if i.option_type == "call")
    put = next(
        i.instrument_name for i in options if i.option_type == "put" and i.strike == call.strike
    )
    expiry, strike = call.instrument_name.split("-")[1:3]
    reversal = await trader.private.create_combo(
        [
            {"instrument_name": call.instrument_name, "amount": 1, "direction": "buy"},
            {"instrument_name": put, "amount": 1, "direction": "sell"},
        ]
    )
    assert reversal.id == f"BTC-REV-{expiry}-{strike}"
    straddle = await trader.private.create_combo(
        [
            {"instrument_name": call.instrument_name, "amount": 1, "direction": "sell"},
            {"instrument_name": put, "amount": 1, "direction": "sell"},
        ]
    )
    assert straddle.id == f"BTC-STRD-{expiry}-{strike}"
    puts = sorted((i.strike or 0.0, i.instrument_name) for i in options if i.option_type == "put")
    put_spread = await trader.private.create_combo(
        [
            {"instrument_name": puts[0][1], "amount": 1, "direction": "sell"},
            {"instrument_name": puts[1][1], "amount": 1, "direction": "buy"},
        ]
    )
    assert put_spread.id == f"BTC-PS-{expiry}-{int(puts[1][0])}_{int(puts[0][0])}"
    other = await trader.private.create_combo(
        [
            {"instrument_name": PERP, "amount": 20, "direction": "buy"},
            {"instrument_name": call.instrument_name, "amount": 1, "direction": "buy"},
        ]
    )
    assert other.id.startswith("BTC-COMBO-")  # no pattern: the simulator's own name
    assert [leg.amount for leg in other.legs or []] == [20, 1]  # ratios of the amounts
    assert set(await trader.public.get_combo_ids("BTC")) == {
        spread.id,
        reversal.id,
        straddle.id,
        put_spread.id,
        other.id,
    }
    assert [c.id for c in await trader.public.get_combos("ETH")] == []
    assert (await trader.public.get_combo_details(spread.id)).legs == spread.legs
    with pytest.raises(RpcError) as unknown:
        await trader.public.get_combo_details("BTC-FS-NOPE_PERP")
    assert unknown.value.code == 13020

    priced = await trader.private.get_leg_prices(
        [
            {"instrument_name": call.instrument_name, "amount": 2, "direction": "buy"},
            {"instrument_name": put, "amount": 2, "direction": "sell"},
        ],
        0.05,
    )
    assert priced.amount == 2
    (bought, sold) = priced.legs or []
    assert bought.price is not None
    assert sold.price is not None
    assert bought.price - sold.price == pytest.approx(0.05, abs=0.0005)  # within a tick


async def test_a_quote_s_hedge_trades_with_it_in_proportion(
    now: list[float], trader: DeribitClient, counterparty: DeribitClient
) -> None:
    low, high = await _call_spread(trader)
    rfq = await trader.private.create_block_rfq(_legs(low, high, amount=20))
    hedge: HedgeParam = {
        "instrument_name": PERP, "direction": "sell", "price": 64_000.0, "amount": 200
    }  # fmt: skip
    async with counterparty.subscribe("block_rfq.maker.quotes.BTC") as mine:
        quote = await counterparty.private.add_block_rfq_quote(
            rfq.block_rfq_id, 20, "sell", _quote(low, high, 0.03, 0.01), hedge=hedge
        )
        await anext(mine)  # the new quote
        now[0] += 6
        accepted = await trader.private.accept_block_rfq(
            rfq.block_rfq_id, 0.02, 10, "buy", _quote(low, high, 0, 0), "fill_or_kill"
        )
        traded = await next_notification(mine)
    assert quote.hedge is not None
    assert quote.hedge.amount == 200
    (block,) = accepted.block_trades or []
    # half the quote traded: half its hedge, the taker on the other side of the maker's sell
    assert [(t.instrument_name, t.direction, t.amount) for t in block.trades or []][-1] == (
        PERP,
        "buy",
        100,
    )
    assert isinstance(traded, Notification)
    assert [(q.block_rfq_quote_id, q.filled_amount) for q in traded.data] == [
        (quote.block_rfq_quote_id, 10)
    ]
    (rfq_now,) = (await trader.private.get_block_rfqs(block_rfq_id=rfq.block_rfq_id)).block_rfqs
    assert rfq_now.state == "traded"  # part of it traded, nothing waits
    assert [t.hedge_amount for t in rfq_now.trades or []] == [100]


async def test_pre_allocated_shares_go_to_the_takers_subaccounts(
    now: list[float], trader: DeribitClient, counterparty: DeribitClient
) -> None:
    low, high = await _call_spread(trader)
    sub = await trader.private.create_subaccount()
    await trader.private.submit_transfer_to_subaccount("BTC", 2.0, sub.id)
    rfq = await trader.private.create_block_rfq(
        _legs(low, high), trade_allocations=[{"user_id": sub.id, "amount": 6}]
    )
    await counterparty.private.add_block_rfq_quote(
        rfq.block_rfq_id, 10, "sell", _quote(low, high, 0.03, 0.01)
    )
    now[0] += 6
    accepted = await trader.private.accept_block_rfq(
        rfq.block_rfq_id, 0.02, 10, "buy", _quote(low, high, 0, 0), "fill_or_kill"
    )
    assert len(accepted.block_trades or []) == 2  # the subaccount's share and the rest
    assert (await trader.private.get_position(low)).size == 4
    held = await trader.private.get_positions(currency="BTC", subaccount_id=sub.id)
    assert sorted((p.instrument_name, p.size) for p in held) == sorted([(low, 6), (high, -6)])
    assert (await counterparty.private.get_position(low)).size == -10


async def test_block_rfq_mmp_cancels_a_makers_quotes_and_refuses_new_ones_once_tripped(
    now: list[float], trader: DeribitClient, counterparty: DeribitClient
) -> None:
    low, high = await _call_spread(trader)
    await counterparty.private.set_mmp_config(
        "btc_usd", 60, 0, quantity_limit=15, block_rfq=True
    )  # one fill of the 10-lot spread moves 20 BTC of options
    first = await trader.private.create_block_rfq(_legs(low, high))
    second = await trader.private.create_block_rfq(_legs(low, high, amount=20))
    await counterparty.private.add_block_rfq_quote(
        first.block_rfq_id, 10, "sell", _quote(low, high, 0.03, 0.01)
    )
    waiting = await counterparty.private.add_block_rfq_quote(
        second.block_rfq_id, 20, "sell", _quote(low, high, 0.03, 0.01)
    )
    now[0] += 6
    async with counterparty.subscribe("user.mmp_trigger.btc_usd") as triggers:
        await trader.private.accept_block_rfq(
            first.block_rfq_id, 0.02, 10, "buy", _quote(low, high, 0, 0), "fill_or_kill"
        )
        notice = await next_notification(triggers)
    assert (notice.data.index_name, notice.data.block_rfq) == ("btc_usd", True)
    assert await counterparty.private.get_block_rfq_quotes() == []  # the other RFQ's too
    (status,) = await counterparty.private.get_mmp_status(block_rfq=True)
    assert status.frozen_until == 0  # until reset
    assert await counterparty.private.get_mmp_status() == []  # the order book's is apart
    with pytest.raises(RpcError) as refused:
        await counterparty.private.add_block_rfq_quote(
            second.block_rfq_id, 20, "sell", _quote(low, high, 0.03, 0.01)
        )
    assert refused.value.code == 13030
    await counterparty.private.reset_mmp("btc_usd", block_rfq=True)
    again = await counterparty.private.add_block_rfq_quote(
        second.block_rfq_id, 20, "sell", _quote(low, high, 0.03, 0.01)
    )
    assert again.block_rfq_quote_id != waiting.block_rfq_quote_id


async def test_a_trade_trigger_the_taker_can_no_longer_fund_ends_without_trading(
    sim: DeribitSimulator, now: list[float], trader: DeribitClient, counterparty: DeribitClient
) -> None:
    sim.deposit("BTC", 100.0, client_id="counterparty")  # the maker can margin its side
    amount = 100_000_000  # ~1,560 BTC of perpetual: more than all the taker's collateral
    rfq = await trader.private.create_block_rfq(
        [{"instrument_name": PERP, "amount": amount, "direction": "buy"}]
    )
    legs: list[RfqLegParam] = [{"instrument_name": PERP, "ratio": 1, "direction": "buy"}]
    now[0] += 6
    waiting = await trader.private.accept_block_rfq(
        rfq.block_rfq_id, 63_000.0, amount, "buy", legs, "good_til_cancelled"
    )
    assert waiting.trade_trigger is not None  # nothing crossed yet, nothing to margin
    await counterparty.private.add_block_rfq_quote(
        rfq.block_rfq_id, amount, "sell", [{**legs[0], "price": 62_500.0}]
    )
    (seen,) = (await trader.private.get_block_rfqs(block_rfq_id=rfq.block_rfq_id)).block_rfqs
    assert seen.trade_trigger is not None
    assert (seen.trade_trigger.state, seen.state) == ("cancelled", "open")
    assert (await trader.private.get_position(PERP)).size == 0
    assert (await counterparty.private.get_position(PERP)).size == 0


async def test_a_block_rfq_whose_creation_reply_is_lost_says_where_to_look(
    sim: DeribitSimulator, trader: DeribitClient
) -> None:
    low, high = await _call_spread(trader)
    sim.lose_replies("private/create_block_rfq")
    with pytest.raises(OrderOutcomeUnknown, match=r"private/get_block_rfqs") as info:
        await trader.private.create_block_rfq(_legs(low, high), label="lost")
    assert info.value.label == "lost"
    await trader.wait_ready()
    rfqs = (await trader.private.get_block_rfqs(role="taker")).block_rfqs
    assert [r.label for r in rfqs] == ["lost"]  # it was made: a re-send would ask twice
