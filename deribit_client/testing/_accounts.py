"""Simulated API keys, tokens and accounts: state only, no request handling.

Signatures are checked with this module's own HMAC code (REFERENCE 2.1, 2.4), not the SDK's:
a judge must not share the code it judges.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import _logs
from ._logs import remember
from ._session import Session, SimError

__all__ = [
    "FULL_SCOPE",
    "LIVE_STATES",
    "SCOPE_AREAS",
    "SIM_CLIENT_ID",
    "SIM_CLIENT_SECRET",
    "STARTING_BALANCES",
    "Account",
    "ApiKey",
    "Token",
    "Trading",
    "unfilled",
    "ws_signature_ok",
]


class CallLike(Protocol):
    """What authorization reads of a call."""

    session: Session
    params: dict[str, Any]


def _hex_hmac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _same_digest(expected: str, given: str) -> bool:
    """Constant-time comparison of a hex digest with what a client sent, any text (as
    ``str``, ``compare_digest`` refuses non-ASCII with a ``TypeError``)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def ws_signature_ok(secret: str, timestamp: int, nonce: str, data: str, signature: str) -> bool:
    """``client_signature`` grant: HMAC-SHA256 over ``timestamp, nonce, data`` joined by
    newlines (so an empty ``data`` leaves the text ending in a newline)."""
    return _same_digest(_hex_hmac(secret, f"{timestamp}\n{nonce}\n{data}"), signature)


SIM_CLIENT_ID = "sim-client-id"
"""The API key every simulator accepts (``sim.add_api_key`` adds more)."""
SIM_CLIENT_SECRET = "sim-client-secret"
_SIGNATURE_WINDOW_MS = 60_000
_SWEEP_MIN = 1_000
_REFRESH_GRACE_MS = 86_400_000
MAX_SESSIONS = 16
"""Named sessions (``session:<name>`` scopes) per API key; a 17th drops the oldest, whose
tokens stop working (REFERENCE 2.2)."""

SCOPE_AREAS = ("account", "trade", "wallet", "block_trade", "block_rfq")
"""The functional scopes (REFERENCE 2.2); each is ``none``, ``read`` or ``read_write``."""
_LEVELS = ("none", "read", "read_write")
FULL_SCOPE = " ".join(f"{area}:read_write" for area in SCOPE_AREAS)
"""The ``max_scope`` of the simulator's own keys: everything."""


def scope_levels(scope: str) -> dict[str, int]:
    """Functional area -> level (0 none, 1 read, 2 read_write) of the items in ``scope``;
    binding items (``connection``, ``session:x``) and modifiers are not functional."""
    out: dict[str, int] = {}
    for item in scope.split():
        area, _, level = item.partition(":")
        if area in SCOPE_AREAS and level in _LEVELS:
            out[area] = _LEVELS.index(level)
    return out


def max_scope(text: str) -> str:
    """``text`` as a key's ``max_scope``: every area named, a missing one ``none`` (as
    Deribit documents); raises ValueError naming an item that is not ``area:level``."""
    for item in text.split():
        area, _, level = item.partition(":")
        if area not in SCOPE_AREAS or level not in _LEVELS:
            raise ValueError(
                f"{item!r} is not one of {', '.join(SCOPE_AREAS)} : {'|'.join(_LEVELS)}"
            )
    levels = scope_levels(text)
    return " ".join(f"{area}:{_LEVELS[levels.get(area, 0)]}" for area in SCOPE_AREAS)


@dataclass
class ApiKey:
    """One API key: what ``list_api_keys`` shows, and the account it opens (``owner``,
    the client id of the account's first key)."""

    id: int
    client_id: str
    client_secret: str
    owner: str
    max_scope: str
    timestamp: int
    name: str = ""
    enabled: bool = True
    default: bool = False
    enabled_features: list[str] = field(default_factory=list)
    ip_whitelist: list[str] = field(default_factory=list)
    public_key: str | None = None

    def record(self) -> dict[str, Any]:
        """The key as Deribit's ``api_key`` object."""
        out = {
            "id": self.id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "max_scope": self.max_scope,
            "name": self.name,
            "enabled": self.enabled,
            "default": self.default,
            "timestamp": self.timestamp,
            "enabled_features": list(self.enabled_features),
            "ip_whitelist": list(self.ip_whitelist),
        }
        if self.public_key is not None:
            out["public_key"] = self.public_key
        return out


