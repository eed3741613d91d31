"""The deployment guide's commands work: seed, gunicorn over create_app, a scheduler process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
        [str(BIN / "trustline"), "seed"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    assert "prompts added" in seeded.stdout
    port = free_port()
    gunicorn = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "backend:create_app()"],
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
        [str(BIN / "trustline"), "scheduler"],
        cwd=tmp_path,
        env={**env, "TRUSTLINE_SCHEDULER_INTERVAL_SECONDS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(2)
    scheduler.send_signal(signal.SIGTERM)
    assert scheduler.wait(timeout=30) == 0
    assert "scheduler running in this process" in scheduler.stdout.read()
