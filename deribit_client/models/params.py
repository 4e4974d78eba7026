"""The objects some methods take as parameters, as ``TypedDict``s named ``...Param``: plain
dicts at run time (write them as dict literals), checked by a type checker.

Deribit's spec types these parameters only as "JSON string containing array of objects";
their members come from the method descriptions and request examples (REFERENCE 7.10).
Where the reference is unsure of a member (``?``), it is optional here. The spec's examples
sometimes write numbers as strings (``"amount": "1"``), which Deribit accepts; these types
ask for numbers: a float, or a ``Decimal``, which goes out as a JSON number with its exact
digits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NotRequired, Required, TypedDict

from .trading import Direction, OrderType, TimeInForce, Trigger

__all__ = [
    "BlockTradeLegParam",
    "ClientInfoParam",
    "DepositIdParam",
    "HedgeParam",
    "LegParam",
    "MassQuoteParam",
    "OriginatorParam",
    "OtocoOrderParam",
    "PositionMoveParam",
    "QuoteSideParam",
    "RfqLegParam",
    "RfqQuoteLegParam",
    "TradeAllocationParam",
]


class LegParam(TypedDict):
    """One leg of a structure by amount: ``create_combo``'s ``trades``, ``get_leg_prices``'
    and ``create_block_rfq``'s ``legs``."""

    instrument_name: str
    amount: float | Decimal
    direction: Direction


class BlockTradeLegParam(TypedDict):
    """One trade of a block trade (``verify_block_trade``, ``execute_block_trade``,
    ``simulate_block_trade``); ``direction`` is always the maker's."""

    instrument_name: str
    price: float | Decimal
    amount: float | Decimal
    direction: Direction


class RfqLegParam(TypedDict):
    """One leg of a Block RFQ by ratio, as ``accept_block_rfq`` takes it."""

    instrument_name: str
    ratio: float | Decimal
    direction: Direction


class RfqQuoteLegParam(RfqLegParam):
    """One leg of a Block RFQ quote (``add_block_rfq_quote``, ``edit_block_rfq_quote``):
    a ratio leg with its price."""

    price: float | Decimal


class HedgeParam(TypedDict):
    """A Block RFQ's hedge leg (one at most): ``hedge`` of the Block RFQ methods."""

    instrument_name: str
    direction: Direction
    price: float | Decimal
    amount: float | Decimal


class ClientInfoParam(TypedDict):
    """A broker client an allocation goes to."""

    client_id: int
    client_link_id: int


class TradeAllocationParam(TypedDict, total=False):
    """A share of a Block RFQ for one (sub)account (``user_id``) or one broker client
    (``client_info``): ``create_block_rfq``'s ``trade_allocations``."""

    user_id: int
    client_info: ClientInfoParam
    amount: Required[float | Decimal]


class QuoteSideParam(TypedDict, total=False):
    """One side of a mass quote; without ``amount`` it moves the resting quote of that side
    to ``price`` and keeps its amount (Deribit's Mass Quotes Specifications)."""

    price: Required[float | Decimal]
    amount: float | Decimal
    post_only: bool
    reject_post_only: bool


class MassQuoteParam(TypedDict, total=False):
    """One quote of ``mass_quote``'s ``quotes``: a bid, an ask or both for an instrument
    within a quote set."""

    instrument_name: Required[str]
    quote_set_id: Required[str]
    bid: QuoteSideParam
    ask: QuoteSideParam


class PositionMoveParam(TypedDict, total=False):
    """One position of ``move_positions``' ``trades``; without ``price`` it moves at the
    mark price."""

    instrument_name: Required[str]
    amount: Required[float | Decimal]
    price: float | Decimal


class OtocoOrderParam(TypedDict, total=False):
    """One order of ``buy``/``sell``'s ``otoco_config``, placed or cancelled as the primary
    fills (``linked_order_type``); without ``direction`` and ``amount`` it has the primary's
    amount and closes what the primary opens (in an OCO pair, trades the primary's way)."""

    amount: float | Decimal
    direction: Direction
    type: OrderType
    label: str
    price: float | Decimal
    reduce_only: bool
    time_in_force: TimeInForce
    post_only: bool
    reject_post_only: bool
    trigger_price: float | Decimal
    trigger_offset: float | Decimal
    trigger: Trigger


class DepositIdParam(TypedDict):
    """The deposit ``set_clearance_originator`` names an originator for: its ``address``
    and ``transaction_id`` (as ``tx_hash``) from ``get_deposits``. ``user_id`` is the
    account's (``get_account_summary(..., extended=True).id``); the reference is unsure
    the server needs it and deposits do not carry it, so it may be left out."""

    currency: str
    user_id: NotRequired[int]
    address: str
    tx_hash: str


class OriginatorParam(TypedDict, total=False):
    """Who sent a deposit (travel rule): a person (names) or a company."""

    is_personal: Required[bool]
    first_name: str
    last_name: str
    company_name: str
    address: str
