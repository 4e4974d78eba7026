"""The connection supervisor: one state machine, ordered establish steps, reconnect.

The only tenacity user in the package. ``ConnectionState`` moves through :data:`TRANSITIONS`
only, in :meth:`Supervisor._move`; a move the table does not allow raises. "ready" is entered
only from a connection that is still open after its last establish step. A lost connection
is re-established with backoff (honouring a venue's retry-after hint); only errors that no
retry can fix (bad credentials, missing permission: the venue's ``is_fatal``) stop it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Generic, NoReturn, Protocol, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
)

from .errors import ClientClosed, ClientError, ConnectionLost, DeribitError, NotReadyError
from .tasks import finish_all, other_loop_error, stop_tasks

__all__ = [
    "TRANSITIONS",
    "ConnectionState",
    "ReconnectPolicy",
    "Supervisor",
    "refuse_after_a_turn",
    "retry_with_backoff",
]

log = logging.getLogger("deribit_client")


class ConnectionState(StrEnum):
    """Where a client's connection stands (compares equal to its lowercase name)."""

    DISCONNECTED = "disconnected"
    """Not connected yet (or the first connect failed)."""
    CONNECTING = "connecting"
    """The first connection is being established."""
    READY = "ready"
    """Connected and every establish step done: calls and subscriptions go out."""
    RECONNECTING = "reconnecting"
    """The connection was lost and is being re-established."""
    FAILED = "failed"
    """The connection was lost and reconnecting was off or gave up."""
    CLOSED = "closed"
    """Closed by the user (or logout); final."""


S = ConnectionState
# Enum member lookups cost ~100 ns on 3.11; the per-call check uses a module constant.
_READY = ConnectionState.READY
TRANSITIONS: Final[dict[ConnectionState, frozenset[ConnectionState]]] = {
    S.DISCONNECTED: frozenset({S.CONNECTING, S.CLOSED}),
    S.CONNECTING: frozenset({S.READY, S.DISCONNECTED, S.CLOSED}),
    S.READY: frozenset({S.RECONNECTING, S.FAILED, S.CLOSED}),
    S.RECONNECTING: frozenset({S.READY, S.FAILED, S.CLOSED}),
    S.FAILED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}
"""Every allowed move of :class:`ConnectionState`."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How the client re-establishes a lost connection.

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
        if type(self.enabled) is not bool:
            raise ClientError(f"ReconnectPolicy.enabled must be a bool, not {self.enabled!r}")
        for name in ("initial_delay", "max_delay", "jitter"):
            value = getattr(self, name)
            if type(value) not in (int, float) or not 0 <= value < math.inf:
                raise ClientError(f"ReconnectPolicy.{name} must be a number >= 0, not {value!r}")
        if self.initial_delay > self.max_delay:  # the cap would silently win
            raise ClientError(
                f"ReconnectPolicy.initial_delay ({self.initial_delay}) must not exceed "
                f"max_delay ({self.max_delay})"
            )
        attempts = self.max_attempts
        if attempts is not None and (type(attempts) is not int or attempts < 1):
            raise ClientError(f"max_attempts must be an int >= 1 (or None), not {attempts!r}")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (from 1): ``initial_delay``
        doubled per attempt up to ``max_delay``, plus up to ``jitter`` random seconds (so
        clients cut off together do not all come back in the same instant)."""
        delay = min(self.initial_delay * 2.0 ** min(attempt - 1, 64), self.max_delay)
        return delay + random.uniform(0, self.jitter)


class Closable(Protocol):
    """What the supervisor needs of a connection."""

    @property
    def closed(self) -> bool: ...

    @property
    def closed_reason(self) -> str | None: ...

    retry_after: float | None
    orphaned: bool  # ended by its event loop's shutdown: not to be reconnected

    async def close(self) -> None: ...


C = TypeVar("C", bound=Closable)
Step = Callable[[C], Awaitable[None]]


