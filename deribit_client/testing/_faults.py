"""Faults a simulator's user queues for the next requests of a method (both venues)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

ANY = "*"
"""The key of a fault for whatever request comes next."""


class Fault:
    """What to do to a request (an error to answer, seconds to hold it), for ``times``
    more requests (``None``: every one); ``close``: close the socket after answering."""

    __slots__ = ("action", "close", "times")

    def __init__(self, action: Any, times: int | None, close: bool = False) -> None:
        self.action = action
        self.times = times
        self.close = close


class Faults:
    """Faults queued per method (or qualifier), applied in the order they were queued."""

    def __init__(self) -> None:
        self._queues: dict[str, list[Fault]] = defaultdict(list)

    def add(self, key: str, action: Any, times: int | None, close: bool = False) -> None:
        """Queue ``action`` for the next ``times`` requests of ``key`` (:data:`ANY`: of
        any method)."""
        if type(key) is not str or not key:
            raise ValueError(f"a fault needs a method name, not {key!r}")
        if times is not None and (type(times) is not int or times < 1):
            raise ValueError(f"times must be an int >= 1 (or None: every call), not {times!r}")
        self._queues[key].append(Fault(action, times, close))

    def clear(self) -> None:
        """Forget every fault not used yet."""
        self._queues.clear()

    def take(self, key: str) -> Fault | None:
        """The fault the next request of ``key`` gets (its own, else one for any method),
        counted as used; ``None`` when none is queued."""
        for queue in (self._queues.get(key), self._queues.get(ANY)):
            if queue:
                fault = queue[0]
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        queue.pop(0)
                return fault
        return None


class FaultHooks:
    """What both simulators keep of the faults a test queued: errors to answer, delays and
    lost replies, per method (or qualifier)."""

    def __init__(self) -> None:
        self._errors = Faults()
        self._delays = Faults()
        self._lost = Faults()

    def clear_faults(self) -> None:
        """Forget what ``inject_error``, ``delay`` and ``lose_replies`` queued and no
        request has met yet: the next requests are served normally (one already held by a
        delay is still answered when its time comes)."""
        for faults in (self._errors, self._delays, self._lost):
            faults.clear()


def check_seconds(seconds: object) -> float:
    """A delay a user asked for: a finite number >= 0 (a bool is not one)."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds < math.inf
    ):
        raise ValueError(f"seconds must be a number >= 0, not {seconds!r}")
    return float(seconds)
