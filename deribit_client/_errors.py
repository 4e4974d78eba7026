"""Exception tree for deribit_client, and the one table that maps Deribit error codes to classes.

Everything the SDK raises derives from :class:`DeribitError`::

    DeribitError
    ├── ClientError                 misuse detected before any I/O (also a ValueError)
    │   ├── UnsupportedOperation     e.g. subscribing over HTTP, a WebSocket-only method over HTTP
    │   ├── RequestTooLarge          encoded request over Deribit's 32 kB frame limit
    │   ├── CredentialsRequired      private method without configured credentials
    │   └── ClientClosed             the client was closed; create a new one
    ├── TransportError              the link failed (also a ConnectionError)
    │   ├── ConnectionLost           socket closed/broken or down; in-flight calls fail with this
    │   ├── NotReadyError            wait_ready() timed out (also a TimeoutError)
    │   └── HTTPStatusError          HTTP reply that carries no JSON-RPC body (429, 502, ...)
    ├── RequestTimeout              no reply within the call's timeout (also a TimeoutError)
    │   └── CreditTimeout            no rate-limit credits within the timeout: never sent
    ├── OrderOutcomeUnknown         an order mutation lost its reply: reconcile before retrying
    ├── ProtocolError               the server sent something that breaks JSON-RPC or our models
    │   └── ResponseDecodeError      a result did not match the expected type
    ├── SubscriptionRejected        the server silently left channels out of a subscribe reply
    ├── SubscriberOverflow          a subscriber with the "error" policy fell behind
    └── RpcError                    the server answered with a JSON-RPC ``error`` object
        ├── AuthenticationError      10000, 13004, 13009, ...
        ├── PermissionDeniedError    13021 forbidden, 13403 scope_exceeded, ...
        ├── RateLimitError           10028, 10047, 10066, ... (``wait`` when the server says)
        ├── InvalidRequestError      JSON-RPC -326xx, 11029 invalid_arguments, ...
        ├── NotFoundError            10004 order_not_found, 13020 not_found, ...
        ├── OrderRejectedError       trading rejects (price limits, tick size, post-only, ...)
        │   └── InsufficientFundsError 10009, 10039
        ├── ServiceUnavailableError  10040 retry, 10041 settlement, 11051 maintenance, ...
        ├── SubscriptionError        11052, 13778
        ├── CancelOnDisconnectError  10049, 13042
        ├── MassQuoteError           mass quotes, MMP, Block RFQ limits
        ├── WalletError              addresses, transfers, withdrawals
        └── AccountError             subaccounts, security keys, KYC, brokers

Match on ``code`` (or on the class), never on ``message``: Deribit appends details to some
messages (``"price_too_high 43666.4288"``). ``retryable`` is true for the codes Deribit documents
as transient (REFERENCE.md section 6); a retry policy should also honour ``wait``.
"""

from __future__ import annotations

from typing import Any, Final

from ._core.errors import (
    ClientClosed,
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    CreditTimeout,
    DeribitError,
    HTTPStatusError,
    NotReadyError,
    OrderOutcomeUnknown,
    ProtocolError,
    RequestTimeout,
    RequestTooLarge,
    ResponseDecodeError,
    SubscriberOverflow,
    TransportError,
    UnsupportedOperation,
)

__all__ = [
    "ERROR_CODES",
    "AccountError",
    "AuthenticationError",
    "CancelOnDisconnectError",
    "ClientClosed",
    "ClientError",
    "ConnectionLost",
    "CredentialsRequired",
    "CreditTimeout",
    "DeribitError",
    "ErrorCode",
    "HTTPStatusError",
    "InsufficientFundsError",
    "InvalidRequestError",
    "MassQuoteError",
    "NotFoundError",
    "NotReadyError",
    "OrderOutcomeUnknown",
    "OrderRejectedError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RequestTimeout",
    "RequestTooLarge",
    "ResponseDecodeError",
    "RpcError",
    "ServiceUnavailableError",
    "SubscriberOverflow",
    "SubscriptionError",
    "SubscriptionRejected",
    "TransportError",
    "UnsupportedOperation",
    "WalletError",
    "error_from_code",
]


def credentials_required(what: str) -> CredentialsRequired:
    """The error for ``what`` (a private method, private channels) on a client without API
    credentials: one wording, naming both ways to configure them."""
    return CredentialsRequired(
        f"{what}: needs API credentials; pass client_id/client_secret or set "
        "DERIBIT_CLIENT_ID/DERIBIT_CLIENT_SECRET"
    )


