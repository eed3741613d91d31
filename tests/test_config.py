"""Settings and the generated secret key."""

from __future__ import annotations

import multiprocessing

from backend import config


def _read_key(instance: str, queue) -> None:
    import os

    os.environ["TRUSTLINE_INSTANCE_DIR"] = instance
    queue.put(config._default_secret_key())


def test_processes_starting_together_share_one_complete_secret_key(tmp_path):
    queue = multiprocessing.get_context("fork").Queue()
    workers = [
        multiprocessing.get_context("fork").Process(target=_read_key, args=(str(tmp_path), queue))
        for _ in range(6)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    keys = {queue.get(timeout=5) for _ in workers}
    assert len(keys) == 1
    assert len(keys.pop()) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_postgres_urls_use_psycopg_3():
    assert config.normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert config.normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_integer_settings_are_checked():
    import pytest

    with pytest.raises(ValueError, match="TRUSTLINE_TRUSTED_PROXIES"):
        config.load_config({"TRUSTLINE_TRUSTED_PROXIES": "two"})
