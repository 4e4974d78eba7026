"""Exberry's frame envelope (REFERENCE section 3): ``{"q", "sid", "d", "sig", "errorType"}``.

Incoming frames are decoded permissively: every member optional, ``d`` kept raw so it is
decoded once more straight into the item type of its stream; unknown members are ignored
and, as msgspec does for repeated keys, the last of a repeated member wins (as the docs say).
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["EMPTY", "ErrorData", "Frame", "Request", "StreamEnd"]

EMPTY = msgspec.Raw()


class Frame(msgspec.Struct, gc=False):
    """Any incoming frame: an item (``d``), or the end of a stream (``sig``)."""

    q: str | None = None
    sid: int | None = None
    d: msgspec.Raw = EMPTY
    sig: int | None = None
    errorType: str | None = None


class Request(msgspec.Struct, omit_defaults=True, gc=False):
    """An outgoing frame: a request (``d``) or a close (``sig: 3``); ``token`` for the Market
    Data API's public mode."""

    q: str
    sid: int
    d: Any = None
    sig: int | None = None
    token: str | None = None


class ErrorData(msgspec.Struct, gc=False):
    """``d`` of a ``sig: 2`` frame."""

    errorCode: int
    errorMessage: str = ""


class StreamEnd(msgspec.Struct, frozen=True, gc=False):
    """The end of a long-lived stream, as its consumer sees it (``error`` set for ``sig: 2``,
    ``None`` when the server closed it normally)."""

    q: str
    sid: int
    error: Any = None
