"""The README's first command: the demo runs against the bundled simulator."""

from __future__ import annotations

import pytest

from deribit_client.cli import main


def test_demo_runs_against_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "connected over websocket" in out
    assert "connected over http" in out
    assert "InvalidRequestError: code=10020" in out
    assert "book.BTC-PERPETUAL snapshot" in out
    assert "authenticated as sim-client-id" in out
    assert "cancel_all(detailed) 1 cancelled, 0 failed" in out
    assert "sim-client-secret" not in out
    assert out.rstrip().endswith("== done")


def test_exberry_demo_runs_against_its_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--venue", "exberry"]) == 0
    out = capsys.readouterr().out
    assert "session created" in out
    assert "orderBookDepth Add   Sell 2 @ 101.5" in out
    assert "orderBookDepth Exec  1 @ 101.5" in out
    assert "NotFound: code=1100" in out
    assert "sim-exberry-secret" not in out
    assert out.rstrip().endswith("== done")
