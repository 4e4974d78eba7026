"""JSON's value types as both simulators check what clients send."""

from __future__ import annotations

from typing import Any

__all__ = ["JSON_NAMES", "JSON_TYPES", "is_json"]

JSON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
}
"""A spec's type name -> the Python type a decoded value of it has."""

JSON_NAMES: dict[type, str] = {kind: name for name, kind in JSON_TYPES.items()}


def is_json(value: Any, kind: type | tuple[type, ...]) -> bool:
    """Whether a decoded ``value`` has the JSON type ``kind``: an integer is a number, a
    boolean is neither (``object`` takes anything, ``type(None)`` takes null)."""
    kinds = kind if type(kind) is tuple else (kind,)
    if isinstance(value, bool):
        return bool in kinds or object in kinds
    if type(value) is int and float in kinds:
        return True
    return isinstance(value, kinds)
