"""The only owner of the JSON-RPC msgspec decoders (and the one place its encoder is named):
built once, reused for every frame."""

from __future__ import annotations

from typing import Any

import msgspec

from .._core.decoding import DecoderCache, dec_hook, value_decoder
from .._core.values import encode_json
from .wire import EMPTY_RAW, Envelope, EnvelopeMeta, Notification

__all__ = [
    "DECODE_ERRORS",
    "REPLY_DECODERS",
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

encode = encode_json
"""Encode a request to JSON bytes: the venue-neutral encoder (``_core.values.encode_json``;
Decimals and numpy's numbers as numbers)."""

decode_envelope = msgspec.json.Decoder(Envelope).decode
"""Decode one incoming frame (bytes or str) into an :class:`Envelope`."""

decoder_for = DecoderCache(value_decoder)
"""``decoder_for(tp)``: the cached decoder of a value of type ``tp`` (a result, a payload)."""


def _notification_frame_decoder(payload_type: Any) -> msgspec.json.Decoder[Any]:
    frame = msgspec.defstruct(
        "NotificationFrame",
        [("method", str), ("params", Notification[payload_type])],
        gc=False,
    )
    return msgspec.json.Decoder(frame, dec_hook=dec_hook)


notification_decoder = DecoderCache(_notification_frame_decoder, "payload type")
"""``notification_decoder(tp)``: a decoder of a whole ``subscription`` frame whose
``params`` is a typed :class:`Notification`: one parse from bytes to the subscriber's object."""


def _reply_frame_decoder(result_type: Any) -> msgspec.json.Decoder[Any]:
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
    return msgspec.json.Decoder(frame, dec_hook=dec_hook)


reply_decoder = DecoderCache(_reply_frame_decoder)
"""``reply_decoder(tp)``: a decoder of a whole successful response with ``result`` typed as
``tp``; raises ClientError for a type no reply could be decoded into."""
REPLY_DECODERS = reply_decoder.cache
"""Its cache, for a caller that looks a type up first (a subscript per request instead of a
call)."""
