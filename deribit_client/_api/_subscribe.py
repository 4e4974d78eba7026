"""The six (un)subscribe methods behind ``client.public`` / ``client.private``.

They go through the subscription manager, which alone sends these methods: it routes each
channel's notifications to its subscribers and resubscribes after a reconnect, so a raw
``public/subscribe`` would leave notifications undelivered and lost on the next reconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from .._core.connection import check_timeout
from .._core.errors import ClientError, RequestTimeout
from .._core.streams import ErrorCallback, Policy
from .._errors import credentials_required
from .._subscriptions import Callback, Subscription, check_channels, is_private_channel
from ._caller import Caller

__all__ = ["subscribe", "unsubscribe", "unsubscribe_all"]

T = TypeVar("T")


async def subscribe(
    caller: Caller,
    method: str,
    channels: Iterable[str],
    *,
    policy: Policy | None,
    maxsize: int | None,
    callback: Callback | None,
    on_error: ErrorCallback | None,
    label: str | None,
    timeout: float | None,
) -> Subscription[Any]:
    """``method`` (public/private subscribe) as a started subscriber of ``channels``."""
    names = _checked(caller, method, channels)
    subscriber = caller.subscribe(
        *names, policy=policy, maxsize=maxsize, callback=callback, on_error=on_error,
        label=label,
    )  # fmt: skip

    async def start() -> None:
        await subscriber

    await _within(method, timeout, start)
    return subscriber


async def unsubscribe(
    caller: Caller, method: str, channels: Iterable[str], timeout: float | None
) -> list[str]:
    """``method`` (public/private unsubscribe) for every subscriber of ``channels``."""
    names = _checked(caller, method, channels)
    return await _within(method, timeout, lambda: caller.subscriptions.unsubscribe(names))


async def unsubscribe_all(caller: Caller, method: str, timeout: float | None) -> str:
    """``method`` (public/private unsubscribe_all): every subscriber ends."""
    _checked(caller, method, ())  # the scope's rules only: credentials for private/
    return await _within(method, timeout, lambda: caller.subscriptions.unsubscribe_all(method))


def _checked(caller: Caller, method: str, channels: Iterable[str]) -> tuple[str, ...]:
    """``channels`` checked against ``method``'s scope, as Deribit does: ``public/*`` takes
    no private channel, ``private/*`` needs credentials. Checked before anything changes:
    a bad list must not end half the subscribers."""
    if isinstance(channels, str):
        raise ClientError(f"{method}: channels must be a list of channel names, not one str")
    names = check_channels(channels)
    if method.startswith("public/"):
        private = [name for name in names if is_private_channel(name)]
        if private:
            verb = method.removeprefix("public/")
            raise ClientError(
                f"{', '.join(private)}: private channels need private/{verb} "
                f"(client.private.{verb})"
            )
    elif not caller.subscriptions.private_allowed:
        raise credentials_required(method)
    return names


async def _within(method: str, timeout: float | None, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``; past ``timeout`` seconds cancel it (the manager releases anything
    half-subscribed) and raise :class:`RequestTimeout`."""
    if timeout is None:
        return await work()
    timeout = check_timeout(timeout)
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await work()
    except TimeoutError:
        if deadline.expired():
            raise RequestTimeout(method, None, timeout) from None
        raise
