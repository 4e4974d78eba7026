"""Sans-I/O Exberry stream protocol: ``q``/``sid``/``d``/``sig`` frames in, engine events out.

Implements the engine's :class:`~deribit_client._core.protocol.WireProtocol`. Rules: it never
awaits, reads a clock or raises out of :meth:`ExberryProtocol.receive`. Stream ids are
allocated per socket and never handed out while their stream is open or closing (a closed
stream's sid is freed when the server's closing frame arrives, with the connection, or once
:data:`_HELD_SIDS` newer sids are held: a confirmation may never come).

- A *request* (short-lived stream) collects its ``d`` items and resolves its waiter when
  ``sig: 1`` arrives (``sig: 2`` fails it with the typed :class:`ExberryError`).
- A *long-lived stream* hands each ``d`` to its route as ``(route, item)``, decoded once,
  straight from the frame into the route's item type; ``sig: 1/2/3`` end it with a
  :class:`StreamClosed` event.
- Frames that are not JSON, unknown sids and items that do not fit are counted, never
  fatal. Which error a lost order gets is venue policy, injected as an ``OutcomeRule``.
"""

from __future__ import annotations

import math
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from .._core.decoding import DecoderCache, dec_hook, value_decoder
from .._core.errors import DeribitError, ProtocolError
from .._core.protocol import OutcomeRule, PendingRequests, Reply, Route, Violation
from .._core.values import ENCODE_ERRORS, check_finite, encode_json, unencodable
from .errors import exberry_error
from .wire import ErrorData, Frame, Request

__all__ = ["ExberryProtocol", "StreamClosed", "StreamRoute", "frame_decoder"]

W = TypeVar("W")

_DECODE_ERRORS = (msgspec.DecodeError, RecursionError, ValueError)
_decode_frame = msgspec.json.Decoder(Frame).decode
_decode_error = msgspec.json.Decoder(ErrorData).decode
_encode = encode_json
_MAX_SID = 2**31 - 1
_ECHOES = frozenset({"v1/heartbeat/ping"})
_HELD_SIDS = 1_024
"""Sids held back for a closing frame that may never come (a ``sig: 1`` trailing an echo,
the confirmation of a ``sig: 3``): it comes right behind, and sids are not reused before
2**31 others, so holding the newest this many is enough (holding every one would grow for
the socket's whole life)."""


def _item_frame_decoder(item_type: Any) -> msgspec.json.Decoder[Any]:
    frame = msgspec.defstruct(
        "ItemFrame",
        [("sid", int), ("d", item_type), ("q", str | None, None), ("sig", int | None, None)],
        gc=False,
    )
    return msgspec.json.Decoder(frame, dec_hook=dec_hook)


frame_decoder = DecoderCache(_item_frame_decoder, "item_type")
"""``frame_decoder(tp)``: a decoder of a whole item frame whose ``d`` is ``tp``: one parse
per item; raises ClientError for a type no item could be decoded into."""
_item_decoder = DecoderCache(value_decoder, "item_type")


class StreamRoute(Route, Protocol):
    """A long-lived stream as the protocol sees it: where items go, and their decoder."""

    frame_decoder: msgspec.json.Decoder[Any]


class StreamClosed:
    """A long-lived stream ended: by the server (``error`` for ``sig: 2``) or confirmed."""

    __slots__ = ("error", "q", "route", "sid")

    def __init__(self, route: Any, q: str, sid: int, error: DeribitError | None) -> None:
        self.route = route
        self.q = q
        self.sid = sid
        self.error = error


class _Pending(Generic[W]):
    # ``method``/``params`` hold the request's ``q``/``d`` (PendingRequests reads them).
    __slots__ = ("deadline", "decoder", "items", "many", "method", "params", "timeout", "waiter")

    def __init__(
        self,
        q: str,
        d: dict[str, Any],
        item_type: Any,
        many: bool,
        waiter: W,
        deadline: float,
        timeout: float,
    ) -> None:
        self.method = q
        self.params = d
        self.decoder = _item_decoder(item_type)
        self.many = many
        self.waiter = waiter
        self.deadline = deadline
        self.timeout = timeout
        self.items: list[Any] = []


