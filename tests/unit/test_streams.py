"""The engine's subscriber streams: bounds, markers, policies, cancel-safety."""

from __future__ import annotations

import asyncio
import functools
import gc
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from deribit_client import ClientError, Gap, SubscriberOverflow
from deribit_client._core.streams import Stream
from tests.helpers import deribit_tasks, until


def stream(policy: Any = "drop_oldest", maxsize: int = 3) -> Stream[int]:
    return Stream("c", policy, maxsize)


async def drain(s: Stream[int]) -> list[Any]:
    s.end()
    return [item async for item in s]


async def test_markers_count_against_the_bound_and_are_never_dropped() -> None:
    # Reported: Gap markers bypassed maxsize, and overflow could drop a marker uncounted.
    s = stream(maxsize=3)
    s.put_marker(Gap("c", "reconnected"))
    for n in range(5):
        s.put(n)
    s.put_marker(Gap("c", "book_gap"))
    assert len(s) <= 3 + 1  # the queue plus the one marker pushed out of it
    items = await drain(s)
    assert items[0] == Gap("c", "reconnected")  # kept, and first: it is the oldest
    assert Gap("c", "book_gap") in items
    lost = [i for i in items if type(i) is Gap and i.reason == "overflow"]
    data = [i for i in items if type(i) is int]
    assert sum(g.lost for g in lost) + len(data) == 5  # every dropped item is counted
    assert s.dropped == 5 - len(data)


async def test_keep_latest_conflates_data_but_keeps_every_marker() -> None:
    s: Stream[int] = Stream("c", "keep_latest", 10, key_of=lambda item: item % 2)
    for n in range(6):
        s.put(n)
    s.put_marker(Gap("c", "reconnected"))
    s.put_marker(Gap("c", "reconnected"))
    items = await drain(s)
    assert [i for i in items if type(i) is int] == [4, 5]
    assert [i for i in items if type(i) is Gap] == [Gap("c", "reconnected")] * 2
    assert s.conflated == 4


async def test_error_policy_fails_the_stream_when_full() -> None:
    s = stream("error", maxsize=2)
    for n in range(3):
        s.put(n)
    with pytest.raises(SubscriberOverflow):
        await anext(s)
    assert s.dropped == 3


async def test_cancelled_anext_takes_nothing() -> None:
    s = await stream()
    waiting = asyncio.ensure_future(anext(s))
    await asyncio.sleep(0)
    assert not waiting.done()  # waiting for an item
    waiting.cancel()
    s.put(1)
    assert await anext(s) == 1


async def test_reading_a_stream_never_started_says_so_instead_of_waiting() -> None:
    # Reported from outside: `async for x in client.subscribe(...)` without `async with`
    # or `await` waited forever.
    s = stream()
    with pytest.raises(ClientError, match="not started"):
        await asyncio.wait_for(anext(s), 5)
    s.put(1)  # anything already queued is still handed out
    assert await anext(s) == 1


async def test_a_reader_may_wait_while_the_stream_is_starting() -> None:
    attached = asyncio.Event()
    release = asyncio.Event()

    class Slow(Stream[int]):
        async def _attach(self) -> None:
            attached.set()
            await release.wait()

    s = Slow("c", "drop_oldest", 3)
    starting = asyncio.ensure_future(s._start())
    await attached.wait()
    reading = asyncio.ensure_future(anext(s))
    await asyncio.sleep(0)
    assert not reading.done()  # started, not yet attached: waiting is right
    release.set()
    await starting
    s.put(7)
    assert await asyncio.wait_for(reading, 5) == 7


async def test_a_stream_that_failed_to_start_is_not_read_forever() -> None:
    class Refused(Stream[int]):
        async def _attach(self) -> None:
            raise ConnectionError("venue said no")

    s = Refused("c", "drop_oldest", 3)
    with pytest.raises(ConnectionError):
        await s
    with pytest.raises(ClientError, match="not started"):
        await asyncio.wait_for(anext(s), 5)


async def test_a_marker_arriving_on_a_full_error_queue_is_an_overflow_too() -> None:
    s = stream("error", maxsize=1)
    s.put(1)
    s.put_marker(Gap("c", "reconnected"))
    with pytest.raises(SubscriberOverflow):
        await anext(s)


async def test_inline_callback_errors_go_to_on_error() -> None:
    errors: list[BaseException] = []

    def callback(item: Any) -> None:
        raise RuntimeError("user bug")

    s: Stream[int] = Stream("c", "drop_oldest", 10, callback, errors.append)
    s.put(1)
    assert [type(e) for e in errors] == [RuntimeError]
    s.fail(SubscriberOverflow("c", 1, 1))
    assert [type(e) for e in errors] == [RuntimeError, SubscriberOverflow]


