"""Simulator auth (all three grants, real signatures, expiry) and a small trading engine."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ._accounts import Token, Trading, ws_signature_ok
from ._logs import remember
from ._session import SimError, invalid_param, json_encode
from ._shaped import declared_params
from ._shapes import SCOPES
from ._state import Call, SimState, account_of
from ._streams import publish_to_account

__all__ = ["register"]


def _token_result(sim: SimState, token: Token, state: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "access_token": token.access_token,
        "token_type": "bearer",
        "expires_in": max(0, (token.expires_at_ms - sim.now_ms()) // 1000),
        "refresh_token": token.refresh_token,
        "scope": token.scope,
        "enabled_features": [],
    }
    if state is not None:
        result["state"] = state
    if token.session_name:
        result["sid"] = f"sid.{token.session_name}"
    return result


async def auth(call: Call) -> dict[str, Any]:
    state = call.param("state", str, None)  # checked before a token is issued
    token = _grant(call)
    await _log_access(call, token.client_id)
    return _token_result(call.sim, token, state)


async def _log_access(call: Call, client_id: str) -> None:
    """Record a login in the account's access log and publish it on ``user.access_log``."""
    account = call.sim.trading.account(client_id)
    entry = {
        "id": account.access_log[-1]["id"] + 1 if account.access_log else 1,
        "timestamp": call.sim.now_ms(),
        "result": "success",
        "log": "success",
        "ip": call.session.request.remote or "127.0.0.1",
        "country": "Local Country",
        "city": "Local Town",
    }
    remember(account.access_log, entry)
    await publish_to_account(call.sim, client_id, "user.access_log", entry)


def get_access_log(call: Call) -> dict[str, Any]:
    """The account's logins, newest first, paged by ``offset`` and ``count``."""
    params = declared_params(call)
    log = account_of(call).access_log
    offset, count = params.get("offset", 0), params.get("count", 10)
    newest_first = log[::-1]
    return {"records_total": len(log), "data": newest_first[offset : offset + count]}


def _grant(call: Call) -> Token:
    trading: Trading = call.sim.trading
    grant = call.param("grant_type")
    scope = call.param("scope", str, None)
    remember(trading.auth_grants, grant)
    if grant == "client_credentials":
        client_id = call.param("client_id")
        secret = trading.secret(client_id)
        if secret is None or secret != call.param("client_secret"):
            raise SimError(13004, "invalid_credentials")
        token = trading.issue(client_id, scope, grant, call.session)
    elif grant == "client_signature":
        client_id = call.param("client_id")
        timestamp = call.param("timestamp", int)
        signature = call.param("signature")
        nonce = call.param("nonce", str, "")
        data = call.param("data", str, "")
        secret = trading.secret(client_id)
        if secret is None:
            raise SimError(13004, "invalid_credentials")
        trading._check_timestamp(timestamp)
        if (client_id, nonce) in trading.used_nonces:
            raise SimError(13004, "invalid_credentials", {"reason": "nonce already used"})
        if not ws_signature_ok(secret, timestamp, nonce, data, signature):
            raise SimError(13004, "invalid_credentials", {"reason": "bad signature"})
        trading.use_nonce(client_id, nonce, timestamp)
        token = trading.issue(client_id, scope, grant, call.session)
    elif grant == "refresh_token":
        old = trading.refresh_tokens.get(call.param("refresh_token"))
        if old is None:
            raise SimError(13009, "unauthorized")
        # Refreshing issues a new token and invalidates the old one (REFERENCE 2.2); it
        # keeps the old scope (its session too) unless one is given.
        trading.revoke(old)
        scope = old.scope if scope is None else scope
        token = trading.issue(old.key, scope, grant, call.session, subject=old.client_id)
    else:
        raise invalid_param("grant_type")
    return token


def logout(call: Call) -> str:
    if not call.session.is_websocket:
        raise SimError(10030, "must_be_websocket_request")
    if call.param("invalidate_token", bool, True):
        call.sim.trading.revoke(call.token)
    call.session.state["logged_out"] = True  # no cancel-on-disconnect (REFERENCE 2.3)
    call.close_after = True
    return "ok"


def exchange_token(call: Call) -> dict[str, Any]:
    """A token for ``subject_id``: the main account or one of its subaccounts, from a
    refresh token of any of them (``13009`` for another user)."""
    trading: Trading = call.sim.trading
    old = trading.refresh_tokens.get(call.param("refresh_token"))
    subject_id = call.param("subject_id", int)
    if old is None:
        raise SimError(13009, "unauthorized")
    holder = trading.account(old.client_id)
    main = trading.account(holder.main) if holder.main is not None else holder
    if subject_id != main.user_id and subject_id not in main.subaccounts:
        raise SimError(13009, "unauthorized", {"reason": f"user {subject_id} is not yours"})
    subject = main.member(subject_id)
    scope = call.param("scope", str, None)
    if scope is None:
        trading.revoke(old)  # since May 2025 (REFERENCE 2.3)
    # An explicit scope gives a token without mainaccount (REFERENCE 2.3).
    token = trading.issue(old.key, scope, "refresh_token", call.session,
                          subject=subject.client_id, mainaccount=scope is None)  # fmt: skip
    return _token_result(call.sim, token)


def fork_token(call: Call) -> dict[str, Any]:
    trading: Trading = call.sim.trading
    old = trading.refresh_tokens.get(call.param("refresh_token"))
    name = call.param("session_name")
    if old is None or old.session_name is None:
        raise SimError(13009, "unauthorized", {"reason": "needs a session-scoped token"})
    token = trading.issue(
        old.key, f"session:{name}", "refresh_token", call.session, subject=old.client_id
    )
    return _token_result(call.sim, token)


_KEY_MANAGEMENT = frozenset(m for m in SCOPES if "api_key" in m)


def authorize(call: Call) -> Token:
    """Authenticate a private call and check that its token's scope covers the method:
    13021 forbidden otherwise (13403 scope_exceeded for API key management)."""
    token = call.sim.trading.authorize(call)
    required = SCOPES.get(call.method)
    if required is not None and required.startswith("trade:") and call.params.get("block_rfq"):
        # Block RFQ MMP settings need block_rfq scope instead of trade (the MMP methods).
        required = required.replace("trade:", "block_rfq:")
    if required is not None and not token.allows(required):
        code, message = (
            (13403, "scope_exceeded") if call.method in _KEY_MANAGEMENT else (13021, "forbidden")
        )
        raise SimError(code, message, {"reason": f"needs scope {required}"})
    return token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def get_jwt(call: Call) -> str:
    """A JSON Web Token (HS256, signed with the simulator's own key) naming the user and
    expiring with the access token of the call."""
    account = account_of(call)
    header = _b64(json_encode({"alg": "HS256", "typ": "JWT"}))
    claims = {"exp": call.token.expires_at_ms // 1000, "guid": account.user_id,
              "email": f"{account.client_id}@simulator.invalid",
              "display_name": account.client_id}  # fmt: skip
    signed = f"{header}.{_b64(json_encode(claims))}"
    signature = hmac.new(call.sim.trading.jwt_key, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_b64(signature)}"


def register(sim: SimState) -> None:
    """Install the authentication handlers on ``sim``."""
    sim.authorize = authorize
    sim.methods.update(
        {
            "public/auth": auth,
            "public/exchange_token": exchange_token,
            "public/fork_token": fork_token,
            "private/logout": logout,
            "private/get_access_log": get_access_log,
            "private/get_jwt": get_jwt,
        }
    )
