"""One use case, one transaction: the outermost service call commits, an error rolls back.

A service function that changes data wears `@use_case`. Called from a route, a job or the
command line, it is the outermost one: when it returns, its work is committed at once, and
when it raises, everything it wrote is rolled back. Called from another use case, it joins
that one's transaction and commits nothing itself, so a use case made of others (leaving a
couple ends schedules, agreements and links through their hooks; erasure leaves the couple)
is still all or nothing. No service takes a `commit=` flag or calls `commit()` itself.

Work that must be kept even though the request then fails (a wrong password counted before
the 401 that reports it) is its own use case, called before the error is raised.

A commit normally expires every object the session holds, so that the answer dumped after it
reads them all again. A use case whose every change goes through the ORM (or that refreshes
what it changed with SQL of its own) knows its objects are what it committed, and says so with
`@use_case(expire_on_commit=False)`: its answer is dumped from them without a second read.
When the request ends, whatever its session still holds is expired
(`backend.http.forget_loaded_state`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar, overload

import sqlalchemy as sa

from backend.database import per_engine, writers_queue
from backend.extensions import db

P = ParamSpec("P")
R = TypeVar("R")
_DEPTH = "trustline_use_case_depth"
# The connection of the `reading()` block running in this context, if any.
_READER: ContextVar[sa.Connection | None] = ContextVar("trustline_reader", default=None)


def in_use_case() -> bool:
    """Whether a use case is running on this session (so a commit now would be premature)."""
    return db.session.info.get(_DEPTH, 0) > 0


@contextmanager
def unit_of_work(*, expire_on_commit: bool = True) -> Iterator[None]:
    """Run the block as one use case: committed when the outermost block ends, rolled back
    (the outermost's whole transaction) when anything in it raises. `expire_on_commit`: the
    outermost block's choice (see the module's docstring)."""
    session = db.session
    if _READER.get() is not None:
        raise RuntimeError("a use case inside `reading()`: that work would not be one transaction")
    depth = session.info.get(_DEPTH, 0)
    if depth:
        session.info[_DEPTH] = depth + 1
        try:
            yield
        finally:
            session.info[_DEPTH] = depth
        return
    session.info[_DEPTH] = 1
    try:
        with writers_queue(session.get_bind()):
            try:
                yield
                _commit(expire_on_commit)
            except BaseException:
                session.rollback()
                raise
    finally:
        session.info[_DEPTH] = 0


def _commit(expire: bool) -> None:
    session = db.session()
    if expire:
        session.commit()
        return
    previous, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


@overload
def use_case(function: Callable[P, R]) -> Callable[P, R]: ...


@overload
def use_case(*, expire_on_commit: bool = True) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def use_case(function: Callable[P, R] | None = None, *, expire_on_commit: bool = True) -> Any:
    """Decorate a service function that changes data: see the module's docstring."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with unit_of_work(expire_on_commit=expire_on_commit):
                return function(*args, **kwargs)

        return wrapper

    return decorate if function is None else decorate(function)


@contextmanager
def reading() -> Iterator[None]:
    """Run the block's statements outside a transaction, for work that only reads: each
    statement sees what is committed when it runs, and PostgreSQL is spared the BEGIN and
    ROLLBACK round trips around them. Its statements run on `read_connection()`, a connection
    of its own taken from the pool for the block (in autocommit on PostgreSQL, see
    `_autocommit`): no ORM session is made for them, nor closed after them, which was
    a sixth of the timeline's time in process. A use case inside the block is a programming
    error (`unit_of_work` refuses it). If the session has begun a transaction already, the
    block runs in that one."""
    registry = db.session.registry
    if registry.has() and registry().in_transaction():
        yield  # `read_connection()` is the transaction's
        return
    connection = _autocommit(db.engine).connect()
    token = _READER.set(connection)
    try:
        yield
    finally:
        _READER.reset(token)
        connection.close()


# Each engine's copy in autocommit (sharing its pool), made once: setting the level on each
# connection instead costs twice as much as taking one from the pool.
_AUTOCOMMIT: dict[int, tuple[sa.Engine, sa.Engine]] = {}


def _autocommit(engine: sa.Engine) -> sa.Engine:
    """`engine`, its connections in autocommit (SQLite's as they are: it begins no transaction
    for a read, and resetting its connection would cost a PRAGMA)."""
    if engine.dialect.name == "sqlite":
        return engine
    return per_engine(
        _AUTOCOMMIT, engine, lambda e: e.execution_options(isolation_level="AUTOCOMMIT")
    )


def read_connection() -> sa.Connection:
    """Where a service's Core statements that only read run: the `reading()` block's
    connection, or else the session's (inside its transaction, if one has begun)."""
    connection = _READER.get()
    return connection if connection is not None else db.session.connection()
