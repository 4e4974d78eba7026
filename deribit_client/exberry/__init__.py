"""Exberry, the SDK's second venue: Scalecube-style ``q``/``sid``/``d``/``sig`` streams.

Start with :class:`ExberryClient`; errors are :class:`ExberryError` subclasses keyed on
Exberry's ``errorCode``; :mod:`deribit_client.exberry.models` mirrors Exberry's objects;
:func:`decode_frame` turns a recorded frame into its typed item; the simulator is
``deribit_client.testing.exberry.ExberrySimulator``.
"""

from .auth import session_signature
from .book import ExberryOrderBook
from .client import ExberryClient, ExberryStream
from .decode import Decoded, decode_frame
from .errors import (
    BROKER_ERROR_CODES,
    EXBERRY_ERROR_CODES,
    ExberryError,
    ExberryUnavailable,
    InsufficientPermissions,
    InvalidSession,
    LedgerError,
    MarketStateError,
    NotFound,
    OrderValidationError,
    SessionError,
    StreamDisconnected,
    TrackingNumberError,
    exberry_error,
)

__all__ = [
    "BROKER_ERROR_CODES",
    "EXBERRY_ERROR_CODES",
    "Decoded",
    "ExberryClient",
    "ExberryError",
    "ExberryOrderBook",
    "ExberryStream",
    "ExberryUnavailable",
    "InsufficientPermissions",
    "InvalidSession",
    "LedgerError",
    "MarketStateError",
    "NotFound",
    "OrderValidationError",
    "SessionError",
    "StreamDisconnected",
    "TrackingNumberError",
    "decode_frame",
    "exberry_error",
    "session_signature",
]
