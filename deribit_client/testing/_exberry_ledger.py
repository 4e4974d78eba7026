"""The Exberry simulator's ledger (S1 ``other/business-features/ledger``): participants'
ledger accounts hold assets; ``accountBalance`` streams an account's balances (a
snapshot, then the whole list again at each change); transaction requests deposit and
withdraw through the documented workflow (``Instructed`` -> ``InProcess`` -> ``Settled``,
or ``Cancelled``), the operator's steps being the test's (:meth:`LedgerDesk.approve`,
:meth:`LedgerDesk.settle`, :meth:`LedgerDesk.reject`). Alleged transfers settle when both
sides have reported matching terms (``Instructed`` -> ``Settled``, or ``Cancelled`` by
their reporter, the operator or the end of the day); cash transfers move at once. Every
movement is a ledger transaction (``mp/transactions``), and :meth:`LedgerDesk.end_of_day`
records the holdings ``mp/holdingsSummary`` reports.

Trading moves the ledger on the instruments a test settles there
(:meth:`LedgerDesk.settle_trades`; the instrument-to-asset mapping is the venue operator's and
undocumented): an order is placed for a trading account linked to a ledger account
(``2000`` "Ledger account not configured for selected trading account" otherwise) and
holds what it may deliver while it is open (:meth:`LedgerDesk.hold`: a sell its
quantity of the base asset, a buy its quantity times its limit price of the quote
asset; ``2000`` "Insufficient balance" when the account lacks it); each trade releases
what it used and moves both sides' assets (:meth:`LedgerDesk.trade`: ``Trade``
transactions described ``<instrument>|trade|<tradeId>``, as in the ``mp/transactions``
sample).

Amounts are kept exact (``Decimal``); the documentation's samples send numbers and ids as
text (``"amount": "1"``, ``"assetId": "10"``) where its tables say numbers: both are
taken. A withdrawal reserves its amount from the moment it is instructed (``2000`` if
the account lacks it) until it settles or is cancelled, and an alleged transfer its
sending assets until it settles or is cancelled: the venue's own timing is not
documented. Neither is the cash transfer's page (only its samples): here it moves cash
assets from one's own ledger account to any other.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar

from ._exberry_rules import (
    Fail,
    Participant,
    Types,
    exact_number,
    iso,
    public,
    report_day,
    report_times,
    typed,
)
from ._logs import forget_closed

__all__ = [
    "ASSETS",
    "REQUEST_STATUSES",
    "TRANSACTION_TYPES",
    "TRANSFER_STATUSES",
    "Asset",
    "LedgerDesk",
    "Leg",
    "Settlement",
    "account_filtered",
]


@dataclass(frozen=True)
class Asset:
    """An asset of the ledger; ``cash`` ones need no asset details to deposit. A
    transfer moves at least ``minTransfer`` of it, in steps of ``transferIncrement``."""

    assetId: int
    assetName: str
    transactionUnits: str
    cash: bool = True
    minTransfer: Decimal = Decimal("0.01")
    transferIncrement: Decimal = Decimal("0.01")


@dataclass(frozen=True)
class Settlement:
    """How an instrument's trades settle: its quantity in ``base``, quantity times price
    in ``quote``."""

    base: Asset
    quote: Asset


class Leg(NamedTuple):
    """One side of a trade in the ledger: the order, the ledger account it trades for,
    and what the order still holds after the trade."""

    order_id: int
    ledger_account_id: int
    held: Decimal


_OUNCE = Decimal("0.001")
ASSETS = (
    Asset(44, "USD", "USD"),
    Asset(85, "EUR", "EUR"),
    Asset(10, "GOLD", "oz", cash=False, minTransfer=_OUNCE, transferIncrement=_OUNCE),
    Asset(97, "Silver", "oz", cash=False, minTransfer=_OUNCE, transferIncrement=_OUNCE),
)
"""The simulator's assets (the accountBalance sample's; the samples move gold in
thousandths of an ounce, cash in cents)."""

_TYPES = ("Deposit", "Withdrawal")
_OPEN = ("Instructed", "InProcess")
REQUEST_STATUSES = (*_OPEN, "Settled", "Cancelled")
"""A transaction request's statuses (``mp/transactionRequests``' ``statuses``)."""
TRANSFER_STATUSES = ("Instructed", "Settled", "Cancelled")
"""An alleged transfer's statuses (``mp/allegedTransfers``' ``statuses``)."""
_LEGS = {
    "DvP": (True, True), "RvP": (True, True), "FoP": (True, False),
    "FoP_Receive": (False, True), "DvD": (True, True),
}  # fmt: skip
"""Alleged transfer types and whether they send and receive assets."""
_MATCHES = {"DvP": "RvP", "RvP": "DvP", "FoP": "FoP_Receive", "FoP_Receive": "FoP", "DvD": "DvD"}
"""The counterparty's type of a matching alleged transfer."""
_RESERVATIONS = ("ReserveBalance", "ReleaseBalance")
"""Transaction types ``mp/transactions`` leaves out unless asked for."""
TRANSACTION_TYPES = (
    "Deposit", "Withdrawal", "Adjustment", "Trade", "DvP", "RvP", "FoP", "CashTransfer", "DvD",
    *_RESERVATIONS,
)  # fmt: skip
"""``mp/transactions``' types (its ``transactionTypes``)."""

