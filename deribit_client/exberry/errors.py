"""Exberry's errors: a ``sig: 2`` frame becomes one of these, keyed on ``errorCode``.

Every class derives from :class:`ExberryError`, itself a :class:`~deribit_client.DeribitError`
(the SDK's root), and carries ``code`` (Exberry's ``errorCode``), ``message``
(``errorMessage``), ``q`` (the qualifier) and ``sid`` (the stream id). Match on ``code`` or
the class, never on the message. ``errorType`` is kept as ``error_type``; the docs say to
ignore it.
"""

from __future__ import annotations

from typing import Final

from .._core.errors import DeribitError

__all__ = [
    "BROKER_ERROR_CODES",
    "EXBERRY_ERROR_CODES",
    "ExberryError",
    "ExberryUnavailable",
    "InsufficientPermissions",
    "InvalidSession",
    "MarketStateError",
    "NotFound",
    "OrderValidationError",
    "SessionError",
    "StreamDisconnected",
    "TrackingNumberError",
    "exberry_error",
]


class ExberryError(DeribitError):
    """The server ended a stream with ``sig: 2``.

    Attributes:
        code: Exberry's ``errorCode``.
        message: ``errorMessage``.
        q: the qualifier of the failed stream.
        sid: its stream id.
        error_type: the internal ``errorType`` string (informational only).
    """

    def __init__(
        self, code: int, message: str, q: str | None = None, sid: int | None = None,
        error_type: str | None = None,
    ) -> None:  # fmt: skip
        where = f" in {q}" if q else ""
        super().__init__(f"[{code}] {message}{where}")
        self.code = code
        self.message = message
        self.q = q
        self.sid = sid
        self.error_type = error_type


class SessionError(ExberryError):
    """createSession failed: 6000 authentication failed, 6001 wrong timestamp, 6002 missing
    fields, 6003 create session failed."""


class InvalidSession(ExberryError):
    """1007: the session is not valid (a new socket needs a new session)."""


class InsufficientPermissions(ExberryError):
    """1008 (and 1011 for one instrument; 10 on the broker API): the key may not do
    this."""


class OrderValidationError(ExberryError):
    """1000-1006, 1012-1017, 1019, 1030-1033, 1103, 1104, 1301 (100 and 101 on the broker
    API): the request was refused as written (fields, enums, precision, tick size, bands,
    auction rules...)."""


class MarketStateError(ExberryError):
    """1003 market closed, 1004/1018 trading not allowed, 1009 instrument halted, 1030
    "Trading is not allowed during crossing" (an auction's crossing), 102 (trade
    reporting: the same states and an auction's call): the instrument's state refuses
    the request; it may be accepted once the instrument is open again."""


class LedgerError(ExberryError):
    """2000: the ledger refused: the trading account has no ledger account ("Ledger
    account not configured for selected trading account"), or it lacks what the order,
    withdrawal or transfer would deliver ("Insufficient balance: [Amt] [TransactionUnits]
    of [AssetName] are missing")."""


class NotFound(ExberryError):
    """1010 instrument not found, 1041 RFQ or quote not found (to quote or accept), 1100
    order (RFQ, quote) not found (to cancel)."""


class ExberryUnavailable(ExberryError):
    """1: the exchange or system is unavailable; 1200 general error."""


class StreamDisconnected(ExberryError):
    """2: the server ended a long-lived stream; the client resumes it after reconnecting."""


class TrackingNumberError(ExberryError):
    """1201: the trackingNumber to resume from is wrong."""


_V = OrderValidationError
EXBERRY_ERROR_CODES: Final[dict[int, type[ExberryError]]] = {
    1: ExberryUnavailable,
    2: StreamDisconnected,
    6000: SessionError,
    6001: SessionError,
    6002: SessionError,
    6003: SessionError,
    1007: InvalidSession,
    1008: InsufficientPermissions,
    1011: InsufficientPermissions,
    1003: MarketStateError,
    1004: MarketStateError,
    1009: MarketStateError,
    1018: MarketStateError,
    102: MarketStateError,  # trade reporting's refusals by instrument or market state
    1010: NotFound,
    1041: NotFound,
    1100: NotFound,
    1200: ExberryUnavailable,
    1201: TrackingNumberError,
    2000: LedgerError,
    **dict.fromkeys((1000, 1001, 1002, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1017), _V),
    **dict.fromkeys((1019, 1030, 1031, 1032, 1033, 1101, 1102, 1103, 1104, 1301), _V),
}
"""errorCode -> class (REFERENCE sections 3-5); other codes raise :class:`ExberryError`."""

BROKER_ERROR_CODES: Final[dict[int, type[ExberryError]]] = {
    **EXBERRY_ERROR_CODES,
    10: InsufficientPermissions,  # "Permission denied"
    100: OrderValidationError,  # "Missing or invalid parameter: orderType"
    101: OrderValidationError,  # "dateTo must be greater than dateFrom"
}
"""The broker API's codes (``v1/broker.*`` qualifiers, REFERENCE section 11), which differ
from the exchange's."""


def exberry_error(
    code: int, message: str, q: str | None = None, sid: int | None = None,
    error_type: str | None = None,
) -> ExberryError:  # fmt: skip
    """The typed exception for a ``sig: 2`` frame's ``d``."""
    if code == 2 and message.startswith("Missing fields"):
        # The Market Data API reuses 2 for a request missing a member ("Missing fields:
        # token", REFERENCE 3): not a disconnected stream, which would be resumed as is.
        return ExberryError(code, message, q, sid, error_type)
    if code == 1030 and "crossing" in message:
        # 1030 is also "Only [Allowed TIF] limit orders are allowed": a validation error.
        return MarketStateError(code, message, q, sid, error_type)
    table = BROKER_ERROR_CODES if q is not None and "broker." in q else EXBERRY_ERROR_CODES
    cls = table.get(code, ExberryError)
    return cls(code, message, q, sid, error_type)
