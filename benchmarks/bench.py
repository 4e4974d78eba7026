"""deribit_client vs a minimal hand-written aiohttp + msgspec client, measured in one run.

    python benchmarks/bench.py            # full run, prints the table
    python benchmarks/bench.py --quick    # tiny sizes: checks the script works (CI)
    python benchmarks/bench.py --write-results   # full run, regenerates RESULTS.md

The server (benchmarks/frame_server.py) runs in a separate process on 127.0.0.1. Every
figure is the median of at least 3 repetitions; ratios are deribit_client / baseline for
throughput (higher is better) and baseline / deribit_client for costs (RSS, memory, import
time), so 1.00x means "as good as the baseline" everywhere. Nothing here asserts speed.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import functools
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import deribit_client  # noqa: E402
from deribit_client import (  # noqa: E402
    ConnectionLost,
    DeribitClient,
    Gap,
    LocalOrderBook,
    RateLimitError,
)
from deribit_client.testing import (  # noqa: E402
    SIM_CLIENT_ID,
    SIM_CLIENT_SECRET,
    DeribitSimulator,
    PoolLimits,
    RateLimits,
)
from deribit_client.transports.http import MAX_CONNECTIONS  # noqa: E402

CHANNELS = {
    "ticker": "ticker.BTC-PERPETUAL.100ms",
    "book": "book.BTC-PERPETUAL.100ms",
    "trades": "trades.BTC-PERPETUAL.100ms",
}


# -- the baseline: what a careful user would write by hand ---------------------------------


class BStats(msgspec.Struct, kw_only=True, gc=False):
    volume: float | None = None
    volume_usd: float | None = None
    high: float | None = None
    low: float | None = None
    price_change: float | None = None


class BTicker(msgspec.Struct, kw_only=True, gc=False):
    instrument_name: str
    timestamp: int
    state: str | None = None
    stats: BStats | None = None
    open_interest: float | None = None
    best_bid_price: float | None = None
    best_bid_amount: float | None = None
    best_ask_price: float | None = None
    best_ask_amount: float | None = None
    index_price: float | None = None
    min_price: float | None = None
    max_price: float | None = None
    mark_price: float | None = None
    last_price: float | None = None
    estimated_delivery_price: float | None = None
    settlement_price: float | None = None
    delivery_price: float | None = None
    funding_8h: float | None = None
    current_funding: float | None = None
    interest_value: float | None = None


class BBook(msgspec.Struct, kw_only=True, gc=False):
    type: str
    timestamp: int
    instrument_name: str
    change_id: int
    prev_change_id: int | None = None
    bids: list[tuple[str, float, float]] = []
    asks: list[tuple[str, float, float]] = []


class BTrade(msgspec.Struct, kw_only=True, gc=False):
    trade_id: str
    instrument_name: str
    timestamp: int
    direction: str
    price: float
    amount: float
    trade_seq: int | None = None
    contracts: float | None = None
    tick_direction: int | None = None
    index_price: float | None = None
    mark_price: float | None = None


def _message_type(payload: Any) -> Any:
    params = msgspec.defstruct("Params", [("channel", str), ("data", payload)], gc=False)
    return msgspec.defstruct("Message", [("method", str), ("params", params)], gc=False)


BASELINE_DECODERS = {
    "ticker": msgspec.json.Decoder(_message_type(BTicker)),
    "book": msgspec.json.Decoder(_message_type(BBook)),
    "trades": msgspec.json.Decoder(_message_type(list[BTrade])),
}


class BAdd(msgspec.Struct, tag_field="messageType", tag="Add", kw_only=True, gc=False):
    eventId: int
    eventTimestamp: int
    instrument: str
    trackingNumber: int
    orderId: int
    side: str
    quantity: float
    price: float


class BExecuted(msgspec.Struct, tag_field="messageType", tag="Executed", kw_only=True, gc=False):
    eventId: int
    eventTimestamp: int
    instrument: str
    trackingNumber: int
    makerOrderId: int
    takerOrderId: int
    executedQuantity: float
    executedPrice: float


class BCancelled(msgspec.Struct, tag_field="messageType", tag="Cancelled", kw_only=True, gc=False):
    eventId: int
    eventTimestamp: int
    instrument: str
    trackingNumber: int
    orderId: int
    cancelledQuantity: float


class BExberryFrame(msgspec.Struct, gc=False):
    q: str
    sid: int
    d: BAdd | BExecuted | BCancelled


class BTimeReply(msgspec.Struct, gc=False):
    id: int
    result: int


class BTickerReply(msgspec.Struct, gc=False):
    id: int
    result: BTicker


def _request(req_id: int, method: str, params: dict[str, Any]) -> bytes:
    return msgspec.json.encode({"jsonrpc": "2.0", "id": req_id, "method": method, "params": params})


class Baseline:
    """A minimal client: one reader task, futures by id, one typed decode per frame."""

    def __init__(
        self, ws: aiohttp.ClientWebSocketResponse[Any], reply: type = BTickerReply
    ) -> None:
        self.ws = ws
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 0
        self.reader: asyncio.Task[None] | None = None
        self.decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(reply)

    def start(self) -> None:
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        decode = self.decoder.decode
        async for msg in self.ws:
            reply = decode(msg.data)
            future = self.pending.pop(reply.id, None)
            if future is not None and not future.done():
                future.set_result(reply.result)

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        req_id = self.next_id
        future = asyncio.get_running_loop().create_future()
        self.pending[req_id] = future
        await self.ws.send_frame(_request(req_id, method, params), aiohttp.WSMsgType.TEXT)
        return await future


@contextmanager
def timer() -> Iterator[list[float]]:
    out: list[float] = []
    start = time.perf_counter()
    yield out
    out.append(time.perf_counter() - start)


# -- workloads ------------------------------------------------------------------------------


async def baseline_stream(ws_url: str, kind: str, count: int) -> float:
    decode = BASELINE_DECODERS[kind].decode
    seen = 0

    def on_message(data: Any) -> None:
        nonlocal seen
        seen += 1

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, decode_text=False, max_msg_size=1 << 24) as ws,
    ):
        await ws.send_frame(
            _request(1, "public/subscribe", {"channels": [CHANNELS[kind]]}), aiohttp.WSMsgType.TEXT
        )
        await ws.receive()  # confirmation
        with timer() as elapsed:
            # The minimal client's reader is its consumer: both modes are this loop.
            async for msg in ws:
                on_message(decode(msg.data).params.data)
                if seen == count:
                    break
    return count / elapsed[0]


class BSide:
    """One side of the baseline's local book: amount by price, prices kept sorted (what a
    careful user writes to read best prices and depth cheaply)."""

    __slots__ = ("amounts", "prices")

    def __init__(self) -> None:
        self.amounts: dict[float, float] = {}
        self.prices: list[float] = []

    def apply(self, levels: list[tuple[str, float, float]]) -> None:
        for action, price, amount in levels:
            if action == "delete":
                if self.amounts.pop(price, None) is not None:
                    del self.prices[bisect.bisect_left(self.prices, price)]
                continue
            if price not in self.amounts:
                bisect.insort(self.prices, price)
            self.amounts[price] = amount


async def baseline_local_book(ws_url: str, count: int) -> float:
    """``baseline_stream`` for the book channel, each change applied to a local book (the
    minimal client checks the sequence too: prev_change_id against the last change_id)."""
    decode = BASELINE_DECODERS["book"].decode
    bids, asks = BSide(), BSide()
    last: int | None = None
    seen = 0
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, decode_text=False, max_msg_size=1 << 24) as ws,
    ):
        await ws.send_frame(
            _request(1, "public/subscribe", {"channels": [CHANNELS["book"]]}),
            aiohttp.WSMsgType.TEXT,
        )
        await ws.receive()  # confirmation
        with timer() as elapsed:
            async for msg in ws:
                book = decode(msg.data).params.data
                if book.type == "snapshot":
                    bids, asks = BSide(), BSide()
                elif book.prev_change_id != last:
                    raise RuntimeError("book gap")
                last = book.change_id
                bids.apply(book.bids)
                asks.apply(book.asks)
                seen += 1
                if seen == count:
                    break
    assert bids.prices
    assert asks.prices
    return count / elapsed[0]


def sdk_client(url: str, transport: str = "websocket", timeout: float = 10.0) -> DeribitClient:
    """The SDK as the engine benchmarks use it: the frame server is not Deribit and has no
    credit system, so the client's credit limiter is off (the "credits" group measures it)."""
    return DeribitClient(
        url=url,
        transport=transport,  # type: ignore[arg-type]
        heartbeat_interval=None,
        timeout=timeout,
        rate_limit=False,
    )


