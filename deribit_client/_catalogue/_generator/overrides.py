"""Hand-kept facts the spec does not state (REFERENCE.md sections 3, 4, 8)."""

from __future__ import annotations

# Orders placed or edited (results: OrderResponse; wrappers validate them) and the
# cancels that answer a count or, with detailed=true, execution reports.
_ORDER_RESPONSE = ("buy", "sell", "edit", "edit_by_label", "close_position")
_CANCEL_COUNT = (
    "cancel_all",
    "cancel_all_by_currency",
    "cancel_all_by_currency_pair",
    "cancel_all_by_instrument",
    "cancel_all_by_kind_or_type",
    "cancel_by_label",
    "cancel_quotes",
)

ORDER_MUTATIONS = frozenset(
    {
        *(f"private/{m}" for m in (*_ORDER_RESPONSE, *_CANCEL_COUNT)),
        "private/cancel",
        "private/mass_quote",
        "private/cancel_quotes",
        # trades and quotes outside the order book: a lost reply may still have traded
        "private/execute_block_trade",
        "private/approve_block_trade",
        "private/move_positions",
        "private/accept_block_rfq",
        "private/add_block_rfq_quote",
        "private/edit_block_rfq_quote",
        "private/cancel_block_rfq_quote",
        "private/cancel_all_block_rfq_quotes",
    }
)
"""Calls that change orders, quotes or positions: a lost reply raises OrderOutcomeUnknown
(the venue may have acted), never re-sent."""

FUNDS_MOVEMENTS = {
    "private/withdraw": "private/get_withdrawals",
    "private/cancel_withdrawal": "private/get_withdrawals",
    "private/submit_transfer_to_user": "private/get_transfers",
    "private/submit_transfer_to_subaccount": "private/get_transfers",
    "private/submit_transfer_between_subaccounts": "private/get_transfers",
    "private/cancel_transfer_by_id": "private/get_transfers",
}
"""Calls that move funds or stop a movement, each with the read that shows it: a lost reply
raises OrderOutcomeUnknown too (the funds may have moved: a blind re-send would move them a
second time)."""

CREATIONS = {
    "private/create_api_key": "private/list_api_keys",
    "private/create_subaccount": "private/get_subaccounts",
    "private/create_block_rfq": "private/get_block_rfqs",
}
"""Calls that create something the caller names by no id of its own, each with the read
that lists it: a lost reply raises OrderOutcomeUnknown (a re-send would make a second)."""

FOUND_WITH = FUNDS_MOVEMENTS | CREATIONS
"""What ``reconcile()`` cannot settle: the read that shows what such a call did."""

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

CHANNEL_PART_VALUES = {
    # REFERENCE 5: kind also takes `any`; `future_combo|option_combo` (instrument.creation,
    # and the kinds the methods know) are accepted as well.
    "kind": ("future", "option", "spot", "future_combo", "option_combo", "combo", "any"),
}
"""Channel part values the AsyncAPI enum leaves out."""

NEWER_CHANNELS = {
    "instrument.creation.(kind).(currency)": {
        "summary": "Get notified once of each instrument created of the given kind in the "
        "given currency: the full instrument, as public/get_instruments lists it.",
    },
}
"""Channel families Deribit documented after the AsyncAPI snapshot (REFERENCE 5, marked
[new]), as AsyncAPI entries; families whose payload is not documented are left out."""

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

CANCEL_ALL_POOL = frozenset(
    {"private/cancel_all", "private/cancel_all_by_kind_or_type", "private/cancel_by_label"}
)
"""Use the global ``cancel_all`` limit; ``cancel_all_by_kind_or_type`` and
``cancel_by_label`` (its spec description) only without a currency (per-currency trading
otherwise), so they draw on both."""

OWN_POOLS = {
    "public/get_instruments": "get_instruments",
    "public/subscribe": "subscribe",
    "private/subscribe": "subscribe",
    "private/move_positions": "move_positions",
    "private/get_transaction_log": "get_transaction_log",
    "private/simulate_portfolio": "simulate_portfolio",
    "private/mass_quote": "mass_quote",
}
"""Methods with a custom cost and pool (REFERENCE 4, the 2026 rate-limit article;
``simulate_portfolio``: "not more than once per a second", its spec description;
``mass_quote``: the mass-quote limits of an account's ``limits``, refused with 13903)."""

