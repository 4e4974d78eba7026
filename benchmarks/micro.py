"""In-process costs of the SDK's hot paths, without sockets: microseconds per operation.

    python benchmarks/micro.py            # calls and notifications, min of 7 repetitions

The server side is a mock transport that answers at once, so the figures are the SDK's own
CPU work plus asyncio's (and the mock's), free of the network noise that makes
`bench.py`'s ratios swing on shared machines. Compare two trees by running this script
with each on `PYTHONPATH` (e.g. an older commit checked out with `git worktree add`),
alternating runs; lower is better. Nothing here asserts speed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import frame_server  # noqa: E402

from deribit_client import CreditLimiter, DeribitClient, Gap, LocalOrderBook  # noqa: E402
from deribit_client.models import BookChange  # noqa: E402
from deribit_client.transports import MockConnector, MockTransport  # noqa: E402

_TICKER_RESULT = msgspec.json.encode(frame_server.TICKER)
CHANNEL = "ticker.BTC-PERPETUAL.100ms"


def answer(frame: bytes) -> list[bytes]:
    """Reply to every request at once: a ticker for public/ticker, else a timestamp (or the
    channels of a subscribe)."""
    request = msgspec.json.decode(frame)
    rid = msgspec.json.encode(request["id"])
    method = request["method"]
    if method == "public/ticker":
        result = _TICKER_RESULT
    elif method.endswith("subscribe"):
        result = msgspec.json.encode(request["params"]["channels"])
    else:
        result = b"1732000000000"
    return [b'{"jsonrpc":"2.0","id":%s,"result":%s,"usIn":1,"usOut":2}' % (rid, result)]


BURST = 300  # ticker frames in one 256 KiB socket read: what aiohttp hands over per loop turn


class Feed(MockTransport):
    """A mock whose receive hands out a prepared batch, ``BURST`` frames per loop turn, as
    aiohttp does with what one socket read brought (consumers run between bursts)."""

    def __init__(self) -> None:
        super().__init__(answer)
        self.batch: list[bytes] = []
        self.taken = 0

    async def receive(self) -> object:
        if self.batch:
            self.taken += 1
            if self.taken % BURST == 0:
                await asyncio.sleep(0)  # the next socket read: the loop turns
            return self.batch.pop()
        return await super().receive()


def ticker_frames(count: int) -> list[bytes]:
    """``count`` ticker notifications, in the order they are sent."""
    return [
        frame_server._notification(CHANNEL, dict(frame_server.TICKER, timestamp=n))
        for n in range(count)
    ]


def roomy_limiter() -> CreditLimiter:
    """The credit limiter with pools that never run short: its bookkeeping cost alone."""
    limiter = CreditLimiter()
    for pool in limiter.pools.values():
        pool.configure(cost=1, capacity=1e12, refill=1e12)
    return limiter


async def calls(reps: int, limiter: CreditLimiter | None) -> tuple[float, float]:
    best_concurrent = best_sequential = float("inf")
    async with DeribitClient(
        connector=MockConnector(answer), heartbeat_interval=None, rate_limit=limiter or False
    ) as client:
        for _ in range(reps):
            start = time.perf_counter()
            for _ in range(5):
                await asyncio.gather(*(client.public.ticker("BTC-PERPETUAL") for _ in range(1000)))
            best_concurrent = min(best_concurrent, (time.perf_counter() - start) / 5000)
            start = time.perf_counter()
            for _ in range(3000):
                await client.public.get_time()
            best_sequential = min(best_sequential, (time.perf_counter() - start) / 3000)
    return best_concurrent * 1e6, best_sequential * 1e6


async def notifications(mode: str, count: int) -> float:
    """Microseconds per ticker notification delivered by ``mode`` ("callback" or "async
    for")."""
    frames = ticker_frames(count)
    feed = Feed()

    class Connector:
        async def connect(self) -> Feed:
            return feed

    seen = 0
    done = asyncio.get_running_loop().create_future()

    def consume(item: Any) -> None:
        nonlocal seen
        if type(item) is not Gap:
            seen += 1
            if seen == count:
                done.set_result(None)

    wake = b'{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}}'
    async with DeribitClient(connector=Connector(), heartbeat_interval=None) as client:
        if mode == "callback":
            async with client.subscribe(CHANNEL, callback=consume, maxsize=count + 10):
                feed.batch = frames[::-1]
                start = time.perf_counter()
                feed.push(wake)  # the reader is parked on the mock queue: wake it
                await done
        else:
            async with client.subscribe(CHANNEL, maxsize=count + 10) as sub:
                feed.batch = frames[::-1]
                start = time.perf_counter()
                feed.push(wake)
                async for item in sub:
                    consume(item)
                    if seen == count:
                        break
        return (time.perf_counter() - start) / count * 1e6


def book_changes(count: int) -> float:
    """Microseconds per ``LocalOrderBook.apply`` of a 10-level change (a deep book of
    2,000 levels a side; new, change and delete actions)."""
    book = LocalOrderBook("BTC-PERPETUAL")
    levels = [["new", 50_000.0 - i * 0.5, 10.0] for i in range(2_000)]
    asks = [["new", 50_001.0 + i * 0.5, 10.0] for i in range(2_000)]
    decode = msgspec.json.Decoder(BookChange).decode

    def message(kind: str, prev: int | None, bids: list[Any], asks: list[Any]) -> BookChange:
        data = {"type": kind, "timestamp": 1, "instrument_name": "BTC-PERPETUAL",
                "change_id": (prev or 0) + 1, "prev_change_id": prev,
                "bids": bids, "asks": asks}  # fmt: skip
        return decode(msgspec.json.encode(data))

    book.apply(message("snapshot", None, levels, asks))
    changes = []
    for n in range(count):
        price = 50_000.0 - (n % 40) * 0.25  # on and between existing levels
        action = ("new", "change", "delete")[n % 3]
        amount = 0.0 if action == "delete" else 5.0
        bids = [[action, price - i, amount] for i in range(5)]
        asks_ = [[action, price + 2 + i, amount] for i in range(5)]
        changes.append(message("change", n + 1, bids, asks_))
    start = time.perf_counter()
    for change in changes:
        book.apply(change)
    elapsed = time.perf_counter() - start
    assert book.ready, "every change must have applied"
    return elapsed / count * 1e6


def main() -> None:
    for label, limiter in (("", None), (", credit limiter", roomy_limiter())):
        concurrent, sequential = asyncio.run(calls(7, limiter))
        print(f"call, 1,000 concurrent{label:17} {concurrent:6.2f} us")
        print(f"call, sequential{label:23} {sequential:6.2f} us")
    for mode in ("callback", "async for"):
        best = min(asyncio.run(notifications(mode, 50_000)) for _ in range(5))
        print(f"ticker notification, {mode:9} {best:5.2f} us")
    best = min(book_changes(20_000) for _ in range(5))
    print(f"local order book, one 10-level change {best:5.2f} us")


if __name__ == "__main__":
    main()
