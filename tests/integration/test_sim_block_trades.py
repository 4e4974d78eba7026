"""Block trades between two simulated users (issue #11): one verifies, the other executes
with the signature; both hold their side, the market prints each leg once, and a
signature that was rejected, invalidated or does not match the legs executes nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from deribit_client import DeribitClient, DeribitError, InsufficientFundsError, RpcError
from deribit_client.models import BlockTradeLegParam
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from tests.helpers import INSTANT, next_notification

PERP = "BTC-PERPETUAL"


async def _legs(trader: DeribitClient) -> list[BlockTradeLegParam]:
    option = (await trader.public.get_instruments("BTC", kind="option"))[0].instrument_name
    return [
        {"instrument_name": PERP, "price": 64_000.0, "amount": 20_000.0, "direction": "buy"},
        {"instrument_name": option, "price": 0.05, "amount": 2.0, "direction": "sell"},
    ]


async def test_a_verified_block_trade_executes_for_both_users(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    legs = await _legs(trader)
    now = sim.now_ms()
    async with trader.subscribe("block_trade_confirmations") as confirmations:
        signed = await trader.private.verify_block_trade(now, "bt-1", "maker", legs)
        pending = await next_notification(confirmations)
    assert pending.data.nonce == "bt-1"
    assert pending.data.state is not None
    assert pending.data.state.value == "initial"
    assert [r.nonce for r in await trader.private.get_block_trade_requests()] == ["bt-1"]
    async with trader.subscribe("trades.BTC-PERPETUAL.raw") as tape:
        block = await counterparty.private.execute_block_trade(
            now, "bt-1", "taker", legs, signed.signature
        )
        printed = await next_notification(tape)
    assert block.trades is not None
    assert [(t.instrument_name, t.direction, t.liquidity) for t in block.trades] == [
        (PERP, "sell", "T"),  # directions are the maker's; the taker has the other side
        (legs[1]["instrument_name"], "buy", "T"),
    ]
    assert [t.block_trade_id for t in printed.data] == [block.id]  # printed once
    assert printed.data[0].block_trade_leg_count == 2
    maker_side = await trader.private.get_block_trade(block.id)
    assert [(t.direction, t.liquidity) for t in maker_side.trades or []] == [
        ("buy", "M"),
        ("sell", "M"),
    ]
    assert (await trader.private.get_position(PERP)).size == 20_000
    assert (await counterparty.private.get_position(PERP)).size == -20_000
    assert [b.id for b in await counterparty.private.get_block_trades(currency="BTC")] == [block.id]
    assert await trader.private.get_block_trade_requests() == []
    with pytest.raises(RpcError) as used:  # a signature executes once
        await counterparty.private.execute_block_trade(now, "bt-1", "taker", legs, signed.signature)
    assert used.value.code == 13009


async def test_a_signature_that_does_not_match_executes_nothing(
    sim: DeribitSimulator, trader: DeribitClient, counterparty: DeribitClient
) -> None:
    legs = await _legs(trader)
    now = sim.now_ms()
    signed = await trader.private.verify_block_trade(now, "bt-2", "maker", legs)
    changed: list[BlockTradeLegParam] = [{**legs[0], "price": 65_000.0}, legs[1]]
    with pytest.raises(RpcError) as mismatch:
        await counterparty.private.execute_block_trade(
            now, "bt-2", "taker", changed, signed.signature
        )
    assert mismatch.value.code == 13009
    with pytest.raises(RpcError) as same_role:
        await counterparty.private.execute_block_trade(now, "bt-2", "maker", legs, signed.signature)
    assert same_role.value.code == 13009
    with pytest.raises(RpcError) as self_trade:
        await trader.private.execute_block_trade(now, "bt-2", "taker", legs, signed.signature)
    assert self_trade.value.code == 11042
    await trader.private.reject_block_trade(now, "bt-2", "maker")
    [rejected] = await trader.private.get_block_trade_requests()
    assert rejected.state is not None
    assert rejected.state.value == "rejected"
    with pytest.raises(RpcError) as after_reject:
        await counterparty.private.execute_block_trade(now, "bt-2", "taker", legs, signed.signature)
    assert after_reject.value.code == 13009
    again = await trader.private.verify_block_trade(now, "bt-3", "maker", legs)
    assert await trader.private.invalidate_block_trade_signature(again.signature) == "ok"
    with pytest.raises(DeribitError):
        await counterparty.private.execute_block_trade(now, "bt-3", "taker", legs, again.signature)
    assert await counterparty.private.get_block_trades() == []
    assert (await counterparty.private.get_position(PERP)).size == 0


async def test_block_trade_legs_are_checked(sim: DeribitSimulator, trader: DeribitClient) -> None:
    legs = await _legs(trader)
    now = sim.now_ms()
    assert await trader.private.simulate_block_trade(legs, role="maker") is True
    huge: list[BlockTradeLegParam] = [{**legs[0], "amount": 100_000_000.0}]
    assert await trader.private.simulate_block_trade(huge, role="maker") is False
    with pytest.raises(InsufficientFundsError):
        await trader.private.verify_block_trade(now, "bt-4", "maker", huge)
    bad: dict[str, tuple[list[Any], int]] = {  # refusals of the simulator, so not typed
        "off tick": ([{**legs[0], "price": 64_000.3}], 10043),
        "below the block minimum": ([{**legs[0], "amount": 10.0}], 10002),
        "unknown instrument": ([{**legs[0], "instrument_name": "BTC-NOPE"}], 10020),
        "no direction": ([{**legs[0], "direction": "up"}], -32602),
        "no legs": ([], -32602),
    }
    for reason, (trades, code) in bad.items():
        with pytest.raises(RpcError) as refused:
            await trader.private.verify_block_trade(now, f"bt-{reason}", "maker", trades)
        assert refused.value.code == code, reason
    with pytest.raises(RpcError) as stale:
        await trader.private.verify_block_trade(now - 600_000, "bt-5", "maker", legs)
    assert stale.value.code == -32602


async def test_block_trade_requests_expire_with_their_signatures() -> None:
    offset = [0.0]
    async with (
        DeribitSimulator(clock=lambda: time.time() + offset[0]) as sim,
        DeribitClient(
            url=sim.url, heartbeat_interval=None, reconnect=INSTANT,
            client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET,
        ) as trader,
    ):  # fmt: skip
        legs = await _legs(trader)
        now = sim.now_ms()
        await trader.private.verify_block_trade(now, "kept", "maker", legs)
        await trader.private.verify_block_trade(now, "rejected", "maker", legs)
        await trader.private.reject_block_trade(now, "rejected", "maker")
        assert len(await trader.private.get_block_trade_requests()) == 2
        offset[0] = 301  # past the five minutes a signature is valid
        assert await trader.private.get_block_trade_requests() == []
        assert sim.trading.block_signatures == {}
        with pytest.raises(RpcError) as bad_id:
            await trader.private.get_block_trades(start_id="latest")
        assert bad_id.value.code == -32602
