"""`UTCDateTime`: every instant comes back aware and in UTC, on SQLite read by its fast path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from backend.database import UTCDateTime

METADATA = sa.MetaData()
MOMENTS = sa.Table(
    "moments",
    METADATA,
    sa.Column("n", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime()),
)
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def engine(backend_name: str, app) -> sa.Engine:
    from backend.extensions import db

    METADATA.create_all(db.engine)
    yield db.engine
    METADATA.drop_all(db.engine)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),  # a second before the clocks go
        datetime(2026, 3, 29, 2, 0, 0, tzinfo=LONDON),  # after London's change (01:00 UTC)
        datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON),  # the second 01:30 of the night
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds
    ],
)
def test_an_instant_comes_back_equal_aware_and_in_utc(engine, moment: datetime):
    with engine.begin() as conn:
        conn.execute(MOMENTS.insert().values(n=1, at=moment))
        got = conn.scalar(sa.select(MOMENTS.c.at))
    # (compared in UTC: Python never calls an ambiguous local time equal to one in another zone)
    assert got == moment.astimezone(UTC)
    assert got.tzinfo is UTC
    assert got.utcoffset() == timedelta(0)


def test_null_comes_back_as_none(engine):
    with engine.begin() as conn:
        conn.execute(MOMENTS.insert().values(n=1, at=None))
        assert conn.scalar(sa.select(MOMENTS.c.at)) is None


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-03-29 00:59:59.123456", datetime(2026, 3, 29, 0, 59, 59, 123_456, tzinfo=UTC)),
        ("2026-03-29 00:59:59", datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)),  # SQL's own now
        ("2026-03-29T00:59:59", datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)),
    ],
)
def test_text_written_by_hand_on_sqlite_reads_as_the_utc_instant(
    engine, backend_name: str, stored: str, expected: datetime
):
    if backend_name != "sqlite":
        pytest.skip("text in a timestamp column is SQLite's storage")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO moments (n, at) VALUES (1, :at)"), {"at": stored})
        got = conn.scalar(sa.select(MOMENTS.c.at))
    assert got == expected and got.tzinfo is UTC


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 29, 2, 0, 0, tzinfo=LONDON),
        datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON),
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: still six digits
        datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
    ],
)
def test_on_sqlite_an_instant_is_stored_as_sqlalchemys_datetime_text(
    engine, backend_name: str, moment: datetime
):
    """SQLite compares timestamps as text: the fast bind writes exactly what SQLAlchemy's own
    DATETIME writes for the UTC instant, so "due before" holds between rows from either."""
    if backend_name != "sqlite":
        pytest.skip("text in a timestamp column is SQLite's storage")
    with engine.begin() as conn:
        conn.execute(MOMENTS.insert().values(n=1, at=moment))
        stored = conn.scalar(sa.text("SELECT at FROM moments"))
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    expected = sa.DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)(utc)
    assert stored == expected


def test_a_naive_instant_is_refused_before_it_is_written(engine):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.begin() as conn:
        conn.execute(MOMENTS.insert().values(n=1, at=datetime(2026, 1, 1)))
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(MOMENTS)) == 0
