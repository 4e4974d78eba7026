"""The pytest plugin, as a user's own test suite sees it (run through pytester)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_a_users_suite_gets_simulators_and_connected_clients(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    pytester.makepyfile(
        """
        import pytest
        from deribit_client import InsufficientFundsError

        async def test_bot(deribit_sim, deribit_client):
            assert deribit_client.state == "ready"
            deribit_sim.inject_error("private/buy", 10009, "not_enough_funds")
            with pytest.raises(InsufficientFundsError):
                await deribit_client.private.buy("BTC-PERPETUAL", amount=10, type="market")
            assert (await deribit_client.private.get_positions()) == []

        async def test_exberry_bot(exberry_sim, exberry_client):
            placed = await exberry_client.place_order(
                instrument="BTC", side="Buy", quantity=1, price=10.0, mpOrderId=1
            )
            assert placed.orderId in exberry_sim.orders

        async def test_broker_bot(exberry_sim, exberry_broker):
            await exberry_broker.broker_place_order(
                instrument="BTC", side="Buy", quantity=1, price=10.0
            )
            page = await exberry_broker.broker_orders_history()
            assert [o.price for o in page.orders] == [10.0]
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=3)