WEBSOCKET_POOLS = {"public/get_instruments": ("get_instruments_ws",)}
"""Pools a method draws on over WebSocket only: Deribit's 10 Jun 2025 changelog limits
``get_instruments`` over WebSocket to 1 request per 10 s, burst 5, where the 2026 article
gives it only its own pool (REFERENCE 4 marks this (?)); the client keeps to both."""

# -- token scopes (REFERENCE 2.2) ---------------------------------------------------------

SCOPE_AREAS = {
    "Trading": "trade",
    "Combo Books": "trade",
    "Account Management": "account",
    "Wallet": "wallet",
    "Block Trade": "block_trade",
    "Block RFQ": "block_rfq",
}
"""The functional scope a private method's spec tag needs (REFERENCE 2.2 "typical method
-> scope"; the spec does not print a method's scope). Reads (``get_``, ``list_``,
``simulate``) need ``<area>:read``, everything else ``<area>:read_write``."""

SCOPE_EXCEPTIONS = {
    "private/get_positions": "trade:read",
    "private/get_position": "trade:read",
    "private/list_api_keys": "account:read_write",
}
"""Methods whose tag or name suggests another scope: position queries are trade queries
(REFERENCE 2.2); listing API keys shows their secrets, a key-management call like the
others (13403 with less)."""

# -- spec defects (REFERENCE 0 and issue #9) ------------------------------------------

SPEC_PATCHES: dict[str, object] = {
    # user_trade.post_only / reduce_only are typed string; every example (and the wire)
    # carries booleans.
    "/components/schemas/user_trade/properties/post_only/type": "boolean",
    "/components/schemas/user_trade/properties/reduce_only/type": "boolean",
    # instrument.tick_size_steps is modelled as one object; the examples send an array.
    "/components/schemas/instrument/properties/tick_size_steps": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/tick_size_step"},
        "description": "Tick size steps: above each price, the tick size changes",
    },
    # user_change names its position list `position`; the examples send `positions`.
    "/components/schemas/user_change/properties/position": None,
    "/components/schemas/user_change/properties/positions": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/position"},
    },
    # settlement lacks its `type` (settlement, delivery, bankruptcy).
    "/components/schemas/settlement/properties/type": {
        "type": "string",
        "enum": ["settlement", "delivery", "bankruptcy"],
        "description": "The type of settlement. `settlement`, `delivery` or `bankruptcy`.",
    },
    # The settlement pages say `type: array, items: string` beside their properties.
    "/components/schemas/PrivateSettlementResponse/properties/result/type": "object",
    "/components/schemas/PublicSettlementResponse/properties/result/type": "object",
    # pending_block_trade.trades refers to pending_block_trade itself; the items are legs.
    "/components/schemas/pending_block_trade/properties/trades/items": {
        "$ref": "#/components/schemas/pending_block_trade_leg"
    },
    "/components/schemas/pending_block_trade_leg": {
        "type": "object",
        "properties": {
            "instrument_name": {"type": "string", "description": "Unique instrument identifier"},
            "direction": {"type": "string", "description": "Direction: `buy`, or `sell`"},
            "price": {"type": "number", "description": "Price in base currency"},
            "amount": {"type": "number", "description": "Trade amount"},
        },
    },
    # ErrorMessageResponse types `error` as an integer; it is the JSON-RPC error object.
    "/components/schemas/ErrorMessageResponse/properties/error": {
        "type": "object",
        "properties": {
            "code": {"type": "integer"},
            "message": {"type": "string"},
            "data": {"description": "Details (any JSON)"},
        },
    },
    # Results whose examples disagree with the schema, the examples being right:
    "/components/schemas/PrivateGetAccessLogResponse/properties/result": {
        "type": "object",
        "properties": {
            "records_total": {"type": "integer", "description": "Number of entries in total"},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/access_log"}},
        },
    },
    "/components/schemas/PublicGetExpirationsResponse/properties/result": {
        "type": "object",
        "description": "Expirations by kind (`future`, `option`), or by currency then kind",
        "additionalProperties": {
            "oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            ]
        },
    },
    "/components/schemas/waiting_timestamp/type": "integer",
    # cancel_by_label takes `detailed` like the rest of the cancel family (REFERENCE 7.8).
    "/paths/~1private~1cancel_by_label/get/parameters/-": {
        "name": "detailed",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean"},
        "description": "When detailed is set to `true` output format is changed. See "
        "[description](#detailed-response-for-private-cancel_all-and-private-cancel_by_label"
        "-methods). Default: `false`",
    },
    # cancel_quotes marks currency and currency_pair required; each is needed only by the
    # cancel_type of its name (REFERENCE 8), so cancel_type="all" must be callable alone.
    "/paths/~1private~1cancel_quotes/get/parameters/8/required": False,
    "/paths/~1private~1cancel_quotes/get/parameters/9/required": False,
    # public/auth marks every grant-specific parameter required; each grant needs its own.
    **{f"/paths/~1public~1auth/get/parameters/{i}/required": False for i in range(1, 6)},
}
"""JSON pointer -> replacement (``None`` deletes), applied to the spec snapshot before
anything is generated. tests/unit/test_catalogue.py shows each one at work."""

