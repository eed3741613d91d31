"""The deployment guide's commands work: seed, gunicorn over create_app, a scheduler process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests import clockshift
from tests.test_serve import free_port, wait_until_up

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def scrape(port: int) -> str:
    """The text of /metrics on a loopback port ("" while it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return response.read().decode()
    except OSError:
        return ""


def test_seed_then_gunicorn_workers_then_a_scheduler_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
    env.update(
        TRUSTLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'trustline.db'}",
        TRUSTLINE_SECRET_KEY="d" * 48,
        TRUSTLINE_ARGON2_MEMORY_KIB="1024",
        TRUSTLINE_INSTANCE_DIR=str(tmp_path / "instance"),
    )
    seeded = subprocess.run(
        clockshift.command("trustline", "seed"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    assert "prompts added" in seeded.stdout
    port = free_port()
    gunicorn = subprocess.Popen(
        clockshift.command(
            "gunicorn", "-c", "gunicorn.conf.py", "-w", "2", "-b", f"127.0.0.1:{port}"
        ),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = wait_until_up(f"http://127.0.0.1:{port}/readyz", gunicorn)
        assert ready["database"] == "ok"
        # Both workers count failures in the instance folder's file (no Redis set).
        assert ready["ratelimit_store"] == "ok"
        assert (tmp_path / "instance" / "ratelimit.db").exists()
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    metrics_port = free_port()
    scheduler = subprocess.Popen(
        clockshift.command("trustline", "scheduler"),
        cwd=tmp_path,
        env={
            **env,
            "TRUSTLINE_SCHEDULER_INTERVAL_SECONDS": "1",
            "TRUSTLINE_SCHEDULER_METRICS_PORT": str(metrics_port),
        },
        stdout=(tmp_path / "scheduler.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    started = "scheduler running in this process"
    deadline = time.monotonic() + 60
    while started not in (tmp_path / "scheduler.log").read_text() and scheduler.poll() is None:
        assert time.monotonic() < deadline, "the scheduler did not start within 60 s"
        time.sleep(0.1)
    # Its ticks are counted in its own memory and served on loopback (TRUSTLINE_METRICS unset).
    while 'trustline_tick_runs_total{outcome="ok"}' not in scrape(metrics_port):
        assert time.monotonic() < deadline and scheduler.poll() is None, "no tick was counted"
        time.sleep(0.2)
    scheduler.send_signal(signal.SIGTERM)
    assert scheduler.wait(timeout=30) == 0
    assert started in (tmp_path / "scheduler.log").read_text()


def _trustline_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
    return {**env, "TRUSTLINE_DATABASE_URL": url, "TRUSTLINE_SECRET_KEY": "d" * 48}


def test_the_postgresql_backup_and_restore_commands(migrated_app, app, alice, tmp_path):
    import shutil

    import pytest
    import sqlalchemy as sa

    from tests.conftest import fresh_postgres_database

    if migrated_app.config["TEST_BACKEND"] != "postgresql" or not shutil.which("pg_dump"):
        pytest.skip("needs the PostgreSQL backend and pg_dump")
    source = sa.engine.make_url(migrated_app.config["SQLALCHEMY_DATABASE_URI"])
    plain = source.set(drivername="postgresql").render_as_string(hide_password=False)
    restored = fresh_postgres_database("restored")
    restored_plain = sa.engine.make_url(restored).set(drivername="postgresql")
    dump = tmp_path / "trustline-backup.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", plain], check=True)
    subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            f"--dbname={restored_plain.render_as_string(hide_password=False)}",
            str(dump),
        ],
        check=True,
    )
    upgraded = subprocess.run(
        [str(BIN / "trustline"), "db", "upgrade"],
        env=_trustline_env(restored),
        capture_output=True,
        text=True,
    )
    assert upgraded.returncode == 0, upgraded.stderr[-2000:]
    engine = sa.create_engine(restored)
    with engine.connect() as conn:
        emails = conn.execute(sa.text("SELECT email FROM users")).scalars().all()
    engine.dispose()
    assert "alice@example.com" in emails


def test_the_sqlite_backup_command(tmp_path):
    import shutil

    import pytest
    import sqlalchemy as sa

    if not shutil.which("sqlite3"):
        pytest.skip("needs the sqlite3 command")
    database = tmp_path / "instance" / "trustline.db"
    url = f"sqlite:///{database}"
    seeded = subprocess.run(
        clockshift.command("trustline", "seed"), cwd=tmp_path, env=_trustline_env(url), check=True
    )
    assert seeded.returncode == 0
    (tmp_path / "backups").mkdir()
    subprocess.run(
        ["sqlite3", str(database), ".backup 'backups/trustline-copy.db'"],
        cwd=tmp_path,
        check=True,
    )
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'backups' / 'trustline-copy.db'}")
    with engine.connect() as conn:
        prompts = conn.execute(sa.text("SELECT count(*) FROM prompts")).scalar()
    engine.dispose()
    assert prompts >= 40


