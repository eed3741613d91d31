"""Failure counting with growing delays, over `limits` (the engine of flask-limiter).

Trustline counts failures, not use: a wrong password or a wrong pairing code counts, a
successful call does not. flask-limiter's decorators count requests before the view runs and
key them on the request alone, while Trustline's keys depend on what the service resolves
(the account, a trusted device), so the services call this module directly. Several windows
per key make the delay grow with repeated failures; every window expires, so nothing is ever
locked for good.

A failure may fill more windows than the attempt was checked against: a login from a known
device (or a signed-in person confirming their password) is refused only by its own windows,
so that nobody else's failures, on the same network or with the same e-mail, can lock the
owner out, while its own failures still count toward the address.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, has_request_context
from flask_smorest import Blueprint
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backend import (
    metrics,
    ratelimit_sqlite,  # noqa: F401 - registers sqlite:// with storage_from_string
)
from backend.errors import RateLimited, ServiceUnavailable

try:  # the Redis client is there when limits[redis] is installed (a dependency of Trustline)
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = OSError  # type: ignore[misc,assignment]

# When the counters can't be read, refuse rather than let guessing run unlimited.
STORAGE_ERRORS = (RedisError, OSError, sqlite3.Error)
UNAVAILABLE = "This is briefly unavailable. Please try again in a minute."

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
# One (limits, key) pair: every window in `limits`, counted under `key`.
Rule = tuple[Sequence[RateLimitItem], str]
# Generous per address: a family or an office may share one.
LOGIN_PER_ADDRESS = parse_many("30/minute;300/hour")
# Per account (or per trusted device of an account, or per login confirming its own password):
# 5 a minute, then 10 in 10 minutes, then 20 an hour; the longest anyone waits is an hour.
LOGIN_PER_ACCOUNT = parse_many("5/minute;10/10minutes;20/hour")
# Registering an e-mail that is taken says the account exists; limit how often one address
# can learn that. Counted and checked only once the lookup found the e-mail taken, so a new
# e-mail always registers.
TAKEN_EMAILS_PER_ADDRESS = parse_many("20/hour")


class FailureLimiter:
    """Counts failures per key and refuses further attempts while a window is full."""

    def __init__(self, storage_uri: str) -> None:
        self.storage: Storage = storage_from_string(storage_uri)
        self.strategy = MovingWindowRateLimiter(self.storage)

    def check(self, rules: Iterable[Rule], detail: str) -> None:
        """Raise RateLimited if any (limits, key) pair has no attempt left."""
        rules = list(rules)
        report_limits(rules)
        retry_after, refused_by = 0.0, ""
        try:
            for items, key in rules:
                for item in items:
                    if not self.strategy.test(item, key):
                        stats = self.strategy.get_window_stats(item, key)
                        retry_after = max(retry_after, stats.reset_time - time.time())
                        refused_by = refused_by or key
        except STORAGE_ERRORS as exc:
            log.error("rate-limit store unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable(UNAVAILABLE) from exc
        if retry_after > 0:
            metrics.record_refusal(refused_by)
            raise RateLimited(detail, retry_after=math.ceil(retry_after))

    def record_failure(self, rules: Iterable[Rule]) -> None:
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


# The RateLimit-Policy and RateLimit response fields of draft-ietf-httpapi-ratelimit-headers-11:
# every window an operation is checked against, and the one closest to refusing it.
POLICY_HEADER = "RateLimit-Policy"
STATE_HEADER = "RateLimit"
# Views that report their limits carry this in their OpenAPI doc (backend/openapi.py).
LIMITS_DOC = "x-trustline-rate-limited"
# How openapi.yaml describes the two fields (docs/api.md says more).
LIMIT_FIELDS_DOC = {
    POLICY_HEADER: {
        "description": (
            "Every window this operation's failures are counted in (draft-ietf-httpapi-"
            "ratelimit-headers-11): a name, q = failures the window allows, w = its length in "
            "seconds. Only failures count (a wrong password or code), never successful use."
        ),
        "schema": {"type": "string"},
        "example": '"login-address-1m";q=30;w=60, "login-account-1m";q=5;w=60',
    },
    STATE_HEADER: {
        "description": (
            "The window closest to refusing: r = failures left before a wait, t = seconds "
            "within which no more than r are allowed. The same for an e-mail with no account."
        ),
        "schema": {"type": "string"},
        "example": '"login-account-1m";r=3;t=40',
    },
}


def report_limits(rules: Iterable[Rule]) -> None:
    """Name the windows this request's response reports in its RateLimit fields.

    `check` calls it; an operation that checks only on some paths (registering a taken
    e-mail) calls it first, so that every response of the operation carries the fields.
    """
    if has_request_context():
        g.rate_limit_rules = list(rules)


def reports_limits(view: F) -> F:
    """Document the RateLimit fields on every response of this view (see report_limits)."""
    return Blueprint.doc(**{LIMITS_DOC: True})(view)


def _window_name(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def limit_fields(rules: Sequence[Rule], strategy: MovingWindowRateLimiter) -> dict[str, str]:
    """The RateLimit-Policy and RateLimit field values of `rules`, as the counters are now.

    A policy is one window of one counter, named by what it counts and its length
    (`"login-account-1m"`: the key's first part names the counter, never what it counts). `q`
    is the failures the window allows, `r` those left before a wait, `t` the seconds within
    which no more than `r` are allowed: until the oldest failure in the window ages out, or the
    whole window when it holds none. RateLimit reports the window with the fewest failures
    left (the longest wait among equals), so on a 429 its `t` is not past Retry-After.
    """
    now = time.time()
    policies, states = [], []
    for items, key in rules:
        counter = key.split(":")[1]
        for item in items:
            window = item.get_expiry()
            name = f'"{counter}-{_window_name(window)}"'
            stats = strategy.get_window_stats(item, key)
            remaining = max(0, stats.remaining)
            wait = min(window, max(0, math.ceil(stats.reset_time - now)))
            if remaining >= item.amount:
                # An empty window allows all of q for all of w (the memory store may still
                # date it by a failure that has already aged out).
                wait = window
            policies.append(f"{name};q={item.amount};w={window}")
            states.append((remaining, -wait, f"{name};r={remaining};t={wait}"))
    return {POLICY_HEADER: ", ".join(policies), STATE_HEADER: min(states)[2]}


def add_limit_fields(response: Response) -> Response:
    """Add the RateLimit fields of the windows this request reported, if any."""
    rules = g.pop("rate_limit_rules", None)
    if not rules:
        return response
    try:
        response.headers.update(limit_fields(rules, limiter().strategy))
    except STORAGE_ERRORS as exc:
        # The counters can't be read: the response (often the 503 saying so) goes without.
        log.error("rate-limit store unreachable: %s", type(exc).__name__)
    return response


def init_limit_fields(app: Flask) -> None:
    """Install the hook adding the RateLimit fields to responses."""
    app.after_request(add_limit_fields)