# -- result types (issue #9; see _generator/models.py) -----------------------------------

HAND_MODELS: dict[str, str] = {
    "order": "Order",
    "user_trade": "UserTrade",
    "public_trade": "PublicTrade",
    "position": "Position",
    "position_with_elp": "Position",
    "instrument": "Instrument",
    "currency_with_apr": "Currency",
    "settlement": "Settlement",
    "transfer_item": "Transfer",
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "tick_size_step": "TickSizeStep",
    "access_log": "AccessLogEntry",
}
"""Spec schema -> the hand-written model that mirrors it (a test checks it has every member
the spec lists)."""

FLAG_RESULTS: dict[str, tuple[str, str, str]] = {
    # detailed=true turns the count of cancelled orders into execution reports
    # (REFERENCE 7.8), per currency for Block RFQ quotes.
    **{f"private/{m}": ("detailed", "list[CancelReport]", "int") for m in _CANCEL_COUNT},
    "private/cancel_all_block_rfq_quotes": (
        "detailed",
        "list[BlockRfqQuoteCancelReport]",
        "int",
    ),
    # with_continuation=true turns the list into {orders, continuation}.
    **{
        f"private/get_order_history_by_{m}": (
            "with_continuation",
            "OrderHistoryPage",
            "list[Order]",
        )
        for m in ("currency", "instrument")
    },
}
"""Methods whose result shape follows a boolean parameter: (parameter, the result when it
is true, the result otherwise). The wrapper gets overloads, so a type checker sees the
shape a call asks for; the result decodes as either (``RESULT_TYPES``). Not for
``get_index_price_names``' ``extended``: ``list[IndexName]`` cannot narrow its
``list[str | IndexName]`` (lists are invariant)."""

RESULT_TYPES: dict[str, str] = {
    "public/auth": "AuthResult",
    "public/exchange_token": "AuthResult",
    "public/fork_token": "AuthResult",
    "public/test": "VersionInfo",
    "public/hello": "VersionInfo",
    "public/status": "Status",
    "public/get_index_price": "IndexPrice",
    # The spec points these three at ErrorResponse (REFERENCE 0; shapes in REFERENCE 7).
    "public/ticker": "Ticker",
    "public/get_order_book": "OrderBook",
    "public/get_order_book_by_instrument_id": "OrderBook",
    **{f"private/{m}": "OrderResponse" for m in _ORDER_RESPONSE},
    "private/get_account_summary": "AccountSummary",
    # No result schema; the example is an account summary with projected values.
    "private/simulate_portfolio": "AccountSummary",
    "private/get_account_summaries": "AccountSummaries",
    "private/get_cancel_on_disconnect": "CancelOnDisconnect",
    # No result schema in the spec; the example is an array of user trades.
    "private/get_user_trades_by_order": "list[UserTrade]",
    **{
        f"private/get_user_trades_by_{m}": "UserTradesPage"
        for m in ("currency", "currency_and_time", "instrument", "instrument_and_time")
    },
    **{
        f"public/get_last_trades_by_{m}": "TradesPage"
        for m in ("currency", "currency_and_time", "instrument", "instrument_and_time")
    },
    # "Object if address is created, null otherwise".
    "private/get_current_deposit_address": "DepositAddress | None",
    # Refers to a missing responses/deposit; the example is a deposit.
    "private/set_clearance_originator": "Deposit",
    # The server closes the WebSocket instead of answering (REFERENCE 3).
    "private/logout": "Any",
    # Untyped arrays in the spec; the descriptions give the shapes.
    "public/get_mark_price_history": "list[tuple[int, float]]",
    "private/get_block_rfq_makers": "list[str]",
    "public/get_historical_volatility": "list[tuple[int, float]]",
    # Plain names, or objects with extended=true (the spec's example shows only the latter).
    "public/get_supported_index_names": "list[str | IndexName]",
    "public/get_index_price_names": "list[str | IndexName]",
    # The spec says an array; its examples show one object: both readings decode (and
    # the wrappers give one, NORMALIZED_RESULTS).
    "private/get_block_rfq_quotes": "list[BlockRfqQuote] | BlockRfqQuote",
    "private/set_mmp_config": "list[MmpConfig] | MmpConfig",
    # The spec says {trades}; its example is the bare array.
    "private/move_positions": "PositionMove | list[PositionMoveTrade]",
    # The spec describes one entry; the example maps each currency to one.
    "private/get_reward_eligibility": "dict[str, RewardEligibility]",
    # The shape follows a flag: either decodes.
    **{m: f"{otherwise} | {when_true}" for m, (_, when_true, otherwise) in FLAG_RESULTS.items()},
    # The same objects the announcements and user.lock channels carry.
    "public/get_announcements": "list[Announcement]",
    "private/get_new_announcements": "list[Announcement]",
}
"""Methods whose result the spec gets wrong, or a hand-written model already covers."""

