"""Hand-written models of results that combine generated objects with hand-written ones."""

from __future__ import annotations

from ._base import DeribitObject
from .objects import BlockRfqQuote
from .trading import CancelError

__all__ = ["BlockRfqQuoteCancelReport"]


class BlockRfqQuoteCancelReport(DeribitObject):
    """One item of ``cancel_all_block_rfq_quotes(detailed=True)``: the Block RFQ quotes
    cancelled in one currency, in the layout of the ``cancel_all`` reports (the
    documentation points there without showing one (?)); ``error`` marks a failed part."""

    currency: str | None = None
    type: str | None = None
    result: list[BlockRfqQuote] = []
    error: CancelError | None = None
