"""Prometheus metrics: what operators watch, never who did what.

Labels hold only fixed words: the route template (`/api/v1/checkins/<checkin_id>`, never the
path a client sent), the method, the status, an outcome or a rule's name. No id, e-mail, name,
address or content is ever a label value, so a scrape holds no personal data.

Under gunicorn the workers are separate processes: prometheus_client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, which gunicorn.conf.py sets up) keeps each worker's values in files
that every scrape adds up, whichever worker answers it. Anywhere else (`trustline serve`, the
scheduler, tests) one process holds everything in memory; the `trustline` commands drop
PROMETHEUS_MULTIPROC_DIR for that reason (backend/cli.py).

`GET /metrics` answers only where TRUSTLINE_METRICS allows it: `on` (to anyone who reaches
the app: protect it in the proxy), `local` (loopback clients that came through no proxy) or
`off`. Unset, `trustline serve` and gunicorn.conf.py choose `local` when they listen on
loopback addresses only and `off` otherwise; any other server gets `off`. A refused scrape
gets the same 404 as any unknown address.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import time
from collections.abc import Callable
from typing import Any, ParamSpec

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from werkzeug.exceptions import NotFound

# The reports of a tick (scheduling.jobs.TickReport) and of a push delivery
# (notifications.delivery.DeliveryReport): the kernel reads their counts by name, importing
# no domain.
TickReport = Any
DeliveryReport = Any

# The `_created` series only doubles every sample's size here: counters start with the process.
disable_created_metrics()
P = ParamSpec("P")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The label of a request that matched no route: its path could be anything a client typed.
UNMATCHED = "<unmatched>"
# Headers a proxy adds: a request that carries one is not a local client, whatever its address.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")

REQUESTS = Counter(
    "trustline_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "trustline_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
POOL_IN_USE = Gauge(
    "trustline_db_pool_connections_in_use",
    "Database connections checked out of the pools now (all processes added up).",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "trustline_db_pool_size",
    "Connections the pools keep open at most before overflow (all processes added up).",
    multiprocess_mode="livesum",
)
TICK_RUNS = Counter(
    "trustline_tick_runs", "Scheduler ticks run, by outcome (ok, failed).", ["outcome"]
)
TICK_SECONDS = Histogram(
    "trustline_tick_duration_seconds",
    "How long one scheduler tick took.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
TICK_ITEMS = Counter(
    "trustline_tick_items",
    "What scheduler ticks did, added up over runs: claimed schedules, opened and missed "
    "check-ins, expired check-ins, reminders sent.",
    ["kind"],
)
TICK_LAST_ITEMS = Gauge(
    "trustline_tick_last_run_items",
    "What the most recent scheduler tick did, by the same kinds.",
    ["kind"],
    multiprocess_mode="mostrecent",
)
PUSH_DELIVERIES = Counter(
    "trustline_push_deliveries",
    "Push notifications handed to the relay, by outcome (delivered, retried, failed, skipped).",
    ["outcome"],
)
RATELIMIT_REFUSALS = Counter(
    "trustline_ratelimit_refusals",
    "Attempts refused by a failure limit, by rule (login-address, pairing-code, ...).",
    ["rule"],
)
TICK_KINDS = ("claimed", "opened", "missed", "expired", "reminded")
PUSH_OUTCOMES = ("delivered", "retried", "failed", "skipped")

blp = Blueprint("metrics", __name__)


def record_tick(report: TickReport, seconds: float) -> None:
    """Count one tick that ran to its end: its duration and what it did."""
    TICK_RUNS.labels(outcome="ok").inc()
    TICK_SECONDS.observe(seconds)
    for kind in TICK_KINDS:
        value = getattr(report, kind)
        TICK_ITEMS.labels(kind=kind).inc(value)
        TICK_LAST_ITEMS.labels(kind=kind).set(value)


def counts_ticks(tick: Callable[P, TickReport]) -> Callable[P, TickReport]:
    """Wrap the tick so that every run, from any caller, is timed and counted."""

    @functools.wraps(tick)
    def counted(*args: P.args, **kwargs: P.kwargs) -> TickReport:
        started = time.perf_counter()
        try:
            report = tick(*args, **kwargs)
        except Exception:
            TICK_RUNS.labels(outcome="failed").inc()
            TICK_SECONDS.observe(time.perf_counter() - started)
            raise
        record_tick(report, time.perf_counter() - started)
        return report

    return counted


def record_push_deliveries(report: DeliveryReport) -> None:
    """Count one round of push deliveries by outcome."""
    for outcome in PUSH_OUTCOMES:
        count = getattr(report, outcome)
        if count:
            PUSH_DELIVERIES.labels(outcome=outcome).inc(count)


def record_refusal(key: str) -> None:
    """Count one attempt refused by a limit; the label is the rule's name, not its key's digest."""
    # Keys are "trustline:<rule>:<digest>" (backend/ratelimit.py hashed_key).
    parts = key.split(":")
    RATELIMIT_REFUSALS.labels(rule=parts[1] if len(parts) == 3 else "other").inc()


def default_mode(host: str | None) -> str:
    """TRUSTLINE_METRICS when unset: `local` for a loopback listener, otherwise `off`."""
    if host is None:
        return "off"
    return "local" if is_loopback(host) else "off"


def is_loopback(host: str) -> bool:
    """Whether a listening or client address is a loopback one (`localhost` counts)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed() -> bool:
    mode = current_app.config.get("TRUSTLINE_METRICS") or "off"
    if mode == "on":
        return True
    if mode != "local":
        return False
    proxied = any(header in request.headers for header in FORWARDING_HEADERS)
    return not proxied and is_loopback(request.remote_addr or "")


