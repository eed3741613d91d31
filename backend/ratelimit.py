"""Failure counting with growing delays, over `limits` (the engine of flask-limiter).

Trustline counts failures, not use: a wrong password or a wrong pairing code counts, a
successful call does not. flask-limiter's decorators count requests before the view runs and
key them on the request alone, while Trustline's keys depend on what the service resolves
(the account, a trusted device), so the services call this module directly. Several windows
per key make the delay grow with repeated failures; every window expires, so nothing is ever
locked for good.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterable, Sequence

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backend.errors import RateLimited, ServiceUnavailable

try:  # the Redis client is there when limits[redis] is installed (a dependency of Trustline)
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = OSError  # type: ignore[misc,assignment]

# When the counters can't be read, refuse rather than let guessing run unlimited.
STORAGE_ERRORS = (RedisError, OSError)
UNAVAILABLE = "This is briefly unavailable. Please try again in a minute."

log = logging.getLogger(__name__)
# Generous per address: a family or an office may share one.
LOGIN_PER_ADDRESS = parse_many("30/minute;300/hour")
# Per account (or per trusted device of an account): 5 a minute, then 10 in 10 minutes,
# then 20 an hour; the longest anyone waits is an hour.
LOGIN_PER_ACCOUNT = parse_many("5/minute;10/10minutes;20/hour")
# Registering an e-mail that is taken says the account exists; limit how often one address
# can learn that.
TAKEN_EMAILS_PER_ADDRESS = parse_many("20/hour")


class FailureLimiter:
    """Counts failures per key and refuses further attempts while a window is full."""

    def __init__(self, storage_uri: str) -> None:
        self.storage: Storage = storage_from_string(storage_uri)
        self.strategy = MovingWindowRateLimiter(self.storage)

    def check(self, rules: Iterable[tuple[Sequence[RateLimitItem], str]], detail: str) -> None:
        """Raise RateLimited if any (limits, key) pair has no attempt left."""
        retry_after = 0.0
        try:
            for items, key in rules:
                for item in items:
                    if not self.strategy.test(item, key):
                        stats = self.strategy.get_window_stats(item, key)
                        retry_after = max(retry_after, stats.reset_time - time.time())
        except STORAGE_ERRORS as exc:
            log.error("rate-limit store unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable(UNAVAILABLE) from exc
        if retry_after > 0:
            raise RateLimited(detail, retry_after=math.ceil(retry_after))

    def record_failure(self, rules: Iterable[tuple[Sequence[RateLimitItem], str]]) -> None:
        """Count one failure against every (limits, key) pair."""
        try:
            for items, key in rules:
                for item in items:
                    self.strategy.hit(item, key)
        except STORAGE_ERRORS as exc:
            log.error("rate-limit store unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable(UNAVAILABLE) from exc

    def reachable(self) -> bool:
        """Whether the counters' storage answers (always true in memory)."""
        try:
            return bool(self.storage.check())
        except STORAGE_ERRORS:
            return False

    def reset(self) -> None:
        """Forget every counter (tests, and operators after an incident)."""
        self.storage.reset()


def limiter() -> FailureLimiter:
    """The app's failure limiter."""
    return current_app.extensions["trustline_limiter"]


def hashed_key(*parts: str) -> str:
    """A storage key that does not reveal the e-mail or address it counts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"trustline:{parts[0]}:{digest}"
