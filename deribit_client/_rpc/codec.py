"""The only owner of msgspec JSON encoders and decoders: built once, reused for every frame."""

from __future__ import annotations

from typing import Any

import msgspec

from .wire import EMPTY_RAW, Envelope, EnvelopeMeta, Notification

__all__ = [
    "decode_envelope",
    "decoder_for",
    "encode",
    "notification_decoder",
    "reply_decoder",
]

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
        raise NotImplementedError(f"cannot decode into {tp!r}")
    return from_json(obj)


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
            [("result", result_type), ("error", msgspec.Raw, EMPTY_RAW)],
            bases=(EnvelopeMeta,),
            kw_only=True,  # a required field after the base's optional ones
            gc=False,
        )
        decoder = msgspec.json.Decoder(frame, dec_hook=_dec_hook)
        _reply_decoders[result_type] = decoder
    return decoder
