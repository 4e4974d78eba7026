"""deribit_client: async, typed SDK for Deribit's JSON-RPC 2.0 API (WebSocket + HTTP).

Start with :class:`DeribitClient`; errors live in one tree under :class:`DeribitError`;
:mod:`deribit_client.models` mirrors Deribit objects; :mod:`deribit_client.testing` bundles a
Deribit simulator to test against.
"""

from ._client import DeribitClient, TransportMode
from ._config import PROD, TESTNET, Endpoints
from ._errors import (
    ERROR_CODES,
    AccountError,
    AuthenticationError,
    CancelOnDisconnectError,
    ClientError,
    ConnectionLost,
    CredentialsRequired,
    DeribitError,
    ErrorCode,
    HTTPStatusError,
    InsufficientFundsError,
    InvalidRequestError,
    MassQuoteError,
    NotFoundError,
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
    SubscriptionError,
    TransportError,
    UnsupportedOperation,
    WalletError,
    error_from_code,
)
from ._response import Response, decode_response, decode_response_with_meta

__version__ = "0.1.0"

__all__ = [
    "ERROR_CODES",
    "PROD",
    "TESTNET",
    "AccountError",
    "AuthenticationError",
    "CancelOnDisconnectError",
    "ClientError",
    "ConnectionLost",
    "CredentialsRequired",
    "DeribitClient",
    "DeribitError",
    "Endpoints",
    "ErrorCode",
    "HTTPStatusError",
    "InsufficientFundsError",
    "InvalidRequestError",
    "MassQuoteError",
    "NotFoundError",
    "OrderOutcomeUnknown",
    "OrderRejectedError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RequestTimeout",
    "RequestTooLarge",
    "Response",
    "ResponseDecodeError",
    "RpcError",
    "ServiceUnavailableError",
    "SubscriptionError",
    "TransportError",
    "TransportMode",
    "UnsupportedOperation",
    "WalletError",
    "__version__",
    "decode_response",
    "decode_response_with_meta",
    "error_from_code",
]
