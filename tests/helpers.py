"""Shared test helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from deribit_client import DeribitClient
from deribit_client._client import lost_order_error
from deribit_client._core.connection import Connection
from deribit_client._rpc.protocol import RpcProtocol
from deribit_client.transports import StreamTransport


async def until(predicate: Callable[[], object], limit: float = 5.0) -> None:
    """Yield to the event loop until ``predicate()`` is truthy; fail after ``limit`` seconds.

    Used where the observable effect happens in another task (the read loop); each turn
    just lets ready tasks run, it does not sleep for a guessed duration.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached within the limit")
        await asyncio.sleep(0)


class FastHeartbeatClient(DeribitClient):
    """A client that accepts heartbeat intervals below Deribit's 10 s, for simulators set
    up with the same ``min_heartbeat_interval``."""

    min_heartbeat_interval = 0.01


class RpcConnection(Connection[RpcProtocol[Any]]):
    """Deribit's protocol on the engine's connection, with a method-first ``rpc`` call."""

    def __init__(
        self,
        transport: StreamTransport,
        *,
        on_event: Callable[[object], None] | None = None,
        on_closed: Callable[[Any, str], None] | None = None,
        default_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            transport,
            RpcProtocol(lost_error=lost_order_error),
            on_event=on_event,
            on_closed=on_closed,
            default_timeout=default_timeout,
        )

    def rpc(
        self,
        method: str,
        params: dict[str, Any] | None,
        result_type: Any,
        timeout: float | None = None,
        meta: bool = False,
    ) -> Awaitable[Any]:
        return self.call(
            timeout, meta, self.protocol.prepare_request, method, params, result_type, None
        )
