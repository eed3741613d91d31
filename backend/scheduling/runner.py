"""Running the tick with APScheduler: inside `trustline serve`, or alone in `trustline scheduler`.

Design choices, each against a known trap:
- one interval job per process, with APScheduler's default in-memory job store: processes
  never share a job store (a shared store makes several processes fire the same job); the
  exactly-once guarantee lives in the database (see jobs.py), not in APScheduler;
- `misfire_grace_time=None`: APScheduler 3.x silently skips a run that starts more than the
  grace time (1 s by default) late, e.g. after a slow tick or a suspended laptop; the tick
  tolerates lateness, so it always runs;
- `coalesce=True` and `max_instances=1`: runs that piled up collapse into one, and a tick
  never overlaps itself;
- occurrences are computed by Trustline (rules.py), never by APScheduler's cron trigger.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from backend.redaction import redacted_exc_info
from backend.scheduling.jobs import tick

log = logging.getLogger(__name__)


def run_tick(app: Flask, stop: threading.Event) -> None:
    """One tick inside the app context; errors are logged, never kill the scheduler."""
    with app.app_context():
        from backend.extensions import db

        try:
            report = tick(stop=stop)
            if report.opened or report.missed or report.expired or report.reminded:
                log.info(
                    "tick: opened %d, missed %d, expired %d, reminded %d",
                    report.opened,
                    report.missed,
                    report.expired,
                    report.reminded,
                )
        except Exception as exc:
            # Its type and traceback, not its message: a message may quote a stored value.
            log.error(
                "tick failed; it will run again at the next interval",
                exc_info=redacted_exc_info(exc),
            )
            db.session.rollback()
        finally:
            db.session.remove()


def start_scheduler(
    app: Flask, stop: threading.Event | None = None
) -> tuple[BackgroundScheduler, threading.Event]:
    """Start the tick in a background thread of this process."""
    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(
        run_tick,
        "interval",
        seconds=app.config["TRUSTLINE_SCHEDULER_INTERVAL_SECONDS"],
        args=[app, stop],
        id="trustline-tick",
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    log.info(
        "scheduler running in this process: tick every %ss",
        app.config["TRUSTLINE_SCHEDULER_INTERVAL_SECONDS"],
    )
    return scheduler, stop


def serve_scheduler_metrics(app: Flask) -> None:
    """Serve this process's metrics on TRUSTLINE_SCHEDULER_METRICS_PORT, where allowed.

    A scheduler answers no HTTP otherwise, and its ticks are counted in its own memory, so
    this is where Prometheus finds them: on loopback unless TRUSTLINE_METRICS is `on`.
    """
    port = app.config["TRUSTLINE_SCHEDULER_METRICS_PORT"]
    mode = app.config["TRUSTLINE_METRICS"] or "local"
    if port is None or mode == "off":
        return
    from prometheus_client import start_http_server

    address = "0.0.0.0" if mode == "on" else "127.0.0.1"  # noqa: S104 - `on` asks for it
    start_http_server(port, addr=address)
    log.info("scheduler metrics on http://%s:%d/metrics", address, port)


def run_forever(app: Flask) -> None:
    """Run the scheduler until SIGTERM or SIGINT; then finish the batch in hand and exit."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("signal %d: finishing the batch in hand", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    scheduler, _ = start_scheduler(app, stop)
    stop.wait()
    scheduler.shutdown(wait=True)
    log.info("scheduler stopped")
