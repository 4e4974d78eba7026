"""Serving an aiohttp application on a loopback port, and owning its background tasks, for
both simulators."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

__all__ = ["serve", "spawn"]


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start ``app`` on ``host:port`` (``0``: an ephemeral port); the runner to clean up and
    the port actually bound."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, runner.addresses[0][1]


def spawn(tasks: set[asyncio.Future[Any]], work: Awaitable[Any]) -> None:
    """Run ``work`` (a coroutine, or a task already started) held in ``tasks`` until it
    ends (the owner cancels what is left there when it stops)."""
    task = asyncio.ensure_future(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
