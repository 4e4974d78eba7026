"""Endpoints for production, testnet or an explicit URL (REFERENCE.md section 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from ._core.errors import ClientError

__all__ = [
    "MIN_HEARTBEAT_INTERVAL",
    "PROD",
    "TESTNET",
    "Endpoints",
    "Environment",
    "endpoints_for",
]

Environment = Literal["prod", "testnet"]

MIN_HEARTBEAT_INTERVAL = 10.0
"""Deribit's minimum for ``public/set_heartbeat`` (seconds)."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where to connect: the WebSocket URL and the HTTP base that methods are appended to."""

    ws_url: str
    http_url: str

    @classmethod
    def from_url(cls, url: str) -> Endpoints:
        """Derive both endpoints from one URL.

        Accepts a server root (``http://127.0.0.1:8080``), a WebSocket endpoint
        (``wss://test.deribit.com/ws/api/v2``) or an HTTP API base (``.../api/v2``).

        Raises:
            ClientError: (a ``ValueError``) ``url`` is not a str with scheme http, https, ws
                or wss and a host.
        """
        if type(url) is not str:
            raise ClientError(f"url must be a str such as 'wss://test.deribit.com', not {url!r}")
        parts = urlsplit(url)
        secure = {"https": True, "wss": True, "http": False, "ws": False}.get(parts.scheme)
        if secure is None or not parts.netloc:
            raise ClientError(f"unsupported Deribit URL {url!r}: expected http(s):// or ws(s)://")
        path = parts.path.rstrip("/")
        for suffix in ("/ws/api/v2", "/api/v2"):
            if path.endswith(suffix):
                path = path[: -len(suffix)]
                break
        ws = urlunsplit(("wss" if secure else "ws", parts.netloc, f"{path}/ws/api/v2", "", ""))
        http = urlunsplit(("https" if secure else "http", parts.netloc, f"{path}/api/v2", "", ""))
        return cls(ws, http)


PROD = Endpoints("wss://www.deribit.com/ws/api/v2", "https://www.deribit.com/api/v2")
TESTNET = Endpoints("wss://test.deribit.com/ws/api/v2", "https://test.deribit.com/api/v2")


def endpoints_for(env: Environment, url: str | None) -> Endpoints:
    """The explicit ``url`` if given, else the environment's endpoints."""
    if url is not None:
        return Endpoints.from_url(url)
    if env == "prod":
        return PROD
    if env == "testnet":
        return TESTNET
    raise ValueError(f"unknown environment {env!r}: expected 'prod' or 'testnet'")
