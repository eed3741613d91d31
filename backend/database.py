"""Shared SQLAlchemy building blocks: the declarative base, column types and mixins."""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend import clock
from backend.ids import ID_LENGTH, new_id

log = logging.getLogger("backend.database")
T = TypeVar("T")

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

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        """On SQLite, the text SQLAlchemy's DATETIME writes ("2026-12-03 17:39:21.000000", UTC),
        made by the standard library in one step: a third of the cost of
        `process_bind_param` followed by SQLAlchemy's formatting (a tick binds over 100,000
        of them). Elsewhere, `process_bind_param`."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        """On SQLite, the stored text read straight into an aware datetime by the standard
        library's C parser: eight times as fast as SQLAlchemy's parse followed by
        `process_result_value` (a timeline page reads 20 of them). Text in another form than
        SQLAlchemy writes goes the usual way. Elsewhere, `process_result_value`."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        usual = super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                parsed = parse(value + "+00:00")
            except (TypeError, ValueError):
                return usual(value) if usual is not None else value
            return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)

        return process


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


def _writers_lock_path(engine: sa.Engine) -> str | None:
    """The file that queues one SQLite database's writers: beside the database, None for a
    database in memory or on PostgreSQL (whose row locks queue writers themselves)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return f"{os.path.abspath(url.database)}-writers.lock"


def per_engine(
    cache: dict[int, tuple[sa.Engine, Any]], engine: sa.Engine, make: Callable[[sa.Engine], Any]
) -> Any:
    """`make(engine)`, made once per engine and kept in `cache` (with the engine itself, so an
    id reused after an engine is gone is not mistaken for it)."""
    known = cache.get(id(engine))
    if known is None or known[0] is not engine:
        known = cache[id(engine)] = (engine, make(engine))
    return known[1]


# Each engine's lock file (`per_engine`).
_WRITERS_LOCKS: dict[int, tuple[sa.Engine, str | None]] = {}


@contextmanager
def writers_queue(engine: sa.Engine) -> Iterator[None]:
    """Hold SQLite's one place for a writer for the block, waiting in the kernel's queue.

    SQLite lets one transaction write at a time. A writer that finds the lock taken is made to
    sleep by SQLite's busy handler, 1, 2, 5, 10 ms and longer, and tries again: under load the
    lock is free most of that time, and a waiter can lose every retry to the process that just
    released it. Every use case on a SQLite file first takes an exclusive `flock` on
    `<database>-writers.lock`, and the kernel wakes the next waiter the moment it is released
    (when the block ends, or its process dies). A new file description each time, so threads
    of one process queue as processes do. Writers outside a use case (a migration, a script)
    still meet SQLite's own lock and its busy timeout.
    """
    path = per_engine(_WRITERS_LOCKS, engine, _writers_lock_path)
    if path is None:
        yield
        return
    handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


# Marks a statement `locking` made, so `lock_rows` runs it as it is.
_LOCKING = "trustline_locking"


def locking(statement: sa.Select[Any], **for_update: Any) -> sa.Select[Any]:
    """`statement` as `lock_rows` runs it: `SELECT ... FOR UPDATE` (with `for_update` options
    such as skip_locked), refreshing what the session already holds. For a statement built
    once at import, with bound parameters: SQLAlchemy then finds its SQL and cache key once,
    not on every request."""
    return statement.with_for_update(**for_update).execution_options(
        populate_existing=True, **{_LOCKING: True}
    )


@functools.cache
def _sqlite_write_lock(table_name: str) -> sa.TextClause:
    return sa.text(f"UPDATE {table_name} SET id = id WHERE 0 = 1")  # noqa: S608


def lock_rows(
    statement: sa.Select[Any],
    table: sa.Table,
    session: Any,
    params: dict[str, Any] | None = None,
    **for_update: Any,
) -> Any:
    """Run `statement` (with `params`) holding what it reads until commit, on every database.

    PostgreSQL: `SELECT ... FOR UPDATE` (see `locking`, which a statement built once at import
    has been through already). SQLite has no row locks and SQLAlchemy silently drops FOR
    UPDATE there, so first a no-op UPDATE takes SQLite's single write lock: nobody else writes
    until this transaction ends, and what it reads next cannot change under it.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_sqlite_write_lock(table.name))
    if not statement.get_execution_options().get(_LOCKING):
        statement = locking(statement, **for_update)
    return session.scalars(statement, params)