async def refuse_after_a_turn(error: BaseException) -> NoReturn:
    """Raise ``error``, a call's refusal for the connection's state (reconnecting, failed,
    closed), after one turn of the event loop.

    Raised at once, a refusal never suspends its caller: a bot that retries in a loop
    without awaiting anything else would then never let the loop run, so neither the
    reconnect it waits for nor any timeout would ever happen. Successful calls do not pay
    for this.
    """
    await asyncio.sleep(0)
    raise error


def retry_delay(policy: ReconnectPolicy, attempt: int, error: BaseException | None) -> float:
    """Seconds before retry number ``attempt`` (from 1) after ``error``: the policy's
    backoff, and at least the error's own ``retry_after`` hint (a venue's "wait")."""
    hint = getattr(error, "retry_after", None)
    return max(policy.backoff(attempt), hint if isinstance(hint, float) and hint > 0 else 0.0)


async def retry_with_backoff(
    attempt: Callable[[], Awaitable[None]],
    policy: ReconnectPolicy,
    *,
    is_fatal: Callable[[BaseException], bool],
    not_before: Callable[[], float] = lambda: 0.0,
    on_failure: Callable[[BaseException], None] | None = None,
    max_attempts: int | None = None,
    what: str = "reconnect",
) -> None:
    """Call ``attempt`` until it succeeds, backing off between tries as ``policy`` says.

    Each wait lasts at least the failed try's own ``retry_after`` hint (a venue's "wait"),
    and until ``not_before()``, a loop time before which no try may start. Tries stop
    after ``max_attempts`` (default: the policy's); ``what`` names them in the log.

    Raises:
        Exception: the last error, once it is fatal or tries run out.
    """
    loop = asyncio.get_running_loop()
    limit = policy.max_attempts if max_attempts is None else max_attempts

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return max(retry_delay(policy, state.attempt_number, error), not_before() - loop.time())

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if error is not None:
            if on_failure is not None:
                on_failure(error)
            log.warning("%s attempt %d failed (%s); retrying", what, state.attempt_number, error)

    retrying = AsyncRetrying(
        wait=wait,
        stop=stop_never if limit is None else stop_after_attempt(limit),
        # Only ordinary errors are retried: a cancellation (close()) must end the loop.
        retry=retry_if_exception(
            lambda error: isinstance(error, Exception) and not is_fatal(error)
        ),
        before_sleep=before_sleep,
        reraise=True,
    )
    await retrying(attempt)