@dataclass
class Token:
    """An issued access token and what it may do; ``client_id`` names the account (the
    owner of the key it was issued for), ``key`` the key."""

    client_id: str
    key: str
    access_token: str
    refresh_token: str
    scope: str
    expires_at_ms: int
    session_name: str | None
    connection: int | None  # connection-scoped tokens die with their connection

    def allows(self, required: str) -> bool:
        """Whether the token's scope covers ``required`` (``trade:read``: read or
        read_write; ``trade:read_write``: read_write only)."""
        area, _, level = required.partition(":")
        return scope_levels(self.scope).get(area, 0) >= _LEVELS.index(level)


ACCOUNT_SETTINGS: dict[str, Any] = {
    "margin_model": "cross_sm",
    "self_trading_reject_mode": "cancel_maker",
    "self_trading_extended_to_subaccounts": False,
    "block_rfq_self_match_prevention": True,
    "email_language": "en",
    "affiliate_program": False,
}
"""A new account's settings (as the account summary reports them)."""


LIVE_STATES = frozenset({"open", "untriggered"})
"""Order states of orders still working (resting, or waiting for their trigger)."""


@dataclass
class Account:
    """The state of one API key's account: orders, trades, positions, balances, and the
    wallet's ledgers (transaction log, deposits, withdrawals, transfers, subaccounts)."""

    client_id: str
    balances: dict[str, float] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    settlements: list[dict[str, Any]] = field(default_factory=list)
    """The account's settlements and deliveries, oldest first (``_settlement``)."""
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)
    cod: dict[str, bool] = field(default_factory=lambda: {"account": False})
    user_id: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    """The transaction log, oldest first (the newest :data:`HISTORY` entries)."""
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    subaccounts: dict[int, Account] = field(default_factory=dict)
    """Subaccount id -> the subaccount, an account of its own (see :attr:`main`)."""
    main: str | None = None
    """For a subaccount, the client id of its main account (None: a main account)."""
    disabled_products: frozenset[str] = frozenset()
    """Trading products the main account disabled for this subaccount."""
    profile: dict[str, Any] = field(default_factory=dict)
    """For a subaccount, what ``get_subaccounts`` reports of it (name, e-mail, login and
    notification switches); kept by the main account's subaccount methods."""
    valuation: Callable[[Account, str], float] | None = field(
        default=None, repr=False, compare=False
    )
    """The account's equity in a currency (:attr:`Trading.valuation`), which each
    transaction log entry records; None: its balance."""
    access_log: list[dict[str, Any]] = field(default_factory=list)
    """Successful logins, oldest first (the newest :data:`HISTORY`)."""
    block_trades: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Executed block trades by id, with this account's side of the trades."""
    block_requests: dict[tuple[int, str, str], dict[str, Any]] = field(default_factory=dict)
    """Block trades this account verified, by ``(timestamp, nonce, role)``, until they are
    executed, rejected, invalidated or expire."""
    mmp: dict[Any, Any] = field(default_factory=dict)
    """Market maker protection by ``(block_rfq, index_name, mmp_group)`` (``_mmp``)."""
    address_book: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """Address book entries by ``(currency, type, address)``."""
    read_announcements: set[int] = field(default_factory=set)
    """Announcements ``set_announcement_as_read`` took off ``get_new_announcements``."""
    position_moves: list[int] = field(default_factory=list)
    """When ``move_positions`` ran in the last seven days (at most 100 times)."""
    quotes_frozen_until: int = 0
    """A cancel with ``freeze_quotes`` refuses mass quotes (13043) for a second."""
    locks: dict[str, str] = field(default_factory=dict)
    """Locked currencies (or ``ALL``) -> the reason shown by ``get_user_locks``."""
    settings: dict[str, Any] = field(default_factory=lambda: dict(ACCOUNT_SETTINGS))
    """Margin model, self-trading configuration and e-mail language."""
    created_ms: int = 0
    deposit_addresses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Deposit addresses per currency, oldest first: the last is the current one (earlier
    ones still receive, as on Deribit)."""
    beneficiaries: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """Travel-rule beneficiaries by ``(currency, address, tag)``."""
    _prune_orders_at: int = field(default=0, init=False, repr=False)
    _live: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    # Orders stored while live, by id: a superset of the live orders (closed ones leave at
    # the next live_orders()), so matching and margin checks never walk the history.

    def keep_order(self, order: dict[str, Any]) -> None:
        """Store a new order. Open (and untriggered) orders are kept however many there
        are; of the closed ones only the newest :data:`HISTORY`, pruned in batches, so a
        bot trading for days does not grow the simulator without bound."""
        self.orders[order["order_id"]] = order
        if order["order_state"] in LIVE_STATES:
            self._live[order["order_id"]] = order
        kept = _logs.HISTORY  # read per call: tests lower it
        if len(self.orders) <= max(self._prune_orders_at, 2 * kept):
            return
        _logs.forget_closed(self.orders, _order_closed, kept)
        self._prune_orders_at = len(self.orders) + kept

    def live_orders(self) -> list[dict[str, Any]]:
        """The account's open and untriggered orders, oldest first: what matching, margin
        and cancels look at, without walking up to :data:`HISTORY` closed orders."""
        live = self._live
        for order_id in [k for k, o in live.items() if o["order_state"] not in LIVE_STATES]:
            del live[order_id]
        return list(live.values())

    def locked(self, *currencies: str) -> bool:
        """Whether the account is locked in any of ``currencies`` (or entirely)."""
        return "ALL" in self.locks or any(c.upper() in self.locks for c in currencies)

    def require_unlocked(self, *currencies: str) -> None:
        """``11098 account_locked`` when :meth:`locked` says so."""
        if self.locked(*currencies):
            raise SimError(11098, "account_locked")

    @property
    def username(self) -> str:
        """The name Deribit shows (a subaccount's can be changed; its client id cannot)."""
        return str(self.profile.get("username", self.client_id))

    def subaccount(self, sid: int) -> Account:
        """One of the account's subaccounts (``13020 not_found`` otherwise)."""
        sub = self.subaccounts.get(sid)
        if sub is None:
            raise SimError(13020, "not_found", {"reason": f"no subaccount {sid}"})
        return sub

    def member(self, user_id: int) -> Account:
        """The account itself or one of its subaccounts, by user id."""
        return self if user_id == self.user_id else self.subaccount(user_id)

    def deposit_address(self, currency: str) -> dict[str, Any] | None:
        """The current deposit address of ``currency``, as ``get_current_deposit_address``
        reports it: None until one is created."""
        addresses = self.deposit_addresses.get(currency)
        return addresses[-1] if addresses else None

    def new_deposit_address(self, currency: str, now_ms: int) -> dict[str, Any]:
        """A further deposit address (made up, stable per account, currency and rank)."""
        addresses = self.deposit_addresses.setdefault(currency, [])
        seed = f"{self.client_id}:{currency}" + (f":{len(addresses)}" if addresses else "")
        digest = hashlib.sha256(seed.encode()).hexdigest()
        address = {"address": f"sim{currency.lower()}{digest[:30]}", "creation_timestamp": now_ms,
                   "currency": currency, "type": "deposit"}  # fmt: skip
        addresses.append(address)
        return address

    def owns_address(self, currency: str, address: str) -> bool:
        """Whether ``address`` is one of the account's deposit addresses of ``currency``."""
        return any(a["address"] == address for a in self.deposit_addresses.get(currency, ()))

    def receive_deposit(
        self, now_ms: int, currency: str, amount: float, *, needs_originator: bool = False
    ) -> dict[str, Any]:
        """A deposit to the current address of ``currency`` (made first if there is none):
        completed and credited at once, or, with ``needs_originator``, held ``pending``
        until ``set_clearance_originator`` names who sent it (Deribit's travel-rule
        clearance)."""
        seed = f"{self.client_id}:{currency}:{now_ms}:{len(self.deposits)}"
        digest = hashlib.sha256(seed.encode())
        to = self.deposit_address(currency) or self.new_deposit_address(currency, now_ms)
        deposit = {
            "address": to["address"],
            "amount": amount,
            "currency": currency,
            "state": "pending" if needs_originator else "completed",
            "clearance_state": "pending_user_input" if needs_originator else "success",
            "source_address": f"ext{currency.lower()}{digest.hexdigest()[30:60]}",
            "received_timestamp": now_ms,
            "updated_timestamp": now_ms,
            "transaction_id": digest.hexdigest(),
        }
        remember(self.deposits, deposit)
        if not needs_originator:
            self.book(now_ms, currency, "deposit", amount)
        return deposit

    def clear_deposit(self, deposit: dict[str, Any], now_ms: int) -> None:
        """Complete a deposit held for its originator and credit it."""
        deposit.update(state="completed", clearance_state="success", updated_timestamp=now_ms)
        self.book(now_ms, deposit["currency"], "deposit", deposit["amount"])

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
            "equity": round(self.valuation(self, currency), 10) if self.valuation else balance,
            "commission": 0.0,
            "info": None,
            **info,
        }
        remember(self.log, entry)
        return entry