# Every method, and no automatic OPTIONS: a refused scrape must look like any unknown address,
# and a 405 or an Allow header would say that something is here.
@blp.route(
    "/metrics",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    provide_automatic_options=False,
)
def scrape() -> Response:
    """The metrics in Prometheus' text format, where TRUSTLINE_METRICS allows."""
    if request.method not in ("GET", "HEAD") or not _allowed():
        raise NotFound()
    return Response(generate_latest(registry()), mimetype=None, content_type=CONTENT_TYPE_LATEST)


def registry() -> CollectorRegistry:
    """Every process's values (multiprocess mode), or this process's own."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    rule = request.url_rule
    method = request.method if request.method in METHODS else "other"
    route = rule.rule if rule is not None else UNMATCHED
    # gunicorn's access line quotes this instead of the path (gunicorn.conf.py).
    request.environ["trustline.route"] = route
    key = (method, route, response.status_code)
    series = _SERIES.get(key)
    if series is None:
        labels = {"method": method, "route": route, "status": str(response.status_code)}
        series = _SERIES[key] = (REQUESTS.labels(**labels), REQUEST_SECONDS.labels(**labels))
    series[0].inc()
    if started is not None:
        series[1].observe(time.perf_counter() - started)
    return response


# Each (method, route, status)'s two series, found once: the labels' lookup is most of the
# cost of counting a request. Bounded as the labels are (route templates, not paths).
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _watch_pool(app: Flask) -> None:
    """Follow the connection pool through its events, so each process reports its own use."""
    import sqlalchemy as sa

    from backend.extensions import db

    with app.app_context():
        engine = db.engine
    size = getattr(engine.pool, "size", None)
    if callable(size):  # QueuePool (PostgreSQL, SQLite files); SQLite in memory has no size
        POOL_SIZE.set(size())

    def checked_out(*_args: Any) -> None:
        POOL_IN_USE.inc()

    def checked_in(*_args: Any) -> None:
        POOL_IN_USE.dec()

    sa.event.listen(engine, "checkout", checked_out)
    sa.event.listen(engine, "checkin", checked_in)


def init_metrics(app: Flask) -> None:
    """Time and count every request, follow the pool, and serve /metrics (outside the spec)."""
    # First in, so the timer starts before the other hooks and the count sees the final status.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_count_request)
    app.register_blueprint(blp)
    _watch_pool(app)