NORMALIZED_RESULTS: dict[str, tuple[str, str]] = {
    "private/get_block_rfq_quotes": ("list[BlockRfqQuote]", "as_list"),
    "private/set_mmp_config": ("list[MmpConfig]", "as_list"),
    "private/move_positions": ("list[PositionMoveTrade]", "moved_trades"),
}
"""Methods whose ``RESULT_TYPES`` accepts two documented shapes: (the one shape the typed
wrapper returns, the function of ``_api/_normalize.py`` that makes it). ``client.call``
still gives what was decoded."""

SCHEMA_TYPES: dict[str, str] = {
    # order.price refers to a missing schema: a number or "market_price" (REFERENCE 0).
    "open_order_price": "float | str",
}
"""Spec schema -> a type expression, for schemas that are not objects or are missing."""

FIELD_TYPES: dict[str, str] = {
    # A string token on most pages, an integer timestamp on some.
    "*.continuation": "int | str",
    # Identifiers that look numeric arrive as strings in the examples.
    "BrokerTradesPageHistoryMaker.user_id": "int | str",
    "BrokerTradesPageHistoryTaker.user_id": "int | str",
    # A broker block trade lists its trades; the spec points at block_trade itself.
    "BrokerTradesPageHistory.trades": "list[UserTrade]",
    # Extra details of a log entry: an object, or a plain string for some types.
    "TransactionLog.info": "dict[str, Any] | str",
    "VolatilityIndexCandles.data": "list[tuple[int, float, float, float, float]]",
    # The spec says integer; spot pairs have fractional contract sizes (0.0001 BTC).
    "ContractSize.contract_size": "float",
}
"""``Model.member`` -> a type expression the spec does not give."""

MODEL_NAMES: dict[str, str] = {
    "CreateDepositAddressResult": "DepositAddress",
    "GetDepositsResult": "DepositsPage",
    "GetWithdrawalsResult": "WithdrawalsPage",
    "GetTransfersResult": "TransfersPage",
    "GetSettlementHistoryByCurrencyResult": "SettlementsPage",
    "GetTransactionLogResult": "TransactionLogPage",
    "GetTriggerOrderHistoryResult": "TriggerOrderHistoryPage",
    "ListAddressBeneficiariesResult": "AddressBeneficiariesPage",
    "GetBlockRfqsResult": "BlockRfqsPage",
    "GetBlockRfqTradesResult": "BlockRfqTradesPage",
    "BlockRfqTradesPageBlockRfqs": "BlockRfqTrade",
    "GetAprHistoryResult": "AprHistoryPage",
    "GetIndexPriceNamesResult": "IndexName",
    "GetMmpConfigResult": "MmpConfig",
    "GetMmpStatusResult": "MmpStatus",
    "GetSubaccountsResult": "Subaccount",
    "GetSubaccountsDetailsResult": "SubaccountDetails",
    "GetUserLocksResult": "CurrencyLock",
    "GetFundingRateHistoryResult": "FundingRate",
    "GetHistoricalVolatilityResult": "HistoricalVolatility",
    "GetFundingChartDataResult": "FundingChartData",
    "GetDeliveryPricesResult": "DeliveryPricesPage",
    "GetTradingviewChartDataResult": "TradingviewChartData",
    "GetVolatilityIndexDataResult": "VolatilityIndexCandles",
    "GetMarginsResult": "Margins",
    "GetContractSizeResult": "ContractSize",
    "GetLegPricesResult": "LegPrices",
    "GetBrokerTradesResult": "BrokerTradesPage",
    "GetBrokerTradeRequestsResult": "BrokerTradeRequest",
    "GetAffiliateProgramInfoResult": "AffiliateProgramInfo",
    "GetRewardEligibilityResult": "RewardEligibility",
    "GetBlockRfqUserInfoResult": "BlockRfqUserInfo",
    "ChangeMarginModelResult": "MarginModelChange",
    "CreateSubaccountResult": "NewSubaccount",
    "AcceptBlockRfqResult": "BlockRfqAcceptance",
    "MassQuoteResult": "MassQuoteResult",
    "VerifyBlockTradeResult": "BlockTradeSignature",
}
"""Names for objects the spec writes inline (default: the method's name + ``Result``, or
the parent's name + the member's)."""

