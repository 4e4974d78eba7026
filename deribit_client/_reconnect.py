"""Reconnect policy: exponential backoff with jitter, and which failures are worth retrying.

The only tenacity user in the package. The client supplies ``establish`` (connect -> auth ->
heartbeat -> cancel-on-disconnect -> resubscribe); this module decides when to call it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential,
    wait_random,
)

from ._errors import (
    AuthenticationError,
    PermissionDeniedError,
    ProtocolError,
    RequestTimeout,
    RpcError,
    TransportError,
)

__all__ = ["ReconnectPolicy", "is_retryable", "retry_establish"]

log = logging.getLogger("deribit_client")


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How the client re-establishes a lost WebSocket.

    Attributes:
        enabled: reconnect at all (False: a lost connection ends subscriptions).
        initial_delay: first backoff in seconds; doubles up to ``max_delay``.
        max_delay: cap of one backoff.
        jitter: up to this many random seconds added to each backoff.
        max_attempts: give up after this many failed attempts (``None``: never).
    """

    enabled: bool = True
    initial_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 1.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if min(self.initial_delay, self.max_delay, self.jitter) < 0:
            raise ValueError("reconnect delays must not be negative")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (or None)")


def is_retryable(error: BaseException) -> bool:
    """Transient failures are retried; bad credentials or a protocol mismatch are not."""
    if isinstance(error, AuthenticationError | PermissionDeniedError | ProtocolError):
        return False
    if isinstance(error, RpcError):
        return error.retryable
    return isinstance(error, TransportError | RequestTimeout | OSError)


async def retry_establish(
    establish: Callable[[], Awaitable[None]],
    policy: ReconnectPolicy,
    on_failure: Callable[[BaseException], None] | None = None,
) -> None:
    """Call ``establish`` until it succeeds, backing off between attempts.

    Raises:
        Exception: the last error, once it is not retryable or attempts run out.
    """
    base_wait = wait_exponential(
        multiplier=policy.initial_delay, max=policy.max_delay
    ) + wait_random(0, policy.jitter)

    def wait(state: RetryCallState) -> float:
        delay = float(base_wait(state))
        error = state.outcome.exception() if state.outcome is not None else None
        hinted = getattr(error, "wait", None)  # e.g. 10028: wait for credits to refill
        return max(delay, hinted) if isinstance(hinted, float) else delay

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if error is not None:
            if on_failure is not None:
                on_failure(error)
            log.warning("reconnect attempt %d failed (%s); retrying", state.attempt_number, error)

    retrying = AsyncRetrying(
        wait=wait,
        stop=stop_never if policy.max_attempts is None else stop_after_attempt(policy.max_attempts),
        retry=retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
    await retrying(establish)
