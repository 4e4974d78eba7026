"""``client.public``: the ``public/*`` methods (generated from the catalogue, and the
subscription methods, which go through the subscription manager)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, overload

from .._core.streams import ErrorCallback, Policy
from .._subscriptions import Callback, Subscription
from ..channels import Channel
from . import _subscribe
from .generated import PublicMethods

__all__ = ["PublicAPI"]

T = TypeVar("T")


class PublicAPI(PublicMethods):
    """``client.public``: methods that need no authentication, each named after the
    Deribit method it calls (``public/get_order_book`` -> ``get_order_book``).

    Every method takes an optional ``timeout`` (seconds; default: the client's).
    """

    __slots__ = ()

    @overload
    async def subscribe(
        self,
        channels: Sequence[Channel[T]],
        *,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        timeout: float | None = None,
    ) -> Subscription[T]: ...

    @overload
    async def subscribe(
        self,
        channels: Sequence[str],
        *,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        timeout: float | None = None,
    ) -> Subscription[Any]: ...

    async def subscribe(
        self,
        channels: Sequence[str],
        *,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        timeout: float | None = None,
    ) -> Subscription[Any]:
        """``public/subscribe`` (WebSocket only): subscribe to public channels and return
        the started subscriber of their notifications.

        The same as ``await client.subscribe(*channels)``: the subscriber is resubscribed
        after reconnects; ``await sub.close()`` (or :meth:`unsubscribe`) ends it. Its
        ``channels`` are the ones Deribit confirmed.

        Args:
            channels: A list of channels to subscribe to (public ones; private channels
                need :meth:`PrivateAPI.subscribe`).
            policy: what happens when the subscriber's queue is full (see
                ``client.subscribe``).
            maxsize: queue bound, markers included.
            callback: called with each item instead of iterating.
            on_error: called with the exception that ends the subscriber.
            timeout: seconds for Deribit's confirmation (default: the client's).

        Raises:
            SubscriptionRejected: Deribit left some channels out; nothing stays subscribed.
        """
        return await _subscribe.subscribe(
            self._caller, "public/subscribe", channels, policy=policy, maxsize=maxsize,
            callback=callback, on_error=on_error, label=None, timeout=timeout,
        )  # fmt: skip

    async def unsubscribe(
        self, channels: Sequence[str], *, timeout: float | None = None
    ) -> list[str]:
        """``public/unsubscribe``: stop these public channels for every subscriber of
        this client (a subscriber left without channels ends its iteration).

        Args:
            channels: A list of channels to unsubscribe from. Only successfully
                unsubscribed channels will be returned in the result.
            timeout: seconds for the reply (default: the client's).

        Returns:
            The channels unsubscribed; channels that were not subscribed are left out.
        """
        return await _subscribe.unsubscribe(self._caller, "public/unsubscribe", channels, timeout)

    async def unsubscribe_all(self, *, timeout: float | None = None) -> str:
        """``public/unsubscribe_all``: unsubscribe from every channel; every subscriber of
        this client ends its iteration. Returns ``"ok"``."""
        return await _subscribe.unsubscribe_all(self._caller, "public/unsubscribe_all", timeout)
