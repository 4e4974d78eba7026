"""Reconnect policy: what is retried, what stops at once, how long to wait."""

from __future__ import annotations

import pytest

from deribit_client import (
    AuthenticationError,
    ConnectionLost,
    ReconnectPolicy,
    RequestTimeout,
    TransportError,
    error_from_code,
)
from deribit_client._reconnect import is_retryable, retry_establish

INSTANT = ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0)


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (ConnectionLost("gone"), True),
        (TransportError("refused"), True),
        (RequestTimeout("public/auth", 1, 1.0), True),
        (error_from_code(10028, "too_many_requests"), True),
        (error_from_code(11051, "system_maintenance"), True),
        (error_from_code(13004, "invalid_credentials"), False),
        (error_from_code(13021, "forbidden"), False),
        (error_from_code(-32602, "Invalid params"), False),
        (ValueError("a bug"), False),
    ],
)
def test_classifier(error: BaseException, retry: bool) -> None:
    assert is_retryable(error) is retry


async def test_transient_failures_are_retried_until_success() -> None:
    attempts: list[int] = []
    seen: list[BaseException] = []

    async def establish() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionLost("not yet")

    await retry_establish(establish, INSTANT, seen.append)
    assert len(attempts) == 3
    assert [type(e) for e in seen] == [ConnectionLost, ConnectionLost]


async def test_bad_credentials_stop_at_once() -> None:
    attempts: list[int] = []

    async def establish() -> None:
        attempts.append(1)
        raise error_from_code(13004, "invalid_credentials")

    with pytest.raises(AuthenticationError):
        await retry_establish(establish, INSTANT)
    assert attempts == [1]


async def test_attempts_are_bounded() -> None:
    attempts: list[int] = []

    async def establish() -> None:
        attempts.append(1)
        raise TransportError("refused")

    with pytest.raises(TransportError):
        await retry_establish(
            establish, ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0, max_attempts=4)
        )
    assert len(attempts) == 4


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="negative"):
        ReconnectPolicy(initial_delay=-1)
    with pytest.raises(ValueError, match="max_attempts"):
        ReconnectPolicy(max_attempts=0)
