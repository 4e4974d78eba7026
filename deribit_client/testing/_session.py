"""Simulator connections, the JSON-RPC error handlers raise, and the one JSON encoder."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import msgspec
from aiohttp import WSCloseCode, web

from ._outbox import Outbox
from ._windows import Windows

__all__ = [
    "as_number",
    "REQUIRED",
    "Session",
    "SimError",
    "invalid_param",
    "json_encode",
    "public_view",
    "unsupported_instrument",
]

json_encode = msgspec.json.Encoder().encode
"""The simulator's one JSON encoder."""
REQUIRED: Any = object()
"""Marks a parameter without a default in :meth:`Call.param`."""


class SimError(Exception):
    """Raise from a method handler to answer with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class Session:
    """One client connection: a WebSocket, or a single HTTP request."""

    _ids = iter(range(1, 1 << 62))

    def __init__(
        self,
        kind: str,
        request: web.Request,
        ws: web.WebSocketResponse | None = None,
        *,
        backlog_limit: Callable[[], int | None] = lambda: None,
        on_too_slow: Callable[[Session], None] = lambda session: None,
        aggregation: Callable[[str], float | None] = lambda channel: None,
    ) -> None:
        self.id = next(Session._ids)
        self.kind = kind
        self.request = request
        self.ws = ws
        self.outbox = (
            None if ws is None else Outbox(request, ws, backlog_limit, partial(on_too_slow, self))
        )
        """Writes the WebSocket's frames (``None`` for HTTP); ``backlog_limit`` and
        ``on_too_slow`` are its limit and what passing it does."""
        self.silent = False
        """When True the connection stays open but nothing is read or sent (half-open)."""
        self.channels: set[str] = set()
        """Channels this connection is subscribed to."""
        self.labels: dict[str, str] = {}
        """Private channel -> the ``label`` it was subscribed with (``private/subscribe``)."""
        self.auth: Any = None
        """The token this connection authenticated with (WebSocket), if any."""
        self.state: dict[str, Any] = {}
        """Free-form per-connection state for method handlers."""
        self.aggregation = aggregation
        """Channel -> seconds of its aggregation windows, None when it sends at once."""
        self.windows = Windows(self._send_gathered)
        """This connection's aggregated channels' open windows."""

    def notification(self, channel: str, data: Any) -> dict[str, Any]:
        """A ``subscription`` message of ``channel`` for this connection (with the
        channel's label, if it was subscribed with one)."""
        params = {"channel": channel, "data": data}
        label = self.labels.get(channel)
        if label is not None:
            params["label"] = label
        return {"jsonrpc": "2.0", "method": "subscription", "params": params}

    def notify(self, channel: str, data: Any) -> None:
        """Send ``data`` on ``channel`` now, or at the end of its window when the
        channel's interval aggregates (``100ms``, ``agg2``)."""
        period = self.aggregation(channel)
        if period is None:
            self.write(json_encode(self.notification(channel, data)))
        else:
            self.windows.add(channel, data, period)

    def _send_gathered(self, channel: str, data: Any) -> None:
        if channel in self.channels:  # an unsubscribed channel's window says nothing
            self.write(json_encode(self.notification(channel, data)))

    @property
    def is_websocket(self) -> bool:
        """True for WebSocket sessions."""
        return self.ws is not None

    async def send(self, message: Any) -> None:
        """Encode ``message`` and send it as one text frame (WebSocket only)."""
        self.write(json_encode(message))

    def write(self, frame: bytes | str) -> None:
        """Write a pre-encoded frame now, never waiting for the peer to read (see
        :class:`Outbox`); ignored once the socket is closed or closing."""
        outbox = self.outbox
        if outbox is None or self.silent:
            return
        outbox.put(frame.encode() if isinstance(frame, str) else frame)

    async def close(self, code: int = WSCloseCode.OK, reason: str = "") -> None:
        """A close frame after what was sent (see :meth:`Outbox.close`)."""
        if self.outbox is not None:
            await self.outbox.close(code, reason)

    def mute(self) -> None:
        """Send nothing more (see :meth:`Outbox.mute`); :meth:`abort` follows."""
        if self.outbox is not None:
            self.outbox.mute()

    def abort(self) -> None:
        """Cut the WebSocket's TCP connection without a close handshake."""
        if self.outbox is not None:
            self.outbox.abort()


def public_view(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the API shows it: without the simulator's ``_private`` members."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def as_number(value: Any) -> float | None:
    """A number in a structured parameter, which Deribit's own examples also write as a
    string (``"amount": "1"``); None when it is neither."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def unsupported_instrument() -> SimError:
    """Deribit's ``10020 invalid_or_unsupported_instrument``."""
    return SimError(10020, "invalid_or_unsupported_instrument")


def invalid_param(param: str, reason: str = "wrong format") -> SimError:
    """Deribit's ``-32602 Invalid params`` error naming ``param``."""
    return SimError(-32602, "Invalid params", {"reason": reason, "param": param})
