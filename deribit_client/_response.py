"""Results with their envelope metadata, and offline decoding of recorded responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ._catalogue import result_type_of
from ._catalogue.payloads import payload_type
from ._core.errors import ProtocolError
from ._core.protocol import Reply
from ._rpc.codec import DECODE_ERRORS, decode_envelope, decoder_for
from ._rpc.protocol import Heartbeat, decode_reply
from ._rpc.wire import Notification

__all__ = ["Response", "decode_notification", "decode_response", "decode_response_with_meta"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Response(Generic[T]):
    """A decoded result plus Deribit's envelope metadata.

    Attributes:
        result: the decoded ``result`` member.
        method: the JSON-RPC method.
        request_id: the id the reply carried.
        us_in: server receive time, **microseconds** since the epoch (``usIn``).
        us_out: server send time, microseconds (``usOut``).
        us_diff: server processing time, microseconds (``usDiff``).
        testnet: whether the reply came from testnet.
    """

    result: T
    method: str
    request_id: int
    us_in: int | None
    us_out: int | None
    us_diff: int | None
    testnet: bool | None

    @classmethod
    def from_reply(cls, reply: Reply[Any]) -> Response[Any]:
        """Wrap a successful protocol :class:`Reply`."""
        env = reply.envelope
        return cls(
            reply.value,
            reply.method,
            reply.request_id,  # type: ignore[arg-type]  # JSON-RPC ids here are ints
            _micros(env.usIn),
            _micros(env.usOut),
            _micros(env.usDiff),
            env.testnet if type(env.testnet) is bool else None,
        )


def _micros(value: Any) -> int | None:
    """A well-formed microsecond count, or ``None`` for anything else the server sent."""
    return value if type(value) is int else None


def _decode(method: str, frame: bytes | str, result_type: Any) -> Reply[None]:
    tp = result_type_of(method) if result_type is None else result_type
    reply = decode_reply(method, frame, tp)
    if reply.error is not None:
        raise reply.error
    return reply


def decode_response(method: str, frame: bytes | str, result_type: Any = None) -> Any:
    """Decode a recorded response envelope with the client's models and error mapping.

    Args:
        method: the JSON-RPC method the response answers (selects the result type).
        frame: the whole envelope, as bytes or str.
        result_type: override the type (any msgspec-decodable type); by default the type
            the typed wrapper of ``method`` returns, or plain JSON values if none exists.

    Returns:
        The typed result.

    Raises:
        RpcError: the envelope carries an error (the subclass matching its code).
        ProtocolError: the frame is not a JSON-RPC response, or does not fit the type.
    """
    return _decode(method, frame, result_type).value


def decode_response_with_meta(
    method: str, frame: bytes | str, result_type: Any = None
) -> Response[Any]:
    """Like :func:`decode_response`, returning a :class:`Response` with ``usIn`` etc."""
    return Response.from_reply(_decode(method, frame, result_type))


def decode_notification(frame: bytes | str) -> Notification[Any] | Heartbeat:
    """Decode a recorded ``subscription`` (or ``heartbeat``) frame with the client's models:
    the channel's payload type comes from the catalogue (plain JSON for unknown families).

    Raises:
        ProtocolError: the frame is not a notification, or its data does not fit.
    """
    try:
        env = decode_envelope(frame)
        params = env.params
        if params is None or env.id is not None:
            raise ProtocolError("not a notification (no params, or an id: a response?)")
        if env.method == "heartbeat":
            return Heartbeat(params.type or "heartbeat")
        if env.method != "subscription":
            raise ProtocolError(f"not a notification: method {env.method!r}")
        data = decoder_for(payload_type(params.channel)).decode(params.data)
    except DECODE_ERRORS as exc:
        raise ProtocolError(f"not a decodable notification: {exc!r}") from None
    return Notification(params.channel, data, params.label)
