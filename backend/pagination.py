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


def keyset_statements(statement: sa.Select[Any], *, moment_column: Any, id_column: Any) -> Any:
    """`statement` (a Core select with its `:params`) made, once, into the two statements of a
    keyset page: (first page, page after `:moment`, `:row_id`), newest first, `:limit` rows.
    Run them with `keyset_rows`; built at import, their SQL is compiled once."""
    first = statement.order_by(moment_column.desc(), id_column.desc()).limit(
        sa.bindparam("limit", type_=sa.Integer())
    )
    after = first.where(
        sa.tuple_(moment_column, id_column)
        < sa.tuple_(
            sa.bindparam("moment", type_=moment_column.type),
            sa.bindparam("row_id", type_=id_column.type),
        )
    )
    return first, after


def keyset_rows(
    statements: Any,
    params: dict[str, Any],
    *,
    moment_key: str,
    id_key: str,
    limit: int,
    cursor: str | None,
    connection: Any,
) -> Page[Any]:
    """`keyset_page` over statements made by `keyset_statements`: a page of plain rows
    (tuples), no ORM objects built."""
    first, after = statements
    if cursor:
        moment, row_id = decode_cursor(cursor)
        params = {**params, "moment": moment, "row_id": row_id}
    rows = connection.execute(after if cursor else first, {**params, "limit": limit + 1}).all()
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    last = rows[limit - 1]._mapping
    return Page(items=rows[:limit], next_cursor=encode_cursor(last[moment_key], last[id_key]))
