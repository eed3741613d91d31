"""One use case, one transaction: the outermost call commits, an error rolls back everything.

What is committed is read through a connection of its own, outside the session under test,
so a row counts only once another request could see it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from backend.accounts.models import User
from backend.database import insert_unless_present
from backend.extensions import db
from backend.unit_of_work import in_use_case, read_connection, reading, unit_of_work, use_case

NO_PASSWORD = "$argon2id$v=19$m=1024,t=1,p=1$bm9uZQ$bm9uZQ"


class Boom(Exception):
    """An error raised on purpose inside a use case."""


def add_user(email: str) -> User:
    user = User(email=email, display_name=email, role="partner", password_hash=NO_PASSWORD)
    db.session.add(user)
    db.session.flush()
    return user


@use_case
def create(email: str) -> User:
    """A use case that writes one row."""
    return add_user(email)


@use_case
def create_two(first: str, second: str) -> None:
    """A use case made of two others."""
    create(first)
    assert first not in committed_emails(), "a nested use case committed"
    create(second)


@use_case
def create_then_fail(email: str) -> None:
    create(email)
    raise Boom


def committed_emails() -> set[str]:
    """The e-mails another connection sees."""
    with db.engine.connect() as conn:
        return set(conn.scalars(sa.select(User.email)))


def depth() -> int:
    return db.session.info.get("trustline_use_case_depth", 0)


def test_the_outermost_use_case_commits(app: Flask) -> None:
    create("a@example.com")

    assert committed_emails() == {"a@example.com"}
    assert not in_use_case()


def test_a_nested_use_case_joins_and_the_outermost_commits_both(app: Flask) -> None:
    create_two("a@example.com", "b@example.com")

    assert committed_emails() == {"a@example.com", "b@example.com"}
    assert depth() == 0


def test_a_block_commits_when_it_ends_not_before(app: Flask) -> None:
    with unit_of_work():
        assert in_use_case()
        create("a@example.com")
        with unit_of_work():
            create("b@example.com")
        assert committed_emails() == set()

    assert committed_emails() == {"a@example.com", "b@example.com"}


def test_an_error_in_a_nested_use_case_rolls_back_the_outermost(app: Flask) -> None:
    with pytest.raises(Boom), unit_of_work():
        create("a@example.com")
        create_then_fail("b@example.com")

    assert committed_emails() == set()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert depth() == 0
    assert not in_use_case()


def test_an_error_after_the_nested_use_cases_returned_rolls_them_back(app: Flask) -> None:
    with pytest.raises(Boom), unit_of_work():
        create_two("a@example.com", "b@example.com")
        raise Boom

    assert committed_emails() == set()
    assert depth() == 0


def test_an_error_in_the_outermost_use_case_rolls_back_what_it_wrote(app: Flask) -> None:
    with pytest.raises(Boom):
        create_then_fail("a@example.com")

    assert committed_emails() == set()
    assert depth() == 0


def test_a_nested_error_caught_inside_leaves_the_depth_and_the_rest_committed(
    app: Flask,
) -> None:
    with unit_of_work():
        create("a@example.com")
        with pytest.raises(Boom), unit_of_work():
            assert depth() == 2
            raise Boom
        assert depth() == 1
        create("b@example.com")

    assert committed_emails() == {"a@example.com", "b@example.com"}
    assert depth() == 0


def test_the_session_works_again_after_a_rollback(app: Flask) -> None:
    with pytest.raises(Boom):
        create_then_fail("a@example.com")

    create("a@example.com")

    assert committed_emails() == {"a@example.com"}


def test_a_database_error_rolls_back_and_restores_the_depth(app: Flask) -> None:
    create("a@example.com")

    with pytest.raises(sa.exc.IntegrityError):
        create_two("b@example.com", "a@example.com")

    assert committed_emails() == {"a@example.com"}
    assert depth() == 0


@use_case
def create_and_insert_twice(email: str, other: str) -> tuple[bool, bool]:
    """A use case that writes a row, then inserts another twice as two racing requests would."""
    create(other)
    values = {"email": email, "display_name": email, "role": "partner"}
    values["password_hash"] = NO_PASSWORD
    first = insert_unless_present(db.session, User, values, unique=("email",))
    second = insert_unless_present(db.session, User, values, unique=("email",))
    return first, second


def test_an_insert_that_finds_its_row_there_rolls_nothing_back(app: Flask) -> None:
    """The second insert is told the row is there; the use case's other write still commits."""
    assert create_and_insert_twice("a@example.com", "b@example.com") == (True, False)

    assert committed_emails() == {"a@example.com", "b@example.com"}
    assert depth() == 0


def test_reading_runs_its_statements_outside_a_transaction(app: Flask) -> None:
    with reading():
        connection = read_connection()
        if db.engine.dialect.name == "postgresql":  # SQLite begins no transaction for a read
            assert connection.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
            assert connection.connection.dbapi_connection.autocommit
        assert connection.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        assert read_connection() is connection  # one connection for the block's statements
    assert connection.closed
    # Afterwards the session begins transactions as before, on a connection reset to them.
    with pytest.raises(Boom):
        create_then_fail("a@example.com")
    assert committed_emails() == set()
    assert "isolation_level" not in db.session.connection().get_execution_options()


def test_reading_makes_no_orm_session_and_sees_what_is_committed(app: Flask) -> None:
    db.session.remove()
    with reading():
        assert read_connection().scalar(sa.select(sa.func.count()).select_from(User)) == 0
        create_elsewhere("b@example.com")
        # the next statement sees the commit made meanwhile
        assert read_connection().scalar(sa.select(sa.func.count()).select_from(User)) == 1
    assert not db.session.registry.has()


def create_elsewhere(email: str) -> None:
    """Commit a user through a session of its own, as another request would."""
    with sa.orm.Session(db.engine) as other:
        other.add(User(email=email, display_name=email, role="partner", password_hash=NO_PASSWORD))
        other.commit()


def test_a_use_case_inside_reading_is_refused_and_writes_nothing(app: Flask) -> None:
    with reading(), pytest.raises(RuntimeError, match="use case inside"):
        create("a@example.com")
    db.session.rollback()
    assert committed_emails() == set()
    create("b@example.com")
    assert committed_emails() == {"b@example.com"}


def test_reading_inside_a_begun_transaction_stays_in_it(app: Flask) -> None:
    add_user("a@example.com")  # begins the session's transaction
    with reading():
        assert read_connection() is db.session.connection()
        assert "isolation_level" not in read_connection().get_execution_options()
        create("b@example.com")  # allowed: this is the transaction it joined
    assert committed_emails() == {"a@example.com", "b@example.com"}
