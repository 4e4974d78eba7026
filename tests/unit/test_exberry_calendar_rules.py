"""The Exberry simulator's trading calendar rules: sessions, time zones, holidays,
overnight sessions and markets that never close."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deribit_client.testing._exberry_calendar import Calendar, Market, calendar_of
from deribit_client.testing._exberry_rules import DAYS

INF = math.inf


def at(text: str, zone: str = "+00:00") -> float:
    return dt.datetime.fromisoformat(text + zone).timestamp()


def test_the_default_calendar_trades_around_the_clock_and_ends_each_day_at_23_59() -> None:
    always = calendar_of()
    noon = at("2026-11-24T12:00")
    assert always.state(noon) == (True, -INF, INF)
    assert always.state(at("2026-11-24T23:59:30")) == (True, -INF, INF)  # the minute gap
    assert always.close_after(noon) == at("2026-11-24T23:59")
    assert always.last_close(noon) == at("2026-11-23T23:59")
    assert always.day_of(at("2026-11-24T23:59")) == dt.date(2026, 11, 24)
    assert always.members == {
        "id": 1, "name": "Always", "timeZone": "+00:00", "marketOpen": "00:00",
        "marketClose": "23:59", "tradingDays": list(always.members["tradingDays"]),
        "holidays": [],
    }  # fmt: skip


def test_sessions_follow_the_time_zone_trading_days_and_holidays() -> None:
    # 2026-11-27 is a Friday; Monday 2026-11-30 is a holiday.
    equities = calendar_of({
        "timeZone": "+05:30", "marketOpen": "09:30", "marketClose": "16:00",
        "tradingDays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
        "holidays": ["2026-11-30"],
    })  # fmt: skip
    ist = "+05:30"
    opened, closed = at("2026-11-27T09:30", ist), at("2026-11-27T16:00", ist)
    assert equities.state(at("2026-11-27T09:29", ist)) == (
        False,
        at("2026-11-26T16:00", ist),
        opened,
    )
    assert equities.state(at("2026-11-27T12:00", ist)) == (True, opened, closed)
    # Friday's close to Tuesday's open: the weekend and the holiday.
    assert equities.state(closed) == (False, closed, at("2026-12-01T09:30", ist))
    assert equities.close_after(closed) == at("2026-12-01T16:00", ist)
    assert equities.trading_day(at("2026-11-27T01:00")) == dt.date(2026, 11, 27)  # 06:30 IST
    assert equities.close_on(dt.date(2026, 11, 30)) == at("2026-11-30T16:00", ist)


def test_an_overnight_session_belongs_to_the_day_it_opens() -> None:
    night = calendar_of({"marketOpen": "22:00", "marketClose": "06:00"})
    assert night.overnight
    assert night.state(at("2026-11-25T01:00")) == (
        True, at("2026-11-24T22:00"), at("2026-11-25T06:00"),
    )  # fmt: skip
    assert night.close_on(dt.date(2026, 11, 24)) == at("2026-11-25T06:00")
    assert night.day_of(at("2026-11-25T06:00")) == dt.date(2026, 11, 24)
    assert night.trading_day(at("2026-11-25T01:00")) == dt.date(2026, 11, 24)


def test_sessions_a_minute_apart_join_until_a_day_without_trading() -> None:
    weekdays = calendar_of(
        {"tradingDays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]}
    )
    assert weekdays.state(at("2026-11-24T12:00")) == (
        True, at("2026-11-23T00:00"), at("2026-11-27T23:59"),
    )  # fmt: skip
    # Each day still ends at its close.
    assert weekdays.close_after(at("2026-11-24T12:00")) == at("2026-11-24T23:59")
    # A 24-hour session (open = close) joins the next one exactly.
    assert calendar_of({"marketOpen": "08:00", "marketClose": "08:00"}).state(0.0)[0]
    # A calendar without hours (the "Last message" sample lists one): days from midnight.
    hourless = calendar_of({"marketOpen": None, "marketClose": None, "timeZone": "+05:30"})
    assert hourless.state(at("2026-11-24T12:00"))[0]
    assert hourless.close_after(at("2026-11-24T12:00")) == at("2026-11-25T00:00", "+05:30")
    assert hourless.day_of(at("2026-11-25T00:00", "+05:30")) == dt.date(2026, 11, 24)


def test_a_market_reports_each_change_day_end_and_auction_once() -> None:
    nine_to_five = calendar_of({
        "marketOpen": "09:00", "marketClose": "17:00",
        "auctions": [{"startTimes": ["08:55:00"], "duration": 300_000}],
    })  # fmt: skip
    market = Market.at(nine_to_five, at("2026-11-24T08:00"))
    assert (market.open, market.status, market.next_moment) == (
        False,
        "Closed",
        at("2026-11-24T08:55"),
    )
    assert market.auction_due(at("2026-11-24T08:54")) is None
    assert market.auction_due(at("2026-11-24T08:55")) == nine_to_five.auctions[0]
    assert market.auction_due(at("2026-11-24T08:56")) is None  # once
    assert not market.turned(at("2026-11-24T08:59"))
    assert market.turned(at("2026-11-24T09:00"))
    assert market.status == "Opened"
    assert market.since == at("2026-11-24T09:00")
    assert market.day_ended(at("2026-11-24T16:59")) is None
    # A clock jumping two days: the last close, once; the market closed.
    assert market.day_ended(at("2026-11-26T20:00")) == at("2026-11-26T17:00")
    assert (market.last_eod, market.day_ended(at("2026-11-26T20:00"))) == ("2026-11-26", None)
    assert market.turned(at("2026-11-26T20:00"))
    assert not market.open


@pytest.mark.parametrize(
    ("members", "named"),
    [
        ({"colour": "red"}, "unknown calendar members: colour"),
        ({"timeZone": "UTC"}, "timeZone"),
        ({"timeZone": "+25:00"}, "timeZone"),
        ({"marketOpen": "9:30"}, "marketOpen"),
        ({"marketClose": "24:00"}, "marketClose"),
        ({"marketClose": None}, "marketClose"),
        ({"tradingDays": []}, "tradingDays"),
        ({"tradingDays": "MONDAY"}, "tradingDays"),
        ({"holidays": ["2026-02-30"]}, "holidays"),
        ({"id": "1"}, "id"),
        ({"auctions": {"duration": 1}}, "auctions"),
        ({"auctions": [{"duration": 0}]}, "duration"),
    ],
)
def test_a_calendar_the_simulator_cannot_run_is_refused_by_name(
    members: dict[str, object], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        calendar_of(members)


def periods(calendar: Calendar, around: dt.date) -> list[list[float]]:
    """The open stretches of sessions within 40 days of ``around``, worked out apart:
    sessions in order, joined when the next opens at most a minute after one closes."""
    sessions = sorted(
        s
        for k in range(-40, 41)
        if (s := calendar.session(around + dt.timedelta(days=k))) is not None
    )
    joined: list[list[float]] = []
    for opened, closed in sessions:
        if joined and opened - joined[-1][1] <= 60:
            joined[-1][1] = closed
        else:
            joined.append([opened, closed])
    return joined


@settings(max_examples=300, deadline=None)
@given(
    zone=st.integers(-48, 56).map(lambda q: q * 15),
    opens=st.integers(0, 1439),
    closes=st.integers(0, 1439) | st.just(-1),  # -1: a minute before the open
    days=st.sets(st.sampled_from(DAYS), min_size=1),
    holidays=st.sets(st.integers(-10, 10), max_size=3),
    offset=st.floats(-10 * 86_400, 10 * 86_400),
    after_close=st.none() | st.floats(0, 59),
)
def test_the_calendar_state_agrees_with_its_sessions_worked_out_apart(
    zone: int,
    opens: int,
    closes: int,
    days: set[str],
    holidays: set[int],
    offset: float,
    after_close: float | None,
) -> None:
    base = dt.date(2026, 11, 24)
    closes = closes if closes >= 0 else (opens - 1) % 1440
    sign = "-" if zone < 0 else "+"
    calendar = calendar_of({
        "timeZone": f"{sign}{abs(zone) // 60:02}:{abs(zone) % 60:02}",
        "marketOpen": f"{opens // 60:02}:{opens % 60:02}",
        "marketClose": f"{closes // 60:02}:{closes % 60:02}",
        "tradingDays": sorted(days),
        "holidays": [(base + dt.timedelta(days=h)).isoformat() for h in holidays],
    })  # fmt: skip
    moment = at("2026-11-24T12:00") + offset
    if after_close is not None:  # just after a close: in the gap to the next open?
        moment = calendar.close_after(moment) + after_close
    stretches = periods(calendar, base)
    held = next(([o, c] for o, c in stretches if o <= moment < c), None)
    is_open, since, until = calendar.state(moment)
    assert is_open == (held is not None)
    closes_ = [c for _, c in stretches]  # every stretch's end is a session's close
    if held is not None:
        # Bounds beyond the window are the calendar's to find (or infinite).
        assert since == held[0] or held[0] == stretches[0][0]
        assert until == held[1] or held[1] == stretches[-1][1]
    else:
        assert since == max((c for c in closes_ if c <= moment), default=since)
        assert until == min((o for o, _ in stretches if o > moment), default=until)
    assert calendar.close_after(moment) > moment
    assert calendar.last_close(moment) <= moment
