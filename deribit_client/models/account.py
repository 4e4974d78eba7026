"""Account, position, auth and wallet objects (REFERENCE 2.1, 7.6, 7.7, 7.9)."""

from __future__ import annotations

from typing import Any

from ._base import DeribitObject

__all__ = [
    "AccountSummaries",
    "AccountSummary",
    "AuthResult",
    "CancelOnDisconnect",
    "Deposit",
    "Fee",
    "FeeRate",
    "FeeValue",
    "Limits",
    "Position",
    "RateLimit",
    "Settlement",
    "Transfer",
    "Withdrawal",
]


class AuthResult(DeribitObject):
    """``public/auth`` (and exchange/fork token) result. Its repr hides the tokens."""

    access_token: str
    expires_in: int
    refresh_token: str | None = None
    token_type: str = "bearer"
    scope: str = ""
    """The scope actually granted; it may be narrower than requested."""
    state: str | None = None
    sid: str | None = None
    enabled_features: list[str] = []
    mandatory_tfa_status: str | None = None
    google_login: bool | None = None

    def __repr__(self) -> str:
        return (
            f"AuthResult(access_token=<redacted>, refresh_token=<redacted>, "
            f"expires_in={self.expires_in}, scope={self.scope!r}, sid={self.sid!r})"
        )

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        """What rich and IPython print: the tokens stay hidden there too."""
        return [
            (name, "<redacted>" if name.endswith("_token") and value else value)
            for name in self.__struct_fields__
            for value in (getattr(self, name),)
        ]

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scope as a set of tokens (``{"connection", "trade:read_write", ...}``)."""
        return frozenset(self.scope.split())


class Position(DeribitObject):
    """``private/get_position(s)`` item and ``user.changes.*`` positions (REFERENCE 7.6)."""

    instrument_name: str
    direction: str
    size: float
    kind: str | None = None
    size_currency: float | None = None
    average_price: float | None = None
    average_price_usd: float | None = None
    mark_price: float | None = None
    index_price: float | None = None
    settlement_price: float | None = None
    delta: float | None = None
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None
    initial_margin: float | None = None
    maintenance_margin: float | None = None
    open_orders_margin: float | None = None
    total_profit_loss: float | None = None
    floating_profit_loss: float | None = None
    floating_profit_loss_usd: float | None = None
    realized_profit_loss: float | None = None
    realized_funding: float | None = None
    interest_value: float | None = None
    leverage: float | None = None
    estimated_liquidation_price: float | None = None


class RateLimit(DeribitObject):
    """A credit-bucket limit: sustained ``rate`` per second and ``burst``."""

    rate: float | None = None
    burst: float | None = None


class Limits(DeribitObject):
    """``limits`` of an account summary (REFERENCE 4). Matching-engine limits are nested
    per group, and per settlement currency when ``limits_per_currency``; key names vary
    between Deribit's docs, so they stay plain dicts."""

    limits_per_currency: bool | None = None
    non_matching_engine: RateLimit | None = None
    matching_engine: dict[str, Any] = {}


class FeeRate(DeribitObject):
    """A maker/taker fee: ``type`` ``"fixed"`` (in currency) or ``"relative"`` (of the
    default)."""

    maker: float | None = None
    taker: float | None = None
    type: str | None = None


class FeeValue(DeribitObject):
    """The fees of one kind: the default rates, block trades and settlement."""

    default: FeeRate | None = None
    block_trade: float | None = None
    settlement: float | None = None


class Fee(DeribitObject):
    """``fees`` item of an extended account summary: the fees of one kind and index."""

    kind: str | None = None
    index_name: str | None = None
    value: FeeValue | None = None


