"""One generated catalogue of facts about every Deribit method and channel.

``methods.py``, ``channels.py`` and ``results.py`` are generated from snapshots of
Deribit's OpenAPI and AsyncAPI specs and the hand-kept ``_generator/overrides.py`` (facts
the specs do not state, and their known defects) by
``python -m deribit_client._catalogue._generator``; a test fails when any is stale. Every
flag the SDK acts on (WebSocket-only, order mutation, HTTP detour, session state,
subscription, credit pools) and every result type is read from here, never from a second
list. Channel payload types are hand-kept in ``payloads.py`` (the AsyncAPI file has no
schemas).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .channels import CHANNEL_PARTS, CHANNELS
from .facts import ChannelFacts, MethodFacts, ParamFacts
from .methods import METHODS
from .results import RESULTS

__all__ = [
    "CHANNELS",
    "CHANNEL_PARTS",
    "METHODS",
    "RESULTS",
    "ChannelFacts",
    "MethodFacts",
    "ParamFacts",
    "channel_facts",
    "max_length",
    "method_facts",
    "result_type_of",
]


def _regex(pattern: str) -> re.Pattern[str]:
    parts = ("[^.]+" if part.startswith("(") else re.escape(part) for part in pattern.split("."))
    return re.compile(r"\.".join(parts) + r"\Z")


# Patterns with more literal parts first: the most specific family wins.
_MATCHERS = sorted(
    ((_regex(f.pattern), f) for f in CHANNELS.values()),
    key=lambda entry: -sum(not p.startswith("(") for p in entry[1].pattern.split(".")),
)


@cache
def channel_facts(name: str) -> ChannelFacts | None:
    """The facts of the family ``name`` belongs to (``ticker.BTC-PERPETUAL.100ms`` ->
    ``ticker.(instrument_name).(interval)``), or ``None`` for a family the spec lacks."""
    for regex, facts in _MATCHERS:
        if regex.match(name):
            return facts
    return None


def method_facts(name: str) -> MethodFacts | None:
    """The facts of ``name`` (``public/...`` or ``private/...``), or ``None`` if the
    catalogue does not know the method."""
    return METHODS.get(name)


def max_length(method: str, param: str) -> int:
    """The most characters the string parameter ``param`` of ``method`` may have
    (``ParamFacts.max_length``: stated in the spec's descriptions).

    Raises:
        LookupError: the catalogue states no limit for it (a caller relying on one
            would otherwise check nothing).
    """
    for p in METHODS[method].params:
        if p.name == param and p.max_length:
            return p.max_length
    raise LookupError(f"the spec states no length limit for {method} {param!r}")


def result_type_of(name: str) -> Any:
    """The type the result of ``name`` decodes into (``Any``: plain JSON, for a method the
    catalogue does not know)."""
    return RESULTS.get(name, Any)
