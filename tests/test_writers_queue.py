"""SQLite's writers queue: a use case on a SQLite file holds `<database>-writers.lock`.

Held for the whole use case and let go however it ends, so the next writer (a thread here, a
gunicorn worker in production) is woken by the kernel instead of SQLite's sleeping retries.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask

from backend.database import _writers_lock_path
from backend.extensions import db
from backend.unit_of_work import reading, unit_of_work
from tests.test_unit_of_work import Boom, add_user, committed_emails

WAIT = 60  # seconds: generous, the machine may be busy


@contextmanager
def lock_file(app: Flask) -> Iterator[str]:
    path = _writers_lock_path(db.engine)
    if path is None:
        pytest.skip("only a SQLite file has a writers queue")
    yield path


def taken(path: str) -> bool:
    """Whether someone holds the queue's lock, asked without waiting."""
    handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)
    return False


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////srv/tl.db", "/srv/tl.db-writers.lock"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:shared?mode=memory&cache=shared&uri=true", None),
        ("postgresql+psycopg://trustline@db/trustline", None),
    ],
)
def test_the_lock_lies_beside_a_sqlite_file_and_nowhere_else(url: str, expected: str | None):
    assert _writers_lock_path(sa.create_engine(url)) == expected


def test_a_relative_database_path_gets_an_absolute_lock(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lock = _writers_lock_path(sa.create_engine("sqlite:///instance/trustline.db"))
    assert lock == str(tmp_path / "instance" / "trustline.db-writers.lock")


def test_a_use_case_holds_the_queue_until_it_commits(app: Flask):
    with lock_file(app) as path:
        with unit_of_work():
            add_user("a@example.org")
            assert taken(path)
            with unit_of_work():  # a nested use case joins; it does not queue behind itself
                add_user("b@example.org")
            assert taken(path)
        assert not taken(path)
        assert committed_emails() == {"a@example.org", "b@example.org"}
        assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_failed_use_case_lets_the_queue_go(app: Flask):
    with lock_file(app) as path:
        with pytest.raises(Boom), unit_of_work():
            add_user("a@example.org")
            raise Boom
        assert not taken(path)
        assert committed_emails() == set()


def test_reading_does_not_queue(app: Flask):
    with lock_file(app) as path, reading():
        db.session.execute(sa.text("SELECT 1"))
        assert not taken(path)


def test_a_second_writer_waits_for_the_first_to_commit(app: Flask):
    """The second thread's use case starts only once the first's has committed: it sees the
    first's row at its start, which it could not if both ran at once."""
    with lock_file(app) as path:
        first_inside = threading.Event()
        release_first = threading.Event()
        seen_by_second: list[set[str]] = []
        errors: list[BaseException] = []

        def first() -> None:
            try:
                with app.app_context(), unit_of_work():
                    add_user("first@example.org")
                    first_inside.set()
                    assert release_first.wait(WAIT)
            except BaseException as error:  # reported below
                errors.append(error)
                first_inside.set()

        def second() -> None:
            try:
                with app.app_context(), unit_of_work():
                    seen_by_second.append(committed_emails())
                    add_user("second@example.org")
            except BaseException as error:  # reported below
                errors.append(error)

        one = threading.Thread(target=first)
        one.start()
        assert first_inside.wait(WAIT) and taken(path)
        two = threading.Thread(target=second)
        two.start()
        wait_until_blocked(path)
        assert not seen_by_second, "the second writer ran while the first held the queue"
        release_first.set()
        one.join(WAIT)
        two.join(WAIT)
        assert not errors
        assert seen_by_second == [{"first@example.org"}]
        assert committed_emails() == {"first@example.org", "second@example.org"}


def wait_until_blocked(path: str) -> None:
    """Poll /proc/locks until a second `flock` on the file waits (its line starts with '->')."""
    inode = os.stat(path).st_ino
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with open("/proc/locks") as locks:
            fields = [line.split() for line in locks]
        if any(f[1:2] == ["->"] and f[6:7] and f[6].endswith(f":{inode}") for f in fields):
            return
        time.sleep(0.01)
    raise AssertionError("the second writer never queued")
