"""Simulated API keys, tokens and accounts: state only, no request handling.

Signatures are checked with this module's own HMAC code (REFERENCE 2.1, 2.4), not the SDK's:
a judge must not share the code it judges.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._session import Session, SimError, remember

__all__ = [
    "SIM_CLIENT_ID",
    "SIM_CLIENT_SECRET",
    "STARTING_BALANCES",
    "Account",
    "Token",
    "Trading",
    "deposit_address",
    "ws_signature_ok",
]


class CallLike(Protocol):
    """What authorization reads of a call."""

    session: Session
    params: dict[str, Any]


def _hex_hmac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def ws_signature_ok(secret: str, timestamp: int, nonce: str, data: str, signature: str) -> bool:
    """``client_signature`` grant: HMAC-SHA256 over ``timestamp, nonce, data`` joined by
    newlines (so an empty ``data`` leaves the text ending in a newline)."""
    return hmac.compare_digest(_hex_hmac(secret, f"{timestamp}\n{nonce}\n{data}"), signature)


SIM_CLIENT_ID = "sim-client-id"
"""The API key every simulator accepts (``sim.add_api_key`` adds more)."""
SIM_CLIENT_SECRET = "sim-client-secret"
_SIGNATURE_WINDOW_MS = 60_000
_SWEEP_MIN = 1_000
_REFRESH_GRACE_MS = 86_400_000
_MAX_SCOPE = "account:read_write trade:read_write wallet:read_write block_trade:read_write"


@dataclass
class Token:
    """An issued access token and what it may do."""

    client_id: str
    access_token: str
    refresh_token: str
    scope: str
    expires_at_ms: int
    session_name: str | None
    connection: int | None  # connection-scoped tokens die with their connection


@dataclass
class Account:
    """The state of one API key's account: orders, trades, positions, balances, and the
    wallet's ledgers (transaction log, deposits, withdrawals, transfers, subaccounts)."""

    client_id: str
    balances: dict[str, float] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)
    cod: dict[str, bool] = field(default_factory=lambda: {"account": False})
    user_id: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    """The transaction log, oldest first (the newest :data:`HISTORY` entries)."""
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    subaccounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Subaccount id -> its record, with its own ``balances``."""
    access_log: list[dict[str, Any]] = field(default_factory=list)
    """Successful logins, oldest first (the newest :data:`HISTORY`)."""
    block_trades: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Executed block trades by id, with this account's side of the trades."""
    block_requests: dict[tuple[int, str, str], dict[str, Any]] = field(default_factory=dict)
    """Block trades this account verified, by ``(timestamp, nonce, role)``, until they are
    executed, rejected, invalidated or expire."""

    def book(
        self, now_ms: int, currency: str, kind: str, change: float, **info: Any
    ) -> dict[str, Any]:
        """Apply ``change`` to the ``currency`` balance and log it (``type`` ``kind``),
        as the transaction log reports every balance change."""
        balance = round(self.balances.get(currency, 0.0) + change, 10)
        self.balances[currency] = balance
        seq = self.log[-1]["id"] + 1 if self.log else 1
        entry = {
            "id": seq,
            "user_seq": seq,
            "user_id": self.user_id,
            "username": self.client_id,
            "timestamp": now_ms,
            "type": kind,
            "currency": currency,
            "change": round(change, 10),
            "cashflow": round(change, 10),
            "balance": balance,
            "equity": balance,
            "commission": 0.0,
            "info": None,
            **info,
        }
        remember(self.log, entry)
        return entry


def deposit_address(account: Account, currency: str) -> str:
    """The account's (made-up, stable) deposit address for ``currency``."""
    digest = hashlib.sha256(f"{account.client_id}:{currency}".encode()).hexdigest()
    return f"sim{currency.lower()}{digest[:30]}"


STARTING_BALANCES = {"BTC": 10.0, "ETH": 150.0, "USDC": 250_000.0, "USDT": 100_000.0}
"""What a new simulated account holds: it arrives as completed deposits."""


