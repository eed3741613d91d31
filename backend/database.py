"""Shared SQLAlchemy building blocks: the declarative base, column types and mixins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend import clock
from backend.ids import ID_LENGTH, new_id

# Stable constraint names, so that migrations generated on SQLite and PostgreSQL agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    SQLite has no timezone type and hands back naive values; this type stores UTC and always
    returns an aware datetime, so comparisons never mix naive and aware values.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every Trustline model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def id_column() -> Mapped[str]:
    """Primary key column holding an opaque random id."""
    return mapped_column(sa.String(ID_LENGTH), primary_key=True, default=new_id)


def created_at_column() -> Mapped[datetime]:
    """Creation time column, set from the clock on insert."""
    return mapped_column(UTCDateTime(), nullable=False, default=clock.now)


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """On SQLite: enforce foreign keys, wait for locks instead of failing, allow readers."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def lock_rows(statement: sa.Select[Any], table: sa.Table, session: Any, **for_update: Any) -> Any:
    """Run `statement` holding what it reads until commit, on every database.

    PostgreSQL: `SELECT ... FOR UPDATE` (with `for_update` options such as skip_locked).
    SQLite has no row locks and SQLAlchemy silently drops FOR UPDATE there, so first a no-op
    UPDATE takes SQLite's single write lock: nobody else writes until this transaction ends,
    and what it reads next cannot change under it.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text(f"UPDATE {table.name} SET id = id WHERE 0 = 1"))  # noqa: S608
    return session.scalars(
        statement.with_for_update(**for_update).execution_options(populate_existing=True)
    )


def claim(session: Any, statement: sa.Update) -> bool:
    """Run a conditional UPDATE meant for one row; True if this call changed it.

    The WHERE clause states what the row must still be ("still open", "not used yet", "still
    at revision 3"), so of two processes or requests racing for the same change exactly one
    wins, on every database, without holding a lock across the decision.
    """
    result = session.execute(statement.execution_options(synchronize_session=False))
    return result.rowcount == 1
