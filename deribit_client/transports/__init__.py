"""Transports move bytes: WebSocket (preferred), HTTP (no subscriptions), in-memory mock."""

from .base import RequestTransport, StreamTransport
from .http import HttpTransport
from .mock import MockTransport
from .websocket import WebSocketTransport

__all__ = [
    "HttpTransport",
    "MockTransport",
    "RequestTransport",
    "StreamTransport",
    "WebSocketTransport",
]
