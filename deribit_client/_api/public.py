"""Typed wrappers for ``public/*`` methods, named after the Deribit method they call."""

from __future__ import annotations

from typing import Literal

from ..models import (
    AuthResult,
    Currency,
    IndexPrice,
    Instrument,
    OrderBook,
    Status,
    Ticker,
    VersionInfo,
)
from ._caller import Caller

__all__ = ["PublicAPI"]

Currencies = Literal["BTC", "ETH", "USDC", "USDT", "EURR", "any"]
BookDepth = Literal[1, 5, 10, 20, 50, 100, 1000, 10000]


class PublicAPI:
    """``client.public``: methods that need no authentication.

    Every method takes an optional ``timeout`` (seconds; default: the client's).
    """

    __slots__ = ("_caller",)

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    async def get_time(self, *, timeout: float | None = None) -> int:
        """``public/get_time``: server time in milliseconds since the epoch."""
        return await self._caller.invoke("public/get_time", None, int, timeout)

    async def test(
        self, *, expected_result: Literal["exception"] | None = None, timeout: float | None = None
    ) -> VersionInfo:
        """``public/test``: a no-op that returns the API version.

        ``expected_result="exception"`` makes the server answer with an error, to test
        error handling.
        """
        params = {"expected_result": expected_result}
        return await self._caller.invoke("public/test", params, VersionInfo, timeout)

    async def hello(
        self, client_name: str, client_version: str, *, timeout: float | None = None
    ) -> VersionInfo:
        """``public/hello`` (WebSocket only): identify the client software."""
        params = {"client_name": client_name, "client_version": client_version}
        return await self._caller.invoke("public/hello", params, VersionInfo, timeout)

    async def status(self, *, timeout: float | None = None) -> Status:
        """``public/status``: whether the platform (or some indices) is locked."""
        return await self._caller.invoke("public/status", None, Status, timeout)

    async def get_instruments(
        self,
        currency: Currencies,
        *,
        kind: Literal["future", "option", "spot", "future_combo", "option_combo"] | None = None,
        expired: bool | None = None,
        timeout: float | None = None,
    ) -> list[Instrument]:
        """``public/get_instruments``: instruments of a currency (``"any"`` for all).

        Deribit rate-limits this method heavily; cache the result.
        """
        params = {"currency": currency, "kind": kind, "expired": expired}
        return await self._caller.invoke(
            "public/get_instruments", params, list[Instrument], timeout
        )

    async def get_instrument(
        self, instrument_name: str, *, timeout: float | None = None
    ) -> Instrument:
        """``public/get_instrument``: one instrument by name."""
        params = {"instrument_name": instrument_name}
        return await self._caller.invoke("public/get_instrument", params, Instrument, timeout)

    async def ticker(self, instrument_name: str, *, timeout: float | None = None) -> Ticker:
        """``public/ticker``: best prices, mark, index, stats (greeks for options)."""
        params = {"instrument_name": instrument_name}
        return await self._caller.invoke("public/ticker", params, Ticker, timeout)

    async def get_order_book(
        self,
        instrument_name: str,
        *,
        depth: BookDepth | None = None,
        timeout: float | None = None,
    ) -> OrderBook:
        """``public/get_order_book``: ticker fields plus bid/ask levels, best first."""
        params = {"instrument_name": instrument_name, "depth": depth}
        return await self._caller.invoke("public/get_order_book", params, OrderBook, timeout)

    async def get_currencies(self, *, timeout: float | None = None) -> list[Currency]:
        """``public/get_currencies``: every currency with its withdrawal parameters."""
        return await self._caller.invoke("public/get_currencies", None, list[Currency], timeout)

    async def get_index_price(self, index_name: str, *, timeout: float | None = None) -> IndexPrice:
        """``public/get_index_price``: current index price, e.g. ``index_name="btc_usd"``."""
        params = {"index_name": index_name}
        return await self._caller.invoke("public/get_index_price", params, IndexPrice, timeout)

    async def exchange_token(
        self,
        refresh_token: str,
        subject_id: int,
        *,
        scope: str | None = None,
        timeout: float | None = None,
    ) -> AuthResult:
        """``public/exchange_token``: a token for another (sub)account.

        Since May 2025, omitting ``scope`` invalidates the supplied tokens; pass a
        ``session:<name>`` scope explicitly to keep them.
        """
        params = {"refresh_token": refresh_token, "subject_id": subject_id, "scope": scope}
        return await self._caller.invoke("public/exchange_token", params, AuthResult, timeout)

    async def fork_token(
        self, refresh_token: str, session_name: str, *, timeout: float | None = None
    ) -> AuthResult:
        """``public/fork_token``: a new named session from a session-scoped token."""
        params = {"refresh_token": refresh_token, "session_name": session_name}
        return await self._caller.invoke("public/fork_token", params, AuthResult, timeout)
