"""Typed wrappers for ``private/*`` trading and account methods (REFERENCE 7, 8)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar, overload

from .._catalogue import max_length
from .._core.streams import ErrorCallback, Policy
from .._core.values import call_arguments, check_length
from .._errors import ClientError, OrderOutcomeUnknown
from .._subscriptions import Callback, Subscription
from ..channels import Channel
from ..models import (
    OrderResponse,
    OrderType,
    OtocoOrderParam,
    TimeInForce,
    Trigger,
)
from . import _subscribe
from ._reconcile import DEFAULT_SETTLE, Reconciliation, reconcile
from .generated import PrivateMethods

__all__ = ["PrivateAPI"]

Advanced = Literal["usd", "implv"]
LinkedOrderType = Literal[
    "one_triggers_other", "one_cancels_other", "one_triggers_one_cancels_other"
]
TriggerFillCondition = Literal["first_hit", "complete_fill", "incremental"]

T = TypeVar("T")

_NEEDS_PRICE = frozenset({"limit", "stop_limit", "take_limit"})
_MAX_LABEL = max_length("private/buy", "label")
"""An order's label limit (buy, sell and edit_by_label state the same)."""


class PrivateAPI(PrivateMethods):
    """``client.private``: every ``private/*`` method (credentials required).

    Each method is named after the Deribit method it calls; most are generated from the
    catalogue (``_api/generated.py``), the ones below carry hand-written logic. Order
    mutations whose reply is lost raise :class:`~deribit_client.OrderOutcomeUnknown` and
    are never re-sent. ``cancel_all*`` and ``cancel_by_label`` return the number of
    cancelled orders, or with ``detailed=True`` a list of
    :class:`~deribit_client.models.CancelReport`.
    """

    __slots__ = ()

    # -- orders -------------------------------------------------------------------------

    async def buy(
        self,
        instrument_name: str,
        *,
        amount: float | Decimal | None = None,
        contracts: float | Decimal | None = None,
        type: OrderType | None = None,
        label: str | None = None,
        price: float | Decimal | None = None,
        time_in_force: TimeInForce | None = None,
        display_amount: float | Decimal | None = None,
        post_only: bool | None = None,
        reject_post_only: bool | None = None,
        reduce_only: bool | None = None,
        trigger_price: float | Decimal | None = None,
        trigger_offset: float | Decimal | None = None,
        trigger: Trigger | None = None,
        advanced: Advanced | None = None,
        mmp: bool | None = None,
        valid_until: int | None = None,
        linked_order_type: LinkedOrderType | None = None,
        trigger_fill_condition: TriggerFillCondition | None = None,
        otoco_config: Sequence[OtocoOrderParam] | None = None,
        timeout: float | None = None,
    ) -> OrderResponse:
        """``private/buy``: place a buy order. ``amount`` or ``contracts`` is required;
        ``price`` too for limit types. Returns the order and any immediate fills."""
        params = _order_params(call_arguments())
        return await self._caller.invoke("private/buy", params, OrderResponse, timeout)

    async def sell(
        self,
        instrument_name: str,
        *,
        amount: float | Decimal | None = None,
        contracts: float | Decimal | None = None,
        type: OrderType | None = None,
        label: str | None = None,
        price: float | Decimal | None = None,
        time_in_force: TimeInForce | None = None,
        display_amount: float | Decimal | None = None,
        post_only: bool | None = None,
        reject_post_only: bool | None = None,
        reduce_only: bool | None = None,
        trigger_price: float | Decimal | None = None,
        trigger_offset: float | Decimal | None = None,
        trigger: Trigger | None = None,
        advanced: Advanced | None = None,
        mmp: bool | None = None,
        valid_until: int | None = None,
        linked_order_type: LinkedOrderType | None = None,
        trigger_fill_condition: TriggerFillCondition | None = None,
        otoco_config: Sequence[OtocoOrderParam] | None = None,
        timeout: float | None = None,
    ) -> OrderResponse:
        """``private/sell``: place a sell order (parameters as :meth:`buy`)."""
        params = _order_params(call_arguments())
        return await self._caller.invoke("private/sell", params, OrderResponse, timeout)

    async def edit(
        self,
        order_id: str,
        *,
        amount: float | Decimal | None = None,
        contracts: float | Decimal | None = None,
        price: float | Decimal | None = None,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        reject_post_only: bool | None = None,
        advanced: Advanced | None = None,
        trigger_price: float | Decimal | None = None,
        trigger_offset: float | Decimal | None = None,
        mmp: bool | None = None,
        valid_until: int | None = None,
        display_amount: float | Decimal | None = None,
        timeout: float | None = None,
    ) -> OrderResponse:
        """``private/edit``: change amount and/or price of an open order."""
        params = call_arguments()
        _require_change(params)
        return await self._caller.invoke("private/edit", params, OrderResponse, timeout)

    async def edit_by_label(
        self,
        instrument_name: str,
        label: str,
        *,
        amount: float | Decimal | None = None,
        contracts: float | Decimal | None = None,
        price: float | Decimal | None = None,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        reject_post_only: bool | None = None,
        advanced: Advanced | None = None,
        trigger_price: float | Decimal | None = None,
        mmp: bool | None = None,
        valid_until: int | None = None,
        timeout: float | None = None,
    ) -> OrderResponse:
        """``private/edit_by_label``: edit the one open order with ``label`` on the
        instrument (13032 ``non_unique_order_label`` if several match)."""
        params = call_arguments()
        check_length("label", label, _MAX_LABEL)
        _require_change(params)
        return await self._caller.invoke("private/edit_by_label", params, OrderResponse, timeout)

    async def close_position(
        self,
        instrument_name: str,
        type: Literal["limit", "market"],
        *,
        price: float | Decimal | None = None,
        timeout: float | None = None,
    ) -> OrderResponse:
        """``private/close_position``: a reduce-only order for the whole position."""
        if type == "limit" and price is None:
            raise ClientError("close_position with type='limit' needs a price")
        params = {"instrument_name": instrument_name, "type": type, "price": price}
        return await self._caller.invoke("private/close_position", params, OrderResponse, timeout)

    # -- after OrderOutcomeUnknown --------------------------------------------------------

    async def reconcile(
        self,
        error: OrderOutcomeUnknown,
        *,
        settle: float = DEFAULT_SETTLE,
        timeout: float | None = None,
    ) -> Reconciliation:
        """Find out what became of an order mutation whose outcome is unknown.

        Waits until the client is ready (a reconnect may be under way), then looks the
        order up until it shows or until ``settle`` seconds have passed since the outcome
        became unknown: the request may still be in flight and execute late. A placement
        is found by its ``label`` (open orders and recent history of its instrument, order
        state by label); an ``edit``/``cancel`` by its ``order_id``, an ``edit_by_label``
        by its label (the instrument's last updated order with it).

        Args:
            error: the :class:`~deribit_client.OrderOutcomeUnknown` that was raised.
            settle: seconds after the loss within which a request in flight executes.
            timeout: per lookup (and for waiting for the connection).

        Returns:
            ``Reconciliation(order, ...)``; ``placed`` False means the order definitely was
            not placed and may be sent again.

        Raises:
            ClientError: the order had no label, or the method cannot be reconciled
                (withdrawals and transfers: follow ``error.advice``).
            NotReadyError, ConnectionLost, ClientClosed: the connection did not come back.
        """
        return await reconcile(self._caller, error, settle=settle, timeout=timeout)

    # -- session ------------------------------------------------------------------------

    async def logout(
        self, *, invalidate_token: bool | None = None, timeout: float | None = None
    ) -> None:
        """``private/logout`` (WebSocket only): the server closes the socket; the client
        closes too and does not reconnect. Does not trigger cancel-on-disconnect."""
        params = {"invalidate_token": invalidate_token}
        await self._caller.invoke("private/logout", params, Any, timeout)

    # -- subscriptions ------------------------------------------------------------------

    @overload
    async def subscribe(
        self,
        channels: Sequence[Channel[T]],
        *,
        label: str | None = None,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        timeout: float | None = None,
    ) -> Subscription[T]: ...

    @overload
    async def subscribe(
        self,
        channels: Sequence[str],
        *,
        label: str | None = None,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        timeout: float | None = None,
    ) -> Subscription[Any]: ...

    async def subscribe(
        self,
        channels: Sequence[str],
        *,
        label: str | None = None,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        timeout: float | None = None,
    ) -> Subscription[Any]:
        """``private/subscribe`` (WebSocket only): subscribe to channels, private or public,
        and return the started subscriber of their notifications.

        The same as ``await client.subscribe(*channels, label=label)``: resubscribed after
        reconnects; ``await sub.close()`` (or :meth:`unsubscribe`) ends it.

        Args:
            channels: A list of channels to subscribe to.
            label: Optional label which will be added to notifications of private channels
                (max 16 characters); read it as ``Notification.label``.
            policy: what happens when the subscriber's queue is full (default ``"error"``
                for ``user.*`` channels).
            maxsize: queue bound, markers included.
            callback: called with each item instead of iterating.
            on_error: called with the exception that ends the subscriber.
            timeout: seconds for Deribit's confirmation (default: the client's).

        Raises:
            SubscriptionRejected: Deribit left some channels out; nothing stays subscribed.
        """
        return await _subscribe.subscribe(
            self._caller, "private/subscribe", channels, policy=policy, maxsize=maxsize,
            callback=callback, on_error=on_error, label=label, timeout=timeout,
        )  # fmt: skip

    async def unsubscribe(
        self, channels: Sequence[str], *, timeout: float | None = None
    ) -> list[str]:
        """``private/unsubscribe``: stop these channels for every subscriber of this client
        (a subscriber left without channels ends its iteration).

        Args:
            channels: A list of channels to unsubscribe from.
            timeout: seconds for the reply (default: the client's).

        Returns:
            The channels unsubscribed; channels that were not subscribed are left out.
        """
        return await _subscribe.unsubscribe(self._caller, "private/unsubscribe", channels, timeout)

    async def unsubscribe_all(self, *, timeout: float | None = None) -> str:
        """``private/unsubscribe_all``: unsubscribe from every channel; every subscriber of
        this client ends its iteration. Returns ``"ok"``."""
        return await _subscribe.unsubscribe_all(self._caller, "private/unsubscribe_all", timeout)


