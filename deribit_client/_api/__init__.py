"""Typed method namespaces and the method -> result type registry derived from them."""

from __future__ import annotations

import inspect
import typing
from functools import cache
from typing import Any

from ._caller import Caller
from .private import PrivateAPI
from .public import PublicAPI

__all__ = ["NAMESPACES", "Caller", "PrivateAPI", "PublicAPI", "result_type_of"]

NAMESPACES: dict[str, type] = {"public": PublicAPI, "private": PrivateAPI}
"""Deribit method prefix -> the namespace class whose wrappers call those methods."""


@cache
def _registry() -> dict[str, Any]:
    # Derived from the wrappers' return annotations so the type lives in one place.
    table: dict[str, Any] = {}
    for prefix, cls in NAMESPACES.items():
        for name, fn in inspect.getmembers(cls, inspect.iscoroutinefunction):
            if not name.startswith("_"):
                method = getattr(fn, "deribit_method", f"{prefix}/{name}")
                table[method] = typing.get_type_hints(fn)["return"]
    return table


def result_type_of(method: str) -> Any:
    """The result type the typed wrapper of ``method`` returns, or ``Any`` if there is none."""
    return _registry().get(method, Any)
