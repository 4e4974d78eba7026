"""Reconnect policy: what is retried, what stops at once, how long to wait."""

from __future__ import annotations

import asyncio
import logging

import pytest

from deribit_client import (
    AuthenticationError,
    ClientError,
    ConnectionLost,
    ConnectionState,
    RateLimitError,
    ReconnectPolicy,
    RequestTimeout,
    TransportError,
    error_from_code,
)
from deribit_client._client import is_fatal
from deribit_client._core.supervisor import Supervisor, retry_with_backoff
from tests.helpers import INSTANT, until


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

    await retry_with_backoff(establish, INSTANT, is_fatal=is_fatal, on_failure=seen.append)
    assert len(attempts) == 3
    assert [type(e) for e in seen] == [ConnectionLost, ConnectionLost]


async def test_bad_credentials_stop_at_once() -> None:
    attempts: list[int] = []

    async def establish() -> None:
        attempts.append(1)
        raise error_from_code(13004, "invalid_credentials")

    with pytest.raises(AuthenticationError):
        await retry_with_backoff(establish, INSTANT, is_fatal=is_fatal)
    assert attempts == [1]


async def test_attempts_are_bounded() -> None:
    attempts: list[int] = []

    async def establish() -> None:
        attempts.append(1)
        raise TransportError("refused")

    with pytest.raises(TransportError):
        await retry_with_backoff(
            establish,
            ReconnectPolicy(initial_delay=0, max_delay=0, jitter=0, max_attempts=4),
            is_fatal=is_fatal,
        )
    assert len(attempts) == 4


async def test_a_failed_try_waits_at_least_the_hint_it_carries_and_tries_are_capped() -> None:
    # Deribit's 10028 says how long to wait: a retry any sooner is refused again.
    loop = asyncio.get_running_loop()
    tries: list[float] = []

    async def attempt() -> None:
        tries.append(loop.time())
        raise error_from_code(10028, "too_many_requests", {"wait": 0.2})

    with pytest.raises(RateLimitError):  # INSTANT never gives up: the cap given here does
        await retry_with_backoff(attempt, INSTANT, is_fatal=is_fatal, max_attempts=2)
    assert len(tries) == 2
    assert tries[1] - tries[0] >= 0.19  # not the policy's zero backoff


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="initial_delay"):
        ReconnectPolicy(initial_delay=-1)
    with pytest.raises(ValueError, match="max_attempts"):
        ReconnectPolicy(max_attempts=0)


def test_backoff_doubles_up_to_the_cap_with_jitter_on_top() -> None:
    policy = ReconnectPolicy(initial_delay=0.5, max_delay=3.0, jitter=0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.backoff(10_000) == 3.0  # no overflow after a long outage
    jittered = ReconnectPolicy(initial_delay=0.5, max_delay=3.0, jitter=1.0)
    assert all(0.5 <= jittered.backoff(1) <= 1.5 for _ in range(100))


class _Link:
    """A connection as the supervisor sees it."""

    def __init__(self) -> None:
        self.closed = False
        self.closed_reason: str | None = None
        self.retry_after: float | None = None
        self.orphaned = False

    async def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("where", ["in a step", "before opening"])
async def test_closing_during_a_reconnect_ends_it_quietly(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Seen in a chaos run: close() began (state "closed") while a reconnect was between
    # attempts or finishing its steps; the reconnect then "gave up" (an ERROR log), tried
    # to move from closed to failed, and its task died with an exception nobody retrieved.
    links: list[_Link] = []
    gate = asyncio.get_running_loop().create_future()
    waiting: list[str] = []
    gave_up: list[BaseException] = []

    async def open_link() -> _Link:
        if where == "before opening" and links:
            waiting.append(where)  # as in a backoff: close() begins meanwhile
            await gate
        links.append(_Link())
        return links[-1]

    async def step(link: _Link) -> None:
        if where == "in a step" and len(links) > 1:
            waiting.append(where)
            await gate

    supervisor: Supervisor[_Link] = Supervisor(
        open_link, [("step", step)], INSTANT, is_fatal=is_fatal, on_give_up=gave_up.append
    )
    await supervisor.connect()
    links[0].closed = True
    supervisor.connection_closed(links[0], "cut")
    reconnect = supervisor._task
    assert reconnect is not None
    await until(lambda: waiting)
    supervisor.begin_close()
    gate.set_result(None)
    await asyncio.wait([reconnect])
    assert reconnect.exception() is None
    assert supervisor.state is ConnectionState.CLOSED
    assert gave_up == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert all(link.closed for link in links)  # nothing left open by the late attempt
    await supervisor.close()
