"""The deployment guide's commands work: seed, gunicorn over create_app, a scheduler process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests import clockshift
from tests.test_serve import free_port, wait_until_up

BIN = Path(sys.executable).parent


def test_seed_then_gunicorn_workers_then_a_scheduler_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
    env.update(
        TRUSTLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'trustline.db'}",
        TRUSTLINE_SECRET_KEY="d" * 48,
        TRUSTLINE_ARGON2_MEMORY_KIB="1024",
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
            "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "backend:create_app()"
        ),
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ready = wait_until_up(f"http://127.0.0.1:{port}/readyz", gunicorn)
        assert ready["database"] == "ok"
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    scheduler = subprocess.Popen(
        clockshift.command("trustline", "scheduler"),
        cwd=tmp_path,
        env={**env, "TRUSTLINE_SCHEDULER_INTERVAL_SECONDS": "1"},
        stdout=(tmp_path / "scheduler.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    started = "scheduler running in this process"
    deadline = time.monotonic() + 60
    while started not in (tmp_path / "scheduler.log").read_text() and scheduler.poll() is None:
        assert time.monotonic() < deadline, "the scheduler did not start within 60 s"
        time.sleep(0.1)
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
