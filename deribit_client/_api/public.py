"""``client.public``: the ``public/*`` methods (all generated from the catalogue)."""

from __future__ import annotations

from .generated import PublicMethods

__all__ = ["PublicAPI"]


class PublicAPI(PublicMethods):
    """``client.public``: methods that need no authentication, each named after the
    Deribit method it calls (``public/get_order_book`` -> ``get_order_book``).

    Every method takes an optional ``timeout`` (seconds; default: the client's).
    Subscriptions go through ``client.subscribe()``, not ``public/subscribe``.
    """

    __slots__ = ()
