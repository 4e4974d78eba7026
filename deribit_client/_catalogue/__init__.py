"""One generated catalogue of facts about every Deribit method.

``methods.py`` is generated from a snapshot of Deribit's OpenAPI spec and the hand-kept
``_generator/overrides.py`` (facts the spec does not state, and its known defects) by
``python -m deribit_client._catalogue._generator``; a test fails when it is stale. Every
flag the SDK acts on (WebSocket-only, order mutation, HTTP detour, session state,
subscription) is read from here, never from a second list.
"""

from __future__ import annotations

from .facts import MethodFacts, ParamFacts
from .methods import METHODS

__all__ = ["METHODS", "MethodFacts", "ParamFacts", "method_facts"]


def method_facts(name: str) -> MethodFacts | None:
    """The facts of ``name`` (``public/...`` or ``private/...``), or ``None`` if the
    catalogue does not know the method."""
    return METHODS.get(name)
