"""`trustline serve` starts the API over SQLite, creating and migrating the database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
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
    # The scheduler runs in one worker only, however many serve.
    assert process.stdout.read().count("scheduler running in this process") == 1


def test_serve_without_the_scheduler_says_nothing_of_it(tmp_path):
    port = free_port()
    process = start(tmp_path, "--port", str(port), "--no-scheduler")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
    finally:
        stop(process)
    assert "scheduler running" not in process.stdout.read()


def workers_of(pid: int) -> list[int]:
    """The processes the server forked (gunicorn's workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # exited, not yet reaped


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_stops_cleanly_on_ctrl_c_and_on_sigterm(tmp_path, signum):
    port = free_port()
    process = start(
        tmp_path,
        "--port",
        str(port),
        env={"TMPDIR": str(tmp_path)},
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(workers_of(process.pid)) < 2:
            time.sleep(0.2)
        workers = workers_of(process.pid)
        assert len(workers) == 2
        process.send_signal(signum)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(gone(pid) for pid in workers):
        time.sleep(0.2)
    assert all(gone(pid) for pid in workers)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    # The run's scheduler lock and metrics folder went with it.
    assert not list(tmp_path.glob("trustline-*"))


def api(port: int, path: str, body: dict | None, token: str | None = None) -> tuple[int, dict]:
    """POST a JSON body to the API (or GET, without one): the status and the JSON answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}


def failed_login(port: int) -> int:
    """The status of one wrong password for the same account."""
    return api(port, "/auth/login", {"email": "nobody@example.com", "password": "wrong!"})[0]


@contextmanager
def served_by_only(worker: int, workers: list[int]) -> Iterator[None]:
    """Stop every worker but `worker` for the block, so that it serves the block's requests."""
    others = [other for other in workers if other != worker]
    for other in others:
        os.kill(other, signal.SIGSTOP)
    try:
        yield
    finally:
        for other in others:
            os.kill(other, signal.SIGCONT)


def two_workers(process: subprocess.Popen) -> list[int]:
    """The two workers of `trustline serve`, once both are forked."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(workers_of(process.pid)) < 2:
        time.sleep(0.2)
    workers = workers_of(process.pid)
    assert len(workers) == 2
    return workers


def test_serve_counts_a_guessers_failures_once_across_its_two_workers(tmp_path):
    """Two sync workers by default, counting in one SQLite file: the limits hold as one."""
    port = free_port()
    process = start(tmp_path, "--port", str(port), "--no-scheduler")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        first, second = workers = two_workers(process)
        # 5 failures a minute per account: 3 served by one worker, then 2 and the refused
        # sixth by the other (counting alone, it would allow 5 more).
        with served_by_only(first, workers):
            statuses = [failed_login(port) for _ in range(3)]
        with served_by_only(second, workers):
            statuses += [failed_login(port) for _ in range(3)]
        assert statuses == [401] * 5 + [429]
        assert (tmp_path / "instance" / "ratelimit.db").exists()
    finally:
        stop(process)


def test_a_worker_sees_what_the_other_changed_since_its_last_request(tmp_path):
    """Each request has its own app context and database session, never a worker's old one."""
    port = free_port()
    process = start(tmp_path, "--port", str(port), "--no-scheduler")
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        first, second = workers = two_workers(process)
        ana = {"email": "ana@example.com", "password": "a long passphrase"}
        assert api(port, "/auth/register", {**ana, "display_name": "Ana"})[0] == 201
        # The first worker's last request loads Ana; the second changes her password; the
        # first must then check the new one, not the hash it loaded before.
        with served_by_only(first, workers):
            token = api(port, "/auth/login", ana)[1]["access_token"]
            assert api(port, "/me", None, token)[0] == 200
        with served_by_only(second, workers):
            token = api(port, "/auth/login", ana)[1]["access_token"]
            change = {"current_password": ana["password"], "new_password": "another passphrase"}
            assert api(port, "/me/password", change, token)[0] == 204
        with served_by_only(first, workers):
            assert api(port, "/auth/login", {**ana, "password": "another passphrase"})[0] == 200
    finally:
        stop(process)


def test_serve_with_counts_in_memory_runs_one_worker_with_threads(tmp_path):
    port = free_port()
    process = start(
        tmp_path,
        "--port",
        str(port),
        "--no-scheduler",
        env={"TRUSTLINE_RATELIMIT_STORAGE_URI": "memory://"},
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        assert len(workers_of(process.pid)) == 1
        assert [failed_login(port) for _ in range(6)] == [401] * 5 + [429]
    finally:
        stop(process)


def test_serve_refuses_several_workers_that_would_each_count_alone(tmp_path):
    process = start(
        tmp_path,
        "--port",
        str(free_port()),
        "--workers",
        "2",
        env={"TRUSTLINE_RATELIMIT_STORAGE_URI": "memory://"},
    )
    assert process.wait(timeout=120) != 0
    output = process.stdout.read()
    assert "TRUSTLINE_RATELIMIT_STORAGE_URI" in output and "Traceback" not in output
