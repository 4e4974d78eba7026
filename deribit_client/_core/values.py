"""Checks on values users pass, for any venue: what a request sends, counts and depths."""

from __future__ import annotations

import datetime as dt
import math
import numbers
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

import msgspec

from .errors import ClientError

__all__ = [
    "ENCODE_ERRORS",
    "PLAIN",
    "as_builtins",
    "call_arguments",
    "check_choice",
    "check_finite",
    "check_int",
    "check_length",
    "check_sendable",
    "encode_json",
    "epoch_ms",
    "epoch_seconds",
    "int_bounds",
    "unencodable",
    "utc",
]

PLAIN = frozenset({str, int, bool})
"""Value types that need no check (a float may be NaN, a container may hold one)."""

_isfinite = math.isfinite


def _plain(value: Any) -> Any:
    """msgspec's ``enc_hook`` for requests: the plain value of one it does not know.

    numpy's scalars and arrays (an amount read from a DataFrame is an ``int64``, a price
    may be a ``float32``, a flag a ``numpy.bool``) as the Python values they hold; a
    ``str`` subclass as its text (msgspec encodes only enums of them); other libraries'
    ``numbers.Integral`` as ints and non-rational ``numbers.Real`` as floats. A
    ``Fraction`` is refused: as a float it would lose its exactness unseen.
    """
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Rational):
        raise TypeError(f"{type(value).__name__} values have no exact JSON number: use Decimal")
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"{type(value).__qualname__} values cannot be sent as JSON")


ENCODE_ERRORS: Final = (TypeError, msgspec.EncodeError)
"""What :func:`encode_json` raises for a value it cannot send (see :func:`unencodable`)."""


def unencodable(label: str, exc: Exception) -> ClientError:
    """The error for a request of ``label`` (a method, a qualifier) that
    :func:`encode_json` refused with ``exc``."""
    return ClientError(f"cannot encode params for {label}: {exc}")


encode_json: Final = msgspec.json.Encoder(decimal_format="number", enc_hook=_plain).encode
"""Encode a request (any venue) to JSON bytes. A ``Decimal`` goes out as a JSON number with
its exact digits (``Decimal("50000.5")`` as ``50000.5``): venues type prices and amounts as
numbers and refuse them as text (msgspec's default), and a float would round them. numpy's
numbers go out as the numbers they hold, any ``str`` as its text. Only finite values:
:func:`check_finite` refuses the others first (msgspec would write ``NaN``, not JSON)."""


def as_builtins(value: Any) -> Any:
    """``value`` (a Struct, a dataclass, ...) as the dicts, lists and scalars
    :func:`encode_json` would send, Decimals kept as they are (``to_builtins`` alone would
    make them text)."""
    return msgspec.to_builtins(value, builtin_types=(Decimal,), enc_hook=_plain)


def check_sendable(label: str, params: Any) -> None:
    """:func:`check_finite`, then that :func:`encode_json` can send ``params`` at all: for
    a request made now and sent later (a stream, opened again after every reconnect).

    Raises:
        ClientError: naming ``label`` and the problem.
    """
    check_finite(label, params)
    try:
        encode_json(params)
    except ENCODE_ERRORS as exc:
        raise unencodable(label, exc) from None


def utc(name: str, moment: dt.datetime) -> dt.datetime:
    """An aware ``moment`` in UTC; a naive one is refused (whose clock would it be?).

    Raises:
        ClientError: ``moment`` is naive; names the parameter ``name``.
    """
    if moment.utcoffset() is None:
        raise ClientError(f"{name} must be an aware datetime (with a tzinfo, e.g. UTC), not naive")
    return moment.astimezone(dt.UTC)


def epoch_ms(name: str, moment: dt.datetime) -> int:
    """An aware ``moment`` as whole milliseconds since the Unix epoch (exactly: no float
    on the way; a fraction of a millisecond is dropped).

    Raises:
        ClientError: ``moment`` is naive or before 1970; names the parameter ``name``.
    """
    return _since_epoch(name, moment, _MILLISECOND)


def epoch_seconds(name: str, moment: dt.datetime) -> int:
    """An aware ``moment`` as whole seconds since the Unix epoch (a fraction dropped).

    Raises:
        ClientError: ``moment`` is naive or before 1970; names the parameter ``name``.
    """
    return _since_epoch(name, moment, _SECOND)


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND: Final = dt.timedelta(milliseconds=1)
_SECOND: Final = dt.timedelta(seconds=1)


