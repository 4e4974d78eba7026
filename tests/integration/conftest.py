"""Fixtures of the Exberry integration tests: a Market Data API client, a simulator on a
clock the test moves, and a client whose stream openings the test holds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deribit_client.exberry import ExberryClient
from deribit_client.testing.exberry import ExberrySimulator
from tests.helpers import EXBERRY_KEY, INSTANT, NOON, HeldOpens


@pytest.fixture
async def md(exberry_sim: ExberrySimulator) -> AsyncIterator[ExberryClient]:
    """A Market Data API client of ``exberry_sim`` in public-token mode."""
    async with ExberryClient(exberry_sim.url, public_token="sim-md-token") as client:
        yield client


@pytest.fixture
async def timed() -> AsyncIterator[tuple[ExberrySimulator, ExberryClient, list[float]]]:
    """A simulator on a clock the test moves (``now[0]``, from :data:`NOON`) and a client
    with a token session (no signature timestamp to keep near the real clock)."""
    now = [NOON]
    async with (
        ExberrySimulator(clock=lambda: now[0], tokens={"tok"}) as sim,
        ExberryClient(sim.url, token="tok", reconnect=INSTANT) as client,
    ):
        yield sim, client, now


@pytest.fixture
async def held(exberry_sim: ExberrySimulator) -> AsyncIterator[tuple[ExberryClient, HeldOpens]]:
    """A client whose stream openings the test can hold or refuse (``HeldOpens``)."""
    connector = HeldOpens(exberry_sim.url)
    async with ExberryClient(
        exberry_sim.url, **EXBERRY_KEY, connector=connector, reconnect=INSTANT
    ) as client:
        yield client, connector