async def sdk_stream(url: str, kind: str, count: int, mode: str) -> float:
    seen = 0
    done = asyncio.Event()

    def on_message(item: Any) -> None:
        nonlocal seen
        if type(item) is not Gap:
            seen += 1
            if seen == count:
                done.set()

    async with sdk_client(url) as client:
        channel = CHANNELS[kind]
        if mode == "callback":
            async with client.subscribe(channel, callback=on_message, maxsize=count + 10):
                with timer() as elapsed:
                    await done.wait()
        elif mode == "local book":
            # The idiom the README shows: the book kept from inside the read loop.
            book = LocalOrderBook(channel.split(".")[1])

            def keep(item: Any) -> None:
                book.apply(item)
                on_message(item)

            async with client.subscribe(channel, callback=keep, maxsize=count + 10):
                with timer() as elapsed:
                    await done.wait()
            if book.best_bid() is None:
                raise RuntimeError("the local book is empty")
        else:
            async with client.subscribe(channel, maxsize=count + 10) as sub:
                with timer() as elapsed:
                    async for item in sub:
                        on_message(item)
                        if seen == count:
                            break
    return count / elapsed[0]


async def baseline_exberry(url: str, count: int) -> float:
    decode = msgspec.json.Decoder(BExberryFrame).decode
    seen = 0
    last: Any = None

    def on_event(item: Any) -> None:  # what the SDK's subscriber does with each event
        nonlocal seen, last
        seen += 1
        last = item

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, decode_text=False, max_msg_size=1 << 24) as ws,
    ):
        await ws.send_str('{"q":"exchange.market/createSession","sid":1,"d":{}}')
        await ws.receive()
        await ws.receive()
        await ws.send_str('{"q":"v2/exchange.market/orderBookDepth","sid":2,"d":{}}')
        with timer() as elapsed:
            async for msg in ws:
                on_event(decode(msg.data).d)  # the typed event, as a consumer would use it
                if seen == count:
                    break
    assert last is not None
    return count / elapsed[0]


