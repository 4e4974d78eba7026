"""The one thing typed namespaces need from the client: a way to make a call (and, for the
subscription methods, the client's subscriptions)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from .._core.streams import ErrorCallback, Policy
    from .._subscriptions import Callback, Subscription, SubscriptionManager

__all__ = ["Caller"]

T = TypeVar("T")


class Caller(Protocol):
    """Sends ``method`` with ``params`` and decodes the result into ``result_type``; can
    wait for the connection to be ready."""

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until calls can go out (see ``DeribitClient.wait_ready``)."""
        ...

    def invoke(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        result_type: type[T],
        timeout: float | None,
    ) -> Awaitable[T]:
        """Start the call; awaiting the result raises the typed error on failure."""
        ...

    def subscribe(
        self,
        *channels: str,
        policy: Policy | None = None,
        maxsize: int | None = None,
        callback: Callback | None = None,
        on_error: ErrorCallback | None = None,
        label: str | None = None,
    ) -> Subscription[Any]:
        """A subscriber of ``channels`` (see ``DeribitClient.subscribe``)."""
        ...

    @property
    def subscriptions(self) -> SubscriptionManager:
        """The client's subscription manager."""
        ...