async def test_coroutine_callback_errors_go_to_a_coroutine_on_error_and_delivery_goes_on() -> None:
    seen: list[Any] = []
    errors: list[BaseException] = []
    both = asyncio.Event()

    async def callback(item: Any) -> None:
        if item == 1:
            raise RuntimeError("user bug")
        seen.append(item)

    async def on_error(exc: BaseException) -> None:
        errors.append(exc)
        both.set()

    s: Stream[int] = Stream("c", "drop_oldest", 10, callback, on_error)
    await s
    s.put(1)
    s.put(2)
    await asyncio.wait_for(both.wait(), 5)
    s.end()
    await asyncio.wait_for(s.wait_closed(), 5)
    assert seen == [2]  # the item after the failing one still arrived
    assert [str(e) for e in errors] == ["user bug"]


async def test_a_coroutine_on_error_still_running_is_cancelled_when_the_stream_closes() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    def callback(item: Any) -> None:
        raise RuntimeError("user bug")

    async def on_error(exc: BaseException) -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # a hook that never finishes by itself
        except asyncio.CancelledError:
            cancelled.set()
            raise

    s: Stream[int] = Stream("c", "drop_oldest", 10, callback, on_error)
    await s
    s.put(1)
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(s.close(), 5)
    assert cancelled.is_set()  # owned by the stream: nothing left running after close


