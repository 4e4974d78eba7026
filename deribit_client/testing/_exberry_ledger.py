"""The Exberry simulator's ledger (S1 ``other/business-features/ledger``): participants'
ledger accounts hold assets; ``accountBalance`` streams an account's balances (a
snapshot, then the whole list again at each change); transaction requests deposit and
withdraw through the documented workflow (``Instructed`` -> ``InProcess`` -> ``Settled``,
or ``Cancelled``), the operator's steps being the test's (:meth:`LedgerDesk.approve`,
:meth:`LedgerDesk.settle`, :meth:`LedgerDesk.reject`).

Amounts are kept exact (``Decimal``); the documentation's samples send numbers and ids as
text (``"amount": "1"``, ``"assetId": "10"``) where its tables say numbers: both are
taken. A withdrawal reserves its amount from the moment it is instructed (``2000`` if
the account lacks it) until it settles or is cancelled: the venue's own timing is not
documented.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ._exberry_rules import Fail, public, report_times
from ._logs import forget_closed

__all__ = ["ASSETS", "Asset", "LedgerDesk"]


@dataclass(frozen=True)
class Asset:
    """An asset of the ledger; ``cash`` ones need no asset details to deposit."""

    assetId: int
    assetName: str
    transactionUnits: str
    cash: bool = True


ASSETS = (
    Asset(44, "USD", "USD"),
    Asset(85, "EUR", "EUR"),
    Asset(10, "GOLD", "oz", cash=False),
    Asset(97, "Silver", "oz", cash=False),
)
"""The simulator's assets (the accountBalance sample's)."""

_TYPES = ("Deposit", "Withdrawal")
_OPEN = ("Instructed", "InProcess")


@dataclass
class _Account:
    ledger_account_id: int
    name: str
    mp: str
    available: dict[int, Decimal] = field(default_factory=dict)
    reserved: dict[int, Decimal] = field(default_factory=dict)


class LedgerDesk:
    """The ledger of one simulator (``sim.ledger``). Open accounts with
    :meth:`open_account` (the venue's operators do it); ``on_change`` hears the ledger
    account whose balances moved."""

    def __init__(
        self,
        on_change: Callable[[int], None],
        now_ns: Callable[[], int],
        participant: Callable[[str], Any],
        history: int,
    ) -> None:
        self.assets = {a.assetId: a for a in ASSETS}
        self.accounts: dict[int, _Account] = {}
        """By ledger account id."""
        self.trading_accounts: dict[tuple[str, int], int | None] = {}
        """(participant, trading accountId) -> its ledger account (None: not configured)."""
        self.requests: dict[int, dict[str, Any]] = {}
        """Transaction requests by id."""
        self._on_change, self._now_ns, self._participant = on_change, now_ns, participant
        self._history = history
        self._ids = itertools.count(1)

    def open_account(
        self,
        mp: str,
        ledger_account_id: int,
        *,
        account_id: int | None = None,
        balances: Mapping[int, float | str] | None = None,
        name: str | None = None,
    ) -> None:
        """Give participant ``mp`` ledger account ``ledger_account_id`` holding
        ``balances`` (assetId -> available amount), linked to trading account
        ``account_id`` (what ``accountBalance`` names)."""
        if ledger_account_id in self.accounts:
            raise ValueError(f"ledger account {ledger_account_id} exists")
        unknown = set(balances or ()) - set(self.assets)
        if unknown:
            raise ValueError(f"unknown assets {sorted(unknown)}; known: {sorted(self.assets)}")
        account = _Account(ledger_account_id, name or f"Acc{ledger_account_id}", mp)
        account.available = {a: Decimal(str(v)) for a, v in (balances or {}).items()}
        self.accounts[ledger_account_id] = account
        if account_id is not None:
            self.trading_accounts[(mp, account_id)] = ledger_account_id

    # -- accountBalance -------------------------------------------------------------------

    def subscribe(self, mp: str, d: dict[str, Any]) -> int:
        """``accountBalance``'s ``accountId``: the ledger account to stream (``1032``
        unknown, ``2000`` without a ledger account)."""
        account_id = _ident(d, "accountId", 1001, "Wrong accountId format")
        if (mp, account_id) not in self.trading_accounts:
            raise Fail(1032, "Account not found")
        ledger_account_id = self.trading_accounts[(mp, account_id)]
        if ledger_account_id is None:
            raise Fail(2000, "Ledger account not configured for selected trading account")
        return ledger_account_id

    def snapshot(self, ledger_account_id: int) -> dict[str, Any]:
        """The account's balances, one entry per asset it has held."""
        account = self.accounts[ledger_account_id]
        held = sorted(set(account.available) | set(account.reserved))
        balances = []
        for asset_id in held:
            asset = self.assets[asset_id]
            available = account.available.get(asset_id, Decimal(0))
            reserved = account.reserved.get(asset_id, Decimal(0))
            balances.append({
                "assetId": asset_id, "assetName": asset.assetName,
                "availableBalance": _number(available), "reservedBalance": _number(reserved),
                "totalBalance": _number(available + reserved),
                "transactionUnits": asset.transactionUnits,
            })  # fmt: skip
        return {"balances": balances}

    # -- transaction requests -------------------------------------------------------------

    def create_transaction_request(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``createTransactionRequest``: a ``Deposit`` or ``Withdrawal`` of ``amount`` of
        ``assetId`` on the participant's ``ledgerAccountId``, with the attachment ids the
        asset's kind requires or forbids; ``{"id", "status": "Instructed"}`` (the id as
        text, as the sample has it)."""
        kind = d.get("type")
        if kind not in _TYPES:
            raise Fail(100, "Missing or invalid parameter: type")
        account = self.accounts.get(_ident(d, "ledgerAccountId"))
        if account is None or account.mp != mp:
            raise Fail(1032, "Ledger Account not found")
        asset = self.assets.get(_ident(d, "assetId"))
        if asset is None:
            raise Fail(100, "Missing or invalid parameter: assetId")
        amount = _amount(d)
        description = d.get("description")
        if description is not None and not isinstance(description, str):
            raise Fail(100, "Missing or invalid parameter: description")
        # Which attachments a request takes (the documentation's table).
        rules = {
            "instructionDetailsId": "optional" if asset.cash else "required",
            "assetDetailsId": "required" if not asset.cash and kind == "Deposit" else "no",
        }
        if asset.cash and kind == "Withdrawal":
            rules["instructionDetailsId"] = "no"
        for name, rule in rules.items():
            given = d.get(name)
            if (given is None and rule == "required") or (given is not None and rule == "no"):
                raise Fail(100, f"Missing or invalid parameter: {name}")
            if given is not None and not isinstance(given, str):
                raise Fail(100, f"Missing or invalid parameter: {name}")
        if kind == "Withdrawal":
            self._move(account, asset, -amount, +amount)  # held until settled or cancelled
        if len(self.requests) >= 2 * self._history:  # in batches: amortised O(1)
            forget_closed(self.requests, lambda r: r["status"] not in _OPEN, self._history)
        who, now = self._participant(mp), self._now_ns()
        ident = next(self._ids)
        self.requests[ident] = {
            "id": ident, "type": kind, "mpId": who.mp_id, "mpName": who.mp_name,
            "status": "Instructed", "ledgerAccountId": account.ledger_account_id,
            "ledgerAccountName": account.name, "assetId": asset.assetId,
            "assetName": asset.assetName, "amount": amount, "units": asset.transactionUnits,
            "description": description, "instructionDetailsId": d.get("instructionDetailsId"),
            "assetDetailsId": d.get("assetDetailsId"), "_mp": mp, "_created": now,
            "_last_event": now,
        }  # fmt: skip
        return [{"id": str(ident), "status": "Instructed"}]

    def cancel_transaction_request(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``cancelTransactionRequest``: the participant's own, while ``Instructed``
        (no reply body: the ``sig: 1`` alone)."""
        request = self.requests.get(_ident(d, "id"))
        if request is None or request["_mp"] != mp:
            raise Fail(101, "Transaction Request not found")
        if request["status"] != "Instructed":
            raise Fail(
                100, f"Missing or invalid parameter: id (the request is {request['status']})"
            )
        self._close(request, "Cancelled")
        return []

    def approve(self, ident: int) -> None:
        """The operator approves an ``Instructed`` request (``InProcess``)."""
        self._step(ident, ("Instructed",), "InProcess")

    def settle(self, ident: int) -> None:
        """The operator marks an ``InProcess`` request settled: a deposit credits the
        account, a withdrawal's reserved amount leaves it."""
        self._step(ident, ("InProcess",), "Settled")

    def reject(self, ident: int) -> None:
        """The operator cancels an open request (a withdrawal's amount is released)."""
        self._step(ident, _OPEN, "Cancelled")

    def report_requests(self, mp: str) -> list[dict[str, Any]]:
        """The participant's transaction requests as reporting rows (for ``_page``)."""
        return [
            {**public(r), "amount": _number(r["amount"]),
             **report_times(r["_created"], r["_last_event"])}
            for r in self.requests.values() if r["_mp"] == mp
        ]  # fmt: skip

    # -- internals ------------------------------------------------------------------------

    def _step(self, ident: int, sources: tuple[str, ...], target: str) -> None:
        request = self.requests.get(ident)
        if request is None or request["status"] not in sources:
            state = "unknown" if request is None else request["status"]
            raise ValueError(f"transaction request {ident} is {state}, not {' or '.join(sources)}")
        self._close(request, target)

    def _close(self, request: dict[str, Any], status: str) -> None:
        """Move ``request`` to ``status``, with what that does to the balances."""
        account = self.accounts[request["ledgerAccountId"]]
        asset, amount = self.assets[request["assetId"]], request["amount"]
        if request["type"] == "Withdrawal" and status == "Cancelled":
            self._move(account, asset, +amount, -amount)
        elif request["type"] == "Withdrawal" and status == "Settled":
            self._move(account, asset, 0, -amount)
        elif status == "Settled":
            self._move(account, asset, +amount, 0)
        request["status"], request["_last_event"] = status, self._now_ns()

    def _move(self, account: _Account, asset: Asset, available: Decimal | int,
              reserved: Decimal | int) -> None:  # fmt: skip
        """Add ``available`` and ``reserved`` to ``account``'s ``asset`` (``2000`` if
        that would leave less than nothing available) and tell ``on_change``."""
        have = account.available.get(asset.assetId, Decimal(0))
        if have + available < 0:
            short = _number(-(have + available))
            raise Fail(2000, f"Insufficient balance: {short} {asset.transactionUnits} of "
                             f"{asset.assetName} are missing")  # fmt: skip
        account.available[asset.assetId] = have + available
        held = account.reserved.get(asset.assetId, Decimal(0))
        account.reserved[asset.assetId] = held + reserved
        self._on_change(account.ledger_account_id)


def _ident(d: dict[str, Any], name: str, code: int = 100, message: str | None = None) -> int:
    """An id the tables type Int and the samples send as digit text: either."""
    value = d.get(name)
    if type(value) is int and value > 0:
        return value
    if isinstance(value, str) and value.isdigit() and value.isascii() and int(value) > 0:
        return int(value)
    raise Fail(code, message or f"Missing or invalid parameter: {name}")


def _amount(d: dict[str, Any]) -> Decimal:
    """``amount``: a positive number, or its text (the sample's ``"1"``)."""
    value = d.get("amount")
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidOperation
        amount = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        raise Fail(100, "Missing or invalid parameter: amount") from None
    if not amount.is_finite() or amount <= 0:
        raise Fail(100, "Missing or invalid parameter: amount")
    return amount


def _number(value: Decimal) -> int | float:
    """An exact amount as JSON writes it: whole ones without a fraction."""
    return int(value) if value == value.to_integral_value() else float(value)
