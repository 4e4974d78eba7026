"""The engine's asyncio shortcuts: the same answers as the loop's own methods."""

from __future__ import annotations

import asyncio
from typing import Any

from deribit_client._core.tasks import current_task, loop_shortcuts


class _OwnFuture(asyncio.Future[Any]):
    pass


class _CustomLoop(asyncio.SelectorEventLoop):
    """A third-party loop overriding both methods: its versions must be used."""

    def create_future(self) -> asyncio.Future[Any]:
        return _OwnFuture(loop=self)

    def time(self) -> float:
        return 1234.5


def test_a_loop_s_own_future_and_clock_are_kept() -> None:
    loop = _CustomLoop()
    try:
        new_future, clock = loop_shortcuts(loop)
        assert type(new_future()) is _OwnFuture
        assert clock() == 1234.5
    finally:
        loop.close()


def test_asyncio_s_loop_gets_futures_of_that_loop_and_its_clock() -> None:
    loop = asyncio.new_event_loop()
    try:
        new_future, clock = loop_shortcuts(loop)
        future = new_future()
        assert future.get_loop() is loop
        before = loop.time()
        assert before <= clock() <= loop.time()
    finally:
        loop.close()


async def test_current_task_is_the_running_task() -> None:
    loop = asyncio.get_running_loop()
    assert current_task(loop) is asyncio.current_task()
    task = loop.create_task(_current(loop))
    assert await task is task


async def _current(loop: asyncio.AbstractEventLoop) -> asyncio.Task[Any] | None:
    return current_task(loop)