def _since_epoch(name: str, moment: dt.datetime, unit: dt.timedelta) -> int:
    count: int = (utc(name, moment) - _EPOCH) // unit
    if count < 0:
        raise ClientError(f"{name} {moment.isoformat()} is before the Unix epoch (1970)")
    return count


def call_arguments() -> dict[str, Any]:
    """The calling wrapper's arguments by parameter name, as they stand now, without
    ``self`` and ``timeout``: its request members, never a local it assigned (a
    ``locals()`` taken after ``q = ...`` sent ``q`` to the venue)."""
    frame = sys._getframe(1)
    code, values = frame.f_code, frame.f_locals
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return {name: values[name] for name in names if name not in ("self", "timeout")}


def check_finite(label: str, params: Any, path: str = "") -> None:
    """Refuse a NaN or infinite number (a float or a ``Decimal``) anywhere in ``params``,
    nested ones included. ``path`` names ``params`` in the request when they are one
    member of it.

    JSON has neither: msgspec would send a float's as ``null``, which venues read as an
    absent member (an order's minimum quantity, a mass quote's price), and a Decimal's as
    ``NaN``, which is not JSON. A Decimal beyond a double's range (``1E+400``) counts as
    infinite: venues read JSON numbers as doubles, and one that overflows fails the whole
    request's parsing (an error without an id, so the call would wait out its timeout).
    numpy's numbers are looked at as the values they hold.

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
        name = path + where if path else where.removeprefix(".") or "value"
        raise ClientError(f"{label}: parameter {name!r} is {bad!r}; send a finite number")


def _non_finite(value: Any) -> tuple[str, float | Decimal] | None:
    # Where a NaN or infinity sits in one value (("[0].price", nan)), if anywhere.
    if isinstance(value, float):
        return None if _isfinite(value) else ("", value)
    if type(value) in PLAIN or value is None:
        return None
    if isinstance(value, Decimal):
        return None if value.is_finite() and _isfinite(float(value)) else ("", value)
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, list | tuple | set | frozenset):
        items, form = enumerate(value), "[{}]"
    elif isinstance(value, Mapping):
        items, form = value.items(), ".{}"
    else:
        # Structs, dataclasses, numpy's numbers and the like: look at what would be sent.
        try:
            sent = as_builtins(value)
        except Exception:
            return None  # the encoder refuses it with its own error
        return _non_finite(sent)
    for key, item in items:
        tp = type(item)
        if tp in PLAIN or item is None or (tp is float and _isfinite(item)):
            continue  # the usual members, without a call each
        found = _non_finite(item)
        if found is not None:
            return form.format(key) + found[0], found[1]
    return None


def int_bounds(low: int, high: int | None = None) -> str:
    """How :func:`check_int` words its range: ``>= 0`` or ``from 1 to 100``."""
    return f">= {low}" if high is None else f"from {low} to {high}"


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` when it is an int (a bool is not) from ``low`` to ``high`` (no upper bound
    when ``None``): the one rule for counts, sizes, depths and offsets users pass.

    Raises:
        ClientError: naming ``name``, before anything is sent (a negative depth would slice
            from the far end of a book, a str limit would fail a comparison).
    """
    if type(value) is not int or value < low or (high is not None and value > high):
        raise ClientError(f"{name} must be an int {int_bounds(low, high)}, not {value!r}")
    return value


def check_choice(name: str, value: object, choices: tuple[object, ...]) -> object:
    """``value`` when it is one of ``choices`` and of the same type (``True`` is not ``1``):
    the rule for a parameter whose values the venue enumerates.

    Raises:
        ClientError: naming ``name`` and the choices, before anything is sent (the venue's
            answer to an unlisted value is undocumented, if it answers at all).
    """
    # The type first: a value that compares by elements (a numpy array) must not compare.
    if not any(type(value) is type(c) and value == c for c in choices):
        listed = ", ".join(map(repr, choices))
        raise ClientError(f"{name} must be one of {listed}, not {value!r}")
    return value


def check_length(name: str, value: object, limit: int) -> None:
    """Refuse a ``value`` for a string parameter that is not a str, or that is longer than
    the venue's ``limit`` (``None``, not sent, passes): the rule for labels and names.

    Raises:
        ClientError: naming ``name`` and the limit, before anything is sent (the venue
            refuses such a value, or can match nothing by it: no order carries it).
    """
    if value is None:
        return
    if not isinstance(value, str):  # a subclass too (a StrEnum's member): sent as its text
        raise ClientError(f"{name} must be a str, not {type(value).__name__} {value!r}")
    if len(value) > limit:
        raise ClientError(f"{name} is {len(value)} characters; the venue allows at most {limit}")