STARTING_BALANCES = {"BTC": 10.0, "ETH": 150.0, "USDC": 250_000.0, "USDT": 100_000.0}
"""What a new simulated account holds: it arrives as completed deposits."""


class Trading:
    """Keys, tokens and accounts of one simulator."""

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self.now_ms = now_ms
        self.api_keys: dict[str, ApiKey] = {}
        """Every API key by client id, enabled or not."""
        self._key_ids = itertools.count(1)
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.sessions: dict[str, dict[tuple[str, str], None]] = {}
        """Each key's named sessions as (account, name), oldest first."""
        self.used_nonces: dict[tuple[str, str], int] = {}
        """(client_id, nonce) -> signature timestamp; forgotten once the timestamp alone
        would be refused, so the map stays as small as the signature window allows."""
        self._sweep_at = _SWEEP_MIN
        self.accounts: dict[str, Account] = {}
        self.valuation: Callable[[Account, str], float] | None = None
        """An account's equity in a currency: balances and positions at the market's
        prices (set by the accounting); the accounts created here get it."""
        self.token_ttl = 900
        self.cancel_failures: dict[str, list[tuple[int, str]]] = {}
        self.order_ids = itertools.count(1_000_000)
        self.queue_places = itertools.count()
        """Time priority of resting orders: each joins the back of its level's queue."""
        self.jwt_key = secrets.token_bytes(32)
        """What this simulator signs ``private/get_jwt`` tokens with."""
        self.user_ids = itertools.count(100_001)
        """User ids of accounts and subaccounts alike (they are all Deribit users)."""
        self.block_trade_ids = itertools.count(6_001)
        self.block_signatures: dict[str, tuple[str, tuple[int, str, str]]] = {}
        """A verified block trade's signature -> (verifying client id, its request key)."""
        self.untriggered: dict[str, dict[str, tuple[Account, dict[str, Any]]]] = {}
        """Trigger orders waiting for their price, by instrument and order id (cancelled
        ones are dropped when their instrument's market next moves)."""
        self.block_rfqs: dict[int, dict[str, Any]] = {}
        """Block RFQs by id, open ones and the most recent closed ones (``_block_rfq``)."""
        self.block_rfq_ids = itertools.count(1)
        self.block_rfq_quote_ids = itertools.count(1)
        self.block_rfq_trades: list[dict[str, Any]] = []
        """Block RFQ executions as ``public/get_block_rfq_trades`` lists them, oldest first."""
        self.wallet_ids = itertools.count(1)
        """Ids of withdrawals and transfers."""
        self.repositioned: dict[tuple[int, str], tuple[Account, str]] = {}
        """(account, instrument) whose position moved, or that placed a reduce-only order,
        since their reduce-only orders were last fitted to the position (``_orders``)."""
        self.liquidating: set[tuple[str, str]] = set()
        """(client id, currency) of the liquidations under way (``_liquidation``)."""
        self.linked: dict[str, dict[str, Any]] = {}
        """Linked orders (OTO, OCO, OTOCO) that traded or closed since their links were
        last followed, by order id (``_orders``)."""
        self.transfer_confirmation_ms = 10_000
        """How long a transfer to another user stays ``prepared`` (cancellable) before it
        is confirmed and credited; Deribit waits for the sender's confirmation."""
        self.pending_transfers: list[tuple[int, int, str, str, dict[str, Any]]] = []
        """Heap of prepared transfers to users: (due, id, sender, recipient, payment)."""
        self.auth_grants: list[str] = []
        self.tokens_in_params = 0
        """Private calls that carried ``access_token`` in their params."""
        self.add_key(SIM_CLIENT_ID, SIM_CLIENT_SECRET)

    # -- keys ---------------------------------------------------------------------------

    def add_key(self, client_id: str, secret: str, owner: str | None = None, **more: Any) -> ApiKey:
        """A new key for ``owner``'s account; without an owner, the first (default) key of
        a new account with every scope."""
        if owner is None:
            more = {"max_scope": FULL_SCOPE, "default": True, **more}
        key = ApiKey(
            id=next(self._key_ids),
            client_id=client_id,
            client_secret=secret,
            owner=owner or client_id,
            timestamp=self.now_ms(),
            **more,
        )
        self.api_keys[client_id] = key
        return key

    def secret(self, client_id: str) -> str | None:
        """The secret of an enabled key, else None (a disabled key cannot log in)."""
        key = self.api_keys.get(client_id)
        return key.client_secret if key is not None and key.enabled else None

    def revoke_key(self, key: ApiKey) -> None:
        """Invalidate every token issued for ``key`` (it was disabled or removed)."""
        self.sessions.pop(key.client_id, None)
        self.tokens = {k: t for k, t in self.tokens.items() if t.key != key.client_id}
        self.refresh_tokens = {
            k: t for k, t in self.refresh_tokens.items() if t.key != key.client_id
        }

    def confirm_transfers(self) -> None:
        """Confirm the transfers to users that are due: the recipient is credited and
        lists the income (the sender was debited when it sent). Runs lazily, whenever an
        account is looked up, so it needs no timer of its own."""
        now = self.now_ms()
        while self.pending_transfers and self.pending_transfers[0][0] <= now:
            _, _, sender, recipient_id, payment = heapq.heappop(self.pending_transfers)
            if payment["state"] != "prepared":
                continue  # cancelled meanwhile
            payment.update(state="confirmed", updated_timestamp=now)
            recipient = self.accounts[recipient_id]
            income = {**payment, "id": next(self.wallet_ids), "direction": "income",
                      "other_side": sender, "created_timestamp": now}  # fmt: skip
            remember(recipient.transfers, income)
            recipient.book(now, payment["currency"], "transfer", payment["amount"], side="+",
                           info={"transfer_type": "user", "other_user": sender})  # fmt: skip

    def account(self, client_id: str) -> Account:
        if self.pending_transfers:
            self.confirm_transfers()
        account = self.accounts.get(client_id)
        if account is None:
            now = self.now_ms()
            account = Account(
                client_id, user_id=next(self.user_ids), created_ms=now, valuation=self.valuation
            )
            self.accounts[client_id] = account
            for currency, amount in STARTING_BALANCES.items():
                account.receive_deposit(now, currency, amount)
        return account

    def add_subaccount(self, main: Account) -> Account:
        """A new, empty subaccount of ``main``: an account of its own (it trades and logs
        in through ``public/exchange_token`` or its own API keys) that ``main`` manages."""
        sid = next(self.user_ids)
        name = f"{main.client_id}_{len(main.subaccounts) + 1}"
        while name in self.accounts:  # a removed sibling's name stays taken
            name += "_"
        sub = Account(
            name, user_id=sid, created_ms=self.now_ms(), main=main.client_id,
            valuation=self.valuation,
        )  # fmt: skip
        sub.profile = {"id": sid, "username": name, "system_name": name,
                       "email": f"{name}@simulator.invalid", "type": "subaccount",
                       "is_password": False, "login_enabled": False,
                       "receive_notifications": False, "security_keys_enabled": False}  # fmt: skip
        self.accounts[name] = main.subaccounts[sid] = sub
        return sub

    def remove_subaccount(self, main: Account, sid: int) -> None:
        """Remove one of ``main``'s subaccounts with its keys and tokens."""
        sub = main.subaccounts.pop(sid)
        del self.accounts[sub.client_id]
        for key in [k for k in self.api_keys.values() if k.owner == sub.client_id]:
            del self.api_keys[key.client_id]
        self.tokens = {k: t for k, t in self.tokens.items() if t.client_id != sub.client_id}
        self.refresh_tokens = {
            k: t for k, t in self.refresh_tokens.items() if t.client_id != sub.client_id
        }

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
        subject: str | None = None,
        mainaccount: bool = True,
    ) -> Token:
        """A new token for the key ``client_id``: each functional scope as requested,
        the key's ``max_scope`` where not requested, never more than it. It acts for the
        key's account, or for ``subject`` (a token exchanged for a subaccount's); only a
        main account's token has the ``mainaccount`` scope, and only with
        ``mainaccount`` (an exchange with an explicit scope has none). ``store=False`` for
        per-request HTTP authorization (Basic or signature headers), which leaves nothing
        to refresh or look up later."""
        key = self.api_keys[client_id]
        owner = subject or key.owner
        requested = (scope or "").split()
        session_name = next(
            (s.split(":", 1)[1] for s in requested if s.startswith("session:")), None
        )
        granted = [f"session:{session_name}" if session_name else "connection"]
        if mainaccount and self.account(owner).main is None:
            granted.append("mainaccount")
        ceiling, asked = scope_levels(key.max_scope), scope_levels(scope or "")
        if grant == "client_credentials" and asked.get("wallet") == 2:
            # Keys authenticated with the plain secret get at most wallet:read (REFERENCE 2.2).
            asked["wallet"] = 1
        for area in SCOPE_AREAS:
            level = min(asked.get(area, ceiling.get(area, 0)), ceiling.get(area, 0))
            if level:
                granted.append(f"{area}:{_LEVELS[level]}")
        granted += [item for item in requested if item.startswith(("expires:", "ip:"))]
        ttl = next((int(s.split(":", 1)[1]) for s in requested if s.startswith("expires:")), None)
        token = Token(
            client_id=owner,
            key=client_id,
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
            if session_name is not None:
                self._open_session(client_id, (owner, session_name))
            if len(self.refresh_tokens) > self._sweep_at:
                self._sweep_tokens()
        if session.is_websocket:
            session.auth = token
        return token

    def _open_session(self, key: str, session: tuple[str, str]) -> None:
        """Count a named session of ``key`` (a login or refresh into one it has keeps it);
        past :data:`MAX_SESSIONS` the oldest ends, and with it every token issued in it."""
        sessions = self.sessions.setdefault(key, {})
        if session in sessions:
            return
        sessions[session] = None
        if len(sessions) > MAX_SESSIONS:
            oldest = next(iter(sessions))
            del sessions[oldest]
            issued = [*self.tokens.values(), *self.refresh_tokens.values()]
            for token in issued:  # refresh tokens outlive their access tokens
                if token.key == key and (token.client_id, token.session_name) == oldest:
                    self.revoke(token)

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
        if scheme.lower() == "bearer":
            return self.valid(self.tokens.get(value), session)
        if scheme.lower() == "basic":  # auth schemes are case-insensitive (RFC 9110)
            try:
                client_id, sep, secret = base64.b64decode(value).decode().partition(":")
            except ValueError:  # bad base64 or UTF-8: credentials no key matches
                client_id = sep = secret = ""
            if not sep or self.secret(client_id) != secret:
                raise SimError(13004, "invalid_credentials")
            return self.issue(client_id, None, "client_credentials", session, store=False)
        if scheme.lower() == "deri-hmac-sha256":
            return self._verify_http_signature(value, session)
        raise SimError(10000, "authorization_required")

    def _verify_http_signature(self, value: str, session: Session) -> Token:
        fields = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
        client_id, ts, sig, nonce = (fields.get(k, "") for k in ("id", "ts", "sig", "nonce"))
        secret = self.secret(client_id)
        if secret is None or not ts.isdigit():
            raise SimError(13004, "invalid_credentials")
        self._check_timestamp(int(ts))
        request = session.request
        body = session.state.get("body", b"").decode()
        expected = _hex_hmac(
            secret, f"{ts}\n{nonce}\n{request.method.upper()}\n{request.path_qs}\n{body}\n"
        )
        if not _same_digest(expected, sig):
            raise SimError(13004, "invalid_credentials", {"reason": "bad signature"})
        return self.issue(client_id, None, "client_signature", session, store=False)

    def _check_timestamp(self, ts: int) -> None:
        if abs(ts - self.now_ms()) > _SIGNATURE_WINDOW_MS:
            raise SimError(13004, "invalid_credentials", {"reason": "timestamp out of window"})


def unfilled(order: dict[str, Any]) -> float:
    """What of ``order`` is still to fill. Rounded: amounts are decimal steps (0.1 of an
    option), and binary subtraction is not (1.0 - 0.9 is 0.09999999999999998), so a fill
    of the rest would print an amount Deribit never shows."""
    return round(float(order["amount"] - order["filled_amount"]), 10)


def _order_closed(order: dict[str, Any]) -> bool:
    return order["order_state"] not in LIVE_STATES