class Trading:
    """Keys, tokens and accounts of one simulator."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self.now_ms = now_ms
        self.keys: dict[str, str] = {SIM_CLIENT_ID: SIM_CLIENT_SECRET}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.used_nonces: dict[tuple[str, str], int] = {}
        """(client_id, nonce) -> signature timestamp; forgotten once the timestamp alone
        would be refused, so the map stays as small as the signature window allows."""
        self._sweep_at = _SWEEP_MIN
        self.accounts: dict[str, Account] = {}
        self.token_ttl = 900
        self.cancel_failures: dict[str, list[tuple[int, str]]] = {}
        self.order_ids = itertools.count(1_000_000)
        self._user_ids = itertools.count(100_001)
        self.block_trade_ids = itertools.count(6_001)
        self.block_signatures: dict[str, tuple[str, tuple[int, str, str]]] = {}
        """A verified block trade's signature -> (verifying client id, its request key)."""
        self.wallet_ids = itertools.count(1)
        """Ids of withdrawals, transfers and subaccounts."""
        self.auth_grants: list[str] = []
        self.tokens_in_params = 0
        """Private calls that carried ``access_token`` in their params."""

    def account(self, client_id: str) -> Account:
        account = self.accounts.get(client_id)
        if account is None:
            account = Account(client_id, user_id=next(self._user_ids))
            self.accounts[client_id] = account
            now = self.now_ms()
            for currency, amount in STARTING_BALANCES.items():
                account.deposits.append(
                    {
                        "address": deposit_address(account, currency),
                        "amount": amount,
                        "currency": currency,
                        "state": "completed",
                        "received_timestamp": now,
                        "updated_timestamp": now,
                        "transaction_id": hashlib.sha256(
                            f"{client_id}{currency}".encode()
                        ).hexdigest(),
                    }
                )
                account.book(now, currency, "deposit", amount)
        return account

    # -- tokens -------------------------------------------------------------------------

    def use_nonce(self, client_id: str, nonce: str, timestamp: int) -> None:
        """Record a signature nonce as spent."""
        self.used_nonces[(client_id, nonce)] = timestamp
        if len(self.used_nonces) > 2 * _SWEEP_MIN:
            oldest = self.now_ms() - _SIGNATURE_WINDOW_MS
            self.used_nonces = {k: ts for k, ts in self.used_nonces.items() if ts >= oldest}

    def _sweep_tokens(self) -> None:
        """Forget expired tokens (refresh tokens a day after their access token), in
        batches: reconnecting bots would otherwise grow the maps forever."""
        now = self.now_ms()
        self.tokens = {k: t for k, t in self.tokens.items() if t.expires_at_ms > now}
        cutoff = now - _REFRESH_GRACE_MS
        self.refresh_tokens = {
            k: t for k, t in self.refresh_tokens.items() if t.expires_at_ms > cutoff
        }
        self._sweep_at = max(_SWEEP_MIN, 2 * len(self.refresh_tokens))

    def issue(
        self,
        client_id: str,
        scope: str | None,
        grant: str,
        session: Session,
        *,
        store: bool = True,
    ) -> Token:
        """A new token; ``store=False`` for per-request HTTP authorization (Basic or
        signature headers), which leaves nothing to refresh or look up later."""
        requested = (scope or "").split()
        session_name = next(
            (s.split(":", 1)[1] for s in requested if s.startswith("session:")), None
        )
        granted = [f"session:{session_name}" if session_name else "connection", "mainaccount"]
        for item in requested:
            if item.startswith(("account:", "trade:", "wallet:", "block_trade:", "block_rfq:")):
                # Keys authenticated with the plain secret get at most wallet:read (REFERENCE 2.2).
                if grant == "client_credentials" and item == "wallet:read_write":
                    item = "wallet:read"
                granted.append(item)
            elif item.startswith(("expires:", "ip:")):
                granted.append(item)
        if not any(g.startswith("trade:") for g in granted):
            granted.extend(_MAX_SCOPE.split())
        ttl = next((int(s.split(":", 1)[1]) for s in requested if s.startswith("expires:")), None)
        token = Token(
            client_id=client_id,
            access_token=f"at.{secrets.token_urlsafe(24)}",
            refresh_token=f"rt.{secrets.token_urlsafe(24)}",
            scope=" ".join(dict.fromkeys(granted)),
            expires_at_ms=self.now_ms() + 1000 * (ttl or self.token_ttl),
            session_name=session_name,
            connection=None if session_name or not session.is_websocket else session.id,
        )
        if store:
            self.tokens[token.access_token] = token
            self.refresh_tokens[token.refresh_token] = token
            if len(self.refresh_tokens) > self._sweep_at:
                self._sweep_tokens()
        if session.is_websocket:
            session.auth = token
        return token

    def revoke(self, token: Token) -> None:
        self.tokens.pop(token.access_token, None)
        self.refresh_tokens.pop(token.refresh_token, None)

    def valid(self, token: Token | None, session: Session) -> Token:
        if token is None or token.access_token not in self.tokens:
            raise SimError(13009, "unauthorized")
        if token.expires_at_ms <= self.now_ms():
            raise SimError(13009, "unauthorized", {"reason": "token expired"})
        if token.connection is not None and token.connection != session.id:
            # Connection-scoped tokens are not valid on another connection (REFERENCE 6).
            raise SimError(13009, "unauthorized", {"reason": "connection scope"})
        return token

    def authorize(self, call: CallLike) -> Token:
        """Authenticate a private call: access_token param, the connection's auth, or an
        HTTP Authorization header (Bearer, Basic or deri-hmac-sha256)."""
        session = call.session
        given = call.params.pop("access_token", None)
        if isinstance(given, str):
            self.tokens_in_params += 1
            return self.valid(self.tokens.get(given), session)
        if session.is_websocket:
            if session.auth is None:
                raise SimError(10000, "authorization_required")
            return self.valid(session.auth, session)
        header = session.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme == "Bearer":
            return self.valid(self.tokens.get(value), session)
        if scheme == "Basic":
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
            if self.keys.get(client_id) != secret:
                raise SimError(13004, "invalid_credentials")
            return self.issue(client_id, None, "client_credentials", session, store=False)
        if scheme == "deri-hmac-sha256":
            return self._verify_http_signature(value, session)
        raise SimError(10000, "authorization_required")

    def _verify_http_signature(self, value: str, session: Session) -> Token:
        fields = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        client_id, ts, sig, nonce = (fields.get(k, "") for k in ("id", "ts", "sig", "nonce"))
        secret = self.keys.get(client_id)
        if secret is None or not ts.isdigit():
            raise SimError(13004, "invalid_credentials")
        self._check_timestamp(int(ts))
        request = session.request
        body = session.state.get("body", b"").decode()
        expected = _hex_hmac(
            secret, f"{ts}\n{nonce}\n{request.method.upper()}\n{request.path_qs}\n{body}\n"
        )
        if not hmac.compare_digest(expected, sig):
            raise SimError(13004, "invalid_credentials", {"reason": "bad signature"})
        return self.issue(client_id, None, "client_signature", session, store=False)

    def _check_timestamp(self, ts: int) -> None:
        if abs(ts - self.now_ms()) > _SIGNATURE_WINDOW_MS:
            raise SimError(13004, "invalid_credentials", {"reason": "timestamp out of window"})