def claim(session: Any, statement: sa.Update, params: dict[str, Any] | None = None) -> bool:
    """Run a conditional UPDATE meant for one row (with `params` for a statement built once);
    True if this call changed it.

    The WHERE clause states what the row must still be ("still open", "not used yet", "still
    at revision 3"), so of two processes or requests racing for the same change exactly one
    wins, on every database, without holding a lock across the decision.
    """
    result = session.execute(statement, params, execution_options={"synchronize_session": False})
    return result.rowcount == 1


def insert_unless_present(
    session: Any, model: type, values: dict[str, Any], *, unique: Sequence[str]
) -> bool:
    """Insert one row of `model` unless a row with the same `unique` columns exists; True if
    this call inserted it.

    `INSERT ... ON CONFLICT DO NOTHING` on both databases: of two requests inserting the same
    row at once, one inserts and the other is told so, with nothing rolled back (the rest of
    its use case stands). The columns' defaults apply as for any insert.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = sa.inspect(model).primary_key[0]
    statement = (
        insert(model).values(**values).on_conflict_do_nothing(index_elements=unique).returning(key)
    )
    # RETURNING, not the rowcount, which drivers report differently for this statement.
    return session.execute(statement).first() is not None


# Up to this many rows go to PostgreSQL as INSERTs: COPY's stream costs a round trip more than
# one INSERT, which a request writing an event and a notice or two would pay for nothing.
FEW_ROWS = 4


def insert_rows(session: Any, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert plain rows (dictionaries of column keys, all with the same keys) into `model`'s
    table in the session's transaction, as `session.execute(sa.insert(model), rows)` does:
    each value bound through its column's type, a column left out given its Python default
    (`new_id`, the clock) or else its server default.

    On PostgreSQL more than `FEW_ROWS` rows go through `COPY ... FROM STDIN` (psycopg's
    `Cursor.copy`): one stream for the batch, where psycopg 3's `executemany` sends one INSERT
    per row and the scheduler's tick spent nearly half its time waiting on them. An error is
    raised as SQLAlchemy's (`sa.exc.IntegrityError` for a duplicate key, as the tick expects),
    without the rows' values. On SQLite, the table's INSERT given to the driver's `executemany` with
    the values bound here (SQLite inserts in process)."""
    if not rows:
        return
    table = model if isinstance(model, sa.Table) else sa.inspect(model).local_table
    unknown = set(rows[0]) - set(table.c.keys())
    if unknown:  # an INSERT would drop them without a word
        raise sa.exc.ArgumentError(f"{table.name} has no column {sorted(unknown)}")
    connection = session.connection()
    dialect = connection.dialect
    plan = _copy_plan(table, tuple(rows[0]), dialect)
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(table.c[key].name) for key, _default, _bind in plan)
    target = dialect.identifier_preparer.format_table(table)
    streamed = dialect.name == "postgresql" and len(rows) > FEW_ROWS
    if streamed:
        statement = f"COPY {target} ({names}) FROM STDIN"
    else:
        mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
        marks = ", ".join(mark for _ in plan)
        statement = f"INSERT INTO {target} ({names}) VALUES ({marks})"  # noqa: S608
    try:
        lines = [_copy_line(row, plan) for row in rows]
    except (TypeError, ValueError) as error:  # a value its type refuses, as an INSERT says it
        raise sa.exc.StatementError(
            str(error), statement, None, error, hide_parameters=True
        ) from error
    if not streamed:
        # The driver's executemany with the values already bound: SQLAlchemy's INSERT would
        # bind every value again through its compiled parameters (two fifths of a 10,000 tick
        # on SQLite), its ORM bulk path first turn each row into an "insert command".
        connection.exec_driver_sql(statement, lines if len(lines) > 1 else lines[0])
        return
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for line in lines:
                copy.write_row(line)
    except driver.Error as error:
        raise sa.exc.DBAPIError.instance(
            statement, None, error, type(driver).Error, hide_parameters=True, dialect=dialect
        ) from error


def _copy_line(row: dict[str, Any], plan: tuple[Any, ...]) -> tuple[Any, ...]:
    """One row's values in the plan's order, each bound by its column's type."""
    line = []
    for key, default, bind in plan:
        value = row[key] if default is None else default()
        line.append(value if bind is None else bind(value))
    return tuple(line)


