"""What simulator method handlers see: the session, the call, and the error to raise."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from ._server import DeribitSimulator

__all__ = ["Call", "Session", "SimError", "invalid_param"]

json_encode = msgspec.json.Encoder().encode
"""The simulator's one JSON encoder."""
_REQUIRED: Any = object()


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
        self, kind: str, request: web.Request, ws: web.WebSocketResponse | None = None
    ) -> None:
        self.id = next(Session._ids)
        self.kind = kind
        self.request = request
        self.ws = ws
        self.silent = False
        """When True the connection stays open but nothing is read or sent (half-open)."""
        self.channels: set[str] = set()
        """Channels this connection is subscribed to."""
        self.auth: Any = None
        """The token this connection authenticated with (WebSocket), if any."""
        self.state: dict[str, Any] = {}
        """Free-form per-connection state for method handlers."""

    @property
    def is_websocket(self) -> bool:
        """True for WebSocket sessions."""
        return self.ws is not None

    async def send(self, message: Any) -> None:
        """Encode ``message`` and send it as one text frame (WebSocket only)."""
        await self.send_frame(json_encode(message))

    async def send_frame(self, frame: bytes | str) -> None:
        """Send a pre-encoded frame; silently ignored once the socket is closed."""
        ws = self.ws
        if ws is None or ws.closed or self.silent:
            return
        data = frame.encode() if isinstance(frame, str) else frame
        with contextlib.suppress(ConnectionError, RuntimeError):  # peer already gone
            await ws.send_frame(data, WSMsgType.TEXT)

    def abort(self) -> None:
        """Cut the TCP connection without a close handshake."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class Call:
    """What a method handler receives: the simulator, the session and the params."""

    __slots__ = ("close_after", "followups", "method", "params", "session", "sim", "token")

    def __init__(
        self, sim: DeribitSimulator, session: Session, method: str, params: dict[str, Any]
    ) -> None:
        self.sim = sim
        self.session = session
        self.method = method
        self.params = params
        self.token: Any = None
        """The authenticated token of a private call (set by the server)."""
        self.close_after = False
        """Close the connection after replying (injected faults such as 10028)."""
        self.followups: list[Any] = []
        """Messages sent on this connection right after the reply (e.g. a book snapshot)."""

    def then_send(self, message: Any) -> None:
        """Send ``message`` after the reply to this call."""
        self.followups.append(message)

    def param(
        self, name: str, kind: type | tuple[type, ...] = str, default: Any = _REQUIRED
    ) -> Any:
        """Read a param, answering ``-32602 Invalid params`` like Deribit when it is wrong."""
        value = self.params.get(name, _REQUIRED)
        if value is _REQUIRED:
            if default is _REQUIRED:
                raise invalid_param(name, "required")
            return default
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            raise invalid_param(name)
        return value


def invalid_param(param: str, reason: str = "wrong format") -> SimError:
    """Deribit's ``-32602 Invalid params`` error naming ``param``."""
    return SimError(-32602, "Invalid params", {"reason": reason, "param": param})
