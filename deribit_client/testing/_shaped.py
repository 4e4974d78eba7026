"""The methods the simulator keeps no state for, answered by shape.

Each is validated against its documented parameters (missing, mistyped or out-of-enum ones
get Deribit's ``-32602 Invalid params`` naming the parameter) and answered with the example
result of Deribit's documentation, with the request's own instrument, currency, index,
kind and label put in. Methods with state (market data, orders, positions, the account,
subscriptions) have their own handlers, which always win over these.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, NamedTuple

from ._json import JSON_TYPES
from ._session import REQUIRED, invalid_param
from ._shapes import EXAMPLES, PARAMS
from ._state import Call, Handler, SimState

__all__ = ["check_param_types", "declared_params", "register", "shaped_methods"]

# Results of methods whose documentation gives no example (REFERENCE 7, 8).
_UNDOCUMENTED: dict[str, Any] = {
    "private/set_disabled_trading_products": "ok",
    "private/approve_block_trade": "ok",
    "private/reject_block_trade": "ok",
    "private/reset_mmp": "ok",
    "private/cancel_quotes": 0,
    "private/pme/simulate": {},
}

# Request values echoed into the example: the reply is about what was asked.
_ECHOED = frozenset({"currency", "instrument_name", "index_name", "kind", "label"})


def shaped_methods(sim: SimState) -> list[str]:
    """The methods ``register`` answers by shape (those without a stateful handler)."""
    return [
        method
        for method in PARAMS
        if method not in sim.methods and (method in EXAMPLES or method in _UNDOCUMENTED)
    ]


def register(sim: SimState) -> None:
    """Answer every documented method that has no handler yet; call it last."""
    for method in shaped_methods(sim):
        sim.methods[method] = _handler(method)


class _Param(NamedTuple):
    name: str
    kind: type
    required: bool
    allowed: tuple[str, ...]
    """Allowed values (an array's: of its items)."""
    lowered: frozenset[str]
    minimum: float | None
    maximum: float | None
    items: type | None
    """An array's item type."""


@functools.cache
def _params(method: str) -> tuple[_Param, ...]:
    return tuple(
        _Param(
            name,
            JSON_TYPES.get(kind, object),
            required,
            allowed,
            frozenset(a.lower() for a in allowed),
            *bounds,
            JSON_TYPES.get(items),
        )
        for name, kind, required, allowed, bounds, items in PARAMS[method]
    )


def declared_params(call: Call) -> dict[str, Any]:
    """The documented parameters of ``call`` that were sent, checked as Deribit checks them:
    a missing required one, a wrong type, a value outside the allowed ones or outside the
    documented bounds gets ``-32602 Invalid params`` naming the parameter."""
    values: dict[str, Any] = {}
    for param in _params(call.method):
        value = call.param(
            param.name, param.kind, REQUIRED if param.required else None, items=param.items
        )
        if value is None:
            continue
        name = param.name
        if param.allowed and any(
            str(v).lower() not in param.lowered for v in (value if param.items else (value,))
        ):
            raise invalid_param(name, f"must be one of {', '.join(param.allowed)}")
        if param.minimum is not None and value < param.minimum:
            raise invalid_param(name, f"must be at least {param.minimum}")
        if param.maximum is not None and value > param.maximum:
            raise invalid_param(name, f"must be at most {param.maximum}")
        values[name] = value
    return values


def check_param_types(call: Call) -> None:
    """``-32602 Invalid params`` for any documented param that was sent with the wrong JSON
    type, read by its handler or not. Only types: which params are required and which
    values are allowed are the handlers' (the stateful ones follow Deribit where its spec
    is wrong, REFERENCE 0)."""
    if call.method in PARAMS:
        for param in _params(call.method):
            call.param(param.name, param.kind, None, items=param.items)


def _handler(method: str) -> Handler:
    result = EXAMPLES[method] if method in EXAMPLES else _UNDOCUMENTED[method]

    def answer(call: Call) -> Any:
        sent = declared_params(call)
        echoed = {k: v for k, v in sent.items() if k in _ECHOED and isinstance(v, str)}
        reply = copy.deepcopy(result)
        _echo(reply, echoed)
        return reply

    answer.__name__ = method.replace("/", "_")
    return answer


def _echo(value: Any, echoed: dict[str, str]) -> None:
    """Set every member of ``value`` named like an echoed request value to it, in place."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in echoed and isinstance(item, str):
                value[key] = echoed[key]
            else:
                _echo(item, echoed)
    elif isinstance(value, list):
        for item in value:
            _echo(item, echoed)
