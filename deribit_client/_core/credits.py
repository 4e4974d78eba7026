"""Client-side credit pools: a call waits for credits instead of being sent into a refusal.

Venues that meter requests with leaky buckets (Deribit's credit system) refuse a request that
finds its bucket empty, and may close the session on top. A :class:`CreditPool` mirrors one
such bucket from the client's side; :func:`try_take_credits` and :func:`take_credits` take
one request's credits from several at once. The mirror stays conservative by construction:
it starts below the venue's capacity and refills a little slower, so the client's estimate
never exceeds what the venue still has.

Waiting is cancel-safe: credits are taken in one synchronous step once every pool a call
needs has enough, so a call cancelled (or timed out) while waiting has taken nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence

from .errors import ClientError, CreditTimeout

__all__ = ["CreditPool", "refund_credits", "take_credits", "try_take_credits"]

CAPACITY_SHARE = 0.9
"""Share of the venue's capacity the client spends at most: the rest absorbs jitter that
bunches requests up on their way to the venue."""
JITTER_ALLOWANCE = 0.05
"""Seconds by which requests paced on the client may arrive closer together at the venue
(network jitter, a busy event loop on either side): the client also keeps this much refill
in reserve, which matters for fast pools whose 10% is only a few requests."""
REFILL_SHARE = 0.98
"""Share of the venue's refill rate the client assumes, so a long run never drifts above the
venue's own count (clock rates, rounding on the venue's side)."""


class CreditPool:
    """The client's mirror of one venue credit bucket.

    Args:
        name: the venue's name for the pool (e.g. ``"non_matching_engine"``).
        cost: credits one request takes.
        capacity: the venue's maximum credits (the burst is ``capacity / cost``).
        refill: credits the venue adds per second (the rate is ``refill / cost``).
        clock: monotonic seconds (``time.monotonic``, the event loop's clock, by default).

    Attributes:
        requests: requests that took credits from this pool.
        delayed: requests that had to wait for credits.
        waited: seconds requests spent waiting, in total.
        refusals: rate-limit refusals the venue answered for requests of this pool.
    """

    __slots__ = (
        "_ceiling",
        "_clock",
        "_level",
        "_lock",
        "_speed",
        "_stamp",
        "_waiting",
        "_wakers",
        "capacity",
        "cost",
        "delayed",
        "name",
        "refill",
        "refusals",
        "requests",
        "waited",
    )

    def __init__(
        self,
        name: str,
        *,
        cost: float,
        capacity: float,
        refill: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.name = name
        self._clock = clock or time.monotonic
        self._stamp = self._clock()
        self._level = float("inf")  # clamped to the ceiling by _set
        self._set(cost, capacity, refill)
        self._lock: asyncio.Lock | None = None  # created by the first wait (needs a loop)
        self._waiting = 0  # calls inside take_credits: the fast path must queue behind them
        self._wakers: set[asyncio.Future[None]] = set()  # waits configure() cuts short
        self.requests = 0
        self.delayed = 0
        self.waited = 0.0
        self.refusals = 0

    def __repr__(self) -> str:
        return (
            f"CreditPool({self.name!r}, rate={self.rate:g}/s, burst={self.burst:g}, "
            f"available={self.available:g})"
        )

    def configure(self, *, cost: float, capacity: float, refill: float) -> None:
        """Set the venue's figures (e.g. after reading the account's limits); the credits
        available never grow by it. A call waiting for credits works out its wait again
        (a faster refill shortens it)."""
        self._fill()
        self._set(cost, capacity, refill)
        for waker in self._wakers:
            if not waker.done():
                waker.set_result(None)

    def _set(self, cost: float, capacity: float, refill: float) -> None:
        figures = (cost, capacity, refill)
        if not all(type(f) in (int, float) and f < math.inf for f in figures) or not (
            cost > 0 and capacity >= cost and refill > 0  # also False for NaN
        ):
            raise ClientError(
                f"credit pool {self.name!r} needs finite numbers cost > 0, capacity >= cost "
                "and refill > 0 "
                f"(got cost={cost}, capacity={capacity}, refill={refill})"
            )
        self.cost, self.capacity, self.refill = float(cost), float(capacity), float(refill)
        # Precomputed: the fast path of every call reads them.
        reserve = max((1 - CAPACITY_SHARE) * self.capacity, JITTER_ALLOWANCE * self.refill)
        self._ceiling = max(self.cost, self.capacity - reserve)
        self._speed = self.refill * REFILL_SHARE
        self._level = min(self._level, self._ceiling)

    @property
    def rate(self) -> float:
        """Requests per second the venue allows in the long run."""
        return self.refill / self.cost

    @property
    def burst(self) -> float:
        """Requests the venue allows at once from a full pool."""
        return self.capacity / self.cost

    @property
    def available(self) -> float:
        """Credits the client may spend now (negative while a refusal's wait runs)."""
        self._fill()
        return self._level

    def _fill(self) -> None:
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0.0:  # float to float: no int conversion on every call
            self._stamp = now
            level = self._level + elapsed * self._speed
            self._level = level if level < self._ceiling else self._ceiling

    def shortfall(self) -> float:
        """Seconds until one request's credits are available (0 when they are)."""
        self._fill()
        missing = self.cost - self._level
        return missing / self._speed if missing > 0 else 0.0

    def exhaust(self, wait: float = 0.0) -> None:
        """The venue refused a request for lack of credits: assume the pool is empty, and
        that it stays closed for ``wait`` more seconds when the venue said so."""
        self._fill()
        self.refusals += 1
        self._level = min(self._level, -wait * self._speed)

    def _spend(self) -> None:
        self._level -= self.cost
        self.requests += 1

    def _refund(self) -> None:
        self._fill()
        level = self._level + self.cost
        self._level = level if level < self._ceiling else self._ceiling
        self.requests -= 1


def try_take_credits(pools: Sequence[CreditPool]) -> bool:
    """Take one request's credits from every pool now, if all have them and no earlier
    call is waiting on any of them (synchronous: the fast path of a call)."""
    for pool in pools:
        if pool._waiting:
            return False
        pool._fill()
        if pool._level < pool.cost:
            return False
    for pool in pools:
        pool._spend()
    return True


def refund_credits(pools: Sequence[CreditPool]) -> None:
    """Give back one request's credits to every pool: the request they were taken for was
    refused before it was sent (bad arguments, no connection), so the venue never counted
    it."""
    for pool in pools:
        pool._refund()


async def take_credits(pools: Sequence[CreditPool], timeout: float, method: str) -> float:
    """Wait, first come first served per pool, until every pool has one request's credits,
    then take them all in one step. Cancelling the wait takes nothing.

    Returns:
        The part of ``timeout`` left for the request itself.

    Raises:
        CreditTimeout: no credits within ``timeout``; ``method`` was not sent.
    """
    ordered = sorted(pools, key=lambda pool: pool.name)  # one lock order: no deadlock
    loop = asyncio.get_running_loop()
    started = loop.time()
    held: list[asyncio.Lock] = []
    for pool in ordered:
        pool._waiting += 1
    try:
        async with asyncio.timeout(timeout):
            for pool in ordered:
                if pool._lock is None:
                    pool._lock = asyncio.Lock()
                await pool._lock.acquire()
                held.append(pool._lock)
            # Credits arrive with time, not with an event: sleep until the computed moment
            # (or until a pool is reconfigured), and again if a refusal emptied a pool.
            while (wait := max(pool.shortfall() for pool in ordered)) > 0:
                await _sleep(ordered, wait)
    except TimeoutError:
        raise CreditTimeout(method, timeout) from None
    finally:
        for pool in ordered:
            pool._waiting -= 1
        for lock in held:
            lock.release()
    waited = loop.time() - started
    for pool in ordered:
        pool._spend()
        pool.delayed += 1
        pool.waited += waited
    return max(timeout - waited, 0.001)


async def _sleep(pools: Sequence[CreditPool], seconds: float) -> None:
    """Sleep ``seconds``, or less if one of ``pools`` is reconfigured meanwhile."""
    waker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    for pool in pools:
        pool._wakers.add(waker)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await waker
    finally:
        for pool in pools:
            pool._wakers.discard(waker)
