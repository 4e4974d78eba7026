"""Facts about Deribit methods that change how the SDK must treat a call (REFERENCE.md 3, 4, 8)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "MAX_FRAME_BYTES",
    "ORDER_MUTATIONS",
    "SUBSCRIPTION_METHODS",
    "WS_ONLY_METHODS",
    "is_read_only_public",
]

MAX_FRAME_BYTES: Final = 32 * 1024
"""Deribit's limit for one WebSocket frame or POST body (error -32600 beyond it)."""

SUBSCRIPTION_METHODS: Final = frozenset(
    {
        "public/subscribe",
        "public/unsubscribe",
        "public/unsubscribe_all",
        "private/subscribe",
        "private/unsubscribe",
        "private/unsubscribe_all",
    }
)

WS_ONLY_METHODS: Final = SUBSCRIPTION_METHODS | {
    "public/hello",
    "public/set_heartbeat",
    "public/disable_heartbeat",
    "private/logout",
}
"""Methods flagged WS-only in the method catalogue: refused over HTTP before any I/O."""

ORDER_MUTATIONS: Final = frozenset(
    {
        "private/buy",
        "private/sell",
        "private/edit",
        "private/edit_by_label",
        "private/cancel",
        "private/cancel_all",
        "private/cancel_all_by_currency",
        "private/cancel_all_by_currency_pair",
        "private/cancel_all_by_instrument",
        "private/cancel_all_by_kind_or_type",
        "private/cancel_by_label",
        "private/close_position",
        "private/mass_quote",
        "private/cancel_quotes",
    }
)
"""Calls that change orders: a lost reply raises OrderOutcomeUnknown and is never re-sent."""


_AUTH_METHODS: Final = frozenset({"public/auth", "public/exchange_token", "public/fork_token"})


def is_read_only_public(method: str) -> bool:
    """Public market/reference reads that may go over HTTP while the WebSocket reconnects."""
    return (
        method.startswith("public/")
        and method not in WS_ONLY_METHODS
        and method not in _AUTH_METHODS
    )
