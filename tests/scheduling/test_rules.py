"""Occurrences in local time, correct across DST transitions."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.recurrence import WEEKDAYS, Rule, local_instant, parse_local_time, upcoming


def local(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def daily(at: str, zone: str) -> Rule:
    return Rule(frequency="daily", local_time=parse_local_time(at), timezone=zone)


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected"),
    [
        # spring forward: 02:00 -> 03:00, 02:30 does not exist: fires when the clocks jump
        ("Europe/Berlin", "2026-03-29", "02:30", "2026-03-29 03:00 CEST"),
        ("America/New_York", "2026-03-08", "02:30", "2026-03-08 03:00 EDT"),
        # fall back: 02:30 (Berlin) / 01:30 (New York) happen twice: fires once, at the first
        ("Europe/Berlin", "2026-10-25", "02:30", "2026-10-25 02:30 CEST"),
        ("America/New_York", "2026-11-01", "01:30", "2026-11-01 01:30 EDT"),
        # Lord Howe shifts by 30 minutes: 02:00 -> 02:30 in October, 02:00 -> 01:30 in April
        ("Australia/Lord_Howe", "2026-10-04", "02:15", "2026-10-04 02:30 +11"),
        ("Australia/Lord_Howe", "2026-04-05", "01:45", "2026-04-05 01:45 +11"),
        # ordinary days are ordinary
        ("Europe/Berlin", "2026-11-29", "19:00", "2026-11-29 19:00 CET"),
    ],
)
def test_local_times_across_transitions(zone, day, at, expected):
    instant = local_instant(date.fromisoformat(day), parse_local_time(at), ZoneInfo(zone))
    assert local(instant, zone) == expected


def test_a_daily_0230_in_berlin_fires_once_a_day_through_both_transitions():
    rule = daily("02:30", "Europe/Berlin")
    spring = upcoming(rule, datetime(2026, 3, 27, tzinfo=UTC), 4)
    assert [local(i, "Europe/Berlin") for i in spring] == [
        "2026-03-27 02:30 CET",
        "2026-03-28 02:30 CET",
        "2026-03-29 03:00 CEST",
        "2026-03-30 02:30 CEST",
    ]
    autumn = upcoming(rule, datetime(2026, 10, 23, tzinfo=UTC), 4)
    assert [local(i, "Europe/Berlin") for i in autumn] == [
        "2026-10-23 02:30 CEST",
        "2026-10-24 02:30 CEST",
        "2026-10-25 02:30 CEST",
        "2026-10-26 02:30 CET",
    ]


def test_weekly_rule_fires_on_its_days_only():
    rule = Rule("weekly", time(19, 0), "America/New_York", ("sun", "wed"))
    instants = upcoming(rule, datetime(2026, 11, 23, tzinfo=UTC), 4)
    zone = ZoneInfo("America/New_York")
    assert [i.astimezone(zone).strftime("%a %H:%M") for i in instants] == [
        "Wed 19:00",
        "Sun 19:00",
        "Wed 19:00",
        "Sun 19:00",
    ]


def test_the_next_occurrence_is_strictly_after():
    rule = daily("19:00", "UTC")
    at = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    assert upcoming(rule, at, 1) == [at + timedelta(days=1)]


@pytest.mark.parametrize("bad", ["7:00", "24:00", "19:60", "1900", "ab:cd", ""])
def test_local_time_must_be_hh_mm(bad):
    with pytest.raises(ValueError):
        parse_local_time(bad)


ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Europe/London",
    "UTC",
]


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45, 59]),
    days=st.sets(st.sampled_from(WEEKDAYS), min_size=1),
    weekly=st.booleans(),
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
)
def test_occurrences_increase_and_keep_the_rules_local_time(
    zone, hour, minute, days, weekly, start
):
    rule = Rule(
        frequency="weekly" if weekly else "daily",
        local_time=time(hour, minute),
        timezone=zone,
        weekdays=tuple(days) if weekly else (),
    )
    tz = ZoneInfo(zone)
    after = start.replace(tzinfo=UTC)
    instants = upcoming(rule, after, 12)
    assert instants[0] > after
    assert all(a < b for a, b in itertools.pairwise(instants))
    for instant in instants:
        wall = instant.astimezone(tz)
        assert rule.fires_on(wall.date()) or rule.fires_on(wall.date() - timedelta(days=1))
        wanted = datetime.combine(wall.date(), rule.local_time)
        actual = wall.replace(tzinfo=None)
        if actual != wanted:
            # only when the wanted time did not exist: it fires at the first valid instant after
            assert actual > wanted
            assert (
                datetime.combine(wall.date(), rule.local_time)
                .replace(tzinfo=tz)
                .astimezone(UTC)
                .astimezone(tz)
                .replace(tzinfo=None)
                != wanted
            )
            just_before = instant - timedelta(seconds=1)
            assert just_before.astimezone(tz).replace(tzinfo=None) < wanted
        else:
            # when it occurred twice (shifts of 30 or 60 minutes), it is the first of the two
            for shift in (30, 60):
                earlier = instant - timedelta(minutes=shift)
                assert earlier.astimezone(tz).replace(tzinfo=None) != wanted, "fired second"
