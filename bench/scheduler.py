"""Scheduler benchmark: Trustline's tick against one APScheduler job per schedule.

For N due schedules (10,000 and 100,000 by default), on SQLite and on PostgreSQL, it measures
in separate processes (so memory is measured cleanly):

- trustline: one tick opening all N due check-ins (rate = N / seconds);
- apscheduler: the obvious alternative, one job per schedule in APScheduler's
  SQLAlchemyJobStore: the time to register the N jobs, and the time to fire them, each job
  opening its check-in through the same service call (rate = fired / seconds).

Each phase of the alternative is bounded (--limit seconds); when it runs out, the rate is
measured over what was done and the row says "partial". Prints a table with the ratios and
writes bench/results/scheduler-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


class PeakRss:
    """Samples this process's resident memory to find its peak during a phase."""

    def __init__(self) -> None:
        self.baseline = self.current()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def current() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.current())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.current())

    @property
    def grown_mb(self) -> float:
        return round((self.peak - self.baseline) / 2**20, 1)


def fresh_database(backend: str, name: str) -> str:
    import sqlalchemy as sa

    if backend == "sqlite":
        path = Path(tempfile.gettempdir()) / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    engine = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{PG_SERVER}/{name}"


def prepared_app(url: str, n: int):
    """An app over a migrated database holding N due schedules."""
    from flask_migrate import upgrade

    from backend import create_app
    from backend.checkins.library import load_library
    from tests.factories import make_due_schedules

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret-key-bench-secret-key-bench",
            "TRUSTLINE_LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        load_library()
        make_due_schedules(n, due_at=datetime.now(UTC) - timedelta(minutes=1))
        if url.startswith("postgresql"):
            # The planner's statistics, which autovacuum gathers after a bulk load like this one
            # (this server runs with autovacuum off). Without them PostgreSQL guesses a few
            # due schedules and sorts every due row at each claim (docs/scheduling.md).
            import sqlalchemy as sa

            from backend.extensions import db

            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
    return app


def count_checkins() -> int:
    import sqlalchemy as sa

    from backend.checkins.models import Checkin
    from backend.extensions import db

    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Checkin))


def worker_trustline(url: str, n: int) -> dict:
    from backend.scheduling.jobs import tick

    app = prepared_app(url, n)
    with app.app_context():
        with PeakRss() as memory:
            started = time.perf_counter()
            report = tick()
            seconds = time.perf_counter() - started
        assert report.opened == n == count_checkins(), (report, n)
    return {
        "seconds": round(seconds, 3),
        "rate": round(n / seconds, 1),
        "memory_mb": memory.grown_mb,
    }


_APP = None


def fire_one(schedule_id: str) -> None:
    """An APScheduler job: open this schedule's check-in through the same service call."""
    import sqlalchemy as sa

    from backend.checkins import service as checkins
    from backend.couples.models import CoupleMember
    from backend.extensions import db
    from backend.scheduling.models import Schedule

    with _APP.app_context():
        schedule = db.session.get(Schedule, schedule_id)
        members = tuple(
            db.session.scalars(
                sa.select(CoupleMember.user_id).where(CoupleMember.couple_id == schedule.couple_id)
            )
        )
        checkins.open_checkins(
            [
                checkins.Opening(
                    couple_id=schedule.couple_id,
                    member_ids=members,
                    prompt_set_key=schedule.prompt_set_key,
                    closes_at=schedule.next_due_at + timedelta(hours=schedule.window_hours),
                    source="scheduled",
                    schedule_id=schedule.id,
                    due_at=schedule.next_due_at,
                )
            ]
        )
        schedule.next_due_at += timedelta(days=1)
        db.session.commit()
        db.session.remove()


