"""Shared base for Deribit object Structs."""

from __future__ import annotations

import msgspec

__all__ = ["DeribitObject"]


class DeribitObject(msgspec.Struct, kw_only=True, gc=False, repr_omit_defaults=True):
    """Base of every model: keyword-only, unknown fields ignored, absent fields default.

    Deribit omits many optional members rather than sending ``null``; models give them
    ``None`` (or an empty container) so one Struct fits every instrument kind. ``gc=False``
    because decoded payloads never form reference cycles.
    """
