"""The one place Trustline reads the time from, so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """Return the current instant as a timezone-aware UTC datetime."""
    return datetime.now(UTC)
