"""The only owner of msgspec JSON encoders and decoders: built once, reused for every frame."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec

from .wire import EMPTY_RAW, Envelope, EnvelopeMeta, Notification

__all__ = [
    "DECODE_ERRORS",
    "check_result_type",
    "decode_envelope",
    "decoder_for",
    "encode",
    "notification_decoder",
    "reply_decoder",
]

DECODE_ERRORS = (msgspec.DecodeError, RecursionError, ValueError)
"""What decoding one frame can raise: malformed or misfit JSON (DecodeError, ValidationError),
nesting deeper than the stack (RecursionError), invalid UTF-8 in bytes or lone surrogates in a
str (UnicodeDecodeError/UnicodeEncodeError, both ValueErrors)."""

_encoder = msgspec.json.Encoder()
encode = _encoder.encode
"""Encode any msgspec-supported value to JSON bytes."""

decode_envelope = msgspec.json.Decoder(Envelope).decode
"""Decode one incoming frame (bytes or str) into an :class:`Envelope`."""

_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def _dec_hook(tp: Any, obj: Any) -> Any:
    # msgspec calls this only for types it cannot decode natively: plain classes that define
    # ``_from_json`` (e.g. untagged unions of Structs such as CancelReport) decode themselves.
    from_json = getattr(tp, "_from_json", None)
    if from_json is None:
        # TypeError, not NotImplementedError: msgspec turns it into a ValidationError.
        raise TypeError(f"cannot decode into {tp!r}")
    return from_json(obj)


_checked: set[Any] = set()


def check_result_type(result_type: Any) -> None:
    """Refuse, before anything is sent, a result type no reply could ever be decoded into.

    msgspec accepts any class when a ``dec_hook`` is set and fails only per value; a plain
    class without ``_from_json`` would make every reply to the call a decode error.

    Raises:
        ClientError: the type is not one msgspec can decode into.
    """
    try:
        if result_type in _checked:
            return
    except TypeError:  # unhashable type expression: check it every time
        pass
    try:
        info = msgspec.inspect.type_info(result_type)
    except (TypeError, ValueError) as exc:
        raise _bad_type(result_type, str(exc)) from None
    bad = _custom_without_decoder(info, set())
    if bad is not None:
        raise _bad_type(result_type, f"{bad!r} is neither a msgspec type nor defines _from_json")
    with contextlib.suppress(TypeError):  # unhashable: not cached
        _checked.add(result_type)


def _bad_type(result_type: Any, why: str) -> Exception:
    from .._core.errors import ClientError

    return ClientError(f"result_type {result_type!r} cannot be decoded into: {why}")


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


def decoder_for(result_type: Any) -> msgspec.json.Decoder[Any]:
    """Return the cached decoder for ``result_type`` (any type msgspec understands)."""
    try:
        return _decoders[result_type]
    except KeyError:
        decoder = _decoders[result_type] = msgspec.json.Decoder(result_type, dec_hook=_dec_hook)
        return decoder
    except TypeError:  # unhashable type expression: build one each time rather than fail
        return msgspec.json.Decoder(result_type, dec_hook=_dec_hook)


_notification_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_reply_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def notification_decoder(payload_type: Any) -> msgspec.json.Decoder[Any]:
    """A decoder of a whole ``subscription`` frame whose ``params`` is a typed
    :class:`Notification`: one parse from bytes to the subscriber's object."""
    decoder = _notification_decoders.get(payload_type)
    if decoder is None:
        frame = msgspec.defstruct(
            "NotificationFrame",
            [("method", str), ("params", Notification[payload_type])],
            gc=False,
        )
        decoder = msgspec.json.Decoder(frame, dec_hook=_dec_hook)
        _notification_decoders[payload_type] = decoder
    return decoder


def reply_decoder(result_type: Any) -> msgspec.json.Decoder[Any]:
    """A decoder of a whole successful response with ``result`` typed as ``result_type``."""
    decoder = _reply_decoders.get(result_type)
    if decoder is None:
        frame = msgspec.defstruct(
            "ReplyFrame",
            [
                ("result", result_type),
                ("id", int | str | None, None),
                ("error", msgspec.Raw, EMPTY_RAW),
            ],
            bases=(EnvelopeMeta,),
            kw_only=True,  # a required field after the base's optional ones
            gc=False,
        )
        decoder = msgspec.json.Decoder(frame, dec_hook=_dec_hook)
        _reply_decoders[result_type] = decoder
    return decoder
