"""The venue-neutral part of the exception tree: misuse, link failures, timeouts, bad frames.

Every exception the SDK raises derives from :class:`DeribitError` (the package's root, named
after the package, whichever venue raised it). All of them survive a pickle round trip with
their attributes, because trading bots move them between processes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import LateReply

__all__ = [
    "ClientClosed",
    "ClientError",
    "ConnectionLost",
    "CreditTimeout",
    "CredentialsRequired",
    "DeribitError",
    "HTTPStatusError",
    "NotReadyError",
    "OrderOutcomeUnknown",
    "ProtocolError",
    "RequestTimeout",
    "RequestTooLarge",
    "ResponseDecodeError",
    "SubscriberOverflow",
    "TransportError",
    "UnsupportedOperation",
]


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class DeribitError(Exception):
    """Root of every exception raised by deribit_client."""

    def __reduce__(self) -> Any:
        # Subclasses take their own constructor arguments, which BaseException's default
        # pickling (``cls(*self.args)``) does not know: rebuild from the attributes instead.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ClientError(DeribitError, ValueError):
    """The call was refused before any I/O because it cannot succeed as written."""


class UnsupportedOperation(ClientError):
    """The operation is not available on this transport (e.g. subscriptions over HTTP)."""


class RequestTooLarge(ClientError):
    """The encoded request exceeds the venue's limit for one frame or POST body."""


class CredentialsRequired(ClientError):
    """A private method was called but no API credentials are configured."""


class ClientClosed(ClientError):
    """The client was closed (by ``close()``, leaving its ``async with`` block, or logout).

    A closed client cannot be reused: create a new one.
    """


class TransportError(DeribitError, ConnectionError):
    """The connection to the venue failed or broke."""


class ConnectionLost(TransportError):
    """The connection closed while a call was waiting, or is down; nothing was re-sent."""


class NotReadyError(TransportError, TimeoutError):
    """``wait_ready()`` ran out of time before the connection became ready."""


class HTTPStatusError(TransportError):
    """An HTTP reply without a protocol body (e.g. 429 too many connections, 502)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


class RequestTimeout(DeribitError, TimeoutError):
    """No reply arrived within the call's timeout. The pending entry was removed."""

    def __init__(self, method: str, request_id: int | None, timeout: float) -> None:
        super().__init__(f"{method} (id {request_id}) got no reply within {timeout:g} s")
        self.method = method
        self.request_id = request_id
        self.timeout = timeout


class CreditTimeout(RequestTimeout):
    """The call waited for rate-limit credits for its whole timeout and was never sent:
    nothing reached the venue, so even an order may simply be retried."""

    def __init__(self, method: str, timeout: float) -> None:
        super().__init__(method, None, timeout)
        self.args = (
            f"{method} not sent: no rate-limit credits within {timeout:g} s (nothing reached "
            "the venue)",
        )


class OrderOutcomeUnknown(DeribitError):
    """An order mutation, a movement of funds or a creation a re-send would repeat was sent
    but its reply was lost (timeout, dropped connection, or its caller cancelled).

    The order (withdrawal, transfer, API key ...) may or may not exist on the exchange. Do
    not blindly re-send: reconcile first (Deribit orders: ``await
    client.private.reconcile(error)``, which waits for the connection and for the request
    to settle, then says whether the order exists; the others and Exberry: see ``advice``).
    ``__cause__`` holds the timeout or connection error behind it.

    Attributes:
        method: the mutation (``private/buy``, ``private/withdraw`` ...).
        params: its parameters as sent (no token).
        request_id: its request id (Exberry: its sid).
        label: ``params["label"]``, the key to find a new order by.
        at: when the outcome became unknown (seconds since the epoch).
        advice: how to reconcile on this venue (also the end of the message).
        late_reply: the reply, should it still come on the same connection (set when it
            arrives; also logged): what became of the request after all.
    """

    def __init__(
        self,
        method: str,
        params: dict[str, Any],
        request_id: int,
        reason: str,
        *,
        key: str = "label",
        advice: str = "reconcile before retrying",
    ) -> None:
        label = params.get("label")
        found_by = params.get(key)
        hint = f" {key}={found_by!r}" if found_by is not None else ""
        super().__init__(
            f"outcome of {method} (id {request_id}){hint} is unknown: {reason}; {advice}"
        )
        self.advice = advice
        self.method = method
        self.params = params
        self.request_id = request_id
        self.label: str | None = label
        self.at = time.time()
        self.late_reply: LateReply | None = None


class ProtocolError(DeribitError):
    """The server sent something that violates the wire protocol or the documented shapes."""


class ResponseDecodeError(ProtocolError):
    """A result could not be decoded into the type the caller asked for."""


class SubscriberOverflow(DeribitError):
    """A subscriber using the ``"error"`` policy fell behind: its queue was full.

    The subscription is closed; what was still queued is discarded and counted. Resync
    state with a request (open orders, positions, order book) and subscribe again.
    """

    def __init__(self, channel: str, maxsize: int, discarded: int) -> None:
        super().__init__(
            f"subscriber of {channel} fell behind: queue of {maxsize} full; "
            f"{discarded} queued messages discarded"
        )
        self.channel = channel
        self.maxsize = maxsize
        self.discarded = discarded
