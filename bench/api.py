"""API load benchmark: Trustline under gunicorn (2 workers), driven by wrk on loopback.

For each backend (PostgreSQL, then SQLite) it fills one couple with 100,000 timeline events
and 50,000 couples beside it, starts `gunicorn -w 2 'backend:create_app()'`, and measures,
side by side in one run, requests per second and p50/p99 latency of:

- GET /healthz                      (the ceiling of this stack: no database, no auth)
- GET /api/v1/couple/timeline        (first page)
- GET /api/v1/couple/timeline?cursor (a page 90,000 events deep)
- PUT /api/v1/checkins/{id}/answers  (a draft save to one check-in: 16 clients on one row lock)
- PUT /api/v1/checkins/{id}/answers  (draft saves spread over 4,000 different check-ins)
- POST /api/v1/agreements/{id}/consent   (each request consents to a different agreement)
- POST /api/v1/pairing-invites/accept    (each request pairs a different two people)
- POST /api/v1/auth/login            (argon2id at production cost: deliberately slow)

It prints the ratios timeline/healthz (target >= 0.5), deep/first page p50 (target <= 1.2) and
each write's throughput over healthz's (target >= 0.1), the resident memory of every server
process after the load, and writes bench/results/api-<timestamp>.json. Needs `wrk` (Debian
package `wrk`).

With `--serve` it also starts `trustline serve` (the embedded default: gunicorn inside, the
scheduler in one worker) over the same SQLite database and measures it the same way, right
after `gunicorn -w 2`, printing serve/gunicorn on the timeline (target >= 0.8).
`--small` fills 5,000 events and 2,000 couples instead, for a quick run on a busy machine;
`--endpoints` measures only the named ones.

    .venv/bin/python bench/api.py [--seconds 10] [--connections 16] [--backends postgresql sqlite]
    .venv/bin/python bench/api.py --backends sqlite --serve --small \
        --endpoints healthz timeline_first
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
SECRET = "bench-secret-key-bench-secret-key-bench"
PASSWORD = "a long bench password"
SIZES = {
    "full": {"events": 100_000, "couples": 50_000, "deep": 90_000, "writes": 4_000},
    "small": {"events": 5_000, "couples": 2_000, "deep": 4_500, "writes": 3_000},
}
ENDPOINTS = (
    "healthz",
    "timeline_first",
    "timeline_deep",
    "answers_put",
    "answers_many",
    "consent",
    "pair_accept",
    "login",
)
WRITES = ("answers_many", "consent", "pair_accept")
# The write workloads' users are made with a cheap password hash (the parameters travel in
# the hash, so the server verifies nothing slower); only `login` measures the real cost.
CHEAP_HASH = {
    "TRUSTLINE_ARGON2_TIME_COST": 1,
    "TRUSTLINE_ARGON2_MEMORY_KIB": 1024,
    "TRUSTLINE_ARGON2_PARALLELISM": 1,
}


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


def fill(url: str, *, events: int, couples: int, deep: int, writes: int) -> dict[str, Any]:
    """Migrate, make the measured couple and its history, the couples beside it, and what
    each write workload consumes (`writes` check-ins, agreements and pairing codes)."""
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
            for n in range(events)
        ]
        for offset in range(0, len(rows), 10_000):
            db.session.execute(sa.insert(TimelineEvent), rows[offset : offset + 10_000])
        db.session.commit()
        # the couples beside it (each with a schedule, as a live system has)
        make_due_schedules(couples, due_at=datetime.now(UTC) + timedelta(days=1))
        deep = db.session.execute(
            sa.select(TimelineEvent.occurred_at, TimelineEvent.id)
            .where(TimelineEvent.couple_id == couple["id"])
            .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
            .offset(deep - 1)
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
        body = json.dumps({"answers": answers, "submit": False})
        return {
            "cursor": encode_cursor(deep[0], deep[1]),
            "checkin_id": checkin["id"],
            "answers": body,
            **write_workloads(app, alice, bob, writes=writes, answers_body=body),
        }


def write_workloads(app: Any, alice: Any, bob: Any, *, writes: int, answers_body: str) -> dict:
    """Requests for the write workloads, each one on its own object: (method, path, token,
    body) lists that wrk's script walks through."""
    from tests.helpers import ApiClient, register

    if not writes:
        return {name: [] for name in WRITES}
    print(f"  {writes} check-ins, agreements and pairing codes for the writes...")
    checkins = [
        alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()["id"]
        for _ in range(writes)
    ]
    agreements = [
        alice.post(
            "/couple/agreements",
            json={"title": f"Bench {n}", "items": [{"category": "plans", "text": "We share."}]},
        ).get_json()["id"]
        for n in range(writes)
    ]
    app.config.update(CHEAP_HASH)
    app.extensions.pop("trustline_hasher", None)  # built again with the cheap parameters
    pairs = []
    for n in range(writes):
        client = app.test_client()
        inviter = ApiClient(client, register(client, f"inviter{n}@bench.example", "Inviter"))
        code = inviter.post("/pairing-invites").get_json()["code"]
        other = app.test_client()
        pairs.append((register(other, f"accepter{n}@bench.example", "Accepter"), code))
    alice_token, bob_token = alice.tokens["access_token"], bob.tokens["access_token"]
    return {
        "answers_many": [
            ("PUT", f"/api/v1/checkins/{c}/answers", alice_token, answers_body) for c in checkins
        ],
        "consent": [
            ("POST", f"/api/v1/agreements/{a}/consent", bob_token, '{"version": 1}')
            for a in agreements
        ],
        "pair_accept": [
            (
                "POST",
                "/api/v1/pairing-invites/accept",
                tokens["access_token"],
                json.dumps({"code": code}),
            )
            for tokens, code in pairs
        ],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind: str, url: str, port: int, workdir: Path) -> subprocess.Popen:
    """`gunicorn -w 2` (the production way) or `trustline serve` (the embedded default)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRUSTLINE_")}
    env.update(
        TRUSTLINE_DATABASE_URL=url,
        TRUSTLINE_SECRET_KEY=SECRET,
        TRUSTLINE_LOG_LEVEL="WARNING",
        TRUSTLINE_INSTANCE_DIR=str(workdir),
        # This checkout's code, also for the `trustline` script (an editable install of the
        # venv may point at another checkout; gunicorn imports from its cwd, ROOT).
        PYTHONPATH=str(ROOT),
    )
    bin_dir = Path(sys.executable).parent
    if kind == "serve":
        command = [str(bin_dir / "trustline"), "serve", "--port", str(port)]
    else:
        command = [
            str(bin_dir / "gunicorn"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "backend:create_app()",
        ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{kind} did not start")


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
    requests: list[tuple[str, str, str, str]] | None = None,
) -> dict[str, float]:
    """Run wrk against one URL; returns requests/s and p50/p99 latency in ms.

    With `requests` ((method, path, token, body) each), every request sent is the next of the
    list, the two threads taking turns, so that no object is written twice until the list
    runs out."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    lines = [f'wrk.method = "{method}"']
    if requests:
        lines.append("local items = {")
        lines.extend(
            f"  {{{json.dumps(m)}, {json.dumps(p)}, {json.dumps(t)}, {json.dumps(b)}}},"
            for m, p, t, b in requests
        )
        lines.append("}")
        lines.append(
            "local threads = 0\n"
            "function setup(thread)\n"
            "  thread:set('first', threads)\n"
            "  threads = threads + 1\n"
            "end\n"
            "function init(args)\n"
            "  n = first\n"
            "end\n"
            "function request()\n"
            "  local item = items[(n % #items) + 1]\n"
            "  n = n + 2\n"
            "  return wrk.format(item[1], item[2], {['Authorization'] = 'Bearer ' .. item[3],"
            " ['Content-Type'] = 'application/json'}, item[4])\n"
            "end"
        )
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


