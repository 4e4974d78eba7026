"""The wheel and the sdist build without warnings and carry what they should."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, pathlib.Path, str]:
    out = tmp_path_factory.mktemp("dist")
    # PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling: that is
    # the machine's setting, not the package's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        # No --sdist/--wheel: build makes the sdist, then the wheel from it, as a release
        # would (a stale build/ directory in the checkout cannot leak into the wheel).
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    wheel = next(out.glob("*.whl"))
    sdist = next(out.glob("*.tar.gz"))
    return wheel, sdist, done.stdout + done.stderr


def test_the_build_is_free_of_warnings(artifacts: tuple[pathlib.Path, pathlib.Path, str]) -> None:
    log = artifacts[2]
    warnings = [line for line in log.splitlines() if "warning" in line.lower()]
    assert warnings == []


def test_the_wheel_holds_the_package_typed_and_licensed(
    artifacts: tuple[pathlib.Path, pathlib.Path, str],
) -> None:
    names = zipfile.ZipFile(artifacts[0]).namelist()
    assert "deribit_client/py.typed" in names
    assert "deribit_client/exberry/client.py" in names
    assert "deribit_client/testing/exberry.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    assert "deribit_client/_catalogue/methods.py" in names
    assert not any("_generator" in n or n.endswith(".json") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(artifacts[0]).read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert "Classifier: Programming Language :: Python :: 3.11" in text
    assert "Provides-Extra: speed" in text
    from deribit_client import __version__

    assert f"Version: {__version__}" in text  # the one place the version is written


def test_the_sdist_holds_tests_changelog_and_license(
    artifacts: tuple[pathlib.Path, pathlib.Path, str],
) -> None:
    with tarfile.open(artifacts[1]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for expected in ("LICENSE", "CHANGELOG.md", "README.md", "tests/conftest.py",
                     "benchmarks/bench.py", "deribit_client/__init__.py",
                     "deribit_client/_catalogue/_generator/deribit_openapi.json"):  # fmt: skip
        assert expected in names, expected
