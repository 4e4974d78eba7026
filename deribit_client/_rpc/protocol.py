"""Sans-I/O JSON-RPC 2.0 protocol: requests become bytes, incoming bytes become typed events.

Implements the engine's :class:`~deribit_client._core.protocol.WireProtocol`. Rules of this
module: it never awaits, never reads a clock and never raises out of :meth:`RpcProtocol.receive`;
anything unexpected on the wire becomes an event. It owns the pending-request table and queues
its own automatic replies (the ``test_request`` heartbeat answer) for ``data_to_send``. Which
error a lost order gets is venue policy, injected as an ``OutcomeRule``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any, Generic, Protocol, TypeVar, cast

import msgspec

from .._core.decoding import check_decodable
from .._core.errors import (
    ClientError,
    DeribitError,
    ProtocolError,
    RequestTooLarge,
    ResponseDecodeError,
)
from .._core.protocol import (
    LateReply,
    OutcomeRule,
    PendingRequests,
    Reply,
    Route,
    Violation,
)
from .._core.values import ENCODE_ERRORS, PLAIN, check_finite, epoch_ms, unencodable
from .._errors import error_from_code
from .codec import (
    DECODE_ERRORS,
    REPLY_DECODERS,
    decode_envelope,
    decoder_for,
    encode,
    reply_decoder,
)
from .methods import MAX_FRAME_BYTES
from .wire import Envelope, ErrorObject, Notification, NotificationParams, Request

__all__ = [
    "ChannelRoute",
    "Event",
    "Heartbeat",
    "LateReply",
    "Notification",
    "NotificationParams",
    "OutcomeRule",
    "Reply",
    "RpcProtocol",
    "UnmatchedReply",
    "Violation",
    "decode_reply",
]

W = TypeVar("W")

_error_decoder = msgspec.json.Decoder(ErrorObject)
_INTERNAL: Any = object()  # result_type of requests the protocol sends by itself
_MAX_ID_DIGITS = 19  # our ids are 64-bit integers; longer digit strings are not ours


class ChannelRoute(Route, Protocol):
    """A subscribed channel as the protocol sees it: a :class:`Route` with a decoder of its
    whole notification frame (``codec.notification_decoder``), for the one-parse fast path.

    With ``raw_frames`` true, a frame the protocol knows to be a notification of this
    channel is delivered undecoded (``bytes``): its subscriber decodes it with
    ``frame_decoder`` when it takes it (see ``Stream.decode_frames``).
    """

    frame_decoder: msgspec.json.Decoder[Any]
    raw_frames: bool


class Heartbeat:
    """A ``heartbeat`` message; for ``test_request`` the answer is already queued."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind


class UnmatchedReply:
    """A reply whose id is not pending: ``late`` if we issued the id and gave up on it."""

    __slots__ = ("late", "request_id")

    def __init__(self, request_id: int | str | None, late: bool) -> None:
        self.request_id = request_id
        self.late = late


Event = (
    Reply[Any]
    | tuple[ChannelRoute, Notification[Any] | bytes]
    | NotificationParams
    | Heartbeat
    | UnmatchedReply
    | LateReply
    | Violation
    | None
)
"""What :meth:`RpcProtocol.receive` returns; ``None`` means nothing to act on."""


class _Pending(msgspec.Struct, Generic[W], gc=False):
    # Built in C per request and never GC-tracked: nothing it holds refers back to it.
    method: str
    params: dict[str, Any]
    result_type: Any
    waiter: W
    deadline: float = math.inf
    timeout: float = 0.0
    decoder: msgspec.json.Decoder[Any] | None = None
    """Decodes a whole successful reply (see ``reply_decoder``); None for internal requests."""


