"""The failure counters' SQLite store: one count for every process on the file, windows that
expire, and a refusal whenever the file can't be read or written."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import timedelta

import pytest
import time_machine
from limits import parse, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from backend import clock, config
from backend.errors import ServiceUnavailable
from backend.ratelimit import FailureLimiter, hashed_key
from backend.ratelimit_sqlite import SQLiteStorage
from tests.conftest import build_app
from tests.helpers import assert_problem

FIVE_A_MINUTE = parse("5/minute")


def uri_in(folder) -> str:
    return f"sqlite:///{folder / 'ratelimit.db'}"


def test_the_uri_names_the_store_as_limits_knows_it(tmp_path):
    store = storage_from_string(uri_in(tmp_path))
    assert isinstance(store, SQLiteStorage)
    assert store.path == tmp_path / "ratelimit.db"
    assert store.check()


def test_two_stores_on_one_file_count_as_one(tmp_path):
    first = MovingWindowRateLimiter(SQLiteStorage(uri_in(tmp_path)))
    second = MovingWindowRateLimiter(SQLiteStorage(uri_in(tmp_path)))
    for _ in range(3):
        assert first.hit(FIVE_A_MINUTE, "guesser")
    assert first.get_window_stats(FIVE_A_MINUTE, "guesser").remaining == 2
    for _ in range(2):
        assert second.hit(FIVE_A_MINUTE, "guesser")
    # A read sees what the other store wrote since this one last read.
    assert not first.test(FIVE_A_MINUTE, "guesser")
    assert not second.hit(FIVE_A_MINUTE, "guesser")
    assert first.get_window_stats(FIVE_A_MINUTE, "guesser").remaining == 0
    assert second.test(FIVE_A_MINUTE, "someone else")


def _hit_many(store: SQLiteStorage, times: int, results) -> None:
    limiter = MovingWindowRateLimiter(store)
    results.put(sum(limiter.hit(parse("50/hour"), "guesser") for _ in range(times)))


def test_processes_hitting_at_once_are_counted_exactly(tmp_path):
    store = SQLiteStorage(uri_in(tmp_path))
    store.check()  # the parent holds a connection: each child must open its own
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_hit_many, args=(store, 20, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    allowed = sum(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    # 80 attempts against 50 places: exactly 50 counted, never one more.
    assert allowed == 50
    assert store.get_moving_window(parse("50/hour").key_for("guesser"), 50, 3600)[1] == 50


def test_failures_age_out_with_their_window(tmp_path):
    store = SQLiteStorage(uri_in(tmp_path))
    limiter = MovingWindowRateLimiter(store)
    with time_machine.travel(clock.now(), tick=False) as traveller:
        for _ in range(5):
            assert limiter.hit(FIVE_A_MINUTE, "guesser")
        traveller.shift(timedelta(seconds=30))
        assert not limiter.test(FIVE_A_MINUTE, "guesser")
        stats = limiter.get_window_stats(FIVE_A_MINUTE, "guesser")
        assert stats.remaining == 0 and round(stats.reset_time - clock.now().timestamp()) == 30
        traveller.shift(timedelta(seconds=31))
        assert limiter.test(FIVE_A_MINUTE, "guesser")
        assert limiter.get_window_stats(FIVE_A_MINUTE, "guesser").remaining == 5
        assert limiter.hit(FIVE_A_MINUTE, "someone else")
    # That write deleted the rows whose window had passed.
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("SELECT count(*) FROM window_entries").fetchone()[0] == 1


def test_fixed_window_counters_count_and_expire(tmp_path):
    store = SQLiteStorage(uri_in(tmp_path))
    other = SQLiteStorage(uri_in(tmp_path))
    with time_machine.travel(clock.now(), tick=False) as traveller:
        started = clock.now().timestamp()
        assert store.incr("k", 60) == 1
        assert other.incr("k", 60, amount=2) == 3
        assert store.get("k") == 3 and other.get_expiry("k") == started + 60
        traveller.shift(timedelta(seconds=61))
        assert store.get("k") == 0
        assert other.incr("k", 60) == 1
    store.clear("k")
    assert other.get("k") == 0


def test_reset_forgets_every_count(tmp_path):
    limiter = FailureLimiter(uri_in(tmp_path))
    rules = [(parse_many("5/minute"), hashed_key("login-account", "a@example.com"))]
    limiter.record_failure(rules)
    assert limiter.reachable()
    limiter.reset()
    assert limiter.strategy.get_window_stats(rules[0][0][0], rules[0][1]).remaining == 5


def test_a_store_that_cannot_be_opened_refuses_every_attempt(tmp_path):
    (tmp_path / "a file").write_text("not a folder")
    limiter = FailureLimiter(f"sqlite:///{tmp_path / 'a file' / 'ratelimit.db'}")
    rules = [(parse_many("5/minute"), hashed_key("login-account", "a@example.com"))]
    with pytest.raises(ServiceUnavailable):
        limiter.check(rules, "Too many attempts.")
    with pytest.raises(ServiceUnavailable):
        limiter.record_failure(rules)
    assert not limiter.reachable()


def test_a_store_locked_past_its_timeout_refuses_the_failure_it_cannot_count(tmp_path):
    limiter = FailureLimiter(uri_in(tmp_path))
    limiter.storage.timeout = 0.05  # read when the connection is opened
    rules = [(parse_many("5/minute"), hashed_key("login-account", "a@example.com"))]
    limiter.check(rules, "Too many attempts.")
    blocker = sqlite3.connect(tmp_path / "ratelimit.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        limiter.check(rules, "Too many attempts.")  # readers never wait for the writer
        with pytest.raises(ServiceUnavailable):
            limiter.record_failure(rules)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    limiter.record_failure(rules)


def test_an_unusable_store_refuses_logins_with_503_and_readyz_names_it(migrated_app, tmp_path):
    (tmp_path / "a file").write_text("not a folder")
    app = build_app(
        migrated_app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_RATELIMIT_STORAGE_URI=f"sqlite:///{tmp_path / 'a file' / 'ratelimit.db'}",
    )
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever!!"}
    )
    assert_problem(response, 503)
    assert client.get("/readyz").get_json()["ratelimit_store"] == "unreachable"


def test_the_default_store_is_a_file_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTLINE_INSTANCE_DIR", str(tmp_path))
    settings = config.load_config({})
    assert settings["TRUSTLINE_RATELIMIT_STORAGE_URI"] == uri_in(tmp_path)
