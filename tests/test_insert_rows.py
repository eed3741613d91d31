"""`insert_rows`: plain rows stored as an INSERT stores them (on PostgreSQL through COPY), with
each column's type, its Python default or its server default, and SQLAlchemy's errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
import time_machine

from backend import clock
from backend.database import UTCDateTime, insert_rows
from backend.extensions import db
from backend.ids import new_id

METADATA = sa.MetaData()
THINGS = sa.Table(
    "insert_rows_things",
    METADATA,
    sa.Column("id", sa.String(22), primary_key=True, default=new_id),
    sa.Column("created_at", UTCDateTime(), nullable=False, default=clock.now),
    sa.Column("label", sa.String(200)),
    sa.Column("n", sa.Integer),
    sa.Column("flag", sa.Boolean, nullable=False, default=False),
    sa.Column("data", sa.JSON),
    sa.Column(
        "status",
        sa.Enum("pending", "sent", name="insert_rows_status", native_enum=False),
        nullable=False,
    ),
    sa.Column("origin", sa.String(20), nullable=False, server_default="server"),
    sa.Column("at", UTCDateTime()),
)
NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# Text that COPY's text format must escape: tabs, newlines, backslashes, its NULL marker.
AWKWARD = "tab\there\nnew line \\N back\\slash, 'quote' \"double\" é 🌱"


@pytest.fixture
def things(app):
    METADATA.create_all(db.engine)
    yield THINGS
    db.session.rollback()
    METADATA.drop_all(db.engine)


def stored(where: sa.ColumnElement[bool]) -> list[dict]:
    rows = db.session.execute(sa.select(THINGS).where(where).order_by(THINGS.c.n)).mappings()
    return [dict(row) for row in rows]


def rows_with(label: str, count: int = 5) -> list[dict]:
    return [
        {
            "label": label,
            "n": n,
            "data": {"answers": [n, None, AWKWARD], "nested": {"ok": True}},
            "status": "sent" if n % 2 else "pending",
            "at": None
            if n == 2
            else datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=1))),
        }
        for n in range(count)
    ]


# A few rows go to PostgreSQL as INSERTs, more as a COPY; both ways must store the same.
@pytest.mark.parametrize("count", [3, 5])
def test_rows_are_stored_as_an_insert_stores_them(things, backend_name, count: int):
    with time_machine.travel(NOON, tick=False):
        db.session.execute(sa.insert(THINGS), rows_with("insert", count))
        insert_rows(db.session, THINGS, rows_with("copy", count))
        db.session.commit()
    by_insert = stored(THINGS.c.label == "insert")
    by_copy = stored(THINGS.c.label == "copy")
    assert len(by_copy) == count
    for expected, got in zip(by_insert, by_copy, strict=True):
        assert got["id"] != expected["id"] and len(got["id"]) == len(expected["id"])
        assert got["created_at"] == NOON and got["created_at"].tzinfo is UTC  # Python default
        assert got["flag"] is False  # a scalar default
        assert got["origin"] == "server"  # left to the server
        for key in ("n", "data", "status", "at"):
            assert got[key] == expected[key], key
    assert by_copy[0]["at"] == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert by_copy[2]["at"] is None
    assert by_copy[1]["data"]["answers"][2] == AWKWARD


def test_text_comes_back_exactly_as_given(things):
    insert_rows(db.session, THINGS, [{"id": "awkward", "label": AWKWARD, "status": "sent"}])
    db.session.commit()
    assert db.session.scalar(sa.select(THINGS.c.label).where(THINGS.c.id == "awkward")) == AWKWARD


@pytest.mark.parametrize("others", [1, 6])
def test_a_duplicate_key_is_sqlalchemys_integrity_error_without_the_values(things, others: int):
    insert_rows(db.session, THINGS, [{"id": "same", "label": "first", "status": "sent"}])
    db.session.commit()
    secret = "what someone wrote, never in an error"
    with pytest.raises(sa.exc.IntegrityError) as raised:
        insert_rows(
            db.session,
            THINGS,
            [{"id": f"other{n}", "label": secret, "status": "sent"} for n in range(others)]
            + [{"id": "same", "label": secret, "status": "sent"}],
        )
    assert secret not in str(raised.value)
    db.session.rollback()  # the batch is all or nothing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(THINGS)) == 1


def test_a_value_the_type_refuses_is_refused_before_anything_is_stored(things):
    with pytest.raises(sa.exc.StatementError, match="naive datetime") as raised:
        insert_rows(
            db.session,
            THINGS,
            [{"label": "someone's words", "status": "sent", "at": datetime(2026, 1, 1)}],
        )
    assert "someone's words" not in str(raised.value)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(THINGS)) == 0


def test_no_rows_is_no_statement(things):
    insert_rows(db.session, THINGS, [])
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(THINGS)) == 0


def test_a_key_that_is_no_column_is_refused_not_dropped(things):
    with pytest.raises(sa.exc.ArgumentError, match="nickname"):
        insert_rows(db.session, THINGS, [{"label": "x", "status": "sent", "nickname": "y"}])
    db.session.rollback()


def test_on_postgresql_the_rows_go_as_one_copy_not_an_insert_per_row(things, backend_name):
    sent: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        insert_rows(db.session, THINGS, rows_with("many") * 20)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    inserts = [s for s in sent if "INSERT INTO insert_rows_things" in s]
    # COPY runs on the driver's cursor, unseen by SQLAlchemy's statement events; SQLite's
    # INSERT is one executemany.
    assert len(inserts) == (0 if backend_name == "postgresql" else 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(THINGS)) == 100


def test_a_few_rows_are_one_insert_on_every_database(things):
    sent: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        insert_rows(db.session, THINGS, rows_with("few", 2))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert [s for s in sent if "insert_rows_things" in s] == [
        s for s in sent if s.startswith("INSERT INTO insert_rows_things")
    ]
    assert len(sent) == 1
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(THINGS)) == 2