class SubscriptionRejected(DeribitError):
    """Deribit confirmed fewer channels than requested (invalid or unauthorized channels are
    dropped silently by the server). ``channels`` lists the ones it left out."""

    def __init__(self, channels: list[str], detail: str = "") -> None:
        names = ", ".join(channels)
        super().__init__(f"server did not subscribe {names}{detail}")
        self.channels = channels


class RpcError(DeribitError):
    """The server answered with a JSON-RPC error object.

    Attributes:
        code: Deribit or JSON-RPC error code; the thing to match on.
        message: Deribit's short identifier, sometimes with a suffix.
        data: the optional ``error.data`` member (often ``{reason, param}`` or ``{wait}``).
        method: the JSON-RPC method of the failed request, when known.
        request_id: the id of the failed request, when known.
        retryable: True when Deribit documents the code as transient.
        name: Deribit's identifier for the code from the error table (``"not_enough_funds"``).
    """

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        *,
        method: str | None = None,
        request_id: int | str | None = None,
    ) -> None:
        entry = ERROR_CODES.get(code)
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        self.request_id = request_id
        self.retryable: bool = entry.retryable if entry is not None else False
        self.name: str = entry.name if entry is not None else message.split(" ", 1)[0]
        where = f" in {method}" if method else ""
        # data names what was wrong (-32602: {"param": ..., "reason": ...}): show it.
        detail = f": {_brief(data)}" if data not in (None, "", {}, []) else ""
        super().__init__(f"[{code}] {message}{where}{detail}")

    @property
    def retry_after(self) -> float | None:
        """The engine's name for :attr:`wait`: seconds before the venue takes requests again."""
        return self.wait

    @property
    def wait(self) -> float | None:
        """Seconds the server asks to wait before retrying (``error.data.wait``), if given."""
        if isinstance(self.data, dict):
            value = self.data.get("wait")
            if isinstance(value, int | float):
                return float(value)
        return None


class AuthenticationError(RpcError):
    """Missing, invalid or expired credentials, token or signature."""


class PermissionDeniedError(RpcError):
    """The credentials are valid but lack the scope or right for this call."""


class RateLimitError(RpcError):
    """A credit or concurrency limit was hit. 10028 also terminates the connection."""


class InvalidRequestError(RpcError):
    """The request or one of its parameters is malformed."""


class NotFoundError(RpcError):
    """The order, instrument or other object does not exist."""


class OrderRejectedError(RpcError):
    """The matching engine or risk checks rejected the order or edit."""


class InsufficientFundsError(OrderRejectedError):
    """Not enough funds (or spot reserve) for the order."""


class ServiceUnavailableError(RpcError):
    """Deribit cannot serve the request right now (retry, settlement, maintenance)."""


class SubscriptionError(RpcError):
    """A subscription was refused."""


class CancelOnDisconnectError(RpcError):
    """Cancel-on-disconnect could not be enabled, or is required and not enabled."""


class MassQuoteError(RpcError):
    """Mass quote, market-maker protection or Block RFQ limits."""


class WalletError(RpcError):
    """Deposit addresses, transfers and withdrawals."""


class AccountError(RpcError):
    """Account, subaccount, security-key, KYC and broker management."""


class ErrorCode:
    """One row of :data:`ERROR_CODES`: Deribit's identifier, the class raised, retryability."""

    __slots__ = ("cls", "code", "name", "retryable")

    def __init__(self, code: int, name: str, cls: type[RpcError], retryable: bool) -> None:
        self.code = code
        self.name = name
        self.cls = cls
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"ErrorCode({self.code}, {self.name!r}, {self.cls.__name__}, {self.retryable})"


# The codes Deribit documents as transient (REFERENCE.md section 6, "Retriable/transient").
_RETRYABLE: Final = frozenset({10028, 10040, 10041, 10047, 10066, 11051, 12998, 13028, 13780})

_AUTH, _PERM, _RATE, _INVALID = (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitError,
    InvalidRequestError,
)
_NF, _REJ, _FUNDS, _UNAVAIL = (
    NotFoundError,
    OrderRejectedError,
    InsufficientFundsError,
    ServiceUnavailableError,
)
_SUB, _COD, _MQ, _WAL, _ACC = (
    SubscriptionError,
    CancelOnDisconnectError,
    MassQuoteError,
    WalletError,
    AccountError,
)

