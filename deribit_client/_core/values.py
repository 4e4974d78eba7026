"""Checks on values users pass, for any venue: what a request sends, a book view's depth."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from .errors import ClientError

__all__ = ["PLAIN", "check_depth", "check_finite"]

PLAIN = frozenset({str, int, bool})
"""Value types that need no check (a float may be NaN, a container may hold one)."""

_isfinite = math.isfinite


def check_finite(label: str, params: Any) -> None:
    """Refuse a NaN or infinite number anywhere in ``params``, nested ones included.

    JSON has neither: msgspec would send ``null``, which venues read as an absent member
    (an order's minimum quantity, a mass quote's price). numpy's floats are floats too.

    Raises:
        ClientError: names ``label`` (the method) and the parameter's path, e.g.
            ``'quotes[1].bid.price'``.
    """
    try:
        found = _non_finite(params)
    except RecursionError:
        raise ClientError(f"{label}: parameters nest too deeply to send") from None
    if found is not None:
        where, bad = found
        name = where.removeprefix(".") or "value"
        raise ClientError(f"{label}: parameter {name!r} is {bad!r}; send a finite number")


def _non_finite(value: Any) -> tuple[str, float] | None:
    # Where a NaN or infinity sits in one value (("[0].price", nan)), if anywhere.
    if isinstance(value, float):
        return None if _isfinite(value) else ("", value)
    if type(value) in PLAIN or value is None:
        return None
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, list | tuple | set | frozenset):
        items, form = enumerate(value), "[{}]"
    elif isinstance(value, Mapping):
        items, form = value.items(), ".{}"
    else:
        # Structs, dataclasses and the like go out as objects: look at what msgspec sends.
        try:
            sent = msgspec.to_builtins(value)
        except Exception:
            return None  # the encoder refuses it with its own error
        return _non_finite(sent) if type(sent) is dict or type(sent) is list else None
    for key, item in items:
        tp = type(item)
        if tp in PLAIN or item is None or (tp is float and _isfinite(item)):
            continue  # the usual members, without a call each
        found = _non_finite(item)
        if found is not None:
            return form.format(key) + found[0], found[1]
    return None


def check_depth(depth: object) -> int:
    """Validate a book view's ``depth`` (how many levels, best first).

    Raises:
        ClientError: ``depth`` is not an int >= 0 (a negative one would slice from the far
            end of the book; bools are refused).
    """
    if type(depth) is not int or depth < 0:
        raise ClientError(f"depth must be None or an int >= 0, not {depth!r}")
    return depth
