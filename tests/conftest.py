"""Fixtures shared by the test tiers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import hypothesis  # noqa: F401  - see below
import pytest

from deribit_client import DeribitClient
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator
from tests.helpers import INSTANT

# hypothesis' pytest plugin otherwise imports `hypothesis` lazily inside the terminal summary,
# where assertion rewriting trips a CPython 3.11 AST bug ("recursion depth mismatch").


@pytest.fixture
async def sim() -> AsyncIterator[DeribitSimulator]:
    """A fresh simulator on an ephemeral loopback port."""
    async with DeribitSimulator(seed=7) as simulator:
        yield simulator


@pytest.fixture
async def trader(sim: DeribitSimulator) -> AsyncIterator[DeribitClient]:
    """A WebSocket client of ``sim`` with its API key: no heartbeats, instant reconnects."""
    async with DeribitClient(
        url=sim.url,
        transport="websocket",
        heartbeat_interval=None,
        reconnect=INSTANT,
        client_id=SIM_CLIENT_ID,
        client_secret=SIM_CLIENT_SECRET,
    ) as client:
        yield client


@pytest.fixture
async def counterparty(sim: DeribitSimulator) -> AsyncIterator[DeribitClient]:
    """A second simulated user with its own account, connected like ``trader``."""
    sim.add_api_key("counterparty", "counterparty-secret")
    async with DeribitClient(
        url=sim.url,
        transport="websocket",
        heartbeat_interval=None,
        reconnect=INSTANT,
        client_id="counterparty",
        client_secret="counterparty-secret",
    ) as client:
        yield client
