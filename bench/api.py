"""API load benchmark: Trustline under gunicorn (2 workers), driven by wrk on loopback.

For each backend (PostgreSQL, then SQLite) it fills one couple with 100,000 timeline events
and 50,000 couples beside it, starts `gunicorn -w 2 'backend:create_app()'`, and measures,
side by side in one run, requests per second and p50/p99 latency of:

- GET /healthz                      (the ceiling of this stack: no database, no auth)
- GET /api/v1/couple/timeline        (first page)
- GET /api/v1/couple/timeline?cursor (a page 90,000 events deep)
- PUT /api/v1/checkins/{id}/answers  (a draft save: delete and insert answers)
- POST /api/v1/auth/login            (argon2id at production cost: deliberately slow)

It prints the ratios timeline/healthz (target >= 0.5) and deep/first page p50 (target <= 1.2)
and writes bench/results/api-<timestamp>.json. Needs `wrk` (Debian package `wrk`).

    .venv/bin/python bench/api.py [--seconds 10] [--connections 16] [--backends postgresql sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
SECRET = "bench-secret-key-bench-secret-key-bench"
PASSWORD = "a long bench password"
EVENTS = 100_000
OTHER_COUPLES = 50_000
DEEP = 90_000


def fresh_database(backend: str) -> str:
    import sqlalchemy as sa

    if backend == "sqlite":
        path = Path(tempfile.gettempdir()) / "trustline_bench_api.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    engine = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS "trustline_bench_api" WITH (FORCE)'))
        conn.execute(sa.text('CREATE DATABASE "trustline_bench_api"'))
    engine.dispose()
    return f"{PG_SERVER}/trustline_bench_api"


def fill(url: str) -> dict[str, str]:
    """Migrate, make the measured couple and its history, and the couples beside it."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from backend import create_app
    from backend.checkins.library import load_library
    from backend.extensions import db
    from backend.ids import new_id
    from backend.pagination import encode_cursor
    from backend.timeline.models import TimelineEvent
    from tests.factories import make_due_schedules
    from tests.helpers import ApiClient, pair, register

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        load_library()
        client = app.test_client()
        alice = ApiClient(
            client, register(client, "alice@bench.example", "Alice", password=PASSWORD)
        )
        bob = ApiClient(app.test_client(), register(app.test_client(), "bob@bench.example", "Bob"))
        couple = pair(alice, bob)
        checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
        start = datetime.now(UTC) - timedelta(days=400)
        rows = [
            {
                "id": new_id(),
                "couple_id": couple["id"],
                "occurred_at": start + timedelta(minutes=5 * n),
                "kind": "couple_updated",
                "actor_id": None,
                "subject_type": "couple",
                "subject_id": couple["id"],
                "summary": f"Bench event {n}.",
            }
            for n in range(EVENTS)
        ]
        for offset in range(0, len(rows), 10_000):
            db.session.execute(sa.insert(TimelineEvent), rows[offset : offset + 10_000])
        db.session.commit()
        # the couples beside it (each with a schedule, as a live system has)
        make_due_schedules(OTHER_COUPLES, due_at=datetime.now(UTC) + timedelta(days=1))
        deep = db.session.execute(
            sa.select(TimelineEvent.occurred_at, TimelineEvent.id)
            .where(TimelineEvent.couple_id == couple["id"])
            .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
            .offset(DEEP - 1)
            .limit(1)
        ).one()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
                conn.commit()
        answers = [
            {
                "prompt": p["key"],
                "value": p.get("max") or (p.get("options") or [{}])[0].get("value") or "words",
            }
            for p in checkin["prompts"]
        ]
        return {
            "cursor": encode_cursor(deep[0], deep[1]),
            "checkin_id": checkin["id"],
            "answers": json.dumps({"answers": answers, "submit": False}),
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRUSTLINE_")}
    env.update(
        TRUSTLINE_DATABASE_URL=url, TRUSTLINE_SECRET_KEY=SECRET, TRUSTLINE_LOG_LEVEL="WARNING"
    )
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "backend:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def login(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        data=json.dumps({"email": "alice@bench.example", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())["access_token"]


def wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    method: str = "GET",
    body: str | None = None,
    token: str | None = None,
) -> dict[str, float]:
    """Run wrk against one URL; returns requests/s and p50/p99 latency in ms."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    lines.append(
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %f %f %f %d %d\\n",'
        " summary.requests / (summary.duration / 1e6),"
        " latency:percentile(50) / 1000, latency:percentile(99) / 1000,"
        " summary.errors.status, summary.requests))\nend"
    )
    script.write_text("\n".join(lines))
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    script.unlink()
    rps, p50, p99, bad, total = re.search(r"RESULT (\S+) (\S+) (\S+) (\d+) (\d+)", output).groups()
    return {
        "rps": round(float(rps), 1),
        "p50_ms": round(float(p50), 2),
        "p99_ms": round(float(p99), 2),
        "non_2xx": int(bad),
        "requests": int(total),
    }


def measure(backend: str, seconds: int, connections: int) -> dict:
    url = fresh_database(backend)
    print(f"{backend}: filling {EVENTS} events and {OTHER_COUPLES} couples...", flush=True)
    data = fill(url)
    port = free_port()
    server = start_gunicorn(url, port)
    try:
        token = login(port)
        base = f"http://127.0.0.1:{port}"
        common = {"seconds": seconds, "connections": connections}
        results = {
            "healthz": wrk(f"{base}/healthz", **common),
            "timeline_first": wrk(f"{base}/api/v1/couple/timeline", token=token, **common),
            "timeline_deep": wrk(
                f"{base}/api/v1/couple/timeline?cursor={data['cursor']}", token=token, **common
            ),
            "answers_put": wrk(
                f"{base}/api/v1/checkins/{data['checkin_id']}/answers",
                method="PUT",
                body=data["answers"],
                token=token,
                **common,
            ),
            "login": wrk(
                f"{base}/api/v1/auth/login",
                method="POST",
                body=json.dumps({"email": "alice@bench.example", "password": PASSWORD}),
                **common,
            ),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    results["ratio_timeline_to_healthz"] = round(
        results["timeline_first"]["rps"] / results["healthz"]["rps"], 3
    )
    results["ratio_deep_to_first_p50"] = round(
        results["timeline_deep"]["p50_ms"] / results["timeline_first"]["p50_ms"], 3
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    report = {
        "machine": {"cpus": os.cpu_count()},
        "seconds": args.seconds,
        "connections": args.connections,
        "backends": {},
    }
    for backend in args.backends:
        results = measure(backend, args.seconds, args.connections)
        report["backends"][backend] = results
        print(f"\n{backend}")
        print(f"  {'endpoint':16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
        for name in ("healthz", "timeline_first", "timeline_deep", "answers_put", "login"):
            r = results[name]
            row = f"{r['rps']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['non_2xx']:>8}"
            print(f"  {name:16} {row}")
        print(
            f"  timeline/healthz throughput: {results['ratio_timeline_to_healthz']} (target >= 0.5)"
        )
        print(
            f"  deep/first page p50:         {results['ratio_deep_to_first_p50']} (target <= 1.2)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"api-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
