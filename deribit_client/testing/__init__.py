"""A bundled Deribit simulator (aiohttp.web on 127.0.0.1) to test bots and the SDK against.

Example::

    from deribit_client import DeribitClient
    from deribit_client.testing import DeribitSimulator

    async with DeribitSimulator() as sim, DeribitClient(url=sim.url) as client:
        print(await client.public.ticker("BTC-PERPETUAL"))
"""

from ._server import DeribitSimulator
from ._session import Call, Session, SimError

__all__ = ["Call", "DeribitSimulator", "Session", "SimError"]
