"""The server of `trustline serve`: gunicorn, run through its own application API.

The embedded default is one command over SQLite, yet not the slow path: gunicorn, as in
production (see gunicorn_config.py) — two sync workers, whose failure counts are shared in a
SQLite file of the instance folder (backend/ratelimit_sqlite.py) — with these differences:
- the app is built, the database migrated and the secret key read once, in the master, before
  the workers are forked: every worker serves that app and signs with that key, so two
  workers need no TRUSTLINE_SECRET_KEY (they are one deployment on one machine);
- the scheduler runs in exactly one worker: the first to take an exclusive lock on a file of
  this run. Should that worker die, the lock dies with it and its replacement takes it. It
  sits in a worker, not in the master, because the master forks workers, and a fork taken
  while the tick's thread holds a lock (the connection pool's, the logging module's) can leave
  the child stuck; a worker never forks. On SQLite that worker's tick is one more writer
  beside the requests, as it was in the threaded development server (WAL mode,
  backend/database.py: readers never wait, writers queue behind busy_timeout);
- gunicorn's access line stays off: the app writes each request's record (backend/logs.py)
  with the route template, never the raw path, which can hold a calendar feed's token.
"""

from __future__ import annotations

import fcntl
import threading
from typing import IO, Any

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, has_app_context
from gunicorn.app.base import BaseApplication

# The failure counters are shared between processes by default (a SQLite file, or Redis):
# two sync workers, twice the throughput of one process on two cores (SQLite in WAL mode lets
# both read at once), and every failed login and wrong code is counted once whichever worker
# serves it. Only an operator's explicit memory:// keeps the counts in each process: then one
# worker with threads, since several would each count alone and multiply every allowance.
THREADS = 8
SHARED_STORE_WORKERS = 2


def several_workers_allowed(storage_uri: str) -> bool:
    """Whether failure counts are shared between processes (not in each process's memory)."""
    return storage_uri.split(":", 1)[0].lower() != "memory"


def bind_address(host: str, port: int) -> str:
    """gunicorn's bind string for a host (an IPv6 address goes in brackets) and port."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class EmbeddedServer(BaseApplication):
    """gunicorn serving an app built already, with the scheduler in one of its workers."""

    def __init__(self, app: Flask, *, bind: str, workers: int, scheduler_lock: str | None) -> None:
        self.application = app
        self.bind = bind
        self.workers = workers
        # The file whose lock elects the scheduler's worker; None: no scheduler.
        self.scheduler_lock = scheduler_lock
        self._lock_file: IO[str] | None = None
        self._scheduler: tuple[BackgroundScheduler, threading.Event] | None = None
        super().__init__()

    def load_config(self) -> None:
        """The production workers' settings (gunicorn_config.py), where they apply here."""
        from backend import gunicorn_config as production

        settings: dict[str, Any] = {
            "bind": [self.bind],
            "workers": self.workers,
            # One process serves with threads; several serve one request each at a time.
            "worker_class": "gthread" if self.workers == 1 else "sync",
            "threads": THREADS if self.workers == 1 else 1,
            "timeout": production.timeout,
            "graceful_timeout": production.graceful_timeout,
            "keepalive": production.keepalive,
            "accesslog": None,
            "errorlog": "-",
            "logger_class": production.logger_class,
            "proc_name": "trustline",
            "child_exit": production.child_exit,
            "post_fork": self.post_fork,
            "post_worker_init": self.post_worker_init,
            "worker_exit": self.worker_exit,
        }
        if "control_socket_disable" in self.cfg.settings:  # recent gunicorn releases only
            # Its control socket sits at one path per user: a second `serve` (or a gunicorn
            # beside it) would take it over. Nothing here uses it.
            settings["control_socket_disable"] = True
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> Flask:
        """The app, built in the master."""
        return self.application

    def post_fork(self, _server: Any, _worker: Any) -> None:
        """In a new worker: never use a database connection the master opened."""
        from backend.extensions import db

        with self.application.app_context():
            db.engine.dispose(close=False)

    def post_worker_init(self, _worker: Any) -> None:
        """Start the scheduler here if no other worker of this run has it."""
        if self.scheduler_lock is None:
            return
        lock_file = open(self.scheduler_lock, "a")  # noqa: SIM115 - held for the worker's life
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            return
        from backend.scheduling.runner import start_scheduler

        self._lock_file = lock_file
        self._scheduler = start_scheduler(self.application)

    def worker_exit(self, _server: Any, _worker: Any) -> None:
        """A worker stops: its scheduler finishes the batch in hand first."""
        if self._scheduler is not None:
            scheduler, stop = self._scheduler
            stop.set()
            scheduler.shutdown(wait=True)
            self._scheduler = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def run(app: Flask, *, host: str, port: int, workers: int, scheduler_lock: str | None) -> None:
    """Serve `app` until SIGTERM or SIGINT (Ctrl-C)."""
    if has_app_context():
        # Every worker would inherit it, and a sync worker's requests would run in it instead
        # of their own: one `g` and one database session for all of them.
        raise RuntimeError("the embedded server must start outside any app context")
    EmbeddedServer(
        app, bind=bind_address(host, port), workers=workers, scheduler_lock=scheduler_lock
    ).run()
