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

# -- credit pools (REFERENCE 4) ----------------------------------------------------------

MATCHING_ENGINE_ARTICLE = frozenset(
    {
        "private/buy",
        "private/sell",
        "private/edit",
        "private/edit_by_label",
        "private/cancel",
        "private/cancel_by_label",
        "private/cancel_all",
        "private/cancel_all_by_instrument",
        "private/cancel_all_by_currency",
        "private/cancel_all_by_kind_or_type",
        "private/close_position",
        "private/verify_block_trade",
        "private/execute_block_trade",
        "private/move_positions",
        "private/mass_quote",
        "private/cancel_quotes",
        "private/add_block_rfq_quote",
        "private/edit_block_rfq_quote",
        "private/cancel_block_rfq_quote",
        "private/cancel_all_block_rfq_quotes",
    }
)
"""Matching-engine methods per Deribit's rate-limit article. The spec's "Matching Engine"
tag names a few more (REFERENCE 4 marks them (?)): a method on only one of the two lists
draws on both pools, so the client stays under the limit whichever reading is right."""

CANCEL_ALL_POOL = frozenset({"private/cancel_all", "private/cancel_all_by_kind_or_type"})
"""Use the global ``cancel_all`` limit; ``cancel_all_by_kind_or_type`` only without a
currency (per-currency trading otherwise), so it draws on both."""

OWN_POOLS = {
    "public/get_instruments": "get_instruments",
    "public/subscribe": "subscribe",
    "private/subscribe": "subscribe",
    "private/move_positions": "move_positions",
    "private/get_transaction_log": "get_transaction_log",
}
"""Methods with a custom cost and pool (REFERENCE 4, the 2026 rate-limit article)."""