# code, Deribit identifier, class. Source: REFERENCE.md section 6 (the complete table).
_TABLE: Final[tuple[tuple[int, str, type[RpcError]], ...]] = (
    (10000, "authorization_required", _AUTH),
    (10001, "error", RpcError),
    (10002, "qty_too_low", _REJ),
    (10003, "order_overlap", _REJ),
    (10004, "order_not_found", _NF),
    (10005, "price_too_low", _REJ),
    (10006, "price_too_low4idx", _REJ),
    (10007, "price_too_high", _REJ),
    (10009, "not_enough_funds", _FUNDS),
    (10010, "already_closed", _REJ),
    (10011, "price_not_allowed", _REJ),
    (10012, "book_closed", _REJ),
    (10013, "pme_max_total_open_orders", _REJ),
    (10014, "pme_max_future_open_orders", _REJ),
    (10015, "pme_max_option_open_orders", _REJ),
    (10016, "pme_max_future_open_orders_size", _REJ),
    (10017, "pme_max_option_open_orders_size", _REJ),
    (10018, "non_pme_max_future_position_size", _REJ),
    (10019, "locked_by_admin", _PERM),
    (10020, "invalid_or_unsupported_instrument", _INVALID),
    (10021, "invalid_amount", _INVALID),
    (10022, "invalid_quantity", _INVALID),
    (10023, "invalid_price", _INVALID),
    (10024, "invalid_max_show", _INVALID),
    (10025, "invalid_order_id", _INVALID),
    (10026, "price_precision_exceeded", _REJ),
    (10027, "non_integer_contract_amount", _REJ),
    (10028, "too_many_requests", _RATE),
    (10029, "not_owner_of_order", _PERM),
    (10030, "must_be_websocket_request", _INVALID),
    (10031, "invalid_args_for_instrument", _INVALID),
    (10032, "whole_cost_too_low", _REJ),
    (10033, "not_implemented", _INVALID),
    (10034, "trigger_price_too_high", _REJ),
    (10035, "trigger_price_too_low", _REJ),
    (10036, "invalid_max_show_amount", _INVALID),
    (10037, "non_pme_total_short_options_positions_size", _REJ),
    (10038, "pme_max_risk_reducing_orders", _REJ),
    (10039, "not_enough_funds_in_currency", _FUNDS),
    (10040, "retry", _UNAVAIL),
    (10041, "settlement_in_progress", _UNAVAIL),
    (10043, "price_wrong_tick", _REJ),
    (10044, "trigger_price_wrong_tick", _REJ),
    (10045, "can_not_cancel_liquidation_order", _REJ),
    (10046, "can_not_edit_liquidation_order", _REJ),
    (10047, "matching_engine_queue_full", _RATE),
    (10048, "not_on_this_server", _UNAVAIL),
    (10049, "cancel_on_disconnect_failed", _COD),
    (10066, "too_many_concurrent_requests", _RATE),
    (10072, "disabled_while_position_lock", _REJ),
    (11008, "already_filled", _REJ),
    (11013, "max_spot_open_orders", _REJ),
    (11021, "post_only_price_modification_not_possible", _REJ),
    (11022, "max_spot_order_quantity", _REJ),
    (11029, "invalid_arguments", _INVALID),
    (11030, "other_reject", _REJ),
    (11031, "other_error", RpcError),
    (11035, "no_more_triggers", _REJ),
    (11036, "invalid_trigger_price", _REJ),
    (11037, "outdated_instrument_for_IV_order", _REJ),
    (11038, "no_adv_for_futures", _REJ),
    (11039, "no_adv_postonly", _REJ),
    (11041, "not_adv_order", _REJ),
    (11042, "permission_denied", _PERM),
    (11043, "bad_argument", _INVALID),
    (11044, "not_open_order", _REJ),
    (11045, "invalid_event", _INVALID),
    (11046, "outdated_instrument", _REJ),
    (11047, "unsupported_arg_combination", _INVALID),
    (11048, "wrong_max_show_for_option", _INVALID),
    (11049, "bad_arguments", _INVALID),
    (11050, "bad_request", _INVALID),
    (11051, "system_maintenance", _UNAVAIL),
    (11052, "subscribe_error_unsubscribed", _SUB),
    (11053, "transfer_not_found", _NF),
    (11054, "post_only_reject", _REJ),
    (11055, "post_only_not_allowed", _REJ),
    (11056, "unauthenticated_public_requests_temporarily_disabled", _UNAVAIL),
    (11090, "invalid_addr", _WAL),
    (11091, "invalid_transfer_address", _WAL),
    (11092, "address_already_exist", _WAL),
    (11093, "max_addr_count_exceeded", _WAL),
    (11094, "internal_server_error", _UNAVAIL),
    (11095, "disabled_deposit_address_creation", _WAL),
    (11096, "address_belongs_to_user", _WAL),
    (11097, "no_deposit_address", _WAL),
    (11098, "account_locked", _PERM),
    (12001, "too_many_subaccounts", _ACC),
    (12002, "wrong_subaccount_name", _ACC),
    (12003, "login_over_limit", _AUTH),
    (12004, "registration_over_limit", _ACC),
    (12005, "country_is_banned", _PERM),
    (12100, "transfer_not_allowed", _WAL),
    (12998, "security_key_authorization_over_limit", _RATE),
    (13004, "invalid_credentials", _AUTH),
    (13005, "pwd_match_error", _ACC),
    (13006, "security_error", _AUTH),
    (13007, "user_not_found", _AUTH),
    (13008, "request_failed", RpcError),
    (13009, "unauthorized", _AUTH),
    (13010, "value_required", _INVALID),
    (13011, "value_too_short", _INVALID),
    (13012, "unavailable_in_subaccount", _PERM),
    (13013, "invalid_phone_number", _ACC),
    (13014, "cannot_send_sms", _ACC),
    (13015, "invalid_sms_code", _ACC),
    (13016, "invalid_input", _INVALID),
    (13018, "invalid_content_type", _INVALID),
    (13019, "orderbook_closed", _REJ),
    (13020, "not_found", _NF),
    (13021, "forbidden", _PERM),
    (13025, "method_switched_off_by_admin", _UNAVAIL),
    (13028, "temporarily_unavailable", _UNAVAIL),
    (13030, "mmp_trigger", _REJ),
    (13031, "verification_required", _PERM),
    (13032, "non_unique_order_label", _INVALID),
    (13034, "no_more_security_keys_allowed", _ACC),
    (13035, "active_combo_limit_reached", _REJ),
    (13036, "unavailable_for_combo_books", _INVALID),
    (13037, "incomplete_KYC_data", _ACC),
    (13040, "mmp_required", _MQ),
    (13042, "cod_not_enabled", _COD),
    (13043, "quotes_frozen", _MQ),
    (13403, "scope_exceeded", _PERM),
    (13503, "unavailable", _UNAVAIL),
    (13666, "request_cancelled_by_user", RpcError),
    (13668, "security_key_authorization_error", _AUTH),
    (13777, "replaced", _REJ),
    (13778, "raw_subscriptions_not_available_for_unauthorized", _SUB),
    (13780, "move_positions_over_limit", _RATE),
    (13781, "coupon_already_used", _ACC),
    (13791, "KYC_transfer_already_initiated", _ACC),
    (13792, "incomplete_KYC_data", _ACC),
    (13793, "KYC_data_inaccessible", _ACC),
    (13888, "timed_out", _REJ),
    (13901, "no_more_oto_orders", _REJ),
    (13902, "mass_quotes_disabled", _MQ),
    (13903, "too_many_quotes", _MQ),
    (13904, "security_key_setup_required", _ACC),
    (13905, "too_many_quotes_per_block_rfq", _MQ),
    (13906, "too_many_quotes_per_block_rfq_side", _MQ),
    # The docs list 13907 twice, with two identifiers.
    (13907, "not_fully_filled|too_many_open_block_rfqs", _MQ),
    (13910, "quote_crossed", _MQ),
    (13911, "max_broker_client_count", _ACC),
    (13912, "broker_cannot_be_client", _ACC),
    (13913, "broker_already_linked", _ACC),
    (13914, "user_is_a_broker_client", _ACC),
    (13915, "user_is_not_a_broker", _ACC),
    (13916, "app_registered_to_broker", _ACC),
    (13917, "account_quote_limit_crossed", _MQ),
    (13918, "inverse_future_cross_trading", _MQ),
    (13919, "client_of_main_account", _ACC),
    # JSON-RPC 2.0 standard codes as Deribit uses them.
    (-32600, "request entity too large", _INVALID),
    (-32601, "Method not found", _INVALID),
    (-32602, "Invalid params", _INVALID),
    (-32700, "Parse error", _INVALID),
    (-32000, "Missing params", _INVALID),
)

ERROR_CODES: Final[dict[int, ErrorCode]] = {
    code: ErrorCode(code, name, cls, code in _RETRYABLE) for code, name, cls in _TABLE
}
"""Every documented error code -> its :class:`ErrorCode` row. Unknown codes raise RpcError."""


def _brief(data: Any, limit: int = 200) -> str:
    text = repr(data)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def error_from_code(
    code: int,
    message: str,
    data: Any = None,
    *,
    method: str | None = None,
    request_id: int | str | None = None,
) -> RpcError:
    """Build the typed exception for a JSON-RPC error object (unknown codes give RpcError)."""
    entry = ERROR_CODES.get(code)
    cls = entry.cls if entry is not None else RpcError
    return cls(code, message, data, method=method, request_id=request_id)
