"""CPU instructions per call and per notification, SDK vs a raw baseline, counted by valgrind.

    python benchmarks/instructions.py            # every workload (about ten minutes)
    python benchmarks/instructions.py --only concurrent --only exberry:callback
    python benchmarks/instructions.py --check   # each workload once, no valgrind (CI)

Wall-clock ratios on shared virtual machines swing by 10-40% between runs, which hides
changes of a few percent. Instruction counts barely move (about 1% between runs): each
workload of ``bench.py`` (the same baseline and SDK code) runs twice in a child process
under ``valgrind --tool=cachegrind``, with a small and a large count so start-up and
imports cancel out, and the difference is divided by the extra operations. The frame server
runs in its own process, outside valgrind, on real sockets: the figures are the client's
whole work per operation, aiohttp's and asyncio's included. Instructions are not time:
cache misses and system calls are not weighed. Nothing here asserts speed; valgrind must be
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
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402

SMALL, LARGE = 2_000, 12_000  # operations per child process
WIDTH = 1_000  # calls in flight per round of the concurrent workload

Run = Callable[[str, int], Coroutine[Any, Any, float]]


def _ws(url: str) -> str:
    return f"{url.replace('http', 'ws')}/ws/api/v2"


def _exberry(url: str) -> str:
    return f"{url.replace('http', 'ws')}/exberry"


def _stream(kind: str, mode: str) -> tuple[Run, Run]:
    async def raw(url: str, n: int) -> float:
        if mode == "local book":
            return await bench.baseline_local_book(_ws(url), n)
        return await bench.baseline_stream(_ws(url), kind, n)

    async def sdk(url: str, n: int) -> float:
        return await bench.sdk_stream(url, kind, n, mode)

    return raw, sdk


def _exberry_stream(mode: str) -> tuple[Run, Run]:
    async def raw(url: str, n: int) -> float:
        return await bench.baseline_exberry(_exberry(url), n)

    async def sdk(url: str, n: int) -> float:
        return await bench.sdk_exberry(_exberry(url), n, mode)

    return raw, sdk


# workload -> (baseline, SDK): bench.py's own code for both sides.
WORKLOADS: dict[str, tuple[Run, Run]] = {
    **{
        f"{kind}:{mode.replace(' ', '-')}": _stream(kind, mode)
        for kind in bench.CHANNELS
        for mode in ("callback", "async for")
    },
    "book:local-book": _stream("book", "local book"),
    "exberry:callback": _exberry_stream("callback"),
    "exberry:async-for": _exberry_stream("async for"),
    "sequential": (
        lambda url, n: bench.baseline_sequential(_ws(url), n),
        lambda url, n: bench.sdk_sequential(url, n),
    ),
    "concurrent": (
        lambda url, n: bench.baseline_concurrent(_ws(url), n // WIDTH, WIDTH),
        lambda url, n: bench.sdk_concurrent(url, n // WIDTH, WIDTH),
    ),
}


def instructions(side: str, workload: str, url: str, count: int) -> int:
    """Instructions of one child process running ``count`` operations against ``url``."""
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
        url,
        str(count),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    found = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_operation(side: str, workload: str, urls: dict[int, str]) -> float:
    small = instructions(side, workload, urls[SMALL], SMALL)
    large = instructions(side, workload, urls[LARGE], LARGE)
    return (large - small) / (LARGE - SMALL)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=WORKLOADS, action="append")
    parser.add_argument(
        "--check", action="store_true", help="run each workload once, without valgrind (CI)"
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, workload, url, count = args.child
        asyncio.run(WORKLOADS[workload][side == "sdk"](url, int(count)))
        return
    chosen = args.only or list(WORKLOADS)
    with ExitStack() as servers:
        # The frame server streams a fixed number of notifications per subscription.
        urls = {n: servers.enter_context(bench.frame_server(n)) for n in (SMALL, LARGE)}
        if args.check:
            for workload in chosen:
                for run in WORKLOADS[workload]:
                    asyncio.run(run(urls[SMALL], SMALL))
            print(f"{len(chosen)} workloads ran on both sides")
            return
        if shutil.which("valgrind") is None:
            sys.exit("valgrind is not installed: it counts the instructions (apt install valgrind)")
        print("| workload | baseline instr/op | deribit_client instr/op | ratio |")
        print("|---|---|---|---|")
        with ThreadPoolExecutor(2) as pool:  # the two sides of a workload side by side
            for workload in chosen:
                raw, sdk = pool.map(per_operation, ("raw", "sdk"), [workload] * 2, [urls] * 2)
                print(f"| {workload} | {raw:,.0f} | {sdk:,.0f} | {raw / sdk:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
