"""Inspection logs both simulators keep: bounded, so a bot may run against them for days."""

from __future__ import annotations

from typing import Any

__all__ = ["HISTORY", "remember"]

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
