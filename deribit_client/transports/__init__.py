"""Transports move bytes: WebSocket (preferred), HTTP (no subscriptions), in-memory mock."""

from .base import Connector, RequestTransport, StreamTransport
from .http import HttpTransport
from .mock import MockConnector, MockTransport
from .websocket import WebSocketConnector, WebSocketTransport

__all__ = [
    "Connector",
    "HttpTransport",
    "MockConnector",
    "MockTransport",
    "RequestTransport",
    "StreamTransport",
    "WebSocketConnector",
    "WebSocketTransport",
]
