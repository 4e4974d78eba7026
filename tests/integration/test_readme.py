"""Every Python block of the README type-checks with mypy --strict.

Each block becomes the body of an async function after a prelude that declares the names
the examples take as given (a connected ``client``, an ``exberry`` client, a ``sim``...),
so fragments are checked as written, imports and awaits included.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]

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

MYPY_INI = """\
[mypy]
strict = True
[mypy-uvloop]
# The `speed` extra's example: uvloop is optional.
ignore_missing_imports = True
"""


def test_every_python_block_of_the_readme_type_checks(tmp_path: pathlib.Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 15
    for number, block in enumerate(blocks):
        body = textwrap.indent(textwrap.dedent(block), "    ")
        source = f"{PRELUDE}\n\nasync def example_{number}() -> None:\n{body}    return None\n"
        (tmp_path / f"readme_block_{number:02d}.py").write_text(source)
    (tmp_path / "mypy.ini").write_text(MYPY_INI)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(tmp_path / "mypy.ini"),
         "--cache-dir", str(tmp_path / ".cache"), str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
