"""Keep what people typed out of log lines: SQL parameters, result rows, exception messages.

A log line travels further than a response (a log shipper, a support ticket, a backup), so it
says what happened and where — an exception's type, its traceback, the SQL statement with its
placeholders — and never a value. An exception's message is left out because it so often
quotes one: a KeyError names the key it missed, PostgreSQL's DETAIL quotes the failing row
("Key (email)=(…) already exists", "Failing row contains (…)").
"""

from __future__ import annotations

import logging
from types import TracebackType

import sqlalchemy as sa

# SQLAlchemy's engine logs statements at INFO (their parameters are hidden by the engine option
# hide_parameters) and, at DEBUG, every result row: the rows are what we keep private.
ENGINE_LOGGER = "sqlalchemy.engine.Engine"
STATEMENT_CHARS = 500


class Redacted(Exception):
    """Stands in for an exception in a log record: its type and traceback, not its message."""


class NoResultRows(logging.Filter):
    """Drops SQLAlchemy's DEBUG records (result rows and column names); statements pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def describe(exc: BaseException) -> str:
    """What may be logged of `exc`: its type and, for a database error, the driver's error type,
    its SQLSTATE and the statement (placeholders only; its parameters are values)."""
    summary = _type_name(exc)
    if isinstance(exc, sa.exc.StatementError):
        orig = exc.orig
        if orig is not None:
            summary += f" from {_type_name(orig)}"
            code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
            if code:
                summary += f" ({code})"
        if exc.statement:
            statement = " ".join(str(exc.statement).split())
            summary += f" in: {statement[:STATEMENT_CHARS]}"
    return summary


def redact(exc: BaseException, _seen: set[int] | None = None) -> BaseException:
    """A stand-in for `exc` and the exceptions chained to it: same types named, same
    tracebacks, no messages."""
    seen = _seen if _seen is not None else set()
    seen.add(id(exc))
    stand_in = Redacted(describe(exc))
    stand_in.__traceback__ = exc.__traceback__
    if exc.__cause__ is not None and id(exc.__cause__) not in seen:
        stand_in.__cause__ = redact(exc.__cause__, seen)
    elif exc.__context__ is not None and id(exc.__context__) not in seen:
        stand_in.__context__ = redact(exc.__context__, seen)
    stand_in.__suppress_context__ = exc.__suppress_context__
    return stand_in


def redacted_exc_info(
    exc: BaseException,
) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """`exc_info` for a log call: the traceback of `exc`, without what it quotes."""
    stand_in = redact(exc)
    return type(stand_in), stand_in, stand_in.__traceback__


def protect_logs() -> None:
    """Keep result rows out of SQLAlchemy's log, whatever level an operator sets (idempotent)."""
    logger = logging.getLogger(ENGINE_LOGGER)
    if not any(isinstance(f, NoResultRows) for f in logger.filters):
        logger.addFilter(NoResultRows())
