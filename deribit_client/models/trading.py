"""Orders, trades and cancel execution reports (REFERENCE 7.1, 7.2, 7.8)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from .._errors import RpcError, error_from_code
from ._base import DeribitObject

__all__ = [
    "CancelError",
    "CancelFailure",
    "CancelReport",
    "CancelSuccess",
    "Direction",
    "Order",
    "OrderResponse",
    "OrderType",
    "Price",
    "PublicTrade",
    "TimeInForce",
    "TradesPage",
    "Trigger",
    "UserTrade",
    "UserTradesPage",
    "cancel_failures",
    "cancelled_orders",
]

Direction = Literal["buy", "sell"]
OrderType = Literal[
    "limit",
    "market",
    "stop_limit",
    "stop_market",
    "take_limit",
    "take_market",
    "market_limit",
    "trailing_stop",
]
TimeInForce = Literal["good_til_cancelled", "good_til_day", "fill_or_kill", "immediate_or_cancel"]
Trigger = Literal["index_price", "mark_price", "last_price"]
"""What a trigger order watches."""
Price = float | Literal["market_price"]
"""An order price: a number, or ``"market_price"`` for open trigger market orders."""


class Order(DeribitObject):
    """An order as returned by trading methods and ``user.orders.*`` (REFERENCE 7.1).

    ``order_state``/``order_type`` are plain strings: Deribit reports more values than it
    accepts on input (``archive``, ``untriggered``, ``trailing_stop``...).
    """

    order_id: str
    instrument_name: str
    direction: Direction
    order_state: str
    order_type: str
    amount: float | None = None
    price: Price | None = None
    contracts: float | None = None
    filled_amount: float | None = None
    average_price: float | None = None
    time_in_force: str | None = None
    label: str | None = None
    creation_timestamp: int | None = None
    last_update_timestamp: int | None = None
    post_only: bool | None = None
    reject_post_only: bool | None = None
    reduce_only: bool | None = None
    api: bool | None = None
    web: bool | None = None
    mobile: bool | None = None
    app_name: str | None = None
    is_liquidation: bool | None = None
    is_rebalance: bool | None = None
    risk_reducing: bool | None = None
    replaced: bool | None = None
    auto_replaced: bool | None = None
    mmp: bool | None = None
    mmp_cancelled: bool | None = None
    mmp_group: str | None = None
    cancel_reason: str | None = None
    original_order_type: str | None = None
    display_amount: float | None = None
    refresh_amount: float | None = None
    max_show: float | None = None
    advanced: str | None = None
    implv: float | None = None
    usd: float | None = None
    trigger: str | None = None
    trigger_price: float | None = None
    trigger_offset: float | None = None
    trigger_reference_price: float | None = None
    triggered: bool | None = None
    trigger_order_id: str | None = None
    oto_order_ids: list[str] | None = None
    trigger_fill_condition: str | None = None
    oco_ref: str | None = None
    primary_order_id: str | None = None
    is_secondary_oto: bool | None = None
    is_primary_otoco: bool | None = None
    block_trade: bool | None = None
    quote: bool | None = None
    quote_id: str | None = None
    quote_set_id: str | None = None


class PublicTrade(DeribitObject):
    """A trade as seen by everyone (``trades.*``, ``get_last_trades_*``)."""

    trade_id: str
    instrument_name: str
    timestamp: int
    direction: Direction
    price: float
    amount: float
    trade_seq: int | None = None
    contracts: float | None = None
    tick_direction: int | None = None
    index_price: float | None = None
    mark_price: float | None = None
    iv: float | None = None
    liquidation: str | None = None
    block_trade_id: str | None = None
    block_trade_leg_count: int | None = None
    block_rfq_id: int | None = None
    combo_id: str | None = None
    combo_trade_id: str | float | None = None
    """The combo trade this leg trade is part of: a number in Deribit's spec, the combo
    trade's ``trade_id`` string in its ``user.combo_trades`` example; both decode."""


