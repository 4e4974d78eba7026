"""Decoders per type, for any venue: which types a reply or item can be decoded into, and a
cache that builds each decoder once (and refuses a type no value could ever fit)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import msgspec

from .errors import ClientError

__all__ = ["DecoderCache", "check_decodable", "dec_hook", "value_decoder"]

Decoder = msgspec.json.Decoder[Any]


def dec_hook(tp: Any, obj: Any) -> Any:
    """The ``dec_hook`` of every decoder here: msgspec calls it only for types it cannot
    decode natively; plain classes that define ``_from_json`` (untagged unions of Structs,
    say) decode themselves."""
    from_json = getattr(tp, "_from_json", None)
    if from_json is None:
        # TypeError, not NotImplementedError: msgspec turns it into a ValidationError.
        raise TypeError(f"cannot decode into {tp!r}")
    try:
        return from_json(obj)
    except (TypeError, ValueError):
        raise  # msgspec reports these as a ValidationError of the value
    except Exception as exc:
        # Anything else would escape the decoder as itself: the protocol would not know it
        # for a misfit result, and the reply would be lost to its caller.
        raise ValueError(f"{getattr(tp, '__name__', tp)}._from_json failed: {exc!r}") from exc


def value_decoder(tp: Any) -> Decoder:
    """A decoder of a JSON value of type ``tp`` (a result, a payload, an item), with the
    ``_from_json`` hook: what a :class:`DecoderCache` of plain values builds."""
    return msgspec.json.Decoder(tp, dec_hook=dec_hook)


_checked: set[Any] = set()


def check_decodable(tp: Any, argument: str = "result_type") -> None:
    """Refuse, before anything is sent, a type no value could ever be decoded into.

    msgspec accepts any class when building a decoder and fails only per value; a plain
    class without ``_from_json`` would make every reply a decode error, after the request
    (an order, say) had gone out.

    Raises:
        ClientError: the type is not one msgspec can decode into; the message names
            ``argument``, the parameter the caller passed it as.
    """
    try:
        if tp in _checked:
            return
    except TypeError:  # unhashable type expression: check it every time
        pass
    try:
        info = msgspec.inspect.type_info(tp)
    except (TypeError, ValueError) as exc:
        raise _bad_type(tp, argument, str(exc)) from None
    bad = _custom_without_decoder(info, set())
    if bad is not None:
        raise _bad_type(tp, argument, f"{bad!r} is neither a msgspec type nor defines _from_json")
    with contextlib.suppress(TypeError):  # unhashable: not cached
        _checked.add(tp)


class DecoderCache:
    """``cache(tp)``: the decoder ``build(tp)`` made for ``tp``, built once per type.

    A type is checked (:func:`check_decodable`) before its first decoder is built. An
    unhashable type expression (``Annotated`` with a dict, say) cannot key the cache: it is
    checked and built on every use rather than failing where its reply arrives.

    Attributes:
        cache: type -> decoder, for a caller on a hot path that subscripts it and calls
            this object only on a miss (``KeyError`` or ``TypeError``).
    """

    __slots__ = ("_argument", "_build", "cache")

    def __init__(self, build: Callable[[Any], Decoder], argument: str = "result_type") -> None:
        self._build = build
        self._argument = argument
        self.cache: dict[Any, Decoder] = {}

    def __call__(self, tp: Any) -> Decoder:
        try:
            return self.cache[tp]
        except KeyError:
            hashable = True
        except TypeError:
            hashable = False
        check_decodable(tp, self._argument)
        decoder = self._build(tp)
        if hashable:
            self.cache[tp] = decoder
        return decoder


def _bad_type(tp: Any, argument: str, why: str) -> ClientError:
    return ClientError(f"{argument} {tp!r} cannot be decoded into: {why}")


def _custom_without_decoder(info: Any, seen: set[int]) -> Any:
    if id(info) in seen:
        return None
    seen.add(id(info))
    if isinstance(info, msgspec.inspect.CustomType):
        return None if hasattr(info.cls, "_from_json") else info.cls
    for child in _children(info):
        bad = _custom_without_decoder(child, seen)
        if bad is not None:
            return bad
    return None


def _children(info: Any) -> list[Any]:
    if isinstance(info, msgspec.inspect.StructType | msgspec.inspect.DataclassType):
        return [field.type for field in info.fields]
    if isinstance(info, msgspec.inspect.UnionType):
        return list(info.types)
    if isinstance(info, msgspec.inspect.TupleType):
        return list(info.item_types)
    if isinstance(info, msgspec.inspect.DictType):
        return [info.key_type, info.value_type]
    item = getattr(info, "item_type", None)  # list, set, frozenset, var-length tuple
    return [item] if item is not None else []
