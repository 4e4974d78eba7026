"""deribit_client: async, typed SDK for Deribit's JSON-RPC 2.0 API (WebSocket + HTTP).

Start with :class:`DeribitClient`; errors live in one tree under :class:`DeribitError`;
:mod:`deribit_client.models` mirrors Deribit objects; :mod:`deribit_client.testing` bundles a
Deribit simulator to test against.
"""

from . import channels
from ._api._reconcile import Reconciliation
from ._auth import Credentials, http_signature, ws_signature
from ._client import ConnectionState, DeribitClient, TransportMode
from ._config import PROD, TESTNET, Endpoints
from ._core.credits import CreditPool
from ._core.protocol import LateReply
from ._core.supervisor import ReconnectPolicy
from ._credits import CreditLimiter
from ._errors import (
    ERROR_CODES,
    AccountError,
    AuthenticationError,
    CancelOnDisconnectError,
    ClientClosed,
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    CreditTimeout,
    DeribitError,
    ErrorCode,
    HTTPStatusError,
    InsufficientFundsError,
    InvalidRequestError,
    MassQuoteError,
    NotFoundError,
    NotReadyError,
    OrderOutcomeUnknown,
    OrderRejectedError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    RequestTimeout,
    RequestTooLarge,
    ResponseDecodeError,
    RpcError,
    ServiceUnavailableError,
    SubscriberOverflow,
    SubscriptionError,
    SubscriptionRejected,
    TransportError,
    UnsupportedOperation,
    WalletError,
    error_from_code,
)
from ._response import Response, decode_notification, decode_response, decode_response_with_meta
from ._subscriptions import Gap, Notification, Policy, Subscription
from .book import LocalOrderBook
from .channels import Channel

__version__ = "0.1.0"

__all__ = [
    "ERROR_CODES",
    "Channel",
    "PROD",
    "TESTNET",
    "AccountError",
    "AuthenticationError",
    "CancelOnDisconnectError",
    "ClientClosed",
    "ClientError",
    "ConnectionLost",
    "ConnectionState",
    "Credentials",
    "CredentialsRequired",
    "CreditLimiter",
    "CreditPool",
    "CreditTimeout",
    "DeribitClient",
    "DeribitError",
    "Endpoints",
    "Gap",
    "ErrorCode",
    "HTTPStatusError",
    "InsufficientFundsError",
    "InvalidRequestError",
    "LateReply",
    "LocalOrderBook",
    "MassQuoteError",
    "NotFoundError",
    "NotReadyError",
    "Notification",
    "OrderOutcomeUnknown",
    "OrderRejectedError",
    "PermissionDeniedError",
    "Policy",
    "ProtocolError",
    "RateLimitError",
    "Reconciliation",
    "ReconnectPolicy",
    "RequestTimeout",
    "RequestTooLarge",
    "Response",
    "ResponseDecodeError",
    "RpcError",
    "ServiceUnavailableError",
    "SubscriberOverflow",
    "Subscription",
    "channels",
    "SubscriptionError",
    "SubscriptionRejected",
    "TransportError",
    "TransportMode",
    "UnsupportedOperation",
    "WalletError",
    "__version__",
    "decode_notification",
    "decode_response",
    "decode_response_with_meta",
    "error_from_code",
    "http_signature",
    "ws_signature",
]