class UserTrade(PublicTrade):
    """One of your own fills: public trade fields plus order, fee and liquidity."""

    order_id: str | None = None
    order_type: str | None = None
    liquidity: Literal["M", "T"] | None = None
    fee: float | None = None
    fee_currency: str | None = None
    state: str | None = None
    label: str | None = None
    reduce_only: bool | None = None
    post_only: bool | None = None
    mmp: bool | None = None
    risk_reducing: bool | None = None
    self_trade: bool | None = None
    api: bool | None = None
    advanced: str | None = None
    underlying_price: float | None = None
    profit_loss: float | None = None
    matching_id: Any = None
    legs: list[UserTrade] | None = None
    """A combo trade's trades in its legs (``user.combo_trades.*``, combo orders)."""
    quote_id: str | None = None
    quote_set_id: str | None = None
    block_rfq_quote_id: int | None = None
    trade_allocations: list[Any] | None = None


class TradesPage(DeribitObject):
    """``{trades, has_more}`` pages of public trades."""

    trades: list[PublicTrade]
    has_more: bool = False


class UserTradesPage(DeribitObject):
    """``{trades, has_more}`` pages of your own trades."""

    trades: list[UserTrade]
    has_more: bool = False


class OrderHistoryPage(DeribitObject):
    """``get_order_history_*`` with ``with_continuation=True``: a page of orders and the
    token for the next one (``None`` on the last page). Without it the result is the
    bare list of orders; the wrappers decode both."""

    orders: list[Order]
    continuation: str | None = None


class OrderResponse(DeribitObject):
    """``private/buy|sell|edit|edit_by_label|close_position`` result: the order and its fills."""

    order: Order
    trades: list[UserTrade] = []


class CancelError(DeribitObject):
    """The ``error`` member of an erroneous cancel execution report."""

    code: int
    message: str = ""
    data: Any = None


class CancelReport:
    """One item of a ``detailed=True`` cancel result: :class:`CancelSuccess` or
    :class:`CancelFailure` (REFERENCE 7.8). A mixed list is normal (partial failure).
    """

    __slots__ = ()

    @classmethod
    def _from_json(cls, obj: Any) -> CancelSuccess | CancelFailure:
        # Untagged on the wire: an ``error`` member marks the erroneous form.
        if not isinstance(obj, dict):
            raise ValueError("expected a cancel execution report object")
        if "error" in obj:
            return msgspec.convert(obj, CancelFailure)
        if "result" not in obj and "order" in obj:
            # The 2026 overview article shows items as {"order": {...}} (?): accept it too.
            obj = {**obj, "result": [obj["order"]]}
        return msgspec.convert(obj, CancelSuccess)


class CancelSuccess(DeribitObject, CancelReport):
    """A positive report: the orders one internal sub-request (currency x type x book)
    cancelled."""

    currency: str | None = None
    type: str | None = None
    """``"trigger"`` or ``"limit"``."""
    instrument_name: str | None = None
    result: list[Order] = []


class CancelFailure(DeribitObject, CancelReport):
    """An erroneous report, e.g. ``10047 matching_engine_queue_full`` for one currency.

    ``instrument_name`` is present only when the error concerns one instrument.
    """

    error: CancelError
    currency: str | None = None
    type: str | None = None
    instrument_name: str | None = None

    def exception(self, method: str | None = None) -> RpcError:
        """The typed :class:`~deribit_client.RpcError` for :attr:`error`."""
        return error_from_code(self.error.code, self.error.message, self.error.data, method=method)


def cancelled_orders(reports: list[CancelReport]) -> list[Order]:
    """Every order the positive reports of a detailed cancel result list."""
    return [order for r in reports if isinstance(r, CancelSuccess) for order in r.result]


def cancel_failures(reports: list[CancelReport]) -> list[CancelFailure]:
    """The erroneous reports of a detailed cancel result."""
    return [r for r in reports if isinstance(r, CancelFailure)]
