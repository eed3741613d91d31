"""gunicorn's settings for Trustline's API workers.

    gunicorn -c gunicorn.conf.py 'backend:create_app()'          # from a checkout
    gunicorn -c python:backend.gunicorn_config 'backend:create_app()'   # from an installed wheel

gunicorn reads this module's public names as its settings (a flag on the command line still
wins) and calls its hooks; helpers are private (`_name`) so that gunicorn never mistakes one for
a setting. What it adds to plain gunicorn:
- every TRUSTLINE_* setting is checked before a worker starts, with one line naming the first
  bad one; and with more than one worker, TRUSTLINE_SECRET_KEY must be set;
- a worker count from the machine's cores, and timeouts that suit sync workers;
- an access log line without the query string or the raw path (filter values can sit in the
  query, ids and the calendar feed's token in the path): the route template instead;
- prometheus_client's multiprocess mode, so that /metrics adds up every worker.
"""

from __future__ import annotations

import os as _os
import shutil as _shutil
import sys as _sys
import tempfile as _tempfile
from pathlib import Path as _Path
from typing import Any as _Any

from backend.config import ConfigError as _ConfigError
from backend.config import gunicorn_workers as _gunicorn_workers
from backend.config import load_config as _load_config
from backend.config import several_processes_need_a_secret as _several_processes_need_a_secret

__all__ = [
    "access_log_format",
    "accesslog",
    "bind",
    "child_exit",
    "errorlog",
    "graceful_timeout",
    "keepalive",
    "logger_class",
    "on_exit",
    "on_starting",
    "timeout",
    "workers",
    "wsgi_app",
]
_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Workers read this to know that the master checked the secret for their number.
_WORKERS_ENV = "TRUSTLINE_GUNICORN_WORKERS"
_MAX_DEFAULT_WORKERS = 12

try:
    _load_config(_os.environ)
    _workers_setting = _gunicorn_workers(_os.environ)
except _ConfigError as _error:
    # SystemExit passes gunicorn's "Failed to read config file" traceback: one line instead.
    _sys.exit(f"Error: {_error}")


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(_os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return _os.cpu_count() or 1


# The multiprocess folder must exist before any worker imports prometheus_client (it reads the
# variable at import): an operator's own, or one made for this run and removed at exit.
_made_multiproc_dir: str | None = None
if not _os.environ.get(_MULTIPROC_ENV):
    _made_multiproc_dir = _tempfile.mkdtemp(prefix="trustline-metrics-")
    _os.environ[_MULTIPROC_ENV] = _made_multiproc_dir

wsgi_app = "backend:create_app()"
bind = ["127.0.0.1:8000"]
# Sync workers, one request each at a time; 2 * cores + 1 keeps the cores busy while some wait
# on the database. Capped: each worker holds a connection pool and up to 64 MiB per argon2 hash.
workers = _workers_setting or min(2 * _cores() + 1, _MAX_DEFAULT_WORKERS)
# A worker silent this long (a stuck request) is killed and replaced.
timeout = 30
# On SIGTERM or SIGHUP, workers finish the requests in hand for up to this long.
graceful_timeout = 30
# Behind a proxy that reuses connections; a little longer than nginx's upstream default.
keepalive = 5
accesslog = "-"
errorlog = "-"
# No %(r)s, %(U)s or %(q)s: the route template (set by backend/metrics.py), never the path
# or the query a client sent. %(h)s is the peer (the proxy's address behind one).
access_log_format = (
    '%(h)s %(t)s "%(m)s %({trustline.route}e)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s'
)
# JSON lines with TRUSTLINE_LOG_FORMAT=json (backend/logs.py).
logger_class = "backend.logs.GunicornLogger"


def _loopback(address: str) -> bool:
    """Whether gunicorn's bind address (host:port, [v6]:port, unix:path) is local only."""
    from backend.metrics import is_loopback

    if address.startswith("unix:"):
        return True  # a socket file: reached only from this machine
    if address.startswith("["):
        return is_loopback(address[1:].split("]")[0])
    return is_loopback(address.rsplit(":", 1)[0] if ":" in address else address)


def on_starting(server: _Any) -> None:
    """In the master, with the final settings: check the secret, set defaults, clear metrics."""
    count = server.cfg.workers
    try:
        _several_processes_need_a_secret(
            _os.environ, processes=count, what="gunicorn runs more than one worker"
        )
    except _ConfigError as error:
        on_exit(server)  # gunicorn stops here without calling on_exit
        raise RuntimeError(str(error)) from None  # gunicorn prints "Error: ..." and exits 1
    _os.environ[_WORKERS_ENV] = str(count)
    if not _os.environ.get("TRUSTLINE_METRICS"):
        # Served to loopback clients only while every address gunicorn listens on is local.
        local = all(_loopback(address) for address in server.cfg.bind)
        _os.environ["TRUSTLINE_METRICS"] = "local" if local else "off"
    # Values of an earlier run would be added to this one's.
    for stale in _Path(_os.environ[_MULTIPROC_ENV]).glob("*.db"):
        stale.unlink()


def child_exit(server: _Any, worker: _Any) -> None:
    """A worker is gone: drop its live gauges (its counters still count toward the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: _Any) -> None:
    """Remove the metrics folder made for this run."""
    if _made_multiproc_dir:
        _shutil.rmtree(_made_multiproc_dir, ignore_errors=True)
