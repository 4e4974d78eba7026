"""Exberry's execution reports, exactly once: random orders (resting, crossing, hit by
another participant, cancelled) interleaved with cut connections, streams the venue ends,
and requests whose reply is lost or late. A stream opened from a tracking number must
deliver each of the participant's events once, in order, without a ``Gap``: a reconnect
resumes it from the venue's cursor and skips what it had already delivered."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deribit_client import ConnectionLost, Gap, OrderOutcomeUnknown
from deribit_client.exberry import ExberryClient, ExberryError
from deribit_client.exberry.models import ExecutionReport
from deribit_client.testing.exberry import SIM_API_KEY, SIM_API_SECRET, ExberrySimulator
from tests.helpers import INSTANT, until

OTHER = "other-mp"
REPORTS = "executionReports"

steps = st.lists(
    st.one_of(
        st.tuples(st.just("rest"), st.sampled_from(["Buy", "Sell"])),
        st.tuples(st.just("cross"), st.sampled_from(["Buy", "Sell"])),
        st.tuples(st.just("hit"), st.sampled_from(["Buy", "Sell"])),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("drop")),
        st.tuples(st.just("end_streams")),
        st.tuples(st.just("lose_reply")),
        st.tuples(st.just("delay")),
    ),
    min_size=1,
    max_size=20,
)

PLACE = "v1/exchange.market/placeOrder"
PRICE = {"Buy": 99.0, "Sell": 101.0}  # our resting prices: nothing rests between them
OPPOSITE = {"Buy": "Sell", "Sell": "Buy"}


class Run:
    """One scenario: our client, the other participant, and what the stream delivered."""

    def __init__(self, sim: ExberrySimulator, client: ExberryClient) -> None:
        self.sim = sim
        self.client = client
        self.ids = itertools.count(1)
        self.delivered: list[ExecutionReport | Gap] = []

    async def place(self, side: str, price: float) -> int:
        mp_order_id = next(self.ids)
        await self.client.wait_ready()
        # A link cut before it went out, or a lost reply (the order may stand): what
        # counts is what the venue did.
        with contextlib.suppress(ConnectionLost, OrderOutcomeUnknown):
            await self.client.place_order(
                instrument="BTC",
                side=side,  # type: ignore[arg-type]
                quantity=1,
                price=price,
                mpOrderId=mp_order_id,
            )
        return mp_order_id

    async def step(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        sim = self.sim
        if kind == "rest":
            await self.place(step[1], PRICE[step[1]])
        elif kind == "cross":  # ours trades at once against the other participant's
            side = step[1]
            theirs = {"orderType": "Limit", "instrument": "BTC", "quantity": 1}
            sim.place_order(OTHER, {**theirs, "side": OPPOSITE[side], "mpOrderId": next(self.ids),
                                    "price": 100.0})  # fmt: skip
            await self.place(side, 100.0)
        elif kind == "hit":  # the other participant trades against ours resting, if any
            if any(o["side"] == step[1] for o in sim.orders.values() if o["_mp"] == SIM_API_KEY):
                order = {
                    "orderType": "Market",
                    "timeInForce": "IOC",
                    "instrument": "BTC",
                    "quantity": 1,
                }
                sim.place_order(
                    OTHER, {**order, "side": OPPOSITE[step[1]], "mpOrderId": next(self.ids)}
                )
        elif kind == "cancel":
            ours = [o for o in sim.orders.values() if o["_mp"] == SIM_API_KEY]
            if ours:
                order = ours[step[1] % len(ours)]
                await self.client.wait_ready()
                with contextlib.suppress(ConnectionLost, OrderOutcomeUnknown, ExberryError):
                    await self.client.cancel_order(instrument="BTC", orderId=order["orderId"])
        elif kind == "drop":
            sim.drop_connections()
        elif kind == "end_streams":
            await sim.fail_streams()
        elif kind == "lose_reply":
            sim.lose_replies(PLACE)
        elif kind == "delay":
            sim.delay(PLACE, 0.05)

    def expected(self, start: int | None) -> list[tuple[int, str, int]]:
        return [
            (number, payload["messageType"], payload["orderId"])
            for number, kind, owner, payload in self.sim.events
            if kind == REPORTS and owner == SIM_API_KEY and number > (start or 0)
        ]

    def got(self) -> list[tuple[int | None, str | None, int | None] | Gap]:
        return [
            item if isinstance(item, Gap) else (item.trackingNumber, item.messageType, item.orderId)
            for item in self.delivered
        ]


async def scenario(script: list[tuple[Any, ...]]) -> None:
    async with (
        ExberrySimulator() as sim,
        ExberryClient(
            sim.url, api_key=SIM_API_KEY, secret=SIM_API_SECRET, reconnect=INSTANT
        ) as client,
    ):
        run = Run(sim, client)
        _, start = await client.mass_order_status()
        async with client.execution_reports(trackingNumber=start, callback=run.delivered.append):
            for step in script:
                await run.step(step)
            sim.clear_faults()
            # A last order of ours: once its event is in, everything before it is too (a
            # link an earlier step cut may still take it: then another goes).
            last = await run.place("Buy", 1.0)
            while not any(o["mpOrderId"] == last for o in sim.orders.values()):
                last = await run.place("Buy", 1.0)
            await until(
                lambda: any(
                    isinstance(r, ExecutionReport) and r.mpOrderId == last for r in run.delivered
                )
            )
            assert run.got() == run.expected(start)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_execution_reports_arrive_exactly_once_across_cuts(script: list[tuple[Any, ...]]) -> None:
    asyncio.run(scenario(script))
