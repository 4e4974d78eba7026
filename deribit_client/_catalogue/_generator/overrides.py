"""Hand-kept facts the spec does not state (REFERENCE.md sections 3, 4, 8)."""

from __future__ import annotations

ORDER_MUTATIONS = frozenset(
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
"""Calls that change orders: a lost reply raises OrderOutcomeUnknown, never re-sent."""

SESSION_STATE = frozenset(
    {
        "private/enable_cancel_on_disconnect",
        "private/disable_cancel_on_disconnect",
        "private/logout",
    }
)
"""Calls whose effect on the connection the client must track (and replay)."""

AUTH = frozenset({"public/auth", "public/exchange_token", "public/fork_token"})
"""Public methods that are not plain reads: never detoured over HTTP."""

PRIVATE_CHANNELS = frozenset({"block_trade_confirmations", "block_trade_confirmations.(currency)"})
"""Channels the AsyncAPI file does not tag private but Deribit serves only to an
authenticated connection (REFERENCE section 5)."""
