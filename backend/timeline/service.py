"""Recording events on a couple's timeline and reading it back, newest first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend import clock
from backend.database import insert_rows
from backend.extensions import db
from backend.ids import new_id
from backend.pagination import (
    JoinedPage,
    Page,
    keyset_joined_rows,
    keyset_joined_statements,
)
from backend.timeline.models import KINDS, TimelineEvent
from backend.unit_of_work import read_connection


def event_row(
    *,
    couple_id: str,
    kind: str,
    summary: str,
    actor_id: str | None = None,
    subject: tuple[str, str] | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of one event. `summary` must hold no private content."""
    if kind not in KINDS:
        raise ValueError(f"unknown timeline kind {kind!r}; add it to timeline.models.KINDS")
    return {
        "id": new_id(),
        "couple_id": couple_id,
        "occurred_at": occurred_at or clock.now(),
        "kind": kind,
        "actor_id": actor_id,
        "subject_type": subject[0] if subject else None,
        "subject_id": subject[1] if subject else None,
        "summary": summary[:200],
    }


def store_rows(rows: list[dict[str, Any]]) -> None:
    """Append events built by `event_row` in one statement (a bulk opening's), in the
    caller's transaction."""
    insert_rows(db.session, TimelineEvent, rows)


def record(
    *,
    couple_id: str,
    kind: str,
    summary: str,
    actor_id: str | None = None,
    subject: tuple[str, str] | None = None,
) -> TimelineEvent:
    """Append an event in the caller's transaction. `summary` must hold no private content."""
    event = TimelineEvent(
        **event_row(
            couple_id=couple_id, kind=kind, summary=summary, actor_id=actor_id, subject=subject
        )
    )
    db.session.add(event)
    return event


# The timeline page, the API's most frequent read: plain rows through Core statements built
# once (`events_page_after`), shaped by `TimelinePageSchema` without an ORM object per event
# (`schemas.event_json` unpacks each row in this order).
_EVENTS = TimelineEvent.__table__
PAGE_COLUMNS = (
    _EVENTS.c.id,
    _EVENTS.c.kind,
    _EVENTS.c.occurred_at,
    _EVENTS.c.actor_id,
    _EVENTS.c.subject_type,
    _EVENTS.c.subject_id,
    _EVENTS.c.summary,
)


def events_page_after(head: sa.Select[Any], couple_id: Any) -> tuple[JoinedPage, JoinedPage]:
    """The statements of a page of a couple's events, newest first, joined onto `head` (a
    statement of at most one row, such as the session check that finds the caller's couple;
    `couple_id` is its column naming the couple): (every kind, the kinds of `:kinds`). Built
    once; run with `list_events_after`. The page's request then makes one round trip, not two."""
    on = _EVENTS.c.couple_id == couple_id
    every, some = (
        keyset_joined_statements(
            head,
            columns=PAGE_COLUMNS,
            on=on,
            moment_column=_EVENTS.c.occurred_at,
            id_column=_EVENTS.c.id,
            where=where,
        )
        for where in ((), (_EVENTS.c.kind.in_(sa.bindparam("kinds", expanding=True)),))
    )
    return every, some


def list_events_after(
    statements: tuple[JoinedPage, JoinedPage],
    params: dict[str, Any],
    *,
    limit: int,
    cursor: str | None,
    kinds: Sequence[str] | None = None,
) -> tuple[tuple[Any, ...] | None, Page[Any]]:
    """A page of a couple's events (`:kinds` only, if given), newest first, read by the
    statement of `events_page_after`: (the head's row, None if it found none; the page, its
    rows tuples of `PAGE_COLUMNS`). Whoever runs it decides from the head whether the page
    may be shown at all."""
    every, some = statements
    if kinds:
        params = {**params, "kinds": list(kinds)}
    return keyset_joined_rows(
        some if kinds else every,
        params,
        limit=limit,
        cursor=cursor,
        connection=read_connection(),
    )


def recent_events(*, couple_id: str, limit: int) -> list[TimelineEvent]:
    """The couple's newest events, newest first (a linked counselor's view of the couple)."""
    return list(
        db.session.scalars(
            sa.select(TimelineEvent)
            .where(TimelineEvent.couple_id == couple_id)
            .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
            .limit(limit)
        )
    )


def last_activity(couple_ids: Sequence[str]) -> dict[str, datetime]:
    """When each of these couples' latest event happened, in one query (none: left out)."""
    return dict(
        db.session.execute(
            sa.select(TimelineEvent.couple_id, sa.func.max(TimelineEvent.occurred_at))
            .where(TimelineEvent.couple_id.in_(couple_ids))
            .group_by(TimelineEvent.couple_id)
        ).all()
    )


def announce(
    *,
    couple_id: str,
    kind: str,
    summary: str,
    subject: tuple[str, str],
    actor_id: str | None = None,
    tell: Iterable[str | None] = (),
    title: str = "",
    body: str = "",
) -> None:
    """Record a change on the couple's timeline and tell the people it affects, in the
    caller's transaction. Neither the summary nor the notification may hold private content."""
    from backend.notifications import service as notifications

    # As plain rows, not ORM objects (nothing reads them back in the request): what the use case
    # made so far is written first, as the rows may refer to it (a couple just formed).
    db.session.flush()
    store_rows(
        [
            event_row(
                couple_id=couple_id, kind=kind, summary=summary, actor_id=actor_id, subject=subject
            )
        ]
    )
    told = [user_id for user_id in tell if user_id]
    if told:
        notifications.store_rows(
            notifications.notification_rows(
                user_ids=told,
                couple_id=couple_id,
                kind=kind,
                title=title,
                body=body,
                subject=subject,
            )
        )