def _gunicorn_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {
        **env,
        "TRUSTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'trustline.db'}",
        "TRUSTLINE_ARGON2_MEMORY_KIB": "1024",
        "TRUSTLINE_INSTANCE_DIR": str(tmp_path / "instance"),
        **extra,
    }


def _requests_total(text: str, route: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "trustline_http_requests_total" and sample.labels["route"] == route
    )


def test_gunicorn_conf_workers_add_up_in_metrics_and_log_no_query_string(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    env = _gunicorn_env(
        tmp_path,
        TRUSTLINE_SECRET_KEY="g" * 48,
        TRUSTLINE_WORKERS="2",  # the config's own setting, not gunicorn's -w
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_999999.db").write_bytes(b"left by an earlier run")
    subprocess.run(clockshift.command("trustline", "seed"), cwd=tmp_path, env=env, check=True)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    gunicorn = subprocess.Popen(
        clockshift.command("gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}"),
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api/v1/prompts?secretmarker=1"

    def get(_: int) -> int:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", gunicorn)
        assert log.read_text().count("Booting worker") == 2
        # Send in concurrent rounds until both workers have counted some (each keeps a file).
        sent, deadline = 0, time.monotonic() + 60
        with ThreadPoolExecutor(4) as pool:
            while len(list((tmp_path / "metrics").glob("counter_*.db"))) < 2 or sent < 20:
                assert time.monotonic() < deadline and sent < 2000, "one worker took everything"
                assert all(status == 401 for status in pool.map(get, range(8)))
                sent += 8
        assert not (tmp_path / "metrics" / "counter_999999.db").exists()  # wiped at start
        text = scrape(port)
        assert _requests_total(text, "/api/v1/prompts") == sent
        assert "secretmarker" not in text
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        assert gunicorn.wait(timeout=60) == 0
    access = log.read_text()
    assert '"GET /api/v1/prompts" 401' in access
    assert "secretmarker" not in access


def test_gunicorn_conf_refuses_several_workers_without_the_shared_secret(tmp_path):
    done = subprocess.run(
        clockshift.command("gunicorn", "-c", "gunicorn.conf.py", "-w", "3", "-b", "127.0.0.1:1"),
        cwd=ROOT,
        env=_gunicorn_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        "Error: TRUSTLINE_SECRET_KEY must be set, to the same value everywhere, when gunicorn "
        "runs more than one worker"
    ) in done.stderr
    assert "Traceback" not in done.stderr


def test_gunicorn_conf_takes_its_worker_count_from_the_cores(tmp_path):
    code = "import os, backend.gunicorn_config as c; print(c.workers, len(os.sched_getaffinity(0)))"
    env = _gunicorn_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    workers, cores = map(int, out.stdout.split())
    assert workers == min(2 * cores + 1, 12)
    env["TRUSTLINE_WORKERS"] = "3"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.stdout.split()[0] == "3"
    env["TRUSTLINE_WORKERS"] = "many"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 1
    assert (
        out.stderr.strip() == "Error: TRUSTLINE_WORKERS must be an integer from 1 to 64, got 'many'"
    )