class RpcProtocol(PendingRequests[W, _Pending[W]]):
    """The JSON-RPC state of one connection; ``W`` is whatever the driver waits on (a future).

    Args:
        ids: request id source; injectable so tests get deterministic ids.
        max_frame_bytes: refuse to encode requests larger than this (Deribit: 32 kB).
        routes: channel name (bytes) -> :class:`ChannelRoute`. A notification of a routed
            channel is parsed once, straight into its typed :class:`Notification`, and
            returned as ``(route, notification)`` (``(route, frame)`` for a route that takes
            raw frames). Shared with, and filled by, the subscription side.
        outcome: the venue's rule for requests whose reply is lost (see
            :class:`OutcomeRule`).
    """

    def __init__(
        self,
        *,
        ids: Iterator[int] | None = None,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        routes: dict[bytes, ChannelRoute] | None = None,
        outcome: OutcomeRule | None = None,
    ) -> None:
        super().__init__(outcome)
        self._ids = ids if ids is not None else itertools.count(1)
        self.routes = routes if routes is not None else {}
        # The previous notification's bytes up to its channel name, and that name: a stream
        # of one channel then skips the search (and the key's hash is cached). Whether that
        # prefix is a notification's head: only then may a frame reach a route undecoded (a
        # reply can carry a "channel" member too; decoding is what tells them apart).
        self._last_prefix = b"\x00"
        self._last_channel = b""
        self._last_is_notification = False
        self._max_frame = max_frame_bytes
        self._highest_id = 0
        self.late_replies = 0
        """Replies that arrived after their caller gave up (timeout or cancellation)."""
        self.unknown_replies = 0
        """Replies carrying an id this connection never issued."""
        self.violations = 0
        """Frames that were not valid JSON-RPC, or errors without a usable id."""

    # -- outgoing -----------------------------------------------------------------------

    def prepare_request(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: Any,
        access_token: str | None,
        waiter: W,
        deadline: float = math.inf,
        timeout: float = 0.0,
    ) -> tuple[int, bytes]:
        """Register a pending request and return ``(id, frame)``.

        The argument order lets the connection driver append ``waiter, deadline, timeout``
        to the venue's own arguments.

        ``None``-valued params are omitted (Deribit wants absent, not ``null``).
        ``access_token`` is added to the sent params only, never to what errors carry.
        ``deadline`` (in the driver's clock) and ``timeout`` are kept for :meth:`expire`.

        Raises:
            ClientError: the method is not a string, params are not a mapping or cannot be
                encoded (a NaN or infinite number included), or ``result_type`` cannot be
                decoded into.
            RequestTooLarge: the frame exceeds the frame limit.
        """
        if type(method) is not str:
            raise ClientError(f"method must be a str such as 'public/get_time', not {method!r}")
        # The usual case inline (a call per request saved): a dict of plain values has
        # nothing to drop and no number to check.
        if type(params) is dict:
            clean = params
            for value in params.values():
                if type(value) not in PLAIN:
                    clean = _clean_params(method, params)
                    break
        else:
            clean = _clean_params(method, params)
        if result_type is _INTERNAL:
            decoder = None
        else:
            try:
                decoder = REPLY_DECODERS[result_type]
            except (KeyError, TypeError):  # first use (checked there), or an unhashable type
                decoder = reply_decoder(result_type)
        sent = clean if access_token is None else {**clean, "access_token": access_token}
        request_id = next(self._ids)
        try:
            frame = encode(Request("2.0", request_id, method, sent))
        except ENCODE_ERRORS as exc:
            raise unencodable(method, exc) from None
        if len(frame) > self._max_frame:
            raise RequestTooLarge(
                f"{method} request is {len(frame)} bytes; Deribit accepts at most "
                f"{self._max_frame} bytes per frame"
            )
        self._pending[request_id] = _Pending(
            method, clean, result_type, waiter, deadline, timeout, decoder
        )
        if request_id > self._highest_id:
            self._highest_id = request_id
        return request_id, frame

    # -- giving up on requests (the rest is PendingRequests') ----------------------------

    def connection_lost(self, reason: str) -> list[tuple[W, DeribitError]]:
        """Fail every pending request at once; nothing is re-sent. Returns (waiter, error)."""
        return self._fail_all(reason, lambda entry: entry.result_type is not _INTERNAL)

    # -- incoming -----------------------------------------------------------------------

    def receive(self, frame: bytes | str) -> Event:
        """Classify one incoming frame. Never raises: problems become :class:`Violation`.

        Fast paths parse a frame once, straight into its final type, after finding the
        channel or id among its first bytes; any surprise falls through to the generic
        path, which classifies the frame from a permissive envelope.
        """
        try:
            if type(frame) is bytes:
                channel: bytes | None = None
                at = -1  # where a reply's id value starts, once found
                if frame.startswith(self._last_prefix):
                    channel = self._last_channel
                elif frame.startswith(_REPLY_HEAD):
                    at = _REPLY_HEAD_LEN  # how Deribit starts every reply: the id follows
                else:
                    start = frame.find(b'"channel":"', 0, 128)
                    if start != -1:
                        start += 11
                        end = frame.find(b'"', start)
                        channel = self._last_channel = frame[start:end]
                        prefix = self._last_prefix = frame[: end + 1]
                        self._last_is_notification = prefix.startswith(_NOTIFICATION_HEAD)
                    else:
                        at = frame.find(b'"id":', 0, 64)
                        if at != -1:
                            at += 5
                if channel is not None:
                    route = self.routes.get(channel)
                    if route is not None:
                        if route.raw_frames and self._last_is_notification:
                            return (route, frame)
                        try:
                            return (route, route.frame_decoder.decode(frame).params)
                        except DECODE_ERRORS:
                            # Not the expected shape: let the generic path say why.
                            return self._classify(frame, route)
                elif at != -1:
                    # A reply with a numeric id: decoded once, straight into its caller's
                    # type (inline: this runs once per call). A string or null id, an
                    # error, an internal request or a result that does not fit go on to
                    # the generic path.
                    end = frame.find(b",", at, at + 24)
                    digits = frame[at:end] if end != -1 else b""  # -1: no slice to the end
                    if digits.isdigit():
                        rid = int(digits)
                        entry = self._pending.get(rid)
                        if entry is not None and entry.decoder is not None:
                            try:
                                env = entry.decoder.decode(frame)
                            except DECODE_ERRORS:
                                env = None
                            # The id found by scanning may sit inside a member before the
                            # real one (a `result` that precedes `id`): only the decoded
                            # envelope's id may resolve a waiter.
                            if env is not None and not env.error and env.id == rid:
                                del self._pending[rid]
                                return Reply(entry.waiter, rid, entry.method, env.result, None, env)
            return self._classify(frame, None)
        except Exception as exc:  # no input may end the read loop; count and describe it
            self.violations += 1
            return Violation(f"frame could not be processed: {exc!r}", frame)

    def _classify(self, frame: bytes | str, route: ChannelRoute | None) -> Event:
        try:
            env = decode_envelope(frame)
        except DECODE_ERRORS as exc:
            self.violations += 1
            return Violation(f"not a JSON-RPC object: {exc!r}", frame, route=route)
        params = env.params
        if params is not None and env.id is None:
            if env.method == "subscription":
                if route is not None:  # its channel's model did not fit the data
                    self.violations += 1
                    return Violation(
                        f"notification of {params.channel} does not fit its model",
                        frame,
                        None,
                        route,
                    )
                return params
            if env.method == "heartbeat":
                if params.type == "test_request":
                    # Deribit closes the socket unless public/test follows (REFERENCE.md 1).
                    self._queue_internal("public/test")
                return Heartbeat(params.type or "heartbeat")
        request_id = env.id
        if request_id is None:
            self.violations += 1
            error = _error_of(env, None, None)
            reason = f"error without id: {error}" if error is not None else "frame without id"
            return Violation(reason, frame, error)
        rid = _numeric_id(request_id)
        if rid is None:
            return self._unmatched(request_id, rid)
        entry = self._pending.pop(rid, None)
        if entry is None:
            entry = self.unsettled(rid)
            if entry is None:
                return self._unmatched(request_id, rid)
            # A mutation whose outcome we called unknown: now it is known.
            self.late_replies += 1
            return self.settle(rid, _reply(entry, rid, env, _error_of(env, entry.method, rid)))
        if entry.result_type is _INTERNAL:  # our own heartbeat answer came back
            return None
        return _reply(entry, rid, env, _error_of(env, entry.method, rid))

    # -- internals ----------------------------------------------------------------------

    def _unmatched(self, request_id: int | str, numeric: int | None) -> UnmatchedReply:
        late = numeric is not None and 0 < numeric <= self._highest_id
        if late:
            self.late_replies += 1
        else:
            self.unknown_replies += 1
        return UnmatchedReply(request_id, late)

    def _queue_internal(self, method: str) -> None:
        # Internal requests have no waiter; _INTERNAL marks them so replies are swallowed.
        _, frame = self.prepare_request(method, None, _INTERNAL, None, cast(W, None))
        self._outbox.append(frame)


