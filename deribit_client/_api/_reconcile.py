"""Reconciling an order mutation whose outcome is unknown, without ever creating a duplicate.

The procedure (the README's, in code): wait until the connection is ready; then look the order
up (open orders of its instrument, order state by label, recent order history of its
instrument) until it shows, or until ``settle`` seconds have passed since the outcome became
unknown. A request still in flight can execute after the timeout that reported it, so "not
placed" is only said once that window has passed with nothing found, or once the request's
own late reply (``error.late_reply``) says Deribit refused it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from .._core.connection import check_timeout
from .._core.errors import ClientError, RequestTimeout, TransportError
from .._errors import OrderOutcomeUnknown, RpcError
from .._rpc.methods import FOUND_WITH
from ..models import Order
from ._caller import Caller

__all__ = ["DEFAULT_SETTLE", "Reconciliation", "reconcile"]

DEFAULT_SETTLE = 5.0
"""Seconds after the loss within which a request still in flight is assumed to execute."""

_PLACEMENTS = frozenset({"private/buy", "private/sell"})
_BY_ORDER_ID = frozenset({"private/edit", "private/cancel"})
_HISTORY_DEPTH = 50
_MAX_LOOKUP_FAILURES = 5  # in a row


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What :meth:`PrivateAPI.reconcile` found.

    Attributes:
        order: the order as it is now (for ``buy``/``sell``: the one the lost request
            created; for ``edit``/``edit_by_label``/``cancel``: the order it targeted), or
            ``None`` when it does not exist.
        method: the order mutation that was reconciled.
    """

    order: Order | None
    method: str

    @property
    def placed(self) -> bool:
        """True when the order exists; False means definitely not placed: sending the
        order again cannot create a duplicate."""
        return self.order is not None


async def reconcile(
    caller: Caller,
    error: OrderOutcomeUnknown,
    *,
    settle: float = DEFAULT_SETTLE,
    timeout: float | None = None,
) -> Reconciliation:
    """See :meth:`deribit_client._api.private.PrivateAPI.reconcile`."""
    if not isinstance(error, OrderOutcomeUnknown):
        raise ClientError(f"reconcile() takes an OrderOutcomeUnknown, not {error!r}")
    settle = check_timeout(settle, "settle")
    method, params = error.method, error.params
    if method in _BY_ORDER_ID and isinstance(params.get("order_id"), str):
        await caller.wait_ready(timeout)
        order = await caller.invoke(
            "private/get_order_state", {"order_id": params["order_id"]}, Order, timeout
        )
        return Reconciliation(order, method)
    label, instrument = params.get("label"), params.get("instrument_name")
    if method == "private/edit_by_label" and isinstance(label, str) and isinstance(instrument, str):
        await caller.wait_ready(timeout)
        return Reconciliation(await _by_label(caller, instrument, label, timeout), method)
    if method not in _PLACEMENTS:
        what = error.advice if method in FOUND_WITH else "check open orders and positions"
        raise ClientError(f"{method} cannot be reconciled automatically: {what}")
    if not isinstance(label, str) or not label or not isinstance(instrument, str):
        raise ClientError(
            "an order without a label cannot be found again: give every order a unique "
            "label (e.g. a uuid) and reconcile by it"
        )
    direction = "buy" if method == "private/buy" else "sell"
    deadline = error.at + settle
    failures = 0
    while True:
        if _refused(error):
            return Reconciliation(None, method)
        await caller.wait_ready(timeout)
        try:
            found = await _find(caller, instrument, label, direction, timeout)
        except (TransportError, RequestTimeout):
            # The link went down under a lookup (lookups only read: safe to repeat); "not
            # placed" needs a complete lookup after the window, so try again once ready.
            failures += 1
            if failures >= _MAX_LOOKUP_FAILURES:
                raise
            continue
        failures = 0
        if found is not None:
            return Reconciliation(found, method)
        left = deadline - time.time()
        if left <= 0:
            return Reconciliation(None, method)
        await asyncio.sleep(min(left, max(0.25, settle / 8)))


def _refused(error: OrderOutcomeUnknown) -> bool:
    """Whether the request's reply came late with Deribit's refusal: then it placed nothing
    (a reply that did not decode proves nothing; a success is found by the lookups)."""
    late = error.late_reply
    return late is not None and isinstance(late.error, RpcError)


async def _find(
    caller: Caller, instrument: str, label: str, direction: str, timeout: float | None
) -> Order | None:
    lookups: list[tuple[str, dict[str, Any]]] = [
        ("private/get_open_orders_by_instrument", {"instrument_name": instrument}),
        ("private/get_order_state_by_label", {"currency": _currency(instrument), "label": label}),
        (
            "private/get_order_history_by_instrument",
            {"instrument_name": instrument, "count": _HISTORY_DEPTH, "include_unfinished": True},
        ),
    ]
    for method, params in lookups:
        orders = await caller.invoke(method, params, list[Order], timeout)
        for order in orders:
            if (
                order.label == label
                and order.instrument_name == instrument
                and order.direction == direction
            ):
                return order
    return None


async def _by_label(
    caller: Caller, instrument: str, label: str, timeout: float | None
) -> Order | None:
    """The order an ``edit_by_label`` targeted: of the instrument's orders with the label
    (Deribit edits one only while it is the only open one), the last updated."""
    orders = await caller.invoke(
        "private/get_order_state_by_label",
        {"currency": _currency(instrument), "label": label},
        list[Order],
        timeout,
    )
    return max(
        (order for order in orders if order.instrument_name == instrument),
        key=lambda order: order.last_update_timestamp or 0,
        default=None,
    )


def _currency(instrument: str) -> str:
    # "BTC-PERPETUAL" -> BTC; linear "ETH_USDC-PERPETUAL" and spot "BTC_USDC" -> USDC.
    base = instrument.split("-", 1)[0]
    return base.split("_", 1)[1] if "_" in base else base
