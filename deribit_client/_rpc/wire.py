"""JSON-RPC 2.0 envelope Structs as Deribit sends and accepts them (REFERENCE.md section 1).

Incoming envelopes are permissive: unknown members are ignored, ``id`` may be an int or a
string, and the payload members (``result``, ``error``, ``params.data``) stay ``msgspec.Raw`` so
each frame is parsed once and its payload decoded once more, straight into the final type.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

__all__ = [
    "EMPTY_RAW",
    "Envelope",
    "EnvelopeMeta",
    "ErrorObject",
    "Notification",
    "NotificationParams",
    "Request",
]

T = TypeVar("T")

EMPTY_RAW = msgspec.Raw()
"""Default for absent Raw members: an empty Raw is falsy, while ``null`` is ``Raw(b"null")``."""


class Request(msgspec.Struct, gc=False):
    """An outgoing request. Deribit takes named params only and always wants an integer id."""

    jsonrpc: str
    id: int
    method: str
    params: dict[str, Any]


class NotificationParams(msgspec.Struct, gc=False):
    """``params`` of a server-sent ``subscription`` or ``heartbeat`` message.

    ``channel``/``data`` are set for subscriptions, ``type`` (``heartbeat`` or ``test_request``)
    for heartbeats; ``label`` is attached to private channels subscribed with a label.
    """

    channel: str = ""
    data: msgspec.Raw = EMPTY_RAW
    type: str | None = None
    label: str | None = None


class Notification(msgspec.Struct, Generic[T], frozen=True, gc=False):
    """One message of a subscription channel: ``channel`` and its typed ``data``;
    ``label`` is the label a private channel was subscribed with (``private/subscribe``).

    A frame of a subscribed channel decodes straight into this (one parse per frame); the
    same object is what subscribers receive.
    """

    channel: str
    data: T
    label: str | None = None


class EnvelopeMeta(msgspec.Struct, gc=False):
    """Server timing members of a response, in microseconds, under Deribit's names.

    Kept as the JSON values sent, unchecked: malformed metadata must never fail the
    result it wraps (``Response.from_reply`` keeps only well-formed values).
    """

    usIn: Any = None
    usOut: Any = None
    usDiff: Any = None
    testnet: Any = None


class Envelope(EnvelopeMeta, gc=False):
    """Any incoming frame: response, error response, notification or heartbeat."""

    id: int | str | None = None
    method: str | None = None
    params: NotificationParams | None = None
    result: msgspec.Raw = EMPTY_RAW
    error: msgspec.Raw = EMPTY_RAW


class ErrorObject(msgspec.Struct, gc=False):
    """The JSON-RPC ``error`` member: ``{code, message, data?}``."""

    code: int
    message: str = ""
    data: Any = None
