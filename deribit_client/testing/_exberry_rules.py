"""What the Exberry simulator's parts share: its refusals, participants, the shapes of
requests it checks and of reports it writes."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, NamedTuple

from ._json import is_json

__all__ = [
    "DAY",
    "Fail",
    "Participant",
    "Types",
    "check_parties",
    "report_day",
    "exact_number",
    "failure",
    "iso",
    "numeric_role",
    "parse_day",
    "public",
    "report_times",
    "typed",
    "visible",
]


class Participant(NamedTuple):
    """A market participant as the venue names it: ``mpId`` and ``mpName`` on its
    execution reports, trades and orders."""

    mp_id: int
    mp_name: str


class Fail(Exception):
    """A refusal as the venue words it: a ``sig: 2`` reply with ``errorCode`` ``code``."""

    def __init__(self, code: int, message: str, error_type: str = "500") -> None:
        super().__init__(message)
        self.code, self.message, self.error_type = code, message, error_type


Types = dict[str, type | tuple[type, ...]]
"""Request members and the JSON types they take (see :func:`typed`)."""


def iso(ns: int) -> str:
    """Reporting's time format: ISO with microseconds, GMT."""
    moment = dt.datetime.fromtimestamp(ns // 10**9, dt.UTC)  # whole seconds: no float error
    return moment.replace(microsecond=ns // 1000 % 10**6).strftime("%Y-%m-%dT%H:%M:%S.%f")


def check_parties(parties: Any) -> None:
    """Up to 20 ``{id, source?, role?}`` (REFERENCE 5); ``1001`` otherwise."""
    if not isinstance(parties, list) or len(parties) > 20:
        raise Fail(1001, "parties must be a list of at most 20 parties")
    for party in parties:
        if not _valid_party(party):
            raise Fail(1001, f"Invalid party {party}")


def numeric_role(party: Any) -> Any:
    """A party whose ``role`` is digit text (as in the trade report samples) as a number."""
    role = party.get("role") if isinstance(party, dict) else None
    return {**party, "role": int(role)} if isinstance(role, str) and role.isdigit() else party


def _valid_party(party: Any) -> bool:
    """``id`` at most 20 printable ASCII characters, ``source`` one character, ``role``
    an integer, nothing else."""
    if not isinstance(party, dict) or not set(party) <= {"id", "source", "role"}:
        return False
    ident, source = party.get("id"), party.get("source", "?")
    if not isinstance(ident, str) or not 0 < len(ident) <= 20:
        return False
    if not (ident.isascii() and ident.isprintable()):
        return False
    if not isinstance(source, str) or len(source) != 1:
        return False
    return type(party.get("role", 0)) is int


BY_EVENT = ("lastEventTimestamp", "createdAt")
"""The ``orderBy`` fields of orders and alleged trades (the first the default)."""
BY_CREATION = ("createdAt", "lastEventTimestamp")
"""The ``orderBy`` fields of RFQs, quotes, transaction requests and transfers."""


def report_times(created: int, last_event: int) -> dict[str, Any]:
    """A reporting row's ``createdAt`` and ``lastEventTimestamp`` (ISO text), with the
    nanoseconds ``_page`` filters and sorts on as hidden members."""
    return {"createdAt": iso(created), "_createdAt": created,
            "lastEventTimestamp": iso(last_event), "_lastEventTimestamp": last_event}  # fmt: skip


def public(order: dict[str, Any]) -> dict[str, Any]:
    """An order's members as the venue reports them: none empty, none internal (``_``)."""
    return {k: v for k, v in order.items() if v is not None and k[0] != "_"}


def typed(d: Any, types: Types) -> bool:
    """Whether ``d`` is an object whose members named in ``types`` have those JSON types
    (a bool is not a number, null is none of them; a list holds strings); unknown members
    are ignored, as Exberry ignores them (REFERENCE)."""
    if not isinstance(d, dict):
        return False
    for name, value in d.items():
        kind = types.get(name)
        if kind is None:
            continue
        if not is_json(value, kind):
            return False
        if isinstance(value, list) and not all(type(s) is str for s in value):
            return False
    return True


def failure(q: str, sid: int, fail: Fail) -> dict[str, Any]:
    """The ``sig: 2`` frame that answers request ``sid`` of ``q`` with ``fail``."""
    return {
        "sig": 2, "q": q, "errorType": fail.error_type, "sid": sid,
        "d": {"errorCode": fail.code, "errorMessage": fail.message},
    }  # fmt: skip


DAY = re.compile(r"\d{4}-\d\d-\d\d")
"""A day as Exberry writes it (checked for a real date apart)."""
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
"""The days of the week, as ``calendarList`` names them."""


def parse_day(value: Any) -> dt.date | None:
    """A ``YYYY-MM-DD`` day that exists, or ``None``."""
    if type(value) is not str or not DAY.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:  # a month 13, a day 32
        return None


def report_day(d: dict[str, Any], name: str, default: str) -> str:
    """A ``YYYY-MM-DD`` member of a report request (``1001`` otherwise)."""
    day = parse_day(d.get(name, default))
    if day is None:
        raise Fail(1001, f"Wrong {name} format")
    return day.isoformat()


def exact_number(value: Decimal) -> int | float:
    """An exact figure as JSON writes it: whole ones without a fraction."""
    return int(value) if value == value.to_integral_value() else float(value)


def visible(order: dict[str, Any]) -> float:
    """What the book shows of ``order``: all that is left, or its working display slice
    (nothing for a hidden order)."""
    shown = order["_shown"]
    return float(order["remainingOpenQuantity"] if shown is None else shown)
