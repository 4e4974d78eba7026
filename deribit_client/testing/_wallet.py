"""Simulator handlers for the wallet and account ledgers: the transaction log, deposits,
withdrawals, transfers to and between subaccounts, deposit addresses, margins, settlement
history and account locks (which refuse withdrawals and transfers as they refuse orders).
Balances only move through ``Account.book``, so the transaction log explains every change
of every balance."""

from __future__ import annotations

import heapq
from typing import Any

from ._accounting import account_figures, account_position, account_summary, order_margin
from ._accounts import LIVE_STATES, Account
from ._logs import remember
from ._market import CURRENCIES, DAY_MS
from ._orders import (
    account_identity,
    account_of,
    check_positive_price,
    currency_of,
)
from ._session import SimError, invalid_param, public_view
from ._shaped import declared_params
from ._state import Call, SimState
from ._statistics import apr

__all__ = ["register"]

_FEES = {c["currency"]: float(c["withdrawal_fee"]) for c in CURRENCIES}
# A withdrawal's priority is asked for by name and reported as a fee multiplier.
_PRIORITIES = {"very_low": 0.15, "low": 0.5, "mid": 0.75, "high": 1.0, "very_high": 1.5,
               "extreme_high": 2.0, "insane": 3.0}  # fmt: skip
MAX_SUBACCOUNTS = 20
"""Subaccounts per account (REFERENCE 3); one more is ``12001 too_many_subaccounts``."""