class AccountSummary(DeribitObject):
    """``private/get_account_summary`` result and ``user.portfolio.*`` payload (REFERENCE 7.7)."""

    currency: str
    balance: float | None = None
    equity: float | None = None
    margin_balance: float | None = None
    available_funds: float | None = None
    available_withdrawal_funds: float | None = None
    available_subaccount_transfer_funds: float | None = None
    locked_balance: float | None = None
    initial_margin: float | None = None
    maintenance_margin: float | None = None
    projected_initial_margin: float | None = None
    projected_maintenance_margin: float | None = None
    estimated_liquidation_ratio: float | None = None
    estimated_liquidation_ratio_map: dict[str, float] = {}
    delta_total: float | None = None
    delta_total_map: dict[str, float] = {}
    projected_delta_total: float | None = None
    total_pl: float | None = None
    session_rpl: float | None = None
    session_upl: float | None = None
    futures_pl: float | None = None
    futures_session_rpl: float | None = None
    futures_session_upl: float | None = None
    options_pl: float | None = None
    options_session_rpl: float | None = None
    options_session_upl: float | None = None
    options_value: float | None = None
    options_delta: float | None = None
    options_gamma: float | None = None
    options_theta: float | None = None
    options_vega: float | None = None
    options_gamma_map: dict[str, float] = {}
    """Options gamma per index name (``{"btc_usd": 1e-05}``); likewise theta and vega."""
    options_theta_map: dict[str, float] = {}
    options_vega_map: dict[str, float] = {}
    fee_balance: float | None = None
    spot_reserve: float | None = None
    additional_reserve: float | None = None
    margin_model: str | None = None
    portfolio_margining_enabled: bool | None = None
    cross_collateral_enabled: bool | None = None
    total_equity_usd: float | None = None
    total_initial_margin_usd: float | None = None
    total_maintenance_margin_usd: float | None = None
    total_margin_balance_usd: float | None = None
    total_delta_total_usd: float | None = None
    limits: Limits | None = None
    deposit_address: str | None = None
    # extended=true
    id: int | None = None
    username: str | None = None
    system_name: str | None = None
    email: str | None = None
    type: str | None = None
    creation_timestamp: int | None = None
    fees: list[Fee] = []
    login_enabled: bool | None = None
    mmp_enabled: bool | None = None
    security_keys_enabled: bool | None = None
    interuser_transfers_enabled: bool | None = None
    referrer_id: str | None = None
    self_trading_reject_mode: str | None = None
    self_trading_extended_to_subaccounts: bool | None = None
    block_rfq_self_match_prevention: bool | None = None


class AccountSummaries(DeribitObject):
    """``private/get_account_summaries`` result: account fields plus one summary per currency."""

    summaries: list[AccountSummary] = []
    id: int | None = None
    username: str | None = None
    system_name: str | None = None
    email: str | None = None
    type: str | None = None
    login_enabled: bool | None = None
    mmp_enabled: bool | None = None
    security_keys_enabled: bool | None = None
    interuser_transfers_enabled: bool | None = None
    creation_timestamp: int | None = None
    referrer_id: str | None = None
    self_trading_reject_mode: str | None = None
    self_trading_extended_to_subaccounts: bool | None = None
    block_rfq_self_match_prevention: bool | None = None


class CancelOnDisconnect(DeribitObject):
    """``private/get_cancel_on_disconnect`` result."""

    scope: str
    enabled: bool


class Settlement(DeribitObject):
    """A settlement, delivery or bankruptcy event (REFERENCE 7.9)."""

    type: str
    timestamp: int
    instrument_name: str | None = None
    position: float | None = None
    mark_price: float | None = None
    index_price: float | None = None
    profit_loss: float | None = None
    session_profit_loss: float | None = None
    session_bankruptcy: float | None = None
    session_tax: float | None = None
    session_tax_rate: float | None = None
    socialized: float | None = None
    funding: float | None = None
    funded: float | None = None


class Transfer(DeribitObject):
    """A transfer between (sub)accounts or users."""

    id: int
    currency: str
    amount: float
    state: str
    direction: str | None = None
    other_side: str | None = None
    type: str | None = None
    created_timestamp: int | None = None
    updated_timestamp: int | None = None


class Deposit(DeribitObject):
    """An incoming deposit."""

    currency: str
    amount: float
    state: str
    address: str | None = None
    transaction_id: str | None = None
    source_address: str | None = None
    received_timestamp: int | None = None
    updated_timestamp: int | None = None
    note: str | None = None
    clearance_state: str | None = None
    refund_transaction_id: str | None = None
    user_id: int | None = None


class Withdrawal(DeribitObject):
    """An outgoing withdrawal."""

    id: int
    """What ``cancel_withdrawal`` takes (every example has it; the spec omits it)."""
    currency: str
    amount: float
    state: str
    address: str | None = None
    fee: float | None = None
    priority: float | None = None
    transaction_id: str | None = None
    created_timestamp: int | None = None
    confirmed_timestamp: int | None = None
    updated_timestamp: int | None = None