async def test_a_failing_on_error_is_logged_and_the_stream_keeps_delivering(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[Any] = []

    def callback(item: Any) -> None:
        if item == 1:
            raise RuntimeError("user bug")
        seen.append(item)

    def on_error(exc: BaseException) -> None:
        raise ValueError("hook bug")

    s: Stream[int] = Stream("c", "drop_oldest", 10, callback, on_error)
    await s
    s.put(1)
    s.put(2)
    assert seen == [2]
    assert "on_error of c failed" in caplog.text
    await s.close()


@pytest.mark.parametrize("callback_kind", ["plain", "coroutine"])
async def test_a_failing_coroutine_on_error_is_logged_and_owned(
    callback_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Awaited in a task of the stream's (plain callback) or by its consumer (coroutine
    # callback): either way its failure is told, and nothing is left running.
    seen: list[Any] = []
    heard = asyncio.Event()

    def plain(item: Any) -> None:
        if item == 1:
            raise RuntimeError("user bug")
        seen.append(item)

    async def coroutine(item: Any) -> None:
        plain(item)

    async def on_error(exc: BaseException) -> None:
        heard.set()
        raise ValueError("hook bug")

    callback = plain if callback_kind == "plain" else coroutine
    s: Stream[int] = Stream("c", "drop_oldest", 10, callback, on_error)
    await s
    s.put(1)
    s.put(2)
    await asyncio.wait_for(heard.wait(), 5)
    await until(lambda: "on_error of c failed" in caplog.text and seen == [2])
    assert s.error is None  # a callback's error does not end the stream
    s.fail(SubscriberOverflow("c", 10, 0))  # the stream's own end is told the same way
    await until(lambda: caplog.text.count("on_error of c failed") == 2)
    await s.close()
    assert deribit_tasks() == []


async def test_without_on_error_a_callback_error_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def callback(item: Any) -> None:
        raise RuntimeError("user bug")

    s: Stream[int] = Stream("c", "drop_oldest", 10, callback)
    await s
    s.put(1)
    [record] = [r for r in caplog.records if "callback of c failed" in r.getMessage()]
    assert record.exc_info is not None
    assert "user bug" in str(record.exc_info[1])
    await s.close()


async def test_a_coroutine_callback_may_close_its_own_stream() -> None:
    seen: list[Any] = []

    async def callback(item: Any) -> None:
        seen.append(item)
        await s.close()  # from inside the consumer task: it must not wait for itself

    s: Stream[int] = Stream("c", "drop_oldest", 10, callback)
    await s
    s.put(1)
    s.put(2)
    await asyncio.wait_for(s.wait_closed(), 5)
    assert seen == [1]  # nothing after the close
    assert s.closed
    assert s.error is None


async def test_wait_closed_returns_for_a_callback_stream_closed_right_after_starting() -> None:
    async def callback(item: Any) -> None:
        pass

    s: Stream[int] = Stream("c", "drop_oldest", 10, callback)
    await s  # its consumer task is created, not yet run
    await s.close()
    await asyncio.wait_for(s.wait_closed(), 5)


async def test_wait_closed_returns_once_a_coroutine_callback_has_had_every_item() -> None:
    # Reported from outside: a stream that ended (unsubscribed, or finished by the venue)
    # with items still queued for its coroutine callback: wait_closed() returned at once,
    # and leaving the `async with` then cancelled the callback task: the items were lost.
    seen: list[Any] = []

    async def callback(item: Any) -> None:
        await asyncio.sleep(0)  # a callback that awaits something, as real ones do
        seen.append(item)

    async with Stream("c", "drop_oldest", 10, callback) as s:
        for n in range(3):
            s.put(n)
        s.end()
        async with asyncio.timeout(5):
            await s.wait_closed()
    assert seen == [0, 1, 2]


async def test_wait_closed_raises_an_overflow_after_the_callback_and_on_error_heard_it() -> None:
    release = asyncio.Event()
    busy = asyncio.Event()
    seen: list[Any] = []
    errors: list[BaseException] = []

    async def callback(item: Any) -> None:
        busy.set()
        await release.wait()
        seen.append(item)

    async def on_error(exc: BaseException) -> None:
        errors.append(exc)

    s: Stream[int] = Stream("c", "error", 2, callback, on_error)
    await s
    s.put(0)
    await asyncio.wait_for(busy.wait(), 5)  # the consumer holds item 0
    waiting = asyncio.ensure_future(s.wait_closed())
    for n in range(1, 4):
        s.put(n)  # the third one overflows the bound of 2
    assert s.closed
    await asyncio.sleep(0)
    assert not waiting.done()  # the callback still runs item 0
    release.set()
    with pytest.raises(SubscriberOverflow):
        await asyncio.wait_for(waiting, 5)
    assert seen == [0]  # the overflow discarded the queue
    assert [type(e) for e in errors] == [SubscriberOverflow]  # heard before wait_closed ended
    assert s.error is errors[0]
    await s.close()


async def test_a_marker_an_inline_callback_fails_on_goes_to_on_error() -> None:
    errors: list[BaseException] = []

    def callback(item: Any) -> None:
        if type(item) is Gap:
            raise RuntimeError("cannot handle a gap")

    s: Stream[int] = Stream("c", "drop_oldest", 10, callback, errors.append)
    await s
    s.put_marker(Gap("c", "reconnected"))
    s.put(1)
    assert [str(e) for e in errors] == ["cannot handle a gap"]
    await s.close()
    s.put_marker(Gap("c", "reconnected"))  # a closed stream takes no more markers
    assert len(errors) == 1


class Handler:
    """A handler object whose ``__call__`` is a coroutine function."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    async def __call__(self, item: Any) -> None:
        await asyncio.sleep(0)
        self.seen.append(item)


async def test_an_object_with_an_async_call_is_a_coroutine_callback() -> None:
    # Reported from outside: a handler object with `async def __call__` got nothing at
    # all; each call's coroutine was dropped unawaited (a RuntimeWarning, nothing else).
    handler = Handler()
    async with Stream("c", "drop_oldest", 10, handler) as s:
        s.put(1)
        s.put(2)
        s.end()
        await asyncio.wait_for(s.wait_closed(), 5)
    assert handler.seen == [1, 2]


class YieldingHandler:
    """A handler object whose ``__call__`` is an async generator function."""

    async def __call__(self, item: Any) -> AsyncIterator[Any]:
        yield item


def test_a_generator_function_is_refused_as_callback_or_on_error() -> None:
    # Calling one only makes a generator: nothing of its body ever ran, and every item
    # went nowhere without a word.
    async def handle(item: Any) -> AsyncIterator[Any]:
        yield item

    def handle_sync(item: Any) -> Iterator[Any]:
        yield item

    for callback in (handle, handle_sync, functools.partial(handle), YieldingHandler()):
        with pytest.raises(ClientError, match="callback must be a function, not a generator"):
            Stream("c", "drop_oldest", 10, callback)
        with pytest.raises(ClientError, match="on_error must be a function, not a generator"):
            Stream("c", "drop_oldest", 10, None, callback)


async def test_a_plain_callback_returning_a_coroutine_fails_the_stream_saying_so() -> None:
    # `callback=lambda m: handle(m)` with an async `handle`: nothing can tell up front.
    seen: list[Any] = []
    errors: list[BaseException] = []

    async def handle(item: Any) -> None:
        seen.append(item)

    s: Stream[int] = Stream("c", "drop_oldest", 10, lambda item: handle(item), errors.append)
    await s
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited" left behind
        s.put(1)
        gc.collect()
    assert isinstance(s.error, ClientError)
    assert "returned an awaitable" in str(s.error)
    assert errors == [s.error]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.put(2)  # until it is unrouted: told once, and still no warning
        gc.collect()
    assert errors == [s.error]
    assert seen == []
    await s.close()
