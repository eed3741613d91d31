"""`insert_rows`: a bulk of rows in as few statements as the driver allows, defaults applied."""

from __future__ import annotations

import re

import sqlalchemy as sa

from backend.database import insert_rows
from backend.extensions import db
from backend.ids import new_id
from backend.timeline.models import TimelineEvent


def statements_of(work) -> list[tuple[str, bool]]:
    """(statement, executemany) of every statement `work` sends to the database."""
    seen: list[tuple[str, bool]] = []

    def before(_conn, _cursor, statement, _params, _context, executemany):
        seen.append((statement, executemany))

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        work()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
    return seen


def event_rows(couple_id: str, n: int) -> list[dict]:
    return [
        {"id": new_id(), "couple_id": couple_id, "kind": "note", "summary": f"event {i}"}
        for i in range(n)
    ]


def test_1500_rows_are_two_statements_on_postgresql_and_one_batch_on_sqlite(
    app, backend_name, couple
):
    couple_id = couple["id"]
    rows = event_rows(couple_id, 1500)
    sent = statements_of(lambda: insert_rows(db.session, TimelineEvent, rows))
    db.session.commit()
    inserts = [(s, many) for s, many in sent if s.lstrip().upper().startswith("INSERT")]
    if backend_name == "postgresql":
        # INSERT ... VALUES (...), (...) of up to 1,000 rows each, not one INSERT per row.
        assert len(inserts) == 2
        assert sum(len(re.findall(r"\(id__\d+\)", s)) for s, _ in inserts) == 1500
    else:
        assert len(inserts) == 1 and inserts[0][1]
    stored = db.session.execute(
        sa.select(TimelineEvent.summary, TimelineEvent.occurred_at).where(
            TimelineEvent.couple_id == couple_id, TimelineEvent.kind == "note"
        )
    ).all()
    assert sorted(summary for summary, _ in stored) == sorted(r["summary"] for r in rows)
    assert all(occurred_at is not None for _, occurred_at in stored)  # the column's default


def test_no_rows_send_nothing(app):
    assert statements_of(lambda: insert_rows(db.session, TimelineEvent, [])) == []
