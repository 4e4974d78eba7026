"""One shape for results Deribit documents in two (the spec's schema and its example
disagree, REFERENCE's "(?)"): ``RESULTS`` decodes either, and the typed wrappers hand
users one (``overrides.NORMALIZED_RESULTS``), so no caller needs an ``isinstance``."""

from __future__ import annotations

from typing import TypeVar

from ..models import PositionMove, PositionMoveTrade

__all__ = ["as_list", "moved_trades"]

T = TypeVar("T")


def as_list(result: T | list[T]) -> list[T]:
    """One object or a list of them, as a list."""
    return result if isinstance(result, list) else [result]


def moved_trades(result: PositionMove | list[PositionMoveTrade]) -> list[PositionMoveTrade]:
    """``move_positions``' trades, wrapped in ``{trades}`` (the spec) or bare (its
    example)."""
    if isinstance(result, PositionMove):
        return result.trades or []
    return result