_REPLY_HEAD = b'{"jsonrpc":"2.0","id":'
_REPLY_HEAD_LEN = len(_REPLY_HEAD)
# How Deribit starts every notification (REFERENCE.md 1); the channel's name follows.
_NOTIFICATION_HEAD = b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"'


def _numeric_id(request_id: int | str) -> int | None:
    if isinstance(request_id, int):
        return request_id
    # Our ids are integers; tolerate a peer that echoes them as decimal strings (ASCII digits
    # only: str.isdigit() also accepts "²", which int() refuses).
    if request_id.isascii() and request_id.isdigit() and len(request_id) <= _MAX_ID_DIGITS:
        return int(request_id)
    return None


def _error_of(env: Envelope, method: str | None, rid: int | None) -> DeribitError | None:
    if not env.error:
        return None
    try:
        obj = _error_decoder.decode(env.error)
    except DECODE_ERRORS as exc:
        return ProtocolError(f"malformed error object in reply to {method}: {exc}")
    return error_from_code(obj.code, obj.message, obj.data, method=method, request_id=rid)


_isfinite = math.isfinite


def _clean_params(method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    # The params prepare_request cannot pass through as they are: None, another mapping,
    # None values to drop, moments to convert, numbers to check.
    if params is None:
        return {}
    if type(params) is not dict and not isinstance(params, Mapping):  # ABC checks cost ~0.2 us
        raise ClientError(
            f"params of {method} must be a mapping of parameter names to values, "
            f"not {type(params).__name__}"
        )
    rebuild = False
    for name, value in params.items():
        tp = type(value)
        if tp in PLAIN or (tp is float and _isfinite(value)):
            continue  # the usual members, without a call each
        if value is None or isinstance(value, dt.datetime):
            rebuild = True
        else:
            check_finite(method, value, name)
    if rebuild:
        # Deribit counts every moment in milliseconds since the epoch (its `timestamp`
        # schema); msgspec would send a datetime as ISO text, refused as 'wrong format'.
        return {
            name: epoch_ms(name, value) if isinstance(value, dt.datetime) else value
            for name, value in params.items()
            if value is not None
        }
    return params if type(params) is dict else dict(params)


def _reply(entry: _Pending[Any], rid: int, env: Envelope, error: DeribitError | None) -> Reply[Any]:
    if error is not None:
        return Reply(entry.waiter, rid, entry.method, None, error, env)
    if not env.result:
        problem = ProtocolError(f"reply to {entry.method} (id {rid}) has neither result nor error")
        return Reply(entry.waiter, rid, entry.method, None, problem, env)
    try:
        value = decoder_for(entry.result_type).decode(env.result)
    except DECODE_ERRORS as exc:
        problem = ResponseDecodeError(
            f"result of {entry.method} (id {rid}) does not match {_type_name(entry.result_type)}: "
            f"{exc}"
        )
        return Reply(entry.waiter, rid, entry.method, None, problem, env)
    return Reply(entry.waiter, rid, entry.method, value, None, env)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def decode_reply(method: str, frame: bytes | str, result_type: Any = Any) -> Reply[None]:
    """Decode one recorded response envelope the way the client's general path does: the
    same models, the same error mapping, the same ResponseDecodeError for misfits.

    Returns a :class:`Reply` with ``value`` set, or with ``error`` set to the typed error.

    Raises:
        ProtocolError: the frame is not a JSON-RPC response (or not JSON at all).
        ClientError: ``result_type`` cannot be decoded into.
    """
    check_decodable(result_type)
    try:
        env = decode_envelope(frame)
    except DECODE_ERRORS as exc:
        raise ProtocolError(f"not a JSON-RPC response: {exc!r}") from None
    rid = env.id if isinstance(env.id, int) else 0
    entry: _Pending[None] = _Pending(method, {}, result_type, None)
    return _reply(entry, rid, env, _error_of(env, method, rid))
