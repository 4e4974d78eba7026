"""A bundled Deribit simulator (aiohttp.web on 127.0.0.1) to test bots and the SDK against.

Example::

    from deribit_client import DeribitClient
    from deribit_client.testing import DeribitSimulator

    async with DeribitSimulator() as sim, DeribitClient(url=sim.url) as client:
        print(await client.public.ticker("BTC-PERPETUAL"))
"""

from ._accounts import SIM_CLIENT_ID, SIM_CLIENT_SECRET
from ._credits import MATCHING_ENGINE_TIERS, PoolLimits, RateLimits
from ._server import DeribitSimulator
from ._session import Session, SimError
from ._state import Call, Handler, SimState
from .exberry import ExberrySimulator

__all__ = [
    "MATCHING_ENGINE_TIERS",
    "SIM_CLIENT_ID",
    "SIM_CLIENT_SECRET",
    "Call",
    "DeribitSimulator",
    "ExberrySimulator",
    "Handler",
    "PoolLimits",
    "RateLimits",
    "Session",
    "SimError",
    "SimState",
]