class ExberryProtocol(PendingRequests[W, _Pending[W]]):
    """The stream state of one Exberry socket; ``W`` is what the driver waits on.

    Args:
        outcome: the venue's rule for a request whose reply is lost (its ``lost_error``
            takes ``(q, d, sid, error)``).
        token: the Market Data API's public-mode routing token, sent with every frame.
    """

    def __init__(self, *, outcome: OutcomeRule | None = None, token: str | None = None) -> None:
        super().__init__(outcome)
        self._token = token
        self._next_sid = 1
        self._streams: dict[int, tuple[StreamRoute, str]] = {}
        self._closing: dict[int, None] = {}  # held sids, oldest first (see _hold)
        # The start of the last stream item, through its sid (see receive).
        self._item_prefix = b"\x00"
        self._item_sid = 0
        self.violations = 0
        """Frames that are not JSON or not Exberry frames."""
        self.unknown_sids = 0
        """Frames for a sid that is not open (late items of a cancelled request included)."""

    # -- outgoing -----------------------------------------------------------------------

    def _sid(self) -> int:
        sid = self._next_sid
        while sid in self._pending or sid in self._streams or sid in self._closing:
            sid = sid + 1 if sid < _MAX_SID else 1
        self._next_sid = sid + 1 if sid < _MAX_SID else 1
        return sid

    def prepare_request(
        self,
        q: str,
        d: dict[str, Any],
        item_type: Any,
        many: bool,
        waiter: W,
        deadline: float = math.inf,
        timeout: float = 0.0,
    ) -> tuple[int, bytes]:
        """Register a request (a short-lived stream) and return ``(sid, frame)``.

        Its waiter gets the one ``d`` decoded into ``item_type`` (``None`` if the server
        sent none), or with ``many`` the list of every ``d``, when ``sig: 1`` arrives.

        Raises:
            ClientError: ``d`` holds a NaN or infinite number (JSON would carry ``null``),
                or a value JSON cannot carry.
        """
        check_finite(q, d)
        sid = self._sid()
        try:
            frame = _encode(Request(q, sid, d, token=self._token))
        except ENCODE_ERRORS as exc:
            raise unencodable(q, exc) from None
        self._pending[sid] = _Pending(q, d, item_type, many, waiter, deadline, timeout)
        return sid, frame

    def open_stream(self, q: str, d: dict[str, Any], route: StreamRoute) -> tuple[int, bytes]:
        """Register a long-lived stream and return ``(sid, frame)``; items go to ``route``.
        (``d`` was checked when the stream was made: see ``ExberryStream``.)"""
        sid = self._sid()
        self._streams[sid] = (route, q)
        return sid, _encode(Request(q, sid, d, token=self._token))

    def close_stream(self, sid: int, route: StreamRoute) -> bytes | None:
        """The ``sig: 3`` frame that asks the server to end ``route``'s long-lived stream
        (``None`` if ``sid`` is not open for it on this socket: sids restart on every
        socket, so a stream's old sid may be another stream's here). Its sid stays
        reserved until the server's closing frame."""
        entry = self._streams.get(sid)
        if entry is None or entry[0] is not route:
            return None
        del self._streams[sid]
        self._hold(sid)
        return _encode(Request(entry[1], sid, sig=3, token=self._token))

    def _hold(self, sid: int) -> None:
        """Keep ``sid`` from reuse until its closing frame, for at most :data:`_HELD_SIDS`
        newer held sids."""
        closing = self._closing
        closing[sid] = None
        if len(closing) > _HELD_SIDS:
            del closing[next(iter(closing))]

    def queue(self, frame: bytes) -> None:
        """Queue a frame for the connection's writer (``data_to_send``)."""
        self._outbox.append(frame)

    # -- giving up ----------------------------------------------------------------------

    @property
    def open_streams(self) -> int:
        """Long-lived streams open on this socket."""
        return len(self._streams)

    def connection_lost(self, reason: str) -> list[tuple[W, DeribitError]]:
        """Fail every request; streams are the facade's to resume. Nothing is re-sent."""
        self._streams.clear()
        self._closing.clear()
        return self._fail_all(reason)

    # -- incoming -----------------------------------------------------------------------

    def receive(self, frame: bytes | str) -> object:
        """Classify one frame into an event. Never raises."""
        tried: int | None = None  # the sid whose item decoder already failed on it
        try:
            if type(frame) is bytes:
                # Fast path: an item of a long-lived stream decoded once, straight into
                # its type, after reading the sid among the first bytes. A stream's items
                # all start alike (q, then sid): one that starts like the last item skips
                # the scan.
                end = 0
                if frame.startswith(self._item_prefix):
                    sid: int | None = self._item_sid
                else:
                    sid, end = _scan_sid(frame)
                if sid is not None:
                    entry = self._streams.get(sid)
                    if entry is not None:
                        route = entry[0]
                        try:
                            item = route.frame_decoder.decode(frame)
                        except _DECODE_ERRORS:
                            # Not an item (a sig frame), or a misfit: the generic path says
                            # which, without decoding as an item again.
                            tried = sid
                        else:
                            # The scanned sid must be the envelope's (not one inside d).
                            if item.sig is None and item.sid == sid:
                                if end:
                                    self._item_prefix, self._item_sid = frame[:end], sid
                                return (route, item.d)
            return self._classify(frame, tried)
        except Exception as exc:  # no input may end the read loop
            self.violations += 1
            return Violation(f"frame could not be processed: {exc!r}", frame)

    def _classify(self, frame: bytes | str, tried: int | None = None) -> object:
        try:
            env = _decode_frame(frame)
        except _DECODE_ERRORS as exc:
            self.violations += 1
            return Violation(f"not an Exberry frame: {exc!r}", frame)
        sid = env.sid
        if sid is None:
            self.violations += 1
            return Violation("frame without sid", frame)
        pending = self._pending.get(sid)
        if pending is not None:
            return self._request_frame(sid, pending, env)
        stream = self._streams.get(sid)
        if stream is not None:
            return self._stream_frame(sid, stream, env, frame, sid == tried)
        if sid in self._closing:
            if env.sig is not None:
                del self._closing[sid]  # the server confirmed the close: sid is free
            return None
        entry = self.unsettled(sid)
        if entry is not None:  # a mutation whose outcome we called unknown: now known
            event = self._request_frame(sid, entry, env)  # items kept until its end
            return self.settle(sid, event) if type(event) is Reply else event
        self.unknown_sids += 1
        return None

    def _request_frame(self, sid: int, entry: _Pending[W], env: Frame) -> object:
        """One frame of a request's stream (pending, or late after its outcome was called
        unknown): ``None`` while items come, a :class:`Reply` at its end."""
        if env.sig is None and entry.method in _ECHOES and env.d:
            # An echo (v1/heartbeat/ping) resolves on its item; a sig: 1 may or may not
            # follow (the docs show none): hold the sid back for a while.
            del self._pending[sid]
            self._hold(sid)
            try:
                return Reply(
                    entry.waiter, sid, entry.method, entry.decoder.decode(env.d), None, env
                )
            except _DECODE_ERRORS as exc:
                problem = ProtocolError(f"{entry.method} (sid {sid}) echoed a misfit: {exc}")
                return Reply(entry.waiter, sid, entry.method, None, problem, env)
        if env.sig is None:
            if env.d:
                try:
                    value = entry.decoder.decode(env.d)
                except _DECODE_ERRORS as exc:
                    self._pending.pop(sid, None)
                    problem = ProtocolError(f"{entry.method} (sid {sid}) sent a misfit item: {exc}")
                    return Reply(entry.waiter, sid, entry.method, None, problem, env)
                entry.items.append(value)
            return None
        self._pending.pop(sid, None)
        if env.sig == 2:
            return Reply(entry.waiter, sid, entry.method, None, _error(env, entry.method, sid), env)
        value = entry.items if entry.many else (entry.items[-1] if entry.items else None)
        return Reply(entry.waiter, sid, entry.method, value, None, env)

    def _stream_frame(
        self,
        sid: int,
        stream: tuple[StreamRoute, str],
        env: Frame,
        frame: bytes | str,
        misfit: bool,
    ) -> object:
        route, q = stream
        if env.sig is not None:
            del self._streams[sid]
            error = _error(env, q, sid) if env.sig == 2 else None
            return StreamClosed(route, q, sid, error)
        if not misfit:
            # The fast path did not try it as an item of this stream: its sid was not where
            # the scan looks (members in another order, a sid inside d) or it is text.
            try:
                return (route, route.frame_decoder.decode(frame).d)
            except _DECODE_ERRORS:
                pass
        self.violations += 1
        return Violation(f"{q} item does not fit its model", frame, route=route)


def _error(env: Frame, q: str, sid: int) -> DeribitError:
    try:
        data = _decode_error(env.d) if env.d else ErrorData(0, "stream failed without details")
    except _DECODE_ERRORS:
        data = ErrorData(0, "stream failed with an unreadable error")
    return exberry_error(data.errorCode, data.errorMessage, env.q or q, sid, env.errorType)


def _scan_sid(frame: bytes) -> tuple[int | None, int]:
    """The sid among a frame's first bytes, and where the bytes through it end."""
    at = frame.find(b'"sid":', 0, 160)
    if at != -1:
        at += 6
        end = frame.find(b",", at, at + 12)
        digits = frame[at:end]
        if end != -1 and digits.isdigit():
            return int(digits), end + 1
    return None, 0
