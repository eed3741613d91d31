"""IANA time zone names, checked against the zoneinfo database (tzdata)."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, available_timezones


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    """Whether `name` is an IANA time zone known to zoneinfo."""
    return name in _known()


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a name already validated."""
    return ZoneInfo(name)
