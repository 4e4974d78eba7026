"""Simulator Market Maker Protection: a config per (index, MMP group); fills of MMP orders
counted over its interval; a limit met freezes the group, whose orders ``_orders`` then
cancels (reason ``mmp_trigger``) and announces on ``user.mmp_trigger.{index_name}``.

Block RFQ MMP (``block_rfq=true``) is configured, listed and reset apart from the order
book's, as Deribit documents, per index or for ``all`` of them (with a
``trade_count_limit``): it counts a maker's Block RFQ fills, and a limit met freezes it,
cancels the maker's open quotes it covers and refuses new ones (``_block_rfq``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ._accounts import Account, unfilled
from ._market import base_size
from ._session import SimError, invalid_param
from ._shaped import declared_params
from ._state import Call, SimState, account_of
from ._streams import publish_to_account

__all__ = [
    "MmpKey",
    "Protection",
    "announce",
    "block_rfq_frozen",
    "block_rfq_keys",
    "check_order",
    "key_of",
    "protections",
    "record_block_rfq_fill",
    "record_fill",
    "register",
    "trigger_notice",
    "unit_greeks",
]

MmpKey = tuple[bool, str, str | None]
"""``(block_rfq, index_name, mmp_group)``: what one MMP config covers."""
_LIMITS = ("quantity_limit", "delta_limit", "vega_limit", "max_quote_quantity")


@dataclass
class Protection:
    """One MMP config and its state: recent fills and whether it is frozen."""

    config: dict[str, Any]
    fills: deque[tuple[int, float, float, float]] = field(default_factory=deque)
    """``(timestamp, size in base currency, signed delta, vega)`` within the interval."""
    frozen_until: int | None = None
    """None: not frozen; 0: until ``reset_mmp``; else a timestamp."""

    def frozen(self, now: int) -> bool:
        return self.frozen_until is not None and (self.frozen_until == 0 or now < self.frozen_until)

    def reset(self) -> None:
        self.fills.clear()
        self.frozen_until = None

    def count(self, now: int, size: float, delta: float, vega: float) -> bool:
        """Count a fill; True when that meets a limit over the interval (the protection
        is then frozen for ``frozen_time``, 0: until reset)."""
        config, fills = self.config, self.fills
        fills.append((now, size, delta, vega))
        while fills and fills[0][0] <= now - config["interval"] * 1000:
            fills.popleft()
        totals = {
            "quantity_limit": sum(f[1] for f in fills),
            "delta_limit": abs(sum(f[2] for f in fills)),
            "vega_limit": sum(f[3] for f in fills),
            "trade_count_limit": len(fills),
        }
        if not any(config.get(n) and total >= config[n] - 1e-9 for n, total in totals.items()):
            return False
        frozen_time = config["frozen_time"]
        self.frozen_until = now + frozen_time * 1000 if frozen_time else 0
        fills.clear()
        return True


def protections(account: Account) -> dict[MmpKey, Protection]:
    table: dict[MmpKey, Protection] = account.mmp  # typed here: _accounts cannot import us
    return table


def key_of(instrument: dict[str, Any], order: dict[str, Any]) -> MmpKey:
    """The config an MMP order (or a quote of a group) is under."""
    return False, str(instrument["price_index"]), order.get("mmp_group")


def unit_greeks(sim: SimState, instrument: dict[str, Any]) -> tuple[float, float]:
    """Delta and vega per unit of base currency: an option's from its ticker, a future's
    delta 1 and vega 0."""
    if instrument["kind"] != "option":
        return 1.0, 0.0
    greeks = sim.market.ticker(instrument["instrument_name"], sim.now_ms())["greeks"]
    return float(greeks["delta"]), float(greeks["vega"])


def check_order(
    sim: SimState, account: Account, instrument: dict[str, Any], order: dict[str, Any]
) -> None:
    """Refuse an MMP order without a config (13040), while its group is frozen (13030), or
    that would take the open MMP size of its side above ``max_quote_quantity``."""
    key = key_of(instrument, order)
    protection = protections(account).get(key)
    if protection is None:
        raise SimError(13040, "mmp_required", {"reason": f"no MMP config for {key[1]}"})
    if protection.frozen(sim.now_ms()):
        raise SimError(13030, "mmp_trigger")
    limit = protection.config.get("max_quote_quantity")
    if not limit:
        return
    name, side = order["instrument_name"], order["direction"]
    open_size = sum(
        base_size(instrument, unfilled(o), o["price"])
        for o in account.live_orders()
        if o["order_state"] == "open"
        and o["mmp"]
        and o["instrument_name"] == name
        and o["direction"] == side
        and o["order_id"] != order["order_id"]  # an edit replaces the order's own size
        and key_of(instrument, o) == key
    )
    wanted = base_size(instrument, unfilled(order), order["price"])
    if open_size + wanted > limit + 1e-9:
        raise SimError(11030, "other_reject max_quote_quantity_exceeded")


def halted(
    sim: SimState, account: Account, instrument: dict[str, Any], order: dict[str, Any]
) -> bool:
    """Whether ``order`` is an MMP order whose protection is frozen (it is about to be
    cancelled and must not fill meanwhile)."""
    if not order["mmp"]:
        return False
    protection = protections(account).get(key_of(instrument, order))
    return protection is not None and protection.frozen(sim.now_ms())


def record_fill(
    sim: SimState,
    account: Account,
    instrument: dict[str, Any],
    order: dict[str, Any],
    amount: float,
    price: float,
) -> MmpKey | None:
    """Count a fill of an MMP order; returns its key when that trips the protection (the
    group is then frozen, and its orders are the caller's to cancel)."""
    if not order["mmp"]:
        return None
    key = key_of(instrument, order)
    protection = protections(account).get(key)
    now = sim.now_ms()
    if protection is None or protection.frozen(now):
        return None
    size, delta, vega = _exposure(sim, instrument, order["direction"], amount, price)
    return key if protection.count(now, size, delta, vega) else None


def _exposure(
    sim: SimState, instrument: dict[str, Any], direction: str, amount: float, price: float
) -> tuple[float, float, float]:
    """A fill's size in base currency, signed delta and vega."""
    size = base_size(instrument, amount, price)
    sign = 1.0 if direction == "buy" else -1.0
    unit_delta, unit_vega = unit_greeks(sim, instrument)
    return size, sign * unit_delta * size, abs(unit_vega * size)


def block_rfq_keys(account: Account, index_names: Iterable[str]) -> list[MmpKey]:
    """The account's Block RFQ MMP configs covering an RFQ on ``index_names``."""
    names = set(index_names)
    return [key for key in protections(account) if key[0] and (key[1] == "all" or key[1] in names)]


def block_rfq_frozen(sim: SimState, account: Account, index_names: Iterable[str]) -> bool:
    """Whether a Block RFQ MMP config covering these indices is frozen (13030 for quotes)."""
    table, now = protections(account), sim.now_ms()
    return any(table[key].frozen(now) for key in block_rfq_keys(account, index_names))


def record_block_rfq_fill(
    sim: SimState, maker: Account, legs: Iterable[tuple[str, float, float, str]]
) -> list[MmpKey]:
    """Count one Block RFQ fill of ``maker`` (legs ``(name, price, amount, direction)``,
    directions the maker's) under each config covering it: an index's own config counts
    the legs on its index, ``all`` every leg. Returns the keys it trips."""
    market, now = sim.market, sim.now_ms()
    on_index: dict[str, list[tuple[float, float, float]]] = {}
    for name, price, amount, direction in legs:
        instrument = market.instruments[name]
        exposure = _exposure(sim, instrument, direction, amount, price)
        on_index.setdefault(str(instrument["price_index"]), []).append(exposure)
    tripped = []
    for key in block_rfq_keys(maker, on_index):
        protection = protections(maker)[key]
        if protection.frozen(now):
            continue
        counted = [e for index, some in on_index.items() if key[1] in ("all", index) for e in some]
        size, delta, vega = (sum(column) for column in zip(*counted, strict=True))
        if protection.count(now, size, delta, vega):
            tripped.append(key)
    return tripped


def trigger_notice(account: Account, key: MmpKey) -> dict[str, Any]:
    """The ``user.mmp_trigger`` payload for a tripped protection."""
    block_rfq, index_name, group = key
    notice: dict[str, Any] = {
        "index_name": index_name,
        "frozen_until": protections(account)[key].frozen_until,
    }
    if group is not None:
        notice["mmp_group"] = group
    if block_rfq:
        notice["block_rfq"] = True
    return notice


async def announce(sim: SimState, account: Account, key: MmpKey) -> None:
    """Publish a tripped protection on the account's ``user.mmp_trigger.{index_name}``
    channels (on every index's for a Block RFQ config of ``all``)."""
    notice = trigger_notice(account, key)
    await publish_to_account(sim, account.client_id, "user.mmp_trigger", notice,
                             lambda parts: key[1] == "all" or parts == [key[1]])  # fmt: skip


# -- handlers -----------------------------------------------------------------------------


def _key(params: dict[str, Any]) -> MmpKey:
    """The config a request names; index ``all`` only for Block RFQ MMP (as documented)."""
    block_rfq = bool(params.get("block_rfq", False))
    index_name = params["index_name"]
    if index_name == "all" and not block_rfq:
        raise invalid_param("index_name", "'all' only with block_rfq=true")
    group = params.get("mmp_group")
    if group is not None and not 0 < len(group) <= 64:
        raise invalid_param("mmp_group", "1 to 64 characters")
    return block_rfq, index_name, group


def set_mmp_config(call: Call) -> dict[str, Any]:
    """Store a config (interval 0 removes it); setting one resets the protection."""
    params = declared_params(call)
    key = _key(params)
    block_rfq, index_name, group = key
    table = protections(account_of(call))
    if group is not None and any(k[2] == group and k[:2] != key[:2] for k in table):
        raise invalid_param("mmp_group", "the group is configured for another index")
    for name in (*_LIMITS, "interval", "frozen_time"):
        value = params.get(name)
        if value is not None and (value < 0 or round(value, 4) != value):
            raise invalid_param(name, "a positive value with at most 4 decimals")
    if not block_rfq and params.get("max_quote_quantity") is None:
        raise invalid_param("max_quote_quantity", "required without block_rfq (since 16 Dec 2025)")
    if "trade_count_limit" in params:
        if not block_rfq or index_name != "all":
            raise invalid_param(
                "trade_count_limit", "only with block_rfq=true and index_name 'all'"
            )
        if not 0 <= params["trade_count_limit"] <= 1000:
            raise invalid_param("trade_count_limit", "at most 1000")
    config = {
        "index_name": index_name,
        "interval": params["interval"],
        "frozen_time": params["frozen_time"],
    }
    if group is not None:
        config["mmp_group"] = group
    for name in (*_LIMITS, "trade_count_limit"):
        if name in params:
            config[name] = params[name]
    if block_rfq:
        config["block_rfq"] = True
    if params["interval"] == 0:
        table.pop(key, None)
    else:
        table[key] = Protection(config)
    return config


def _selected(call: Call) -> list[tuple[MmpKey, Protection]]:
    """The configs ``get_mmp_config``/``get_mmp_status`` ask about: an index's plain (or
    named group's) config, or every config without ``index_name``."""
    params = declared_params(call)
    block_rfq = bool(params.get("block_rfq", False))
    index_name = params.get("index_name")
    group = params.get("mmp_group")
    if group is not None and index_name is None:
        raise invalid_param("mmp_group", "needs index_name")
    return [
        (key, protection)
        for key, protection in protections(account_of(call)).items()
        if key[0] == block_rfq and (index_name is None or key[1:] == (index_name, group))
    ]


def get_mmp_config(call: Call) -> list[dict[str, Any]]:
    return [dict(protection.config) for _, protection in _selected(call)]


def get_mmp_status(call: Call) -> list[dict[str, Any]]:
    """The frozen configs asked about."""
    now = call.sim.now_ms()
    account = account_of(call)
    return [
        trigger_notice(account, key)
        for key, protection in _selected(call)
        if protection.frozen(now)
    ]


def reset_mmp(call: Call) -> str:
    params = declared_params(call)
    key = _key(params)
    for other, protection in protections(account_of(call)).items():
        if other == key or (key[0] and key[1] == "all" and other[0] and other[2] == key[2]):
            protection.reset()
    return "ok"


def register(sim: SimState) -> None:
    """Install the MMP handlers on ``sim``."""
    for handler in (set_mmp_config, get_mmp_config, get_mmp_status, reset_mmp):
        sim.methods[f"private/{handler.__name__}"] = handler
