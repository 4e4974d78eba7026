"""Nebula's Trading App (broker) API on the simulated exchange (REFERENCE section 11).

A trader opens a session with a JWT (``v1/broker.oms/createSession``, one of the
simulator's ``tokens``) and trades as that participant on the same matching engine: the
broker acknowledges ``placeOrder``/``cancelOrder`` with ``sig: 1`` only, and what became
of them arrives on ``v1/broker.account/orders`` (``Added``, ``Executed``, ``Cancelled``,
or ``Rejected`` with the exchange's ``errorCode``, except the broker's own ``99``
"Instrument trading is halted" and ``101`` "orderId not found" where its samples show
them). A malformed request fails with the broker's own codes: ``100`` "Missing or
invalid parameter: X", ``101`` "dateTo must be greater than dateFrom". Balances and
wallet transactions come from the participant's ledger account.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Protocol

from ._exberry_ledger import LedgerDesk
from ._exberry_rules import Fail, Participant

__all__ = ["BROKER_Q", "BrokerDesk", "invalid_parameter"]

BROKER_Q = "v1/broker"
_SIDES = ("Buy", "Sell")
_ORDER_TYPES = ("Limit", "Market")
_TIFS = ("GTC", "IOC", "FOK", "GTD", "DAY")
_OPEN = ("Active", "Suspended")
_EVENTS = {"Add": "Added", "Executed": "Executed", "Cancelled": "Cancelled"}
"""Execution-report kinds the broker passes on, by its name for them."""
_WALLET_TYPES = ("Deposit", "Withdrawal", "Trade", "Fee")
_DEFAULT_LIMIT = 25
_OWN_CODES = {
    1009: Fail(99, "Instrument trading is halted"),
    1100: Fail(101, "orderId not found"),
}
"""The exchange's refusals the broker words its own way (its Rejected samples)."""


class Exchange(Protocol):
    """What the broker uses of the simulated exchange."""

    orders: dict[int, dict[str, Any]]
    ledger: LedgerDesk

    @property
    def events(self) -> Iterable[tuple[int, str, str | None, dict[str, Any]]]: ...

    def participant(self, key: str) -> Participant: ...
    def place_order(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]: ...
    def cancel_order(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]: ...


def invalid_parameter(name: str) -> Fail:
    """The broker's refusal of a request member (``100``)."""
    return Fail(100, f"Missing or invalid parameter: {name}", "400")


def _number(value: object) -> bool:
    return type(value) in (int, float) and value == value  # not NaN


