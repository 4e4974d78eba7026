"""Shared test helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


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