P = ParamSpec("P")
R = TypeVar("R")


def _publishes(
    method: Callable[Concatenate[LedgerDesk, P], R],
) -> Callable[Concatenate[LedgerDesk, P], R]:
    """Tell ``on_change`` once per account an operation moved, after it (an operation
    that moves several assets sends one balance update, not one per asset)."""

    @functools.wraps(method)
    def run(self: LedgerDesk, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        finally:
            moved, self._moved = self._moved, set()
            for ledger_account_id in sorted(moved):
                self._on_change(ledger_account_id)

    return run


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
    account whose balances moved; ``known`` is the simulator's participants by session
    key (a counterparty must be one of them)."""

    def __init__(
        self,
        on_change: Callable[[int], None],
        now_ns: Callable[[], int],
        participant: Callable[[str], Participant],
        known: Mapping[str, Participant],
        history: int,
        instruments: Mapping[str, object],
        open_orders: Callable[[str], int],
        strategic: Collection[str],
    ) -> None:
        self.assets = {a.assetId: a for a in ASSETS}
        self.settlements: dict[str, Settlement] = {}
        """Instruments whose trades the ledger settles (:meth:`settle_trades`), by symbol."""
        self.holds: dict[int, tuple[int, int, Decimal]] = {}
        """What open orders hold: orderId -> (ledger account, asset, amount)."""
        self.accounts: dict[int, _Account] = {}
        """By ledger account id."""
        self.trading_accounts: dict[tuple[str, int], int | None] = {}
        """(participant, trading accountId) -> its ledger account (None: not configured)."""
        self.requests: dict[int, dict[str, Any]] = {}
        """Transaction requests by id."""
        self.transfers: dict[int, dict[str, Any]] = {}
        """Alleged transfers by ``allegedTransferId``."""
        self.transactions: deque[dict[str, Any]] = deque(maxlen=history)
        """Ledger transactions, oldest first (``mp/transactions`` rows)."""
        self.holdings: deque[tuple[str, int, int, Decimal]] = deque(maxlen=history)
        """End-of-day holdings: (date, ledger account, asset, total balance)."""
        self._on_change, self._now_ns, self._participant = on_change, now_ns, participant
        self._known, self._instruments, self._open_orders = known, instruments, open_orders
        self._strategic = strategic  # strategy instruments and their legs: never settled
        self._history = history
        self._ids = itertools.count(1)
        self._transfer_ids = itertools.count(1)
        self._transaction_ids = itertools.count(1)
        self._link_ids = itertools.count(1)
        self._moved: set[int] = set()  # accounts to tell on_change about (``_publishes``)

    def open_account(
        self,
        mp: str,
        ledger_account_id: int,
        *,
        account_id: int | None = None,
        balances: Mapping[int | str, float | str] | None = None,
        name: str | None = None,
    ) -> None:
        """Give participant ``mp`` ledger account ``ledger_account_id`` holding
        ``balances`` (asset, by assetId or name -> available amount), linked to trading
        account ``account_id`` (what ``accountBalance`` names). ``ValueError`` names
        what it cannot take."""
        for label, ident in (("ledger_account_id", ledger_account_id), ("account_id", account_id)):
            if (ident is not None or label == "ledger_account_id") and (
                type(ident) is not int or ident < 1
            ):
                raise ValueError(f"{label} must be a positive int, not {ident!r}")
        if ledger_account_id in self.accounts:
            raise ValueError(f"ledger account {ledger_account_id} exists")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"name must be text, not {name!r}")
        if not isinstance(balances, Mapping | None):
            raise ValueError(f"balances must map assets to amounts, not {balances!r}")
        available = {}
        for key, amount in (balances or {}).items():
            asset = self.asset(key)
            available[asset.assetId] = _balance(asset, amount)
        account = _Account(ledger_account_id, name or f"Acc{ledger_account_id}", mp)
        account.available = available
        self.accounts[ledger_account_id] = account
        if account_id is not None:
            self.trading_accounts[(mp, account_id)] = ledger_account_id

    def asset(self, key: int | str) -> Asset:
        """An asset by assetId (a number or its text) or name; ``ValueError`` naming the
        known ones otherwise."""
        for asset in self.assets.values():
            names = (asset.assetId, str(asset.assetId), asset.assetName)
            if not isinstance(key, bool) and key in names:
                return asset
        known = ", ".join(f"{a.assetId} {a.assetName}" for a in self.assets.values())
        raise ValueError(f"unknown asset {key!r}; known: {known}")

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
                "availableBalance": exact_number(available),
                "reservedBalance": exact_number(reserved),
                "totalBalance": exact_number(available + reserved),
                "transactionUnits": asset.transactionUnits,
            })  # fmt: skip
        return {"balances": balances}

    # -- transaction requests -------------------------------------------------------------

    @_publishes
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
        description = _text(d, "description", 100)
        # Which attachments a request takes (the documentation's table).
        rules = {
            "instructionDetailsId": "optional" if asset.cash else "required",
            "assetDetailsId": "required" if not asset.cash and kind == "Deposit" else "no",
        }
        if asset.cash and kind == "Withdrawal":
            rules["instructionDetailsId"] = "no"
        for name, rule in rules.items():
            given = _text(d, name, 100)
            if (given is None and rule == "required") or (given is not None and rule == "no"):
                raise Fail(100, f"Missing or invalid parameter: {name}")
        ident = next(self._ids)
        if kind == "Withdrawal":  # held until settled or cancelled
            self._move(account, asset, -amount, +amount, note=_held("withdrawal request", ident))
        if len(self.requests) >= 2 * self._history:  # in batches: amortised O(1)
            forget_closed(self.requests, lambda r: r["status"] not in _OPEN, self._history)
        who, now = self._participant(mp), self._now_ns()
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

    @_publishes
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

    @_publishes
    def approve(self, ident: int) -> None:
        """The operator approves an ``Instructed`` request (``InProcess``)."""
        self._step(ident, ("Instructed",), "InProcess")

    @_publishes
    def settle(self, ident: int) -> None:
        """The operator marks an ``InProcess`` request settled: a deposit credits the
        account, a withdrawal's reserved amount leaves it."""
        self._step(ident, ("InProcess",), "Settled")

    @_publishes
    def reject(self, ident: int) -> None:
        """The operator cancels an open request (a withdrawal's amount is released)."""
        self._step(ident, _OPEN, "Cancelled")

    # -- alleged transfers ----------------------------------------------------------------

    @_publishes
    def create_alleged_transfer(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``createAllegedTransfer``: the participant's side of a transfer with
        ``counterpartyMpId`` under ``externalId``; its sending assets are held from now
        on. It settles at once if the counterparty has reported the mirror image (the
        matching type, the same ``externalId``, its sending assets this one's receiving
        ones and the reverse): ``{"allegedTransferId", "status"}``, the id as text as
        the sample has it."""
        kind = d.get("type")
        if type(kind) is not str or kind not in _LEGS:
            raise Fail(1000, "Missing or invalid parameter: type")
        account = self._own_account(mp, d, "ledgerAccountId")
        external = d.get("externalId")
        external = str(external) if type(external) is int else external
        if not isinstance(external, str) or not external:
            raise Fail(1000, "Missing or invalid parameter: externalId")
        counterparty_id = _ident(d, "counterpartyMpId", 1000)
        counterparty = next((k for k, p in self._known.items() if p.mp_id == counterparty_id), None)
        if counterparty is None:
            raise Fail(1010, "counterpartyMpId not found")
        description = _text(d, "description")
        sending, receiving = self._assets(d, "sendingAssets"), self._assets(d, "receivingAssets")
        for name, given, needed in zip(
            ("sendingAssets", "receivingAssets"), (sending, receiving), _LEGS[kind], strict=True
        ):
            if bool(given) != needed:  # what a type sends and receives (FoP: nothing back)
                raise Fail(1000, f"Missing or invalid parameter: {name}")
        open_ = [t for t in self.transfers.values() if t["status"] == "Instructed"]
        match = next((
            t for t in open_
            if t["_mp"] == counterparty and t["_counterparty"] == mp
            and t["externalId"] == external and t["type"] == _MATCHES[kind]
            and t["_sending"] == receiving and t["_receiving"] == sending
        ), None)  # fmt: skip
        # One's own mirror image may share the id (a transfer between one's own accounts:
        # the reporting sample's 243 settled so).
        if any(t["_mp"] == mp and t["externalId"] == external for t in open_ if t is not match):
            raise Fail(1002, "externalId is already in use")
        if match is not None and match["ledgerAccountId"] == account.ledger_account_id:
            raise Fail(1020, "Both sides can't have the same ledgerAccountId")
        self._check_funds(account, sending)
        ident = next(self._transfer_ids)
        for asset_id, amount in sending:
            self._move(account, self.assets[asset_id], -amount, +amount,
                       note=_held("allegedTransfer", ident))  # fmt: skip
        if len(self.transfers) >= 2 * self._history:  # in batches: amortised O(1)
            forget_closed(self.transfers, lambda t: t["status"] != "Instructed", self._history)
        who, other, now = self._participant(mp), self._known[counterparty], self._now_ns()
        transfer = self.transfers[ident] = {
            "allegedTransferId": ident, "externalId": external, "type": kind,
            "status": "Instructed", "mpId": who.mp_id, "mpName": who.mp_name,
            "ledgerAccountId": account.ledger_account_id, "ledgerAccountName": account.name,
            "description": description, "counterpartyMpId": other.mp_id,
            "counterpartyMpName": other.mp_name,
            "cancelReason": None, "_mp": mp, "_counterparty": counterparty,
            "_sending": sending, "_receiving": receiving, "_created": now, "_last_event": now,
        }  # fmt: skip
        if match is not None:
            self._settle(transfer, match)
        return [{"allegedTransferId": str(ident), "status": transfer["status"]}]

    @_publishes
    def cancel_alleged_transfer(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``cancelAllegedTransfer``: the participant's own, while ``Instructed`` (no reply
        body); its sending assets are released."""
        transfer = self.transfers.get(_ident(d, "allegedTransferId"))
        if transfer is None or transfer["_mp"] != mp:
            raise Fail(1100, "Alleged transfer not found")
        if transfer["status"] != "Instructed":
            raise Fail(100, "Missing or invalid parameter: allegedTransferId (the alleged "
                            f"transfer is {transfer['status']})")  # fmt: skip
        self._cancel_transfer(transfer, "CancelRequest")
        return []

    @_publishes
    def cancel_transfer(self, ident: int) -> None:
        """The operator cancels an ``Instructed`` alleged transfer on its reporter's
        behalf (``cancelReason`` ``CancelOrderOnBehalf``)."""
        transfer = self.transfers.get(ident)
        if transfer is None or transfer["status"] != "Instructed":
            state = "unknown" if transfer is None else transfer["status"]
            raise ValueError(f"alleged transfer {ident} is {state}, not Instructed")
        self._cancel_transfer(transfer, "CancelOrderOnBehalf")

    # -- cash transfers -------------------------------------------------------------------

    @_publishes
    def create_cash_transfer(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``createCashTransfer`` (``type`` ``Cash``): ``senderAssets`` (cash) leave the
        participant's ``senderAccountId`` for ``receiverAccountId`` at once; the reply
        names both accounts (as text, as the sample has them) and the two ledger
        transactions of each asset."""
        if d.get("type") != "Cash":
            raise Fail(1000, "Missing or invalid parameter: type")
        sender = self._own_account(mp, d, "senderAccountId")
        receiver = self.accounts.get(_ident(d, "receiverAccountId", 1000))
        if receiver is None:
            raise Fail(1032, "Account not found")
        if receiver is sender:
            raise Fail(1020, "Both sides can't have the same ledgerAccountId")
        assets = self._assets(d, "senderAssets")
        if not assets or not all(self.assets[asset_id].cash for asset_id, _ in assets):
            raise Fail(1000, "Missing or invalid parameter: senderAssets")
        description = _text(d, "description")
        self._check_funds(sender, assets)
        ids = []
        for asset_id, amount in assets:
            asset = self.assets[asset_id]
            for account, change in ((sender, -amount), (receiver, +amount)):
                ids.append(self._move(account, asset, change, 0, "CashTransfer",
                                      description=description))  # fmt: skip
        return [{
            "senderAccountId": str(sender.ledger_account_id),
            "receiverAccountId": str(receiver.ledger_account_id),
            "transactionIds": [str(i) for i in ids],
        }]  # fmt: skip

    # -- trading --------------------------------------------------------------------------

    def settle_trades(self, symbol: str, *, base: int | str, quote: int | str) -> None:
        """Settle ``symbol``'s trades in the ledger from now on: its quantity is in asset
        ``base``, quantity times price in asset ``quote`` (assetIds or names). Orders on
        it then need a ledger account and hold what they may deliver."""
        if symbol not in self._instruments:
            raise ValueError(f"unknown instrument {symbol!r}; known: {sorted(self._instruments)}")
        if symbol in self._strategic:
            raise ValueError(
                f"{symbol} is a strategy instrument or a leg of one: the simulator does not"
                " settle their trades (a strategy order's leg trades hold nothing)"
            )
        settlement = Settlement(self.asset(base), self.asset(quote))
        if settlement.base == settlement.quote:
            raise ValueError(f"{symbol}: base and quote must be different assets")
        if self._open_orders(symbol):
            raise ValueError(f"{symbol} has open orders: settle it before they are placed")
        self.settlements[symbol] = settlement

    def trading_account(self, mp: str, parties: list[dict[str, Any]] | None) -> int:
        """The ledger account an order of ``mp`` trades for: that of the trading account
        its ``parties`` name (role 24; 1001 before v1.46.0), else of the participant's
        only trading account linked to the ledger (as an API key bound to an account
        would add); ``2000`` when there is none."""
        named = [p["id"] for p in parties or () if p.get("role") in (24, 1001)]
        if named:
            account_id = named[0]
            linked = [
                ledger for (owner, key), ledger in self.trading_accounts.items()
                if owner == mp and str(key) == account_id
            ]  # fmt: skip
        else:
            linked = [ledger for (owner, _), ledger in self.trading_accounts.items() if owner == mp]
        if len(linked) != 1 or linked[0] is None:
            raise Fail(2000, "Ledger account not configured for selected trading account")
        return linked[0]

    @_publishes
    def hold(self, order_id: int, ledger_account_id: int, asset_id: int, amount: Decimal) -> None:
        """Make order ``order_id`` hold ``amount`` of the asset in the account (0: none):
        reserving more (``2000`` if the account lacks it; then nothing changes) or
        releasing the rest."""
        self._hold(order_id, ledger_account_id, asset_id, amount)

    def affordable(
        self, ledger_account_id: int, asset_id: int, price: Decimal, places: int,
        spent: Decimal = Decimal(0),
    ) -> Decimal:  # fmt: skip
        """How much (to ``places`` decimals, rounded down) the account's available
        ``asset_id`` pays for at ``price`` after spending ``spent`` of it."""
        have = self.accounts[ledger_account_id].available.get(asset_id, Decimal(0)) - spent
        return max(have / price, Decimal(0)).quantize(Decimal(1).scaleb(-places), ROUND_FLOOR)

    @_publishes
    def trade(
        self, symbol: str, trade_id: int, quantity: Decimal, price: Decimal,
        buyer: Leg, seller: Leg,
    ) -> None:  # fmt: skip
        """Settle trade ``trade_id`` of ``symbol``: each side's order first releases what
        the trade used of its hold (down to ``held``), then the buyer pays quantity times
        price of the quote asset to the seller, who delivers the quantity of the base
        asset: four ``Trade`` transactions sharing one ``linkId``."""
        settlement = self.settlements[symbol]
        for leg, asset in ((buyer, settlement.quote), (seller, settlement.base)):
            self._hold(leg.order_id, leg.ledger_account_id, asset.assetId, leg.held)
        description, link = f"{symbol}|trade|{trade_id}", next(self._link_ids)
        buying, selling = (
            self.accounts[buyer.ledger_account_id],
            self.accounts[seller.ledger_account_id],
        )
        cost = quantity * price
        for account, asset, amount in (
            (buying, settlement.quote, -cost), (selling, settlement.quote, cost),
            (selling, settlement.base, -quantity), (buying, settlement.base, quantity),
        ):  # fmt: skip
            self._move(account, asset, amount, 0, "Trade", description=description, link=link)

    def _hold(self, order_id: int, ledger_account_id: int, asset_id: int, amount: Decimal) -> None:
        held = self.holds.pop(order_id, None)
        more = amount - (held[2] if held else 0)
        if more:
            account, asset = self.accounts[ledger_account_id], self.assets[asset_id]
            try:
                self._move(account, asset, -more, more, note=_held("order", order_id))
            except Fail:
                if held:
                    self.holds[order_id] = held
                raise
        if amount:
            self.holds[order_id] = (ledger_account_id, asset_id, amount)

    # -- the end of the day ---------------------------------------------------------------

    @_publishes
    def end_of_day(self, date: str | None = None) -> None:
        """The venue's end of day: ``Instructed`` alleged transfers expire (``Cancelled``,
        ``cancelReason`` ``Expiration``) and every account's balances become that day's
        holdings (``date`` ``YYYY-MM-DD``; the simulator clock's day, GMT, by default).
        The simulator runs it at each market close; a test may run it for any day."""
        day = iso(self._now_ns())[:10] if date is None else dt.date.fromisoformat(date).isoformat()
        for transfer in list(self.transfers.values()):
            if transfer["status"] == "Instructed":
                self._cancel_transfer(transfer, "Expiration")
        for account in self.accounts.values():
            for asset_id in sorted(set(account.available) | set(account.reserved)):
                total = account.available.get(asset_id, Decimal(0)) + account.reserved.get(
                    asset_id, Decimal(0)
                )
                self.holdings.append((day, account.ledger_account_id, asset_id, total))

    # -- reports --------------------------------------------------------------------------

    def report_requests(self, mp: str) -> list[dict[str, Any]]:
        """The participant's transaction requests as reporting rows (for ``_page``)."""
        return [
            {**public(r), "amount": exact_number(r["amount"]),
             **report_times(r["_created"], r["_last_event"])}
            for r in self.requests.values() if r["_mp"] == mp
        ]  # fmt: skip

    def report_transfers(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """The participant's alleged transfers as reporting rows, those with ``assetId``
        among their assets and ``mpId`` on either side (``_page`` applies the rest)."""
        rows = []
        for t in self.transfers.values():
            assets = {str(asset_id) for asset_id, _ in (*t["_sending"], *t["_receiving"])}
            if t["_mp"] != mp or ("assetId" in d and str(d["assetId"]) not in assets):
                continue
            if "mpId" in d and str(d["mpId"]) not in (str(t["mpId"]), str(t["counterpartyMpId"])):
                continue
            rows.append({
                **public(t), "sendingAssets": self._asset_rows(t["_sending"]),
                "receivingAssets": self._asset_rows(t["_receiving"]),
                **report_times(t["_created"], t["_last_event"]),
            })  # fmt: skip
        return rows

    def report_transactions(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """The participant's ledger transactions as reporting rows: reservations only
        when ``transactionTypes`` asks for them."""
        asked = d.get("transactionTypes")
        return [
            r for r in self.transactions
            if r["_mp"] == mp and (asked or r["transactionType"] not in _RESERVATIONS)
        ]  # fmt: skip

    def report_holdings(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/holdingsSummary`` rows: the participant's end-of-day holdings from
        ``eodDateFrom`` (included) to ``eodDateTo`` (excluded), per day and asset, summed
        over its accounts (``groupBy`` ``MP``: with ``mpName``) or per account
        (``Account``: with ``ledgerAccountName`` too); ``_eodDate`` orders them."""
        if not typed(d, _HOLDINGS_TYPES):
            raise Fail(1001, "Invalid request data")
        group = d.get("groupBy")
        if group not in (None, "MP", "Account"):
            raise Fail(1001, "Wrong groupBy format")
        low, high = (
            report_day(d, "eodDateFrom", "0001-01-01"),
            report_day(d, "eodDateTo", "9999-12-31"),
        )
        if high < low:
            raise Fail(1001, "eodDateTo must be >= eodDateFrom")
        account_filter = account_filtered(d).get("ledgerAccountId")
        who = self._participant(mp)
        if "mpId" in d and str(d["mpId"]) != str(who.mp_id):
            return []
        sums: dict[tuple[str, int, int], Decimal] = {}
        for day, ledger_account_id, asset_id, total in self.holdings:
            account = self.accounts[ledger_account_id]
            if account.mp != mp or not low <= day < high:
                continue
            if account_filter is not None and str(account_filter) != str(ledger_account_id):
                continue
            if "assetId" in d and str(d["assetId"]) != str(asset_id):
                continue
            key = (day, asset_id, ledger_account_id if group == "Account" else 0)
            sums[key] = sums.get(key, Decimal(0)) + total
        rows = []
        for (day, asset_id, ledger_account_id), total in sorted(sums.items()):
            asset = self.assets[asset_id]
            row: dict[str, Any] = {
                "eodDate": day,
                "_eodDate": dt.date.fromisoformat(day).toordinal(),
            }
            if group is not None:
                row["mpName"] = who.mp_name
            if group == "Account":
                row["ledgerAccountName"] = self.accounts[ledger_account_id].name
            rows.append({**row, "assetName": asset.assetName, "eodHoldings": exact_number(total),
                         "transactionUnits": asset.transactionUnits})  # fmt: skip
        return rows

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
        asset, amount, kind = self.assets[request["assetId"]], request["amount"], request["type"]
        note, text = _held("withdrawal request", request["id"]), request["description"]
        if kind == "Withdrawal" and status == "Cancelled":
            self._move(account, asset, +amount, -amount, note=note)
        elif kind == "Withdrawal" and status == "Settled":
            self._move(account, asset, 0, -amount, kind, note=note, description=text)
        elif status == "Settled":
            self._move(account, asset, +amount, 0, kind, description=text)
        request["status"], request["_last_event"] = status, self._now_ns()

    def _settle(self, *pair: dict[str, Any]) -> None:
        """Settle two matching alleged transfers: each side's held sending assets leave
        it, its receiving assets arrive, as transactions of its own type sharing one
        ``linkId``."""
        link, now = next(self._link_ids), self._now_ns()
        for mine, theirs in (pair, pair[::-1]):
            account = self.accounts[mine["ledgerAccountId"]]
            kind = "FoP" if mine["type"] == "FoP_Receive" else mine["type"]
            entry = {"description": mine["description"], "link": link,
                     "counterparty": self._participant(theirs["_mp"])}  # fmt: skip
            note = _held("allegedTransfer", mine["allegedTransferId"])
            for asset_id, amount in mine["_sending"]:
                self._move(account, self.assets[asset_id], 0, -amount, kind, note=note, **entry)
            for asset_id, amount in mine["_receiving"]:
                self._move(account, self.assets[asset_id], +amount, 0, kind, **entry)
            mine["status"], mine["_last_event"] = "Settled", now

    def _cancel_transfer(self, transfer: dict[str, Any], reason: str) -> None:
        account = self.accounts[transfer["ledgerAccountId"]]
        for asset_id, amount in transfer["_sending"]:
            self._move(account, self.assets[asset_id], +amount, -amount,
                       note=_held("allegedTransfer", transfer["allegedTransferId"]))  # fmt: skip
        transfer.update(status="Cancelled", cancelReason=reason, _last_event=self._now_ns())

    def _own_account(self, mp: str, d: dict[str, Any], name: str) -> _Account:
        """The participant's ledger account ``d[name]`` (``1032`` if not its own)."""
        account = self.accounts.get(_ident(d, name, 1000))
        if account is None or account.mp != mp:
            raise Fail(1032, "Account not found")
        return account

    def _assets(self, d: dict[str, Any], name: str) -> tuple[tuple[int, Decimal], ...]:
        """A transfer's ``[{assetId, amount}]`` (numbers or their text) as sorted
        (assetId, amount) pairs, none if absent: each asset once, at least its
        ``minTransfer`` (``1012``), in its ``transferIncrement`` (``1014``)."""
        given = d.get(name)
        if given is None:
            return ()
        if not isinstance(given, list) or not all(isinstance(item, dict) for item in given):
            raise Fail(1000, f"Missing or invalid parameter: {name}")
        pairs: dict[int, Decimal] = {}
        for item in given:
            asset = self.assets.get(_ident(item, "assetId", 1000))
            if asset is None or asset.assetId in pairs:
                raise Fail(1000, f"Missing or invalid parameter: {name}")
            amount = _amount(item, 1000)
            if amount < asset.minTransfer:
                raise Fail(1012, f"Minimum amount for {asset.assetName} is {asset.minTransfer}")
            if amount % asset.transferIncrement:
                raise Fail(1014, f"Amount of {asset.assetName} should be an increment of "
                                 f"{asset.transferIncrement}")  # fmt: skip
            pairs[asset.assetId] = amount
        return tuple(sorted(pairs.items()))

    def _asset_rows(self, pairs: tuple[tuple[int, Decimal], ...]) -> list[dict[str, Any]]:
        """Asset pairs as reports list them (with the asset's name and units)."""
        return [
            {"assetId": a, "assetName": self.assets[a].assetName, "amount": exact_number(amount),
             "units": self.assets[a].transactionUnits}
            for a, amount in pairs
        ]  # fmt: skip

    def _check_funds(self, account: _Account, pairs: tuple[tuple[int, Decimal], ...]) -> None:
        """``2000`` unless ``account`` has every amount of ``pairs`` available (checked
        before anything moves, so a refused transfer holds nothing)."""
        for asset_id, amount in pairs:
            have = account.available.get(asset_id, Decimal(0))
            if have < amount:
                raise _insufficient(self.assets[asset_id], amount - have)

    def _move(
        self,
        account: _Account,
        asset: Asset,
        available: Decimal | int,
        reserved: Decimal | int,
        kind: str | None = None,
        *,
        note: str = "",
        description: str | None = None,
        link: int | None = None,
        counterparty: Participant | None = None,
    ) -> int | None:
        """Add ``available`` and ``reserved`` to ``account``'s ``asset`` (``2000`` if
        that would leave less than nothing available) and record the ledger transactions
        (a ``ReserveBalance``/``ReleaseBalance`` for ``reserved``, noting ``note``; one of
        ``kind`` for the change of the total); the operation (``_publishes``) tells
        ``on_change``. Returns the
        ``kind`` transaction's id."""
        have = account.available.get(asset.assetId, Decimal(0))
        if have + available < 0:
            raise _insufficient(asset, -(have + available))
        account.available[asset.assetId] = have + available
        held = account.reserved.get(asset.assetId, Decimal(0))
        account.reserved[asset.assetId] = held + reserved
        if reserved:
            kept = "ReserveBalance" if reserved > 0 else "ReleaseBalance"
            self._record(account, asset, kept, reserved, asset.assetName + note)
        ident = None
        if available + reserved:
            assert kind is not None, "a change of the total needs its transaction type"
            ident = self._record(account, asset, kind, available + reserved, description,
                                 link, counterparty)  # fmt: skip
        self._moved.add(account.ledger_account_id)
        return ident

    def _record(
        self,
        account: _Account,
        asset: Asset,
        kind: str,
        amount: Decimal | int,
        description: str | None,
        link: int | None = None,
        counterparty: Participant | None = None,
    ) -> int:
        """Append one ledger transaction (an ``mp/transactions`` row) and return its id."""
        who, now, ident = self._participant(account.mp), self._now_ns(), next(self._transaction_ids)
        row = {
            "timestamp": iso(now), "transactionId": ident, "transactionType": kind,
            "amount": exact_number(Decimal(amount)), "transactionUnits": asset.transactionUnits,
            "mpId": who.mp_id, "mpName": who.mp_name,
            "ledgerAccountId": account.ledger_account_id, "ledgerAccountName": account.name,
            "assetId": asset.assetId, "assetName": asset.assetName,
            "description": description, "linkId": link, "_mp": account.mp, "_timestamp": now,
        }  # fmt: skip
        if kind in _IN_OUT:  # amounts in the asset's in/out units (the same units here)
            row.update(amountInOutUnits=row["amount"], inOutUnits=asset.transactionUnits)
        if counterparty is not None:
            row.update(counterpartyMpId=counterparty.mp_id,
                       counterpartyMpName=counterparty.mp_name)  # fmt: skip
        self.transactions.append({k: v for k, v in row.items() if v is not None})
        return ident


_IN_OUT = ("Deposit", "Withdrawal", "Adjustment")
"""Transaction types reported with ``amountInOutUnits``."""
_HOLDINGS_TYPES: Types = {
    "groupBy": str, "eodDateFrom": str, "eodDateTo": str, "mpId": (int, str),
    "ledgerAccountId": (int, str), "ledgerAaccountId": (int, str), "assetId": (int, str),
    "limit": int, "offset": int,
}  # fmt: skip
"""``holdingsSummary``'s members (the documentation spells one ``ledgerAaccountId``)."""


def account_filtered(d: dict[str, Any]) -> dict[str, Any]:
    """A ledger report's ``d`` with its account filter under ``ledgerAccountId``, however
    it came (the documentation spells it ``ledgerAaccountId`` for transactions and
    holdings: both are taken)."""
    if "ledgerAaccountId" in d and "ledgerAccountId" not in d:
        return {**d, "ledgerAccountId": d["ledgerAaccountId"]}
    return d


def _balance(asset: Asset, amount: object) -> Decimal:
    """A starting balance: a number >= 0 or its text (``ValueError`` otherwise)."""
    value = _number(amount)
    if value is None or value < 0:
        raise ValueError(f"balance of {asset.assetName} must be a number >= 0, not {amount!r}")
    return value


def _held(what: str, ident: int) -> str:
    """A reservation's description after its asset's name: ``|allegedTransfer|311``."""
    return f"|{what}|{ident}"


def _insufficient(asset: Asset, missing: Decimal) -> Fail:
    return Fail(2000, f"Insufficient balance: {exact_number(missing)} {asset.transactionUnits} of "
                      f"{asset.assetName} are missing")  # fmt: skip


def _text(d: dict[str, Any], name: str, code: int = 1000) -> str | None:
    """An optional text member (``code`` if not text)."""
    value = d.get(name)
    if value is not None and not isinstance(value, str):
        raise Fail(code, f"Missing or invalid parameter: {name}")
    return value


def _ident(d: dict[str, Any], name: str, code: int = 100, message: str | None = None) -> int:
    """An id the tables type Int and the samples send as digit text: either."""
    value = d.get(name)
    if type(value) is int and value > 0:
        return value
    if isinstance(value, str) and value.isdigit() and value.isascii() and int(value) > 0:
        return int(value)
    raise Fail(code, message or f"Missing or invalid parameter: {name}")


def _amount(d: dict[str, Any], code: int = 100) -> Decimal:
    """``amount``: a positive number, or its text (the sample's ``"1"``)."""
    amount = _number(d.get("amount"))
    if amount is None or amount <= 0:
        raise Fail(code, "Missing or invalid parameter: amount")
    return amount


def _number(value: object) -> Decimal | None:
    """A finite number, or its text, exactly as written (``None`` if it is not one)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))  # a float's str is its shortest repr: 0.1, not 1/10's double
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
