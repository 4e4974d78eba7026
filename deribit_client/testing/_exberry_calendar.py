"""The Exberry simulator's trading calendars: when the market opens and closes, as
``calendarList`` shows a calendar (``timeZone``, ``marketOpen``, ``marketClose``,
``tradingDays``, ``holidays``, ``auctions``). Rules over epoch seconds, and each
calendar's market as the engine (``exberry.py``) follows it: the engine opens and closes
the calendar's instruments, expires ``DAY`` orders, ends the day and starts auctions when
these say so."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._exberry_auction import auction_terms, next_start
from ._exberry_rules import DAYS, parse_day

CONTINUOUS_GAP = 60.0
"""A close and the next open at most this many seconds apart leave the market open
across them (a reading: ``HH:MM`` times cannot say 24:00, so a calendar trading around
the clock closes at 23:59 and opens at 00:00). The close still ends the trading day."""

_HORIZON = 400  # days searched for the next or last session (a year of holidays and more)
_ZONE = re.compile(r"([+-])(\d\d):(\d\d)")
_DEFAULTS: dict[str, Any] = {
    "id": 1,
    "name": "Always",
    "timeZone": "+00:00",
    "marketOpen": "00:00",
    "marketClose": "23:59",
    "tradingDays": list(DAYS),
    "holidays": [],
    "auctions": [],
}


@dataclass(frozen=True)
class Calendar:
    """A calendar's sessions: on each trading day that is not a holiday, the market
    opens at ``marketOpen`` and closes at ``marketClose`` (the next day's if that is not
    later: an overnight session), in the calendar's ``timeZone``."""

    members: dict[str, Any]
    """Its ``calendarList`` members (without ``auctions`` and ``lastEodDate``)."""
    auctions: list[dict[str, Any]]
    """Its auctions, as ``calendarList`` shows them (terms as ``auction_terms`` has them)."""
    zone: dt.timezone
    opens: dt.time
    closes: dt.time
    days: frozenset[int]  # weekday numbers
    holidays: frozenset[dt.date]

    @property
    def overnight(self) -> bool:
        """Whether a session closes on the day after it opens."""
        return self.closes <= self.opens

    def session(self, day: dt.date) -> tuple[float, float] | None:
        """The session opening on ``day`` (a local date): its open and close, or
        ``None`` on a day without trading."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        return self._at(day, self.opens), self.close_on(day)

    def close_on(self, day: dt.date) -> float:
        """When the session of ``day`` closes (whether or not it trades): what ``DAY``
        orders of that day and ``GTD`` orders of that ``expiryDay`` expire at."""
        return self._at(day + dt.timedelta(days=self.overnight), self.closes)

    def day_of(self, close: float) -> dt.date:
        """The trading day whose session closes at ``close`` (``eodDate``)."""
        return self._local(close).date() - dt.timedelta(days=self.overnight)

    def trading_day(self, moment: float) -> dt.date:
        """The trading day of ``moment``: its session's, else its local date
        (``tradeDate``)."""
        held = self._holding(moment)
        return self._local(held[0] if held else moment).date()

    def close_after(self, moment: float) -> float:
        """The first session close later than ``moment`` (``inf`` if none)."""
        return next((c for _, c in self._sessions(moment, 1) if c > moment), math.inf)

    def last_close(self, moment: float) -> float:
        """The latest session close at or before ``moment`` (``-inf`` if none)."""
        return next((c for _, c in self._sessions(moment, -1) if c <= moment), -math.inf)

    def state(self, moment: float) -> tuple[bool, float, float]:
        """Whether the market is open at ``moment``, since when and until when: the
        open stretch of sessions (joined across gaps of at most
        :data:`CONTINUOUS_GAP`) holding it, ``-inf``/``inf`` for one that never began or
        ends within the horizon; else the closed stretch between the last close and the
        next open."""
        held = self._holding(moment)
        if held is None:
            opens = (o for o, _ in self._sessions(moment, 1) if o > moment)
            held = self.last_close(moment), next(opens, math.inf)
            if held[1] - held[0] > CONTINUOUS_GAP:
                return False, *held
        since, until = held  # a session, or a gap the sessions beside it join across
        for opened, closed in self._sessions(until, 1):
            if opened >= until:
                if opened - until > CONTINUOUS_GAP:
                    break
                until = closed
        else:
            until = math.inf
        for opened, closed in self._sessions(since, -1):
            if closed <= since:
                if since - closed > CONTINUOUS_GAP:
                    break
                since = opened
        else:
            since = -math.inf
        return True, since, until

    def _holding(self, moment: float) -> tuple[float, float] | None:
        day = self._local(moment).date()
        sessions = (self.session(day - dt.timedelta(days=k)) for k in (0, 1))
        return next((s for s in sessions if s is not None and s[0] <= moment < s[1]), None)

    def _sessions(self, moment: float, step: int) -> Iterator[tuple[float, float]]:
        """Sessions from the one opening the day before ``moment``'s onwards (``step``
        1), or from the day after backwards (``-1``), within the horizon."""
        start = self._local(moment).date() - dt.timedelta(days=step)
        for k in range(_HORIZON):
            session = self.session(start + dt.timedelta(days=k * step))
            if session is not None:
                yield session

    def auction(self, trigger: str) -> dict[str, Any] | None:
        """Its first auction of ``trigger`` (``Resume``...), if any."""
        return next((a for a in self.auctions if a["trigger"] == trigger), None)

    def _at(self, day: dt.date, moment: dt.time) -> float:
        return dt.datetime.combine(day, moment, self.zone).timestamp()

    def _local(self, moment: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(moment, self.zone)


def calendar_of(given: Mapping[str, Any] | None = None) -> Calendar:
    """The calendar of ``calendarList`` members ``given`` (missing ones defaulted: an
    ``"Always"`` calendar trading every day around the clock, UTC, without auctions;
    ``marketOpen`` and ``marketClose`` both ``None``: no hours, days from midnight).
    ``ValueError`` names a member the simulator cannot take. ``holidays`` are
    ``YYYY-MM-DD`` dates (a reading: the documented sample's list is empty)."""
    given = dict(given or {})
    unknown = set(given) - set(_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown calendar members: {', '.join(sorted(unknown))}")
    members = {**_DEFAULTS, **given}
    if type(members["id"]) is not int or type(members["name"]) is not str:
        raise ValueError("a calendar's id must be an int and its name a str")
    zone = _ZONE.fullmatch(members["timeZone"]) if type(members["timeZone"]) is str else None
    if zone is None or int(zone[2]) > 18 or int(zone[3]) > 59:
        raise ValueError(f"timeZone must be '+HH:MM' or '-HH:MM', not {members['timeZone']!r}")
    sign = -1 if zone[1] == "-" else 1
    offset = dt.timedelta(hours=int(zone[2]), minutes=int(zone[3]))
    if members["marketOpen"] is None is members["marketClose"]:
        # Without hours (as the "Last message" sample lists one): around the clock,
        # each day a 24-hour session from midnight (a reading).
        opens = closes = dt.time(0)
    else:
        opens, closes = (_hours(members, name) for name in ("marketOpen", "marketClose"))
    days = members["tradingDays"]
    if isinstance(days, str) or not days or not all(day in DAYS for day in days):
        raise ValueError(f"tradingDays must be a list of {', '.join(DAYS)}, not {days!r}")
    holidays = members["holidays"]
    if isinstance(holidays, str) or not all(parse_day(h) is not None for h in holidays):
        raise ValueError(f"holidays must be a list of 'YYYY-MM-DD', not {holidays!r}")
    members.update(tradingDays=list(days), holidays=list(holidays))
    auctions = members.pop("auctions")
    if isinstance(auctions, str | Mapping):
        raise ValueError(f"auctions must be a list of auctions, not {auctions!r}")
    return Calendar(
        members,
        [auction_terms(terms) for terms in auctions],
        dt.timezone(sign * offset),
        opens,
        closes,
        frozenset(DAYS.index(day) for day in days),
        frozenset(d for d in map(parse_day, holidays) if d is not None),
    )


def _hours(members: Mapping[str, Any], name: str) -> dt.time:
    text = members[name]
    try:
        if type(text) is str and len(text) == 5:
            return dt.time.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{name} must be 'HH:MM', not {text!r}")


@dataclass
class Market:
    """One calendar's market as the engine last saw it: whether it is open and since
    when (stop orders trigger on trades since), when that changes, the next end of day
    (and the last one's date, ``lastEodDate``) and the next scheduled auction."""

    calendar: Calendar
    open: bool
    since: float
    until: float
    next_eod: float
    last_eod: str | None
    next_start: float
    scheduled: dict[str, Any] | None

    @classmethod
    def at(cls, calendar: Calendar, now: float) -> Market:
        """The market of ``calendar`` at ``now``."""
        start = next_start(calendar.auctions, now, calendar.zone)
        return cls(calendar, *calendar.state(now), calendar.close_after(now), None, *start)

    def turned(self, now: float) -> bool:
        """Follow the calendar to ``now``: whether the market opened or closed."""
        if self.until > now:
            return False
        was_open = self.open
        self.open, self.since, self.until = self.calendar.state(now)
        return was_open != self.open

    def day_ended(self, now: float) -> float | None:
        """The close of the day that ended by ``now`` since last asked (of several: the
        last), or ``None``."""
        if self.next_eod > now:
            return None
        close = self.calendar.last_close(now)
        self.next_eod = self.calendar.close_after(now)
        self.last_eod = self.calendar.day_of(close).isoformat()
        return close

    def auction_due(self, now: float) -> dict[str, Any] | None:
        """The terms of the scheduled auction that started by ``now`` since last asked,
        or ``None``."""
        terms = self.scheduled
        if terms is None or self.next_start > now:
            return None
        self.next_start, self.scheduled = next_start(
            self.calendar.auctions, now, self.calendar.zone
        )
        return terms

    @property
    def status(self) -> str:
        """The ``marketStatus`` the calendar gives its instruments now."""
        return "Opened" if self.open else "Closed"

    @property
    def next_moment(self) -> float:
        """The soonest of its changes, day end and auction start."""
        return min(self.until, self.next_eod, self.next_start)
