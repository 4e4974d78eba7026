"""The shapes of the catalogue's facts (the catalogue itself is generated: ``methods.py``)."""

from __future__ import annotations

import msgspec

__all__ = ["ChannelFacts", "MethodFacts", "ParamFacts"]


class ParamFacts(msgspec.Struct, frozen=True, gc=False):
    """One parameter of a Deribit method, as the spec (plus overrides) declares it.

    Attributes:
        name: Deribit's parameter name.
        required: whether the spec requires it.
        type: the JSON type (``string``, ``integer``, ``number``, ``boolean``, ``array``,
            ``object``), or ``""`` when the spec leaves it open.
        enum: the allowed values, when the spec lists them (for an array: of each item).
        description: Deribit's description.
        items: for an array, the JSON type of its items (``""`` when the spec leaves it
            open).
        max_length: for a string, the most characters the description allows (a label's
            64, an API key name's 16); ``0`` when it states no limit.
        moment: an integer that is a moment in milliseconds since the Unix epoch (the
            spec's ``timestamp`` schema, or described so): the typed wrappers and the
            command line take a time for it too.
    """

    name: str
    required: bool
    type: str
    enum: tuple[str, ...] = ()
    description: str = ""
    items: str = ""
    max_length: int = 0
    moment: bool = False


class MethodFacts(msgspec.Struct, frozen=True, gc=False):
    """Everything the SDK needs to know about one Deribit method.

    Attributes:
        name: e.g. ``private/buy``.
        private: needs authentication.
        ws_only: refused over HTTP (Deribit: ``must_be_websocket_request``).
        matching_engine: handled by the matching engine (its own rate-limit pool).
        order_mutation: changes orders: a lost reply means the outcome is unknown.
        funds_movement: withdraws or transfers funds (or cancels that): a lost reply means
            the outcome is unknown too.
        read_only_public: a public read that may detour over HTTP while reconnecting.
        session_state: changes connection state the client replays after reconnects.
        subscription: subscribes or unsubscribes channels (only ``client.subscribe()``).
        credit_pools: the rate-limit credit pools a request draws on (REFERENCE 4):
            ``non_matching_engine``, ``matching_engine``, ``cancel_all`` or a method's own
            pool (``get_instruments``, ``subscribe``, ...).
        params: the parameters, in the spec's order.
        result_schema: the spec's schema name of ``result``, if it names one.
        summary: the spec's one-line description.
        websocket_credit_pools: pools a request draws on only when sent over WebSocket
            (``get_instruments_ws``).
        found_with: for a call a blind re-send would repeat and ``reconcile()`` cannot
            settle (funds movements, creations such as ``create_api_key``), the read that
            shows what it did: a lost reply leaves its outcome unknown.
    """

    name: str
    private: bool
    ws_only: bool
    matching_engine: bool
    order_mutation: bool
    funds_movement: bool
    read_only_public: bool
    session_state: bool
    subscription: bool
    credit_pools: tuple[str, ...]
    params: tuple[ParamFacts, ...]
    result_schema: str | None
    summary: str
    websocket_credit_pools: tuple[str, ...] = ()
    found_with: str | None = None


class ChannelFacts(msgspec.Struct, frozen=True, gc=False):
    """Everything the SDK needs to know about one Deribit channel family.

    Attributes:
        pattern: the spec's address, e.g. ``ticker.(instrument_name).(interval)``.
        private: needs ``private/subscribe`` on an authenticated connection (any ``raw``
            interval does too, whatever the family).
        parameters: the names of the pattern's parts, in order.
        summary: the spec's one-line description.
    """

    pattern: str
    private: bool
    parameters: tuple[str, ...]
    summary: str