class Supervisor(Generic[C]):
    """Owns a client's connection state and its establish / reconnect cycle.

    Args:
        open_connection: opens a fresh transport and starts a connection over it; the
            connection must call :meth:`connection_closed` when it ends.
        steps: ``(name, step)`` pairs run in order on every new connection (for Deribit:
            authenticate, heartbeat, cancel-on-disconnect, resubscribe).
        policy: reconnect policy.
        is_fatal: errors no retry can fix; they stop reconnecting.
        on_give_up: called once when the connection is lost for good (reconnect off or
            given up), with the reason, so subscribers can be failed.
    """

    def __init__(
        self,
        open_connection: Callable[[], Awaitable[C]],
        steps: Sequence[tuple[str, Step[C]]],
        policy: ReconnectPolicy,
        *,
        is_fatal: Callable[[BaseException], bool],
        on_give_up: Callable[[BaseException], None],
        on_ready: Callable[[C], None] | None = None,
    ) -> None:
        self._open = open_connection
        self.steps = list(steps)
        self.policy = policy
        self._is_fatal = is_fatal
        self._on_give_up = on_give_up
        self._on_ready = on_ready
        self._state = ConnectionState.DISCONNECTED
        self._changed: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._not_before = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None  # the one connect() ran on
        self.connection: C | None = None
        """The current connection: ready, or being established."""
        self.ready_connection: C | None = None
        """The connection while the state is ``ready``; else ``None``. Kept by :meth:`_move`
        (an attribute, not a property: every call reads it). A ready connection that ends
        calls :meth:`connection_closed`, which moves the state, so this is never a closed
        connection for longer than that synchronous call."""
        self.reconnect_count = 0
        """Successful reconnects so far."""
        self.last_error: BaseException | None = None
        """The last connection-level error, if any."""

    @property
    def state(self) -> ConnectionState:
        """The current :class:`ConnectionState`."""
        return self._state

    def _move(self, new: ConnectionState) -> None:
        """The one place the state changes; refuses moves :data:`TRANSITIONS` lacks."""
        old = self._state
        if new is old:
            return
        if new not in TRANSITIONS[old]:
            raise ClientError(f"connection cannot go from {old.value} to {new.value}")
        self._state = new
        self.ready_connection = self.connection if new is _READY else None
        log.debug("connection state %s -> %s", old.value, new.value)
        changed, self._changed = self._changed, None
        if changed is not None and not changed.done():
            changed.set_result(None)

    def refusal(self, what: str) -> DeribitError:
        """The error for ``what`` (a method, a stream) that cannot go out because no
        connection is ready, by state; raise it through :func:`refuse_after_a_turn`."""
        state = self._state
        if state is ConnectionState.CLOSED:
            return ClientClosed(f"{what} not sent: the client is closed; create a new one")
        foreign = self.foreign_loop()
        if foreign is not None:
            return foreign
        if state is ConnectionState.FAILED:
            return ConnectionLost(
                f"{what} not sent: the connection is down for good ({self.last_error})"
            )
        if state is ConnectionState.CONNECTING:
            return ConnectionLost(f"{what} not sent: still connecting (await client.wait_ready())")
        if state is ConnectionState.DISCONNECTED:
            return ClientError(
                f"{what} not sent: the client is not connected (use `async with` or "
                "`await connect()`)"
            )
        return ConnectionLost(f"{what} not sent: reconnecting (await client.wait_ready())")

    # -- establishing ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Establish the first connection; errors propagate (no retry on the first one)."""
        if self._state is not ConnectionState.DISCONNECTED:
            raise ClientError(f"connect() needs a fresh client; this one is {self._state.value}")
        self._loop = asyncio.get_running_loop()
        self._move(ConnectionState.CONNECTING)
        try:
            await self._establish()
        except BaseException:
            state: ConnectionState = self._state  # _establish may have moved it
            if state is ConnectionState.CONNECTING:
                self._move(ConnectionState.DISCONNECTED)
            raise

    def foreign_loop(self) -> ClientError | None:
        """The refusal when the running event loop is not the one the client connected on
        (``None`` when it is, or before the first connect)."""
        home = self._loop
        if home is None or home is asyncio.get_running_loop():
            return None
        return other_loop_error(home)

    def _close_began(self) -> bool:
        # A method, not an inline test: the state changes across the awaits around it.
        return self._state is ConnectionState.CLOSED

    async def _establish(self) -> None:
        if self._close_began():
            # close() began while a reconnect waited (a backoff): open nothing more.
            raise ClientClosed("the client was closed while connecting")
        conn = await self._open()
        self.connection = conn
        try:
            for name, step in self.steps:
                if conn.closed:
                    break
                log.debug("establish step: %s", name)
                await step(conn)
            if conn.closed:
                # The server answered the last step and hung up: this connection is not
                # ready, whatever the steps returned.
                raise ConnectionLost(f"connection closed while establishing: {conn.closed_reason}")
        except BaseException:
            self._note_hint(conn)
            if self.connection is conn:
                self.connection = None
            await finish_all(conn.close)
            raise
        if self._close_began():
            await finish_all(conn.close)
            raise ClientClosed("the client was closed while connecting")
        self._move(ConnectionState.READY)
        if self._on_ready is not None:
            self._on_ready(conn)

    def connection_closed(self, conn: C, reason: str) -> None:
        """A connection ended (called by the connection itself)."""
        if conn is not self.connection or self._state is not ConnectionState.READY:
            return  # an old or half-built connection (its establish fails), or closing
        self._note_hint(conn)
        error = ConnectionLost(reason)
        self.last_error = error
        if conn.orphaned:
            # A reconnect task would be cancelled too, or destroyed with the loop.
            log.warning("connection ended (%s); not reconnecting", reason)
            self._give_up(error)
            return
        if not self.policy.enabled:
            log.warning("connection lost (%s); reconnect is disabled", reason)
            self._give_up(error)
            return
        log.warning("connection lost (%s); reconnecting", reason)
        self._move(ConnectionState.RECONNECTING)
        self._task = asyncio.get_running_loop().create_task(
            self._reconnect(conn), name="deribit-reconnect"
        )

    def _note_hint(self, conn: C) -> None:
        if conn.retry_after is not None and conn.retry_after > self._not_before:
            self._not_before = conn.retry_after

    def _give_up(self, error: BaseException) -> None:
        self.connection = None
        self._move(ConnectionState.FAILED)
        self._on_give_up(error)

    async def _reconnect(self, old: C) -> None:
        self.connection = None
        await old.close()
        loop = asyncio.get_running_loop()
        hinted = self._not_before - loop.time()
        if hinted > 0:  # e.g. Deribit's 10028 "wait": do not come back before it
            log.info("waiting %.3f s before reconnecting (server's rate-limit hint)", hinted)
            await asyncio.sleep(hinted)

        def failed(error: BaseException) -> None:
            self.last_error = error

        try:
            await retry_with_backoff(
                self._establish,
                self.policy,
                is_fatal=self._is_fatal,
                not_before=lambda: self._not_before,
                on_failure=failed,
            )
        except Exception as exc:
            if self._close_began():
                # close() began meanwhile (it stops this task next): an end, not a failure.
                log.debug("reconnect ended by close(): %s", exc)
                return
            log.error("giving up reconnecting: %s", exc)
            self.last_error = exc
            self._give_up(ConnectionLost(f"could not reconnect: {exc}"))
            return
        self.reconnect_count += 1
        log.info("reconnected (%d so far)", self.reconnect_count)

    # -- waiting and closing --------------------------------------------------------------

    async def wait_ready(self, timeout: float) -> None:
        """Wait until the state is ``ready``.

        Raises:
            NotReadyError: not ready within ``timeout`` seconds.
            ClientClosed: the client was closed.
            ConnectionLost: the connection was lost for good (reconnect off or gave up).
        """
        foreign = self.foreign_loop()
        if foreign is not None:
            raise foreign
        try:
            async with asyncio.timeout(timeout):
                while True:
                    state = self._state
                    if state is ConnectionState.READY:
                        return
                    if state is ConnectionState.CLOSED:
                        raise ClientClosed("the client is closed")
                    if state is ConnectionState.FAILED:
                        raise ConnectionLost(f"the connection is down for good: {self.last_error}")
                    if state is ConnectionState.DISCONNECTED:
                        raise ClientError(
                            "the client is not connected: use `async with` or `await connect()`"
                        )
                    if self._changed is None:
                        self._changed = asyncio.get_running_loop().create_future()
                    await asyncio.shield(self._changed)
        except TimeoutError:
            raise NotReadyError(
                f"not ready within {timeout:g} s (state: {self._state.value})"
            ) from None

    def left_behind(self) -> bool:
        """For a client's ``close()``, before anything else: ``True`` when the client's
        event loop is closed, in which case the client is now closed and dropped (nothing
        of that loop can run or be awaited again; its sockets go with it); ``False`` on
        the client's own loop.

        Raises:
            ClientError: called from another event loop while the client's is still open
                (close it there: its tasks cannot be awaited from here).
        """
        foreign = self.foreign_loop()
        if foreign is None:
            return False
        assert self._loop is not None
        if not self._loop.is_closed():
            raise foreign
        log.warning("closing a client whose event loop was closed first: its connection is dropped")
        # Futures and tasks of the closed loop: waking or cancelling them would raise.
        self._changed = self._task = self.connection = None
        self.begin_close()
        return True

    def begin_close(self) -> None:
        """Enter ``closed`` now: a connection ending from here on is not reconnected."""
        if self._state is not ConnectionState.CLOSED:
            self._move(ConnectionState.CLOSED)

    async def close(self) -> None:
        """Stop reconnecting and close the connection; completes even if cancelled."""
        self.begin_close()
        task, self._task = self._task, None

        async def close_connection() -> None:
            conn, self.connection = self.connection, None
            if conn is not None:
                await conn.close()

        await finish_all(lambda: stop_tasks(task), close_connection)
