"""One generated catalogue of facts about every Deribit method.

``methods.py`` is generated from a snapshot of Deribit's OpenAPI spec and the hand-kept
``_generator/overrides.py`` (facts the spec does not state, and its known defects) by
``python -m deribit_client._catalogue._generator``; a test fails when it is stale. Every
flag the SDK acts on (WebSocket-only, order mutation, HTTP detour, session state,
subscription) is read from here, never from a second list.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .channels import CHANNELS
from .facts import ChannelFacts, MethodFacts, ParamFacts
from .methods import METHODS
from .results import RESULTS

__all__ = [
    "CHANNELS",
    "METHODS",
    "RESULTS",
    "ChannelFacts",
    "MethodFacts",
    "ParamFacts",
    "channel_facts",
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


def result_type_of(name: str) -> Any:
    """The type the result of ``name`` decodes into (``Any``: plain JSON, for a method the
    catalogue does not know)."""
    return RESULTS.get(name, Any)
