"""What the simulators remember (inspection logs, closed records, used ids): bounded, so a bot
may run against them for days."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

__all__ = ["HISTORY", "UsedIds", "forget_closed", "remember"]

K = TypeVar("K", bound=Hashable)

HISTORY = 10_000
"""How many entries the simulators' inspection logs (``calls``, ``subscriptions``,
``auth_grants``...) keep by default: a bot running for days must not grow a simulator
without bound."""


def remember(log: list[Any], entry: Any, keep: int | None = None) -> None:
    """Append to an inspection log, keeping the newest ``keep`` (:data:`HISTORY` by
    default, read at each call) entries, trimmed in batches, so appends stay O(1) amortised
    and recent slices stay valid."""
    log.append(entry)
    kept = HISTORY if keep is None else keep
    if len(log) > 2 * kept:
        del log[:-kept]


def forget_closed(
    records: dict[Any, dict[str, Any]], closed: Callable[[dict[str, Any]], bool], keep: int
) -> None:
    """Drop all but the newest ``keep`` of the ``closed`` records (orders filled or
    cancelled), oldest first; open ones stay however many there are. Callers run it in
    batches (when ``keep`` more records came since the last run), so stores stay O(1)
    amortised."""
    done = [key for key, record in records.items() if closed(record)]
    for key in done[: max(0, len(done) - keep)]:
        del records[key]


class UsedIds(Generic[K]):
    """Ids participants choose (``mpOrderId``, ``externalTradeId``...) that the venue
    refuses twice (``1002``). Exberry says reuse "after an undefined period may be
    accepted": here an id stays used while ``held()`` yields it (its order or request is
    still open) and until ``keep`` newer ones were claimed. Bounded, so a bot may run
    against the simulator for days; trimmed in batches, so claims stay O(1) amortised."""

    __slots__ = ("_cap", "_held", "_ids", "_keep")

    def __init__(self, keep: int, held: Callable[[], Iterable[K]]) -> None:
        self._keep = keep
        self._held = held
        self._ids: dict[K, None] = {}  # insertion-ordered: the oldest claims first
        self._cap = 2 * keep

    def __contains__(self, key: K) -> bool:
        return key in self._ids

    def claim(self, key: K) -> None:
        """Mark ``key`` used (callers check ``key in ids`` first)."""
        self._ids[key] = None
        if len(self._ids) > self._cap:
            held = set(self._held())
            ids = list(self._ids)
            old, new = ids[: -self._keep], ids[-self._keep :]
            self._ids = dict.fromkeys([k for k in old if k in held] + new)
            self._cap = len(self._ids) + self._keep  # held ones do not make it trim each time

    def release(self, key: K) -> None:
        """Free ``key`` at once (its request was withdrawn)."""
        self._ids.pop(key, None)
