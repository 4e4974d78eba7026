"""The only owner of msgspec JSON encoders and decoders: built once, reused for every frame."""

from __future__ import annotations

from typing import Any

import msgspec

from .wire import Envelope

__all__ = ["decode_envelope", "decoder_for", "encode"]

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
