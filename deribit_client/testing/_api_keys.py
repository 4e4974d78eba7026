"""Simulator API key management: keys an account creates log in to that account, capped by
their ``max_scope``; disabling, resetting or removing a key ends its tokens."""

from __future__ import annotations

import re
import secrets
from typing import Any

from ._accounts import ApiKey, Trading, max_scope
from ._session import SimError, invalid_param
from ._shaped import declared_params
from ._state import Call, SimState

__all__ = ["register"]

MAX_KEYS = 8
"""API keys per account (REFERENCE 9)."""
_NAME = re.compile(r"[A-Za-z0-9_ ]{0,16}")
"""Key names: letters, numbers and underscores (the spec), and spaces (its example)."""
_FEATURES = frozenset({"restricted_block_trades", "block_trade_approval"})


def _keys(call: Call) -> list[ApiKey]:
    owner = call.token.client_id
    return sorted(
        (k for k in call.sim.trading.api_keys.values() if k.owner == owner), key=lambda k: k.id
    )


def _key(call: Call, params: dict[str, Any]) -> ApiKey:
    """The caller's key named by the ``id`` param (13020 for another account's key)."""
    key = next((k for k in _keys(call) if k.id == params["id"]), None)
    if key is None:
        raise SimError(13020, "not_found", {"reason": f"no API key with id {params['id']}"})
    return key


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    """The key settings among ``params``, checked: -32602 names a bad one."""
    out: dict[str, Any] = {}
    if "max_scope" in params:
        try:
            out["max_scope"] = max_scope(params["max_scope"])
        except ValueError as exc:
            raise invalid_param("max_scope", str(exc)) from None
    if "name" in params:
        if not _NAME.fullmatch(params["name"]):
            raise invalid_param("name", "letters, numbers, underscores and spaces, at most 16")
        out["name"] = params["name"]
    if "enabled_features" in params:
        unknown = set(params["enabled_features"]) - _FEATURES
        if unknown:
            raise invalid_param("enabled_features", f"unknown {sorted(unknown)}")
        out["enabled_features"] = list(params["enabled_features"])
    if "ip_whitelist" in params:
        out["ip_whitelist"] = [str(ip) for ip in params["ip_whitelist"]]
    return out


def create_api_key(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    if len(_keys(call)) >= MAX_KEYS:
        raise SimError(10001, "error", {"reason": f"at most {MAX_KEYS} API keys per account"})
    trading: Trading = call.sim.trading
    key = trading.add_key(
        secrets.token_urlsafe(6),
        secrets.token_urlsafe(32),
        owner=call.token.client_id,
        public_key=params.get("public_key"),
        **_settings(params),
    )
    return key.record()


def list_api_keys(call: Call) -> list[dict[str, Any]]:
    return [key.record() for key in _keys(call)]


def edit_api_key(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    key = _key(call, params)
    for name, value in _settings(params).items():
        setattr(key, name, value)
    if "enabled" in params:
        _enable(call.sim.trading, key, params["enabled"])
    return key.record()


def change_api_key_name(call: Call) -> dict[str, Any]:
    return edit_api_key(call)


def change_scope_in_api_key(call: Call) -> dict[str, Any]:
    return edit_api_key(call)


def _enable(trading: Trading, key: ApiKey, enabled: bool) -> None:
    key.enabled = enabled
    if not enabled:
        trading.revoke_key(key)


def enable_api_key(call: Call) -> dict[str, Any]:
    key = _key(call, declared_params(call))
    _enable(call.sim.trading, key, True)
    return key.record()


def disable_api_key(call: Call) -> dict[str, Any]:
    key = _key(call, declared_params(call))
    _enable(call.sim.trading, key, False)
    return key.record()


def reset_api_key(call: Call) -> dict[str, Any]:
    """A new secret; the old one, and the tokens it issued, stop working."""
    key = _key(call, declared_params(call))
    key.client_secret = secrets.token_urlsafe(32)
    call.sim.trading.revoke_key(key)
    return key.record()


def remove_api_key(call: Call) -> str:
    key = _key(call, declared_params(call))
    trading: Trading = call.sim.trading
    del trading.api_keys[key.client_id]
    trading.revoke_key(key)
    return "ok"


def register(sim: SimState) -> None:
    """Install the API key handlers on ``sim``."""
    for handler in (
        create_api_key,
        list_api_keys,
        edit_api_key,
        change_api_key_name,
        change_scope_in_api_key,
        enable_api_key,
        disable_api_key,
        reset_api_key,
        remove_api_key,
    ):
        sim.methods[f"private/{handler.__name__}"] = handler
