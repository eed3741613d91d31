"""`trustline serve` starts the API over SQLite, creating and migrating the database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from tests import clockshift


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stdout.read() if process.stdout else "server exited")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
                return json.loads(response.read())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def start(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("TRUSTLINE_")}
    return subprocess.Popen(
        clockshift.command("trustline", "serve", *args),
        cwd=tmp_path,
        env={**clean, "TRUSTLINE_ARGON2_MEMORY_KIB": "1024", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_serve_creates_and_migrates_sqlite_in_instance_on_first_start(tmp_path):
    port = free_port()
    process = start(tmp_path, "--port", str(port))
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/readyz", process)["database"] == "ok"
        database = tmp_path / "instance" / "trustline.db"
        assert database.exists()
        tables = sa.inspect(sa.create_engine(f"sqlite:///{database}")).get_table_names()
        assert {"users", "auth_sessions", "alembic_version"} <= set(tables)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/register",
            data=json.dumps(
                {"email": "a@example.com", "password": "long enough pw", "display_name": "A"}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            assert response.status == 201
        assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0
    finally:
        stop(process)


def test_database_url_overrides_the_default(tmp_path):
    port = free_port()
    other = tmp_path / "elsewhere.db"
    process = start(
        tmp_path, "--port", str(port), env={"TRUSTLINE_DATABASE_URL": f"sqlite:///{other}"}
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        assert other.exists()
        assert not (tmp_path / "instance" / "trustline.db").exists()
    finally:
        stop(process)


def test_serve_runs_the_scheduler_inside_and_it_opens_due_checkins(tmp_path):
    from datetime import UTC, datetime, timedelta

    from backend.extensions import db
    from tests.conftest import build_app
    from tests.factories import make_due_schedules

    port = free_port()
    database = tmp_path / "instance" / "trustline.db"
    process = start(
        tmp_path,
        "--port",
        str(port),
        env={"TRUSTLINE_SCHEDULER_INTERVAL_SECONDS": "1", "TRUSTLINE_SECRET_KEY": "k" * 40},
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", process)
        app = build_app(f"sqlite:///{database}")
        with app.app_context():
            make_due_schedules(3, due_at=datetime.now(UTC) - timedelta(minutes=1))
            engine = db.engine
            deadline = time.monotonic() + 30
            opened = 0
            while time.monotonic() < deadline and opened < 3:
                with engine.connect() as conn:
                    opened = conn.execute(sa.text("SELECT count(*) FROM checkins")).scalar()
                time.sleep(0.2)
        assert opened == 3
    finally:
        stop(process)
    assert "scheduler running in this process" in process.stdout.read()


def test_serve_without_the_scheduler_says_nothing_of_it(tmp_path):
    port = free_port()
    process = start(tmp_path, "--port", str(port), "--no-scheduler")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    finally:
        stop(process)
    assert "scheduler running" not in process.stdout.read()
