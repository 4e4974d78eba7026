"""The Exberry simulator's ledger under random trading: nothing created or lost, every
reservation accounted for by an open order, no balance below zero."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from deribit_client.testing._exberry_rules import Fail
from deribit_client.testing.exberry import ExberrySimulator

USD, GOLD = 44, 10
TRADERS = ("a", "b", "c")

order_terms = st.fixed_dictionaries({
    "side": st.sampled_from(["Buy", "Sell"]),
    "orderType": st.sampled_from(["Limit", "Limit", "Market", "MarketToLimit", "StopLimit"]),
    "timeInForce": st.sampled_from(["GTC", "IOC", "FOK"]),
    "quantity": st.integers(1, 32).map(lambda n: n / 4),
    "price": st.integers(180, 220).map(lambda n: n / 2),
})  # fmt: skip
steps = st.lists(
    st.tuples(
        st.sampled_from(TRADERS),
        st.sampled_from(["place", "place", "place", "cancel", "replace"]),
        order_terms,
    ),
    min_size=15,
    max_size=40,
)


def totals(sim: ExberrySimulator) -> defaultdict[int, Decimal]:
    found: defaultdict[int, Decimal] = defaultdict(Decimal)
    for account in sim.ledger.accounts.values():
        for asset in set(account.available) | set(account.reserved):
            found[asset] += account.available.get(asset, 0) + account.reserved.get(asset, 0)
    return found


def order_of(sim: ExberrySimulator, mp: str, terms: dict[str, Any]) -> dict[str, Any]:
    """The order a step places: market orders IOC/FOK, stop limits a stop at the price."""
    d = {"instrument": "BTC", "quantity": terms["quantity"], "side": terms["side"],
         "orderType": terms["orderType"], "mpOrderId": len(sim.orders) + 1}  # fmt: skip
    if terms["orderType"] == "Market":
        d["timeInForce"] = "IOC" if terms["timeInForce"] == "GTC" else terms["timeInForce"]
    else:
        d["timeInForce"] = terms["timeInForce"]
    if terms["orderType"] in ("Limit", "StopLimit"):
        d["price"] = terms["price"]
    if terms["orderType"] == "StopLimit":
        d["stopPrice"], d["timeInForce"] = terms["price"], "GTC"
    return d


@settings(max_examples=100, deadline=None)
@given(steps)
def test_random_trading_conserves_assets_and_holds_only_for_open_orders(
    script: list[tuple[str, str, dict[str, Any]]],
) -> None:
    sim = ExberrySimulator()
    sim.ledger.settle_trades("BTC", base=GOLD, quote=USD)
    for number, mp in enumerate(TRADERS, 1):
        sim.ledger.open_account(mp, number, account_id=number, balances={USD: 300, GOLD: 4})
    start, refusals = totals(sim), Counter[int]()
    for mp, action, terms in script:
        mine = [
            o
            for o in sim.orders.values()
            if o["_mp"] == mp and o["status"] in ("Active", "Suspended")
        ]
        try:
            if action == "place" or not mine:
                sim.place_order(mp, order_of(sim, mp, terms))
            elif action == "cancel":
                sim.cancel_order(mp, {"instrument": "BTC", "orderId": mine[0]["orderId"]})
            elif mine[0]["price"] is not None:
                sim.replace_order(mp, {
                    "instrument": "BTC", "orderId": mine[0]["orderId"],
                    "quantity": mine[0]["filledQuantity"] + terms["quantity"],
                    "price": terms["price"], "stopPrice": mine[0]["stopPrice"],
                })  # fmt: skip
        except Fail as refused:  # refusals change nothing; only these are expected
            refusals[refused.code] += 1
        assert set(refusals) <= {1001, 1019, 2000}, refusals
        assert totals(sim) == start
        held: defaultdict[tuple[int, int], Decimal] = defaultdict(Decimal)
        for order in sim.orders.values():
            if order["status"] in ("Active", "Suspended"):
                ledger_account, asset, amount = sim.ledger.holds.get(order["orderId"], (0, 0, 0))
                left = Decimal(repr(order["remainingOpenQuantity"]))
                if order["side"] == "Sell":
                    assert (asset, amount) == (GOLD, left), order
                elif order["price"] is not None:
                    assert (asset, amount) == (USD, left * Decimal(repr(order["price"]))), order
                held[(ledger_account, asset)] += amount
            else:
                assert order["orderId"] not in sim.ledger.holds
        # Each account holds its start plus what its trades bought, less what they sold.
        expected = {mp: {USD: Decimal(300), GOLD: Decimal(4)} for mp in TRADERS}
        filled: defaultdict[int, Decimal] = defaultdict(Decimal)
        for _, kind, owner, trade in sim.events:
            if kind == "trades" and owner is not None:
                filled[trade["orderId"]] += Decimal(repr(trade["quantity"]))
                sign = 1 if trade["side"] == "Buy" else -1
                quantity = Decimal(repr(trade["quantity"]))
                expected[owner][GOLD] += sign * quantity
                expected[owner][USD] -= sign * quantity * Decimal(repr(trade["price"]))
        for order in sim.orders.values():  # every fill traded, FOK all or nothing
            assert filled[order["orderId"]] == Decimal(repr(order["filledQuantity"]))
            if order["timeInForce"] == "FOK":
                assert order["filledQuantity"] in (0, order["quantity"])
        for account in sim.ledger.accounts.values():
            assert {
                asset: account.available.get(asset, 0) + account.reserved.get(asset, 0)
                for asset in (USD, GOLD)
            } == expected[account.mp]
            for asset in (USD, GOLD):
                assert account.available.get(asset, 0) >= 0
                key = (account.ledger_account_id, asset)
                assert account.reserved.get(asset, Decimal(0)) == held[key]