EXTRA_MEMBERS: dict[str, dict[str, str]] = {
    "TransactionLog": {"type": "str"},
    "AddressBookItem": {"type": "str"},
    "CustodyAccount": {"withdrawals_require_security_key": "bool"},
    "TriggerOrderHistoryRecord": {"offset": "float"},
    "CurrencyLock": {"locked": "bool"},
    "DepositAddress": {"type": "str"},
    "GetCurrentDepositAddressResult": {"type": "str"},
    "NewSubaccount": {"type": "str"},
    "Subaccount": {"type": "str"},
}
"""Generated model -> members the spec's examples carry but its schema lacks."""

IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "ApiKey": ("id",),
    "BlockRfq": ("block_rfq_id",),
    "BlockRfqQuote": ("block_rfq_quote_id",),
    "BlockTrade": ("id",),
    "Combo": ("id",),
    "AddressBookItem": ("address",),
    "DepositAddress": ("address",),
    "TransactionLog": ("id",),
    "Subaccount": ("id",),
    "NewSubaccount": ("id",),
    "BlockTradeSignature": ("signature",),
}
"""Generated model -> the members that identify it (required; all others may be absent)."""

# -- wrappers (see _generator/wrappers.py) -----------------------------------------------

HAND_WRAPPERS = frozenset(
    {
        # order validation before sending (amount/contracts, price, trigger, label)
        *(f"private/{m}" for m in _ORDER_RESPONSE),
        # the server closes the socket instead of answering
        "private/logout",
        # through the subscription manager: it routes notifications and resubscribes
        "public/subscribe",
        "public/unsubscribe",
        "public/unsubscribe_all",
        "private/subscribe",
        "private/unsubscribe",
        "private/unsubscribe_all",
    }
)
"""Methods whose wrapper is written by hand (logic that earns its place)."""

OPEN_ENUMS = frozenset({"currency", "currency_pair", "index_name"})
"""Parameters typed ``str`` although the spec lists values: the lists change often."""

_LEGS = "list[LegParam]"
_BLOCK_TRADE = "list[BlockTradeLegParam]"
_POSITIONS = "dict[str, float]"
PARAM_TYPES: dict[tuple[str, str], str] = {
    ("private/create_combo", "trades"): _LEGS,
    ("private/get_leg_prices", "legs"): _LEGS,
    ("private/create_block_rfq", "legs"): _LEGS,
    ("private/create_block_rfq", "trade_allocations"): "list[TradeAllocationParam]",
    ("private/create_block_rfq", "hedge"): "HedgeParam",
    ("private/accept_block_rfq", "legs"): "list[RfqLegParam]",
    ("private/accept_block_rfq", "hedge"): "HedgeParam",
    ("private/add_block_rfq_quote", "legs"): "list[RfqQuoteLegParam]",
    ("private/add_block_rfq_quote", "hedge"): "HedgeParam",
    ("private/edit_block_rfq_quote", "legs"): "list[RfqQuoteLegParam]",
    ("private/edit_block_rfq_quote", "hedge"): "HedgeParam",
    ("private/verify_block_trade", "trades"): _BLOCK_TRADE,
    ("private/execute_block_trade", "trades"): _BLOCK_TRADE,
    ("private/simulate_block_trade", "trades"): _BLOCK_TRADE,
    ("private/mass_quote", "quotes"): "list[MassQuoteParam]",
    ("private/move_positions", "trades"): "list[PositionMoveParam]",
    ("private/set_clearance_originator", "deposit_id"): "DepositIdParam",
    ("private/set_clearance_originator", "originator"): "OriginatorParam",
    ("private/simulate_portfolio", "simulated_positions"): _POSITIONS,
    ("private/pme/simulate", "simulated_positions"): _POSITIONS,
}
"""Wrapper parameter types for the objects the spec only calls "JSON string" (the
``TypedDict``s of ``models/params.py``; REFERENCE 7.10)."""