def worker_apscheduler(url: str, n: int, limit: float) -> dict:
    global _APP
    import sqlalchemy as sa
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    from backend.extensions import db
    from backend.scheduling.models import Schedule

    _APP = prepared_app(url, n)
    with _APP.app_context():
        schedules = db.session.execute(
            sa.select(Schedule.id, Schedule.local_time, Schedule.next_due_at)
        ).all()
    store_url = url.replace("sqlite:///", "sqlite:///") if url.startswith("sqlite") else url
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=store_url)},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )
    scheduler.start(paused=True)
    registered = 0
    with PeakRss() as register_memory:
        started = time.perf_counter()
        for schedule_id, local_time, due_at in schedules:
            hour, minute = map(int, local_time.split(":"))
            scheduler.add_job(
                fire_one,
                CronTrigger(hour=hour, minute=minute, timezone=UTC),
                args=[schedule_id],
                id=schedule_id,
                next_run_time=due_at,
            )
            registered += 1
            if time.perf_counter() - started > limit:
                break
        register_seconds = time.perf_counter() - started
    with _APP.app_context(), PeakRss() as fire_memory:
        started = time.perf_counter()
        scheduler.resume()
        fired = 0
        while time.perf_counter() - started < limit:
            fired = count_checkins()
            if fired >= registered:
                break
            time.sleep(0.5)
        fire_seconds = time.perf_counter() - started
        fired = count_checkins()
    # No scheduler.shutdown(): it joins APScheduler's loop thread, which first hands every due
    # job left to the pool and updates each in the job store (tens of minutes at 100,000).
    # The process ends with os._exit once it has printed these figures (main).
    return {
        "registered": registered,
        "register_seconds": round(register_seconds, 3),
        "register_rate": round(registered / register_seconds, 1),
        "register_memory_mb": register_memory.grown_mb,
        "fired": fired,
        "fire_seconds": round(fire_seconds, 3),
        "rate": round(fired / fire_seconds, 1),
        "memory_mb": fire_memory.grown_mb,
        "partial": registered < n or fired < registered,
    }


def run_worker(kind: str, backend: str, n: int, limit: float) -> dict:
    name = f"trustline_bench_{kind}_{n}"
    url = fresh_database(backend, name)
    command = [sys.executable, __file__, "--worker", kind, "--url", url, "--n", str(n)]
    command += ["--limit", str(limit)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {backend} {n} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per phase")
    parser.add_argument("--worker", choices=["trustline", "apscheduler"])
    parser.add_argument("--url")
    parser.add_argument("--n", type=int)
    args = parser.parse_args()
    if args.worker:
        work = worker_trustline if args.worker == "trustline" else worker_apscheduler
        result = (
            work(args.url, args.n)
            if args.worker == "trustline"
            else work(args.url, args.n, args.limit)
        )
        print(json.dumps(result), flush=True)
        if args.worker == "apscheduler":
            # APScheduler's loop and thread pool are still handing out and running the due
            # jobs left when the phase ran out (measured by then): at exit Python would wait
            # for them, for longer than the whole run.
            os._exit(0)
        return

    rows = []
    for backend in args.backends:
        for n in args.sizes:
            ours = run_worker("trustline", backend, n, args.limit)
            alternative = run_worker("apscheduler", backend, n, args.limit)
            row = {
                "backend": backend,
                "n": n,
                "trustline": ours,
                "apscheduler_jobstore": alternative,
                "ratio_rate": round(ours["rate"] / alternative["rate"], 1),
                "ratio_memory": round(alternative["memory_mb"] / max(ours["memory_mb"], 0.1), 1),
            }
            rows.append(row)
            partial = " partial" if alternative["partial"] else ""
            print(
                f"{backend:10} N={n:>7}: tick {ours['rate']:>8.0f}/s in {ours['seconds']:>6.1f}s "
                f"(+{ours['memory_mb']} MB) | per-job: register "
                f"{alternative['register_rate']:>6.0f}/s, fire {alternative['rate']:>6.0f}/s "
                f"(+{alternative['memory_mb']} MB){partial} | ratio {row['ratio_rate']}x",
                flush=True,
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"scheduler-{stamp}.json"
    out.write_text(
        json.dumps(
            {"machine": {"cpus": os.cpu_count()}, "limit_seconds": args.limit, "rows": rows},
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
