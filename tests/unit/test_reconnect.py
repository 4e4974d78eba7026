"""Reconnect policy: what is retried, what stops at once, how long to wait."""

from __future__ import annotations

import pytest

from deribit_client import (
    AuthenticationError,
    ClientError,
    ConnectionLost,
    ReconnectPolicy,
    RequestTimeout,
    TransportError,
    error_from_code,
)
from deribit_client._client import is_fatal
from deribit_client._core.supervisor import retry_establish
from tests.helpers import INSTANT


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
        # "Retry the call" and "keep reconnecting" are different questions: errors a later
        # attempt can get past keep the reconnect going (issue #8).
        (error_from_code(11094, "internal_server_error"), True),
        (error_from_code(10001, "error"), True),
        (error_from_code(11052, "subscribe_error_unsubscribed"), True),
        (error_from_code(13778, "raw_subscriptions_not_available_for_unauthorized"), True),
        (error_from_code(-32602, "Invalid params"), True),
        (ValueError("a bug"), True),
        (ClientError("misuse"), False),
    ],
)
def test_classifier(error: BaseException, retry: bool) -> None:
    assert is_fatal(error) is not retry


async def test_transient_failures_are_retried_until_success() -> None:
    attempts: list[int] = []
    seen: list[BaseException] = []

    async def establish() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionLost("not yet")

    await retry_establish(establish, INSTANT, is_fatal=is_fatal, on_failure=seen.append)
    assert len(attempts) == 3
    assert [type(e) for e in seen] == [ConnectionLost, ConnectionLost]


async def test_bad_credentials_stop_at_once() -> None:
    attempts: list[int] = []

    async def establish() -> None:
        attempts.append(1)
        raise error_from_code(13004, "invalid_credentials")

    with pytest.raises(AuthenticationError):
        await retry_establish(establish, INSTANT, is_fatal=is_fatal)
    assert attempts == [1]


async def test_attempts_are_bounded() -> None:
    attempts: list[int] = []

    async def establish() -> None:
        attempts.append(1)
        raise TransportError("refused")

    with pytest.raises(TransportError):
        await retry_establish(
            establish,
            ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0, max_attempts=4),
            is_fatal=is_fatal,
        )
    assert len(attempts) == 4


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="initial_delay"):
        ReconnectPolicy(initial_delay=-1)
    with pytest.raises(ValueError, match="max_attempts"):
        ReconnectPolicy(max_attempts=0)
