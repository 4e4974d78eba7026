"""Inspection logs both simulators keep: bounded, so a bot may run against them for days."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["HISTORY", "forget_closed", "remember"]

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
