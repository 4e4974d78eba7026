"""Every Python block of the README type-checks with mypy --strict, and runs.

For the type check, each block becomes the body of an async function after a prelude that
declares the names the examples take as given (a connected ``client``, an ``exberry``
client, a ``sim``...), so fragments are checked as written, imports and awaits included.
To run, each is compiled as written (top-level ``await`` allowed) and run with those names
bound to simulators and clients connected to them.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import logging
import pathlib
import re
import sys
import textwrap
import types
from typing import Any

import msgspec
import pytest

from deribit_client import DeribitClient, RpcError
from deribit_client.exberry import ExberryClient
from deribit_client.testing import (
    SIM_CLIENT_ID,
    SIM_CLIENT_SECRET,
    DeribitSimulator,
    ExberrySimulator,
)
from deribit_client.testing.exberry import SIM_API_KEY, SIM_API_SECRET
from tests.helpers import ROOT, mypy_strict, until

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
"""The README's Python blocks, in order."""

PRELUDE = """\
# ruff: noqa
from __future__ import annotations
import asyncio
import uuid
from typing import Any
import pytest
from deribit_client import *
from deribit_client.models import *
from deribit_client.exberry import ExberryClient
from deribit_client.testing import DeribitSimulator, ExberrySimulator
client: DeribitClient
exberry: ExberryClient
sim: DeribitSimulator
exberry_sim: ExberrySimulator
p: float
order_id: int
recorded_bytes: bytes
recorded_str: str
recorded_error: bytes
def resync() -> None: ...
async def main() -> None: ...
"""

MYPY_UVLOOP = """\
[mypy-uvloop]
# The `speed` extra's example: uvloop is optional.
ignore_missing_imports = True
"""


def test_every_python_block_of_the_readme_type_checks(tmp_path: pathlib.Path) -> None:
    assert len(BLOCKS) >= 15
    for number, block in enumerate(BLOCKS):
        body = textwrap.indent(textwrap.dedent(block), "    ")
        source = f"{PRELUDE}\n\nasync def example_{number}() -> None:\n{body}    return None\n"
        (tmp_path / f"readme_block_{number:02d}.py").write_text(source)
    mypy_strict(tmp_path, MYPY_UVLOOP)


# -- running them ---------------------------------------------------------------------------

NOT_RUN = {
    'env="testnet", client_id=': "it logs in to Deribit's testnet",
    'DeribitClient(client_id="...", client_secret="...")': "it logs in to Deribit itself",
    "import uvloop": "uvloop is the optional speed extra",
}
"""Blocks that cannot run here, by a text only they contain, and why."""

SCRIPT = "asyncio.run(main())"
"""The Quick start is a whole program: run as one, in a fresh interpreter."""

RUN_FOREVER = ("async for message in sub:", "async for tick in ticks:", "while True:")
"""Blocks that read a stream until cancelled: run until they have printed something."""

RAISES = {'decode_response("private/buy", recorded_error)': RpcError}
"""Blocks that show an error being raised, and the error."""

LOST_REPLY = {
    "await client.private.reconcile(exc)": "private/buy",
    "await place_once(order_id)": "v1/exchange.market/placeOrder",
}
"""Blocks that settle an order whose reply is lost: run with that reply lost (the venue
takes the order, the connection breaks before its reply), they must leave one order."""


def _block_id(number: int) -> str:
    return f"block{number:02d}"


def _recorded(result: object) -> bytes:
    return msgspec.json.encode({"jsonrpc": "2.0", "id": 1, "result": result})


@pytest.mark.parametrize("number", range(len(BLOCKS)), ids=_block_id)
async def test_every_python_block_of_the_readme_runs(number: int) -> None:
    """Each block runs as written, against the simulators, with the names the type check's
    prelude declares bound to connected clients (made only for the blocks that use them)."""
    source = textwrap.dedent(BLOCKS[number])
    skipped = [why for text, why in NOT_RUN.items() if text in source]
    if skipped:
        pytest.skip(skipped[0])
    if SCRIPT in source:
        await _run_script(source)
        return
    raises = [error for text, error in RAISES.items() if text in source]
    forever = any(text in source for text in RUN_FOREVER)
    code = compile(source, f"README block {number}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    logger = logging.getLogger("deribit_client")
    namespace: dict[str, Any] = {}
    exec(compile(PRELUDE, "prelude", "exec"), namespace)  # the imports and stand-ins
    async with contextlib.AsyncExitStack() as stack:
        sim = await stack.enter_async_context(DeribitSimulator(seed=7))
        exberry_sim = await stack.enter_async_context(ExberrySimulator())
        namespace.update(sim=sim, exberry_sim=exberry_sim, p=50_000.0, order_id=1)
        if re.search(r"\bclient\b", source):
            namespace["client"] = await stack.enter_async_context(
                DeribitClient(url=sim.url, client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET)
            )
        if re.search(r"\bexberry\b", source):
            namespace["exberry"] = await stack.enter_async_context(
                ExberryClient(exberry_sim.url, api_key=SIM_API_KEY, secret=SIM_API_SECRET)
            )
        if "recorded_" in source:
            async with DeribitClient(url=sim.url) as recorder:
                book = await recorder.call(
                    "public/get_order_book", {"instrument_name": "BTC-PERPETUAL"}
                )
            namespace.update(
                recorded_bytes=_recorded(book),
                recorded_str=_recorded(sim.now_ms()).decode(),
                recorded_error=b'{"jsonrpc":"2.0","id":2,'
                b'"error":{"code":10009,"message":"not_enough_funds"}}',
            )
        if forever:
            sim.start_streams(0.05)
        lost = [method for text, method in LOST_REPLY.items() if text in source]
        for method in lost:
            if method.startswith("v1/"):
                # Someone sells at the order's price: it trades at once, so the procedure
                # finds it among past orders, not resting ones.
                exberry_sim.place_order("other-mp", {"mpOrderId": 1, "orderType": "Limit",
                    "side": "Sell", "instrument": "BTC", "quantity": 1, "price": 99.5,
                    "timeInForce": "GTC"})  # fmt: skip
                exberry_sim.lose_replies(method)
            else:
                sim.lose_replies(method)
        printed = io.StringIO()
        # A block may add a logging handler: it must not outlive the block.
        stack.callback(setattr, logger, "handlers", list(logger.handlers))
        with contextlib.redirect_stdout(printed):
            if raises:
                with pytest.raises(raises[0]):
                    await _run(code, namespace)
            elif forever:
                task = asyncio.ensure_future(_run(code, namespace))
                await until(lambda: task.done() or printed.getvalue(), limit=10)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task  # it was still reading, and did not fail
            else:
                await _run(code, namespace)
        if lost:
            # The reply went with its connection (the client reconnected), yet one order.
            [used] = [namespace[name] for name in ("client", "exberry") if name in namespace]
            assert used.reconnect_count == 1
            mine = [o for o in exberry_sim.orders.values() if o["_mp"] == SIM_API_KEY]
            orders = [*sim.trading.account(SIM_CLIENT_ID).orders, *mine]
            assert len(orders) == 1, orders


async def _run(code: types.CodeType, namespace: dict[str, Any]) -> None:
    result = eval(code, namespace)  # a coroutine when the block awaits
    if inspect.iscoroutine(result):
        await result


async def _run_script(source: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", source, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    bid, ask = map(float, out.split())  # the best bid and ask it prints
    assert 0 < bid < ask
