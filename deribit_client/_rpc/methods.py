"""The method facts the call path consults, derived once from the generated catalogue
(REFERENCE.md 3, 4, 8): frozensets, so each check on the hot path is one set lookup."""

from __future__ import annotations

from typing import Final

from .._catalogue import METHODS

__all__ = [
    "FOUND_WITH",
    "FUNDS_MOVEMENTS",
    "MAX_FRAME_BYTES",
    "ORDER_MUTATIONS",
    "SESSION_STATE",
    "SUBSCRIPTION_METHODS",
    "WS_ONLY_METHODS",
    "is_read_only_public",
]

MAX_FRAME_BYTES: Final = 32 * 1024
"""Deribit's limit for one WebSocket frame or POST body (error -32600 beyond it)."""

SUBSCRIPTION_METHODS: Final = frozenset(m for m, f in METHODS.items() if f.subscription)
"""(Un)subscribe methods: only ``client.subscribe()`` sends them (it routes notifications)."""

WS_ONLY_METHODS: Final = frozenset(m for m, f in METHODS.items() if f.ws_only)
"""Refused over HTTP before any I/O."""

ORDER_MUTATIONS: Final = frozenset(m for m, f in METHODS.items() if f.order_mutation)
"""Calls that change orders: a lost reply raises OrderOutcomeUnknown and is never re-sent."""

FUNDS_MOVEMENTS: Final = frozenset(m for m, f in METHODS.items() if f.funds_movement)
"""Withdrawals and transfers (and their cancels)."""

FOUND_WITH: Final = {m: f.found_with for m, f in METHODS.items() if f.found_with}
"""Funds movements and creations a re-send would repeat, with the read that shows what one
did: a lost reply raises OrderOutcomeUnknown naming it, and is never re-sent."""

SESSION_STATE: Final = frozenset(m for m, f in METHODS.items() if f.session_state)
"""Calls whose effect on the connection the client tracks (cancel-on-disconnect, logout)."""

_DETOUR: Final = frozenset(m for m, f in METHODS.items() if f.read_only_public)
_NOT_DETOURED: Final = frozenset(m for m in METHODS if m not in _DETOUR)


def is_read_only_public(method: str) -> bool:
    """Public reads that may go over HTTP while the WebSocket reconnects. A public method
    the catalogue does not know yet (newer than the spec) counts as a read."""
    return method in _DETOUR or (method.startswith("public/") and method not in _NOT_DETOURED)