@functools.lru_cache(maxsize=256)
def _copy_plan(
    table: sa.Table, keys: tuple[str, ...], dialect: sa.Dialect
) -> tuple[tuple[str, Callable[[], Any] | None, Callable[[Any], Any] | None], ...]:
    """(its key in a row, its Python default if the rows leave it out, its type's bind
    processor) for each column a COPY of rows with `keys` writes, in the table's order: the
    rows' columns, and those they leave out that have a Python default. The others are left to
    the server (its default, or NULL), as an INSERT leaves them. Made once per table, keys
    and dialect."""
    plan = []
    for key, column in table.c.items():
        default = None
        if key not in keys:
            if column.default is None:
                continue
            if column.default.is_scalar:
                default = functools.partial(_same, column.default.arg)
            elif column.default.is_callable:
                default = functools.partial(column.default.arg, None)
            else:  # a SQL expression: only an INSERT can evaluate it
                raise sa.exc.ArgumentError(f"{table.name}.{key} has a SQL default; give it")
        bind = column.type.dialect_impl(dialect).bind_processor(dialect)
        plan.append((key, default, bind))
    return tuple(plan)


def _same(value: T) -> T:
    return value


# serialization_failure and deadlock_detected: PostgreSQL rolled the transaction back and says
# the same work may succeed if run again.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
# SQLite's "database is locked" (after busy_timeout, or at once when a reader in WAL mode
# can't upgrade to a writer because another one wrote since it began).
TRANSIENT_SQLITE_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED")
# Attempts of one request's work, and the first pause between them (doubled each time, with
# jitter so that two crossed requests don't collide again in step).
TRANSIENT_ATTEMPTS = 3
TRANSIENT_PAUSE_SECONDS = 0.02


# A pooled connection that the database server closed (a restart, an idle timeout) is found out
# by its first statement, not by a test statement on every checkout (SQLAlchemy's "optimistic"
# disconnect handling; a `pool_pre_ping` would cost each request a round trip): that error
# marks the connection's whole pool invalid, and the request runs again on a new connection.
# Only a connection that has run nothing since it was taken out of the pool counts as stale,
# so nothing of the request can have reached the database before it failed.
_USED = "trustline_used"


@sa.event.listens_for(sa.pool.Pool, "checkout")
def _taken_out(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    record.info[_USED] = False


@sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
def _used(connection: Any, *_args: Any) -> None:
    connection.info[_USED] = True


@sa.event.listens_for(sa.engine.Engine, "handle_error")
def _mark_stale(context: Any) -> None:
    error = context.sqlalchemy_exception
    if error is None or not context.is_disconnect or context.connection is None:
        return
    try:
        used = context.connection.info.get(_USED, True)
    except sa.exc.SQLAlchemyError:  # the connection could not even be asked
        used = True
    error.trustline_stale = not used


def is_stale(error: BaseException) -> bool:
    """Whether `error` is a pooled connection found closed by its first statement (so the work
    may run again, on a new connection)."""
    return getattr(error, "trustline_stale", False)


def is_transient(error: BaseException) -> bool:
    """Whether `error` is a conflict that the database resolved by rolling this work back."""
    if not isinstance(error, sa.exc.DBAPIError) or error.connection_invalidated:
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    name = getattr(original, "sqlite_errorname", None) or ""
    return name.startswith(TRANSIENT_SQLITE_ERRORS) or "database is locked" in str(original)


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _count_commits(session: sa.orm.Session) -> None:
    """Count commits per session, so a retry can tell whether this attempt wrote anything."""
    session.info["commits"] = session.info.get("commits", 0) + 1


def _commits(session: Any) -> int:
    """The session's commits so far, without making one (a scoped session not yet made
    has committed nothing; a view that only reads never makes it, see `unit_of_work.reading`)."""
    registry = getattr(session, "registry", None)
    if registry is not None and not registry.has():
        return 0
    return session.info.get("commits", 0)


def run_with_retries(
    work: Callable[[], T], *, session: Any, attempts: int = TRANSIENT_ATTEMPTS
) -> T:
    """Run `work`; after a transient conflict, roll back and run it again, at most `attempts`.

    Only when the failed attempt committed nothing: work that committed part of itself and
    then met a conflict is not run again (that could write the committed part twice), and its
    error goes on to the caller like any other.
    """
    for attempt in range(1, attempts + 1):
        commits_before = _commits(session)
        try:
            return work()
        except sa.exc.DBAPIError as error:
            committed = _commits(session) != commits_before
            if attempt == attempts or committed:
                raise
            if is_stale(error):
                session.rollback()
                log.warning(
                    "a pooled database connection had been closed; running the request again"
                )
                continue
            if not is_transient(error):
                raise
            session.rollback()
            # The class of the error only: its text would carry the statement's parameters.
            log.warning(
                "transient database conflict (%s), running the request again (attempt %d of %d)",
                type(error.orig).__name__,
                attempt + 1,
                attempts,
            )
            time.sleep(TRANSIENT_PAUSE_SECONDS * 2 ** (attempt - 1) * (1 + random.random()))  # noqa: S311
    raise AssertionError("unreachable")  # pragma: no cover