def _newest_page(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """``{count, data}`` pages, newest first, by ``offset`` and ``count``."""
    currency = params["currency"].upper()
    mine = [item for item in reversed(items) if item["currency"] == currency]
    offset, count = params.get("offset", 0), params.get("count", 10)
    return {"count": len(mine), "data": mine[offset : offset + count]}


def get_deposits(call: Call) -> dict[str, Any]:
    return _newest_page(account_of(call).deposits, declared_params(call))


def get_withdrawals(call: Call) -> dict[str, Any]:
    return _newest_page(account_of(call).withdrawals, declared_params(call))


def get_transfers(call: Call) -> dict[str, Any]:
    return _newest_page(account_of(call).transfers, declared_params(call))


def get_current_deposit_address(call: Call) -> dict[str, Any] | None:
    """The newest address ``create_deposit_address`` made, or null before the first (as
    the spec says: "Object if address is created, null otherwise")."""
    return account_of(call).deposit_address(declared_params(call)["currency"].upper())


def get_transaction_log(call: Call) -> dict[str, Any]:
    """Newest first within the time window; ``continuation`` is the id to go on below;
    ``query`` keeps entries whose type, side or instrument mention each of its words."""
    params = declared_params(call)
    currency = params["currency"].upper()
    start, end = params["start_timestamp"], params["end_timestamp"]
    below = params.get("continuation")
    words = str(params.get("query", "")).lower().split()
    count = params.get("count", 100)
    matches = []
    for entry in reversed(account_of(call).log):
        if entry["currency"] != currency or not start <= entry["timestamp"] <= end:
            continue
        if below is not None and entry["id"] >= below:
            continue
        text = " ".join(str(entry.get(k) or "") for k in ("type", "side", "instrument_name"))
        if all(word in text.lower() for word in words):
            matches.append(entry)
    page = matches[:count]
    more = len(matches) > count
    return {"logs": page, "continuation": page[-1]["id"] if more else None}


def get_user_locks(call: Call) -> list[dict[str, Any]]:
    """Each currency's lock; ``locked`` as the documentation's example names it,
    ``enabled`` as its schema does."""
    account = account_of(call)
    out = []
    for currency in (c["currency"] for c in CURRENCIES):
        locked = account.locked(currency)
        entry: dict[str, Any] = {"currency": currency, "locked": locked, "enabled": locked}
        if locked:
            entry["message"] = account.locks.get(currency, account.locks.get("ALL"))
        out.append(entry)
    return out


def _outgoing(call: Call) -> tuple[dict[str, Any], Account, str, float]:
    """The checked params, account, currency and amount of money leaving the account
    (a withdrawal or a transfer): not locked (11098), a positive amount."""
    params = declared_params(call)
    account = account_of(call)
    currency, amount = params["currency"].upper(), params["amount"]
    account.require_unlocked(currency)
    if amount <= 0:
        raise invalid_param("amount", "must be positive")
    return params, account, currency, amount


def _require_funds(sim: SimState, account: Account, currency: str, needed: float) -> None:
    """``10009 not_enough_funds`` unless ``needed`` can leave the account with its
    positions and open orders still margined: its available withdrawal funds, as Deribit
    limits withdrawals and transfers."""
    free = account_figures(sim, account, currency)["available_withdrawal_funds"]
    if needed > free + 1e-10:
        raise SimError(10009, "not_enough_funds")


def withdraw(call: Call) -> dict[str, Any]:
    params, account, currency, amount = _outgoing(call)
    if account.owns_address(currency, params["address"]):
        raise SimError(11096, "address_belongs_to_user")
    fee = _FEES.get(currency, 0.0)
    _require_funds(call.sim, account, currency, amount + fee)
    now = call.sim.now_ms()
    withdrawal = {
        "id": next(call.sim.trading.wallet_ids),
        "address": params["address"],
        "amount": amount,
        "currency": currency,
        "fee": fee,
        "priority": _PRIORITIES.get(params.get("priority", "high"), 1.0),
        "state": "unconfirmed",
        "transaction_id": None,
        "created_timestamp": now,
        "confirmed_timestamp": None,
        "updated_timestamp": now,
    }
    remember(account.withdrawals, withdrawal)
    account.book(now, currency, "withdrawal", -(amount + fee), commission=fee,
                 info={"addr": params["address"]})  # fmt: skip
    return withdrawal


def cancel_withdrawal(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    account = account_of(call)
    currency = params["currency"].upper()
    for withdrawal in account.withdrawals:
        if withdrawal["id"] == params["id"] and withdrawal["currency"] == currency:
            if withdrawal["state"] != "unconfirmed":
                raise SimError(11029, "invalid_arguments", {"reason": "no longer cancellable"})
            now = call.sim.now_ms()
            withdrawal.update(state="cancelled", updated_timestamp=now)
            refund = withdrawal["amount"] + withdrawal["fee"]
            account.book(now, currency, "withdrawal", refund, info={"cancelled": withdrawal["id"]})
            return withdrawal
    raise SimError(13020, "not_found")


def _subaccount(account: Account, sid: int) -> Account:
    sub = account.subaccounts.get(sid)
    if sub is None:
        raise SimError(12100, "transfer_not_allowed", {"reason": f"no subaccount {sid}"})
    return sub


def _transfer(call: Call, source: Account, target: Account) -> Any:
    """Move ``amount`` of ``currency`` from ``source`` (the main account or a subaccount)
    to the subaccount ``target``: both ledgers log it, the source lists the payment (and
    the main account, when it moved a subaccount's funds), the target the income."""
    _, account, currency, amount = _outgoing(call)
    _require_funds(call.sim, source, currency, amount)
    now = call.sim.now_ms()
    for side, change, holder, other in (
        ("-", -amount, source, target),
        ("+", amount, target, source),
    ):
        holder.book(now, currency, "transfer", change, side=side,
                    info={"transfer_type": "subaccount", "other_user_id": other.user_id,
                          "other_user": other.username})  # fmt: skip
    transfer = {
        "id": next(call.sim.trading.wallet_ids),
        "type": "subaccount",
        "direction": "payment",
        "state": "confirmed",
        "other_side": target.username,
        "currency": currency,
        "amount": amount,
        "created_timestamp": now,
        "updated_timestamp": now,
    }
    remember(source.transfers, transfer)
    if account is not source:
        remember(account.transfers, transfer)
    remember(target.transfers, {**transfer, "direction": "income", "other_side": source.username})
    return transfer


def submit_transfer_to_subaccount(call: Call) -> Any:
    account = account_of(call)
    target = _subaccount(account, declared_params(call)["destination"])
    return _transfer(call, account, target)


def submit_transfer_between_subaccounts(call: Call) -> Any:
    params = declared_params(call)
    account = account_of(call)
    target = _subaccount(account, params["destination"])
    source_id = params.get("source", account.user_id)
    source = account if source_id == account.user_id else _subaccount(account, source_id)
    return _transfer(call, source, target)


def submit_transfer_to_user(call: Call) -> dict[str, Any]:
    """Send funds to another simulated user's deposit address, which must be in the
    sender's address book as a ``transfer`` address (``11091`` otherwise). The sender is
    debited at once; the transfer stays ``prepared`` (cancellable) for
    ``sim.trading.transfer_confirmation_ms``, then the recipient is credited."""
    params, account, currency, amount = _outgoing(call)
    destination = params["destination"]
    trading = call.sim.trading
    if (currency, "transfer", destination) not in account.address_book:
        raise SimError(11091, "invalid_transfer_address",
                       {"reason": "not a transfer address of the address book"})  # fmt: skip
    recipient = next(
        (a for a in trading.accounts.values() if a.owns_address(currency, destination)), None
    )
    if recipient is None or recipient is account:
        reason = "the own account" if recipient is account else "no user has this address"
        raise SimError(11091, "invalid_transfer_address", {"reason": reason})
    _require_funds(call.sim, account, currency, amount)
    now = call.sim.now_ms()
    transfer = {"id": next(trading.wallet_ids), "type": "user", "direction": "payment",
                "state": "prepared", "other_side": destination, "currency": currency,
                "amount": amount, "created_timestamp": now, "updated_timestamp": now}  # fmt: skip
    account.book(now, currency, "transfer", -amount, side="-",
                 info={"transfer_type": "user", "addr": destination})  # fmt: skip
    remember(account.transfers, transfer)
    due = now + trading.transfer_confirmation_ms
    entry = (due, transfer["id"], account.client_id, recipient.client_id, transfer)
    heapq.heappush(trading.pending_transfers, entry)
    return transfer


def cancel_transfer_by_id(call: Call) -> dict[str, Any]:
    """Cancel a ``prepared`` transfer to a user and refund it; a transfer that is no longer
    prepared gets ``11029``, an unknown one ``11053 transfer_not_found``."""
    params = declared_params(call)
    account = account_of(call)
    currency = params["currency"].upper()
    for transfer in account.transfers:
        if (transfer["id"], transfer["currency"], transfer["direction"]) == (
            params["id"],
            currency,
            "payment",
        ):
            if transfer["state"] != "prepared":
                raise SimError(11029, "invalid_arguments", {"reason": "no longer cancellable"})
            now = call.sim.now_ms()
            transfer.update(state="cancelled", updated_timestamp=now)
            account.book(now, currency, "transfer", transfer["amount"], side="+",
                         info={"cancelled": transfer["id"]})  # fmt: skip
            return transfer
    raise SimError(11053, "transfer_not_found")


MAX_DEPOSIT_ADDRESSES = 100
"""Deposit addresses per currency before ``11093 max_addr_count_exceeded``."""


def create_deposit_address(call: Call) -> dict[str, Any]:
    """A new current deposit address; the earlier ones still receive."""
    currency = declared_params(call)["currency"].upper()
    account = account_of(call)
    if len(account.deposit_addresses.get(currency, ())) >= MAX_DEPOSIT_ADDRESSES:
        raise SimError(11093, "max_addr_count_exceeded")
    return account.new_deposit_address(currency, call.sim.now_ms())


def create_subaccount(call: Call) -> dict[str, Any]:
    account = account_of(call)
    if account.main is not None:
        raise SimError(13021, "forbidden", {"reason": "a subaccount has no subaccounts"})
    if len(account.subaccounts) >= MAX_SUBACCOUNTS:
        raise SimError(12001, "too_many_subaccounts")
    return _member_view(call.sim, call.sim.trading.add_subaccount(account), True)


def get_subaccounts(call: Call) -> list[dict[str, Any]]:
    with_portfolio = declared_params(call).get("with_portfolio", False)
    account = account_of(call)
    members = [account, *account.subaccounts.values()]
    return [_member_view(call.sim, member, with_portfolio) for member in members]


_PORTFOLIO = ("balance", "equity", "margin_balance", "available_funds",
              "available_withdrawal_funds", "initial_margin", "maintenance_margin",
              "spot_reserve")  # fmt: skip


def _member_view(sim: SimState, member: Account, with_portfolio: bool) -> dict[str, Any]:
    """A ``get_subaccounts`` entry: the main account or one of its subaccounts."""
    if member.main is None:
        identity = account_identity(member)
        view = {k: identity[k] for k in ("id", "username", "system_name", "email", "type")}
        view.update(is_password=True, login_enabled=True, receive_notifications=True,
                    security_keys_enabled=False)  # fmt: skip
    else:
        view = dict(member.profile)
    view["margin_model"] = member.settings["margin_model"]
    if with_portfolio:
        summaries = {c: account_summary(sim, member, c) for c in sorted(member.balances)}
        view["portfolio"] = {
            currency.lower(): {"currency": currency.lower(),
                               **{k: summary[k] for k in _PORTFOLIO}, "additional_reserve": 0.0}
            for currency, summary in summaries.items()
        }  # fmt: skip
    return view


def change_subaccount_name(call: Call) -> str:
    """Rename a subaccount: letters, digits and ``_``, unique (``12002`` otherwise)."""
    params = declared_params(call)
    sub = account_of(call).subaccount(params["sid"])
    name = params["name"]
    taken = {s.username for s in account_of(call).subaccounts.values() if s is not sub}
    if not name.replace("_", "").isalnum() or name in taken:
        raise SimError(12002, "wrong_subaccount_name")
    sub.profile["username"] = name
    return "ok"


def remove_subaccount(call: Call) -> str:
    """Remove an empty subaccount, its keys and tokens (one holding funds, positions or
    open orders is refused with ``11029``)."""
    params = declared_params(call)
    account = account_of(call)
    sub = account.subaccount(params["subaccount_id"])
    held = [*sub.balances.values(), *(p["size"] for p in sub.positions.values())]
    if any(held) or sub.live_orders():
        raise SimError(11029, "invalid_arguments", {"reason": "the subaccount is not empty"})
    call.sim.trading.remove_subaccount(account, sub.user_id)
    return "ok"


def toggle_subaccount_login(call: Call) -> str:
    params = declared_params(call)
    account_of(call).subaccount(params["sid"]).profile["login_enabled"] = (
        params["state"] == "enable"
    )
    return "ok"


def toggle_notifications_from_subaccount(call: Call) -> str:
    params = declared_params(call)
    account_of(call).subaccount(params["sid"]).profile["receive_notifications"] = params["state"]
    return "ok"


def set_email_for_subaccount(call: Call) -> str:
    """The address waits for confirmation (``not_confirmed_email``), as on Deribit."""
    params = declared_params(call)
    if "@" not in params["email"]:
        raise invalid_param("email", "not an email address")
    account_of(call).subaccount(params["sid"]).profile["not_confirmed_email"] = params["email"]
    return "ok"


def get_subaccounts_details(call: Call) -> list[dict[str, Any]]:
    """Each subaccount's positions in ``currency`` and, with ``with_open_orders``, its open
    orders there."""
    params = declared_params(call)
    currency = params["currency"].upper()
    instruments = call.sim.market.instruments
    out = []
    for sid, sub in account_of(call).subaccounts.items():
        positions = [
            account_position(call.sim, sub, name)
            for name, held in sub.positions.items()
            if held["size"] and currency_of(instruments[name]) == currency
        ]
        entry: dict[str, Any] = {"uid": sid, "positions": positions}
        if params.get("with_open_orders"):
            entry["open_orders"] = [
                public_view(o)
                for o in sub.live_orders()
                if currency_of(instruments[o["instrument_name"]]) == currency
            ]
        out.append(entry)
    return out


# -- the address book ---------------------------------------------------------------------

_BENEFICIARY = ("beneficiary_vasp_name", "beneficiary_vasp_did", "beneficiary_vasp_website",
                "beneficiary_first_name", "beneficiary_last_name", "beneficiary_company_name",
                "beneficiary_address", "agreed", "personal", "label")  # fmt: skip
MAX_ADDRESSES = 100
"""Address book entries per currency and type before ``11093 max_addr_count_exceeded``."""


def _book_key(params: dict[str, Any]) -> tuple[str, str, str]:
    return params["currency"].upper(), params["type"], params["address"]


def add_to_address_book(call: Call) -> dict[str, Any]:
    params = declared_params(call)
    account = account_of(call)
    key = _book_key(params)
    if key in account.address_book:
        raise SimError(11092, "address_already_exist")
    if sum(k[:2] == key[:2] for k in account.address_book) >= MAX_ADDRESSES:
        raise SimError(11093, "max_addr_count_exceeded")
    if key[1] == "withdrawal" and account.owns_address(key[0], params["address"]):
        raise SimError(11096, "address_belongs_to_user")
    entry = {"currency": key[0], "type": key[1], "address": key[2],
             "creation_timestamp": call.sim.now_ms(), "status": "confirmed",
             "requires_confirmation": False, "requires_confirmation_change": False,
             "info_required": False,
             **{name: params[name] for name in _BENEFICIARY if name in params}}  # fmt: skip
    account.address_book[key] = entry
    return entry


def _entry(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    entry = account_of(call).address_book.get(_book_key(params))
    if entry is None:
        raise SimError(13020, "not_found", {"reason": "no such address book entry"})
    return entry


def update_in_address_book(call: Call) -> str:
    params = declared_params(call)
    _entry(call, params).update({name: params[name] for name in _BENEFICIARY if name in params})
    return "ok"


def remove_from_address_book(call: Call) -> str:
    params = declared_params(call)
    _entry(call, params)
    del account_of(call).address_book[_book_key(params)]
    return "ok"


def get_address_book(call: Call) -> list[dict[str, Any]]:
    params = declared_params(call)
    wanted = (params["currency"].upper(), params["type"])
    return [e for k, e in account_of(call).address_book.items() if k[:2] == wanted]


def get_margins(call: Call) -> dict[str, Any]:
    """The initial margin a buy and a sell of ``amount`` at ``price`` would reserve (an
    option buy: its premium)."""
    params = declared_params(call)
    name = params["instrument_name"]
    instrument = call.sim.market.require(name)
    check_positive_price(instrument, params["price"])
    order = {"amount": params["amount"], "filled_amount": 0.0, "price": params["price"]}
    buy, sell = (
        round(order_margin(call.sim, instrument, {**order, "direction": way}), 10)
        for way in ("buy", "sell")
    )
    ticker = call.sim.market.ticker(name, call.sim.now_ms())
    return {"buy": buy, "sell": sell, "min_price": ticker["min_price"],
            "max_price": ticker["max_price"]}  # fmt: skip


def get_order_margin_by_ids(call: Call) -> list[dict[str, Any]]:
    """The initial margin each open order reserves (0 once it is closed); an id that is
    not the account's is ``10004 order_not_found``."""
    params = declared_params(call)
    orders = account_of(call).orders
    out = []
    for order_id in params["ids"]:
        order = orders.get(str(order_id))
        if order is None:
            raise SimError(10004, "order_not_found", {"order_id": order_id})
        instrument = call.sim.market.instruments[order["instrument_name"]]
        is_open = order["order_state"] in LIVE_STATES
        margin = round(order_margin(call.sim, instrument, order), 10) if is_open else 0.0
        out.append({"order_id": order["order_id"], "initial_margin": margin,
                    "initial_margin_currency": currency_of(instrument)})  # fmt: skip
    return out


EMAIL_LANGUAGES = ("en", "ko", "zh", "ja", "ru")
"""The languages Deribit writes its e-mails in."""


def set_email_language(call: Call) -> str:
    language = declared_params(call)["language"]
    if language not in EMAIL_LANGUAGES:
        raise invalid_param("language", f"must be one of {', '.join(EMAIL_LANGUAGES)}")
    account_of(call).settings["email_language"] = language
    return "ok"


def get_email_language(call: Call) -> str:
    return str(account_of(call).settings["email_language"])


def set_self_trading_config(call: Call) -> str:
    """Kept and reported by the account summaries (the simulator's matching never trades
    an account with itself, whatever the mode)."""
    params = declared_params(call)
    settings = account_of(call).settings
    settings["self_trading_reject_mode"] = params["mode"]
    settings["self_trading_extended_to_subaccounts"] = params["extended_to_subaccounts"]
    if "block_rfq_self_match_prevention" in params:
        settings["block_rfq_self_match_prevention"] = params["block_rfq_self_match_prevention"]
    return "ok"


def change_margin_model(call: Call) -> list[dict[str, Any]]:
    """Switch the margin model of the account or one of its subaccounts (not with
    ``dry_run``); per currency, the margin rates and available balance before and after
    (the simulator charges the same margin under every model; cross collateral pools
    the currencies)."""
    params = declared_params(call)
    account = account_of(call)
    target = account.member(params.get("user_id", account.user_id))
    settings = target.settings
    old_model = settings["margin_model"]
    before = _margin_states(call.sim, target)
    settings["margin_model"] = params["margin_model"]
    after = _margin_states(call.sim, target)
    if params.get("dry_run"):
        settings["margin_model"] = old_model
    return [
        {"currency": currency.lower(), "old_state": before[currency], "new_state": after[currency]}
        for currency in sorted(target.balances)
    ]


def _margin_states(sim: SimState, account: Account) -> dict[str, dict[str, float]]:
    """Per currency, the margin rates and available balance ``change_margin_model``
    reports."""
    states = {}
    for currency in account.balances:
        summary = account_figures(sim, account, currency)
        balance = summary["margin_balance"] or 1.0  # rates of an empty account are 0
        states[currency] = {
            "maintenance_margin_rate": round(summary["maintenance_margin"] / balance, 8),
            "initial_margin_rate": round(summary["initial_margin"] / balance, 8),
            "available_balance": summary["available_funds"],
        }
    return states


# -- programmes the simulated accounts take part in ------------------------------------------


def enable_affiliate_program(call: Call) -> str:
    account_of(call).settings["affiliate_program"] = True
    return "ok"


def get_affiliate_program_info(call: Call) -> dict[str, Any]:
    """The programme's state; nobody signs up through a simulated link, so there are no
    affiliates and nothing received."""
    account = account_of(call)
    enabled = account.settings["affiliate_program"]
    link = f"https://www.deribit.com/reg-{account.user_id}.sim" if enabled else None
    return {"is_enabled": enabled, "number_of_affiliates": 0, "link": link,
            "received": {"btc": 0.0, "eth": 0.0}}  # fmt: skip


_REWARD_ASSETS = {"usdc": "usdc", "usde": "usde", "buidl": "build", "steth": "steth"}
"""Yield-bearing assets -> the coin name ``public/get_apr_history`` knows them by."""


def get_reward_eligibility(call: Call) -> dict[str, Any]:
    """Per yield-bearing asset: eligible while the account holds some, with the average
    APR of the last seven days of ``public/get_apr_history``."""
    account = account_of(call)
    today = call.sim.now_ms() // DAY_MS
    out = {}
    for asset, coin in _REWARD_ASSETS.items():
        week = [apr(call.sim.market, coin, day) for day in range(today - 7, today)]
        held = account.balances.get(asset.upper(), 0.0) > 0
        out[asset] = {"eligibility_status": "eligible" if held else "non_eligible",
                      "apr_sma7": round(sum(week) / len(week), 6)}  # fmt: skip
    return out


def list_custody_accounts(call: Call) -> list[dict[str, Any]]:
    """No custodian is linked to a simulated account (the currency is still checked)."""
    declared_params(call)
    return []


def _no_broker_trades(call: Call) -> dict[str, Any]:
    """Simulated accounts are not brokers' clients: no broker trades (params checked)."""
    declared_params(call)
    return {"history": [], "next_start_id": None}


def _no_broker_trade_requests(call: Call) -> list[dict[str, Any]]:
    return []


def register(sim: SimState) -> None:
    """Install these handlers on ``sim``."""
    for fn in (
        get_deposits,
        get_withdrawals,
        get_transfers,
        get_current_deposit_address,
        get_transaction_log,
        withdraw,
        cancel_withdrawal,
        submit_transfer_to_subaccount,
        submit_transfer_between_subaccounts,
        submit_transfer_to_user,
        cancel_transfer_by_id,
        create_deposit_address,
        create_subaccount,
        get_subaccounts,
        get_margins,
        get_user_locks,
        change_subaccount_name,
        remove_subaccount,
        toggle_subaccount_login,
        toggle_notifications_from_subaccount,
        set_email_for_subaccount,
        get_subaccounts_details,
        add_to_address_book,
        update_in_address_book,
        remove_from_address_book,
        get_address_book,
        get_order_margin_by_ids,
        set_email_language,
        get_email_language,
        set_self_trading_config,
        change_margin_model,
        enable_affiliate_program,
        get_affiliate_program_info,
        get_reward_eligibility,
        list_custody_accounts,
    ):
        sim.methods[f"private/{fn.__name__}"] = fn
    sim.methods["private/get_broker_trades"] = _no_broker_trades
    sim.methods["private/get_broker_trade_requests"] = _no_broker_trade_requests
