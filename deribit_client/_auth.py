"""Credentials, signatures and token state (REFERENCE.md section 2).

Decisions here are pure and clock-injected (what to send, whether to refresh now); the I/O
goes through a call function the client passes in. Secrets never appear in a repr, a log
record or an exception message: :class:`Credentials` and :class:`AuthResult` redact them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from ._errors import AuthenticationError, ClientError, CredentialsRequired
from .models.account import AuthResult

__all__ = [
    "Authenticator",
    "Credentials",
    "Grant",
    "HttpAuth",
    "http_signature",
    "ws_signature",
]

log = logging.getLogger("deribit_client")

Grant = Literal["client_credentials", "client_signature"]
HttpAuth = Literal["bearer", "basic", "signature"]
CallFn = Callable[[str, dict[str, Any], Any], Awaitable[Any]]


def _hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def ws_signature(secret: str, timestamp: int, nonce: str, data: str = "") -> str:
    """``client_signature`` grant: lowercase hex HMAC-SHA256 of ``ts\\nnonce\\ndata``.

    No newline follows ``data``; with empty data the string ends in ``\\n`` after the nonce.
    """
    return _hmac_hex(secret, f"{timestamp}\n{nonce}\n{data}")


def http_signature(
    secret: str, timestamp: int, nonce: str, http_method: str, uri: str, body: str
) -> str:
    """``deri-hmac-sha256`` header signature over ``ts\\nnonce\\nMETHOD\\nURI\\nBODY\\n``."""
    request_data = f"{http_method.upper()}\n{uri}\n{body}\n"
    return _hmac_hex(secret, f"{timestamp}\n{nonce}\n{request_data}")


class Credentials:
    """An API key: ``client_id`` plus the secret, which is never shown.

    Args:
        client_id: the key's client id.
        client_secret: the key's secret.
    """

    __slots__ = ("_secret", "client_id")

    def __init__(self, client_id: str, client_secret: str) -> None:
        if not client_id or not client_secret:
            raise ClientError("client_id and client_secret must both be non-empty")
        self.client_id = client_id
        self._secret = client_secret

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Credentials | None:
        """Read ``DERIBIT_CLIENT_ID`` / ``DERIBIT_CLIENT_SECRET``; None if either is unset."""
        env = os.environ if environ is None else environ
        client_id, secret = env.get("DERIBIT_CLIENT_ID"), env.get("DERIBIT_CLIENT_SECRET")
        if not client_id or not secret:
            return None
        return cls(client_id, secret)

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret=<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Credentials cannot be pickled")

    def sign(self, timestamp: int, nonce: str, data: str = "") -> str:
        """WebSocket/``public/auth`` signature (see :func:`ws_signature`)."""
        return ws_signature(self._secret, timestamp, nonce, data)

    def sign_http(self, timestamp: int, nonce: str, http_method: str, uri: str, body: str) -> str:
        """HTTP header signature (see :func:`http_signature`)."""
        return http_signature(self._secret, timestamp, nonce, http_method, uri, body)

    def basic_header(self) -> str:
        """``Authorization: Basic base64(client_id:client_secret)``."""
        token = base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()
        return f"Basic {token}"

    def grant_params(self, grant: Grant, timestamp: int, nonce: str) -> dict[str, Any]:
        """``public/auth`` params for ``grant`` (a fresh nonce and timestamp each time)."""
        if grant == "client_credentials":
            return {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._secret,
            }
        return {
            "grant_type": "client_signature",
            "client_id": self.client_id,
            "timestamp": timestamp,
            "nonce": nonce,
            "data": "",
            "signature": self.sign(timestamp, nonce, ""),
        }


class Authenticator:
    """Token state of one client: logs in, refreshes before expiry, re-authenticates.

    Args:
        credentials: the API key.
        grant: ``client_credentials`` (secret sent over TLS) or ``client_signature``
            (HMAC signature; the secret never leaves the process).
        scope: requested scope, e.g. ``"session:bot trade:read_write"``; the granted scope
            is read back into :attr:`granted_scope`.
        refresh_ratio: refresh once this fraction of ``expires_in`` has passed.
        subject_id: act for this subaccount (its user id): every login exchanges the key's
            token for one of the subaccount (``public/exchange_token``), which refreshes
            like any other.
        clock: seconds since the epoch (signatures); monotonic time is ``monotonic``.
        nonce: fresh nonce source.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        grant: Grant = "client_signature",
        scope: str | None = None,
        refresh_ratio: float = 0.8,
        subject_id: int | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        nonce: Callable[[], str] = lambda: secrets.token_urlsafe(12),
    ) -> None:
        if grant not in ("client_credentials", "client_signature"):
            raise ClientError(
                f"grant must be client_credentials or client_signature, not {grant!r}"
            )
        if not 0 < refresh_ratio < 1:
            raise ClientError("refresh_ratio must be between 0 and 1")
        if subject_id is not None and (type(subject_id) is not int or subject_id <= 0):
            raise ClientError(f"subaccount_id must be a user id (an int > 0), not {subject_id!r}")
        self.subject_id = subject_id
        self.credentials = credentials
        self.grant: Grant = grant
        self.scope = scope
        self.refresh_ratio = refresh_ratio
        self._clock = clock
        self._monotonic = monotonic
        self._nonce = nonce
        self._result: AuthResult | None = None
        self._obtained_at = 0.0
        self.logins = 0
        """Successful ``public/auth`` calls with the key (first login and re-auths)."""
        self.refreshes = 0
        """Successful ``refresh_token`` grants."""

    def __repr__(self) -> str:
        subject = f", subject_id={self.subject_id}" if self.subject_id is not None else ""
        return (
            f"Authenticator({self.credentials!r}, grant={self.grant!r}{subject}, "
            f"granted_scope={self.granted_scope!r})"
        )

    # -- pure decisions -----------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        """True once a token was obtained (it may have expired since)."""
        return self._result is not None

    @property
    def access_token(self) -> str | None:
        """The current access token (never logged)."""
        return self._result.access_token if self._result is not None else None

    @property
    def granted_scope(self) -> str | None:
        """The scope the server granted (may be narrower than requested)."""
        return self._result.scope if self._result is not None else None

    @property
    def session_scoped(self) -> bool:
        """True when the granted token is bound to a named session (``session:<name>``)."""
        return self._result is not None and any(
            s.startswith("session:") for s in self._result.scopes
        )

    def login_params(self) -> dict[str, Any]:
        """``public/auth`` params for a full login with the key."""
        params = self.credentials.grant_params(self.grant, int(self._clock() * 1000), self._nonce())
        if self.scope:
            params["scope"] = self.scope
        return params

    def refresh_params(self) -> dict[str, Any] | None:
        """``public/auth`` params for the ``refresh_token`` grant, or None without a token."""
        if self._result is None or not self._result.refresh_token:
            return None
        return {"grant_type": "refresh_token", "refresh_token": self._result.refresh_token}

    def seconds_until_refresh(self) -> float | None:
        """Seconds until the token should be refreshed (``refresh_ratio`` of its life)."""
        if self._result is None:
            return None
        due = self._obtained_at + self._result.expires_in * self.refresh_ratio
        return max(0.0, due - self._monotonic())

    def accept(self, result: AuthResult) -> None:
        """Store a new token."""
        self._result = result
        self._obtained_at = self._monotonic()

    def forget(self) -> None:
        """Drop the token (after logout or a connection-scoped token's connection died)."""
        self._result = None

    def http_authorization(self, mode: HttpAuth, uri: str, body: bytes) -> str:
        """The ``Authorization`` header for a private HTTP request (REFERENCE 2.4).

        ``bearer`` uses the current token (falling back to a signature before the first
        login), ``basic`` sends the key, ``signature`` signs ``POST``, ``uri`` and ``body``.
        """
        if mode == "bearer" and self._result is not None:
            return f"Bearer {self._result.access_token}"
        if self.subject_id is not None:
            # A key's own header acts for the key's account, never for the subaccount.
            raise CredentialsRequired(
                f"no token for subaccount {self.subject_id} yet: private HTTP calls acting "
                "for a subaccount need the bearer token of a completed login"
            )
        if mode == "basic":
            return self.credentials.basic_header()
        timestamp, nonce = int(self._clock() * 1000), self._nonce()
        signature = self.credentials.sign_http(timestamp, nonce, "POST", uri, body.decode())
        return (
            f"deri-hmac-sha256 id={self.credentials.client_id},ts={timestamp},"
            f"sig={signature},nonce={nonce}"
        )

    # -- performed through the client ---------------------------------------------------

    async def login(self, call: CallFn) -> AuthResult:
        """Authenticate with the key (then exchange the token for the subaccount's, with
        ``subject_id``); raises AuthenticationError on rejection."""
        result: AuthResult = await call("public/auth", self.login_params(), AuthResult)
        if self.subject_id is not None:
            params: dict[str, Any] = {
                "refresh_token": result.refresh_token,
                "subject_id": self.subject_id,
            }
            if self.scope:  # the subaccount's token gets the scopes (and session) asked for
                params["scope"] = self.scope
            result = await call("public/exchange_token", params, AuthResult)
        self.accept(result)
        self.logins += 1
        requested = set(self.scope.split()) if self.scope else set()
        missing = requested - result.scopes
        if missing:
            log.warning(
                "granted scope lacks %s (granted %r)", " ".join(sorted(missing)), result.scope
            )
        return result

    async def refresh(self, call: CallFn) -> AuthResult:
        """Refresh with the refresh token, falling back to a full login if that fails."""
        params = self.refresh_params()
        if params is not None:
            try:
                result: AuthResult = await call("public/auth", params, AuthResult)
            except AuthenticationError as exc:
                log.info("token refresh rejected (%s); logging in again", exc.code)
            else:
                self.accept(result)
                self.refreshes += 1
                return result
        return await self.login(call)
