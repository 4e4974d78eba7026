"""Clean-up that finishes even when the task running it is cancelled.

``close()`` must release sockets and tasks even inside an expired ``asyncio.timeout`` or while
the caller is being cancelled: each step runs in its own task, which the caller keeps waiting
for through any number of cancellations; the cancellation is re-raised at the end, so
``asyncio.timeout`` and ``TaskGroup`` still see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["finish_all"]

log = logging.getLogger("deribit_client")


async def finish_all(*steps: Callable[[], Awaitable[object]]) -> None:
    """Run ``steps`` one after another to completion, whatever happens to this task.

    A step's own exception is logged and does not stop the next step.

    Raises:
        asyncio.CancelledError: this task was cancelled meanwhile (after every step ran).
    """
    cancelled = False
    for step in steps:
        task = asyncio.ensure_future(step())
        while not task.done():
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                cancelled = True
        if not task.cancelled() and task.exception() is not None:
            log.warning("clean-up step failed: %r", task.exception())
    if cancelled:
        raise asyncio.CancelledError
