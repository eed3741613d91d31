"""When something recurs: local-time rules turned into UTC instants, correct across DST.

Trustline computes occurrences itself instead of using APScheduler's cron trigger, which
fires a 02:30 Europe/Berlin job twice on the fall-back day and at 03:30 on the spring-forward
day. The rules here:

- a local time that does not exist that day (the clocks jump over it) fires at the first valid
  instant after it: the moment the clocks jump;
- a local time that occurs twice (the clocks fall back over it) fires once, at the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Rule:
    """A schedule's rule: which days, what local time, in which time zone."""

    frequency: str  # "daily" or "weekly"
    local_time: time
    timezone: str
    weekdays: Sequence[str] = ()

    def fires_on(self, day: date) -> bool:
        """Whether the rule has an occurrence on this local date."""
        return self.frequency == "daily" or WEEKDAYS[day.weekday()] in self.weekdays


def parse_local_time(value: str) -> time:
    """'HH:MM' (24-hour) as a time; ValueError otherwise."""
    hours, sep, minutes = value.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(value)
    return time(int(hours), int(minutes))


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `zone`, by the rules above."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # exists (and, if it occurs twice, fold=0 is the first)
    # In a gap: find the first instant whose local time is at or after `wall`.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def occurrences(rule: Rule, after: datetime) -> Iterator[datetime]:
    """Every occurrence strictly after `after` (UTC), in order, without end."""
    zone = ZoneInfo(rule.timezone)
    day = after.astimezone(zone).date() - timedelta(days=1)
    while True:
        if rule.fires_on(day):
            instant = local_instant(day, rule.local_time, zone)
            if instant > after:
                yield instant
        day += timedelta(days=1)


def next_occurrence(rule: Rule, after: datetime) -> datetime:
    """The first occurrence strictly after `after`."""
    return next(occurrences(rule, after))


def upcoming(rule: Rule, after: datetime, count: int) -> list[datetime]:
    """The next `count` occurrences after `after`."""
    if count <= 0:
        return []
    found = []
    for instant in occurrences(rule, after):
        found.append(instant)
        if len(found) == count:
            break
    return found