def _require_change(params: dict[str, Any]) -> None:
    if (
        params.get("amount") is None
        and params.get("contracts") is None
        and params.get("price") is None
    ):
        raise ClientError("edit needs a new amount, contracts and/or price")


def _order_params(params: dict[str, Any]) -> dict[str, Any]:
    """An order wrapper's arguments, checked: an amount, a price and trigger where the
    order type needs them, the flags only in the combinations Deribit's parameter
    descriptions allow (``post_only`` on good-til-cancelled limit orders,
    ``reject_post_only`` with it, ``mmp`` on limit orders, linked orders with their
    config), a label Deribit takes."""
    if params["amount"] is None and params["contracts"] is None:
        raise ClientError("an order needs amount or contracts")
    order_type = params["type"] or "limit"
    if order_type in _NEEDS_PRICE and params["price"] is None:
        raise ClientError(f"a {order_type} order needs a price")
    if order_type.startswith(("stop", "take")) and params["trigger_price"] is None:
        raise ClientError(f"a {order_type} order needs trigger_price (and trigger)")
    if order_type == "trailing_stop" and params["trigger_offset"] is None:
        raise ClientError("a trailing_stop order needs trigger_offset (and trigger)")
    if params["post_only"]:
        tif = params["time_in_force"] or "good_til_cancelled"
        if order_type not in _NEEDS_PRICE or tif != "good_til_cancelled":
            raise ClientError(
                f"post_only is valid on good_til_cancelled limit orders only, not on a"
                f" {tif} {order_type} order"
            )
    if params["reject_post_only"] and not params["post_only"]:
        raise ClientError("reject_post_only is valid only with post_only=True")
    if params["mmp"] and order_type != "limit":
        raise ClientError(f"mmp is valid on limit orders only, not on a {order_type} order")
    linked = params["linked_order_type"] is not None
    if linked != (params["otoco_config"] is not None):
        raise ClientError("linked_order_type and otoco_config go together")
    if params["trigger_fill_condition"] is not None and not linked:
        raise ClientError("trigger_fill_condition is valid only with linked_order_type")
    check_length("label", params["label"], _MAX_LABEL)
    return params
