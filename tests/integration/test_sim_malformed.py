"""The Deribit simulator answers a malformed request as Deribit does, with an error, never
by failing itself: every method of the catalogue, each parameter in turn given a value of
every JSON type (what a bot's bug sends, or a raw ``call`` of the wrong shape)."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

import pytest

from deribit_client import DeribitClient, DeribitError
from deribit_client._catalogue import METHODS
from deribit_client.testing import SIM_CLIENT_ID, SIM_CLIENT_SECRET, DeribitSimulator, RateLimits

PLAIN: dict[str, Any] = {"string": "BTC-PERPETUAL", "integer": 1, "number": 1.0,
                         "boolean": True, "array": [], "object": {}}  # fmt: skip
"""A value of a parameter's declared type, for the required ones left as they are."""
WRONG: tuple[Any, ...] = ([], {}, [1], [{}], [[1]], {"a": {}}, 1.5, -1, True, "x", "")
SESSION = {"public/auth", "public/exchange_token", "public/fork_token", "private/logout",
           "public/set_heartbeat", "public/disable_heartbeat",
           "private/enable_cancel_on_disconnect", "private/disable_cancel_on_disconnect",
           *(f"{scope}/{verb}" for scope in ("public", "private")
             for verb in ("subscribe", "unsubscribe", "unsubscribe_all"))}  # fmt: skip
"""Methods that change the session itself: the client's own business, tested elsewhere."""


def valid(method: str) -> dict[str, Any]:
    """The method's required parameters, each with a value of its declared type."""
    params: dict[str, Any] = {}
    for p in METHODS[method].params:
        if p.required:
            params[p.name] = p.enum[0] if p.enum and p.type == "string" else PLAIN.get(p.type, "x")
    if "currency" in params:
        params["currency"] = "BTC"
    return params


async def test_no_malformed_request_makes_the_simulator_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="deribit_client.testing")
    async with (
        DeribitSimulator(rate_limits=RateLimits(enabled=False)) as sim,
        DeribitClient(
            url=sim.url, client_id=SIM_CLIENT_ID, client_secret=SIM_CLIENT_SECRET,
            rate_limit=False,
        ) as client,
    ):  # fmt: skip
        for method in sorted(set(METHODS) - SESSION):
            for param in METHODS[method].params:
                for wrong in WRONG:
                    with suppress(DeribitError):  # Deribit's refusal, or a ClientError
                        await client.call(method, {**valid(method), param.name: wrong})
        assert len(sim.calls) > 4000  # they reached it
    failures = [r.getMessage() for r in caplog.records if "simulator" in r.getMessage()]
    assert failures == []
