"""The Exberry simulator's auction rules: the equilibrium price and calendar terms."""

from __future__ import annotations

import datetime as dt

import pytest

from deribit_client.testing._exberry_auction import (
    Uncross,
    auction_terms,
    equilibrium,
    next_start,
)


def exact(quantity: float) -> float:
    return round(quantity, 6)


@pytest.mark.parametrize(
    ("buys", "sells", "reference", "expected"),
    [
        # The price that trades the most.
        ([(101.0, 5.0)], [(99.0, 2.0), (100.0, 4.0)], None, Uncross(100.0, 5.0, 1.0, "Sell")),
        # Equal volume: the smaller surplus.
        ([(101.0, 3.0), (100.0, 1.0)], [(100.0, 3.0), (101.0, 2.0)], None,
         Uncross(100.0, 3.0, 1.0, "Buy")),
        # Equal volume and surplus on different sides: the nearest to the reference.
        ([(102.0, 3.0), (100.0, 1.0)], [(99.0, 3.0), (101.0, 1.0)], 101.5,
         Uncross(101.0, 3.0, 1.0, "Sell")),
        # Equal volume and surplus, all on the buy side: the highest price; sell side:
        # the lowest.
        ([(102.0, 4.0)], [(101.0, 2.0), (None, 1.0)], None, Uncross(102.0, 3.0, 1.0, "Buy")),
        ([(102.0, 1.0), (None, 1.0)], [(101.0, 4.0)], None, Uncross(101.0, 2.0, 2.0, "Sell")),
        # Balanced at several prices: the nearest to the reference price, else the lowest.
        ([(102.0, 2.0)], [(101.0, 2.0)], 105.0, Uncross(102.0, 2.0, 0.0, "None")),
        ([(102.0, 2.0)], [(101.0, 2.0)], None, Uncross(101.0, 2.0, 0.0, "None")),
        # Market orders alone meet at the reference price, or not at all.
        ([(None, 1.0)], [(None, 3.0)], 99.5, Uncross(99.5, 1.0, 2.0, "Sell")),
        ([(None, 1.0)], [(None, 3.0)], None, Uncross(None, 0, 0, "NA")),
        # Nothing crosses.
        ([(99.0, 1.0)], [(100.0, 1.0)], None, Uncross(None, 0, 0, "NA")),
        ([], [(100.0, 1.0)], 100.0, Uncross(None, 0, 0, "NA")),
    ],
)  # fmt: skip
def test_the_equilibrium_price(
    buys: list[tuple[float | None, float]],
    sells: list[tuple[float | None, float]],
    reference: float | None,
    expected: Uncross,
) -> None:
    assert equilibrium(buys, sells, reference, exact) == expected


def test_auction_terms_are_checked_and_defaulted() -> None:
    terms = auction_terms({"duration": 300_000})
    assert terms["allowedTimeInForces"] == ["GTC", "GTD", "IOC", "GAA", "DAY"]
    assert (terms["trigger"], terms["eventsModes"]) == ("TimeBased", ["LIT", "INDICATIVE_PRICE"])
    for bad, text in (
        ({"duration": 0}, "duration must be a positive int"),
        ({"duration": 1.5}, "duration must be a positive int"),
        ({"matchingAlgorithm": "PRICE_TIME"}, "only EQUILIBRIUM_PRICE"),
        ({"allowedTimeInForces": "GTC"}, "allowedTimeInForces must be a list"),
        ({"eventsModes": ["DARK"]}, "eventsModes must be a list of LIT, INDICATIVE_PRICE"),
        ({"days": ["MON"]}, "days must be a list of MONDAY"),
        ({"trigger": "Manual"}, "trigger must be one of TimeBased, Resume, AutoResume"),
        ({"startTimes": ["9:30"], "duration": 1}, "startTimes must be a list of 'HH:MM:SS'"),
        ({"startTimes": ["09:30:00"]}, "needs a duration"),
        ({"start": "09:30:00"}, "unknown auction members: start"),
    ):
        with pytest.raises(ValueError, match=text):
            auction_terms(bad)


def test_scheduled_auctions_start_on_their_days_and_times() -> None:
    def at(text: str) -> float:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()

    weekdays = auction_terms({"startTimes": ["09:00:00", "17:14:00"], "duration": 60_000,
                              "days": ["MONDAY", "TUESDAY"]})  # fmt: skip
    resume = auction_terms({"trigger": "Resume", "startTimes": ["08:00:00"]})
    auctions = [weekdays, resume]  # a Resume auction's times are not a schedule
    assert next_start(auctions, at("2026-11-24 08:00:00"), dt.UTC) == (
        at("2026-11-24 09:00:00"),
        weekdays,
    )
    assert next_start(auctions, at("2026-11-24 09:00:00"), dt.UTC)[0] == at("2026-11-24 17:14:00")
    # Tuesday evening: next Monday.
    assert next_start(auctions, at("2026-11-24 18:00:00"), dt.UTC)[0] == at("2026-11-30 09:00:00")
    assert next_start([resume], at("2026-11-24 08:00:00"), dt.UTC) == (float("inf"), None)
