"""Typed method namespaces: ``client.public`` and ``client.private``."""

from __future__ import annotations

from ._caller import Caller
from .private import PrivateAPI
from .public import PublicAPI

__all__ = ["Caller", "PrivateAPI", "PublicAPI"]
