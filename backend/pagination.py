"""Keyset pagination over (timestamp, id), newest first, with opaque cursors.

A page costs the same at any depth: the query seeks in an index to the cursor instead of
counting past the rows before it. Rows added while a client pages arrive at the top and never
shift what is below the cursor, so every row is returned once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import marshmallow as ma
import sqlalchemy as sa
from marshmallow import validate

from backend.errors import Invalid
from backend.fields import text_problem

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
T = TypeVar("T")


class PageArgsSchema(ma.Schema):
    """`?limit=&cursor=` of a list."""

    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Items per page (1-{MAX_LIMIT}, default {DEFAULT_LIMIT})."},
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=validate.Length(max=200),
        metadata={"description": "`next_cursor` of the previous page."},
    )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items, and the cursor of the next page (None on the last)."""

    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(moment: datetime, row_id: str) -> str:
    """An opaque cursor pointing just after (moment, row_id)."""
    raw = json.dumps([moment.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (moment, row_id) inside a cursor; 422 naming `cursor` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, row_id = json.loads(raw)
        parsed = datetime.fromisoformat(moment)
        # A forged cursor may carry any text; only what a database can compare goes on.
        if parsed.tzinfo is None or not isinstance(row_id, str) or text_problem(row_id):
            raise ValueError(cursor)
        return parsed, row_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise Invalid.field(
            "cursor", "This cursor is not valid; start from the first page."
        ) from exc


def keyset_page(
    statement: sa.Select[Any],
    *,
    moment_column: Any,
    id_column: Any,
    limit: int,
    cursor: str | None,
    session: Any,
) -> Page[Any]:
    """Run `statement` newest first from `cursor`, returning at most `limit` rows."""
    if cursor:
        moment, row_id = decode_cursor(cursor)
        # Bind the cursor with the column's own type, so SQLite compares like with like.
        after = sa.tuple_(sa.literal(moment, moment_column.type), sa.literal(row_id))
        statement = statement.where(sa.tuple_(moment_column, id_column) < after)
    rows = session.scalars(
        statement.order_by(moment_column.desc(), id_column.desc()).limit(limit + 1)
    ).all()
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    last = rows[limit - 1]
    next_cursor = encode_cursor(getattr(last, moment_column.key), getattr(last, id_column.key))
    return Page(items=rows[:limit], next_cursor=next_cursor)


@dataclass(frozen=True)
class JoinedPage:
    """A keyset page joined onto a statement of at most one row (`keyset_joined_statements`):
    its (first page, page after a cursor) statements for SQLite and for other databases, and
    where its columns begin in each row."""

    sqlite: tuple[Any, Any]
    lateral: tuple[Any, Any]
    width: int
    moment_index: int
    id_index: int


def keyset_joined_statements(
    head: sa.Select[Any],
    *,
    columns: Sequence[Any],
    on: Any,
    moment_column: Any,
    id_column: Any,
    where: Sequence[Any] = (),
) -> JoinedPage:
    """`head` (a Core select of at most one row, with its `:params`, such as a session check)
    with a keyset page of another table's `columns` in the same statement, built once: the
    rows of that table matching `on` (a condition on a column of `head`) and `where`, newest
    first, `:limit` of them, each row the head's columns then the page's. The head alone (the
    page's columns NULL) when the page is empty; nothing when the head finds no row. Run with
    `keyset_joined_rows`.

    On SQLite a LEFT JOIN: its planner walks the page's index in order behind the one row of
    the head. PostgreSQL's would sort every matching row before the LIMIT, so elsewhere the
    page is a LATERAL subquery with its own ORDER BY and LIMIT."""
    table = moment_column.table
    order = (moment_column.desc(), id_column.desc())
    limit = sa.bindparam("limit", type_=sa.Integer())
    after = sa.tuple_(moment_column, id_column) < sa.tuple_(
        sa.bindparam("moment", type_=moment_column.type),
        sa.bindparam("row_id", type_=id_column.type),
    )

    def joined(*more: Any) -> Any:
        return (
            head.add_columns(*columns)
            .outerjoin(table, sa.and_(on, *where, *more))
            .order_by(*order)
            .limit(limit)
        )

    def lateral(*more: Any) -> Any:
        page = (
            sa.select(*columns)
            .where(on, *where, *more)
            .order_by(*order)
            .limit(limit)
            .lateral("page")
        )
        moment, row_id = (page.c[column.key] for column in (moment_column, id_column))
        return (
            head.add_columns(*page.c)
            .outerjoin(page, sa.true())
            .order_by(moment.desc(), row_id.desc())
        )

    keys = [column.key for column in columns]
    width = len(head.selected_columns)
    return JoinedPage(
        sqlite=(joined(), joined(after)),
        lateral=(lateral(), lateral(after)),
        width=width,
        moment_index=keys.index(moment_column.key),
        id_index=keys.index(id_column.key),
    )


def keyset_joined_rows(
    page: JoinedPage,
    params: dict[str, Any],
    *,
    limit: int,
    cursor: str | None,
    connection: Any,
) -> tuple[tuple[Any, ...] | None, Page[Any]]:
    """Run `page`'s statement: (the head's row, None if it found none; the page of the
    other table's rows, as tuples of its columns)."""
    first, after = page.sqlite if connection.dialect.name == "sqlite" else page.lateral
    if cursor:
        moment, row_id = decode_cursor(cursor)
        params = {**params, "moment": moment, "row_id": row_id}
    rows = connection.execute(after if cursor else first, {**params, "limit": limit + 1}).all()
    if not rows:
        return None, Page(items=[], next_cursor=None)
    width = page.width
    head = tuple(rows[0])[:width]
    items = [tuple(row)[width:] for row in rows if row[width + page.id_index] is not None]
    if len(items) <= limit:
        return head, Page(items=items, next_cursor=None)
    last = items[limit - 1]
    next_cursor = encode_cursor(last[page.moment_index], last[page.id_index])
    return head, Page(items=items[:limit], next_cursor=next_cursor)
