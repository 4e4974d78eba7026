"""A pytest plugin (registered through the ``pytest11`` entry point): fixtures that start
the bundled simulators on ephemeral ports and hand out connected clients.

    async def test_bot(deribit_sim, deribit_client):
        deribit_sim.inject_error("private/buy", 10009, "not_enough_funds")   # a fault hook
        ...

Async fixtures need pytest-asyncio; without it the fixtures are not defined (and this
plugin stays out of the way).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the plugin is inert without pytest-asyncio
    pytest_asyncio = None  # type: ignore[assignment]

if pytest_asyncio is not None:
    from deribit_client import DeribitClient, ReconnectPolicy
    from deribit_client.exberry import ExberryClient

    from . import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator, ExberrySimulator
    from .exberry import SIM_API_KEY, SIM_API_SECRET, SIM_BROKER_TOKEN

    _INSTANT = ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0)

    @pytest_asyncio.fixture
    async def deribit_sim() -> AsyncIterator[DeribitSimulator]:
        """A fresh Deribit simulator on 127.0.0.1 (all fault hooks reachable)."""
        async with DeribitSimulator(seed=1) as simulator:
            yield simulator

    @pytest_asyncio.fixture
    async def deribit_client(deribit_sim: DeribitSimulator) -> AsyncIterator[DeribitClient]:
        """A client connected to ``deribit_sim`` with its API key (no heartbeats, instant
        reconnects: tests stay fast and deterministic)."""
        async with DeribitClient(
            url=deribit_sim.url,
            client_id=SIM_CLIENT_ID,
            client_secret=SIM_CLIENT_SECRET,
            heartbeat_interval=None,
            reconnect=_INSTANT,
        ) as client:
            yield client

    @pytest_asyncio.fixture
    async def exberry_sim() -> AsyncIterator[ExberrySimulator]:
        """A fresh Exberry simulator on 127.0.0.1."""
        async with ExberrySimulator() as simulator:
            yield simulator

    @pytest_asyncio.fixture
    async def exberry_client(exberry_sim: ExberrySimulator) -> AsyncIterator[ExberryClient]:
        """A client with a signed session on ``exberry_sim``."""
        async with ExberryClient(
            exberry_sim.url, api_key=SIM_API_KEY, secret=SIM_API_SECRET, reconnect=_INSTANT
        ) as client:
            yield client

    @pytest_asyncio.fixture
    async def exberry_broker(exberry_sim: ExberrySimulator) -> AsyncIterator[ExberryClient]:
        """A Nebula broker API client (``broker_token``) on ``exberry_sim``: it trades as
        ``trader_key(SIM_BROKER_TOKEN)``, the key to give ``exberry_sim.ledger.open_account``
        for its balances."""
        exberry_sim.tokens.add(SIM_BROKER_TOKEN)
        async with ExberryClient(
            exberry_sim.url, broker_token=SIM_BROKER_TOKEN, reconnect=_INSTANT
        ) as client:
            yield client