async def sdk_exberry(url: str, count: int, mode: str) -> float:
    from deribit_client.exberry import ExberryClient

    seen = 0
    done = asyncio.Event()

    def on_event(item: Any) -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set()

    async with ExberryClient(url, token="bench") as client:
        if mode == "callback":
            async with client.order_book_depth(callback=on_event, maxsize=count + 10):
                with timer() as elapsed:
                    await done.wait()
        else:
            async with client.order_book_depth(maxsize=count + 10) as stream:
                with timer() as elapsed:
                    async for item in stream:
                        on_event(item)
                        if seen == count:
                            break
    return count / elapsed[0]


async def baseline_sequential(ws_url: str, calls: int) -> float:
    decode = msgspec.json.Decoder(BTimeReply).decode
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, decode_text=False) as ws,
    ):
        with timer() as elapsed:
            for req_id in range(calls):
                await ws.send_frame(_request(req_id, "public/get_time", {}), aiohttp.WSMsgType.TEXT)
                decode((await ws.receive()).data)
    return calls / elapsed[0]


async def reader_task_sequential(ws_url: str, calls: int) -> float:
    """The baseline's concurrent client (reader task + futures) used one call at a time."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, decode_text=False) as ws,
    ):
        client = Baseline(ws, BTimeReply)
        client.start()
        with timer() as elapsed:
            for _ in range(calls):
                await client.call("public/get_time", {})
        assert client.reader is not None
        client.reader.cancel()
    return calls / elapsed[0]


async def sdk_sequential(url: str, calls: int, transport: str = "websocket") -> float:
    async with sdk_client(url, transport) as client:
        get_time = client.public.get_time
        with timer() as elapsed:
            for _ in range(calls):
                await get_time()
    return calls / elapsed[0]


async def baseline_concurrent(ws_url: str, rounds: int, width: int) -> float:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, decode_text=False) as ws,
    ):
        client = Baseline(ws)
        client.start()
        params = {"instrument_name": "BTC-PERPETUAL"}
        with timer() as elapsed:
            for _ in range(rounds):
                await asyncio.gather(*(client.call("public/ticker", params) for _ in range(width)))
        assert client.reader is not None
        client.reader.cancel()
    return rounds * width / elapsed[0]


async def sdk_concurrent(url: str, rounds: int, width: int, transport: str = "websocket") -> float:
    async with sdk_client(url, transport) as client:
        ticker = client.public.ticker
        with timer() as elapsed:
            for _ in range(rounds):
                await asyncio.gather(*(ticker("BTC-PERPETUAL") for _ in range(width)))
    return rounds * width / elapsed[0]


async def baseline_http_sequential(http_url: str, calls: int) -> float:
    decode = msgspec.json.Decoder(BTimeReply).decode
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        with timer() as elapsed:
            for req_id in range(calls):
                body = _request(req_id, "public/get_time", {})
                async with session.post(
                    f"{http_url}/public/get_time", data=body, headers=headers
                ) as resp:
                    decode(await resp.read())
    return calls / elapsed[0]


async def baseline_http_concurrent(http_url: str, rounds: int, width: int) -> float:
    decode = msgspec.json.Decoder(BTickerReply).decode
    headers = {"Content-Type": "application/json"}
    # As many connections as the SDK holds: aiohttp's default of 100 would be refused by
    # Deribit past 32 per IP, so a client that works against it caps its pool too.
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(req_id: int) -> Any:
            body = _request(req_id, "public/ticker", {"instrument_name": "BTC-PERPETUAL"})
            async with session.post(
                f"{http_url}/public/ticker", data=body, headers=headers
            ) as resp:
                return decode(await resp.read()).result

        with timer() as elapsed:
            for _ in range(rounds):
                await asyncio.gather(*(one(i) for i in range(width)))
    return rounds * width / elapsed[0]


# -- memory (in fresh subprocesses) ---------------------------------------------------------


async def rss_workload(which: str, url: str, count: int) -> int:
    """Stream ``count`` tickers and make 1000 concurrent calls; return peak RSS in KiB."""
    ws_url = f"{url.replace('http', 'ws')}/ws/api/v2"
    if which == "baseline":
        await baseline_stream(ws_url, "ticker", count)
        await baseline_concurrent(ws_url, 1, 1000)
    else:
        await sdk_stream(url, "ticker", count, "iter")
        await sdk_concurrent(url, 1, 1000)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def pending_workload(which: str, url: str, n: int) -> dict[str, float]:
    """Bytes held per pending request (tracemalloc), total and SDK bookkeeping only."""
    gc.collect()
    tracemalloc.start()
    loop = asyncio.get_running_loop()
    if which == "baseline":
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{url.replace('http', 'ws')}/ws/api/v2", decode_text=False) as ws,
        ):
            client = Baseline(ws)
            client.start()
            before = tracemalloc.take_snapshot()
            tasks = [loop.create_task(client.call("public/blackhole", {})) for _ in range(n)]
            while len(client.pending) < n:  # noqa: ASYNC110 - polls another task's progress
                await asyncio.sleep(0.01)
            after = tracemalloc.take_snapshot()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    else:
        async with sdk_client(url, timeout=600) as sdk:
            before = tracemalloc.take_snapshot()
            tasks = [loop.create_task(sdk.call("public/blackhole")) for _ in range(n)]
            while sdk.pending_count < n:  # noqa: ASYNC110 - polls the SDK's pending table
                await asyncio.sleep(0.01)
            after = tracemalloc.take_snapshot()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    tracemalloc.stop()
    diff = after.compare_to(before, "filename")
    total = sum(d.size_diff for d in diff)
    package = str(HERE.parent / "deribit_client")
    own = sum(d.size_diff for d in diff if d.traceback[0].filename.startswith(package))
    return {"total": total / n, "own": own / n}


def run_worker(args: argparse.Namespace) -> None:
    if args.worker.startswith("rss-"):
        print(json.dumps(asyncio.run(rss_workload(args.worker[4:], args.url, args.count))))
    else:
        print(json.dumps(asyncio.run(pending_workload(args.worker[8:], args.url, args.count))))


def worker(name: str, url: str, count: int) -> Any:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--url", url, "--count", str(count)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_time(module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter, from compiled bytecode as an
    installed package imports (pip compiles at install; a source checkout run with
    PYTHONDONTWRITEBYTECODE would time the compiler instead). The cache lives outside the
    tree; the first, compiling import is not timed."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "deribit-bench-pycache")
    run = [sys.executable, "-c", code]
    subprocess.run(run, check=True, capture_output=True, env=env)
    out = subprocess.run(run, check=True, capture_output=True, text=True, env=env)
    return float(out.stdout.strip())


# -- reporting ------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    baseline: float
    sdk: float
    unit: str
    higher_is_better: bool
    target: float | None
    limit: float | None = None  # an absolute ceiling for the SDK's figure instead of a ratio

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.sdk / self.baseline
        return self.baseline / self.sdk

    def cells(self, judged: bool = True) -> list[str]:
        target, status = "", ""
        if self.target is not None:
            target = f">= {self.target:.2f}x"
            status = "met" if self.ratio >= self.target else "NOT met"
        elif self.limit is not None:
            target = f"< {self.limit:,.0f} {self.unit}"
            status = "met" if self.sdk < self.limit else "NOT met"
        if not judged and status:
            status = "not judged"
        return [
            self.name,
            f"{self.baseline:,.1f} {self.unit}",
            f"{self.sdk:,.1f} {self.unit}",
            f"{self.ratio:.2f}x",
            target,
            status,
        ]


def table(rows: list[Row], judged: bool = True) -> str:
    header = ["workload", "baseline", "deribit_client", "ratio", "target", ""]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row.cells(judged)) + " |" for row in rows]
    return "\n".join(lines)


def _pair(figures: list[float]) -> tuple[float, float]:
    """The baseline's and the SDK's figure of a two-contender :func:`medians`."""
    baseline, sdk = figures
    return baseline, sdk


async def medians(reps: int, *runs: Callable[[], Awaitable[float]]) -> list[float]:
    """Median of ``reps`` repetitions of each run, interleaved (A B A B ...) so drift in
    the machine's speed affects every contender alike."""
    results: list[list[float]] = [[] for _ in runs]
    for _ in range(reps):
        for out, run in zip(results, runs, strict=True):
            out.append(await run())
            gc.collect()
    return [statistics.median(r) for r in results]


