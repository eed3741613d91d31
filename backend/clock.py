"""The one place Trustline reads the time from, so tests (and the demo) can move it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_override = threading.local()


def now() -> datetime:
    """Return the current instant as a timezone-aware UTC datetime."""
    moment = getattr(_override, "moment", None)
    return moment if moment is not None else datetime.now(UTC)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Within this block (and thread), `now()` is `moment`: for building history in the past
    through the real services (the demo). Tokens and rate limits keep the real time."""
    if moment.tzinfo is None:
        raise ValueError("give an aware datetime")
    previous = getattr(_override, "moment", None)
    _override.moment = moment.astimezone(UTC)
    try:
        yield
    finally:
        _override.moment = previous
