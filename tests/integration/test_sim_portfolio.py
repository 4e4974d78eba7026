"""The simulator keeps positions across the account (issue #11): positions move between the
main account and its subaccounts, margin what-ifs count real and simulated positions, and
subaccounts' disabled trading products are checked and kept."""

from __future__ import annotations

import pytest

from deribit_client import DeribitClient, RpcError
from deribit_client.models import PositionMoveParam
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator

PERP = "BTC-PERPETUAL"


async def test_positions_move_to_a_subaccount_and_back(trader: DeribitClient) -> None:
    await trader.private.buy(PERP, amount=1_000, type="market")
    sub = await trader.private.create_subaccount()
    main_id = (await trader.private.get_account_summary("BTC", extended=True)).id
    assert main_id is not None
    moved = await trader.private.move_positions(
        main_id, sub.id, [{"instrument_name": PERP, "amount": 400, "price": 64_000}]
    )
    (trade,) = moved
    assert (trade.direction, trade.amount, trade.price) == ("sell", 400, 64_000)
    (mine,) = await trader.private.get_positions(currency="BTC")
    assert mine.size == 600
    (theirs,) = await trader.private.get_positions(currency="BTC", subaccount_id=sub.id)
    assert (theirs.size, theirs.average_price) == (400, 64_000)
    (details,) = await trader.private.get_subaccounts_details("BTC")
    assert [p.size for p in details.positions or []] == [400]

    with pytest.raises(RpcError) as too_much:  # more than the source holds
        await trader.private.move_positions(sub.id, main_id,
                                            [{"instrument_name": PERP, "amount": 500}])  # fmt: skip
    assert too_much.value.code == 11029
    with pytest.raises(RpcError) as not_empty:
        await trader.private.remove_subaccount(sub.id)
    assert not_empty.value.code == 11029
    await trader.private.move_positions(sub.id, main_id, [{"instrument_name": PERP, "amount": 400}])
    (back,) = await trader.private.get_positions(currency="BTC")
    assert back.size == 1_000


async def test_moving_positions_is_limited_to_100_a_week(sim: DeribitSimulator) -> None:
    sim.rate_limits.enabled = False  # about the weekly count, not the credit pool
    async with DeribitClient(
        url=sim.url, client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET, rate_limit=False
    ) as trader:
        await trader.private.buy(PERP, amount=1_000, type="market")
        sub = await trader.private.create_subaccount()
        main_id = (await trader.private.get_account_summary("BTC", extended=True)).id
        assert main_id is not None
        trades: list[PositionMoveParam] = [{"instrument_name": PERP, "amount": 10}]
        for n in range(100):
            source, target = (main_id, sub.id) if n % 2 == 0 else (sub.id, main_id)
            await trader.private.move_positions(source, target, trades)
        with pytest.raises(RpcError) as over:
            await trader.private.move_positions(main_id, sub.id, trades)
    assert over.value.code == 13780
    assert over.value.data["wait"] > 0


async def test_simulate_portfolio_adds_simulated_positions_to_the_real_ones(
    trader: DeribitClient,
) -> None:
    await trader.private.buy(PERP, amount=2_000, type="market")
    now = await trader.private.simulate_portfolio("BTC")
    more = await trader.private.simulate_portfolio("BTC", simulated_positions={PERP: 3_000})
    alone = await trader.private.simulate_portfolio(
        "BTC", add_positions=False, simulated_positions={PERP: 3_000}
    )
    assert now.initial_margin is not None
    assert alone.initial_margin is not None
    assert now.initial_margin > 0
    assert alone.initial_margin == pytest.approx(1.5 * now.initial_margin, rel=1e-3)
    assert more.initial_margin == pytest.approx(2.5 * now.initial_margin, rel=1e-3)
    assert more.delta_total_map is not None
    assert more.delta_total_map["btc_usd"] > 0
    with pytest.raises(RpcError) as unknown:
        await trader.private.simulate_portfolio("BTC", simulated_positions={"BTC-NOPE": 1.0})
    assert unknown.value.code == -32602
    cross = await trader.private.pme_simulate("CROSS")
    assert {"BTC", "ETH"} <= set(cross)


async def test_disabled_trading_products_are_checked_for_subaccounts_only(
    trader: DeribitClient,
) -> None:
    sub = await trader.private.create_subaccount()
    assert await trader.private.set_disabled_trading_products(sub.id, ["options", "spots"]) == "ok"
    with pytest.raises(RpcError) as not_a_subaccount:
        await trader.private.set_disabled_trading_products(1, ["options"])
    assert not_a_subaccount.value.code == 13020
    with pytest.raises(RpcError) as unknown:
        await trader.private.set_disabled_trading_products(sub.id, ["bonds"])  # type: ignore[list-item]
    assert unknown.value.code == -32602
