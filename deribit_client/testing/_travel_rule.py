"""Simulator handlers for the travel rule: beneficiaries of withdrawal addresses (save,
get, delete, list) and the originator of a deposit held for clearance
(``set_clearance_originator``, which completes and credits it)."""

from __future__ import annotations

import operator
from typing import Any

from ._session import SimError, invalid_param
from ._shaped import declared_params
from ._state import Call, SimState, account_of

__all__ = ["register"]

_BENEFICIARY = ("agreed", "personal", "unhosted", "beneficiary_vasp_name",
                "beneficiary_vasp_did", "beneficiary_vasp_website", "beneficiary_first_name",
                "beneficiary_last_name", "beneficiary_company_name",
                "beneficiary_address")  # fmt: skip
MAX_BENEFICIARIES = 1_000
"""Beneficiaries per account before ``11093 max_addr_count_exceeded``."""


def _key(params: dict[str, Any]) -> tuple[str, str, str]:
    return params["currency"].upper(), params["address"], params.get("tag", "")


def save_address_beneficiary(call: Call) -> dict[str, Any]:
    """Create or replace the beneficiary of an address (``created`` is kept on replace)."""
    params = declared_params(call)
    account = account_of(call)
    key = _key(params)
    now = call.sim.now_ms()
    old = account.beneficiaries.get(key)
    if old is None and len(account.beneficiaries) >= MAX_BENEFICIARIES:
        raise SimError(11093, "max_addr_count_exceeded")
    record = {"currency": key[0], "address": key[1], **({"tag": key[2]} if key[2] else {}),
              "user_id": account.user_id,
              **{name: params[name] for name in _BENEFICIARY if name in params},
              "created": old["created"] if old else now, "updated": now}  # fmt: skip
    account.beneficiaries[key] = record
    return record


def _beneficiary(call: Call) -> tuple[tuple[str, str, str], dict[str, Any]]:
    params = declared_params(call)
    key = _key(params)
    record = account_of(call).beneficiaries.get(key)
    if record is None:
        raise SimError(13020, "not_found", {"reason": "no beneficiary for this address"})
    return key, record


def get_address_beneficiary(call: Call) -> dict[str, Any]:
    return _beneficiary(call)[1]


def delete_address_beneficiary(call: Call) -> str:
    key, _ = _beneficiary(call)
    del account_of(call).beneficiaries[key]
    return "ok"


# list_address_beneficiaries: time filters compare a record's member; the other filters
# must equal the member of their own name.
_TIME_FILTERS = {
    "created_before": ("created", operator.lt),
    "created_after": ("created", operator.gt),
    "updated_before": ("updated", operator.lt),
    "updated_after": ("updated", operator.gt),
}
_EQUAL_FILTERS = (
    "currency",
    "address",
    "tag",
    "personal",
    "unhosted",
    "beneficiary_vasp_name",
    "beneficiary_vasp_did",
    "beneficiary_vasp_website",
)


def _matches(record: dict[str, Any], params: dict[str, Any]) -> bool:
    for name, (member, compare) in _TIME_FILTERS.items():
        if name in params and not compare(record[member], params[name]):
            return False
    wanted = {name: params[name] for name in _EQUAL_FILTERS if name in params}
    if "currency" in wanted:
        wanted["currency"] = wanted["currency"].upper()
    return all(record.get(name) == value for name, value in wanted.items())


def list_address_beneficiaries(call: Call) -> dict[str, Any]:
    """Beneficiaries matching every filter given, oldest first, ``limit`` per page;
    ``continuation`` (the position to go on from) is set while more remain, and
    ``count`` is the number of matches."""
    params = declared_params(call)
    matches = [r for r in account_of(call).beneficiaries.values() if _matches(r, params)]
    token = params.get("continuation")
    if token is not None and not token.isdigit():
        raise invalid_param("continuation", "not a continuation this method returned")
    start = int(token or 0)
    end = start + params.get("limit", 100)
    return {"data": matches[start:end], "count": len(matches),
            "continuation": str(end) if end < len(matches) else None}  # fmt: skip


def _check_originator(originator: dict[str, Any]) -> None:
    """A person needs a first and last name, a company its name; both an address."""
    personal = originator.get("is_personal")
    if not isinstance(personal, bool):
        raise invalid_param("originator", "is_personal (boolean) is required")
    needed = ("first_name", "last_name") if personal else ("company_name",)
    for name in (*needed, "address"):
        if not isinstance(originator.get(name), str) or not originator[name]:
            raise invalid_param("originator", f"{name} is required")


def set_clearance_originator(call: Call) -> dict[str, Any]:
    """Name the originator of a deposit waiting for it (``clearance_state``
    ``pending_user_input``): the deposit completes and is credited. The deposit is found
    by ``deposit_id`` ``{currency, user_id, address, tx_hash}``; ``13020`` if there is
    none, ``11029`` if it is not waiting for an originator."""
    params = declared_params(call)
    wanted, originator = params["deposit_id"], params["originator"]
    account = account_of(call)
    for name in ("currency", "address", "tx_hash"):
        if not isinstance(wanted.get(name), str):
            raise invalid_param("deposit_id", f"{name} is required")
    _check_originator(originator)
    deposit = next(
        (d for d in account.deposits
         if (d["currency"], d["address"], d["transaction_id"])
         == (wanted["currency"].upper(), wanted["address"], wanted["tx_hash"])
         and wanted.get("user_id", account.user_id) == account.user_id),
        None,
    )  # fmt: skip
    if deposit is None:
        raise SimError(13020, "not_found", {"reason": "no such deposit"})
    if deposit["clearance_state"] != "pending_user_input":
        raise SimError(11029, "invalid_arguments", {"reason": "the deposit needs no originator"})
    account.clear_deposit(deposit, call.sim.now_ms())
    return {**deposit, "user_id": account.user_id}


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    for fn in (
        save_address_beneficiary,
        get_address_beneficiary,
        delete_address_beneficiary,
        list_address_beneficiaries,
        set_clearance_originator,
    ):
        sim.methods[f"private/{fn.__name__}"] = fn
