"""The Exberry simulator's positions (S1 ``other/business-features/new-v1.56.0-positions``,
v1.56): each participant's position per instrument, from every trade it makes (on the
book, reported, or on an RFQ), kept gross (long and short sides apart) and reported
gross or net as the participant's ``positionCalculation`` says (``Net`` by default);
:meth:`PositionBook.end_of_day` keeps the day's positions, which ``mp/positions``
reports by ``eodDate`` (the current ones when no ``eodDateTo`` is asked).

Average prices are the weighted averages of all buys (long) and all sells (short); a
net position's average is that of the side it stands on. The simulator's trades carry
no position account: only ``reportType`` ``MP`` has rows.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ._exberry_rules import Fail, Participant, Types, exact_number, iso, report_day, typed

__all__ = ["PositionBook"]

_TYPES: Types = {
    "eodDateFrom": str, "eodDateTo": str, "reportType": str, "mpId": (int, str),
    "positionAccountId": (int, str), "instrument": str, "orderBy": dict, "limit": int,
    "offset": int,
}  # fmt: skip


@dataclass(frozen=True)
class _Position:
    bought: Decimal = Decimal(0)
    bought_value: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    sold_value: Decimal = Decimal(0)
    last_event: int = 0  # ns
    last_event_id: int = 0


class PositionBook:
    """Positions of one simulator (``sim.positions``); ``calculation`` maps a
    participant's key to ``"Gross"`` or ``"Net"`` (the venue's MP setting)."""

    def __init__(
        self,
        participant: Callable[[str], Participant],
        instrument_id: Callable[[str], int],
        now_ns: Callable[[], int],
        history: int,
    ) -> None:
        self.calculation: dict[str, str] = {}
        self._current: dict[tuple[str, str], _Position] = {}  # (participant, instrument)
        self._days: deque[tuple[str, str, str, _Position]] = deque(maxlen=history)
        self._participant, self._instrument_id, self._now_ns = participant, instrument_id, now_ns

    def apply(self, mp: str, trade: Mapping[str, Any]) -> None:
        """Count one trade record of ``mp`` (a ``trades`` stream payload: ``side``,
        ``price``, ``quantity``; a ``TradeCancel`` takes its trade back)."""
        sign = -1 if trade.get("actionType") == "TradeCancel" else 1
        quantity = sign * Decimal(repr(trade["quantity"]))
        value = quantity * Decimal(repr(trade["price"]))
        key = (mp, trade["instrument"])
        held = self._current.get(key, _Position())
        if trade["side"] == "Buy":
            held = replace(held, bought=held.bought + quantity,
                           bought_value=held.bought_value + value)  # fmt: skip
        else:
            held = replace(held, sold=held.sold + quantity, sold_value=held.sold_value + value)
        self._current[key] = replace(
            held, last_event=trade["timestamp"], last_event_id=trade["eventId"]
        )

    def end_of_day(self, date: str | None = None, instruments: Iterable[str] | None = None) -> None:
        """Keep every current position (in ``instruments``: all by default) as day
        ``date``'s (``YYYY-MM-DD``; the simulator clock's day, GMT, by default). The
        simulator runs it at each close of an instrument's calendar; a test may run it
        for any day."""
        day = iso(self._now_ns())[:10] if date is None else dt.date.fromisoformat(date).isoformat()
        kept = None if instruments is None else set(instruments)
        for (mp, instrument), held in self._current.items():
            if kept is None or instrument in kept:
                self._days.append((day, mp, instrument, held))

    def report(self, mp: str, d: dict[str, Any]) -> list[dict[str, Any]]:
        """``mp/positions`` rows of ``mp`` (``_lastEventTimestamp`` orders them): the
        end-of-day ones from ``eodDateFrom`` (included) to ``eodDateTo`` (excluded), and
        the current ones unless ``eodDateTo`` is given; filtered by ``instrument`` and
        ``mpId``."""
        if not typed(d, _TYPES):
            raise Fail(1001, "Invalid request data")
        if d.get("reportType", "MP") not in ("MP", "Account"):
            raise Fail(1001, "Wrong reportType format")
        low, high = (
            report_day(d, "eodDateFrom", "0001-01-01"),
            report_day(d, "eodDateTo", "9999-12-31"),
        )
        if high <= low:
            raise Fail(1001, "eodDateTo must be greater than eodDateFrom")
        who = self._participant(mp)
        if d.get("reportType", "MP") == "Account" or str(d.get("mpId", who.mp_id)) != str(
            who.mp_id
        ):
            return []  # no position accounts here; no other participant's positions
        chosen: list[tuple[str | None, str, _Position]] = [
            (day, instrument, held)
            for day, owner, instrument, held in self._days
            if owner == mp and low <= day < high
        ]
        if "eodDateTo" not in d:
            chosen += [(None, i, held) for (owner, i), held in self._current.items() if owner == mp]
        gross = self.calculation.get(mp, "Net") == "Gross"
        return [
            self._row(who, day, instrument, held, gross)
            for day, instrument, held in chosen
            if d.get("instrument", instrument) == instrument
        ]

    def _row(
        self, who: Participant, day: str | None, instrument: str, held: _Position, gross: bool
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"mpId": who.mp_id, "mpName": who.mp_name}
        if day is not None:
            row["eodDate"] = day
        row.update(instrumentId=self._instrument_id(instrument), instrument=instrument)
        long_price = held.bought_value / held.bought if held.bought else None
        short_price = held.sold_value / held.sold if held.sold else None
        if gross:
            row.update(grossLongPosition=exact_number(held.bought),
                       grossShortPosition=exact_number(-held.sold))  # fmt: skip
            if long_price is not None:
                row["grossLongAvgPrice"] = exact_number(long_price)
            if short_price is not None:
                row["grossShortAvgPrice"] = exact_number(short_price)
        else:
            net = held.bought - held.sold
            row["netPosition"] = exact_number(net)
            average = long_price if net > 0 else short_price if net < 0 else None
            if average is not None:
                row["netAvgPrice"] = exact_number(average)
        row.update(lastEventTimestamp=iso(held.last_event), lastEventId=held.last_event_id,
                   _lastEventTimestamp=held.last_event)  # fmt: skip
        return {k: v for k, v in row.items() if v is not None}