class BrokerDesk:
    """The broker API's requests, on behalf of the trader of each session."""

    def __init__(self, exchange: Exchange, write: Callable[[str, dict[str, Any]], None]) -> None:
        self._exchange = exchange
        self._write = write  # (participant, broker order event) -> its orders streams
        self._ids = itertools.count(1_000_000_000)  # the exchange's mpOrderId, per order
        self._filled: dict[int, float] = {}  # orderId -> value filled (for filledPrice)

    # -- trading --------------------------------------------------------------------------

    def place_order(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``placeOrder``: checked as the broker checks (100), then placed on the
        exchange; the exchange's refusal is a ``Rejected`` event, not an error."""
        for name in ("orderType", "side", "instrument", "quantity"):
            if name not in d:
                raise invalid_parameter(name)
        order_type, side, tif = d["orderType"], d["side"], d.get("timeInForce", "GTC")
        if order_type not in _ORDER_TYPES:
            raise invalid_parameter("orderType")
        if side not in _SIDES:
            raise invalid_parameter("side")
        if tif not in _TIFS:
            raise invalid_parameter("timeInForce")
        if type(d["instrument"]) is not str:
            raise invalid_parameter("instrument")
        if not _number(d["quantity"]) or d["quantity"] <= 0:
            raise invalid_parameter("quantity")
        price = d.get("price")
        if (order_type == "Limit") != (price is not None) or (
            price is not None and not _number(price)
        ):
            raise invalid_parameter("price")
        terms: dict[str, Any] = {k: d[k] for k in ("orderType", "side", "instrument", "quantity")}
        terms.update(timeInForce=tif, mpOrderId=next(self._ids))
        if price is not None:
            terms["price"] = price
        try:
            self._exchange.place_order(mp, terms)
        except Fail as refused:
            event = {k: v for k, v in terms.items() if k != "mpOrderId"}
            self._write(mp, self._rejected(mp, event, refused))
        return []

    def cancel_order(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``cancelOrder`` by ``instrument`` and ``orderId``; an order it cannot cancel
        is a ``Rejected`` event (101 "orderId not found")."""
        if type(d.get("instrument")) is not str:
            raise invalid_parameter("instrument")
        if type(d.get("orderId")) is not int:
            raise invalid_parameter("orderId")
        try:
            self._exchange.cancel_order(
                mp, {"instrument": d["instrument"], "orderId": d["orderId"]}
            )
        except Fail as refused:
            event = {"orderId": d["orderId"], "instrument": d["instrument"]}
            self._write(mp, self._rejected(mp, event, refused))
        return []

    def _rejected(self, mp: str, event: dict[str, Any], refused: Fail) -> dict[str, Any]:
        """The ``Rejected`` event of a request the exchange refused."""
        refused = _OWN_CODES.get(refused.code, refused)
        return {
            "messageType": "Rejected", **event, **self._who(mp),
            "errorCode": refused.code, "errorMessage": refused.message,
        }  # fmt: skip

    # -- the orders stream ----------------------------------------------------------------

    def orders_snapshot(self, mp: str, instrument: str | None) -> list[dict[str, Any]]:
        """The open orders (``ActiveOrder`` each) and ``SnapshotEnd``."""
        open_orders = [
            {"messageType": "ActiveOrder", **self._order(order)}
            for order in self._exchange.orders.values()
            if order["_mp"] == mp
            and order["status"] in _OPEN
            and instrument in (None, order["instrument"])
        ]
        return [*open_orders, {"messageType": "SnapshotEnd"}]

    def order_event(self, report: dict[str, Any]) -> dict[str, Any] | None:
        """The broker's event for an execution report of one of its trader's orders
        (``None`` for the kinds it does not pass on); call it once per report."""
        kind = _EVENTS.get(report.get("messageType", ""))
        order = self._exchange.orders.get(report.get("orderId", -1))
        if kind is None or order is None:
            return None
        if kind == "Executed":  # called once per report: the average price follows it
            value = report.get("lastFilledQuantity", 0) * report.get("lastFilledPrice", 0)
            self._filled[order["orderId"]] = self._filled.get(order["orderId"], 0.0) + value
            if len(self._filled) > 2 * len(self._exchange.orders) + 100:  # pruned orders
                self._filled = {k: v for k, v in self._filled.items() if k in self._exchange.orders}
        event = {"messageType": kind, **self._order(order)}
        if kind == "Executed":
            event.update(
                lastFilledQuantity=report.get("lastFilledQuantity"),
                lastFilledPrice=report.get("lastFilledPrice"),
                matchId=report.get("matchId"),
            )
        elif kind == "Cancelled":
            event["cancelledQuantity"] = report.get("cancelledQuantity")
        return {k: v for k, v in event.items() if v is not None}

    def _order(self, order: dict[str, Any]) -> dict[str, Any]:
        filled = order["filledQuantity"]
        view = {
            "orderId": order["orderId"], "orderType": order["orderType"],
            "side": order["side"], "instrument": order["instrument"],
            "quantity": order["quantity"], "price": order["price"],
            "timeInForce": order["timeInForce"],
            "createdAt": order["orderTimestamp"] // 1_000_000,  # ms, as most samples
            "filledQuantity": filled, "remainingOpenQuantity": order["remainingOpenQuantity"],
            "removedQuantity": 0,
            "filledPrice": self._filled.get(order["orderId"], 0.0) / filled if filled else 0,
            **self._who(order["_mp"]),
        }  # fmt: skip
        return {k: v for k, v in view.items() if v is not None}

    def _who(self, mp: str) -> dict[str, Any]:
        participant = self._exchange.participant(mp)
        return {
            "user": str(participant.mp_id),
            "account": participant.mp_name,
            "accountId": participant.mp_id,
        }

    # -- balances -------------------------------------------------------------------------

    def ledger_account(self, mp: str) -> int | None:
        """The participant's ledger account (its first, by id), if it has one."""
        owned = [a.ledger_account_id for a in self._exchange.ledger.accounts.values() if a.mp == mp]
        return min(owned) if owned else None

    def balance_snapshot(self, mp: str) -> list[dict[str, Any]]:
        """The balances of ``mp``'s ledger account and ``SnapshotEnd``."""
        return [*self.balances(self.ledger_account(mp)), {"messageType": "SnapshotEnd"}]

    def balances(self, ledger_account_id: int | None) -> list[dict[str, Any]]:
        """One ``Balance`` per asset the account holds (free and locked)."""
        if ledger_account_id is None:
            return []
        return [
            {
                "messageType": "Balance",
                "asset": row["assetName"],
                "free": float(row["availableBalance"]),
                "locked": float(row["reservedBalance"]),
            }
            for row in self._exchange.ledger.snapshot(ledger_account_id)["balances"]
        ]

    # -- history --------------------------------------------------------------------------

    def orders_history(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``ordersHistory``: the trader's orders, newest first unless ``orderBy`` says
        ``Asc``, filtered by ``status``, ``instrument`` and ``dateFrom``/``dateTo``."""
        status = d.get("status")
        rows = [
            (order["orderTimestamp"] // 1_000_000_000, self._order(order))
            for order in self._exchange.orders.values()
            if order["_mp"] == mp and status in (None, order["status"])
        ]
        return self._page(d, rows, "orders")

    def trades_history(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``tradesHistory``: the trader's side of each of its trades."""
        account = self._exchange.participant(mp).mp_name
        rows = [
            (
                payload["timestamp"] // 1_000_000_000,
                {
                    "account": account,
                    "timestamp": payload["timestamp"] // 1_000_000,
                    "tradeId": payload["tradeId"],
                    "instrument": payload["instrument"],
                    "side": payload["side"],
                    "quantity": payload["quantity"],
                    "price": payload["price"],
                    "orderId": payload.get("orderId"),
                    "makerTaker": payload.get("makerTaker"),
                },
            )
            for _, kind, owner, payload in self._exchange.events
            if kind == "trades" and owner == mp and "tradeId" in payload
        ]
        return self._page(d, rows, "trades")

    def transactions(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``transactions``: the ledger movements of the trader's accounts, of ``types``."""
        types = d.get("types", list(_WALLET_TYPES))
        if not isinstance(types, list) or not all(t in _WALLET_TYPES for t in types):
            raise invalid_parameter("types")
        account = self._exchange.participant(mp).mp_name
        rows = []
        for row in self._exchange.ledger.transactions:
            if row["_mp"] != mp or row["transactionType"] not in types:
                continue
            link = row.get("linkId")
            rows.append((row["_timestamp"] // 1_000_000_000, {
                "id": f"sim-{row['transactionId']}", "type": row["transactionType"],
                "account": account, "asset": row["assetName"],
                "amount": str(Decimal(str(row["amount"]))),
                "ledgerReference": f"SIM{row['transactionId']:012d}",
                **({"internalReference": f"link|{link}"} if link is not None else {}),
                "timestamp": row["_timestamp"] // 1_000_000_000,
                "requestId": f"sim-request-{link if link is not None else row['transactionId']}",
            }))  # fmt: skip
        return self._page(d, rows, "transactions")

    def _page(
        self, d: dict[str, Any], rows: Iterable[tuple[int, dict[str, Any]]], key: str
    ) -> list[dict[str, Any]]:
        """The reply ``{key: [...], count}``: ``rows`` (``(epoch seconds, row)``) filtered
        by ``instrument`` (either spelling) and dates, ordered by time, ``limit`` (1-100,
        default 25) of them from ``offset``; ``count`` is the total."""
        instrument = d.get("instrument", d.get("istrument"))
        low, high = d.get("dateFrom"), d.get("dateTo")
        for name, value in (("dateFrom", low), ("dateTo", high)):
            if value is not None and type(value) is not int:
                raise invalid_parameter(name)
        if low is not None and high is not None and high <= low:
            raise Fail(101, "dateTo must be greater than dateFrom", "400")
        limit, offset = d.get("limit", _DEFAULT_LIMIT), d.get("offset", 0)
        if type(limit) is not int or not 1 <= limit <= 100:
            raise invalid_parameter("limit")
        if type(offset) is not int or offset < 0:
            raise invalid_parameter("offset")
        order_by = d.get("orderBy") or {}
        if not isinstance(order_by, dict) or order_by.get("direction", "Desc") not in (
            "Asc",
            "Desc",
        ):
            raise invalid_parameter("orderBy")
        kept = [
            (stamp, row)
            for stamp, row in rows
            if instrument in (None, row.get("instrument"))
            and (low is None or stamp >= low)
            and (high is None or stamp <= high)
        ]
        kept.sort(key=lambda item: item[0], reverse=order_by.get("direction", "Desc") == "Desc")
        return [{key: [row for _, row in kept[offset : offset + limit]], "count": len(kept)}]
