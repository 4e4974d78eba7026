"""What an account hears on its ``user.*`` channels after something moved its orders,
trades, positions or balance: ``user.orders``, ``user.trades``, ``user.combo_trades``,
``user.changes`` and ``user.portfolio`` (REFERENCE 5), from order operations
(``_orders``, ``_block_trades``) and settlements (``_settlement``) alike."""

from __future__ import annotations

from typing import Any

from ._accounting import account_position, account_summary, holds_position
from ._accounts import Account
from ._market import channel_covers, currency_matches, currency_of, leg_trades
from ._session import Session, public_view
from ._state import SimState
from ._streams import account_channels

__all__ = ["notify_user"]


def notify_user(
    sim: SimState,
    account: Account,
    instrument: dict[str, Any],
    orders: list[dict[str, Any]],
    trades: list[dict[str, Any]],
    *,
    settled: bool = False,
) -> None:
    """Publish the account's orders, trades, position and portfolio after an operation on
    ``instrument`` to its ``user.*`` channels (``settled``: a settlement or delivery moved
    the position and balance without either). A combo's trades also reach its legs'
    channels as the legs' trades, and ``user.combo_trades.*`` of the combo or a leg."""
    market = sim.market
    name = instrument["instrument_name"]
    orders = [public_view(o) for o in orders]
    legs = market.combo_legs.get(name, ())
    # (instrument, its orders, its trades, the positions the change moved)
    held = [name] if holds_position(instrument) else []
    parts_of = [(instrument, orders, trades, [leg for leg, _ in legs] or held)]
    parts_of += [
        (market.instruments[leg], [], own, [leg]) for leg, own in leg_trades(trades).items()
    ]
    for session, channel in account_channels(sim, account.client_id):
        parts = channel.split(".")
        if parts[0] != "user" or len(parts) < 3:
            continue
        family = parts[1]
        if family == "portfolio" and (trades or settled):
            if currency_matches(parts[2], currency_of(instrument)):
                data = account_summary(sim, account, currency_of(instrument))
                session.notify(channel, data)
            continue
        # user.x.{instrument}.{interval} or user.x.{kind}.{currency}.{interval}
        covered = [part for part in parts_of if channel_covers(parts[2:-1], part[0])]
        if family == "combo_trades":
            if legs and trades and covered:
                session.notify(channel, trades)
            continue
        for covered_instrument, own_orders, own_trades, moved in covered:
            _notify_part(sim, account, session, channel, covered_instrument,
                         own_orders, own_trades, moved, settled)  # fmt: skip


def _notify_part(
    sim: SimState,
    account: Account,
    session: Session,
    channel: str,
    instrument: dict[str, Any],
    orders: list[dict[str, Any]],
    trades: list[dict[str, Any]],
    moved: list[str],
    settled: bool,
) -> None:
    """What a ``user.orders|trades|changes`` ``channel`` covering ``instrument`` sees."""
    parts = channel.split(".")
    family = parts[1]
    if family == "orders" and orders:
        if parts[-1] == "raw":
            for order in orders:  # one order per change on raw (REFERENCE 5)
                session.notify(channel, order)
        else:
            session.notify(channel, orders)
    elif family == "trades" and trades:
        session.notify(channel, trades)
    elif family == "changes" and (orders or trades or settled):
        data = {
            "instrument_name": instrument["instrument_name"],
            "orders": orders,
            "trades": trades,
            "positions": [account_position(sim, account, n) for n in moved],
        }
        session.notify(channel, data)