def load(
    kind: str, url: str, data: dict[str, str], endpoints: list[str], common: dict[str, int]
) -> dict:
    """Start one server over `url`, run wrk on each endpoint in turn, stop it."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="trustline-bench-") as workdir:
        server = start_server(kind, url, port, Path(workdir))
        try:
            token = login(port)
            base = f"http://127.0.0.1:{port}"
            runs = {
                "healthz": lambda: wrk(f"{base}/healthz", **common),
                "timeline_first": lambda: wrk(
                    f"{base}/api/v1/couple/timeline", token=token, **common
                ),
                "timeline_deep": lambda: wrk(
                    f"{base}/api/v1/couple/timeline?cursor={data['cursor']}", token=token, **common
                ),
                "answers_put": lambda: wrk(
                    f"{base}/api/v1/checkins/{data['checkin_id']}/answers",
                    method="PUT",
                    body=data["answers"],
                    token=token,
                    **common,
                ),
                **{
                    name: (lambda name=name: wrk(f"{base}/healthz", requests=data[name], **common))
                    for name in WRITES
                },
                "login": lambda: wrk(
                    f"{base}/api/v1/auth/login",
                    method="POST",
                    body=json.dumps({"email": "alice@bench.example", "password": PASSWORD}),
                    **common,
                ),
            }
            results = {name: runs[name]() for name in endpoints}
            results["memory_mib"] = resident_memory(server.pid)
            return results
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def resident_memory(pid: int) -> dict[str, float]:
    """Resident memory (MiB) of a server process and of each of its worker processes."""

    def rss(process: int) -> float:
        for line in Path(f"/proc/{process}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    memory = {"master": rss(pid)}
    memory.update({f"worker_{n + 1}": rss(int(child)) for n, child in enumerate(children)})
    return memory


def ratio(results: dict, top: str, bottom: str, field: str = "rps") -> float | None:
    """results[top][field] / results[bottom][field], when both were measured."""
    if top not in results or bottom not in results:
        return None
    return round(results[top][field] / results[bottom][field], 3)


def measure(
    backend: str, seconds: int, connections: int, *, size: str, endpoints: list[str], serve: bool
) -> dict:
    url = fresh_database(backend)
    sizes = SIZES[size]
    print(f"{backend}: filling {sizes['events']} events and {sizes['couples']} couples...")
    # The write workloads' objects are made only when a write is measured (they take a while).
    data = fill(url, **{**sizes, "writes": sizes["writes"] if set(endpoints) & set(WRITES) else 0})
    common = {"seconds": seconds, "connections": connections}
    results = load("gunicorn", url, data, endpoints, common)
    results["ratio_timeline_to_healthz"] = ratio(results, "timeline_first", "healthz")
    deep = ratio(results, "timeline_deep", "timeline_first", "p50_ms")
    results["ratio_deep_to_first_p50"] = deep
    for name in WRITES:
        results[f"ratio_{name}_to_healthz"] = ratio(results, name, "healthz")
    if serve and backend == "sqlite":
        # What a write consumed (an agreement consented to, a code used) can't be written
        # again: the embedded server is measured on the rest.
        again = [name for name in endpoints if name not in ("consent", "pair_accept")]
        embedded = load("serve", url, data, again, common)
        results["serve"] = embedded
        results["ratio_serve_to_gunicorn_timeline"] = (
            round(embedded["timeline_first"]["rps"] / results["timeline_first"]["rps"], 3)
            if "timeline_first" in endpoints
            else None
        )
        results["ratio_serve_to_gunicorn_healthz"] = (
            round(embedded["healthz"]["rps"] / results["healthz"]["rps"], 3)
            if "healthz" in endpoints
            else None
        )
    return results


def print_table(title: str, results: dict, endpoints: list[str]) -> None:
    print(f"\n{title}")
    print(f"  {'endpoint':16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name in endpoints:
        if name not in results:
            continue
        r = results[name]
        row = f"{r['rps']:>9.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['non_2xx']:>8}"
        print(f"  {name:16} {row}")
        if name in ("consent", "pair_accept") and r["non_2xx"]:
            print(f"  ({name} ran out of objects: its req/s counts cheap 409s; use fewer seconds)")
    memory = ", ".join(f"{name} {mib} MiB" for name, mib in results["memory_mib"].items())
    print(f"  resident memory after the load: {memory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument(
        "--serve", action="store_true", help="also measure `trustline serve` (SQLite)"
    )
    parser.add_argument("--small", action="store_true", help="5,000 events, 2,000 couples")
    parser.add_argument("--endpoints", nargs="+", choices=ENDPOINTS, default=list(ENDPOINTS))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    size = "small" if args.small else "full"
    report = {
        "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
        # gunicorn reads more settings from this variable (a worker class, threads): a run
        # measured with it says so.
        "gunicorn_cmd_args": os.environ.get("GUNICORN_CMD_ARGS"),
        "size": {"name": size, **SIZES[size]},
        "seconds": args.seconds,
        "connections": args.connections,
        "backends": {},
    }
    for backend in args.backends:
        results = measure(
            backend,
            args.seconds,
            args.connections,
            size=size,
            endpoints=args.endpoints,
            serve=args.serve,
        )
        report["backends"][backend] = results
        extra = f" {report['gunicorn_cmd_args']}" if report["gunicorn_cmd_args"] else ""
        print_table(f"{backend} (gunicorn -w 2{extra})", results, args.endpoints)
        if results["ratio_timeline_to_healthz"] is not None:
            print(
                f"  timeline/healthz throughput: {results['ratio_timeline_to_healthz']}"
                " (target >= 0.5)"
            )
        if results["ratio_deep_to_first_p50"] is not None:
            print(
                f"  deep/first page p50:         {results['ratio_deep_to_first_p50']}"
                " (target <= 1.2)"
            )
        for name in WRITES:
            if results[f"ratio_{name}_to_healthz"] is not None:
                print(
                    f"  {name}/healthz throughput: {results[f'ratio_{name}_to_healthz']}"
                    " (target >= 0.1)"
                )
        if "serve" in results:
            print_table(f"{backend} (trustline serve)", results["serve"], args.endpoints)
            print(
                "  serve/gunicorn timeline:     "
                f"{results['ratio_serve_to_gunicorn_timeline']} (target >= 0.8)"
            )
            print(f"  serve/gunicorn healthz:      {results['ratio_serve_to_gunicorn_healthz']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"api-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