@contextmanager
def frame_server(count: int) -> Iterator[str]:
    channels = [arg for channel in CHANNELS.values() for arg in ("--channel", channel)]
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "frame_server.py"), "--count", str(count), *channels],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT"):
            raise RuntimeError(f"frame server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


GROUPS = ("notifications", "ws", "http", "memory", "exberry", "credits")


async def credit_bot(limited: bool, seconds: float, rate: float, burst: int) -> tuple[int, int]:
    """A bot calling as fast as it can (20 workers) against the simulator's credit pools;
    returns the calls served within ``seconds`` and the ``10028`` answers it drew. Without
    the limiter the first ``10028`` closes the session, which ends the run."""
    limits = RateLimits(non_matching_engine=PoolLimits.per_second(rate, burst))
    served = 0

    async def worker(client: DeribitClient) -> None:
        nonlocal served
        while True:
            await client.public.get_time()
            served += 1

    async with (
        DeribitSimulator(rate_limits=limits) as sim,
        DeribitClient(
            url=sim.url,
            transport="websocket",
            heartbeat_interval=None,
            reconnect=False,
            rate_limit=limited,
            client_id=SIM_CLIENT_ID,
            client_secret=SIM_CLIENT_SECRET,
        ) as client,
    ):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                try:
                    async with asyncio.TaskGroup() as group:
                        for _ in range(20):
                            group.create_task(worker(client))
                except* (RateLimitError, ConnectionLost):
                    pass  # without the limiter: refused, and the session closed
        return served, sim.credits.refused


async def measure_credits(seconds: float) -> list[Row]:
    # A pool scaled up from Deribit's default (20/s, burst 100) so a short run is mostly
    # sustained rate; "allowed" is what the pool admits in the window: burst + rate * time.
    rate, burst = 500.0, 100
    allowed = burst + rate * seconds
    with_limiter, refused = await credit_bot(True, seconds, rate, burst)
    without, refused_without = await credit_bot(False, seconds, rate, burst)
    return [
        Row(
            f"busy bot {seconds:g} s, credit limiter: {refused} x 10028",
            allowed,
            with_limiter,
            "calls",
            True,
            0.95,
        ),
        Row(
            f"  same, limiter off: {refused_without} x 10028, session closed (info)",
            allowed,
            without,
            "calls",
            True,
            None,
        ),
    ]


async def measure(url: str, sizes: dict[str, int], reps: int, only: set[str]) -> list[Row]:
    ws_url = f"{url.replace('http', 'ws')}/ws/api/v2"
    http_url = f"{url}/api/v2"
    n = sizes["notifications"]
    rows: list[Row] = []
    for kind in CHANNELS if "notifications" in only else ():
        base, callback, iterate = await medians(
            reps,
            functools.partial(baseline_stream, ws_url, kind, n),
            functools.partial(sdk_stream, url, kind, n, "callback"),
            functools.partial(sdk_stream, url, kind, n, "iter"),
        )
        rows.append(
            Row(f"{n:,} {kind} notifications, callback", base, callback, "msg/s", True, 0.90)
        )
        rows.append(
            Row(f"{n:,} {kind} notifications, async for", base, iterate, "msg/s", True, 0.85)
        )
        if kind == "book":  # the same stream kept as a local order book on both sides
            base, local = await medians(
                reps,
                lambda: baseline_local_book(ws_url, n),
                lambda: sdk_stream(url, "book", n, "local book"),
            )
            rows.append(
                Row(f"{n:,} book changes into a local book", base, local, "msg/s", True, 0.90)
            )
    if "exberry" in only:
        ex_url = f"{url.replace('http', 'ws')}/exberry"
        base, callback, iterate = await medians(
            reps,
            lambda: baseline_exberry(ex_url, n),
            lambda: sdk_exberry(ex_url, n, "callback"),
            lambda: sdk_exberry(ex_url, n, "iter"),
        )
        rows.append(
            Row(f"{n:,} Exberry book events, callback", base, callback, "msg/s", True, 0.85)
        )
        rows.append(
            Row(f"{n:,} Exberry book events, async for", base, iterate, "msg/s", True, 0.85)
        )
    calls, rounds, width = sizes["sequential"], sizes["rounds"], sizes["width"]
    if "ws" in only:
        rows += await measure_ws(url, ws_url, calls, rounds, width, reps)
    if "http" in only:
        rows += await measure_http(url, http_url, sizes, width, reps)
    if "credits" in only:
        rows += await measure_credits(sizes["credit_seconds"])
    return rows


async def measure_ws(
    url: str, ws_url: str, calls: int, rounds: int, width: int, reps: int
) -> list[Row]:
    base_seq, sdk_seq, reader_seq = await medians(
        reps,
        lambda: baseline_sequential(ws_url, calls),
        lambda: sdk_sequential(url, calls),
        lambda: reader_task_sequential(ws_url, calls),
    )
    concurrent = await medians(
        reps,
        lambda: baseline_concurrent(ws_url, rounds, width),
        lambda: sdk_concurrent(url, rounds, width),
    )
    return [
        Row(f"{calls:,} sequential get_time (WS)", base_seq, sdk_seq, "call/s", True, 0.90),
        Row(
            "  same, baseline with a reader task (info)", reader_seq, sdk_seq, "call/s", True, None
        ),
        Row(
            f"{rounds} x {width:,} concurrent ticker (WS)", *_pair(concurrent), "call/s", True, 0.85
        ),
    ]


async def measure_http(
    url: str, http_url: str, sizes: dict[str, int], width: int, reps: int
) -> list[Row]:
    calls, rounds = sizes["http_sequential"], sizes["http_rounds"]
    sequential = await medians(
        reps,
        lambda: baseline_http_sequential(http_url, calls),
        lambda: sdk_sequential(url, calls, "http"),
    )
    concurrent = await medians(
        reps,
        lambda: baseline_http_concurrent(http_url, rounds, width),
        lambda: sdk_concurrent(url, rounds, width, "http"),
    )
    return [
        Row(f"{calls:,} sequential get_time (HTTP)", *_pair(sequential), "call/s", True, 0.90),
        Row(
            f"{rounds} x {width:,} concurrent ticker (HTTP)",
            *_pair(concurrent),
            "call/s",
            True,
            0.90,
        ),
    ]


def memory_rows(url: str, sizes: dict[str, int], reps: int) -> list[Row]:
    rss = {
        which: statistics.median(
            worker(f"rss-{which}", url, sizes["notifications"]) for _ in range(reps)
        )
        / 1024
        for which in ("baseline", "sdk")
    }
    pending = {
        which: [worker(f"pending-{which}", url, sizes["pending"]) for _ in range(reps)]
        for which in ("baseline", "sdk")
    }
    total = {w: statistics.median(p["total"] for p in pending[w]) for w in pending}
    own = statistics.median(p["own"] for p in pending["sdk"])
    imports = {
        "baseline": statistics.median(import_time("aiohttp, msgspec") for _ in range(reps)),
        "sdk": statistics.median(import_time("deribit_client") for _ in range(reps)),
    }
    return [
        Row(
            "peak RSS (stream + 1,000 concurrent calls)",
            rss["baseline"],
            rss["sdk"],
            "MiB",
            False,
            1 / 1.25,
        ),
        Row(
            "memory per pending request, whole call",
            total["baseline"],
            total["sdk"],
            "B",
            False,
            None,
        ),
        Row(
            "memory per pending request, SDK bookkeeping", total["baseline"], own, "B", False, None
        ),
        Row(
            "import time (aiohttp+msgspec vs deribit_client)",
            imports["baseline"] * 1000,
            imports["sdk"] * 1000,
            "ms",
            False,
            None,
        ),
    ]


FULL = {
    "notifications": 200_000,
    "sequential": 5_000,
    "rounds": 20,
    "width": 1_000,
    "http_sequential": 5_000,
    "http_rounds": 20,
    "pending": 10_000,
    "credit_seconds": 10,
}
QUICK = {
    "notifications": 2_000,
    "sequential": 100,
    "rounds": 2,
    "width": 50,
    "http_sequential": 50,
    "http_rounds": 2,
    "pending": 200,
    "credit_seconds": 1,
}

NOTES = """\
What limits each figure (profiled with cProfile on this machine):

- Notifications: both clients spend most of each frame in aiohttp's WebSocket reader and in
  msgspec. The SDK decodes each frame once, straight into `Notification[Model]`, and hands
  it to the subscriber directly; what remains is a few Python calls per frame (finding the
  channel, the sink, the subscriber's producer), the book sequence check, and richer models
  (the SDK's `Ticker`/`PublicTrade` carry every documented field, the baseline's structs
  only those in the frames: +0.1-0.2 us per decode). `async for` adds the hand-over to the
  consumer task: a deque and one wake-up per burst, plus resuming the iterator per item.
  Book messages were the worst case until their levels became GC-untracked Structs: queued
  lists of tuples made the collector's older generations work.
- Sequential round trips: the baseline reads each reply in the calling task. Any client
  that also receives notifications and concurrent replies needs a reader task, which costs
  one more event-loop turn per reply; the "baseline with a reader task" row measures that
  architecture, and the SDK runs at about its speed. The remaining gap to the direct-read
  baseline is that turn (measured: 6-16% of a loopback round trip here).
- Concurrent round trips: asyncio's own machinery (task creation by gather, call_soon
  wake-ups) dominates both; the SDK's own code is about a fifth of the time: routing, the
  pending table, encoding, the single typed decode of the reply.
- HTTP: aiohttp's client and the server dominate both. Both hold at most 8 connections
  (the SDK's `max_connections`): Deribit refuses a 33rd per IP, so a baseline using
  aiohttp's default pool of 100 would not work against it.
- Memory per pending request: "whole call" includes the caller's task and the SDK's
  coroutine chain; "SDK bookkeeping" counts allocations made in deribit_client files only
  (pending entry, future, coroutine frames), against the 1 KiB budget. One deadline timer
  per connection replaced a timer per request.
- Import time: deribit_client imports aiohttp and msgspec plus its models and simulator-free
  core; the difference is the SDK's own modules.
- This is a 2-core virtual machine shared with other tenants: figures swing by 10-30%
  between runs (the baseline alone moved from 219k to 274k ticker msg/s between two runs),
  which is why repetitions are interleaved and medians reported. For decisions, the
  in-process per-frame and per-call costs (mock transport, min of repeated runs) were
  compared old code against new instead.

Where the targets of issues #8 and #10 stand. Ratios of the seven full runs made while
working on them (production-sized payloads), as min-max, because single runs here are not
to be trusted (in one the baselines fell by ~40% and several SDK rows beat them):

| workload | callback | async for |
|---|---|---|
| ticker (target 0.90 / 0.85) | 0.87-1.18 | 0.66-0.87 |
| book | 0.71-1.05 | 0.65-1.14 |
| trades | 0.79-1.08 | 0.72-1.13 |
| Exberry book events (target 0.85 / 0.85) | 0.83-0.97 | 0.68-0.95 |

| workload | range | target |
|---|---|---|
| sequential WS calls | 0.70-0.90 | 0.90 |
| 1,000 concurrent WS calls | 0.61-0.80 | 0.85 |
| sequential HTTP calls | 0.70-0.92 | 0.90 |
| 1,000 concurrent HTTP calls | 0.85-1.02 | 0.90 |

- Notifications: within noise of the targets in most runs, below them in some.
- Books (0.70x in two runs): the frames are small (230 bytes), so the baseline spends only ~3.3 us
  per frame, and the SDK's fixed Python work per frame (~1.2 us: protocol classification,
  route, book sequence check, the subscriber's producer) weighs more than on tickers.
  In-process, book and ticker delivery cost the same; decoding the SDK's model costs what
  the baseline's does (1.18 vs 1.10 us). Reaching 0.90x means removing nearly all Python
  from the per-frame path, a design change not made here.
- Request round trips (sequential 0.71-0.85x, 1,000 in flight 0.61-0.75x over runs): the
  restructure into an engine (issue #8) added argument checks (timeouts, params, result
  type, event loop) and the deadline bookkeeping that lets a timeout interrupt a blocked
  write: +0.5 us in `_start`, ~+3 us per call in-process against the mock transport,
  about a tenth of a loopback round trip. Leader/follower reads (below) remain the
  known lever for the sequential case.

What was tried, in order, with the ratios it moved (full runs on this machine):

1. One decode per frame, straight into `Notification[Model]` / the result type, after
   finding the channel or id in the first bytes (notifications 0.58-0.77x -> 0.83-0.97x).
2. Fixed the reply fast path, which could never build its struct and silently fell back;
   one deadline timer per connection instead of one per call; no write lock; typed
   wrappers reach the dispatcher without extra coroutine layers (concurrent 0.48x -> ~0.8x).
3. Notifications handed to their channel's route in one lookup, producers chosen per
   policy, previous-channel prefix cache.
4. GC-untracked book levels (book `async for` 0.59x -> 0.74-0.87x).
5. HTTP: aiohttp's per-request timer instead of a second one of our own.
6. Issue #8 (engine): subscribers' producers carry no marker checks (markers have their own
   path), a lone book subscriber is called directly, no enum member lookup and no tuple
   allocation per call (enum access costs ~100 ns on 3.11). The coroutine `__anext__`
   that makes iteration cancel-safe costs ~40 ns more per item than the async generator
   it replaced (164 vs 120 ns, measured alone). The send deadline needs the calling task:
   `asyncio.current_task()` is pure Python on 3.11 (~0.5 us); reading asyncio's per-loop
   table instead brought the bookkeeping from ~2.5 to ~1 us per call. py-spy then showed
   asyncio._get_running_loop() (~0.2 us, for the other-event-loop check, now done where
   the connection fetches the loop anyway) and an ABC isinstance on params (~0.2 us, now
   skipped for dicts). In-process against the mock transport, min of alternating runs,
   pre-engine code vs now: 19.8 vs 22.1 us per concurrent call, 17.9 vs 20.4 us
   sequential; the remaining ~2 us is spread over argument checks and routing.
7. Instruction counts (`benchmarks/instructions.py`, valgrind; deterministic where the
   timings here are not) found every answered call leaving its future and reply in a
   reference cycle that only the collector freed; broken, with the pending entry and the
   reply made untracked Structs, replies in Deribit's member order matched without a
   channel search, and one call layer less: 151.3k -> 141.1k instructions per concurrent
   call against 109.0k for the raw client (0.72x -> 0.77x), 123.7k -> 116.4k per
   sequential call (0.52x -> 0.55x: the raw client reads its reply without the reader
   task's extra loop turn, about 40k instructions of asyncio's loop). One full run after
   it: 1,000 concurrent WS calls 0.80x.
8. `instructions.py` moved onto real sockets (this file's workloads against the frame
   server, the client process counted alone), which showed costs the mock transport hid:
   unwrapping each aiohttp message in a call (the read loop now takes a text frame from
   aiohttp's own message type: -1.5k instructions per notification) and Exberry's sid scan
   (two bounded finds with argument parsing, a slice and an int() per event; items that
   start like the last one now skip it: -3.7k per event). Per operation, baseline vs SDK:
   ticker 28.2k vs 28.7k by callback (0.98x), 32.9k by async for (0.87x); book 0.94x /
   0.83x; trades 0.94x / 0.86x; local book 0.84x; Exberry 0.89x / 0.78x; sequential calls
   0.61x; 1,000 concurrent calls 107.2k vs 132.4k (0.81x). Iterating costs ~4.3k per item
   over a callback: the `__anext__` coroutine (~1.1k), the queue, and memory: a burst
   decoded ahead of its consumer outgrows the float free list and obmalloc's hot pools
   (callgrind: +1.4k per item in malloc/free). Decoding lazily in `__anext__` was tried:
   -0.6k, not kept.
9. Callgrind diffs per C function, then timing the suspects alone, found costs that no
   Python profile shows: comparing a float with an int literal (`amount <= 0`) converts
   the int on every book level (`0.0` instead: -0.9k instructions per change kept in a
   `LocalOrderBook`, which also handles a change in one frame now); an Exberry stream's
   35 instance attributes were past the 30 a CPython 3.11 instance dict can share its keys
   for, so every attribute access on its per-item path took the slow lookup (streams are
   slotted now); Exberry's resume bookkeeping tested the rare cases first; and the
   connection driver's `*args` kept a GC-tracked tuple alive for each call (-2k per
   concurrent call). Per operation after it, baseline vs SDK: ticker 0.98x / 0.86x, book
   0.94x / 0.82x, trades 0.95x / 0.86x (callback / async for); local book 31.5k vs 36.3k
   (0.84x -> 0.87x); Exberry 20.3k vs 22.0k by callback (0.88x -> 0.92x), 24.8k by async
   for (0.78x -> 0.81x); sequential calls 0.61x; 1,000 concurrent calls 107.3k vs 130.6k
   (0.81x -> 0.82x). Yielding the read loop to consumers every 32 frames (to free decoded
   items sooner) was measured and cost more than it saved.
10. Call counts per C function (callgrind) showed what iterating adds to a callback: a
   burst decoded ahead of its consumer keeps ~21 floats per ticker alive, past CPython's
   float free list, so each item took 22 more malloc/free pairs. A channel's lone
   `async for` reader now queues the frames (already allocated by aiohttp) and decodes
   each as it takes it: the allocation count per item is back to a callback's. Books keep
   decoding in the read loop (their sequence check needs the fields, and a header-only
   parse costs half a full one). And a call through an attribute holding a callable (a
   route's `deliver`, a stream's `put`) is not specialised on 3.11: fetching it first
   saves ~95 instructions per call. Per operation after it, baseline vs SDK: ticker 1.00x
   / 0.89x, book 0.95x / 0.83x, trades 0.95x / 0.87x (callback / async for); local book
   0.87x; Exberry 0.93x / 0.81x; sequential calls 0.61x; 1,000 concurrent calls 107.0k vs
   130.4k (0.82x).
11. A request carries its reply decoder in its pending entry (-0.6k per concurrent call,
   -1.0k sequential). A lone book reader was measured on raw frames with its sequence
   check removed entirely: 0.86x, so with any sequencing `async for` on books stays below
   0.85x. The connection driver now prepares a request before returning the coroutine
   that sends it (so a call refused before any I/O can give its credits back): neutral,
   concurrent 129.7k -> 128.5k, sequential 124.1k -> 125.0k. Callgrind on concurrent
   calls puts ~1.5k instructions per call in argument parsing of the reply fast path's
   `bytes.startswith`/`find` (METH_VARARGS on 3.11); the alternatives (a slice and
   `partition`, a regex) saved ~90 of ~700 ns timed alone: not done. Per operation now,
   baseline vs SDK: Exberry 0.94x / 0.81x, book async for 0.82x, 1,000 concurrent calls
   0.83x, sequential 0.62x.
12. Four Python calls less per request (callgrind: the interpreter ran ~9k more
   instructions per call than the baseline's, a Python call costing ~0.5k): the
   supervisor's `ready_connection` is an attribute its state machine sets (it was a
   property reading another property: -1.5k), credits and connection are picked in one
   routing step (-0.6k), the protocol checks plain params and parses a numeric-id reply
   inline (-0.8k), and the WebSocket transport leaves a closed socket's refusal to aiohttp
   (-0.6k). Binding the transport's send as a `functools.partial` saved nothing more.
   1,000 concurrent calls 129.0k -> 125.4k (107.1k baseline: 0.83x -> 0.85x); sequential
   0.63x; streams unchanged (ticker 0.98x / 0.87x, book 0.95x / 0.82x, trades 0.95x /
   0.87x, local book 0.87x, Exberry 0.94x / 0.81x). Of the remaining 18k per concurrent
   call, ~9k is the interpreter running the SDK's layers (typed wrapper, checks, routing,
   connection, protocol), the rest allocation, frames and argument parsing; a book item
   read by `async for` pays for its sequence check and richer levels (`BookLevel` Structs,
   ~0.8k) on top of the hand-over.
13. An optional compiled accelerator, tried in a copy and not shipped: the hot modules
   (`_core/streams`, `_core/connection`, `_core/tasks`, `_subscriptions`, `book`,
   `exberry/protocol`) compiled with mypyc 2.4 (the generic msgspec Struct of
   `_rpc/protocol` lost its subscripting when compiled, and streams subclassed in
   interpreted modules need `allow_interpreted_subclasses`). Per operation, pure vs
   compiled against the same baseline: book async for 0.82x -> 0.85x, ticker async for
   0.88x -> 0.93x, book callback 0.93x -> 0.92x, sequential calls 0.63x -> 0.63x. What is
   left is asyncio's and aiohttp's own work (the hand-over to the consumer, the reader
   task's loop turn), which compiling the SDK does not reach.

Considered and not done: making the typed wrappers plain functions returning coroutines
(one layer less, ~2% on concurrent calls, but every signature would read
`Coroutine[Any, Any, T]`, credits and the connection would be taken when the coroutine is
created rather than awaited, and `inspect.iscoroutinefunction()` would turn false, which
makes tools such as tenacity's `@retry` treat the method as synchronous); reading replies
in the calling task while nothing else is pending, to save the extra loop turn on
sequential calls (aiohttp allows one `receive()` at a time, so it needs hand-over of the
read role between callers and the reader task, and a reader for heartbeats and
notifications whenever no caller reads: a risk to correctness that the gap does not
justify); iterating through an async generator (~40 ns less per item than the `__anext__`
coroutine, but one cancelled `anext(aiter(sub))` would end that generator for good, so a
timed-out read would silently end the iteration).
"""


def write_results(rows: list[Row], sizes: dict[str, int]) -> None:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    text = (
        "# Benchmark results\n\n"
        "Regenerated by `python benchmarks/bench.py --write-results`.\n\n"
        f"- Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
        f"msgspec {msgspec.__version__}, deribit_client {deribit_client.__version__}\n"
        f"- Machine: {os.cpu_count()} cores, {cpu}; server in a separate process on 127.0.0.1\n"
        f"- Median of 3 repetitions; sizes {json.dumps(sizes)}\n\n" + table(rows) + "\n\n" + NOTES
    )
    (HERE / "RESULTS.md").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes (keeps the script working)"
    )
    parser.add_argument("--write-results", action="store_true", help="regenerate RESULTS.md")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=GROUPS,
        action="append",
        help="measure only these groups (repeatable); default: all",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    sizes = QUICK if args.quick else FULL
    reps = max(3, args.reps)
    only = set(args.only or GROUPS)
    with frame_server(sizes["notifications"]) as url:
        rows = asyncio.run(measure(url, sizes, reps, only))
        if "memory" in only:
            rows += memory_rows(url, sizes, reps)
    if args.quick:
        # 2,000 notifications arrive in a few socket reads: the SDK's reader takes most of
        # them while subscribe() returns, before its timer starts, so ratios mean nothing.
        print("quick run: sizes too small to judge against the targets (checks the script)")
    print(table(rows, judged=not args.quick))
    if args.write_results and not args.quick and only == set(GROUPS):
        write_results(rows, sizes)
        print(f"\nwrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
