"""Settings and the generated secret key."""

from __future__ import annotations

import multiprocessing

import pytest

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


BAD_VALUES = [
    # (variable, value, what the one-line error must say)
    ("TRUSTLINE_TRUSTED_PROXIES", "two", "an integer from 0 to 10"),
    ("TRUSTLINE_TRUSTED_PROXIES", "-1", "an integer from 0 to 10"),
    ("TRUSTLINE_SCHEDULER_INTERVAL_SECONDS", "0", "from 1 to 3600"),
    ("TRUSTLINE_SCHEDULER_BATCH_SIZE", "1e9", "an integer"),
    ("TRUSTLINE_PUSH_TIMEOUT_SECONDS", "9999", "from 1 to 300"),
    ("TRUSTLINE_ARGON2_MEMORY_KIB", "64", "from 1024"),
    ("TRUSTLINE_WORKERS", "0", "from 1 to 64"),
    ("TRUSTLINE_SCHEDULER_METRICS_PORT", "70000", "from 1 to 65535"),
    ("TRUSTLINE_LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("TRUSTLINE_METRICS", "yes", "one of off, local, on"),
    ("TRUSTLINE_DATABASE_URL", "mysql://app:hunter2pw@db/x", "postgresql://"),
    ("TRUSTLINE_DATABASE_URL", "postgresql+psycopg2://app:hunter2pw@db/x", "sqlite:///"),
    ("TRUSTLINE_DATABASE_URL", "not a url hunter2pw", "not a URL"),
    ("TRUSTLINE_RATELIMIT_STORAGE_URI", "redis-ish://:hunter2pw@r:6379", "limits library"),
    ("TRUSTLINE_RATELIMIT_STORAGE_URI", "hunter2pw", "limits library"),
    ("TRUSTLINE_RATELIMIT_STORAGE_URI", "sqlite://hunter2pw/x.db", "sqlite:///"),
    ("TRUSTLINE_RATELIMIT_STORAGE_URI", "sqlite:///:memory:", "sqlite:///"),
    ("TRUSTLINE_PUSH_WEBHOOK_URL", "ftp://relay/hunter2pw", "https://"),
    ("TRUSTLINE_PUSH_WEBHOOK_URL", "https://", "https://"),
    ("TRUSTLINE_SECRET_KEY", "hunter2pw", "at least 32 characters"),
]


@pytest.mark.parametrize(("name", "value", "expected"), BAD_VALUES)
def test_each_bad_value_stops_the_start_with_one_line_naming_it(name, value, expected):
    with pytest.raises(config.ConfigError) as caught:
        config.load_config({name: value})
    message = str(caught.value)
    assert message.startswith(name) and expected in message
    assert "\n" not in message
    if name in config.SECRET_SETTINGS:
        assert "hunter2pw" not in message  # a password or key is never printed


def test_good_values_are_read():
    settings = config.load_config(
        {
            "TRUSTLINE_DATABASE_URL": "postgres://app:pw@db.internal:5432/trustline",
            "TRUSTLINE_RATELIMIT_STORAGE_URI": "rediss://:pw@redis.internal:6380/0",
            "TRUSTLINE_PUSH_WEBHOOK_URL": "https://relay.internal:8443/push",
            "TRUSTLINE_LOG_LEVEL": "warning",
            "TRUSTLINE_METRICS": "Local",
            "TRUSTLINE_SCHEDULER_INTERVAL_SECONDS": " 45 ",
            "TRUSTLINE_SECRET_KEY": "k" * 32,
        }
    )
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert settings["TRUSTLINE_LOG_LEVEL"] == "WARNING"
    assert settings["TRUSTLINE_METRICS"] == "local"
    assert settings["TRUSTLINE_SCHEDULER_INTERVAL_SECONDS"] == 45
    assert config.load_config({})["TRUSTLINE_METRICS"] is None  # decided by the server


UNDER_GUNICORN = {"SERVER_SOFTWARE": "gunicorn/27.0.1", "TRUSTLINE_DATABASE_URL": "sqlite://"}


def test_gunicorn_workers_need_the_shared_secret_unless_there_is_one_worker():
    with pytest.raises(config.ConfigError, match=r"^TRUSTLINE_SECRET_KEY must be set"):
        config.load_config(UNDER_GUNICORN)  # started without gunicorn.conf.py: count unknown
    with pytest.raises(config.ConfigError, match="TRUSTLINE_SECRET_KEY"):
        config.load_config({**UNDER_GUNICORN, "TRUSTLINE_GUNICORN_WORKERS": "4"})
    config.load_config({**UNDER_GUNICORN, "TRUSTLINE_GUNICORN_WORKERS": "1"})
    config.load_config({**UNDER_GUNICORN, "TRUSTLINE_SECRET_KEY": "s" * 40})
    config.load_config({"TRUSTLINE_DATABASE_URL": "sqlite://"})  # trustline serve: one process


def _trustline(tmp_path, *args, **env):
    import os
    import subprocess

    from tests import clockshift

    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
    return subprocess.run(
        clockshift.command("trustline", *args),
        cwd=tmp_path,
        env={**clean, "TRUSTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_command_prints_the_error_in_one_line_without_a_traceback(tmp_path):
    secret = "p" * 20
    done = _trustline(tmp_path, "tick", TRUSTLINE_SECRET_KEY=secret)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1:] == [
        "Error: TRUSTLINE_SECRET_KEY must be at least 32 characters long (the value set has 20); "
        "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
    ]
    assert secret not in done.stderr + done.stdout


def test_a_separate_scheduler_needs_the_shared_secret(tmp_path):
    done = _trustline(tmp_path, "scheduler")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: TRUSTLINE_SECRET_KEY must be set, to the same value everywhere, when a "
        "separate `trustline scheduler` runs"
    )
    assert "Traceback" not in done.stderr


def test_no_statement_is_spent_checking_a_pooled_connection(app):
    # A connection the server closed is found by its first statement and the request runs
    # again (tests/test_faults.py); a check on every checkout would cost each request a trip.
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    assert app.extensions["sqlalchemy"].engine.pool._pre_ping is False
