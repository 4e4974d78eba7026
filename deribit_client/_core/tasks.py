"""Clean-up that finishes even when the task running it is cancelled.

``close()`` must release sockets and tasks even inside an expired ``asyncio.timeout`` or while
the caller is being cancelled: each step runs in its own task, which the caller keeps waiting
for through any number of cancellations; the cancellation is re-raised at the end, so
``asyncio.timeout`` and ``TaskGroup`` still see it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from .errors import ClientError

__all__ = ["current_task", "finish_all", "loop_shortcuts", "other_loop_error", "stop_tasks"]

log = logging.getLogger("deribit_client")


async def finish_all(*steps: Callable[[], Coroutine[Any, Any, object]]) -> None:
    """Run ``steps`` one after another to completion, whatever happens to this task.

    A step's own exception is logged and does not stop the next step.

    Raises:
        asyncio.CancelledError: this task was cancelled meanwhile (after every step ran).
    """
    cancelled = False
    for step in steps:
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
            step(), name="deribit-close-step"
        )
        while not task.done():
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                cancelled = True
        if not task.cancelled() and task.exception() is not None:
            log.warning("clean-up step failed: %r", task.exception())
    if cancelled:
        raise asyncio.CancelledError


async def stop_tasks(*tasks: asyncio.Task[object] | None) -> None:
    """Cancel the tasks (``None`` and finished ones are skipped) and wait until all have
    ended; a step for :func:`finish_all`."""
    running = [task for task in tasks if task is not None and not task.done()]
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running)


def other_loop_error(home: asyncio.AbstractEventLoop | None) -> ClientError:
    """The refusal of a client used from an event loop other than ``home``, the one it
    connected on (a second ``asyncio.run()``, a fixture of another loop): its tasks, futures
    and sockets belong to ``home`` and nothing of them can be awaited from elsewhere."""
    gone = ", now closed" if home is not None and home.is_closed() else ""
    return ClientError(
        f"this client belongs to another event loop (the one it connected on{gone}); "
        "create a client inside the event loop that uses it, one per asyncio.run()"
    )


# The hot path of every call asks for the running task, a future and the time: asyncio's
# Python-level methods for these each cost a frame per call (~0.5 us on 3.11). C-level
# callables that return the same things are used wherever the loop is asyncio's own.

_tables = getattr(asyncio.tasks, "_current_tasks", None)
current_task: Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None]
if sys.version_info < (3, 12) and isinstance(_tables, dict):
    # 3.11's asyncio.current_task() is pure Python; its per-loop table's get() is not.
    current_task = _tables.get
else:
    current_task = asyncio.current_task  # C since 3.12


def loop_shortcuts(
    loop: asyncio.AbstractEventLoop,
) -> tuple[Callable[[], asyncio.Future[Any]], Callable[[], float]]:
    """``loop.create_future`` and ``loop.time`` as C-level callables when ``loop`` uses
    asyncio's own (a plain ``Future`` and ``time.monotonic`` are what those return); a
    third-party loop's overrides otherwise."""
    cls = type(loop)
    new_future: Callable[[], asyncio.Future[Any]] = loop.create_future
    if getattr(cls, "create_future", None) is asyncio.BaseEventLoop.create_future:
        new_future = functools.partial(asyncio.Future, loop=loop)
    clock: Callable[[], float] = loop.time
    if getattr(cls, "time", None) is asyncio.BaseEventLoop.time:
        clock = time.monotonic
    return new_future, clock
