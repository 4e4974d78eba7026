"""CPU instructions per call and per notification, SDK vs a raw baseline, counted by valgrind.

    python benchmarks/instructions.py            # every workload (about two minutes)
    python benchmarks/instructions.py --only concurrent
    python benchmarks/instructions.py --check   # each workload once, no valgrind (CI)

Wall-clock ratios on shared virtual machines swing by 10-40% between runs, which hides
changes of a few percent. Instruction counts do not swing: each workload runs twice in a
child process under ``valgrind --tool=cachegrind`` (a small and a large count, so start-up
and imports cancel out) and the difference is divided by the extra operations. Both sides
use the in-memory mock transport, answering calls on the event loop's next turn as a socket
would, so the figures are the client's own work (plus asyncio's and the mock server's, the
same on both sides). Instructions are not time: cache misses
and the collector's pauses are not weighed. Nothing here asserts speed; valgrind must be
installed (``apt install valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import micro  # noqa: E402
from bench import BASELINE_DECODERS, BTickerReply, BTimeReply, _request  # noqa: E402

from deribit_client import DeribitClient  # noqa: E402
from deribit_client.transports import MockTransport  # noqa: E402

WIDTH = 1000  # calls in flight per round of the concurrent workload
BURST = 16  # notifications per socket read in the streaming workloads
WORKLOADS = ("concurrent", "sequential", "callback", "async-for")


class WireMock(MockTransport):
    """Answers on a later turn of the event loop, as replies from a socket arrive: a client
    that waits in a reader task pays for the extra turn, one that reads directly does not."""

    async def send(self, frame: bytes) -> None:
        self.sent.append(frame)
        loop = asyncio.get_running_loop()
        for reply in micro.answer(frame):
            loop.call_soon(self.push, reply)


class RawClient:
    """The baseline: a reader task, futures by id, one typed decode per reply."""

    def __init__(self, transport: MockTransport, reply: type) -> None:
        self.transport = transport
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 0
        self.decode: Callable[[bytes], Any] = msgspec.json.Decoder(reply).decode

    async def read(self) -> None:
        while True:
            reply = self.decode(await self.transport.receive())  # type: ignore[arg-type]
            future = self.pending.pop(reply.id, None)
            if future is not None and not future.done():
                future.set_result(reply.result)

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.transport.send(_request(self.next_id, method, params))
        return await future


async def raw_calls(workload: str, count: int) -> None:
    transport = WireMock()
    if workload == "sequential":  # the raw client reads its own reply: no reader task
        decode = msgspec.json.Decoder(BTimeReply).decode
        for n in range(count):
            await transport.send(_request(n, "public/get_time", {}))
            decode(await transport.receive())  # type: ignore[arg-type]
        return
    client = RawClient(transport, BTickerReply)
    reader = asyncio.get_running_loop().create_task(client.read())
    params = {"instrument_name": "BTC-PERPETUAL"}
    for _ in range(count // WIDTH):
        await asyncio.gather(*(client.call("public/ticker", params) for _ in range(WIDTH)))
    reader.cancel()


async def sdk_calls(workload: str, count: int) -> None:
    class Connector:
        async def connect(self) -> WireMock:
            return WireMock()

    async with DeribitClient(
        connector=Connector(), heartbeat_interval=None, rate_limit=False
    ) as client:
        if workload == "sequential":
            for _ in range(count):
                await client.public.get_time()
            return
        for _ in range(count // WIDTH):
            await asyncio.gather(*(client.public.ticker("BTC-PERPETUAL") for _ in range(WIDTH)))


async def raw_stream(workload: str, count: int) -> None:
    feed = micro.Feed(BURST)
    feed.batch = micro.ticker_frames(count)[::-1]
    decode = BASELINE_DECODERS["ticker"].decode
    last = None
    for _ in range(count):  # the raw client's reader is its consumer, in both modes
        last = decode(await feed.receive()).params.data  # type: ignore[arg-type]
    assert last is not None


async def sdk_stream(workload: str, count: int) -> None:
    await micro.notifications(workload, count, BURST)


RUNS: dict[tuple[str, str], Callable[[str, int], Coroutine[Any, Any, None]]] = {
    ("raw", "concurrent"): raw_calls,
    ("raw", "sequential"): raw_calls,
    ("sdk", "concurrent"): sdk_calls,
    ("sdk", "sequential"): sdk_calls,
    ("raw", "callback"): raw_stream,
    ("raw", "async-for"): raw_stream,
    ("sdk", "callback"): sdk_stream,
    ("sdk", "async-for"): sdk_stream,
}


def instructions(side: str, workload: str, count: int) -> int:
    """Instructions of one child process running ``count`` operations."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        side,
        workload,
        str(count),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    found = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_operation(side: str, workload: str) -> float:
    small, large = 2 * WIDTH, 12 * WIDTH
    return (instructions(side, workload, large) - instructions(side, workload, small)) / (
        large - small
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=WORKLOADS, action="append")
    parser.add_argument(
        "--check", action="store_true", help="run each workload once, without valgrind (CI)"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, workload, count = args.child
        asyncio.run(RUNS[side, workload](workload, int(count)))
        return
    if args.check:
        for side, workload in RUNS:
            asyncio.run(RUNS[side, workload](workload, 2 * WIDTH))
        print(f"{len(RUNS)} workloads ran")
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: it counts the instructions (apt install valgrind)")
    print("| workload | baseline instr/op | deribit_client instr/op | ratio |")
    print("|---|---|---|---|")
    for workload in args.only or WORKLOADS:
        raw, sdk = per_operation("raw", workload), per_operation("sdk", workload)
        print(f"| {workload} | {raw:,.0f} | {sdk:,.0f} | {raw / sdk:.2f}x |")


if __name__ == "__main__":
    main()
